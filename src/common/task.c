/* SPDX-License-Identifier: MIT */
/*
 * The task state machine and the flush policy (DESIGN semantics 1, 2, 15
 * and "One pipeline, thin backends").
 *
 *   IDLE --submit--> QUEUED --flush--> INFLIGHT --complete--> DONE --callback--> IDLE
 *                     ^  |   start COMPLETED/FAILED -------------^
 *                     |  +--cancel / deadline--------------------^
 *                     +---- short transfer continued, transient retried
 *
 * Work not yet handed to the OS lives on loop->queued, in submission order,
 * and only here: a cancel or a deadline there never reaches the OS. The
 * flush decides what goes to the backend and when:
 *  - by default (the adaptive policy, submit_batch 0):
 *    . once per run, just before the run waits, so that a run's work
 *      reaches the OS in the system call that also waits (on io_uring
 *      one enter both submits and waits: the fewest system calls);
 *    . between a run's callbacks, when the OS has no file operation in
 *      flight or TIO__HANDOVER_BATCH starts wait (handover_due): the
 *      device does not idle while callbacks run;
 *    . or, where the loop has measured that to complete work faster
 *      (adapt.c), each start from its starting call, as submit_batch 1,
 *      unless it is the loop's only task: nothing is in flight for it to
 *      overlap, and left queued it keeps tio_wait's and the run's one
 *      system call;
 *    . from the starting call, for the loop's only task on a buffered
 *      file, in the OS's mode that never waits (nowait_pays): an engine
 *      used one operation at a time gets a page-cache hit for the price
 *      of one system call, where io_uring would pass a buffered write
 *      to an io-wq worker and the threads backend to one of its own
 *      (unless it waits for each with tio_wait, which does it then);
 *  - under submit_batch N, from the starting call as soon as N tasks are
 *    queued (fio's iodepth_batch_submit), and by runs;
 *  - under TIO_SUBMIT_IN_RUN, by runs only;
 *  - tio_wait on the loop's only task does it on the waiting thread,
 *    blocking (loop.c), under every policy;
 *  - at most queue_depth file operations in flight (more would only queue
 *    inside the OS and flood its completion queue), while operations on
 *    streams are not capped: they may wait for ever on a peer, and must not
 *    hold back file I/O (semantic 15);
 *  - one write in flight per stream, so that writes land in submission
 *    order even when the OS takes part of one (semantic 13).
 * A synchronous outcome of a start (COMPLETED or FAILED) is queued on
 * loop->done exactly like a completion from the OS, so the user sees one
 * path and one callback budget. Callbacks run only from run_callbacks,
 * which no submitting call reaches.
 */
#include "common/internal.h"

#include <string.h>

/* Whether the starting call should try t at once in the OS's mode that
 * never waits (TIO__NOW_NOWAIT): only when t is all the loop has (an
 * engine used one operation at a time: nothing else to batch it with),
 * on a buffered regular file (on a direct one the call would still wait
 * for the device), and where it has paid on this file lately. A miss costs
 * one system call that fails at once; after misses the fast path is tried
 * again only every TIO__NOWAIT_PROBE starts, and never again in a
 * direction the OS has no such mode for.
 * Nor while the caller waits for each such task with tio_wait(FOREVER)
 * (loop->lone_waits, cleared when it runs the loop itself): the wait then
 * does the task in one plain call on the same thread, and a page-cache hit
 * costs what pread costs, where preadv2 with RWF_NOWAIT costs more
 * (measured on Linux 6.18, cached 4 KiB reads: 1.24-1.31 us against pread's
 * 1.11-1.21 us). */
#define TIO__NOWAIT_PROBE 32u
static inline bool nowait_pays(const tio_loop *loop, tio__task *t)
{
    tio_file *f = t->file;
    if (loop->pending != 1 || !loop->adaptive || f->direct || loop->lone_waits >= TIO__LONE_WAITS ||
        f->is_stream || t->op == TIO__OP_FSYNC || loop->backend->start_now == NULL)
        return false;
    unsigned dir = t->op - TIO__OP_READ;
    if (f->nowait_refused[dir])
        return false;
    if (f->nowait_credit[dir] >= 0)
        return true;
    if (++f->nowait_skips[dir] < TIO__NOWAIT_PROBE)
        return false;
    f->nowait_skips[dir] = 0;
    return true;
}

