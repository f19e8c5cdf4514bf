/* SPDX-License-Identifier: MIT */
/*
 * The loop: one run = start queued work, wait (bounded by the caller's
 * timeout and the next deadline), fire deadlines, run callbacks within the
 * budget. tio_drain, tio_wait and tio_loop_destroy are built on it.
 */
#include "common/faults.h"
#include "common/internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIO_DEFAULT_QUEUE_DEPTH 256u
#define TIO_MAX_QUEUE_DEPTH 32768u /* io_uring's IORING_MAX_ENTRIES */
#define TIO_MAX_THREADS 1024u      /* threads backend workers */
#define TIO_RETRY_NS 1000000       /* retry a start refused for room: 1 ms */

int tio__loop_create_with(tio_loop **out, const tio_loop_config *cfg, const tio__backend *be)
{
    if (out == NULL)
        return TIO_EINVAL;
    *out = NULL;
    tio_loop_config c;
    memset(&c, 0, sizeof c);
    if (cfg)
        c = *cfg;
    if (c.queue_depth == 0)
        c.queue_depth = TIO_DEFAULT_QUEUE_DEPTH;
    char why[TIO__ERRMSG_SIZE];
    if (c.queue_depth > TIO_MAX_QUEUE_DEPTH) {
        snprintf(why, sizeof why, "tio_loop_create: queue_depth %u exceeds %u", c.queue_depth,
                 TIO_MAX_QUEUE_DEPTH);
        tio__create_error_set(why);
        return TIO_EINVAL;
    }
    if (c.submit_batch > c.queue_depth && c.submit_batch != TIO_SUBMIT_IN_RUN) {
        snprintf(why, sizeof why, "tio_loop_create: submit_batch %u exceeds queue_depth %u",
                 c.submit_batch, c.queue_depth);
        tio__create_error_set(why);
        return TIO_EINVAL;
    }
    if (c.threads > TIO_MAX_THREADS) {
        snprintf(why, sizeof why, "tio_loop_create: threads %u exceeds %u", c.threads,
                 TIO_MAX_THREADS);
        tio__create_error_set(why);
        return TIO_EINVAL;
    }
    tio_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        tio__create_error_set("tio_loop_create: out of memory");
        return TIO_ENOMEM;
    }
    tio__list_init(&loop->queued);
    tio__list_init(&loop->inflight);
    tio__list_init(&loop->done);
    loop->queue_depth = c.queue_depth;
    loop->budget = c.queue_depth;
    loop->adaptive = c.submit_batch == 0;
    loop->submit_batch = c.submit_batch == 0 || c.submit_batch == TIO_SUBMIT_IN_RUN
                             ? UINT_MAX
                             : c.submit_batch;
    loop->now_ns = tio__now_ns();
    loop->owner = tio__thread_id();
    int rc;
    if (be) {
        tio__loop_set_backend(loop, be);
        rc = be->create(loop, &c);
    } else {
        rc = tio__backend_select(loop, &c);
    }
    if (rc != 0) {
        /* No loop survives to carry the reason: keep it per thread for
         * tio_last_error(NULL). */
        tio__create_error_set(loop->errmsg);
        free(loop);
        return rc;
    }
    loop->errmsg[0] = '\0'; /* selection notes are not failures of this loop */
    *out = loop;
    return 0;
}

int tio_loop_create(tio_loop **out, const tio_loop_config *cfg)
{
    return tio__loop_create_with(out, cfg, NULL);
}

const char *tio_loop_backend(const tio_loop *loop)
{
    return loop ? loop->backend->name : "";
}

unsigned tio_pending(const tio_loop *loop)
{
    return loop ? loop->pending : 0;
}

int tio_wake(tio_loop *loop)
{
    if (loop == NULL)
        return TIO_EINVAL;
    loop->backend->wake(loop);
    return 0;
}

/* How long one backend wait may last: 0 when callbacks are already due,
 * else up to the caller's time left and the next deadline. Starts the
 * backend refused for now are tried again after a nap: what is in flight
 * may never complete (a pipe read waits on its peer), so no completion is
 * sure to end the wait. */
static inline int64_t wait_budget(tio_loop *loop, int64_t left_ns)
{
    if (!tio__list_empty(&loop->done))
        return 0;
    int64_t ns = loop->timers.count > 0 ? tio__timers_next_ns(loop, left_ns) : left_ns;
    if (loop->retry_starts && !tio__list_empty(&loop->queued) && (ns < 0 || ns > TIO_RETRY_NS))
        ns = TIO_RETRY_NS;
    return ns;
}

/* Whether a run's wait, which returned rc, ends the run: callbacks are
 * due, tio_wake, a poll, or nothing is left pending. */
