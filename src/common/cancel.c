/* SPDX-License-Identifier: MIT */
/*
 * Cancellation, deadlines and sleeps (DESIGN semantics 5, 7, 9).
 *
 * The rules, once for every backend:
 *  - a task not yet handed to the OS (QUEUED) completes with TIO_ECANCELED
 *    (or TIO_ETIMEDOUT) without the OS ever seeing it;
 *  - an INFLIGHT task is marked and the backend asked to stop it; its one
 *    completion still comes from the OS, with TIO_ECANCELED if the OS
 *    stopped it or its real result if the OS had already finished;
 *  - a DONE task already has its result; nothing changes;
 *  - a deadline is a cancel whose result reads TIO_ETIMEDOUT.
 * Stale cancels cannot hit a later use: the request acts only on the task's
 * current state, and backends key OS-side cancels by the task's generation.
 */
#include "common/internal.h"

void tio__deadline_set(tio_loop *loop, tio__task *t, int64_t deadline_ns)
{
    if (t->flags & TIO__TF_DEADLINE)
        tio__heap_remove(&loop->timers, &t->timer);
    t->deadline_ns = deadline_ns;
    t->timer_seq = loop->timer_seq++;
    t->flags |= TIO__TF_DEADLINE;
    tio__heap_insert(&loop->timers, &t->timer);
}

void tio__deadline_clear(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(t->flags & TIO__TF_DEADLINE);
    tio__heap_remove(&loop->timers, &t->timer);
    t->flags &= (uint8_t)~TIO__TF_DEADLINE;
}

int64_t tio__deadline_after(int64_t now_ns, uint64_t ns)
{
    if (ns > (uint64_t)(INT64_MAX - now_ns))
        return INT64_MAX;
    return now_ns + (int64_t)ns;
}

void tio__task_cancel(tio_loop *loop, tio__task *t, bool timed_out)
{
    switch (t->state) {
    case TIO__QUEUED:
        /* Never reached the OS, or only its earlier legs did. */
        if (timed_out)
            t->flags |= TIO__TF_TIMED_OUT;
        tio__task_finish_cancelled(t);
        break;
    case TIO__INFLIGHT:
        if (t->op == TIO__OP_SLEEP) {
            tio__task_finish(t, TIO_ECANCELED, 0);
        } else if (!(t->flags & TIO__TF_CANCEL)) {
            t->flags |= TIO__TF_CANCEL | (timed_out ? TIO__TF_TIMED_OUT : 0);
            if (t->flags & TIO__TF_DEADLINE)
                tio__deadline_clear(loop, t); /* one cancel is enough */
            loop->backend->cancel(loop, t);
        }
        break;
    case TIO__DONE: break; /* the result is in; the callback reports it */
    default: TIO_ASSERT(!"cancel of an idle task");
    }
}

/* Fire every deadline that has passed: sleeps complete with 0, other tasks
 * are cancelled with TIO_ETIMEDOUT as their reason. (tio__timers_expire,
 * inline, calls this only when a deadline exists.) */
void tio__timers_expire_armed(tio_loop *loop)
{
    loop->now_ns = tio__now_ns();
    tio__heap_node *n;
    while ((n = tio__heap_min(&loop->timers)) != NULL) {
        tio__task *t = TIO_CONTAINER_OF(n, tio__task, timer);
        if (t->deadline_ns > loop->now_ns)
            break;
        tio__deadline_clear(loop, t);
        if (t->op == TIO__OP_SLEEP)
            tio__task_finish(t, 0, 0);
        else
            tio__task_cancel(loop, t, true);
    }
}

/* How long the backend may wait: no longer than the caller allows nor than
 * the next deadline. */
int64_t tio__timers_next_ns(tio_loop *loop, int64_t timeout_ns)
{
    tio__heap_node *n = tio__heap_min(&loop->timers);
    if (n == NULL)
        return timeout_ns;
    int64_t until = TIO_CONTAINER_OF(n, tio__task, timer)->deadline_ns - loop->now_ns;
    if (until < 0)
        until = 0;
    if (timeout_ns < 0 || until < timeout_ns)
        return until;
    return timeout_ns;
}

