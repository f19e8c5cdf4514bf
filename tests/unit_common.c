/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/common driven through a scripted test backend: each
 * start reports the outcome the test chose (COMPLETED, FAILED, PENDING,
 * BUSY), and pending work completes when the test says so. This reaches
 * every branch of the three-way submission handling, the callback budget,
 * the cancel/timeout rules and the deadline heap without an OS in the way.
 */
#include "common/internal.h"
#include "common/ptrset.h"

#include <check.h>
#include <errno.h>
#ifdef _WIN32
#  include "win32/win32.h" /* <windows.h>: the Win32 error codes */
#endif
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Raw OS errors as each OS spells them: the fake OS reports what a real one
 * would, and the common code classifies them per OS. */
#ifdef _WIN32
#  define RAW_EIO 1117     /* ERROR_IO_DEVICE */
#  define RAW_ENOSPC 112   /* ERROR_DISK_FULL */
#  define RAW_CANCELED 995 /* ERROR_OPERATION_ABORTED */
#  define RAW_AGAIN 1784   /* ERROR_INVALID_USER_BUFFER */
#  define RAW_INTR 995     /* Windows has no EINTR: a cancelled wait is aborted */
#  define RAW_AGAIN_CODE TIO_EOTHER
#else
#  define RAW_EIO EIO
#  define RAW_ENOSPC ENOSPC
#  define RAW_CANCELED ECANCELED
#  define RAW_AGAIN EAGAIN
#  define RAW_INTR EINTR
#  define RAW_AGAIN_CODE TIO_EOTHER
#endif

/* ------------------------------------------------------ the test backend */

typedef struct script {
    int outcome;   /* what a start reports: PENDING, COMPLETED, FAILED, BUSY */
    int64_t bytes; /* COMPLETED: bytes moved */
    int os_error;  /* FAILED: the raw errno */
} script;

typedef struct fake {
    script next;        /* outcome for the next start */
    unsigned busy_left; /* report BUSY this many times first */
    unsigned starts, cancels, waits, wakes, submits;
    unsigned fused;    /* calls of the fused entry (submit_wait) */
    unsigned singles;  /* calls of the one-task entry (submit_single) */
    tio__task *os[64]; /* PENDING tasks the fake OS holds */
    unsigned nos;
    bool cancel_completes; /* the OS stops a cancelled task at once */
    bool wait_completes;   /* a wait finishes the oldest held task ... */
    int64_t wait_bytes;    /* ... having moved up to this many bytes */
    int wait_rc;           /* what a wait returns (TIO__WOKEN: a tio_wake) */
    unsigned idle_waits;   /* waits that first end with nothing done (a signal) */
} fake;

static fake F;

static int fake_create(tio_loop *loop, const tio_loop_config *cfg)
{
    (void)cfg;
    loop->backend_data = &F;
    return 0;
}

static void fake_destroy(tio_loop *loop)
{
    (void)loop;
    ck_assert_uint_eq(F.nos, 0);
}

static unsigned fake_submit(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                            uint8_t *out, tio__sync *sync)
{
    (void)loop;
    (void)flags;
    F.submits++;
    for (unsigned i = 0; i < n; i++) {
        if (F.busy_left > 0) {
            F.busy_left--;
            return i;
        }
        F.starts++;
        if (F.next.outcome == TIO__PENDING) {
            ck_assert_uint_lt(F.nos, 64);
            F.os[F.nos++] = tasks[i];
        }
        out[i] = (uint8_t)F.next.outcome;
        /* the OS moves at most what is asked */
        sync[i].bytes = F.next.bytes < tasks[i]->len ? F.next.bytes : tasks[i]->len;
        sync[i].os_error = F.next.os_error;
    }
    return n;
}

static void os_remove(tio__task *t)
{
    for (unsigned i = 0; i < F.nos; i++) {
        if (F.os[i] == t) {
            F.os[i] = F.os[--F.nos];
            return;
        }
    }
    ck_abort_msg("task not held by the fake OS");
}

static void fake_cancel(tio_loop *loop, tio__task *t)
{
    (void)loop;
    F.cancels++;
    if (F.cancel_completes) {
        os_remove(t);
        tio__task_complete(t, 0, RAW_CANCELED);
    }
}

static void os_complete(tio__task *t, int64_t bytes, int os_error);

static int fake_wait(tio_loop *loop, int64_t timeout_ns)
{
    (void)loop;
    (void)timeout_ns;
    F.waits++;
    if (F.idle_waits > 0) {
        F.idle_waits--;
        return 0;
    }
    if (F.wait_completes && F.nos > 0) {
        tio__task *t = F.os[0];
        os_complete(t, F.wait_bytes < t->len ? F.wait_bytes : t->len, 0);
    }
    return F.wait_rc;
}

static void fake_wake(tio_loop *loop)
{
    (void)loop;
    F.wakes++;
}

static const tio__backend fake_backend = {
    .name = "fake",
    .create = fake_create,
    .destroy = fake_destroy,
    .submit = fake_submit,
    .cancel = fake_cancel,
    .wait = fake_wait,
    .wake = fake_wake,
};

/* The lone run's fused entry (tio__backend.submit_wait), composed as its
 * contract says: the start, then the wait when the start is pending. */
static int fake_submit_wait(tio_loop *loop, tio__task *t, uint8_t *out, tio__sync *sync)
{
    F.fused++;
    if (fake_submit(loop, &t, 1, 0, out, sync) != 1) {
        *out = TIO__BUSY;
        return 0;
    }
    return *out == TIO__PENDING ? fake_wait(loop, TIO_FOREVER) : 0;
}

/* The starting call's entry for one task (tio__backend.submit_single),
 * composed as its contract says. */
static int fake_submit_single(tio_loop *loop, tio__task *t)
{
    uint8_t out;
    tio__sync sync;
    F.singles++;
    if (fake_submit(loop, &t, 1, TIO__SUBMIT_NOW, &out, &sync) != 1)
        out = TIO__BUSY;
    return tio__single_outcome(loop, t, out, &sync);
}

/* The backend the fixtures' loops use: the lone run's tests run with and
 * without the entries for one task. */
static const tio__backend *backend = &fake_backend;

/* The fake OS finishes a held task, raw: bytes, or an errno. */
static void os_complete(tio__task *t, int64_t bytes, int os_error)
{
    os_remove(t);
    tio__task_complete(t, bytes, os_error);
}

/* From now on each wait finishes the oldest held task, moving up to
 * `bytes` of it. */
static void waits_complete(int64_t bytes)
{
    F.wait_completes = true;
    F.wait_bytes = bytes;
}

/* ------------------------------------------------------------- fixtures */

static tio_loop *loop;
static tio_file *file;
static char buf[4096];
static int calls;
static int64_t last_result;
static int in_submit;

static void count_cb(tio_task *task, int64_t result)
{
    ck_assert_int_eq(in_submit, 0);
    ck_assert_int_eq(task->result, result);
    calls++;
    last_result = result;
}

static tio_loop *make_loop(unsigned depth)
{
    tio_loop *l = NULL;
    tio_loop_config cfg = {depth, 0, NULL, 0};
    ck_assert_int_eq(tio__loop_create_with(&l, &cfg, backend), 0);
    return l;
}

/* A tio_file not backed by any OS handle: the fake backend never uses it. */
static tio_file *make_file(tio_loop *l)
{
    tio_file *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->loop = l;
    f->align_bytes = 1;
    f->can_read = f->can_write = true;
    f->backend_index = -1;
    tio__file_set_magic(f, TIO__FILE_OPEN);
    return f;
}