/* What a NOWAIT attempt teaches: a hit earns credit (up to 8), a miss
 * costs 4, so that a file whose reads mostly miss the page cache soon
 * stops paying for attempts, and one that starts hitting again is found
 * by the next probe. */
static void nowait_learn(tio_file *f, unsigned dir, uint8_t out, int os_error)
{
    if (out != TIO__BUSY) {
        if (f->nowait_credit[dir] < 0)
            f->nowait_credit[dir] = 0;
        else if (f->nowait_credit[dir] < 8)
            f->nowait_credit[dir]++;
    } else if (os_error != 0 && tio__os_error_map(os_error) == TIO_ENOTSUP) {
        f->nowait_refused[dir] = true;
    } else if (os_error != 0 && f->nowait_credit[dir] > -100) {
        f->nowait_credit[dir] = (int8_t)(f->nowait_credit[dir] - 4);
    }
}

/* Take t for a start: INFLIGHT from here on (its list move is the
 * caller's: see move_batch), unless it needs no OS at all (a zero-length
 * read or write: on a pipe the OS would wait for data first, ppoll or
 * Windows' 0-byte ReadFile). */
static TIO_NOINLINE bool take_other(tio_loop *loop, tio__task *t)
{
    if (t->flags & TIO__TF_VEC)
        tio__vec_prepare(loop, t);
    if (t->len == 0 && t->op <= TIO__OP_WRITE) {
        tio__task_finish(t, t->done, 0);
        return false;
    }
    t->state = TIO__INFLIGHT;
    if (TIO_LIKELY(!(t->flags & TIO__TF_STREAM))) {
        loop->inflight_files++;
        return true;
    }
    loop->queued_streams--;
    if (t->op == TIO__OP_WRITE)
        t->file->writing = true;
    return true;
}

/* The common case of a start: a file operation on one buffer, not empty. */
static inline bool plain_start(const tio__task *t, unsigned also)
{
    return !(t->flags & (TIO__TF_STREAM | TIO__TF_VEC | also)) && t->len != 0;
}

static inline bool take(tio_loop *loop, tio__task *t)
{
    if (TIO_LIKELY(plain_start(t, 0))) {
        t->state = TIO__INFLIGHT;
        loop->inflight_files++;
        return true;
    }
    return take_other(loop, t);
}

/* may_start and take at once for the common start (none of the flags
 * `refuse` either), which room under the cap lets go: true when t was
 * taken; false leaves the general rules to decide. */
static inline bool take_plain(tio_loop *loop, tio__task *t, unsigned refuse)
{
    if (!TIO_LIKELY(plain_start(t, refuse) && loop->inflight_files < loop->queue_depth))
        return false;
    t->state = TIO__INFLIGHT;
    loop->inflight_files++;
    return true;
}

/* One synchronous outcome of a start; false when the start is to be
 * retried later (a transient shortage while other work is in flight). */
static bool start_done(tio_loop *loop, tio__task *t, uint8_t outcome, const tio__sync *s)
{
    if (outcome == TIO__COMPLETED) {
        TIO_ASSERT(s->bytes >= 0);
        tio__task_complete(t, s->bytes, 0);
        return true;
    }
    TIO_ASSERT(outcome == TIO__FAILED && s->os_error != 0);
    return tio__start_failed(loop, t, s->os_error) != TIO__BUSY;
}

/* The loop's one task, done now on this thread where the backend can
 * (tio__backend.start_now), straight from the list it is on (`from`:
 * NULL from its starting call, the queue for tio_wait), with no flush:
 * nothing else is pending, so there is nothing to batch it with, no
 * deadline to fire first (a task has none before its start returns,
 * and tio_wait takes this path only without one) and no cap to respect.
 * True when that settled it, its outcome delivered like any synchronous
 * start, except that a transfer done whole goes to `whole_to` (NULL: on
 * no list, its callback the caller's to run); false when the OS would
 * have waited (NOWAIT) or the backend declined, and t is back where it
 * was, QUEUED, to start as usual. */
