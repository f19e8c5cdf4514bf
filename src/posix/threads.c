/*
 * The threads backend: a fixed pool of workers running blocking
 * pread/pwrite/fdatasync/fsync, for any POSIX system (and for Linux hosts
 * that refuse io_uring). Work goes to the pool through one queue; results
 * come back through another, and the loop thread alone runs callbacks.
 *
 * Cancellation. Work still in the queue is taken out and reported
 * TIO_ECANCELED without the OS seeing it. Work a worker is running on a
 * stream (pipe, socket) is interrupted with a signal, the POSIX analogue of
 * CancelSynchronousIo, sent again until the worker lets go (see do_read). A
 * regular-file pread does not block indefinitely, and device I/O cannot be
 * stopped: those report their real result.
 */
#include "common/faults.h"
#include "common/internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WORKERS 4u
#define MAX_WORKERS 1024u /* also checked for every backend by tio_loop_create */

/* Where a task is, as seen by the pool (guarded by pool->mu). */
enum { AT_NONE = 0, AT_WORK, AT_RUNNING, AT_DONE };

/* The task's backend words. */
typedef struct job {
    tio__task *next, *prev; /* pool->work or pool->done */
    int64_t result;
    int32_t os_error;
    uint8_t where;
    _Atomic uint8_t cancel; /* set by the loop, read by the worker */
    uint16_t worker;        /* index of the running worker */
    bool staged;            /* on pool->staged; the loop thread's alone, unlike `where` */
} job;

_Static_assert(sizeof(job) <= sizeof(((tio__task *)0)->backend), "job exceeds backend words");

typedef struct queue {
    tio__task *head, *tail;
} queue;

typedef struct pool pool;
typedef struct worker {
    pthread_t tid;
    pool *pool;
    unsigned index;
    tio__task *current; /* the task it runs (guarded by pool->mu) */
} worker;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers wait for work */
    pthread_cond_t done_cv; /* the loop waits for results (CLOCK_MONOTONIC) */
    queue staged;           /* started this run, not yet handed over (loop thread only) */
    unsigned nstaged;       /* tasks on staged */
    unsigned submit_batch;  /* tio_loop_config.submit_batch: hand over at this many staged */
    queue work, done;
    unsigned idle;          /* workers waiting for work */
    bool loop_waiting;      /* the loop sleeps on done_cv: the next result signals it */
    bool woken, stopping;
    unsigned nworkers;
    worker *workers;
};

static job *J(tio__task *t) { return (job *)(void *)t->backend; }

static void q_push(queue *q, tio__task *t)
{
    J(t)->next = NULL;
    J(t)->prev = q->tail;
    if (q->tail)
        J(q->tail)->next = t;
    else
        q->head = t;
    q->tail = t;
}

static void q_remove(queue *q, tio__task *t)
{
    job *j = J(t);
    if (j->prev)
        J(j->prev)->next = j->next;
    else
        q->head = j->next;
    if (j->next)
        J(j->next)->prev = j->prev;
    else
        q->tail = j->prev;
    j->next = j->prev = NULL;
}

/* ------------------------------------------------------- the cancel signal */

static int cancel_signal(void)
{
    /* A real-time signal: never sent by the kernel on its own. */
    return SIGRTMIN + 4;
}

static void on_cancel_signal(int sig)
{
    (void)sig; /* interrupting the blocked syscall is the whole point */
}

static pthread_once_t signal_once = PTHREAD_ONCE_INIT;

static void install_signal(void)
{
    struct sigaction old, sa;
    if (sigaction(cancel_signal(), NULL, &old) != 0)
        return;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
        return; /* the program's own handler interrupts syscalls just as well */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cancel_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read must return EINTR */
    sigaction(cancel_signal(), &sa, NULL);
}

/* ------------------------------------------------------------ the worker */

/* Cancelling a blocked stream operation. Workers run with the cancel signal
 * unblocked and its handler installed without SA_RESTART, so a read, write
 * or poll blocked on a pipe or socket returns EINTR (or a short count) when
 * signalled, and the worker then looks at the task's cancel flag. A signal
 * that lands between that look and the syscall is lost, so the loop sends
 * it again on every wait, at least every millisecond, until the worker has
 * let go of the task (threads_wait). Regular files need none of this: their
 * I/O does not block indefinitely and is not interrupted by signals. */

static int64_t do_read(tio__task *t, job *j)
{
    int fd = t->file->handle;
    for (;;) {
        if (t->file->is_stream && atomic_load(&j->cancel))
            return -ECANCELED;
        ssize_t n = t->file->is_stream ? read(fd, t->buf, t->len)
                                       : pread(fd, t->buf, t->len, (off_t)t->offset);
        if (n >= 0)
            return n;
        if (errno == EAGAIN && t->file->is_stream) {
            /* O_NONBLOCK stream: wait for data here (interruptible). */
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return -errno;
            continue;
        }
        if (errno != EINTR)
            return -errno;
    }
}

/* A write completes in full or reports the bytes written before the error
 * or the cancel: a short write (signal, quota edge) is continued, never
 * dropped. */
