/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend (liburing, public API only). submit fills one SQE per
 * task; the SQEs reach the kernel in the wait's io_uring_enter, which also
 * waits, or at once when the common code asks (TIO__SUBMIT_NOW). Every start
 * of a read, write or fsync is PENDING (an engine operation on a helper
 * thread fails at its start when the thread cannot be had); completions
 * come back as CQEs keyed by user_data and are reported raw to the common
 * code.
 *
 * user_data layout: the low 3 bits are a tag. For an operation the rest is
 * the task pointer with the low 7 bits of the task's generation in bits
 * 57..63 (user-space pointers fit in 57 bits with 5-level paging, arm64 in
 * 52), so a cancel keyed to one use of a task can never match the next
 * use. Ordering gives the same guarantee independently: a task can only be
 * resubmitted from its callback, after the enter that carried its cancel.
 */
#include "common/internal.h"
#include "linux/uring.h"
#include "posix/fileop.h"
#include "posix/helper.h"
#include "posix/iovec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { TAG_OP = 0, TAG_CANCEL = 1, TAG_WAKE = 2, TAG_POLL = 3, TAG_ENGINE = 4, TAG_MASK = 7 };
#define PTR_BITS 57
#define PTR_MASK ((UINT64_C(1) << PTR_BITS) - 1)

/* Per-task backend word 0: flags. */
#define F_CANCEL_DEFERRED 1u /* cancel asked while no SQE could be had */
#define F_POLLING 2u         /* a nonblocking stream said -EAGAIN: waiting for readiness */
#define F_SIGNALS 4u         /* a write counted in signal_writes */

/* Operations in the kernel's hands: kept for the asserts only. */
#if defined(TIO_DEBUG) && TIO_DEBUG
#  define COUNT_INFLIGHT(u, op) ((u)->inflight op)
#else
#  define COUNT_INFLIGHT(u, op) ((void)(u))
#endif

static uring *U(tio_loop *loop)
{
    return loop->backend_data;
}

static uint64_t task_key(const tio__task *t, unsigned tag)
{
    uintptr_t p = (uintptr_t)t;
    TIO_ASSERT((p & TAG_MASK) == 0 && (p >> PTR_BITS) == 0);
    return (uint64_t)p | ((uint64_t)(t->gen & 0x7f) << PTR_BITS) | tag;
}

static uint64_t op_key(const tio__task *t)
{
    return task_key(t, TAG_OP);
}

/* The key of whatever the kernel is doing for t now: the operation, or
 * the poll that waits for a nonblocking stream to become ready. */
static uint64_t current_key(const tio__task *t)
{
    if (t->op >= TIO__OP_FIRST_ENGINE)
        return task_key(t, TAG_ENGINE);
    return task_key(t, (t->backend[0] & F_POLLING) ? TAG_POLL : TAG_OP);
}

static tio__task *task_of_key(uint64_t key)
{
    return (tio__task *)(uintptr_t)(key & PTR_MASK & ~(uint64_t)TAG_MASK);
}

/* ------------------------------------------------------- quiet signals */

/*
 * A write to a pipe or socket whose reader is gone raises SIGPIPE, and one
 * past RLIMIT_FSIZE raises SIGXFSZ, in the thread that performs it. io_uring
 * performs writes inline in io_uring_enter on the calling thread (its first,
 * nonblocking attempt, and with DEFER_TASKRUN the retries as well), so the
 * signal would reach the program, whose default action ends it. (io-wq
 * workers block every signal but SIGKILL/SIGSTOP, create_io_thread in
 * kernel/fork.c, so a write they run is harmless.) While a write that can
 * raise one is in flight (on a stream; on a file, only if RLIMIT_FSIZE was
 * finite when it started, as read when the loop was created or a file last
 * attached: each such write is counted in signal_writes), every
 * enter runs with both signals blocked, and a signal that became pending
 * during it is consumed: the write's CQE already reports -EPIPE/-EFBIG. The
 * program's own dispositions are never changed. (Blocking costs three
 * system calls per enter: measured +20 % CPU per DSYNC write at QD 32, so
 * it is not done where no signal can come.)
 */