static TIO_INLINE bool start_alone(tio_loop *loop, tio__task *t, tio__list *from, unsigned how,
                                   tio__list *whole_to)
{
    TIO_ASSERT(loop->pending == 1 && t->state == TIO__QUEUED && t->on == from);
    TIO_ASSERT(t->op <= TIO__OP_FSYNC && !(t->flags & (TIO__TF_STREAM | TIO__TF_DEADLINE)));
    TIO_ASSERT(how == TIO__NOW_NOWAIT || how == TIO__NOW_BLOCKING);
    if (!take(loop, t))
        return true;
    tio__sync s;
    uint8_t out = loop->backend->start_now(loop, t, how, &s);
    if (how == TIO__NOW_NOWAIT)
        nowait_learn(t->file, t->op - TIO__OP_READ, out, s.os_error);
    if (out == TIO__BUSY) {
        loop->inflight_files--;
        t->state = TIO__QUEUED;
        return false;
    }
    loop->starts[out]++;
    /* The common case needs no in-flight list on the way to DONE. */
    if (out == TIO__COMPLETED && tio__done_whole(t, s.bytes, 0)) {
        loop->inflight_files--;
        tio__task_done_to(t, from, whole_to, s.bytes, 0);
        return true;
    }
    tio__move_from(t, from, &loop->inflight);
    bool delivered = start_done(loop, t, out, &s);
    TIO_ASSERT(delivered);
    (void)delivered;
    return true;
}

/* The starting call's attempt at the loop's only task (nowait_pays);
 * queued as usual when the OS would have waited. No stream, and alone:
 * no flush due. The paths a start can take from here on return 0, the
 * starting call's result, so that each is a tail call. */
static TIO_NOINLINE int start_nowait(tio_loop *loop, tio__task *t)
{
    if (start_alone(loop, t, NULL, TIO__NOW_NOWAIT, &loop->done))
        return 0;
    tio__move_from(t, NULL, &loop->queued);
    loop->queued_since_flush++;
    return 0;
}

static int start_first(tio_loop *loop, tio__task *t);

/* The flush of a starting call under submit_batch N, when N are queued. */
static TIO_NOINLINE int queue_and_flush(tio_loop *loop, tio__task *t)
{
    tio__move_from(t, NULL, &loop->queued);
    tio__flush(loop, TIO__SUBMIT_NOW);
    return 0;
}

/* After IDLE -> QUEUED: where the policy sends t (the file header). */
static TIO_INLINE int enqueued(tio_loop *loop, tio__task *t)
{
    if (nowait_pays(loop, t))
        return start_nowait(loop, t);
    if (++loop->queued_since_flush < loop->submit_batch || (loop->pending == 1 && loop->adaptive)) {
        tio__move_from(t, NULL, &loop->queued);
        return 0;
    }
    if (tio__list_empty(&loop->queued) && loop->timers.count == 0)
        return start_first(loop, t);
    return queue_and_flush(loop, t);
}

static TIO_NOINLINE int enqueue_stream(tio_loop *loop, tio__task *t, unsigned vec)
{
    tio__task_begin(loop, t, TIO__QUEUED, vec | TIO__TF_STREAM);
    t->done = 0;
    t->file->pending++;
    loop->queued_streams++;
    return enqueued(loop, t);
}

int tio__task_enqueue(tio_loop *loop, tio__task *t, unsigned vec)
{
    TIO_ASSERT(t->op == TIO__OP_READ || t->op == TIO__OP_WRITE || t->op == TIO__OP_FSYNC);
    TIO_ASSERT(vec == 0 || vec == TIO__TF_VEC);
    tio_file *f = t->file;
    if (TIO_UNLIKELY(f->is_stream))
        return enqueue_stream(loop, t, vec);
    tio__task_begin(loop, t, TIO__QUEUED, vec);
    t->done = 0;
    f->pending++;
    return enqueued(loop, t);
}

