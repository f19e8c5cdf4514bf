/*
 * The io_uring backend (liburing). Every start is PENDING: it only fills an
 * SQE; all of a run's SQEs go to the kernel in the one io_uring_enter that
 * also waits, or, under tio_loop_config.submit_batch N, every N from the
 * starting call. Completions come back as CQEs keyed by user_data.
 *
 * user_data layout: the low 3 bits are a tag. For an operation the rest is
 * the task pointer with the low 7 bits of the task's generation in bits
 * 57..63 (user-space pointers fit in 57 bits with 5-level paging, arm64 in
 * 52), so a cancel keyed to one use of a task can never match the next
 * use. Ordering gives the same guarantee independently: a task can only be
 * resubmitted from its callback, after the enter that carried its cancel.
 */
#include "common/faults.h"
#include "common/internal.h"
#include "linux/uring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { TAG_OP = 0, TAG_CANCEL = 1, TAG_WAKE = 2, TAG_POLL = 3, TAG_MASK = 7 };
#define PTR_BITS 57
#define PTR_MASK ((UINT64_C(1) << PTR_BITS) - 1)

/* Per-task backend words. */
enum { W_FLAGS = 0, W_SQE = 1 };
#define F_CANCEL_DEFERRED 1u /* cancel asked while the SQ was full */
#define F_POLLING 2u         /* a nonblocking stream said -EAGAIN: waiting for readiness */
#define F_FAKE_AGAIN 4u      /* fault injection: a NOP stands in, its CQE reads -EAGAIN */
#define F_WITHDRAWN 8u       /* cancelled before submission: its SQE became a NOP */


_Static_assert(sizeof(((tio__task *)0)->backend) >= 2 * sizeof(uint64_t), "backend words");

static uring *U(tio_loop *loop) { return loop->backend_data; }

static uint64_t task_key(const tio__task *t, unsigned tag)
{
    uintptr_t p = (uintptr_t)t;
    TIO_ASSERT((p & TAG_MASK) == 0 && (p >> PTR_BITS) == 0);
    return (uint64_t)p | ((uint64_t)(t->gen & 0x7f) << PTR_BITS) | tag;
}

static uint64_t op_key(const tio__task *t) { return task_key(t, TAG_OP); }

/* The key of whatever the kernel is doing for t now: the operation, or
 * the poll that waits for a nonblocking stream to become ready. */
static uint64_t current_key(const tio__task *t)
{
    return task_key(t, (t->backend[W_FLAGS] & F_POLLING) ? TAG_POLL : TAG_OP);
}

static tio__task *task_of_key(uint64_t key)
{
    return (tio__task *)(uintptr_t)(key & PTR_MASK & ~(uint64_t)TAG_MASK);
}

/* ------------------------------------------------------------ submission */

/* io_uring_enter(2) submit errors that mean "not now": EINTR (signal),
 * EAGAIN (kernel out of request memory), EBUSY (CQ overflow backlog on
 * kernels before 5.19's NODROP rework): the SQEs stay in the SQ and go with
 * the next enter. */
static bool transient(int err)
{
    return err == -EINTR || err == -EAGAIN || err == -EBUSY;
}

/* The staged SQEs handed to the kernel without waiting. If the enter
 * fails, liburing has still published them in the SQ ring: the wait's
 * enter submits them, and reports an error that is not transient. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void flush(uring *u)
{
    int rc = io_uring_submit(&u->ring);
    TIO_ASSERT(rc >= 0 || transient(rc));
    (void)rc;
}

/* A full SQ flushed to the kernel, then an SQE. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static struct io_uring_sqe *flush_and_get_sqe(uring *u)
{
    flush(u);
    return io_uring_get_sqe(&u->ring);
}

/* An SQE, or NULL when the SQ is full and may not be flushed now: doing so
 * hands every staged SQE to the kernel. With submit_batch 0 only the wait
 * may do that, since elsewhere (a submitting call, tio_cancel, a callback)
 * staged tasks must stay withdrawable; a full SQ there means "later" (BUSY,
 * deferred). Under submit_batch, handing over early is the contract. */
static inline struct io_uring_sqe *get_sqe(uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe == NULL && u->may_flush)
        sqe = flush_and_get_sqe(u);
    return sqe;
}

/* The SQE for a read, write or fsync, written field by field over a zeroed
 * entry (what io_uring_prep_rw does, in fewer stores); buf_index is the
 * registered buffer holding the transfer, or -1. */