static void setup(void)
{
    memset(&F, 0, sizeof F);
    F.next.outcome = TIO__PENDING;
    F.cancel_completes = true;
    calls = 0;
    last_result = 0;
    loop = make_loop(8);
    file = make_file(loop);
}

static void teardown(void)
{
    ck_assert_uint_eq(tio_pending(loop), 0);
    tio_loop_destroy(loop);
    free(file);
}

static void setup_fused(void)
{
    static tio__backend fused_backend;
    fused_backend = fake_backend;
    fused_backend.submit_wait = fake_submit_wait;
    fused_backend.submit_single = fake_submit_single;
    backend = &fused_backend;
    setup();
}

static void teardown_fused(void)
{
    teardown();
    backend = &fake_backend;
}

static int submit_read(tio_task *t)
{
    in_submit = 1;
    int rc = tio_read(loop, t, file, buf, 100, 0, count_cb);
    in_submit = 0;
    return rc;
}

/* ------------------------------------------------- three-way submission */

START_TEST(sync_completed_is_queued_then_delivered_by_run)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 100);
    ck_assert_int_eq(tio_os_error(&t), 0);
    ck_assert_uint_eq(F.starts, 1);
}
END_TEST

START_TEST(sync_failed_reports_code_and_os_error)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__FAILED, 0, RAW_EIO};
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(last_result, TIO_EIO);
    ck_assert_int_eq(tio_os_error(&t), RAW_EIO);
}
END_TEST

START_TEST(pending_completes_when_the_os_reports)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_uint_eq(F.nos, 1);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__INFLIGHT);
    os_complete(F.os[0], 100, 0);
    ck_assert_int_eq(calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(last_result, 100);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__IDLE);
}
END_TEST

START_TEST(busy_keeps_task_queued_until_a_later_run)
{
    tio_task t = TIO_TASK_INIT;
    F.busy_left = 2;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(sync_completions_respect_the_callback_budget)
{
    tio_task t[20];
    memset(t, 0, sizeof t);
    F.next = (script){TIO__COMPLETED, 100, 0};
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(submit_read(&t[i]), 0);
    /* queue_depth 8: no run may run more than 8 callbacks. */
    ck_assert_int_eq(tio_run(loop, 0), 8);
    ck_assert_int_eq(tio_run(loop, 0), 8);
    ck_assert_int_eq(tio_run(loop, 0), 4);
    ck_assert_int_eq(calls, 20);
}
END_TEST

START_TEST(wait_is_a_poll_while_callbacks_are_due)
{
    tio_task a = TIO_TASK_INIT;
    tio_task b[6];
    memset(b, 0, sizeof b);
    F.next = (script){TIO__COMPLETED, 100, 0};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(submit_read(&b[i]), 0);
    tio__flush(loop, 0); /* the outcome is chosen when a task starts */
    F.next = (script){TIO__PENDING, 0, 0};
    ck_assert_int_eq(submit_read(&a), 0);
    /* Forever, yet returns: completions are already due. */
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 6);
    tio_cancel(loop, &a);
    ck_assert_int_eq(tio_drain(loop), 0);
}
END_TEST

/* ------------------------------------------------------ cancellation */

START_TEST(cancel_queued_never_reaches_the_backend)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(calls, 0);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(last_result, TIO_ECANCELED);
    ck_assert_uint_eq(F.starts, 0);
    ck_assert_uint_eq(F.cancels, 0);
}
END_TEST

START_TEST(cancel_inflight_asks_the_backend_once)
{
    tio_task t = TIO_TASK_INIT;
    F.cancel_completes = false;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_uint_eq(F.cancels, 1);
    os_complete(F.os[0], 0, RAW_CANCELED);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, TIO_ECANCELED);
}
END_TEST

START_TEST(cancel_after_os_finished_reports_real_result)
{
    tio_task t = TIO_TASK_INIT;
    F.cancel_completes = false;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    os_complete(F.os[0], 100, 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(cancel_of_done_task_changes_nothing)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(submit_read(&t), 0);
    tio__flush(loop, 0); /* DONE, callback not yet run */
    ck_assert_int_eq(tio__priv(&t)->state, TIO__DONE);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 100);
    ck_assert_uint_eq(F.cancels, 0);
}
END_TEST

START_TEST(cancel_idle_task_is_enoent)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT);
    ck_assert_int_eq(tio_timeout(loop, &t, 1), TIO_ENOENT);
    ck_assert_int_eq(tio_wait(loop, &t, 0), TIO_ENOENT);
}
END_TEST

static tio_task *resubmit_task;
static void resubmit_cb(tio_task *task, int64_t result)
{
    count_cb(task, result);
    if (calls == 1)
        ck_assert_int_eq(tio_read(loop, task, file, buf, 100, 0, count_cb), 0);
}

START_TEST(generation_advances_so_stale_cancels_miss)
{
    tio_task t = TIO_TASK_INIT;
    resubmit_task = &t;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 100, 0, resubmit_cb), 0);
    uint32_t gen0 = tio__priv(&t)->gen;
    tio_run(loop, 0);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(tio__priv(&t)->gen, gen0 + 1);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    ck_assert_int_eq(tio__priv(&t)->flags & TIO__TF_CANCEL, 0);
    tio_drain(loop);
    ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(transient_requeue_restarts_the_task)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 0, RAW_AGAIN); /* transient: nothing done */
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    tio_run(loop, 0);
    ck_assert_uint_eq(F.starts, 2);
    os_complete(F.os[0], 100, 0);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(requeue_of_cancelled_task_reports_canceled)
{
    tio_task t = TIO_TASK_INIT;
    F.cancel_completes = false;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    tio_cancel(loop, &t);
    os_complete(F.os[0], 0, RAW_INTR); /* interrupted by the cancel */
    tio_drain(loop);
    ck_assert_int_eq(last_result, TIO_ECANCELED);
    ck_assert_uint_eq(F.starts, 1);
}
END_TEST


/* ------------------------------------------------ normalised outcomes */

static int submit_write(tio_task *t)
{
    in_submit = 1;
    int rc = tio_write(loop, t, file, buf, 100, 0, count_cb);
    in_submit = 0;
    return rc;
}

START_TEST(short_write_is_continued_to_the_whole_length)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_write(&t), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 40, 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    tio_run(loop, 0);
    ck_assert_uint_eq(F.starts, 2);
    ck_assert_ptr_eq(F.os[0]->buf, buf + 40);
    ck_assert_uint_eq(F.os[0]->offset, 40);
    ck_assert_uint_eq(F.os[0]->len, 60);
    os_complete(F.os[0], 60, 0);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

/* A vectored transfer: the whole rest in one attempt where the backend
 * takes it; after a short attempt, and on a backend without vectored I/O,
 * one leg (the rest of the current segment) at a time. */
static tio__backend fake_vec_backend;