/* An engine operation: no stream (it counts under the file cap, where
 * a helper thread will run it), maybe no file (open, rename, unlink). */
void tio__task_enqueue_engine(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(t->op >= TIO__OP_FIRST_ENGINE);
    tio__task_begin(loop, t, TIO__QUEUED, 0);
    t->done = 0;
    if (t->file)
        t->file->pending++;
    tio__move_from(t, NULL, &loop->queued);
    if (++loop->queued_since_flush >= loop->submit_batch)
        tio__flush(loop, TIO__SUBMIT_NOW);
}

/* Timer bookkeeping of a finishing task (task.h keeps the common case, an
 * I/O without a deadline, free of it). */
void tio__finish_timers(tio_loop *loop, tio__task *t)
{
    if (t->flags & TIO__TF_DEADLINE)
        tio__deadline_clear(loop, t);
    if (t->op == TIO__OP_SLEEP) {
        TIO_ASSERT(loop->sleeping > 0);
        loop->sleeping--;
    }
}

/* Back to the queue, ahead of newer work: the rest of a short transfer, a
 * retry after a transient condition, or a start the backend had no room
 * for. A stream write gives up its file's write slot, and takes it again
 * first: no later write on the stream is ahead of it in the queue. */
void tio__task_requeue(tio__task *t)
{
    tio_loop *loop = t->loop;
    TIO_ASSERT(t->state == TIO__INFLIGHT && t->on == &loop->inflight);
    if (!(t->flags & TIO__TF_STREAM)) {
        TIO_ASSERT(loop->inflight_files > 0);
        loop->inflight_files--;
    } else if (t->op == TIO__OP_WRITE) {
        t->file->writing = false;
    }
    loop->queued_streams += (t->flags & TIO__TF_STREAM) != 0;
    loop->requeues++;
    t->state = TIO__QUEUED;
    tio__move_to(t, &loop->queued, true);
}

/* May t go to the OS now? File operations wait for room under the cap; a
 * stream write waits for the one before it on the same stream. */
static inline bool may_start(const tio_loop *loop, const tio__task *t)
{
    if (!(t->flags & TIO__TF_STREAM))
        return loop->inflight_files < loop->queue_depth;
    return t->op != TIO__OP_WRITE || !t->file->writing;
}

/* The batch's tasks from `first` on, after some start did not end
 * PENDING: synchronous outcomes delivered, and the tasks not started
 * (refused for room, or for a shortage) back to the head of the queue in
 * their submission order. False when any was not started (the rest waits
 * for the next run: retrying now would meet the same refusal). */
static TIO_COLD bool submit_rest(tio_loop *loop, tio__task **batch, unsigned first, unsigned n,
                                 unsigned taken, const uint8_t *out, const tio__sync *sync)
{
    bool back[TIO__BATCH];
    bool room = taken == n;
    for (unsigned i = first; i < n; i++) {
        back[i] = i >= taken;
        if (back[i])
            continue;
        TIO_ASSERT(out[i] <= TIO__FAILED);
        loop->starts[out[i]]++;
        if (out[i] != TIO__PENDING && !start_done(loop, batch[i], out[i], &sync[i]))
            back[i] = true;
    }
    if (taken < n)
        loop->starts[TIO__BUSY]++;
    for (unsigned i = n; i-- > first;) {
        if (back[i]) {
            tio__task_requeue(batch[i]);
            room = false;
        }
    }
    if (!room)
        loop->retry_starts = true;
    return room;
}

/* Hand one batch to the backend; false when it had no room for all. The
 * common case, every start PENDING, costs one pass over `out`. */