static inline void prep_op(struct io_uring_sqe *sqe, const tio__task *t, int buf_index)
{
    static const uint8_t opcode[][2] = {
        [TIO__OP_READ] = {IORING_OP_READ, IORING_OP_READ_FIXED},
        [TIO__OP_WRITE] = {IORING_OP_WRITE, IORING_OP_WRITE_FIXED},
        [TIO__OP_FSYNC] = {IORING_OP_FSYNC, IORING_OP_FSYNC},
    };
    const tio_file *f = t->file;
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = opcode[t->op][buf_index >= 0];
    /* A registered file goes by its slot in the fixed-file table. */
    int slot = f->backend_index;
    if (slot >= 0) {
        sqe->fd = slot;
        sqe->flags = IOSQE_FIXED_FILE;
    } else {
        sqe->fd = f->handle;
    }
    if (t->op == TIO__OP_FSYNC) {
        sqe->fsync_flags = (t->op_flags & TIO_FSYNC_DATA) ? IORING_FSYNC_DATASYNC : 0;
    } else {
        sqe->addr = (uintptr_t)t->buf;
        sqe->len = t->len;
        /* A stream has no offset: -1 means "current position" to io_uring. */
        sqe->off = t->offset | ((uint64_t)0 - f->is_stream);
        if (buf_index >= 0)
            sqe->buf_index = (uint16_t)buf_index;
    }
    sqe->user_data = op_key(t);
}

/* t's SQE is staged: remember its place in the SQ for a cancel that comes
 * before the flush. */
static inline int staged(uring *u, tio__task *t, uint64_t flags)
{
    t->backend[W_FLAGS] = flags;
    t->backend[W_SQE] = u->ring.sq.sqe_tail - 1;
    u->inflight++;
    return TIO__PENDING;
}

/* Every start but the plain one: registered buffers, a full SQ,
 * submit_batch, injected faults. Out of line, so that the plain start
 * needs no stack frame. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int start_general(tio_loop *loop, uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return TIO__BUSY;
    prep_op(sqe, t, u->nbufs && t->op != TIO__OP_FSYNC
                        ? tio__uring_buffer_index(u, t->buf, t->len) : -1);
    uint64_t flags = 0;
    /* Injected (test builds): the kernel does nothing and the completion
     * says -EAGAIN/-EINTR, as XFS and signals can. */
    if (!t->file->is_stream && tio__fault(loop, TIO__FAULT_CQE_AGAIN)) {
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, op_key(t));
        flags = F_FAKE_AGAIN;
    }
    staged(u, t, flags);
    /* liburing moves sqe_head up to sqe_tail when it flushes: the
     * difference is what is staged and not yet handed over. */
    if (u->submit_batch != 0 && u->ring.sq.sqe_tail - u->ring.sq.sqe_head >= u->submit_batch)
        flush(u);
    return TIO__PENDING;
}

void tio__uring_update_start(tio_loop *loop)
{
    uring *u = U(loop);
    u->general_start = u->nbufs != 0 || u->submit_batch != 0 || TIO__FAULTS_BUILT;
}

static int uring_start(tio_loop *loop, tio__task *t, int64_t *result, int *os_error)
{
    uring *u = U(loop);
    (void)result;
    (void)os_error;
    TIO_ASSERT(t->op == TIO__OP_READ || t->op == TIO__OP_WRITE || t->op == TIO__OP_FSYNC);
    if (u->inflight >= u->cap)
        return TIO__BUSY;
    struct io_uring_sqe *sqe;
    if (u->general_start || (sqe = io_uring_get_sqe(&u->ring)) == NULL)
        return start_general(loop, u, t);
    prep_op(sqe, t, -1);
    return staged(u, t, 0);
}

/* -------------------------------------------------------------- cancel */

static bool queue_cancel(uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return false;
    io_uring_prep_cancel64(sqe, current_key(t), 0);
    io_uring_sqe_set_data64(sqe, TAG_CANCEL);
    return true;
}

/* True while t's SQE is staged in the SQ but not yet flushed to the kernel
 * (liburing advances sqe_head to sqe_tail when it submits). */
static bool unsubmitted(const uring *u, const tio__task *t)
{
    unsigned seq = (unsigned)t->backend[W_SQE];
    return !(t->backend[W_FLAGS] & (F_POLLING | F_WITHDRAWN)) &&
           seq - u->ring.sq.sqe_head < u->ring.sq.sqe_tail - u->ring.sq.sqe_head;
}

/* The kernel has not seen it: turn its SQE into a NOP with the same key,
 * whose completion then reports TIO_ECANCELED (DESIGN 5: a task not yet
 * handed to the OS is always cancelled). */