START_TEST(short_vectored_attempt_is_continued_leg_by_leg)
{
    tio_loop_destroy(loop);
    fake_vec_backend = fake_backend;
    fake_vec_backend.vectored = true;
    tio_loop_config cfg = {8, 0, NULL, 0};
    ck_assert_int_eq(tio__loop_create_with(&loop, &cfg, &fake_vec_backend), 0);
    file->loop = loop;
    tio_buf segs[4] = {{buf, 10}, {NULL, 0}, {buf + 100, 30}, {buf + 200, 60}};
    tio_task t = TIO_TASK_INIT;
    in_submit = 1;
    ck_assert_int_eq(tio_writev(loop, &t, file, segs, 4, 1000, count_cb), 0);
    in_submit = 0;
    tio_run(loop, 0);
    ck_assert_ptr_null(F.os[0]->buf); /* the whole transfer in one call */
    ck_assert_uint_eq(F.os[0]->len, 100);
    os_complete(F.os[0], 25, 0);
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0]->buf, buf + 115);
    ck_assert_uint_eq(F.os[0]->len, 15);
    ck_assert_uint_eq(F.os[0]->offset, 1025);
    os_complete(F.os[0], 15, 0);
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0]->buf, buf + 200);
    ck_assert_uint_eq(F.os[0]->len, 60);
    ck_assert_uint_eq(F.os[0]->offset, 1040);
    os_complete(F.os[0], 60, 0);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 100);
    ck_assert_uint_eq(F.starts, 3);
}
END_TEST

START_TEST(vectored_read_without_backend_support_goes_in_legs_to_end_of_file)
{
    tio_buf segs[2] = {{buf, 10}, {buf + 50, 20}};
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_readv(loop, &t, file, segs, 2, 0, count_cb), 0);
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0]->buf, buf);
    ck_assert_uint_eq(F.os[0]->len, 10);
    os_complete(F.os[0], 10, 0);
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0]->buf, buf + 50);
    ck_assert_uint_eq(F.os[0]->len, 20);
    os_complete(F.os[0], 5, 0); /* short, buffered: go on */
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0]->buf, buf + 55);
    ck_assert_uint_eq(F.os[0]->len, 15);
    ck_assert_uint_eq(F.os[0]->offset, 15);
    os_complete(F.os[0], 0, 0); /* end of file */
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 15);
}
END_TEST

START_TEST(vectored_error_after_a_leg_reports_the_bytes)
{
    tio_buf segs[2] = {{buf, 10}, {buf + 50, 20}};
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_writev(loop, &t, file, segs, 2, 0, count_cb), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 10, 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 0, RAW_ENOSPC);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 10);
    ck_assert_int_eq(tio_os_error(&t), 0);
}
END_TEST

START_TEST(short_file_read_is_continued_until_end_of_file)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 40, 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 0, 0); /* end of file */
    tio_drain(loop);
    ck_assert_int_eq(last_result, 40);
    ck_assert_uint_eq(F.starts, 2);
}
END_TEST

START_TEST(stream_read_returns_what_is_there)
{
    tio_task t = TIO_TASK_INIT;
    file->is_stream = true;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 40, 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 40);
    ck_assert_uint_eq(F.starts, 1);
}
END_TEST

START_TEST(error_after_some_bytes_reports_the_bytes)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_write(&t), 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 40, 0);
    tio_run(loop, 0);
    os_complete(F.os[0], 0, RAW_ENOSPC);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 40);
    ck_assert_int_eq(tio_os_error(&t), 0);
}
END_TEST

START_TEST(cancelled_result_carries_no_os_error)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0); /* the fake OS reports ECANCELED */
    tio_drain(loop);
    ck_assert_int_eq(last_result, TIO_ECANCELED);
    ck_assert_int_eq(tio_os_error(&t), 0);
}
END_TEST

START_TEST(transient_start_failure_waits_for_work_in_flight)
{
    tio_task a = TIO_TASK_INIT, b = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&a), 0);
    tio_run(loop, 0);
    F.next = (script){TIO__FAILED, 0, RAW_AGAIN};
    ck_assert_int_eq(submit_read(&b), 0);
    tio_run(loop, 0);
    ck_assert_int_eq(tio__priv(&b)->state, TIO__QUEUED); /* retried later, not failed */
    os_complete(F.os[0], 100, 0);
    F.next = (script){TIO__COMPLETED, 100, 0};
    tio_drain(loop);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(b.result, 100);
}
END_TEST

START_TEST(transient_start_failure_alone_is_a_failure)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__FAILED, 0, RAW_AGAIN};
    ck_assert_int_eq(submit_read(&t), 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, RAW_AGAIN_CODE);
    ck_assert_int_eq(tio_os_error(&t), RAW_AGAIN);
}
END_TEST

START_TEST(deadline_passed_before_the_run_never_reaches_the_backend)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 0), 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, TIO_ETIMEDOUT);
    ck_assert_int_eq(tio_os_error(&t), 0);
    ck_assert_uint_eq(F.starts, 0);
}
END_TEST

START_TEST(stream_writes_reach_the_os_one_at_a_time_in_order)
{
    tio_task a = TIO_TASK_INIT, b = TIO_TASK_INIT;
    file->is_stream = true;
    ck_assert_int_eq(submit_write(&a), 0);
    ck_assert_int_eq(submit_write(&b), 0);
    tio_run(loop, 0);
    ck_assert_uint_eq(F.nos, 1);
    ck_assert_ptr_eq(F.os[0], tio__priv(&a));
    os_complete(F.os[0], 30, 0); /* a short write: its rest goes before b */
    tio_run(loop, 0);
    ck_assert_uint_eq(F.nos, 1);
    ck_assert_ptr_eq(F.os[0], tio__priv(&a));
    os_complete(F.os[0], 70, 0);
    tio_run(loop, 0);
    ck_assert_ptr_eq(F.os[0], tio__priv(&b));
    os_complete(F.os[0], 100, 0);
    tio_drain(loop);
    ck_assert_int_eq(a.result, 100);
    ck_assert_int_eq(b.result, 100);
}
END_TEST

START_TEST(stream_operations_are_not_capped_by_queue_depth)
{
    enum { N = 40 }; /* the loop's queue_depth is 8 */
    tio_task s[N], f[10];
    memset(s, 0, sizeof s);
    memset(f, 0, sizeof f);
    tio_file *pipe_file = make_file(loop);
    pipe_file->is_stream = true;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(tio_read(loop, &s[i], pipe_file, buf, 10, 0, count_cb), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(submit_read(&f[i]), 0);
    tio_run(loop, 0);
    ck_assert_uint_eq(F.nos, N + 8); /* every stream read, and files up to the cap */
    ck_assert_int_eq(tio_cancel_file(loop, pipe_file), N);
    ck_assert_int_eq(tio_cancel_file(loop, file), 10);
    tio_drain(loop);
    ck_assert_int_eq(calls, N + 10);
    free(pipe_file);
}
END_TEST


START_TEST(transient_start_failures_end_the_flush)
{
    enum { N = 70 }; /* more than one batch */
    static tio_task t[N];
    memset(t, 0, sizeof t);
    tio_loop *l = make_loop(128);
    tio_file *f = make_file(l);
    F.next = (script){TIO__FAILED, 0, RAW_AGAIN};
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(tio_read(l, &t[i], f, buf, 100, 0, count_cb), 0);
    tio_run(l, 0);
    /* One batch went to the backend; its refused starts wait for a later
     * run instead of being retried at once, over and over. */
    ck_assert_uint_eq(F.starts, TIO__BATCH);
    F.next = (script){TIO__COMPLETED, 100, 0};
    tio_drain(l);
    ck_assert_int_eq(calls, N);
    tio_loop_destroy(l);
    free(f);
}
END_TEST


START_TEST(short_synchronous_completions_are_continued_in_the_same_run)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 40, 0}; /* each start moves 40 bytes at once */
    ck_assert_int_eq(submit_write(&t), 0);
    /* Nothing is in flight between the legs: a run that waited after the
     * first one would wait for ever. */
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(last_result, 100);
    ck_assert_uint_eq(F.starts, 3);
}
END_TEST

/* ------------------------------------------------------------ timeouts */

