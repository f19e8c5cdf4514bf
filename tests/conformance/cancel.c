/* SPDX-License-Identifier: MIT */
/*
 * cancel.c: conformance, cancellation.
 *
 * tio_cancel and tio_cancel_file (semantic 5): one callback, TIO_ECANCELED
 * or the real result, always TIO_ECANCELED before the OS saw the task; a
 * cancel never hits a later use of the task; buffers are released by the
 * callback even when the OS finished a cancelled direct read (semantic 6).
 */
#include "harness.h"

START_TEST(cancel_pending_pipe_read_reports_canceled)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(c.calls, 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    ck_assert_int_eq(t.result, TIO_ECANCELED);
    /* the pipe's data was not eaten by the cancelled read */
    write_all_fd(p[1], "xy", 2);
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 2);
    ck_assert(memcmp(buf, "xy", 2) == 0);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(cancel_queued_task_always_reports_canceled)
{
    tio_loop *loop = new_loop_in_run();
    tio_file *f = file_with_data(loop, "cancelq", 4096, 27, NULL);
    tio_file *empty = open_file(loop, scratch("cancelqw"), TIO_CREATE | TIO_RDWR);
    enum { N = 4 };
    tio_task t[N];
    tcx c[N];
    for (int i = 0; i < N; i++)
        task_init(&t[i], &c[i]);
    unsigned char rbuf[4096], wbuf[4096];
    memset(rbuf, 0xEE, sizeof rbuf);
    fill_pattern(wbuf, sizeof wbuf, 28);

    ck_assert_int_eq(s_read(loop, &t[0], f, rbuf, 4096, 0, count_cb), 0);
    ck_assert_int_eq(s_write(loop, &t[1], empty, wbuf, 4096, 0, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[2], 10 * SEC, count_cb), 0);
    ck_assert_int_eq(s_fsync(loop, &t[3], f, 0, count_cb), 0);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tio_cancel(loop, &t[i]), 0);
        ck_assert_int_eq(c[i].calls, 0);
    }
    int64_t t0 = now_ns();
    drain(loop);
    ck_assert_int_lt(now_ns() - t0, 5 * SEC); /* did not wait for the 10 s sleep */
    static const int64_t real[N] = {4096, 4096, 0, 0};
    for (int i = 0; i < N; i++)
        ck_assert_msg(cancelled_before_run_ok(&c[i], real[i]),
                      "task %d: %d callbacks, result %lld, want TIO_ECANCELED%s", i, c[i].calls,
                      (long long)c[i].result, g_submit_batch ? " or its real result" : "");
    ck_assert_int_eq(c[2].result, TIO_ECANCELED); /* a sleep is never the OS's */
    /* Cancelled: never done by the OS, the read did not fill, the write did
     * not land. Not cancelled (submit_batch only): they did. */
    unsigned char want[4096];
    fill_pattern(want, sizeof want, 27);
    if (c[0].result == TIO_ECANCELED)
        ck_assert(all_bytes(rbuf, sizeof rbuf, 0xEE));
    else
        ck_assert(memcmp(rbuf, want, sizeof rbuf) == 0);
    uint64_t size = 1;
    ck_assert_int_eq(tio_file_size(empty, &size), 0);
    ck_assert_uint_eq(size, c[1].result == TIO_ECANCELED ? 0 : 4096);
    close_file(f);
    close_file(empty);
    end_loop(loop);
}
END_TEST