static inline bool wait_ends_run(const tio_loop *loop, int rc, int64_t timeout_ns)
{
    return rc == TIO__WOKEN || !tio__list_empty(&loop->done) || timeout_ns == 0 ||
           loop->pending == 0;
}

/* The general run: fire due deadlines, hand queued work over, wait until
 * a callback is due, the caller's time is up or tio_wake, then run
 * callbacks. A wait that ends early for any other reason (a signal, a
 * stream that became ready, work continued) is resumed for the time left
 * (semantic 11): tio_run(loop, 3 s) with nothing completing takes 3 s. */
TIO_NOINLINE int tio__run_general(tio_loop *loop, int64_t timeout_ns)
{
    /* The clock matters only to deadlines and bounded waits: without
     * either, it is never read. */
    int64_t until = timeout_ns > 0 ? tio__deadline_after(tio__now_ns(), (uint64_t)timeout_ns) : 0;
    int64_t left = timeout_ns;
    for (;;) {
        if (!tio__list_empty(&loop->queued))
            tio__flush(loop, 0); /* fires passed deadlines first */
        else
            tio__timers_expire(loop);
        /* With callbacks due and nothing in the OS's hands, there is
         * nothing to wait for or reap: no system call (a wake stays
         * pending for the next wait). */
        int rc = 0;
        if (tio__list_empty(&loop->done) || !tio__list_empty(&loop->inflight))
            rc = loop->backend->wait(loop, wait_budget(loop, left));
        if (rc < 0)
            return rc;
        tio__timers_expire(loop);
        if (wait_ends_run(loop, rc, timeout_ns))
            break;
        if (timeout_ns > 0 && (left = until - tio__now_ns()) <= 0)
            break;
    }
    return (int)tio__run_callbacks(loop);
}

/* The general run's first pass where it has nothing to do but wait: a
 * caller that waits as long as it takes, nothing queued, no deadline
 * armed, no callback due (a loop kept full by handing each start over at
 * once). Without the general run's frame and clock (about 30 user-space
 * instructions less per run, callgrind, 4 KiB DSYNC writes at QD 32,
 * submit_batch 1); a wait that ends with nothing due goes on there. */
static TIO_NOINLINE int run_waiting(tio_loop *loop)
{
    int rc = loop->backend->wait(loop, TIO_FOREVER);
    if (rc < 0)
        return rc;
    tio__timers_expire(loop);
    if (wait_ends_run(loop, rc, TIO_FOREVER))
        return (int)tio__run_callbacks(loop);
    return tio__run_general(loop, TIO_FOREVER);
}

/* One run, for tio_run and tio_wait. */
static TIO_INLINE int run(tio_loop *loop, int64_t timeout_ns)
{
    if (loop->pending == 0)
        return 0;
    if (timeout_ns < 0) {
        /* The loop's only task: when it is queued (task.c looks), one
         * start, one wait, one callback. */
        if (loop->pending == 1)
            return tio__run_lone(loop);
        if (tio__list_empty(&loop->queued) && tio__list_empty(&loop->done) &&
            loop->timers.count == 0)
            return run_waiting(loop);
    }
    return tio__run_general(loop, timeout_ns);
}

int tio_run(tio_loop *loop, int64_t timeout_ns)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (loop->in_callback)
        return tio__fail(loop, TIO_EBUSY, "tio_run: called from inside a callback");
    /* The caller runs the loop itself (not through tio_wait): its lone
     * buffered starts are worth trying at once again (task.c). */
    loop->lone_waits = 0;
    return run(loop, timeout_ns);
}