START_TEST(timeout_cancels_with_etimedout)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    int64_t start = tio__now_ns(); /* before the deadline is armed */
    ck_assert_int_eq(tio_timeout(loop, &t, 1000000), 0);
    tio_drain(loop);
    ck_assert_int_ge(tio__now_ns() - start, 1000000);
    ck_assert_int_eq(last_result, TIO_ETIMEDOUT);
    ck_assert_uint_eq(F.cancels, 1);
}
END_TEST

START_TEST(timeout_on_queued_task_never_starts_it)
{
    tio_task t = TIO_TASK_INIT;
    F.busy_left = 1000000;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 1000000), 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, TIO_ETIMEDOUT);
    ck_assert_uint_eq(F.starts, 0);
}
END_TEST

START_TEST(completion_before_deadline_clears_the_timer)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    tio_run(loop, 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 1000000000), 0);
    ck_assert_uint_eq(loop->timers.count, 1);
    os_complete(F.os[0], 100, 0);
    ck_assert_uint_eq(loop->timers.count, 0);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(timeout_on_sleep_is_einval)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_sleep(loop, &t, 1000, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 1), TIO_EINVAL);
    tio_drain(loop);
    ck_assert_int_eq(last_result, 0);
}
END_TEST

START_TEST(wait_expires_and_task_stays_pending)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 2000000), TIO_ETIMEDOUT);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__INFLIGHT);
    os_complete(F.os[0], 100, 0);
    ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), 100);
}
END_TEST


/* ------------------------------------------------------------ the ptrset */

/* Against a plain array, through growth and many removals (backward shift
 * keeps every member findable). */
START_TEST(ptrset_agrees_with_a_reference_array)
{
    enum { N = 700 };
    static char objs[N];
    static bool in[N];
    tio__ptrset set = {0};
    uint64_t x = 88172645463325252ull;
    for (int step = 0; step < 20000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % N);
        if (in[i]) {
            ck_assert(tio__ptrset_remove(&set, &objs[i]));
            in[i] = false;
        } else {
            ck_assert(tio__ptrset_add(&set, &objs[i]));
            in[i] = true;
        }
        if (step % 97 == 0) {
            size_t count = 0;
            for (int j = 0; j < N; j++) {
                ck_assert_int_eq(tio__ptrset_has(&set, &objs[j]), in[j]);
                count += in[j];
            }
            ck_assert_uint_eq(set.count, count);
        }
    }
    ck_assert(!tio__ptrset_remove(&set, (char *)objs + N));
    size_t cap = set.cap;
    for (int round = 0; round < 50; round++) { /* steady churn never grows it */
        for (int j = 0; j < 16; j++) {
            if (!in[j])
                ck_assert(tio__ptrset_add(&set, &objs[j]));
            in[j] = true;
        }
        for (int j = 0; j < 16; j++) {
            ck_assert(tio__ptrset_remove(&set, &objs[j]));
            in[j] = false;
        }
    }
    ck_assert_uint_eq(set.cap, cap);
    tio__ptrset_free(&set);
}
END_TEST

/* ------------------------------------------------------------- the heap */

static int order[256];
static int norder;
static void order_cb(tio_task *task, int64_t result)
{
    ck_assert_int_eq(result, 0);
    order[norder++] = (int)(intptr_t)task->data;
}

START_TEST(heap_orders_by_deadline_then_arming_order)
{
    /* Deadlines set directly: no clock involved. Keys 0..199 shuffled,
     * each key used twice to check FIFO among equals. */
    static tio_task t[200];
    memset(t, 0, sizeof t);
    tio__heap h = {NULL, 0};
    unsigned seq = 0;
    srand(7);
    int keys[200];
    for (int i = 0; i < 200; i++)
        keys[i] = i / 2;
    for (int i = 199; i > 0; i--) {
        int j = rand() % (i + 1), k = keys[i];
        keys[i] = keys[j];
        keys[j] = k;
    }
    for (int i = 0; i < 200; i++) {
        tio__task *p = tio__priv(&t[i]);
        p->deadline_ns = keys[i];
        p->timer_seq = seq++;
        tio__heap_insert(&h, &p->timer);
    }
    /* Remove 50 arbitrary nodes, then pop the rest in order. */
    bool removed[200] = {false};
    for (int i = 0; i < 50; i++) {
        int j = rand() % 200;
        if (removed[j])
            continue;
        removed[j] = true;
        tio__heap_remove(&h, &tio__priv(&t[j])->timer);
    }
    int64_t last_key = -1;
    uint32_t last_seq = 0;
    while (h.root) {
        tio__task *p = TIO_CONTAINER_OF(tio__heap_min(&h), tio__task, timer);
        ck_assert_int_ge(p->deadline_ns, last_key);
        if (p->deadline_ns == last_key)
            ck_assert_uint_gt(p->timer_seq, last_seq);
        last_key = p->deadline_ns;
        last_seq = p->timer_seq;
        tio__heap_remove(&h, &p->timer);
    }
    ck_assert_uint_eq(h.count, 0);
}
END_TEST

static int64_t results[64];
static void record_cb(tio_task *task, int64_t result)
{
    int i = (int)(intptr_t)task->data;
    results[i] = result;
    order[norder++] = i;
}

START_TEST(cancelled_sleeps_leave_the_rest_in_order)
{
    static tio_task t[40];
    int64_t deadline[40];
    memset(t, 0, sizeof t);
    norder = 0;
    for (int i = 0; i < 40; i++) {
        t[i].data = (void *)(intptr_t)i;
        /* Later submissions get shorter sleeps: they fire first. */
        ck_assert_int_eq(tio_sleep(loop, &t[i], (uint64_t)(40 - i) * 100000, record_cb), 0);
        deadline[i] = tio__priv(&t[i])->deadline_ns; /* as armed, preemption included */
    }
    for (int i = 0; i < 40; i += 4)
        ck_assert_int_eq(tio_cancel(loop, &t[i]), 0);
    tio_drain(loop);
    ck_assert_int_eq(norder, 40);
    int prev = -1;
    for (int k = 0; k < 40; k++) {
        int i = order[k];
        if (i % 4 == 0) {
            ck_assert_int_eq(results[i], TIO_ECANCELED);
            continue;
        }
        ck_assert_int_eq(results[i], 0);
        /* Fired in deadline order, equal deadlines in arming order. */
        if (prev >= 0)
            ck_assert(deadline[prev] < deadline[i] || (deadline[prev] == deadline[i] && prev < i));
        prev = i;
    }
}
END_TEST

static void cancelled_sleep_cb(tio_task *task, int64_t result)
{
    (void)task;
    ck_assert_int_eq(result, TIO_ECANCELED);
    calls++;
}

START_TEST(sleeps_fire_in_order)
{
    static tio_task t[30];
    memset(t, 0, sizeof t);
    norder = 0;
    for (int i = 0; i < 30; i++) {
        t[i].data = (void *)(intptr_t)i;
        /* 3 groups of equal durations, submitted interleaved; 20 ms apart,
         * so that a preempted submission loop cannot reorder the groups. */
        ck_assert_int_eq(tio_sleep(loop, &t[i], (uint64_t)(3 - i % 3) * 20000000, order_cb), 0);
    }
    tio_task c = TIO_TASK_INIT;
    ck_assert_int_eq(tio_sleep(loop, &c, 500000, cancelled_sleep_cb), 0);
    ck_assert_int_eq(tio_cancel(loop, &c), 0);
    tio_drain(loop);
    ck_assert_int_eq(norder, 30);
    ck_assert_int_eq(calls, 1);
    /* Expected: i%3==2 (20 ms) in order, then i%3==1, then i%3==0. */
    int k = 0;
    for (int g = 2; g >= 0; g--)
        for (int i = g; i < 30; i += 3)
            ck_assert_int_eq(order[k++], i);
}
END_TEST