/* ----------------------------------------------------------- public calls */

/* The pending task behind `task` for a call on `loop`, or NULL with *rc
 * set: TIO_EINVAL (NULL, another loop's task) or TIO_ENOENT (idle). */
static tio__task *pending_task(tio_loop *loop, tio_task *task, const char *call, int *rc)
{
    *rc = TIO_EINVAL;
    if (loop == NULL || task == NULL)
        return NULL;
    TIO_ASSERT_OWNER(loop);
    tio__task *t = tio__priv(task);
    if (t->state == TIO__IDLE) {
        *rc = TIO_ENOENT;
        return NULL;
    }
    if (t->loop != loop) {
        *rc = tio__fail(loop, TIO_EINVAL, "%s: the task is pending on another loop", call);
        return NULL;
    }
    return t;
}

int tio_cancel(tio_loop *loop, tio_task *task)
{
    int rc;
    tio__task *t = pending_task(loop, task, "tio_cancel", &rc);
    if (t == NULL)
        return rc;
    tio__task_cancel(loop, t, false);
    return 0;
}

int tio_cancel_file(tio_loop *loop, tio_file *file)
{
    if (loop == NULL || file == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (!tio__file_is_open(file))
        return tio__fail(loop, TIO_EBADF, "tio_cancel_file: the file is closed");
    if (file->loop != loop)
        return tio__fail(loop, TIO_EINVAL, "tio_cancel_file: the file belongs to another loop");
    int count = (int)file->pending;
    /* Task by task, never by descriptor: another tio_file may wrap the same
     * descriptor (or a dup of it), and its tasks are not this call's.
     * Queued tasks never reach the OS. A backend may finish a cancelled
     * task at once, moving it off the list: keep the next link. */
    tio__list *lists[2] = {&loop->queued, &loop->inflight};
    for (int i = 0; i < 2; i++) {
        for (tio__link *l = lists[i]->head.next, *next; l != &lists[i]->head; l = next) {
            next = l->next;
            tio__task *t = tio__task_of(l);
            if (t->file == file)
                tio__task_cancel(loop, t, false);
        }
    }
    return count;
}

int tio_timeout(tio_loop *loop, tio_task *task, uint64_t ns)
{
    int rc;
    tio__task *t = pending_task(loop, task, "tio_timeout", &rc);
    if (t == NULL)
        return rc;
    if (t->op == TIO__OP_SLEEP)
        return tio__fail(loop, TIO_EINVAL, "tio_timeout: a sleep task is a timer already");
    if (t->state == TIO__DONE || (t->flags & TIO__TF_CANCEL))
        return 0; /* its result is in, or a cancel is on its way */
    tio__deadline_set(loop, t, tio__deadline_after(tio__now_ns(), ns));
    return 0;
}

int tio_sleep(tio_loop *loop, tio_task *task, uint64_t ns, tio_cb cb)
{
    if (loop == NULL || task == NULL || cb == NULL)
        return loop ? tio__fail(loop, TIO_EINVAL, "tio_sleep: NULL task or callback") : TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    tio__task *t = tio__priv(task);
    if (t->state != TIO__IDLE)
        return tio__fail(loop, TIO_EBUSY, "tio_sleep: the task is already pending");
    if (loop->destroying)
        return tio__fail(loop, TIO_ECANCELED, "tio_sleep: the loop is being destroyed");
    t->file = NULL;
    t->cb = cb;
    t->buf = NULL;
    t->len = 0;
    t->offset = 0;
    t->op = TIO__OP_SLEEP;
    t->done = 0;
    tio__task_begin(loop, t, TIO__INFLIGHT, 0); /* a timer: in the heap, on no list */
    loop->sleeping++;
    tio__deadline_set(loop, t, tio__deadline_after(tio__now_ns(), ns));
    return 0;
}