/* Whether an enter now may raise SIGPIPE or SIGXFSZ in this thread. */
static inline bool signals_possible(const uring *u)
{
    return u->signal_writes > 0;
}

typedef struct quiet {
    sigset_t old, before;
} quiet;

static TIO_COLD void quiet_begin(quiet *q)
{
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGPIPE);
    sigaddset(&both, SIGXFSZ);
    sigpending(&q->before);
    pthread_sigmask(SIG_BLOCK, &both, &q->old);
}

static TIO_COLD void quiet_end(quiet *q)
{
    static const int sigs[] = {SIGPIPE, SIGXFSZ};
    sigset_t now;
    sigpending(&now);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (!sigismember(&now, sigs[i]) || sigismember(&q->before, sigs[i]))
            continue;
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sigs[i]);
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&one, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &q->old, NULL);
}

void tio__uring_update_plain(uring *u)
{
    u->plain_io = u->nbufs == 0 && !u->fsize_limited;
}

void tio__uring_read_fsize_limit(uring *u)
{
    u->fsize_limited = tio__posix_fsize_limited();
    tio__uring_update_plain(u);
}

/* The rare conditions of an enter, after any of them changed. */
static inline void update_calm(uring *u)
{
    u->calm = u->deferred == 0 && u->signal_writes == 0 && u->wake_armed;
}

/* ------------------------------------------------------------ submission */

/* io_uring_enter(2) errors that mean "not now": EINTR (signal), EAGAIN
 * (kernel out of request memory), EBUSY (CQ overflow backlog on kernels
 * before 5.19's NODROP rework). The SQEs stay in the SQ ring and go with
 * the next enter. */
static bool transient(int err)
{
    return err == -EINTR || err == -EAGAIN || err == -EBUSY;
}

/* submit_now while a write in flight may raise a signal: out of line, so
 * that the common submission keeps a small frame. */
static TIO_COLD int submit_quietly(uring *u)
{
    quiet q;
    quiet_begin(&q);
    int rc = io_uring_submit(&u->ring);
    quiet_end(&q);
    return rc;
}

/* Hand every SQE written so far to the kernel, without waiting. */
static int submit_now(uring *u)
{
    int rc = TIO_LIKELY(!signals_possible(u)) ? io_uring_submit(&u->ring) : submit_quietly(u);
    TIO_ASSERT(rc >= 0 || transient(rc));
    return rc;
}

/* An SQE; when the SQ is full, the SQEs in it go to the kernel first.
 * NULL only when the kernel refuses them for now. */
static TIO_COLD struct io_uring_sqe *get_sqe_after_submit(uring *u)
{
    return submit_now(u) >= 0 ? io_uring_get_sqe(&u->ring) : NULL;
}

static inline struct io_uring_sqe *get_sqe(uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    return TIO_LIKELY(sqe != NULL) ? sqe : get_sqe_after_submit(u);
}

static const uint8_t opcode[][2] = {
    [TIO__OP_READ] = {IORING_OP_READ, IORING_OP_READ_FIXED},
    [TIO__OP_WRITE] = {IORING_OP_WRITE, IORING_OP_WRITE_FIXED},
    [TIO__OP_FSYNC] = {IORING_OP_FSYNC, IORING_OP_FSYNC},
};

/* The SQE of a read, write or fsync on file descriptor (or fixed-file
 * slot) fd, outside the common case: an fsync, a whole vectored attempt,
 * a stream (no offset: -1, the current position), a registered buffer
 * (by its index), or a write that may raise a signal (counted for the
 * enters, see signals_possible). */