static void withdraw(uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = &u->ring.sq.sqes[t->backend[W_SQE] & u->ring.sq.ring_mask];
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, op_key(t));
    t->backend[W_FLAGS] |= F_WITHDRAWN;
}

static void uring_cancel(tio_loop *loop, tio__task *t)
{
    uring *u = U(loop);
    if (unsubmitted(u, t)) {
        withdraw(u, t);
        return;
    }
    if (!queue_cancel(u, t)) {
        /* Not lost: sent by the next wait, before anything else. */
        t->backend[W_FLAGS] |= F_CANCEL_DEFERRED;
        u->deferred++;
    }
}

static void send_deferred_cancels(tio_loop *loop, uring *u)
{
    for (tio__link *l = loop->inflight.head.next; u->deferred && l != &loop->inflight.head;
         l = l->next) {
        tio__task *t = tio__task_of(l);
        if (!(t->backend[W_FLAGS] & F_CANCEL_DEFERRED) || !queue_cancel(u, t))
            continue;
        t->backend[W_FLAGS] &= ~(uint64_t)F_CANCEL_DEFERRED;
        u->deferred--;
    }
}

/* IORING_ASYNC_CANCEL_FD|ALL (5.19) stops every request on the descriptor
 * in one SQE; older kernels get one cancel per task. */
static void uring_cancel_file(tio_loop *loop, tio_file *file)
{
    uring *u = U(loop);
    for (tio__link *l = loop->inflight.head.next; l != &loop->inflight.head; l = l->next) {
        tio__task *t = tio__task_of(l);
        if (t->file == file && unsubmitted(u, t))
            withdraw(u, t);
    }
    struct io_uring_sqe *sqe = u->cancel_fd_ok ? get_sqe(u) : NULL;
    if (sqe != NULL) {
        /* A registered file's requests are keyed by its slot, not its fd,
         * except a poll (by descriptor): cancel both ways. */
        io_uring_prep_cancel_fd(sqe, file->handle, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, TAG_CANCEL);
        if (file->backend_index >= 0 && (sqe = get_sqe(u)) != NULL) {
            io_uring_prep_cancel_fd(sqe, file->backend_index,
                                    IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
            io_uring_sqe_set_data64(sqe, TAG_CANCEL);
        }
        return;
    }
    for (tio__link *l = loop->inflight.head.next; l != &loop->inflight.head; l = l->next) {
        tio__task *t = tio__task_of(l);
        if (t->file == file && t->cancel_requested)
            uring_cancel(loop, t);
    }
}

/* ------------------------------------------------------------ completion */

/* A read or write on an O_NONBLOCK stream can complete with -EAGAIN
 * instead of waiting: io_uring sets REQ_F_NOWAIT for O_NONBLOCK files it
 * cannot poll, and older kernels did so for every O_NONBLOCK file (6.18,
 * here, arms its own poll for pipes, so this path is not reached by the
 * conformance suite). Wait for readiness with a one-shot poll, then start
 * the operation again, rather than spin on -EAGAIN. */
static bool arm_poll(uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return false;
    io_uring_prep_poll_add(sqe, t->file->handle, t->op == TIO__OP_READ ? POLLIN : POLLOUT);
    /* (by descriptor even for a registered file: simplest, and rare) */
    io_uring_sqe_set_data64(sqe, task_key(t, TAG_POLL));
    t->backend[W_FLAGS] |= F_POLLING;
    return true;
}

/* A completion with a flag set or an error: everything but the common case. */
static void complete_op_slow(uring *u, tio__task *t, int res)
{
    if (t->backend[W_FLAGS] & F_WITHDRAWN)
        res = -ECANCELED; /* its NOP ran instead */
    else if (t->backend[W_FLAGS] & F_FAKE_AGAIN) {
        t->backend[W_FLAGS] &= ~(uint64_t)F_FAKE_AGAIN;
        res = (t->gen & 1) ? -EAGAIN : -EINTR; /* injected; the kernel did a NOP */
    }
    if (res == -EAGAIN && t->file->is_stream && !t->cancel_requested && arm_poll(u, t))
        return; /* still in the kernel's hands, now as a poll */
    u->inflight--;
    if (t->backend[W_FLAGS] & F_CANCEL_DEFERRED) {
        t->backend[W_FLAGS] &= ~(uint64_t)F_CANCEL_DEFERRED;
        u->deferred--;
    }
    if (res >= 0) {
        tio__task_finish(t, res, 0);
    } else if (res == -ECANCELED || (res == -EINTR && t->cancel_requested)) {
        /* -EINTR: io-wq interrupts a blocked worker to cancel it. */
        tio__task_finish(t, TIO_ECANCELED, -res);
    } else if (res == -EAGAIN || res == -EINTR) {
        /* XFS and some drivers return -EAGAIN for a read that would block
         * on a lock even without RWF_NOWAIT; retried, never shown. */
        tio__task_requeue(t);
    } else {
        tio__task_finish(t, tio__errno_map(-res), -res);
    }
}

static inline void complete_op(uring *u, tio__task *t, int res)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && u->inflight > 0);
    if (res >= 0 && t->backend[W_FLAGS] == 0) {
        u->inflight--;
        tio__task_finish(t, res, 0);
        return;
    }
    complete_op_slow(u, t, res);
}