/* -------------------------------------------------------- loop contract */

static void run_inside_cb(tio_task *task, int64_t result)
{
    count_cb(task, result);
    ck_assert_int_eq(tio_run(loop, 0), TIO_EBUSY);
    ck_assert_int_eq(tio_drain(loop), TIO_EBUSY);
}

START_TEST(run_from_a_callback_is_ebusy)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 1, 0};
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 1, 0, run_inside_cb), 0);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(destroy_cancels_queued_inflight_and_sleeping)
{
    tio_loop *l = make_loop(4);
    tio_file *f = make_file(l);
    tio_task q = TIO_TASK_INIT, i = TIO_TASK_INIT, s = TIO_TASK_INIT;
    ck_assert_int_eq(tio_read(l, &i, f, buf, 1, 0, count_cb), 0);
    tio_run(l, 0);
    F.busy_left = 1000;
    ck_assert_int_eq(tio_read(l, &q, f, buf, 1, 0, count_cb), 0);
    ck_assert_int_eq(tio_sleep(l, &s, 10000000000ull, count_cb), 0);
    tio_loop_destroy(l);
    free(f);
    ck_assert_int_eq(calls, 3);
    ck_assert_int_eq(q.result, TIO_ECANCELED);
    ck_assert_int_eq(i.result, TIO_ECANCELED);
    ck_assert_int_eq(s.result, TIO_ECANCELED);
}
END_TEST

START_TEST(validation_rejects_without_state_change)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_read(NULL, &t, file, buf, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, NULL, file, buf, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, NULL, buf, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, NULL, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 1, 0, NULL), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, buf, TIO_MAX_IO + 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 4096, UINT64_MAX - 10, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_fsync(loop, &t, file, 0x80, count_cb), TIO_EINVAL);
    file->direct = true;
    file->align_bytes = 512;
    ck_assert_int_eq(tio_read(loop, &t, file, buf + 1, 512, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 511, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 512, 100, count_cb), TIO_EINVAL);
    file->direct = false;
    file->align_bytes = 1;
    file->can_write = false;
    tio__file_set_magic(file, file->magic); /* what a start checks follows can_write */
    ck_assert_int_eq(tio_write(loop, &t, file, buf, 1, 0, count_cb), TIO_EBADF);
    file->can_write = true;
    tio__file_set_magic(file, file->magic);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__IDLE);
    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(submit_read(&t), TIO_EBUSY);
    tio_cancel(loop, &t);
    tio_drain(loop);
    ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(errno_mapping_is_explicit)
{
    ck_assert_int_eq(tio__errno_map(0), 0);
    ck_assert_int_eq(tio__errno_map(ENOENT), TIO_ENOENT);
    ck_assert_int_eq(tio__errno_map(EACCES), TIO_EACCES);
    ck_assert_int_eq(tio__errno_map(EPERM), TIO_EACCES);
    ck_assert_int_eq(tio__errno_map(EEXIST), TIO_EEXIST);
    ck_assert_int_eq(tio__errno_map(ENOSPC), TIO_ENOSPC);
#ifdef EDQUOT
    ck_assert_int_eq(tio__errno_map(EDQUOT), TIO_ENOSPC);
#endif
    ck_assert_int_eq(tio__errno_map(EIO), TIO_EIO);
    ck_assert_int_eq(tio__errno_map(EBADF), TIO_EBADF);
    ck_assert_int_eq(tio__errno_map(EPIPE), TIO_EPIPE);
    ck_assert_int_eq(tio__errno_map(EISDIR), TIO_EISDIR);
    ck_assert_int_eq(tio__errno_map(EROFS), TIO_EROFS);
    ck_assert_int_eq(tio__errno_map(EFBIG), TIO_EFBIG);
    ck_assert_int_eq(tio__errno_map(ECANCELED), TIO_ECANCELED);
    ck_assert_int_eq(tio__errno_map(EOPNOTSUPP), TIO_ENOTSUP);
    ck_assert_int_eq(tio__errno_map(12345), TIO_EOTHER);
    ck_assert_int_eq(tio__errno_map(ENOTDIR), TIO_ENOTDIR);
    for (int c = TIO_ENOTDIR; c <= TIO_EINVAL; c++)
        ck_assert_str_ne(tio_strerror(c), "unknown error");
}
END_TEST

#ifdef _WIN32
/* What tio__os_error_map makes of the Win32 errors real Windows reports
 * and Wine never does: devices and volumes that vanish, damaged data,
 * dropped SMB shares, a mapped file. */