static TIO_INLINE bool submit_batch(tio_loop *loop, tio__task **batch, unsigned n, unsigned flags)
{
    uint8_t out[TIO__BATCH];
    tio__sync sync[TIO__BATCH];
    unsigned taken = loop->backend->submit(loop, batch, n, flags, out, sync);
    unsigned i = 0;
    TIO_ASSERT(taken <= n);
    /* PENDING is 0: eight outcomes at a time. */
    for (uint64_t w; i + 8 <= taken && (memcpy(&w, out + i, 8), w == 0);)
        i += 8;
    while (i < taken && out[i] == TIO__PENDING)
        i++;
    loop->starts[TIO__PENDING] += i;
    if (TIO_LIKELY(i == n))
        return true;
    return submit_rest(loop, batch, i, n, taken, out, sync);
}

/* The batch's tasks from the queue to the in-flight list, before the
 * backend sees them. When they are the head of the queue in order (the
 * common case: nothing skipped), one splice moves them all. */
static inline void move_batch(tio_loop *loop, tio__task **batch, unsigned n, bool prefix)
{
    if (prefix && n > 1) {
        tio__list_splice_tail(&loop->queued, &batch[0]->link, &batch[n - 1]->link, n,
                              &loop->inflight);
        for (unsigned i = 0; i < n; i++)
            batch[i]->on = &loop->inflight;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        tio__move_to(batch[i], &loop->inflight, false);
}

/* One pass over the queue, in submission order, in batches, as far as the
 * policy allows; false at the first refusal (the rest stays queued for the
 * next run). */
static inline bool flush_pass(tio_loop *loop, unsigned flags)
{
    tio__task *batch[TIO__BATCH];
    unsigned n = 0;
    bool prefix = true; /* the batch is the head of the queue, in order */
    tio__link *l = loop->queued.head.next;
    while (l != &loop->queued.head) {
        tio__task *t = tio__task_of(l);
        l = l->next;
        if (!take_plain(loop, t, 0)) {
            if (!may_start(loop, t)) {
                /* At the cap only streams can still go: skip files if any. */
                if (!(t->flags & TIO__TF_STREAM) && loop->queued_streams == 0)
                    break;
                prefix = false;
                continue;
            }
            if (!take(loop, t)) {
                prefix = false;
                continue;
            }
        }
        batch[n++] = t;
        if (n == TIO__BATCH) {
            move_batch(loop, batch, n, prefix);
            if (!submit_batch(loop, batch, n, flags))
                return false;
            n = 0;
            prefix = true;
            l = loop->queued.head.next; /* completions may have requeued work */
        }
    }
    if (n == 0)
        return true;
    move_batch(loop, batch, n, prefix);
    return submit_batch(loop, batch, n, flags);
}

/* The outcome of t's start alone (taken: 0 when the backend had no room):
 * false when it had none. */
static TIO_INLINE bool submitted_one(tio_loop *loop, tio__task *t, unsigned taken, uint8_t out,
                                     const tio__sync *sync)
{
    if (TIO_LIKELY(taken == 1 && out == TIO__PENDING)) {
        loop->starts[TIO__PENDING]++;
        return true;
    }
    return submit_rest(loop, &t, 0, 1, taken, &out, sync);
}

/* Hand t, taken and in flight, to the backend alone; false when it had
 * no room. */
static TIO_INLINE bool submit_one(tio_loop *loop, tio__task *t, unsigned flags)
{
    uint8_t out;
    tio__sync sync;
    unsigned taken = loop->backend->submit(loop, &t, 1, flags, &out, &sync);
    return submitted_one(loop, t, taken, out, &sync);
}

/* The one task of a queue, taken and in flight for its start (the pass's
 * decisions without the batch); false when it does not go (no room, or
 * one of the TIO__TF_ flags `refuse`) or needed no OS (done). */
static TIO_INLINE bool take_single(tio_loop *loop, tio__task *t, unsigned refuse)
{
    if (!take_plain(loop, t, refuse) &&
        ((t->flags & refuse) || !may_start(loop, t) || !take(loop, t)))
        return false;
    tio__move_from(t, &loop->queued, &loop->inflight);
    return true;
}

/* t's start, taken and in flight, and when it is PENDING the wait for
 * it (TIO_FOREVER), as the backend's submit and wait: what a backend's
 * submit_wait does in one call, for a backend without one. wait's
 * result; *out is set in every case (BUSY: the backend had no room). */
static int submit_then_wait(tio_loop *loop, tio__task *t, uint8_t *out, tio__sync *sync)
{
    if (loop->backend->submit(loop, &t, 1, 0, out, sync) != 1) {
        *out = TIO__BUSY;
        return 0;
    }
    return *out == TIO__PENDING ? loop->backend->wait(loop, TIO_FOREVER) : 0;
}

/* t's start handed to the backend alone and at once: what a backend's
 * submit_single does, for a backend without one. */
static int submit_alone(tio_loop *loop, tio__task *t)
{
    uint8_t out;
    tio__sync sync;
    if (loop->backend->submit(loop, &t, 1, TIO__SUBMIT_NOW, &out, &sync) != 1)
        out = TIO__BUSY;
    return tio__single_outcome(loop, t, out, &sync);
}

void tio__loop_set_backend(tio_loop *loop, const tio__backend *be)
{
    loop->backend = be;
    loop->submit_wait = be->submit_wait != NULL ? be->submit_wait : submit_then_wait;
    loop->submit_single = be->submit_single != NULL ? be->submit_single : submit_alone;
}

/* The pass for a queue of exactly one task, the common case of a loop
 * used one operation at a time. */
static TIO_INLINE bool flush_single(tio_loop *loop, tio__task *t, unsigned flags)
{
    return !take_single(loop, t, 0) || submit_one(loop, t, flags);
}

/* What every flush starts with: the starts counted towards submit_batch
 * and the last flush's refusals are behind it. */
static inline void flush_begin(tio_loop *loop)
{
    loop->queued_since_flush = 0;
    loop->retry_starts = false;
}

/* start_first's start, when it did not end PENDING (start_first counted
 * it PENDING): submit_one's outcome, and a start that completed at once
 * may be short and come back for its rest: handed over again, as the
 * flush would. */
TIO_COLD int tio__single_settled(tio_loop *loop, tio__task *t, uint8_t out, const tio__sync *sync)
{
    TIO_ASSERT(out != TIO__PENDING && t->state == TIO__INFLIGHT && loop->starts[TIO__PENDING] > 0);
    loop->starts[TIO__PENDING]--;
    uint32_t before = loop->requeues;
    if (submitted_one(loop, t, out != TIO__BUSY, out, sync) && loop->requeues != before)
        tio__flush(loop, TIO__SUBMIT_NOW);
    return 0;
}

/* start_first's start when it is not plain (a stream, a vector, no
 * bytes) or the cap is reached: the general rules, and the backend's
 * submit for one task. */
static TIO_NOINLINE int start_first_other(tio_loop *loop, tio__task *t)
{
    if (!may_start(loop, t)) {
        tio__move_from(t, NULL, &loop->queued);
        return 0;
    }
    if (!take(loop, t))
        return 0;
    tio__move_from(t, NULL, &loop->inflight);
    loop->starts[TIO__PENDING]++;
    return submit_alone(loop, t);
}

/* The starting call's flush when t, not queued yet, would be the whole
 * queue and no deadline is armed (the eager hand-over: submit_batch 1, or
 * the adaptive policy's learned mode): the flush's one-task pass, without
 * the queue. */
static TIO_NOINLINE int start_first(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(t->state == TIO__QUEUED && t->on == NULL && tio__list_empty(&loop->queued));
    flush_begin(loop);
    if (!take_plain(loop, t, 0))
        return start_first_other(loop, t);
    tio__move_from(t, NULL, &loop->inflight);
    /* Counted before the call, which then ends this path (no frame):
     * tio__single_settled takes it back for any other outcome. */
    loop->starts[TIO__PENDING]++;
    return loop->submit_single(loop, t);
}

/* Hand queued work to the backend. A start that completes at once may be
 * short and come back to the head of the queue for its rest, behind the
 * pass: passes repeat until none puts work back, so that nothing startable
 * is left queued while the run then waits (maybe for ever). */
void tio__flush(tio_loop *loop, unsigned flags)
{
    flush_begin(loop);
    /* Deadlines that have passed fire first, whoever flushes (a run, or a
     * starting call under submit_batch): such a task never reaches the OS
     * (semantic 16). */
    tio__timers_expire(loop);
    uint32_t before = loop->requeues;
    tio__link *first = loop->queued.head.next;
    bool room = first->next == &loop->queued.head && first != &loop->queued.head
                    ? flush_single(loop, tio__task_of(first), flags)
                    : flush_pass(loop, flags);
    while (room && loop->requeues != before) {
        before = loop->requeues;
        room = flush_pass(loop, flags);
    }
}

/* The default policy's hand-over between callbacks: while a run's
 * callbacks still run, what they started goes to the OS as soon as the OS
 * has nothing else to do (no file operation in flight: the device would
 * idle until the run ends), or TIO__HANDOVER_BATCH of them are waiting
 * (the device is busy, but a run reaping a deep queue would otherwise
 * refill it only at its end). Otherwise the run's next wait carries them,
 * in the system call that waits. Not after the last callback of a run:
 * that wait comes at once. */
#define TIO__HANDOVER_BATCH 16u
static inline bool handover_due(const tio_loop *loop)
{
    return (loop->inflight_files == 0 || loop->queued_since_flush >= TIO__HANDOVER_BATCH) &&
           !tio__list_empty(&loop->done) && loop->adaptive && !tio__list_empty(&loop->queued);
}

/* t, DONE and on no list, is the caller's again: its callback. */
static TIO_INLINE void hand_back(tio_loop *loop, tio__task *t)
{
    tio_task *task = tio__pub(t);
    tio_cb cb = t->cb;
    TIO_ASSERT(t->state == TIO__DONE && t->on == NULL && !(t->flags & TIO__TF_DEADLINE));
    TIO_ASSERT(loop->pending > 0);
    if (t->file) {
        TIO_ASSERT(t->file->pending > 0);
        t->file->pending--;
    }
    loop->pending--;
    /* A cancel keyed to the old generation can no longer match it. */
    t->gen++;
    t->state = TIO__IDLE;
    loop->in_callback = true;
    cb(task, task->result);
    loop->in_callback = false;
}

/* The callback of t, the oldest completion. */
static TIO_INLINE void run_callback(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(loop->done.head.next == &t->link);
    tio__move_from(t, &loop->done, NULL);
    if (loop->wait_task == t && loop->wait_gen == t->gen) {
        loop->wait_done = true;
        loop->wait_result = tio__pub(t)->result;
    }
    hand_back(loop, t);
}

/* Callbacks run: the adaptive policy's measure (adapt.c). Counted under
 * every policy, one test less per run; only the adaptive one reads the
 * clock at the end of an epoch. */
static TIO_NOINLINE void epoch_end(tio_loop *loop)
{
    if (loop->adaptive)
        tio__adapt_epoch(loop, tio__now_ns());
    else
        loop->adapt.ops = 0;
}

static TIO_INLINE void count_callbacks(tio_loop *loop, unsigned ran)
{
    if ((loop->adapt.ops += ran) >= TIO__ADAPT_EPOCH)
        epoch_end(loop);
}

/* Run at most loop->budget callbacks, oldest completion first. */
unsigned tio__run_callbacks(tio_loop *loop)
{
    unsigned ran = 0;
    while (ran < loop->budget && !tio__list_empty(&loop->done)) {
        run_callback(loop, tio__task_of(loop->done.head.next));
        ran++;
        if (handover_due(loop) && ran < loop->budget)
            tio__flush(loop, TIO__SUBMIT_NOW);
    }
    count_callbacks(loop, ran);
    return ran;
}

/* The run of a loop whose only task, t, is done: its callback, nothing
 * to wait for or hand over. Its result, as tio_wait returns it. */
int64_t tio__run_alone(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(loop->pending == 1 && t->state == TIO__DONE);
    int64_t result = tio__pub(t)->result;
    run_callback(loop, t);
    count_callbacks(loop, 1);
    return result;
}

/* tio_wait(TIO_FOREVER) on the loop's only task, queued, an I/O without
 * a deadline (loop.c checks): done on this thread in one blocking system
 * call, and where that settled it, its callback, as the run would. A
 * transfer done whole skips loop->done on the way (nothing else is
 * pending, so nothing can be there before it): a synchronous caller's
 * operation costs its system call and little more. True with tio_wait's
 * result; false when t is left to the runs (put back on the queue). */
bool tio__wait_alone(tio_loop *loop, tio__task *t, int64_t *result)
{
    TIO_ASSERT(loop->pending == 1 && loop->wait_task == NULL);
    if (!start_alone(loop, t, &loop->queued, TIO__NOW_BLOCKING, NULL) || t->state != TIO__DONE)
        return false;
    if (TIO_LIKELY(t->on == NULL)) {
        *result = tio__pub(t)->result;
        hand_back(loop, t);
        count_callbacks(loop, 1);
        return true;
    }
    *result = tio__run_alone(loop, t);
    return true;
}

/* The lone run's start that was not PENDING: t is QUEUED again (the
 * general run goes on) or DONE (its callback follows), as after a wait. */
static TIO_NOINLINE void lone_not_pending(tio_loop *loop, tio__task *t, uint8_t out,
                                          const tio__sync *sync)
{
    submitted_one(loop, t, out != TIO__BUSY, out, sync);
}

/* The lone run after its callback, when a start from the callback
 * completed at once (the starting call's fast path): delivered by this
 * run too, as by the general one; nothing else can be due, nor queued
 * beside it. The callbacks run. */
static TIO_NOINLINE int lone_more(tio_loop *loop)
{
    unsigned ran = 1;
    while (ran < loop->budget && !tio__list_empty(&loop->done)) {
        run_callback(loop, tio__task_of(loop->done.head.next));
        ran++;
    }
    count_callbacks(loop, ran);
    return (int)ran;
}

/* tio_run(TIO_FOREVER) when the loop has one task (an engine that keeps
 * one operation going from its callback): where the task is queued, its
 * start, one wait and its callback, without the general run's
 * bookkeeping (no batch, no deadline, nothing else to hand over between
 * callbacks). tio_run's result: the callbacks run, or a failed wait's
 * error. The general run's instead where the task is not queued, has a
 * deadline (its timer is the general run's), or its start was refused or
 * put back, or the wait ended without its completion (a signal, a stream
 * not ready, a transfer continued): going on from where this left the
 * task. Called in tail position, so that the common case returns to the
 * caller of tio_run directly. */
int tio__run_lone(tio_loop *loop)
{
    TIO_ASSERT(loop->pending == 1);
    tio__link *first = loop->queued.head.next;
    if (first == &loop->queued.head) /* in flight or done */
        return tio__run_general(loop, TIO_FOREVER);
    tio__task *t = tio__task_of(first);
    /* Alone, t is the only task a timer can be armed for. */
    TIO_ASSERT(t->on == &loop->queued);
    TIO_ASSERT(loop->timers.count == ((t->flags & TIO__TF_DEADLINE) ? 1u : 0u));
    flush_begin(loop);
    if (!take_single(loop, t, TIO__TF_DEADLINE))
        return tio__run_general(loop, TIO_FOREVER);
    uint8_t out;
    tio__sync sync;
    int rc = loop->submit_wait(loop, t, &out, &sync);
    if (TIO_LIKELY(out == TIO__PENDING))
        loop->starts[TIO__PENDING]++;
    else
        lone_not_pending(loop, t, out, &sync);
    if (rc < 0)
        return rc;
    if (t->state != TIO__DONE)
        return rc == TIO__WOKEN ? 0 : tio__run_general(loop, TIO_FOREVER);
    TIO_ASSERT(loop->done.head.next == &t->link);
    run_callback(loop, t);
    if (TIO_UNLIKELY(!tio__list_empty(&loop->done)))
        return lone_more(loop);
    count_callbacks(loop, 1);
    return 1;
}