static TIO_COLD void prep_op_other(uring *u, struct io_uring_sqe *sqe, tio__task *t, int fd)
{
    if (t->op == TIO__OP_FSYNC) {
        io_uring_prep_fsync(sqe, fd, (t->op_flags & TIO_FSYNC_DATA) ? IORING_FSYNC_DATASYNC : 0);
    } else if (tio__vec_whole(t)) {
        io_uring_prep_rw(t->op == TIO__OP_READ ? IORING_OP_READV : IORING_OP_WRITEV, sqe, fd,
                         tio__iov(t), t->v.count, t->offset);
    } else {
        int buf_index = tio__uring_buffer_index(u, t->buf, t->len);
        uint64_t off = (t->flags & TIO__TF_STREAM) ? (uint64_t)-1 : t->offset;
        io_uring_prep_rw(opcode[t->op][buf_index >= 0], sqe, fd, t->buf, t->len, off);
        if (buf_index >= 0)
            sqe->buf_index = (uint16_t)buf_index;
    }
    if (t->op == TIO__OP_WRITE && ((t->flags & TIO__TF_STREAM) || u->fsize_limited)) {
        t->backend[0] = F_SIGNALS;
        u->signal_writes++;
        update_calm(u);
    }
}

/* Whether t is the common case of a read, write or fsync: one buffer at
 * an offset (buf is NULL for an fsync and a whole vectored attempt; a
 * stream has no offset), no registered buffers, no signal to count. */
static inline bool plain_op(const uring *u, const tio__task *t)
{
    return t->buf != NULL && !(t->flags & TIO__TF_STREAM) && u->plain_io;
}

/* What every read, write or fsync SQE carries besides its operation: the
 * file's SQE flags (uring_fixed.c), the task's key. */
static inline void prep_op_end(struct io_uring_sqe *sqe, const tio__task *t)
{
    sqe->flags = (uint8_t)t->file->backend_flags;
    io_uring_sqe_set_data64(sqe, op_key(t));
}

/* plain_op's SQE, on the file's fixed-file slot or descriptor. */
static inline void prep_plain(struct io_uring_sqe *sqe, tio__task *t)
{
    t->backend[0] = 0;
    io_uring_prep_rw(opcode[t->op][0], sqe, t->file->backend_index, t->buf, t->len, t->offset);
    prep_op_end(sqe, t);
}

/* A read, write or fsync's SQE. */
static inline void prep_op(uring *u, struct io_uring_sqe *sqe, tio__task *t)
{
    if (TIO_LIKELY(plain_op(u, t))) {
        prep_plain(sqe, t);
        return;
    }
    t->backend[0] = 0;
    prep_op_other(u, sqe, t, t->file->backend_index);
    prep_op_end(sqe, t);
}

/* The helper threads write the eventfd the ring has a read armed on. */
static void helper_notify(void *arg)
{
    uring *u = arg;
    uint64_t one = 1;
    ssize_t n = write(u->wake_fd, &one, sizeof one);
    (void)n; /* fails only when the counter is full: a wake is pending anyway */
}

/* The engine operations the ring runs itself: those whose opcode is the
 * very system call the helper thread would make (fallocate, ftruncate,
 * unlinkat, renameat), where the kernel has it (probed at create). The
 * rest run on the helper threads: OPENAT returns at once for a FIFO with
 * no peer (io_uring tries a nonblocking open first) and is followed by
 * the direct-I/O probe, the lock and alignment discovery; STATX lacks the
 * physical block size; a close must wait for the fixed-file slot; a
 * RENAME_NOREPLACE the filesystem refuses falls back to link + unlink. */
static bool native_engine(const uring *u, const tio__task *t)
{
    if (!(u->native_ops & (1u << t->op)))
        return false;
    return t->op != TIO__OP_RENAME || !(t->op_flags & TIO_RENAME_NOREPLACE);
}

static void prep_engine(struct io_uring_sqe *sqe, const tio__task *t)
{
    switch (t->op) {
    case TIO__OP_ALLOCATE:
        io_uring_prep_fallocate(sqe, t->file->handle,
                                (t->op_flags & TIO_ALLOCATE_KEEP_SIZE) ? FALLOC_FL_KEEP_SIZE : 0,
                                (off_t)t->offset, (off_t)t->e.len);
        break;
#ifdef IORING_OP_FTRUNCATE
    case TIO__OP_TRUNCATE:
        io_uring_prep_rw(IORING_OP_FTRUNCATE, sqe, t->file->handle, NULL, 0, t->offset);
        break;
#endif
    case TIO__OP_UNLINK: io_uring_prep_unlinkat(sqe, AT_FDCWD, t->e.path, 0); break;
    case TIO__OP_RENAME:
        io_uring_prep_renameat(sqe, AT_FDCWD, t->e.path, AT_FDCWD, t->e.to, 0);
        break;
    default: TIO_ASSERT(!"prep_engine: not run by the ring"); break;
    }
    io_uring_sqe_set_data64(sqe, task_key(t, TAG_ENGINE));
}