START_TEST(win32_error_mapping_is_explicit)
{
    static const struct {
        DWORD err;
        int code;
    } map[] = {
        {ERROR_SUCCESS, 0},
        {ERROR_FILE_NOT_FOUND, TIO_ENOENT},
        {ERROR_BAD_NETPATH, TIO_ENOENT},
        {ERROR_ACCESS_DENIED, TIO_EACCES},
        {ERROR_SHARING_VIOLATION, TIO_EBUSY},
        {ERROR_USER_MAPPED_FILE, TIO_EBUSY},
        {ERROR_DISK_FULL, TIO_ENOSPC},
        {ERROR_INVALID_NAME, TIO_EINVAL},
        {ERROR_OPERATION_ABORTED, TIO_ECANCELED},
        {ERROR_BROKEN_PIPE, TIO_EPIPE},
        {ERROR_WRITE_PROTECT, TIO_EROFS},
        {ERROR_IO_DEVICE, TIO_EIO},
        {ERROR_DEVICE_REMOVED, TIO_EIO},
        {ERROR_FILE_INVALID, TIO_EIO},
        {ERROR_FILE_CORRUPT, TIO_EIO},
        {ERROR_DISK_CORRUPT, TIO_EIO},
        {ERROR_DATA_CHECKSUM_ERROR, TIO_EIO},
        {ERROR_NETNAME_DELETED, TIO_EIO},
        {ERROR_UNEXP_NET_ERR, TIO_EIO},
        {ERROR_DIRECTORY, TIO_ENOTDIR},
        {ERROR_DIRECTORY_NOT_SUPPORTED, TIO_EISDIR},
        {ERROR_FILE_TOO_LARGE, TIO_EFBIG},
        {12345, TIO_EOTHER},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        ck_assert_msg(tio__os_error_map((int)map[i].err) == map[i].code,
                      "Win32 error %lu: TIO code %d, want %d", (unsigned long)map[i].err,
                      tio__os_error_map((int)map[i].err), map[i].code);
    /* None of them is end of data, a cancel or transient: a plain failure
     * whose raw code tio_os_error keeps. */
    ck_assert_int_eq(tio__os_error_kind(ERROR_DEVICE_REMOVED), TIO__ERR_FAIL);
    ck_assert_int_eq(tio__os_error_kind(ERROR_NETNAME_DELETED), TIO__ERR_FAIL);
}
END_TEST
#endif

/* ------------------------------------------------- the learned hand-over */

/* n epochs of TIO__ADAPT_EPOCH completions, each taking batch_ns or
 * eager_ns by the loop's mode at the time: the learner's inputs, without
 * a device (adapt.c). */
static void run_epochs(tio_loop *l, unsigned n, int64_t *now, int64_t batch_ns, int64_t eager_ns)
{
    for (unsigned i = 0; i < n; i++) {
        *now += l->adapt.eager ? eager_ns : batch_ns;
        l->adapt.ops = TIO__ADAPT_EPOCH;
        tio__adapt_epoch(l, *now);
    }
}

/* run_epochs one at a time: how many of the n ran in the eager mode
 * (the probes, while the loop stays batched). */
static unsigned probe_epochs(tio_loop *l, unsigned n, int64_t *now, int64_t batch_ns,
                             int64_t eager_ns)
{
    unsigned eager = 0;
    for (unsigned i = 0; i < n; i++) {
        eager += l->adapt.eager;
        run_epochs(l, 1, now, batch_ns, eager_ns);
    }
    return eager;
}

#define CYCLE 8u /* adapt.c's TIO__ADAPT_CYCLE_MIN: probes that favour a switch come this often */

START_TEST(adapt_hands_over_at_once_when_that_is_faster)
{
    int64_t now = 1000000000;
    ck_assert(loop->adaptive && !loop->adapt.eager);
    ck_assert_uint_eq(loop->submit_batch, UINT_MAX);
    /* The first epoch starts the clock; two probes are not enough. */
    run_epochs(loop, 1 + 2 * CYCLE, &now, 100000000, 90000000);
    ck_assert(!loop->adapt.eager);
    ck_assert_uint_eq(loop->submit_batch, UINT_MAX);
    run_epochs(loop, CYCLE, &now, 100000000, 90000000);
    ck_assert(loop->adapt.eager);
    ck_assert_uint_eq(loop->submit_batch, 1);
    ck_assert_uint_eq(loop->adapt.switches, 1);
    /* It stays there while that holds: probes of batching lose. */
    run_epochs(loop, 10 * CYCLE, &now, 100000000, 90000000);
    ck_assert(loop->adapt.eager);
    ck_assert_uint_eq(loop->adapt.switches, 1);
}
END_TEST

/* Three cycles in which handing over at once is 10 % faster: the loop
 * switches to it. */
static void learn_eager(int64_t *now)
{
    run_epochs(loop, 1 + 3 * CYCLE, now, 100000000, 90000000);
    ck_assert(loop->adapt.eager);
}

START_TEST(adapt_returns_to_batches_when_they_become_faster)
{
    int64_t now = 1000000000;
    learn_eager(&now);
    run_epochs(loop, 3 * CYCLE, &now, 100000000, 110000000);
    ck_assert(!loop->adapt.eager);
    ck_assert_uint_eq(loop->submit_batch, UINT_MAX);
    ck_assert_uint_eq(loop->adapt.switches, 2);
}
END_TEST

START_TEST(adapt_stays_batched_when_both_modes_are_as_fast)
{
    /* A program that offers work at its own pace completes it at that
     * pace in either mode, and a difference under the margin is noise. */
    int64_t now = 1000000000;
    run_epochs(loop, 1 + 50 * CYCLE, &now, 100000000, 100000000);
    run_epochs(loop, 50 * CYCLE, &now, 100000000, 97000000);
    ck_assert(!loop->adapt.eager);
    ck_assert_uint_eq(loop->adapt.switches, 0);
}
END_TEST

START_TEST(adapt_probes_rarely_while_the_mode_holds)
{
    /* Cycles of 8, 16, 32, then 64 epochs: one probe epoch in each. */
    int64_t now = 1000000000;
    run_epochs(loop, 1 + 8 + 16 + 32, &now, 100000000, 100000000);
    ck_assert_uint_eq(probe_epochs(loop, 10 * 64, &now, 100000000, 100000000), 10);
    ck_assert_uint_eq(loop->adapt.switches, 0);
}
END_TEST

START_TEST(adapt_probes_a_much_slower_mode_more_rarely)
{
    /* Handing over at once takes three times as long: each probe costs
     * two epochs more than a batched one, so the cycles grow by 2 x 3 to
     * 3 x 64 epochs (8, 48, then 192), and one probe in 192 epochs keeps
     * their cost near one epoch in 64. */
    int64_t now = 1000000000;
    run_epochs(loop, 1 + 8 + 48, &now, 100000000, 300000000);
    ck_assert_uint_eq(probe_epochs(loop, 10 * 192, &now, 100000000, 300000000), 10);
    ck_assert_uint_eq(loop->adapt.cycle, 192);
    ck_assert_uint_eq(loop->adapt.switches, 0);
    /* When the probes cost no more than an epoch again, the cycle returns
     * to 64. */
    run_epochs(loop, 2 * 192, &now, 100000000, 100000000);
    ck_assert_uint_eq(loop->adapt.cycle, 64);
}
END_TEST

START_TEST(adapt_pools_probes_whose_single_verdicts_disagree)
{
    /* Handing over at once is faster on average (80 and 106 ms against
     * 100 ms a batched epoch), but single probes say so only every other
     * time: votes alternate, and the pooled epochs decide by the third. */
    int64_t now = 1000000000;
    static const int64_t eager_ns[] = {80000000, 106000000};
    unsigned probes = 0;
    for (unsigned i = 0; i < 1 + 40 * CYCLE && loop->adapt.switches == 0; i++) {
        bool probe = loop->adapt.eager; /* the epoch now ending ran eager */
        run_epochs(loop, 1, &now, 100000000, eager_ns[probes % 2]);
        probes += probe;
    }
    ck_assert(loop->adapt.eager);
    ck_assert_uint_eq(loop->adapt.switches, 1);
    ck_assert_uint_eq(probes, 3);
}
END_TEST

START_TEST(adapt_is_not_fooled_by_a_steady_drift)
{
    /* The device slows down 2 % an epoch, the same in both modes: each
     * probe is compared with the epochs on either side of it. */
    int64_t now = 1000000000, ns = 100000000;
    for (unsigned i = 0; i < 1 + 20 * CYCLE; i++) {
        ns += ns / 50;
        run_epochs(loop, 1, &now, ns, ns);
    }
    ck_assert_uint_eq(loop->adapt.switches, 0);
}
END_TEST

START_TEST(adapt_eager_leaves_a_lone_start_queued)
{
    /* Handed over at once, a lone start would gain nothing (nothing in
     * flight to overlap) and lose tio_wait's one blocking call; a second
     * one goes at once, and takes the first along. */
    int64_t now = 1000000000;
    learn_eager(&now);
    tio_task a = TIO_TASK_INIT, b = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(submit_read(&a), 0);
    ck_assert_uint_eq(F.starts, 0);
    ck_assert_int_eq(submit_read(&b), 0);
    ck_assert_uint_eq(F.starts, 2);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(adapt_counts_the_default_policys_completions_only)
{
    /* The run feeds the learner under the default policy ... */
    for (unsigned i = 0; i < TIO__ADAPT_EPOCH + 1; i++) {
        tio_task t = TIO_TASK_INIT;
        F.next = (script){TIO__COMPLETED, 100, 0};
        ck_assert_int_eq(submit_read(&t), 0);
        ck_assert_int_eq(tio_run(loop, 0), 1);
    }
    ck_assert_uint_ne(loop->adapt.cycle, 0);
    /* ... and never under an explicit one. */
    tio_loop *l = NULL;
    tio_loop_config cfg = {8, 0, NULL, 2};
    ck_assert_int_eq(tio__loop_create_with(&l, &cfg, &fake_backend), 0);
    tio_file *f = make_file(l);
    for (unsigned i = 0; i < 2 * TIO__ADAPT_EPOCH; i++) {
        tio_task t = TIO_TASK_INIT;
        F.next = (script){TIO__COMPLETED, 100, 0};
        ck_assert_int_eq(tio_read(l, &t, f, buf, 100, 0, count_cb), 0);
        ck_assert_int_eq(tio_drain(l), 0);
    }
    ck_assert(!l->adaptive);
    ck_assert_uint_eq(l->adapt.cycle, 0);
    ck_assert_uint_eq(l->submit_batch, 2);
    tio_loop_destroy(l);
    free(f);
}
END_TEST

/* ------------------------------------------- the lone task's run */

/* An engine that keeps one operation going from its callback. */
static int chain_left;

static void chain_cb(tio_task *task, int64_t result)
{
    count_cb(task, result);
    if (--chain_left > 0)
        ck_assert_int_eq(tio_read(loop, task, file, buf, 100, 0, chain_cb), 0);
}

START_TEST(lone_run_starts_waits_and_calls_back)
{
    tio_task t = TIO_TASK_INIT;
    waits_complete(100);
    chain_left = 5;
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 100, 0, chain_cb), 0);
    for (int i = 1; i <= 5; i++) {
        ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
        ck_assert_int_eq(calls, i);
        ck_assert_uint_eq(F.submits, (unsigned)i);
        ck_assert_uint_eq(F.waits, (unsigned)i);
        ck_assert_uint_eq(F.fused, backend->submit_wait != NULL ? (unsigned)i : 0u);
    }
    ck_assert_int_eq(last_result, 100);
    ck_assert_uint_eq(tio_pending(loop), 0);
}
END_TEST

