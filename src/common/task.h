/* SPDX-License-Identifier: MIT */
/*
 * The task state machine's two hottest steps, inline because every
 * operation takes them and backends call them per completion: moving a
 * task between the loop's lists, and finishing it (-> DONE). The rest of
 * the machine is in task.c.
 */
#ifndef TIO_TASK_H
#define TIO_TASK_H

/* Move t from list `from`, the one it is on, to the back of `to` (either
 * NULL: no list). Where the caller names a list, the tests fold away: the
 * hot steps move a task between lists they know. */
static inline void tio__move_from(tio__task *t, tio__list *from, tio__list *to)
{
    TIO_ASSERT(t->on == from);
    if (from)
        tio__list_remove(from, &t->link);
    t->on = to;
    if (to)
        tio__list_push_back(to, &t->link);
}

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

/* IDLE -> `state` for a new use of t, with only the given TIO__TF_ flags
 * (STREAM, VEC). */
static inline void tio__task_begin(tio_loop *loop, tio__task *t, uint8_t state, unsigned flags)
{
    TIO_ASSERT(t->state == TIO__IDLE && t->on == NULL);
    TIO_ASSERT((flags & ~(unsigned)(TIO__TF_STREAM | TIO__TF_VEC)) == 0);
    t->loop = loop;
    t->state = state;
    t->flags = (uint8_t)flags;
    t->os_error = 0;
    loop->pending++;
}

/* -> DONE with its result, from list `from` (the one t is on) to list
 * `to` (NULL: none, its callback run by the caller at once). */
static inline void tio__task_done_to(tio__task *t, tio__list *from, tio__list *to, int64_t result,
                                     int os_error)
{
    t->os_error = os_error;
    tio__pub(t)->result = result;
    t->state = TIO__DONE;
    tio__move_from(t, from, to);
}

/* -> DONE with its result, from list `from` to loop->done for the next
 * callback run. */
static inline void tio__task_done(tio__task *t, tio__list *from, int64_t result, int os_error)
{
    tio__task_done_to(t, from, &t->loop->done, result, os_error);
}

/* Record the result and queue the callback: the end of every pending task
 * (normalised OS outcomes, cancels of queued tasks, expired sleeps). A
 * cancelled or timed-out result carries no OS error: the library decided it
 * (DESIGN 12), whether or not the OS saw the task. */
static inline void tio__task_finish(tio__task *t, int64_t result, int os_error)
{
    tio_loop *loop = t->loop;
    TIO_ASSERT(t->state == TIO__QUEUED || t->state == TIO__INFLIGHT);
    TIO_ASSERT(result >= 0 || (result >= TIO_ENOTDIR && result <= TIO_EINVAL));
    if ((t->flags & TIO__TF_DEADLINE) || t->op == TIO__OP_SLEEP)
        tio__finish_timers(loop, t);
    if (t->state == TIO__INFLIGHT && t->op != TIO__OP_SLEEP) {
        if (!(t->flags & TIO__TF_STREAM)) {
            TIO_ASSERT(loop->inflight_files > 0);
            loop->inflight_files--;
        } else if (t->op == TIO__OP_WRITE) {
            t->file->writing = false;
        }
    }
    if (t->state == TIO__QUEUED && (t->flags & TIO__TF_STREAM)) {
        TIO_ASSERT(loop->queued_streams > 0);
        loop->queued_streams--;
    }
    if (t->op >= TIO__OP_FIRST_ENGINE)
        tio__engine_settle(t, &result);
    tio__task_done(t, t->on, result,
                   result < 0 && result != TIO_ECANCELED && result != TIO_ETIMEDOUT ? os_error : 0);
}

/* What a backend calls for each completion of a PENDING task: bytes when
 * os_error is 0, else the raw OS error. The common case, the whole transfer
 * done in one go, is finished here; anything else (short transfers, errors,
 * cancels, retries) goes through outcome.c. */
#if defined(TIO_FAULTS) && TIO_FAULTS
bool tio__faults_complete(tio__task *t, int64_t *bytes, int *os_error);
#endif

/* A file operation done whole in one go, with nothing else to settle (no
 * deadline to clear, no earlier part, not a stream): DONE at once. */
static inline bool tio__done_whole(const tio__task *t, int64_t bytes, int os_error)
{
    return os_error == 0 && bytes == (int64_t)t->len && (t->done | t->flags) == 0;
}

static inline void tio__task_complete(tio__task *t, int64_t bytes, int os_error)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && t->op < TIO__OP_FIRST_ENGINE);
#if defined(TIO_FAULTS) && TIO_FAULTS
    if (t->loop->faults != NULL && !tio__faults_complete(t, &bytes, &os_error))
        return;
#endif
    if (tio__done_whole(t, bytes, os_error)) {
        tio_loop *loop = t->loop;
        TIO_ASSERT(!t->file->is_stream && t->op != TIO__OP_SLEEP && loop->inflight_files > 0);
        loop->inflight_files--;
        tio__task_done(t, &loop->inflight, bytes, 0);
        return;
    }
    tio__task_complete_slow(t, bytes, os_error);
}

#endif