/* The stream is ready (or in error, or hung up): the retried operation
 * reports which. */
static void complete_poll(uring *u, tio__task *t, int res)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && (t->backend[W_FLAGS] & F_POLLING));
    t->backend[W_FLAGS] &= ~(uint64_t)F_POLLING;
    u->inflight--;
    if (t->backend[W_FLAGS] & F_CANCEL_DEFERRED) {
        t->backend[W_FLAGS] &= ~(uint64_t)F_CANCEL_DEFERRED;
        u->deferred--;
    }
    if (res == -ECANCELED || t->cancel_requested)
        tio__task_finish(t, TIO_ECANCELED, ECANCELED);
    else if (res < 0)
        tio__task_finish(t, tio__errno_map(-res), -res);
    else
        tio__task_requeue(t);
}

static void reap(uring *u)
{
    /* One acquire of the tail for the whole batch (the kernel only adds). */
    struct io_uring_cq *cq = &u->ring.cq;
    unsigned head = *cq->khead;
    unsigned tail = io_uring_smp_load_acquire(cq->ktail);
    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &cq->cqes[head & cq->ring_mask];
        uint64_t key = cqe->user_data;
        if ((key & TAG_MASK) == TAG_OP) { /* nearly every CQE: no jump table */
            tio__task *t = task_of_key(key);
            TIO_ASSERT(op_key(t) == key);
            complete_op(u, t, cqe->res);
            continue;
        }
        switch (key & TAG_MASK) {
        case TAG_POLL: {
            tio__task *t = task_of_key(key);
            TIO_ASSERT(task_key(t, TAG_POLL) == key);
            complete_poll(u, t, cqe->res);
            break;
        }
        case TAG_WAKE:
            u->wake_armed = false;
            break;
        case TAG_CANCEL:
            /* 0 found, -ENOENT already done, -EALREADY running and being
             * stopped: all normal; the target's own CQE tells its fate. */
            break;
        default:
            TIO_ASSERT(!"io_uring: unknown CQE tag");
        }
    }
    io_uring_smp_store_release(cq->khead, head);
}

/* ---------------------------------------------------------------- wait */

static void arm_wake(uring *u)
{
    if (u->wake_armed)
        return;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return; /* tried again next run; a missed wake only delays it */
    io_uring_prep_read(sqe, u->wake_fd, &u->wake_buf, sizeof u->wake_buf, 0);
    io_uring_sqe_set_data64(sqe, TAG_WAKE);
    u->wake_armed = true;
}

static int wait_and_reap(tio_loop *loop, uring *u, int64_t timeout_ns)
{
    if (u->deferred)
        send_deferred_cancels(loop, u);
    arm_wake(u);
    int rc;
    if (tio__fault(loop, TIO__FAULT_ENTER)) {
        static const int transients[] = {-EINTR, -EAGAIN, -EBUSY};
        rc = transients[u->inflight % 3]; /* as if the kernel said so */
    } else if (timeout_ns == 0) {
        rc = io_uring_submit_and_get_events(&u->ring);
    } else if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&u->ring, 1);
    } else {
        struct __kernel_timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        struct io_uring_cqe *cqe = NULL;
        rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    /* -ETIME: the wait expired. Transient errors: the SQEs stay queued and
     * go with the next enter; whatever has completed is reaped now. */
    if (rc < 0 && rc != -ETIME && !transient(rc))
        return tio__fail(loop, tio__errno_map(-rc), "io_uring_enter: %s", strerror(-rc));
    reap(u);
    return 0;
}

static int uring_wait(tio_loop *loop, int64_t timeout_ns)
{
    uring *u = U(loop);
    u->may_flush = true;
    int rc = wait_and_reap(loop, u, timeout_ns);
    u->may_flush = u->submit_batch != 0;
    return rc;
}