/* Which engine operations the ring runs (native_engine). */
static void probe_engine_ops(uring *u)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(&u->ring);
    if (probe == NULL)
        return;
    static const struct {
        int op, opcode;
    } ops[] = {
        {TIO__OP_ALLOCATE, IORING_OP_FALLOCATE},
#ifdef IORING_OP_FTRUNCATE
        {TIO__OP_TRUNCATE, IORING_OP_FTRUNCATE}, /* Linux 6.9 */
#endif
        {TIO__OP_UNLINK, IORING_OP_UNLINKAT},
        {TIO__OP_RENAME, IORING_OP_RENAMEAT},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (io_uring_opcode_supported(probe, ops[i].opcode))
            u->native_ops |= 1u << ops[i].op;
    }
    io_uring_free_probe(probe);
}

/* An engine operation: on the ring, or on a helper thread (as on the
 * threads backend). NULL sqe from the ring: BUSY, like any operation. */
static uint8_t start_engine(tio_loop *loop, uring *u, tio__task *t, tio__sync *s)
{
    (void)loop;
    if (native_engine(u, t)) {
        struct io_uring_sqe *sqe = get_sqe(u);
        if (sqe == NULL)
            return TIO__BUSY;
        prep_engine(sqe, t);
        t->backend[0] = 0;
        COUNT_INFLIGHT(u, ++);
        return TIO__PENDING;
    }
    if (u->helper == NULL && (u->helper = tio__helper_create(helper_notify, u)) == NULL) {
        s->os_error = ENOMEM;
        return TIO__FAILED;
    }
    int err = tio__helper_start(u->helper, t);
    if (err != 0) {
        s->os_error = err;
        return TIO__FAILED;
    }
    return TIO__PENDING;
}

/* A read, write or fsync into the SQ: PENDING, or BUSY (no SQE). */
static TIO_INLINE uint8_t start_op(uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return TIO__BUSY;
    prep_op(u, sqe, t);
    COUNT_INFLIGHT(u, ++);
    return TIO__PENDING;
}

static TIO_INLINE unsigned submit_tasks(tio_loop *loop, tio__task *const *tasks, unsigned n,
                                        unsigned flags, uint8_t *out, tio__sync *sync)
{
    uring *u = U(loop);
    unsigned i = 0;
    for (; i < n; i++) {
        tio__task *t = tasks[i];
        if (t->op >= TIO__OP_FIRST_ENGINE) {
            if ((out[i] = start_engine(loop, u, t, &sync[i])) == TIO__BUSY)
                break;
            continue;
        }
        if ((out[i] = start_op(u, t)) == TIO__BUSY)
            break;
    }
    if (flags & TIO__SUBMIT_NOW)
        submit_now(u);
    return i;
}

/* The common code's "now, on this thread": the system call the ring would
 * make for it, made here (a ring would pass a buffered write on ext4 to
 * an io-wq worker and back). A write is left to the ring while SIGXFSZ is
 * possible: the ring's enters block it, this call could not. */
