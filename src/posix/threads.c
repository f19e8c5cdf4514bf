/* SPDX-License-Identifier: MIT */
/*
 * The threads backend, for any POSIX system (and Linux hosts that refuse
 * io_uring). File operations run as blocking pread/pwrite/fsync on a fixed
 * pool of workers. Operations on streams (pipes, sockets, ttys), which may
 * wait for ever on a peer, never hold a worker: one poller thread waits for
 * their readiness with poll(2) and then moves what can be moved without
 * blocking. So a thousand reads waiting on pipes do not delay a disk read.
 * Results come back through one queue, raw, and the loop thread alone
 * reports them to the common code.
 *
 * Cancellation: work no worker has picked up, and stream operations waiting
 * for readiness, are taken back (the OS never saw them). A file operation a
 * worker runs cannot be stopped; it reports its real result. No signal is
 * needed or sent: nothing here blocks on a stream.
 */
#include "common/internal.h"
#include "posix/fileop.h"
#include "posix/helper.h"
#include "posix/iovec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WORKERS 4u
#define MAX_WORKERS 1024u /* also checked for every backend by tio_loop_create */

/* Where a task is, as the pool sees it (guarded by pool->mu). */
enum { AT_NONE = 0, AT_WORK, AT_RUNNING, AT_WAITING, AT_MOVING, AT_DONE };

/* The task's backend words. */
typedef struct job {
    tio__task *next, *prev; /* pool->work, ->waiting or ->done */
    int64_t bytes;
    int32_t os_error;
    uint8_t where;
    bool cancel; /* a stream task the loop cancelled: the poller reports it */
} job;

_Static_assert(sizeof(job) <= sizeof(((tio__task *)0)->backend), "job exceeds backend words");

typedef struct queue {
    tio__task *head, *tail;
    unsigned count;
} queue;

typedef struct poll_set {
    struct pollfd *fds; /* [0] the self-pipe, then one per tio_file with waiting tasks */
    tio__task **tasks;  /* the waiting tasks, when the set was built */
    unsigned *slot;     /* tasks[i]'s entry in fds */
    unsigned cap;       /* of each array */
} poll_set;

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers wait for work */
    pthread_cond_t done_cv; /* the loop waits for results (CLOCK_MONOTONIC) */
    queue work, waiting, done;
    unsigned idle;     /* workers waiting for work */
    bool loop_waiting; /* the loop sleeps on done_cv: the next result signals it */
    bool woken, stopping;
    unsigned nworkers;
    pthread_t *workers;
    pthread_t poller;
    bool poller_started;
    struct poll_set *ps; /* the poller's pollfds (allocated with the pool) */
    int poke[2];         /* self-pipe: the waiting set changed */
    bool poked;          /* a byte is in poke[] and not yet read */
    tio__helper *helper; /* engine operations (started on first use) */
    bool helper_done;    /* the helper has results for the loop */
    bool fsize_limited;  /* RLIMIT_FSIZE is finite: a write may raise SIGXFSZ */
} pool;

static job *J(tio__task *t)
{
    return (job *)(void *)t->backend;
}

static void q_push(queue *q, tio__task *t)
{
    J(t)->next = NULL;
    J(t)->prev = q->tail;
    if (q->tail)
        J(q->tail)->next = t;
    else
        q->head = t;
    q->tail = t;
    q->count++;
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
    q->count--;
}

/* A result for the loop (under p->mu). The loop is signalled after the
 * unlock: woken while this thread still held the mutex, it would only
 * block again on it. Returns whether to signal. */
static bool post(pool *p, tio__task *t, int64_t bytes, int os_error)
{
    J(t)->bytes = bytes;
    J(t)->os_error = os_error;
    J(t)->where = AT_DONE;
    q_push(&p->done, t);
    bool signal = p->loop_waiting;
    p->loop_waiting = false;
    return signal;
}

/* ------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
    pool *p = arg;
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
        pthread_mutex_unlock(&p->mu);

        int64_t bytes;
        int err;
        tio__posix_file_op(t, &bytes, &err);

        pthread_mutex_lock(&p->mu);
        if (post(p, t, bytes, err)) {
            pthread_mutex_unlock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* -------------------------------------------------------------- streams */