static void uring_wake(tio_loop *loop)
{
    uring *u = U(loop);
    /* eventfd(2): the write only fails if the counter would overflow, in
     * which case a wake is pending anyway. */
    uint64_t one = 1;
    ssize_t n = write(u->wake_fd, &one, sizeof one);
    (void)n;
}

/* --------------------------------------------------------- create/destroy */

static bool probe_cancel_fd(uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    struct io_uring_cqe *cqe;
    if (sqe == NULL)
        return false;
    /* Nothing runs on the eventfd yet: -ENOENT if the kernel knows
     * IORING_ASYNC_CANCEL_FD, -EINVAL if it does not. */
    io_uring_prep_cancel_fd(sqe, u->wake_fd, 0);
    io_uring_sqe_set_data64(sqe, TAG_CANCEL);
    if (io_uring_submit_and_wait(&u->ring, 1) < 0 || io_uring_wait_cqe(&u->ring, &cqe) != 0)
        return false;
    bool ok = cqe->res == -ENOENT;
    io_uring_cqe_seen(&u->ring, cqe);
    return ok;
}

/* Ring flags from best to most portable: SINGLE_ISSUER|DEFER_TASKRUN (6.1)
 * runs completion work only when we enter, on our thread; COOP_TASKRUN
 * (5.19) avoids IPIs; SUBMIT_ALL (5.18) keeps submitting past a bad SQE. */
static const unsigned ring_flags[] = {
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_SUBMIT_ALL,
    0,
};

static int uring_create(tio_loop *loop, const tio_loop_config *cfg)
{
    uring *u = calloc(1, sizeof *u);
    if (u == NULL)
        return tio__fail(loop, TIO_ENOMEM, "io_uring: out of memory");
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof ring_flags / sizeof ring_flags[0] && rc == -EINVAL; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = ring_flags[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = 2 * cfg->queue_depth;
        rc = io_uring_queue_init_params(cfg->queue_depth, &u->ring, &p);
    }
    if (rc < 0) {
        free(u);
        /* EPERM: seccomp or kernel.io_uring_disabled; ENOSYS: no io_uring;
         * ENOMEM: RLIMIT_MEMLOCK before 5.12. The threads backend serves. */
        return tio__fail(loop, rc == -ENOMEM || rc == -EPERM || rc == -ENOSYS || rc == -EINVAL
                                   ? TIO_ENOTSUP : tio__errno_map(-rc),
                         "io_uring_setup refused: %s", strerror(-rc));
    }
    if (!(u->ring.features & IORING_FEAT_NODROP)) {
        /* Before 5.5 a full CQ drops completions: a task would never finish. */
        io_uring_queue_exit(&u->ring);
        free(u);
        return tio__fail(loop, TIO_ENOTSUP, "io_uring: kernel lacks IORING_FEAT_NODROP (5.5)");
    }
    u->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (u->wake_fd < 0) {
        int err = errno;
        io_uring_queue_exit(&u->ring);
        free(u);
        return tio__fail(loop, tio__errno_map(err), "io_uring: eventfd: %s", strerror(err));
    }
    u->cap = cfg->queue_depth;
    u->submit_batch = cfg->submit_batch;
    u->may_flush = cfg->submit_batch != 0;
    loop->backend_data = u;
    tio__uring_update_start(loop);
    u->cancel_fd_ok = probe_cancel_fd(u);
    tio__uring_fixed_init(u);
    return 0;
}

static void uring_destroy(tio_loop *loop)
{
    uring *u = U(loop);
    TIO_ASSERT(u->inflight == 0);
    /* The armed eventfd read targets u->wake_buf: have the kernel finish
     * it before the memory goes (ring teardown is asynchronous). */
    u->may_flush = true;
    if (u->wake_armed) {
        struct io_uring_sqe *sqe = get_sqe(u);
        if (sqe != NULL) {
            io_uring_prep_cancel64(sqe, TAG_WAKE, 0);
            io_uring_sqe_set_data64(sqe, TAG_CANCEL);
        }
        while (u->wake_armed) {
            int rc = io_uring_submit_and_wait(&u->ring, 1);
            if (rc < 0 && !transient(rc))
                break;
            reap(u);
        }
    }
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd);
    tio__uring_fixed_free(u);
    free(u);
}

const tio__backend tio__backend_io_uring = {
    .name = "io_uring",
    .create = uring_create,
    .destroy = uring_destroy,
    .start = uring_start,
    .cancel = uring_cancel,
    .cancel_file = uring_cancel_file,
    .start_in_submit = true,
    .wait = uring_wait,
    .wake = uring_wake,
    .attach = tio__uring_attach,
    .detach = tio__uring_detach,
    .register_buffers = tio__uring_register_buffers,
};