static uint8_t uring_start_now(tio_loop *loop, tio__task *t, unsigned how, tio__sync *s)
{
    return tio__posix_start_now(t, how, U(loop)->fsize_limited, s);
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

static void uring_cancel(tio_loop *loop, tio__task *t)
{
    uring *u = U(loop);
    if (t->op >= TIO__OP_FIRST_ENGINE && !native_engine(u, t)) {
        tio__helper_cancel(u->helper, t);
        return;
    }
    if (!queue_cancel(u, t)) {
        /* Not lost: sent by the next wait, before anything else. */
        t->backend[0] |= F_CANCEL_DEFERRED;
        u->deferred++;
        u->calm = false;
    }
}

static void send_deferred_cancels(tio_loop *loop, uring *u)
{
    for (tio__link *l = loop->inflight.head.next; u->deferred && l != &loop->inflight.head;
         l = l->next) {
        tio__task *t = tio__task_of(l);
        if (!(t->backend[0] & F_CANCEL_DEFERRED) || !queue_cancel(u, t))
            continue;
        t->backend[0] &= ~(uint64_t)F_CANCEL_DEFERRED;
        u->deferred--;
    }
    update_calm(u);
}

/* ------------------------------------------------------------ completion */

/* A read or write on an O_NONBLOCK stream can complete with -EAGAIN
 * instead of waiting: io_uring sets REQ_F_NOWAIT for O_NONBLOCK files it
 * cannot poll, and older kernels did so for every O_NONBLOCK file (6.18,
 * here, arms its own poll for pipes). Wait for readiness with a one-shot
 * poll; its completion tells the common code to start the operation again. */
static bool arm_poll(uring *u, tio__task *t)
{
    struct io_uring_sqe *sqe = get_sqe(u);
    if (sqe == NULL)
        return false;
    io_uring_prep_poll_add(sqe, t->file->handle, t->op == TIO__OP_READ ? POLLIN : POLLOUT);
    io_uring_sqe_set_data64(sqe, task_key(t, TAG_POLL));
    t->backend[0] |= F_POLLING;
    return true;
}

/* The kernel is done with t: report res raw. */
static inline void release(uring *u, tio__task *t, int64_t bytes, int err)
{
    TIO_ASSERT(u->inflight > 0);
    COUNT_INFLIGHT(u, --);
    if (t->backend[0] != 0) {
        u->deferred -= (t->backend[0] & F_CANCEL_DEFERRED) != 0;
        u->signal_writes -= (t->backend[0] & F_SIGNALS) != 0;
        t->backend[0] = 0;
        update_calm(u);
    }
    tio__task_complete(t, bytes, err);
}

static TIO_NOINLINE void complete_op_error(uring *u, tio__task *t, int res)
{
    if (res == -EAGAIN && t->file->is_stream && !(t->flags & TIO__TF_CANCEL) && arm_poll(u, t))
        return; /* still in the kernel's hands, now as a poll */
    release(u, t, 0, -res);
}

static TIO_INLINE void complete_op(uring *u, tio__task *t, int res)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT);
    if (TIO_LIKELY(res >= 0))
        release(u, t, res, 0);
    else
        complete_op_error(u, t, res);
}

/* An engine operation the ring ran: its raw outcome (outcome.c's general
 * path, which also settles what it changed). */
static void complete_engine(uring *u, tio__task *t, int res)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && u->inflight > 0);
    COUNT_INFLIGHT(u, --);
    if (t->backend[0] != 0) {
        u->deferred -= (t->backend[0] & F_CANCEL_DEFERRED) != 0;
        t->backend[0] = 0;
        update_calm(u);
    }
    tio__task_complete_slow(t, 0, res < 0 ? -res : 0);
}

/* The stream is ready (or in error, or hung up): the repeated operation
 * reports which. A poll cancelled on our request is the task's cancel. */
static void complete_poll(uring *u, tio__task *t, int res)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && (t->backend[0] & F_POLLING));
    release(u, t, 0, res == -ECANCELED ? ECANCELED : EAGAIN);
}

/* One CQE; true if it is the wake eventfd's read. */
static inline bool complete_cqe(uring *u, const struct io_uring_cqe *cqe)
{
    uint64_t key = io_uring_cqe_get_data64(cqe);
    if (TIO_LIKELY((key & TAG_MASK) == TAG_OP)) {
        TIO_ASSERT(op_key(task_of_key(key)) == key);
        complete_op(u, task_of_key(key), cqe->res);
        return false;
    }
    switch (key & TAG_MASK) {
    case TAG_POLL:
        TIO_ASSERT(task_key(task_of_key(key), TAG_POLL) == key);
        complete_poll(u, task_of_key(key), cqe->res);
        break;
    case TAG_ENGINE: complete_engine(u, task_of_key(key), cqe->res); break;
    case TAG_WAKE:
        u->wake_armed = false;
        u->calm = false;
        return true;
    case TAG_CANCEL:
        /* 0 found, -ENOENT already done, -EALREADY running and being
         * stopped: all normal; the target's own CQE tells its fate. */
        break;
    default: TIO_ASSERT(!"io_uring: unknown CQE tag"); break;
    }
    return false;
}

