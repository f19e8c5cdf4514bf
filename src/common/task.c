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

/* ------------------------------------------------------------------ lists */

void tio__list_init(tio__list *l)
{
    l->head.next = l->head.prev = &l->head;
    l->count = 0;
}

void tio__list_push_back(tio__list *l, tio__link *n)
{
    TIO_ASSERT(n->next == NULL && n->prev == NULL);
    n->prev = l->head.prev;
    n->next = &l->head;
    l->head.prev->next = n;
    l->head.prev = n;
    l->count++;
}

void tio__list_push_front(tio__list *l, tio__link *n)
{
    TIO_ASSERT(n->next == NULL && n->prev == NULL);
    n->next = l->head.next;
    n->prev = &l->head;
    l->head.next->prev = n;
    l->head.next = n;
    l->count++;
}

void tio__list_remove(tio__list *l, tio__link *n)
{
    TIO_ASSERT(l->count > 0 && n->next != NULL && n->prev != NULL);
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = NULL;
    l->count--;
}

static tio__list *list_of(tio_loop *loop, unsigned which)
{
    switch (which) {
    case TIO__LIST_QUEUED: return &loop->queued;
    case TIO__LIST_INFLIGHT: return &loop->inflight;
    case TIO__LIST_DONE: return &loop->done;
    default: return NULL;
    }
}

static void move_to(tio__task *t, unsigned which, bool front)
{
    tio_loop *loop = t->loop;
    tio__list *from = list_of(loop, t->list);
    tio__list *to = list_of(loop, which);
    if (from)
        tio__list_remove(from, &t->link);
    t->list = (uint8_t)which;
    if (to) {
        if (front)
            tio__list_push_front(to, &t->link);
        else
            tio__list_push_back(to, &t->link);
    }
}

/* ------------------------------------------------------------ transitions */

void tio__task_enqueue(tio_loop *loop, tio__task *t)
{
    TIO_ASSERT(t->state == TIO__IDLE && t->list == TIO__LIST_NONE);
    TIO_ASSERT(t->op == TIO__OP_READ || t->op == TIO__OP_WRITE || t->op == TIO__OP_FSYNC);
    t->loop = loop;
    t->state = TIO__QUEUED;
    t->cancel_requested = 0;
    t->timed_out = 0;
    t->has_deadline = 0;
    t->os_error = 0;
    move_to(t, TIO__LIST_QUEUED, false);
    loop->pending++;
    t->file->pending++;
}

/* Record the outcome and queue the callback. Called for OS completions,
 * synchronous start outcomes, cancels of queued tasks and expired sleeps. */
void tio__task_finish(tio__task *t, int64_t result, int os_error)
{
    tio_loop *loop = t->loop;
    TIO_ASSERT(t->state == TIO__QUEUED || t->state == TIO__INFLIGHT);
    TIO_ASSERT(result >= 0 || (result >= TIO_EOTHER && result <= TIO_EINVAL));
    /* A cancel that the OS honoured reports why it was asked for. */
    if (result == TIO_ECANCELED && t->timed_out)
        result = TIO_ETIMEDOUT;
    if (t->has_deadline)
        tio__deadline_clear(loop, t);
    if (t->op == TIO__OP_SLEEP) {
        TIO_ASSERT(loop->sleeping > 0);
        loop->sleeping--;
    }
    t->os_error = result < 0 ? os_error : 0;
    tio__pub(t)->result = result;
    t->state = TIO__DONE;
    move_to(t, TIO__LIST_DONE, false);
}

/* A transient condition (io_uring -EAGAIN CQE, EINTR): start it again on the
 * next run, unless the user asked to cancel meanwhile. */
void tio__task_requeue(tio__task *t)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT && t->list == TIO__LIST_INFLIGHT);
    if (t->cancel_requested) {
        tio__task_finish(t, TIO_ECANCELED, 0);
        return;
    }
    t->state = TIO__QUEUED;
    move_to(t, TIO__LIST_QUEUED, true);
}

/* Hand queued tasks to the backend in submission order until it reports
 * BUSY (no submission slot: the rest stay queued for the next run). */
int tio__start_queued(tio_loop *loop)
{
    int started = 0;
    while (!tio__list_empty(&loop->queued)) {
        tio__task *t = tio__task_of(loop->queued.head.next);
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
            break;
        t->state = TIO__INFLIGHT;
        move_to(t, TIO__LIST_INFLIGHT, false);
        switch (outcome) {
        case TIO__PENDING:
            break;
        case TIO__COMPLETED:
            TIO_ASSERT(result >= 0);
            tio__task_finish(t, result, 0);
            break;
        case TIO__FAILED:
            TIO_ASSERT(result < 0);
            tio__task_finish(t, result, os_error);
            break;
        default:
            TIO_ASSERT(!"backend start returned an unknown outcome");
        }
        started++;
    }
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
        move_to(t, TIO__LIST_NONE, false);
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