/* The OS's "now, on this thread" (tio__backend.start_now): done at once
 * when the test says so, else declined without asking the OS. */
static bool now_completes;

static uint8_t fake_start_now(tio_loop *l, tio__task *t, unsigned how, tio__sync *s)
{
    (void)l;
    (void)how;
    s->bytes = t->len;
    s->os_error = 0;
    return now_completes ? TIO__COMPLETED : TIO__BUSY;
}

START_TEST(lone_run_delivers_a_start_its_callback_completed_at_once)
{
    static tio__backend now_backend;
    tio_loop_destroy(loop);
    free(file);
    now_backend = *backend;
    now_backend.start_now = fake_start_now;
    ck_assert_int_eq(tio__loop_create_with(&loop, &(tio_loop_config){8, 0, NULL, 0}, &now_backend),
                     0);
    file = make_file(loop);
    now_completes = false;
    tio_task t = TIO_TASK_INIT;
    waits_complete(100);
    chain_left = 2;
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 100, 0, chain_cb), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    /* The run's one start goes to the OS; the callback's start completes
     * in its starting call, and the same run delivers it, as the general
     * run would. */
    now_completes = true;
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 2);
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_eq(F.waits, 1);
    ck_assert_uint_eq(tio_pending(loop), 0);
}
END_TEST

START_TEST(lone_run_continues_a_short_transfer)
{
    tio_task t = TIO_TASK_INIT;
    waits_complete(40);
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_result, 100);
    ck_assert_uint_eq(F.starts, 3); /* 40, 40, then the last 20 */
}
END_TEST

START_TEST(lone_run_woken_returns_without_a_callback)
{
    tio_task t = TIO_TASK_INIT;
    F.wait_rc = TIO__WOKEN;
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__INFLIGHT);
    ck_assert_int_eq(calls, 0);
    F.wait_rc = 0;
    waits_complete(100);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(lone_run_completed_start_needs_no_wait)
{
    tio_task t = TIO_TASK_INIT;
    F.next = (script){TIO__COMPLETED, 100, 0};
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_uint_eq(F.waits, 0);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(lone_run_start_refused_for_room_is_retried)
{
    tio_task t = TIO_TASK_INIT;
    F.busy_left = 1;
    waits_complete(100);
    ck_assert_int_eq(submit_read(&t), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_uint_eq(F.submits, 2);
    ck_assert_uint_eq(F.starts, 1);
    ck_assert_int_eq(last_result, 100);
}
END_TEST

START_TEST(lone_run_zero_length_needs_no_os)
{
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_read(loop, &t, file, buf, 0, 0, count_cb), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_uint_eq(F.submits, 0);
    ck_assert_uint_eq(F.waits, 0);
    ck_assert_int_eq(last_result, 0);
}
END_TEST

START_TEST(submit_batch_one_starts_each_at_once_up_to_the_cap)
{
    tio_loop *l = NULL;
    tio_loop_config cfg = {2, 0, NULL, 1};
    ck_assert_int_eq(tio__loop_create_with(&l, &cfg, backend), 0);
    tio_file *f = make_file(l);
    tio_task t[3];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tio_read(l, &t[i], f, buf, 100, 0, count_cb), 0);
    /* Each from its starting call, the first too; the third waits for room.
     * Each found nothing queued: the backend's entry for one task. */
    ck_assert_uint_eq(F.starts, 2);
    ck_assert_uint_eq(F.singles, backend->submit_single != NULL ? 2u : 0u);
    ck_assert_int_eq(tio__priv(&t[0])->state, TIO__INFLIGHT);
    ck_assert_int_eq(tio__priv(&t[1])->state, TIO__INFLIGHT);
    ck_assert_int_eq(tio__priv(&t[2])->state, TIO__QUEUED);
    os_complete(F.os[0], 100, 0);
    ck_assert_int_eq(tio_run(l, 0), 1);
    ck_assert_uint_eq(F.starts, 3);
    waits_complete(100);
    ck_assert_int_eq(tio_drain(l), 0);
    ck_assert_int_eq(calls, 3);
    tio_loop_destroy(l);
    free(f);
}
END_TEST

/* A start handed over from its starting call (submit_batch 1) reports
 * each outcome as the flush would: a synchronous one from the next run,
 * never inline; a refusal for room retried by the run; a short transfer
 * handed over again for its rest before the starting call returns. */
START_TEST(submit_batch_one_reports_each_outcome_from_the_run)
{
    tio_loop_config cfg = {4, 0, NULL, 1};
    tio_loop *l = NULL;
    ck_assert_int_eq(tio__loop_create_with(&l, &cfg, backend), 0);
    tio_file *f = make_file(l);
    tio_task t = TIO_TASK_INIT;
    unsigned single = backend->submit_single != NULL;

    F.next = (script){TIO__COMPLETED, 100, 0};
    in_submit = 1;
    ck_assert_int_eq(tio_read(l, &t, f, buf, 100, 0, count_cb), 0);
    in_submit = 0;
    ck_assert_int_eq(calls, 0);
    ck_assert_int_eq(tio_run(l, 0), 1);
    ck_assert_int_eq(last_result, 100);

    F.next = (script){TIO__FAILED, 0, RAW_EIO};
    ck_assert_int_eq(tio_read(l, &t, f, buf, 100, 0, count_cb), 0);
    ck_assert_int_eq(tio_run(l, 0), 1);
    ck_assert_int_eq(last_result, TIO_EIO);
    ck_assert_int_eq(tio_os_error(&t), RAW_EIO);

    F.next = (script){TIO__COMPLETED, 40, 0};
    ck_assert_int_eq(tio_read(l, &t, f, buf, 100, 0, count_cb), 0);
    ck_assert_uint_eq(F.starts, 5); /* 40 + 40 + 20, from the starting call */
    ck_assert_uint_eq(F.singles, 3 * single);
    ck_assert_int_eq(tio_run(l, 0), 1);
    ck_assert_int_eq(last_result, 100);

    F.next = (script){TIO__PENDING, 0, 0};
    F.busy_left = 1;
    ck_assert_int_eq(tio_read(l, &t, f, buf, 100, 0, count_cb), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    ck_assert_uint_eq(F.singles, 4 * single);
    ck_assert_int_eq(tio_run(l, 0), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__INFLIGHT);
    os_complete(F.os[0], 100, 0);
    ck_assert_int_eq(tio_run(l, 0), 1);
    ck_assert_int_eq(calls, 4);
    ck_assert_int_eq(last_result, 100);
    /* Each start counted once, under its outcome: the completed ones (the
     * three of the short transfer too), the failed one, the refusal, and
     * the one the run handed over. */
    ck_assert_uint_eq(l->starts[TIO__COMPLETED], 4);
    ck_assert_uint_eq(l->starts[TIO__FAILED], 1);
    ck_assert_uint_eq(l->starts[TIO__BUSY], 1);
    ck_assert_uint_eq(l->starts[TIO__PENDING], 1);
    tio_loop_destroy(l);
    free(f);
}
END_TEST

/* A run with work in the OS's hands and nothing else to do but wait, as
 * the general run would: a wait that ends with nothing done (a signal) is
 * made again, a tio_wake ends the run without a callback, and a failed
 * wait is the run's result. */
START_TEST(waiting_run_waits_until_a_callback_is_due)
{
    tio_task t[2] = {TIO_TASK_INIT, TIO_TASK_INIT};
    ck_assert_int_eq(submit_read(&t[0]), 0);
    ck_assert_int_eq(submit_read(&t[1]), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0); /* both handed over */
    ck_assert_uint_eq(F.nos, 2);

    unsigned waits = F.waits;
    F.wait_rc = TIO__WOKEN;
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 0);
    ck_assert_uint_eq(F.waits, waits + 1);
    ck_assert_int_eq(calls, 0);

    F.wait_rc = TIO_EIO;
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), TIO_EIO);
    ck_assert_uint_eq(F.waits, waits + 2);
    ck_assert_int_eq(calls, 0);

    F.wait_rc = 0;
    F.idle_waits = 2;
    waits_complete(100);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_uint_eq(F.waits, waits + 5);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(tio__priv(&t[1])->state, TIO__INFLIGHT);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_eq(tio_pending(loop), 0);
}
END_TEST