/* Every CQE there is; true if the wake eventfd's read completed. */
static TIO_INLINE bool reap(uring *u)
{
    bool woken = false;
    unsigned head, seen = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe (&u->ring, head, cqe) {
        seen++;
        woken |= complete_cqe(u, cqe);
    }
    io_uring_cq_advance(&u->ring, seen);
    return woken;
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
    update_calm(u);
}

/* A wake that could not be armed (no SQE: the kernel refused the SQ for
 * now) is seen by polling the eventfd's count at least every millisecond. */
#define UNARMED_WAKE_NS 1000000

/* Submit what is in the SQ and wait up to timeout_ns for one CQE, with
 * what an enter may need first: deferred cancels sent, the wake armed (or
 * the wait bounded), the signals of writes in flight blocked. The common
 * wait (calm, no timeout) is wait_for's own io_uring_submit_and_wait. */
static TIO_NOINLINE int enter(tio_loop *loop, uring *u, int64_t timeout_ns)
{
    if (u->deferred)
        send_deferred_cancels(loop, u);
    arm_wake(u);
    if (!u->wake_armed && (timeout_ns < 0 || timeout_ns > UNARMED_WAKE_NS))
        timeout_ns = UNARMED_WAKE_NS;
    quiet q;
    bool masked = signals_possible(u);
    if (masked)
        quiet_begin(&q);
    int rc;
    if (timeout_ns == 0) {
        rc = io_uring_submit_and_get_events(&u->ring);
    } else if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&u->ring, 1);
    } else {
        struct __kernel_timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
        struct io_uring_cqe *cqe = NULL;
        rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    if (masked)
        quiet_end(&q);
    return rc;
}

/* The wake's eventfd read could not be armed: whether it was written. */
static TIO_COLD bool poll_wake(uring *u)
{
    struct pollfd q = {u->wake_fd, POLLIN, 0};
    uint64_t count;
    return poll(&q, 1, 0) == 1 && read(u->wake_fd, &count, sizeof count) == (ssize_t)sizeof count;
}

static TIO_INLINE int wait_for(tio_loop *loop, int64_t timeout_ns)
{
    uring *u = U(loop);
    int rc = TIO_LIKELY(u->calm && timeout_ns < 0) ? io_uring_submit_and_wait(&u->ring, 1)
                                                   : enter(loop, u, timeout_ns);
    /* -ETIME: the wait expired. Transient errors (a signal among them):
     * whatever has completed is reaped, and the common code waits again. */
    if (rc < 0 && rc != -ETIME && !transient(rc))
        return tio__fail(loop, tio__errno_map(-rc), "io_uring_enter: %s", strerror(-rc));
    bool woken = reap(u);
    if (TIO_LIKELY(!woken && u->wake_armed))
        return 0;
    if (!woken && !poll_wake(u))
        return 0;
    /* The eventfd counts helper results and tio_wake alike. */
    tio__helper_reap(u->helper);
    return atomic_exchange(&u->user_wakes, 0) != 0 ? TIO__WOKEN : 0;
}

/* The table's entries wrap submit_tasks and wait_for, so that each entry,
 * the fused one among them, has its own copy of them to specialise. */
static unsigned uring_submit(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                             uint8_t *out, tio__sync *sync)
{
    /* A batch of one is the common call (a start handed over from its
     * starting call, a queue of one task): a copy of the loop for it. */
    if (n == 1)
        return submit_tasks(loop, tasks, 1, flags, out, sync);
    return submit_tasks(loop, tasks, n, flags, out, sync);
}

/* uring_submit_single outside its common case: an fsync, an SQE that is
 * not plain_op's (registered buffers, writes that may raise SIGXFSZ), or a
 * full SQ. */