static int64_t do_write(tio__task *t, job *j)
{
    int fd = t->file->handle;
    size_t done = 0;
    do {
        if (t->file->is_stream && atomic_load(&j->cancel))
            return done ? (int64_t)done : -ECANCELED;
        const char *p = (const char *)t->buf + done;
        ssize_t n = t->file->is_stream ? write(fd, p, t->len - done)
                                       : pwrite(fd, p, t->len - done, (off_t)(t->offset + done));
        if (n < 0 && errno == EAGAIN && t->file->is_stream) {
            struct pollfd q = {fd, POLLOUT, 0};
            if (poll(&q, 1, -1) < 0 && errno != EINTR)
                return done ? (int64_t)done : -errno;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (int64_t)done : -errno;
        if (n == 0 && t->len > 0)
            return (int64_t)done; /* no progress possible: report what is in */
        done += (size_t)n;
    } while (done < t->len);
    return (int64_t)done;
}

static int64_t do_fsync(tio__task *t)
{
    int fd = t->file->handle;
    int rc;
    do
        rc = (t->op_flags & TIO_FSYNC_DATA) ? fdatasync(fd) : fsync(fd);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : -errno;
}

static int64_t run_job(tio__task *t)
{
    switch (t->op) {
    case TIO__OP_READ: return do_read(t, J(t));
    case TIO__OP_WRITE: return do_write(t, J(t));
    case TIO__OP_FSYNC: return do_fsync(t);
    default: TIO_ASSERT(!"threads: unexpected op"); return -EINVAL;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->pool;
    /* Every signal stays blocked (the program's go to its own threads)
     * except ours, which interrupts blocked stream I/O. */
    sigset_t ours;
    sigemptyset(&ours);
    sigaddset(&ours, cancel_signal());
    pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->work.head == NULL && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->idle--;
        }
        if (p->work.head == NULL)
            break;
        tio__task *t = p->work.head;
        q_remove(&p->work, t);
        J(t)->where = AT_RUNNING;
        J(t)->worker = (uint16_t)w->index;
        w->current = t;
        pthread_mutex_unlock(&p->mu);

        int64_t r = run_job(t);

        pthread_mutex_lock(&p->mu);
        J(t)->result = r;
        J(t)->where = AT_DONE;
        w->current = NULL;
        q_push(&p->done, t);
        if (p->loop_waiting) {
            /* Signalled after the unlock: a loop woken while this thread
             * still held the mutex would only block again on it. */
            p->loop_waiting = false;
            pthread_mutex_unlock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ------------------------------------------------------- the loop side */

static void hand_over(pool *p);

static int threads_start(tio_loop *loop, tio__task *t, int64_t *result, int *os_error)
{
    pool *p = loop->backend_data;
    job *j = J(t);
    memset(j, 0, sizeof *j);
    /* Injected (test builds): run it here and report it done, to drive the
     * common synchronous-completion path. Streams could block: not those. */
    if (!t->file->is_stream && tio__fault(loop, TIO__FAULT_SYNC)) {
        int64_t r = run_job(t);
        *result = r >= 0 ? r : tio__errno_map((int)-r);
        *os_error = r >= 0 ? 0 : (int)-r;
        return r >= 0 ? TIO__COMPLETED : TIO__FAILED;
    }
    /* Staged: the whole run's starts reach the workers under one lock, in
     * the wait (hand_over), or every submit_batch of them from here. */
    j->staged = true;
    q_push(&p->staged, t);
    if (++p->nstaged == p->submit_batch) {
        pthread_mutex_lock(&p->mu);
        hand_over(p);
        pthread_mutex_unlock(&p->mu);
    }
    return TIO__PENDING;
}

static void threads_cancel(tio_loop *loop, tio__task *t)
{
    pool *p = loop->backend_data;
    job *j = J(t);
    bool unqueued = false;
    if (j->staged) { /* never seen by a worker */
        q_remove(&p->staged, t);
        p->nstaged--;
        j->staged = false;
        j->where = AT_NONE;
        tio__task_finish(t, TIO_ECANCELED, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (j->where == AT_WORK) {
        q_remove(&p->work, t);
        j->where = AT_NONE;
        unqueued = true;
    } else if (j->where == AT_RUNNING) {
        atomic_store(&j->cancel, 1);
        /* Under the lock: the worker cannot move on to other work. A late
         * signal only makes some later syscall retry (EINTR, flag clear). */
        pthread_kill(p->workers[j->worker].tid, cancel_signal());
    }
    pthread_mutex_unlock(&p->mu);
    if (unqueued)
        tio__task_finish(t, TIO_ECANCELED, 0);
}

static void deliver(tio__task *t)
{
    job *j = J(t);
    int64_t r = j->result;
    j->where = AT_NONE;
    if (r >= 0)
        tio__task_finish(t, r, 0);
    else if (r == -ECANCELED && t->cancel_requested)
        tio__task_finish(t, TIO_ECANCELED, ECANCELED);
    else
        tio__task_finish(t, tio__errno_map((int)-r), (int)-r);
}

/* Signal again every worker still running a cancelled task: the first
 * signal may have landed just before its syscall. True if any is. */
static bool resend_cancels(pool *p)
{
    bool any = false;
    for (unsigned i = 0; i < p->nworkers; i++) {
        tio__task *t = p->workers[i].current;
        if (t != NULL && atomic_load(&J(t)->cancel)) {
            pthread_kill(p->workers[i].tid, cancel_signal());
            any = true;
        }
    }
    return any;
}

#define RESEND_NS 1000000 /* 1 ms */

/* Move the staged tasks to the work queue (under p->mu) and wake as many
 * idle workers as there is new work, no more. Under the lock: the wait
 * releases it at once (a signal after an unlock, then a relock, measured
 * slower at QD 1: the woken worker takes the mutex first). */
static void hand_over(pool *p)
{
    unsigned n = 0;
    for (tio__task *t = p->staged.head; t != NULL; t = J(t)->next, n++) {
        J(t)->where = AT_WORK;
        J(t)->staged = false;
    }
    if (p->work.tail)
        J(p->work.tail)->next = p->staged.head;
    else
        p->work.head = p->staged.head;
    J(p->staged.head)->prev = p->work.tail;
    p->work.tail = p->staged.tail;
    p->staged.head = p->staged.tail = NULL;
    TIO_ASSERT(n == p->nstaged);
    p->nstaged = 0;
    if (n >= p->idle)
        pthread_cond_broadcast(&p->work_cv);
    else
        while (n-- > 0)
            pthread_cond_signal(&p->work_cv);
}

static int threads_wait(tio_loop *loop, int64_t timeout_ns)
{
    pool *p = loop->backend_data;
    pthread_mutex_lock(&p->mu);
    if (p->staged.head != NULL)
        hand_over(p);
    if (resend_cancels(p) && (timeout_ns < 0 || timeout_ns > RESEND_NS))
        timeout_ns = RESEND_NS;
    if (timeout_ns != 0) {
        struct timespec until;
        if (timeout_ns > 0) {
            clock_gettime(CLOCK_MONOTONIC, &until);
            int64_t ns = until.tv_nsec + timeout_ns % 1000000000;
            until.tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
            until.tv_nsec = (long)(ns % 1000000000);
        }
        while (p->done.head == NULL && !p->woken) {
            p->loop_waiting = true; /* cleared by the worker that signals */
            if (timeout_ns < 0)
                pthread_cond_wait(&p->done_cv, &p->mu);
            else if (pthread_cond_timedwait(&p->done_cv, &p->mu, &until) == ETIMEDOUT)
                break;
        }
        p->loop_waiting = false;
    }
    p->woken = false;
    tio__task *t = p->done.head;
    p->done.head = p->done.tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (t != NULL) {
        tio__task *next = J(t)->next;
        deliver(t);
        t = next;
    }
    return 0;
}

static void threads_wake(tio_loop *loop)
{
    pool *p = loop->backend_data;
    pthread_mutex_lock(&p->mu);
    p->woken = true;
    pthread_cond_signal(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------ create / destroy */

static void stop_workers(pool *p, unsigned started)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(p->workers[i].tid, NULL);
}

static void pool_free(pool *p)
{
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

static int threads_create(tio_loop *loop, const tio_loop_config *cfg)
{
    unsigned n = cfg->threads ? cfg->threads : DEFAULT_WORKERS;
    if (n > MAX_WORKERS)
        return tio__fail(loop, TIO_EINVAL, "threads: %u workers requested, at most %u", n,
                         MAX_WORKERS);
    pool *p = calloc(1, sizeof *p);
    worker *ws = calloc(n, sizeof *ws);
    pthread_condattr_t ca;
    if (p == NULL || ws == NULL) {
        free(p);
        free(ws);
        return tio__fail(loop, TIO_ENOMEM, "threads: out of memory");
    }
    pthread_once(&signal_once, install_signal);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    p->workers = ws;
    p->nworkers = n;
    p->submit_batch = cfg->submit_batch;

    /* Workers start with every signal blocked (the program's signals go to
     * its own threads); each then unblocks ours. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned started = 0;
    int err = 0;
    for (; started < n; started++) {
        ws[started].pool = p;
        ws[started].index = started;
        err = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
        if (err != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        stop_workers(p, started);
        pool_free(p);
        return tio__fail(loop, tio__errno_map(err) == TIO_EOTHER ? TIO_ENOMEM : tio__errno_map(err),
                         "threads: pthread_create: %s", strerror(err));
    }
    loop->backend_data = p;
    return 0;
}

static void threads_destroy(tio_loop *loop)
{
    pool *p = loop->backend_data;
    TIO_ASSERT(p->staged.head == NULL && p->work.head == NULL && p->done.head == NULL);
    stop_workers(p, p->nworkers);
    pool_free(p);
}

const tio__backend tio__backend_threads = {
    .name = "threads",
    .create = threads_create,
    .destroy = threads_destroy,
    .start = threads_start,
    .cancel = threads_cancel,
    .cancel_file = NULL,
    .wait = threads_wait,
    .wake = threads_wake,
};
