/*
 * The task state machine's two hottest steps, inline because every
 * operation takes them and backends call them per completion: moving a
 * task between the loop's lists, and finishing it (-> DONE). The rest of
 * the machine is in task.c.
 */
#ifndef TIO_TASK_H
#define TIO_TASK_H

/* Move t to list `to` (NULL: no list), from whichever it is on. */
static inline void tio__move_to(tio__task *t, tio__list *to, bool front)
{
    if (t->on)
        tio__list_remove(t->on, &t->link);
    t->on = to;
    if (to == NULL)
        return;
    if (front)
        tio__list_push_front(to, &t->link);
    else
        tio__list_push_back(to, &t->link);
}

void tio__finish_timers(tio_loop *loop, tio__task *t);

/* IDLE -> `state` for a new use of t: its per-use flags start clear. */
static inline void tio__task_begin(tio_loop *loop, tio__task *t, uint8_t state)
{
    TIO_ASSERT(t->state == TIO__IDLE && t->on == NULL);
    t->loop = loop;
    t->state = state;
    t->cancel_requested = 0;
    t->timed_out = 0;
    t->has_deadline = 0;
    t->os_error = 0;
    loop->pending++;
}

/* Record the outcome and queue the callback. Called for OS completions,
 * synchronous start outcomes, cancels of queued tasks and expired sleeps. */
static inline void tio__task_finish(tio__task *t, int64_t result, int os_error)
{
    tio_loop *loop = t->loop;
    TIO_ASSERT(t->state == TIO__QUEUED || t->state == TIO__INFLIGHT);
    TIO_ASSERT(result >= 0 || (result >= TIO_EOTHER && result <= TIO_EINVAL));
    /* A cancel that the OS honoured reports why it was asked for. */
    if (result == TIO_ECANCELED && t->timed_out)
        result = TIO_ETIMEDOUT;
    if (t->has_deadline | (t->op == TIO__OP_SLEEP))
        tio__finish_timers(loop, t);
    t->os_error = result < 0 ? os_error : 0;
    tio__pub(t)->result = result;
    t->state = TIO__DONE;
    tio__move_to(t, &loop->done, false);
}

#endif