static TIO_NOINLINE int submit_single_other(tio_loop *loop, uring *u, tio__task *t)
{
    tio__sync sync;
    uint8_t out = start_op(u, t);
    /* BUSY: get_sqe has just submitted the full SQ, and the kernel refused
     * it for now. */
    if (out != TIO__BUSY)
        submit_now(u);
    return tio__single_outcome(loop, t, out, &sync);
}

/* A start from its starting call: into the SQ and to the kernel, in a
 * call made for it, whose only test is the one the common code cannot
 * make (registered buffers or signals to count), and whose one call is
 * the submit (callgrind, 4 KiB reads at QD 32, submit_batch 1: 455
 * user-space instructions per read, harness included; tio-bench's
 * liburing loop that submits each read at once, 283). */
static int uring_submit_single(tio_loop *loop, tio__task *t)
{
    uring *u = U(loop);
    struct io_uring_sqe *sqe;
    /* A plain start (the table's contract): a read or write has a buffer
     * and no stream; an fsync has no buffer. */
    TIO_ASSERT(!(t->flags & (TIO__TF_STREAM | TIO__TF_VEC)) && t->op <= TIO__OP_FSYNC);
    TIO_ASSERT((t->buf != NULL) == (t->op != TIO__OP_FSYNC));
    if (TIO_UNLIKELY(t->op == TIO__OP_FSYNC || !u->plain_io ||
                     (sqe = io_uring_get_sqe(&u->ring)) == NULL))
        return submit_single_other(loop, u, t);
    prep_plain(sqe, t);
    COUNT_INFLIGHT(u, ++);
    submit_now(u);
    return 0;
}

static int uring_wait(tio_loop *loop, int64_t timeout_ns)
{
    return wait_for(loop, timeout_ns);
}

/* The run of a loop whose only task is t: its SQE goes to the kernel in
 * the enter that waits for its completion, as before, but through one
 * call from the common code instead of two (about 50 user-space
 * instructions less per operation, callgrind, 4 KiB reads at QD 1). */
static int uring_submit_wait(tio_loop *loop, tio__task *t, uint8_t *out, tio__sync *sync)
{
    if (submit_tasks(loop, &t, 1, 0, out, sync) != 1) {
        *out = TIO__BUSY;
        return 0;
    }
    if (*out != TIO__PENDING)
        return 0;
    return wait_for(loop, TIO_FOREVER);
}

static void uring_wake(tio_loop *loop)
{
    uring *u = U(loop);
    /* eventfd(2): the write only fails if the counter would overflow, in
     * which case a wake is pending anyway. */
    uint64_t one = 1;
    atomic_fetch_add(&u->user_wakes, 1);
    ssize_t n = write(u->wake_fd, &one, sizeof one);
    (void)n;
}

/* --------------------------------------------------------- create/destroy */

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
        return tio__fail(loop,
                         rc == -ENOMEM || rc == -EPERM || rc == -ENOSYS || rc == -EINVAL
                             ? TIO_ENOTSUP
                             : tio__errno_map(-rc),
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
    loop->backend_data = u;
    tio__uring_fixed_init(u);
    tio__uring_read_fsize_limit(u);
    probe_engine_ops(u);
    return 0;
}

static void uring_destroy(tio_loop *loop)
{
    uring *u = U(loop);
    TIO_ASSERT(u->inflight == 0);
    /* The armed eventfd read targets u->wake_buf: have the kernel finish
     * it before the memory goes (ring teardown is asynchronous). */
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
    tio__helper_destroy(u->helper);
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd);
    tio__uring_fixed_free(u);
    free(u);
}

const tio__backend tio__backend_io_uring = {
    .name = "io_uring",
    .vectored = true,
    .create = uring_create,
    .destroy = uring_destroy,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .wait = uring_wait,
    .submit_wait = uring_submit_wait,
    .submit_single = uring_submit_single,
    .wake = uring_wake,
    .attach = tio__uring_attach,
    .detach = tio__uring_detach,
    .register_buffers = tio__uring_register_buffers,
    .start_now = uring_start_now,
};