int tio_drain(tio_loop *loop)
{
    if (loop == NULL)
        return TIO_EINVAL;
    if (loop->in_callback)
        return tio__fail(loop, TIO_EBUSY, "tio_drain: called from inside a callback");
    while (loop->pending > 0) {
        int rc = tio_run(loop, TIO_FOREVER);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* tio_wait's general case: runs until t's callback has run (its result),
 * the wait expires (TIO_ETIMEDOUT) or a run fails. */
static TIO_NOINLINE int64_t wait_in_runs(tio_loop *loop, tio__task *t, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? -1
                                      : tio__deadline_after(tio__now_ns(), (uint64_t)timeout_ns);
    loop->wait_task = t;
    loop->wait_gen = t->gen;
    loop->wait_done = false;
    int64_t result = TIO_ETIMEDOUT;
    for (;;) {
        int64_t left = TIO_FOREVER;
        if (deadline >= 0) {
            left = deadline - tio__now_ns();
            if (left < 0)
                left = 0;
        }
        int rc = run(loop, left);
        if (loop->wait_done) {
            result = loop->wait_result;
            break;
        }
        if (rc < 0) {
            result = rc;
            break;
        }
        if (deadline >= 0 && tio__now_ns() >= deadline)
            break;
    }
    loop->wait_task = NULL;
    return result;
}

int64_t tio_wait(tio_loop *loop, tio_task *task, int64_t timeout_ns)
{
    if (loop == NULL || task == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (loop->in_callback)
        return tio__fail(loop, TIO_EBUSY, "tio_wait: called from inside a callback");
    tio__task *t = tio__priv(task);
    if (t->state == TIO__IDLE)
        return TIO_ENOENT;
    if (t->loop != loop)
        return tio__fail(loop, TIO_EINVAL, "tio_wait: the task is pending on another loop");
    /* The loop's only task, waited for without a time limit: the caller
     * blocks until it is done whatever happens, so it is done right here,
     * in one blocking system call on this thread, as pread would (a start
     * and tio_wait then cost what the plain call costs, where the OS
     * would otherwise pass the work to a thread of its own or of ours
     * and back). Streams may wait on a peer for ever and keep the usual
     * path, as does a task with a deadline, which must stay cancellable. */
    bool alone = timeout_ns < 0 && loop->pending == 1;
    if (alone && loop->lone_waits < TIO__LONE_WAITS)
        loop->lone_waits++;
    if (alone && t->state == TIO__QUEUED && !(t->flags & (TIO__TF_DEADLINE | TIO__TF_STREAM)) &&
        t->op <= TIO__OP_FSYNC && loop->backend->start_now != NULL) {
        int64_t result;
        if (tio__wait_alone(loop, t, &result))
            return result;
    }
    /* The loop's only task is done (by its start): its callback is all a
     * run would do. */
    if (t->state == TIO__DONE && loop->pending == 1)
        return tio__run_alone(loop, t);
    return wait_in_runs(loop, t, timeout_ns);
}

/* Cancel everything, run each callback once, wait for the OS to let go of
 * every buffer (semantic 9), then close leftover files and free. */
void tio_loop_destroy(tio_loop *loop)
{
    if (loop == NULL)
        return;
    TIO_ASSERT_OWNER(loop);
    TIO_ASSERT(!loop->in_callback);
    loop->destroying = true;
    for (tio_file *f = loop->file_list; f != NULL; f = f->next)
        tio__file_set_magic(f, f->magic); /* no start from here on */
    while (!tio__list_empty(&loop->queued))
        tio__task_cancel(loop, tio__task_of(loop->queued.head.next), false);
    /* A backend may finish a cancelled task at once (the threads backend's
     * not-yet-picked work), moving it off this list: keep the next link. */
    for (tio__link *l = loop->inflight.head.next, *next; l != &loop->inflight.head; l = next) {
        next = l->next;
        tio__task_cancel(loop, tio__task_of(l), false);
    }
    while (tio__heap_min(&loop->timers) != NULL) {
        tio__task *t = TIO_CONTAINER_OF(tio__heap_min(&loop->timers), tio__task, timer);
        if (t->op == TIO__OP_SLEEP)
            tio__task_cancel(loop, t, false);
        else
            tio__deadline_clear(loop, t); /* its cancel is already requested */
    }
    while (loop->pending > 0) {
        if (tio_run(loop, TIO_FOREVER) < 0)
            break; /* the backend is broken; nothing more can be waited for */
    }
    TIO_ASSERT(loop->pending == 0 || !tio__list_empty(&loop->inflight));
    while (loop->file_list != NULL) {
        tio_file *f = loop->file_list;
        f->pending = 0;
        tio__file_set_magic(f, TIO__FILE_OPEN); /* a tio_close the broken backend never ran */
        tio_file_close(f);
    }
    tio__files_free(loop);
    tio__faults_free(loop);
    loop->backend->destroy(loop);
    free(loop);
}

int tio_register_buffers(tio_loop *loop, const tio_buf *bufs, unsigned count)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (count > 0 && bufs == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_register_buffers: NULL bufs");
    for (unsigned i = 0; i < count; i++) {
        if (bufs[i].base == NULL || bufs[i].len == 0)
            return tio__fail(loop, TIO_EINVAL, "tio_register_buffers: buffer %u is empty", i);
        /* io_uring's limit per buffer; and the range must not wrap. */
        if (bufs[i].len > TIO_MAX_IO || (uintptr_t)bufs[i].base > UINTPTR_MAX - bufs[i].len)
            return tio__fail(loop, TIO_EINVAL,
                             "tio_register_buffers: buffer %u is over 1 GiB "
                             "or wraps the address space",
                             i);
    }
    if (loop->pending > 0)
        return tio__fail(loop, TIO_EBUSY, "tio_register_buffers: %u tasks pending", loop->pending);
    if (loop->backend->register_buffers != NULL)
        loop->backend->register_buffers(loop, bufs, count);
    return 0;
}