/* The lone run's cases, and the starting call's hand-over of one task: run
 * with and without the backend's entries for one task. */
static void add_lone_run_tests(TCase *tc)
{
    tcase_add_test(tc, lone_run_starts_waits_and_calls_back);
    tcase_add_test(tc, lone_run_delivers_a_start_its_callback_completed_at_once);
    tcase_add_test(tc, lone_run_continues_a_short_transfer);
    tcase_add_test(tc, lone_run_woken_returns_without_a_callback);
    tcase_add_test(tc, lone_run_completed_start_needs_no_wait);
    tcase_add_test(tc, lone_run_start_refused_for_room_is_retried);
    tcase_add_test(tc, lone_run_zero_length_needs_no_os);
    tcase_add_test(tc, submit_batch_one_starts_each_at_once_up_to_the_cap);
    tcase_add_test(tc, submit_batch_one_reports_each_outcome_from_the_run);
    tcase_add_test(tc, waiting_run_waits_until_a_callback_is_due);
}

static Suite *suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("three_way");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sync_completed_is_queued_then_delivered_by_run);
    tcase_add_test(tc, sync_failed_reports_code_and_os_error);
    tcase_add_test(tc, pending_completes_when_the_os_reports);
    tcase_add_test(tc, busy_keeps_task_queued_until_a_later_run);
    tcase_add_test(tc, sync_completions_respect_the_callback_budget);
    tcase_add_test(tc, wait_is_a_poll_while_callbacks_are_due);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cancel_queued_never_reaches_the_backend);
    tcase_add_test(tc, cancel_inflight_asks_the_backend_once);
    tcase_add_test(tc, cancel_after_os_finished_reports_real_result);
    tcase_add_test(tc, cancel_of_done_task_changes_nothing);
    tcase_add_test(tc, cancel_idle_task_is_enoent);
    tcase_add_test(tc, generation_advances_so_stale_cancels_miss);
    tcase_add_test(tc, transient_requeue_restarts_the_task);
    tcase_add_test(tc, requeue_of_cancelled_task_reports_canceled);
    tcase_add_test(tc, short_write_is_continued_to_the_whole_length);
    tcase_add_test(tc, short_vectored_attempt_is_continued_leg_by_leg);
    tcase_add_test(tc, vectored_read_without_backend_support_goes_in_legs_to_end_of_file);
    tcase_add_test(tc, vectored_error_after_a_leg_reports_the_bytes);
    tcase_add_test(tc, short_file_read_is_continued_until_end_of_file);
    tcase_add_test(tc, stream_read_returns_what_is_there);
    tcase_add_test(tc, error_after_some_bytes_reports_the_bytes);
    tcase_add_test(tc, cancelled_result_carries_no_os_error);
    tcase_add_test(tc, transient_start_failure_waits_for_work_in_flight);
    tcase_add_test(tc, transient_start_failure_alone_is_a_failure);
    tcase_add_test(tc, deadline_passed_before_the_run_never_reaches_the_backend);
    tcase_add_test(tc, stream_writes_reach_the_os_one_at_a_time_in_order);
    tcase_add_test(tc, stream_operations_are_not_capped_by_queue_depth);
    tcase_add_test(tc, ptrset_agrees_with_a_reference_array);
    tcase_add_test(tc, transient_start_failures_end_the_flush);
    tcase_add_test(tc, short_synchronous_completions_are_continued_in_the_same_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("adapt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, adapt_hands_over_at_once_when_that_is_faster);
    tcase_add_test(tc, adapt_returns_to_batches_when_they_become_faster);
    tcase_add_test(tc, adapt_stays_batched_when_both_modes_are_as_fast);
    tcase_add_test(tc, adapt_probes_rarely_while_the_mode_holds);
    tcase_add_test(tc, adapt_probes_a_much_slower_mode_more_rarely);
    tcase_add_test(tc, adapt_pools_probes_whose_single_verdicts_disagree);
    tcase_add_test(tc, adapt_is_not_fooled_by_a_steady_drift);
    tcase_add_test(tc, adapt_eager_leaves_a_lone_start_queued);
    tcase_add_test(tc, adapt_counts_the_default_policys_completions_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("lone_run");
    tcase_add_checked_fixture(tc, setup, teardown);
    add_lone_run_tests(tc);
    suite_add_tcase(s, tc);

    tc = tcase_create("lone_run_fused");
    tcase_add_checked_fixture(tc, setup_fused, teardown_fused);
    add_lone_run_tests(tc);
    suite_add_tcase(s, tc);

    tc = tcase_create("timers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, timeout_cancels_with_etimedout);
    tcase_add_test(tc, timeout_on_queued_task_never_starts_it);
    tcase_add_test(tc, completion_before_deadline_clears_the_timer);
    tcase_add_test(tc, timeout_on_sleep_is_einval);
    tcase_add_test(tc, wait_expires_and_task_stays_pending);
    tcase_add_test(tc, heap_orders_by_deadline_then_arming_order);
    tcase_add_test(tc, cancelled_sleeps_leave_the_rest_in_order);
    tcase_add_test(tc, sleeps_fire_in_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, run_from_a_callback_is_ebusy);
    tcase_add_test(tc, destroy_cancels_queued_inflight_and_sleeping);
    tcase_add_test(tc, validation_rejects_without_state_change);
    tcase_add_test(tc, errno_mapping_is_explicit);
#ifdef _WIN32
    tcase_add_test(tc, win32_error_mapping_is_explicit);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