START_TEST(cancel_twice_gives_exactly_one_callback)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_file *f = file_with_data(loop, "cancel2", 100, 30, NULL);
    tio_task t, q;
    tcx c, qc;
    task_init(&t, &c);
    task_init(&q, &qc);
    char buf[16], qbuf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    int rc = tio_cancel(loop, &t);
    ck_assert_msg(rc == 0 || rc == TIO_ENOENT, "second cancel: %d", rc);
    /* queued task, cancelled twice before the OS saw it */
    ck_assert_int_eq(s_read(loop, &q, f, qbuf, 16, 0, count_cb), 0);
    ck_assert_int_eq(tio_cancel(loop, &q), 0);
    rc = tio_cancel(loop, &q);
    ck_assert_msg(rc == 0 || rc == TIO_ENOENT, "second cancel: %d", rc);
    drain(loop);
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT);
    sleep_ms(20);
    ck_assert_int_eq(tio_run(loop, 20 * MS), 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    ck_assert_msg(cancelled_before_run_ok(&qc, 16), "queued read: %d callbacks, result %lld",
                  qc.calls, (long long)qc.result);
    close_file(pr);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

typedef struct reuse {
    tio_loop *loop;
    tio_file *pipe_file;
    char buf[32];
} reuse;

/* First callback: resubmit the same task as a pipe read. */
static void resubmit_pipe_hook(tio_task *task, tcx *c, int64_t result)
{
    (void)result;
    reuse *r = c->arg;
    if (c->calls == 1) {
        memset(r->buf, 0, sizeof r->buf);
        ck_assert_int_eq(s_read(r->loop, task, r->pipe_file, r->buf, sizeof r->buf, 0, count_cb),
                         0);
    }
}

START_TEST(stale_cancel_does_not_hit_resubmission_from_callback)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    reuse r;
    memset(&r, 0, sizeof r);
    r.loop = loop;
    r.pipe_file = pr;
    tio_task t;
    tcx c;
    task_init(&t, &c);
    c.hook = resubmit_pipe_hook;
    c.arg = &r;
    ck_assert_int_eq(s_read(loop, &t, pr, r.buf, sizeof r.buf, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    run_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    /* the second use is pending and stays so: the old cancel is spent */
    settle(loop);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(tio_pending(loop), 1);
    write_all_fd(p[1], "second use", 10);
    run_until_calls(loop, &c, 2);
    ck_assert_msg(c.result == 10, "second use of the task: %lld, want 10 bytes",
                  (long long)c.result);
    ck_assert(memcmp(r.buf, "second use", 10) == 0);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

typedef struct race {
    tio_loop *loop;
    tio_task *tasks[2];
    tcx *cs[2];
    int cancel_rc;
    int cancelled_idx;
    reuse *r;
} race;

/* Whichever of two completed reads runs first cancels the other, whose
 * completion is already in (or about to be reaped) but whose callback has
 * not run. The other resubmits itself as a pipe read from its callback. */
static void race_hook(tio_task *task, tcx *c, int64_t result)
{
    race *rc = c->arg;
    if (rc->cancelled_idx < 0) {
        int other = task == rc->tasks[0] ? 1 : 0;
        ck_assert_int_eq(rc->cs[other]->calls, 0);
        rc->cancelled_idx = other;
        rc->cancel_rc = tio_cancel(rc->loop, rc->tasks[other]);
        ck_assert_msg(result == 64, "first read: %lld", (long long)result);
        return;
    }
    if (task == rc->tasks[rc->cancelled_idx] && c->calls == 1) {
        ck_assert_msg(result == 64 || result == TIO_ECANCELED, "cancelled read: %lld",
                      (long long)result);
        reuse *r = rc->r;
        memset(r->buf, 0, sizeof r->buf);
        ck_assert_int_eq(s_read(rc->loop, task, r->pipe_file, r->buf, sizeof r->buf, 0, count_cb),
                         0);
    }
}

START_TEST(stale_cancel_of_completed_task_does_not_hit_its_reuse)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "stale", 128, 31, NULL);
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    reuse r;
    memset(&r, 0, sizeof r);
    r.loop = loop;
    r.pipe_file = pr;
    tio_task t[2];
    tcx c[2];
    race rc;
    memset(&rc, 0, sizeof rc);
    rc.loop = loop;
    rc.cancelled_idx = -1;
    rc.r = &r;
    char bufs[2][64];
    for (int i = 0; i < 2; i++) {
        task_init(&t[i], &c[i]);
        c[i].hook = race_hook;
        c[i].arg = &rc;
        rc.tasks[i] = &t[i];
        rc.cs[i] = &c[i];
    }
    ck_assert_int_eq(s_read(loop, &t[0], f, bufs[0], 64, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t[1], f, bufs[1], 64, 64, count_cb), 0);
    /* Hand both to the OS, let both complete there, so that the next run
     * reaps both completions before it runs the first callback. */
    ck_assert_int_ge(tio_run(loop, 0), 0);
    sleep_ms(20);
    int64_t deadline = now_ns() + 10 * SEC;
    while (c[0].calls + c[1].calls < 2) {
        ck_assert_int_ge(tio_run(loop, 50 * MS), 0);
        ck_assert(now_ns() < deadline);
    }
    ck_assert_int_ge(rc.cancelled_idx, 0);
    ck_assert_msg(rc.cancel_rc == 0, "cancel of a task whose callback had not run: %d",
                  rc.cancel_rc);
    int k = rc.cancelled_idx;
    settle(loop);
    ck_assert_int_eq(c[k].calls, 1);
    ck_assert_uint_eq(tio_pending(loop), 1);
    write_all_fd(p[1], "reused", 6);
    run_until_calls(loop, &c[k], 2);
    ck_assert_msg(c[k].result == 6, "reuse after a stale cancel: %lld, want 6 bytes",
                  (long long)c[k].result);
    ck_assert(memcmp(r.buf, "reused", 6) == 0);
    ck_assert_int_eq(c[1 - k].calls, 1);
    close_file(f);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(cancel_file_cancels_only_that_files_pending_tasks)
{
    tio_loop *loop = new_loop_in_run();
    tio_handle pa[2], pb[2];
    make_pipe(pa);
    make_pipe(pb);
    tio_file *fa = wrap_handle(loop, pa[0], TIO_RDONLY);
    tio_file *fb = wrap_handle(loop, pb[0], TIO_RDONLY);
    tio_task a[3], b;
    tcx ac[3], bc;
    char abuf[3][16], bbuf[16];
    for (int i = 0; i < 3; i++) {
        task_init(&a[i], &ac[i]);
        ck_assert_int_eq(s_read(loop, &a[i], fa, abuf[i], 16, 0, count_cb), 0);
    }
    task_init(&b, &bc);
    ck_assert_int_eq(s_read(loop, &b, fb, bbuf, 16, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel_file(loop, fa), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ac[i].calls, 0);
    for (int i = 0; i < 3; i++)
        run_until_calls(loop, &ac[i], 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ac[i].result, TIO_ECANCELED);
    settle(loop);
    ck_assert_int_eq(bc.calls, 0);
    ck_assert_uint_eq(tio_pending(loop), 1);
    ck_assert_int_eq(tio_cancel_file(loop, fa), 0);
    write_all_fd(pb[1], "bee", 3);
    ck_assert_int_eq(tio_wait(loop, &b, 10 * SEC), 3);
    ck_assert(memcmp(bbuf, "bee", 3) == 0);

    /* queued tasks (not yet at the OS) count too */
    tio_file *f = file_with_data(loop, "cancelfile", 100, 32, NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(s_read(loop, &a[i], f, abuf[i], 16, 0, count_cb), 0);
    ck_assert_int_eq(tio_cancel_file(loop, f), 2);
    drain(loop);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ac[i].calls, 2);
        ac[i].calls = 1; /* this use's callback */
        ck_assert_msg(cancelled_before_run_ok(&ac[i], 16), "task %d: %lld", i,
                      (long long)ac[i].result);
    }
    ck_assert_int_eq(tio_cancel_file(loop, f), 0);
    close_file(f);
    close_file(fa);
    close_file(fb);
    close_fd(pa[0]);
    close_fd(pa[1]);
    close_fd(pb[0]);
    close_fd(pb[1]);
    end_loop(loop);
}
END_TEST

#define DC_TASKS 128
#define DC_BLK (64 * 1024)
#define DC_ROUNDS 6

typedef struct dc_slot {
    tio_task task;
    unsigned char *buf;
    int index;
    int calls;
    int64_t result;
    uint64_t sum_in_cb;
    const unsigned char *expect;
} dc_slot;

static void dc_cb(tio_task *task, int64_t result)
{
    dc_slot *s = task->data;
    ck_assert_msg(g_in_submit == 0, "a callback ran inside a submitting call");
    g_callbacks++;
    s->calls++;
    s->result = result;
    ck_assert_msg(result == TIO_ECANCELED || result == DC_BLK,
                  "cancelled direct read %d: %lld, want TIO_ECANCELED or %d", s->index,
                  (long long)result, DC_BLK);
    if (result == DC_BLK)
        ck_assert_msg(memcmp(s->buf, s->expect, DC_BLK) == 0, "direct read %d: wrong data",
                      s->index);
    /* From here on the buffer is ours: anything the OS still wrote would
     * overwrite this fill. */
    memset(s->buf, 0x5A ^ (s->index & 0xFF), DC_BLK);
    s->sum_in_cb = fnv64(s->buf, DC_BLK);
}

START_TEST(direct_cancelled_reads_leave_buffers_untouched_after_callback)
{
    tio_loop *loop = new_loop_qd(32);
    tio_file *f = open_file(loop, scratch("direct-cancel"), TIO_DIRECT | TIO_CREATE | TIO_RDWR);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t align = tio_file_align(f);
    ck_assert_uint_eq(DC_BLK % align, 0);
    unsigned char *content = tio_alloc((size_t)DC_TASKS * DC_BLK, align);
    ck_assert_ptr_nonnull(content);
    fill_pattern(content, (size_t)DC_TASKS * DC_BLK, 38);
    ck_assert_int_eq(write_wait(loop, f, content, (size_t)DC_TASKS * DC_BLK, 0),
                     (int64_t)DC_TASKS * DC_BLK);

    dc_slot *slots = calloc(DC_TASKS, sizeof *slots);
    ck_assert_ptr_nonnull(slots);
    for (int i = 0; i < DC_TASKS; i++) {
        slots[i].buf = tio_alloc(DC_BLK, align);
        ck_assert_ptr_nonnull(slots[i].buf);
        slots[i].index = i;
        slots[i].expect = content + (size_t)i * DC_BLK;
    }
    long requested = 0, cancelled = 0, finished = 0;
    for (int round = 0; round < DC_ROUNDS; round++) {
        for (int i = 0; i < DC_TASKS; i++) {
            dc_slot *s = &slots[i];
            memset(&s->task, 0, sizeof s->task);
            s->task.data = s;
            s->calls = 0;
            memset(s->buf, 0xC3, DC_BLK);
            ck_assert_int_eq(s_read(loop, &s->task, f, s->buf, DC_BLK, (uint64_t)i * DC_BLK, dc_cb),
                             0);
        }
        /* hand some (more each round) to the device before cancelling */
        for (int k = 0; k < round; k++)
            ck_assert_int_ge(tio_run(loop, 0), 0);
        for (int i = 0; i < DC_TASKS; i++) {
            int rc = tio_cancel(loop, &slots[i].task);
            if (rc == 0)
                requested++;
            else
                ck_assert_msg(rc == TIO_ENOENT && slots[i].calls == 1,
                              "tio_cancel of read %d: %d (callbacks so far %d)", i, rc,
                              slots[i].calls);
        }
        drain(loop);
        /* give a misbehaving OS/library time to write late */
        sleep_ms(50);
        ck_assert_int_eq(tio_run(loop, 10 * MS), 0);
        for (int i = 0; i < DC_TASKS; i++) {
            dc_slot *s = &slots[i];
            ck_assert_int_eq(s->calls, 1);
            ck_assert_msg(fnv64(s->buf, DC_BLK) == s->sum_in_cb,
                          "round %d read %d (result %lld): buffer changed after its callback",
                          round, i, (long long)s->result);
            if (s->result == TIO_ECANCELED)
                cancelled++;
            else
                finished++;
        }
    }
    printf("NOTE: cancelled direct reads: %ld cancels requested, %ld TIO_ECANCELED, "
           "%ld finished anyway\n",
           requested, cancelled, finished);
    ck_assert_int_gt(requested, 0);
    /* Some cancel must have won: one of a read still queued, at least. Not
     * so under submit_batch, where a read can be at the OS from its starting
     * call (threads and iocp cap nothing in flight) and the OS may finish
     * each before its cancel (Wine always does for files; threads under
     * TSan did): there only the buffer checks above apply, and the runs
     * without submit_batch cover cancels that win. */
    if (g_submit_batch > 0 && cancelled == 0)
        printf("NOTE: no cancel won: every read was at the OS before its cancel, and the OS "
               "finished each\n");
    else
        ck_assert_int_gt(cancelled, 0);
    for (int i = 0; i < DC_TASKS; i++)
        tio_free(slots[i].buf);
    free(slots);
    tio_free(content);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

void add_cancel_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("cancel", 60);
        tcase_add_test(tc, cancel_pending_pipe_read_reports_canceled);
        tcase_add_test(tc, cancel_queued_task_always_reports_canceled);
        tcase_add_test(tc, cancel_twice_gives_exactly_one_callback);
        tcase_add_test(tc, stale_cancel_does_not_hit_resubmission_from_callback);
        tcase_add_test(tc, stale_cancel_of_completed_task_does_not_hit_its_reuse);
        tcase_add_test(tc, cancel_file_cancels_only_that_files_pending_tasks);
        suite_add_tcase(s, tc);
    }
    if (which == CONF_DIRECT) {
        TCase *tc = new_tcase("cancel-direct", 60);
        tcase_add_test(tc, direct_cancelled_reads_leave_buffers_untouched_after_callback);
        suite_add_tcase(s, tc);
    }
}
