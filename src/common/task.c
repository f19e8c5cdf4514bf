/*
 * The task state machine (DESIGN semantics 1 and 2).
 *
 *   IDLE --submit--> QUEUED --backend start--> INFLIGHT --finish--> DONE --callback--> IDLE
 *                      |  start COMPLETED/FAILED --------------------^
 *                      +--cancel-------------------------------------^
 *
 * A synchronous outcome of a start (COMPLETED or FAILED) is queued on
 * loop->done exactly like a completion from the OS, so the user sees one
 * path and one callback budget. Callbacks run only from run_callbacks,
 * which no submitting call reaches.
 */
#include "common/internal.h"

/* ------------------------------------------------------------ transitions */

/* Hand one task to the backend: false if the backend has no room (BUSY)
 * and the task must stay queued. The three-way outcome becomes a state:
 * PENDING is INFLIGHT until the OS reports; COMPLETED and FAILED are DONE
 * now, delivered by the next run like any completion. */
static bool start_one(tio_loop *loop, tio__task *t)
{
    int64_t result = 0;
    int os_error = 0;
    TIO_ASSERT(t->state == TIO__QUEUED);
    /* A zero-length transfer moves nothing, and on a pipe the OS would
     * wait for data first (ppoll, Windows' 0-byte ReadFile): done. */
    int outcome = t->len == 0 && t->op != TIO__OP_FSYNC
                      ? TIO__COMPLETED
                      : loop->backend->start(loop, t, &result, &os_error);
    TIO_ASSERT(outcome >= TIO__PENDING && outcome <= TIO__BUSY);
    loop->starts[(unsigned)outcome & 3u]++;
    if (outcome == TIO__BUSY)
        return false;
    t->state = TIO__INFLIGHT;
    tio__move_to(t, &loop->inflight, false);
    if (outcome == TIO__COMPLETED) {
        TIO_ASSERT(result >= 0);
        tio__task_finish(t, result, 0);
    } else if (outcome == TIO__FAILED) {
        TIO_ASSERT(result < 0);
        tio__task_finish(t, result, os_error);
    }
    return true;
}

void tio__task_enqueue(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(t->op == TIO__OP_READ || t->op == TIO__OP_WRITE || t->op == TIO__OP_FSYNC);
    tio__task_begin(loop, t, TIO__QUEUED);
    t->file->pending++;
    /* Where starting only stages the work (io_uring: an SQE, submitted by
     * the next run's enter, and taken back if cancelled before), or under
     * submit_batch, skip the queue unless older tasks wait there: order is
     * kept either way. Not for zero-length transfers, which start_one
     * completes at once: until the next run they must stay cancellable like
     * any queued task. */
    if (loop->start_in_submit && tio__list_empty(&loop->queued) &&
        (t->len != 0 || t->op == TIO__OP_FSYNC) && start_one(loop, t))
        return;
    tio__move_to(t, &loop->queued, false);
}

/* Record the outcome and queue the callback. Called for OS completions,
 * synchronous start outcomes, cancels of queued tasks and expired sleeps. */
/* Timer bookkeeping of a finishing task (task.h keeps the common case, an
 * I/O without a deadline, free of it). */
void tio__finish_timers(tio_loop *loop, tio__task *t)
{
    if (t->has_deadline)
        tio__deadline_clear(loop, t);
    if (t->op == TIO__OP_SLEEP) {
        TIO_ASSERT(loop->sleeping > 0);
        loop->sleeping--;
    }
}

/* A transient condition (io_uring -EAGAIN CQE, EINTR): start it again on the
 * next run, unless the user asked to cancel meanwhile. */
void tio__task_requeue(tio__task *t)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && t->on == &t->loop->inflight);
    if (t->cancel_requested) {
        tio__task_finish(t, TIO_ECANCELED, 0);
        return;
    }
    t->state = TIO__QUEUED;
    tio__move_to(t, &t->loop->queued, true);
}

/* Hand queued tasks to the backend in submission order until it reports
 * BUSY (no submission slot: the rest stay queued for the next run). */
int tio__start_queued(tio_loop *loop)
{
    int started = 0;
    while (!tio__list_empty(&loop->queued) &&
           start_one(loop, tio__task_of(loop->queued.head.next)))
        started++;
    return started;
}

/* Run at most loop->budget callbacks, oldest completion first. */
unsigned tio__run_callbacks(tio_loop *loop)
{
    unsigned ran = 0;
    while (ran < loop->budget && !tio__list_empty(&loop->done)) {
        tio__task *t = tio__task_of(loop->done.head.next);
        tio_task *task = tio__pub(t);
        tio_cb cb = t->cb;
        TIO_ASSERT(t->state == TIO__DONE && !t->has_deadline);
        TIO_ASSERT(loop->pending > 0);
        tio__move_to(t, NULL, false);
        if (t->file) {
            TIO_ASSERT(t->file->pending > 0);
            t->file->pending--;
        }
        loop->pending--;
        if (loop->wait_task == t && loop->wait_gen == t->gen) {
            loop->wait_done = true;
            loop->wait_result = task->result;
        }
        /* From here the task is the caller's again: a cancel keyed to the
         * old generation can no longer match it. */
        t->gen++;
        t->state = TIO__IDLE;
        t->cancel_requested = 0;
        t->timed_out = 0;
        loop->in_callback = true;
        cb(task, task->result);
        loop->in_callback = false;
        ran++;
    }
    return ran;
}