/* What can be read now without blocking. recv(MSG_DONTWAIT) on a socket;
 * on a pipe, FIONREAD says how much is there (a read of at most that much
 * cannot block; 0 after readiness means end of stream or an error, which
 * read reports at once). EAGAIN: not ready after all (another reader). */
static bool ready_now(int fd, short events)
{
    struct pollfd q = {fd, events, 0};
    return poll(&q, 1, 0) == 1 && q.revents != 0;
}

static ssize_t read_ready(int fd, void *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
    if (n >= 0 || errno != ENOTSOCK || (fcntl(fd, F_GETFL) & O_NONBLOCK))
        return n >= 0 || errno != ENOTSOCK ? n : read(fd, buf, len);
    int avail = 0;
    if (ioctl(fd, FIONREAD, &avail) == 0 && avail > 0) {
        if ((size_t)avail < len)
            len = (size_t)avail;
    } else if (!ready_now(fd, POLLIN)) {
        /* Another reader took the data since poll said so. */
        errno = EAGAIN;
        return -1;
    }
    return read(fd, buf, len);
}

/* What can be written now without blocking: send(MSG_DONTWAIT) on a
 * socket; on a pipe, PIPE_BUF bytes at a time while poll says there is room
 * (POSIX: a pipe that polls writable takes PIPE_BUF bytes without
 * blocking). The signal a gone reader raises stays pending in this thread,
 * which blocks every signal; the write reports EPIPE. */
static ssize_t write_ready(int fd, const char *buf, size_t len)
{
#ifdef MSG_NOSIGNAL
    ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
#else
    ssize_t n = send(fd, buf, len, MSG_DONTWAIT);
#endif
    if (n >= 0 || errno != ENOTSOCK)
        return n;
    if (fcntl(fd, F_GETFL) & O_NONBLOCK)
        return write(fd, buf, len);
    size_t done = 0;
    while (done < len && ready_now(fd, POLLOUT)) {
        size_t chunk = len - done < PIPE_BUF ? len - done : PIPE_BUF;
        n = write(fd, buf + done, chunk);
        if (n < 0)
            return done > 0 ? (ssize_t)done : -1;
        done += (size_t)n;
    }
    if (done == 0) {
        errno = EAGAIN; /* another writer filled it since poll said so */
        return -1;
    }
    return (ssize_t)done;
}

/* Move what can be moved for a ready stream task; false if it must wait on. */
static bool move_stream(tio__task *t, int64_t *bytes, int *os_error)
{
    int fd = t->file->handle;
    ssize_t n = t->op == TIO__OP_READ ? read_ready(fd, t->buf, t->len)
                                      : write_ready(fd, t->buf, t->len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    *bytes = n < 0 ? 0 : n;
    *os_error = n < 0 ? errno : 0;
    return true;
}


static bool poll_set_fit(poll_set *s, unsigned n)
{
    if (n <= s->cap)
        return true;
    unsigned cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    struct pollfd *fds = realloc(s->fds, cap * sizeof *fds);
    if (fds != NULL)
        s->fds = fds;
    tio__task **tasks = realloc(s->tasks, cap * sizeof *tasks);
    if (tasks != NULL)
        s->tasks = tasks;
    unsigned *slot = realloc(s->slot, cap * sizeof *slot);
    if (slot != NULL)
        s->slot = slot;
    if (fds == NULL || tasks == NULL || slot == NULL)
        return false;
    s->cap = cap;
    return true;
}

/* Cancelled waiting tasks leave here, and only here: the poller holds
 * pointers to waiting tasks while it polls, so only it may hand them back
 * to the loop (whose callback may free them). Under p->mu. */
static bool post_cancels(pool *p)
{
    bool signal = false;
    for (tio__task *t = p->waiting.head, *next; t != NULL; t = next) {
        next = J(t)->next;
        if (!J(t)->cancel)
            continue;
        q_remove(&p->waiting, t);
        signal |= post(p, t, 0, ECANCELED);
    }
    return signal;
}

/* The waiting set as pollfds, one per tio_file (several tasks on one
 * stream share its entry, so a thousand reads on a few pipes stay far below
 * RLIMIT_NOFILE, past which poll fails with EINVAL). The file's
 * backend_index, unused by this backend, marks its entry while building.
 * Under p->mu; returns the number of pollfds, *ntasks the tasks. */
static unsigned poll_set_build(pool *p, poll_set *s, unsigned *ntasks)
{
    unsigned n = 1, k = 0;
    s->fds[0] = (struct pollfd){p->poke[0], POLLIN, 0};
    *ntasks = 0;
    if (!poll_set_fit(s, p->waiting.count + 1))
        return 1; /* out of memory: poll the self-pipe only, and retry */
    for (tio__task *t = p->waiting.head; t != NULL; t = J(t)->next)
        t->file->backend_index = -1;
    for (tio__task *t = p->waiting.head; t != NULL; t = J(t)->next, k++) {
        tio_file *f = t->file;
        if (f->backend_index < 0) {
            f->backend_index = (int)n;
            s->fds[n++] = (struct pollfd){f->handle, 0, 0};
        }
        s->fds[f->backend_index].events |= (short)(t->op == TIO__OP_READ ? POLLIN : POLLOUT);
        s->tasks[k] = t;
        s->slot[k] = (unsigned)f->backend_index;
    }
    *ntasks = k;
    return n;
}

/* Whether what poll said lets t try its move. */
static bool may_move(const tio__task *t, short revents)
{
    short want = (short)((t->op == TIO__OP_READ ? POLLIN : POLLOUT) | POLLHUP | POLLERR | POLLNVAL);
    return (revents & want) != 0;
}

static void *poller_main(void *arg)
{
    pool *p = arg;
    poll_set s = *p->ps;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        if (post_cancels(p))
            pthread_cond_signal(&p->done_cv);
        unsigned ntasks;
        unsigned n = poll_set_build(p, &s, &ntasks);
        bool partial = ntasks < p->waiting.count; /* out of memory: retry soon */
        pthread_mutex_unlock(&p->mu);
        int ready = poll(s.fds, n, partial ? 10 : -1);
        if (ready < 0 && errno != EINTR) {
            /* ENOMEM, or EINVAL past RLIMIT_NOFILE (many tio_files on
             * streams): try again shortly rather than spin. */
            struct timespec pause = {0, 10000000};
            nanosleep(&pause, NULL);
        }
        pthread_mutex_lock(&p->mu);
        if (ready > 0 && (s.fds[0].revents & POLLIN)) {
            char drain[64];
            while (read(p->poke[0], drain, sizeof drain) == (ssize_t)sizeof drain) {
            }
            p->poked = false;
        }
        bool signal = false;
        for (unsigned i = 0; ready > 0 && i < ntasks; i++) {
            tio__task *t = s.tasks[i];
            TIO_ASSERT(J(t)->where == AT_WAITING);
            if (J(t)->cancel || !may_move(t, s.fds[s.slot[i]].revents))
                continue;
            J(t)->where = AT_MOVING;
            pthread_mutex_unlock(&p->mu);
            int64_t bytes = 0;
            int err = 0;
            bool moved = move_stream(t, &bytes, &err);
            pthread_mutex_lock(&p->mu);
            if (!moved && !J(t)->cancel) {
                J(t)->where = AT_WAITING;
                continue;
            }
            q_remove(&p->waiting, t);
            signal |= moved ? post(p, t, bytes, err) : post(p, t, 0, ECANCELED);
        }
        if (signal)
            pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    *p->ps = s;
    return NULL;
}

/* Make the poller rebuild its set (under p->mu). */
static void poke(pool *p)
{
    if (p->poked)
        return;
    char b = 0;
    if (write(p->poke[1], &b, 1) == 1)
        p->poked = true;
}

/* ------------------------------------------------------- the loop side */

static void helper_notify(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    p->helper_done = true;
    bool signal = p->loop_waiting;
    p->loop_waiting = false;
    pthread_mutex_unlock(&p->mu);
    if (signal)
        pthread_cond_signal(&p->done_cv);
}

/* An engine operation: on the helper threads (helper.h), which io_uring
 * shares, so that a blocked open never holds a worker. */
static uint8_t start_engine(pool *p, tio__task *t, tio__sync *s)
{
    if (p->helper == NULL && (p->helper = tio__helper_create(helper_notify, p)) == NULL) {
        s->os_error = ENOMEM;
        return TIO__FAILED;
    }
    int err = tio__helper_start(p->helper, t);
    if (err != 0) {
        s->os_error = err;
        return TIO__FAILED;
    }
    return TIO__PENDING;
}

static unsigned threads_submit(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                               uint8_t *out, tio__sync *sync)
{
    pool *p = loop->backend_data;
    unsigned files = 0;
    bool streams = false;
    (void)flags; /* the workers see the work when the lock drops: always now */
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < n; i++) {
        tio__task *t = tasks[i];
        if (t->op >= TIO__OP_FIRST_ENGINE) {
            out[i] = start_engine(p, t, &sync[i]);
            continue;
        }
        memset(J(t), 0, sizeof(job));
        if (t->file->is_stream) {
            J(t)->where = AT_WAITING;
            q_push(&p->waiting, t);
            streams = true;
        } else {
            J(t)->where = AT_WORK;
            q_push(&p->work, t);
            files++;
        }
        out[i] = TIO__PENDING;
    }
    if (streams)
        poke(p);
    /* Wake as many idle workers as there is new work, no more, under the
     * lock: the loop releases it at once (a signal after an unlock, then a
     * relock, measured slower at QD 1: the woken worker takes the mutex
     * first). */
    if (files >= p->idle)
        pthread_cond_broadcast(&p->work_cv);
    else
        while (files-- > 0)
            pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void threads_cancel(tio_loop *loop, tio__task *t)
{
    pool *p = loop->backend_data;
    bool taken = false;
    if (t->op >= TIO__OP_FIRST_ENGINE) {
        tio__helper_cancel(p->helper, t);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (J(t)->where == AT_WORK) {
        /* No worker has it, and none keeps a pointer to queued work. */
        q_remove(&p->work, t);
        J(t)->where = AT_NONE;
        taken = true;
    } else if (J(t)->where == AT_WAITING || J(t)->where == AT_MOVING) {
        /* The poller reports it (see post_cancels), or its real result if
         * it was being moved. */
        J(t)->cancel = true;
        poke(p);
    }
    /* Running on a worker: its real result follows. */
    pthread_mutex_unlock(&p->mu);
    if (taken)
        tio__task_complete(t, 0, ECANCELED);
}

/* pthread_cond_timedwait until a CLOCK_MONOTONIC time (done_cv's clock). */
static int cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, const struct timespec *until)
{
#ifdef __APPLE__
    /* macOS has no pthread_condattr_setclock: its absolute timed wait counts
     * on the wall clock, which may jump. It waits a relative time instead
     * (pthread_cond_timedwait_relative_np), here what is left of until on
     * CLOCK_MONOTONIC; a caller that wakes early waits again for the rest. */
    struct timespec now, rel;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left_ns = ((int64_t)until->tv_sec - (int64_t)now.tv_sec) * 1000000000 +
                      (until->tv_nsec - now.tv_nsec);
    if (left_ns <= 0)
        return ETIMEDOUT;
    rel.tv_sec = (time_t)(left_ns / 1000000000);
    rel.tv_nsec = (long)(left_ns % 1000000000);
    return pthread_cond_timedwait_relative_np(cv, mu, &rel);
#else
    return pthread_cond_timedwait(cv, mu, until);
#endif
}

static int threads_wait(tio_loop *loop, int64_t timeout_ns)
{
    pool *p = loop->backend_data;
    pthread_mutex_lock(&p->mu);
    if (timeout_ns != 0) {
        struct timespec until;
        if (timeout_ns > 0) {
            clock_gettime(CLOCK_MONOTONIC, &until);
            int64_t ns = until.tv_nsec + timeout_ns % 1000000000;
            until.tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
            until.tv_nsec = (long)(ns % 1000000000);
        }
        while (p->done.head == NULL && !p->woken && !p->helper_done) {
            p->loop_waiting = true; /* cleared by the thread that signals */
            if (timeout_ns < 0)
                pthread_cond_wait(&p->done_cv, &p->mu);
            else if (cond_wait_until(&p->done_cv, &p->mu, &until) == ETIMEDOUT)
                break;
        }
        p->loop_waiting = false;
    }
    bool woken = p->woken;
    p->woken = false;
    bool helper_done = p->helper_done;
    p->helper_done = false;
    tio__task *t = p->done.head;
    p->done.head = p->done.tail = NULL;
    p->done.count = 0;
    pthread_mutex_unlock(&p->mu);
    while (t != NULL) {
        tio__task *next = J(t)->next;
        J(t)->where = AT_NONE;
        tio__task_complete(t, J(t)->bytes, J(t)->os_error);
        t = next;
    }
    if (helper_done)
        tio__helper_reap(p->helper);
    return woken ? TIO__WOKEN : 0;
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

static void stop_threads(pool *p, unsigned started)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    poke(p);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(p->workers[i], NULL);
    if (p->poller_started)
        pthread_join(p->poller, NULL);
}

static void pool_free(pool *p)
{
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    if (p->poke[0] >= 0) {
        close(p->poke[0]);
        close(p->poke[1]);
    }
    if (p->ps != NULL) {
        free(p->ps->fds);
        free(p->ps->tasks);
        free(p->ps->slot);
        free(p->ps);
    }
    free(p->workers);
    free(p);
}

static bool self_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return false;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return true;
}

/* Workers and the poller block every signal: the program's signals go to
 * its own threads, and a SIGPIPE raised by a write here stays pending
 * harmlessly (the write reports EPIPE). */
static int start_threads(pool *p, unsigned n)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned started = 0;
    int err = 0;
    for (; started < n && err == 0; started++)
        if ((err = pthread_create(&p->workers[started], NULL, worker_main, p)) != 0)
            break;
    if (err == 0) {
        err = pthread_create(&p->poller, NULL, poller_main, p);
        p->poller_started = err == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        stop_threads(p, started);
    return err;
}

static int threads_create(tio_loop *loop, const tio_loop_config *cfg)
{
    unsigned n = cfg->threads ? cfg->threads : DEFAULT_WORKERS;
    if (n > MAX_WORKERS)
        return tio__fail(loop, TIO_EINVAL, "threads: %u workers requested, at most %u", n,
                         MAX_WORKERS);
    pool *p = calloc(1, sizeof *p);
    pthread_t *ws = calloc(n, sizeof *ws);
    if (p == NULL || ws == NULL) {
        free(p);
        free(ws);
        return tio__fail(loop, TIO_ENOMEM, "threads: out of memory");
    }
    p->workers = ws;
    p->nworkers = n;
    p->fsize_limited = tio__posix_fsize_limited();
    p->poke[0] = p->poke[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
#ifndef __APPLE__ /* macOS lacks it: see cond_wait_until */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    if ((p->ps = calloc(1, sizeof *p->ps)) == NULL || !poll_set_fit(p->ps, 64)) {
        pool_free(p);
        return tio__fail(loop, TIO_ENOMEM, "threads: out of memory");
    }
    if (!self_pipe(p->poke)) {
        int err = errno;
        p->poke[0] = p->poke[1] = -1;
        pool_free(p);
        return tio__fail(loop, tio__errno_map(err), "threads: pipe: %s", strerror(err));
    }
    int err = start_threads(p, n);
    if (err != 0) {
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
    TIO_ASSERT(p->work.head == NULL && p->waiting.head == NULL && p->done.head == NULL);
    tio__helper_destroy(p->helper);
    stop_threads(p, p->nworkers);
    pool_free(p);
}

/* The common code's "now, on this thread": what a worker would do, done
 * here, without the two hand-offs. A write is left to the workers while
 * SIGXFSZ is possible: they block every signal, the loop thread may not. */
static uint8_t threads_start_now(tio_loop *loop, tio__task *t, unsigned how, tio__sync *s)
{
    pool *p = loop->backend_data;
    return tio__posix_start_now(t, how, p->fsize_limited, s);
}

/* A file opened: the program may have changed RLIMIT_FSIZE since. */
static int threads_attach(tio_loop *loop, tio_file *file)
{
    pool *p = loop->backend_data;
    (void)file;
    p->fsize_limited = tio__posix_fsize_limited();
    return 0;
}

const tio__backend tio__backend_threads = {
    .name = "threads",
    .vectored = true,
    .create = threads_create,
    .destroy = threads_destroy,
    .submit = threads_submit,
    .cancel = threads_cancel,
    .wait = threads_wait,
    .wake = threads_wake,
    .attach = threads_attach,
    .start_now = threads_start_now,
};
