/* SPDX-License-Identifier: MIT */
/*
 * timeouts.c: conformance, timeouts and sleeps.
 *
 * Deadlines (tio_timeout, semantic 7) fire no earlier than asked and not
 * on a task that finished or was reused; sleeps complete in deadline order,
 * equal ones in submission order; tio_wait's own timeout leaves the task
 * pending.
 */
#include "harness.h"

START_TEST(timeout_fires_on_pending_pipe_read_not_before_deadline)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_timeout(loop, &t, 100 * MS), 0);
    poll_until_calls(loop, &c, 1);
    int64_t elapsed = c.t_done - t0;
    ck_assert_int_eq(c.result, TIO_ETIMEDOUT);
    ck_assert_msg(elapsed >= 100 * MS, "timed out after %lld ns, deadline 100 ms",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 5 * SEC, "timed out only after %lld ns", (long long)elapsed);
    ck_assert_uint_eq(tio_pending(loop), 0);
    /* the pipe still works and lost nothing */
    write_all_fd(p[1], "later", 5);
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 5);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(timeout_does_not_fire_when_task_completes_first)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "tmo", 4096, 33, &data);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    unsigned char buf[4096];
    ck_assert_int_eq(s_read(loop, &t, f, buf, 4096, 0, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * SEC), 0);
    int64_t t0 = now_ns();
    drain(loop);
    int64_t elapsed = now_ns() - t0;
    ck_assert_msg(elapsed < 3 * SEC, "tio_drain waited %lld ns (for the timeout?)",
                  (long long)elapsed);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, 4096);
    ck_assert(memcmp(buf, data, 4096) == 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, MS), TIO_ENOENT);
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(stale_timeout_does_not_hit_reuse_of_the_task)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "staletmo", 512, 34, NULL);
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[512];
    ck_assert_int_eq(s_read(loop, &t, f, buf, 512, 0, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 150 * MS), 0);
    drain(loop);
    ck_assert_int_eq(c.result, 512);
    /* reuse past the old deadline */
    ck_assert_int_eq(s_read(loop, &t, pr, buf, 16, 0, count_cb), 0);
    int64_t t0 = now_ns();
    while (now_ns() - t0 < 400 * MS)
        ck_assert_int_ge(tio_run(loop, 50 * MS), 0);
    ck_assert_msg(c.calls == 1, "the old deadline hit the reused task: result %lld",
                  (long long)c.result);
    ck_assert_uint_eq(tio_pending(loop), 1);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    close_file(f);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(timeout_replaces_an_earlier_deadline)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    /* long, then short: fires at the short one */
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * SEC), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_timeout(loop, &t, 60 * MS), 0);
    poll_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, TIO_ETIMEDOUT);
    ck_assert_int_ge(c.t_done - t0, 60 * MS);
    ck_assert_int_lt(c.t_done - t0, 5 * SEC);
    /* short, then long: the short one no longer applies */
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 30 * MS), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 300 * MS), TIO_ETIMEDOUT); /* the wait expired */
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(sleeps_complete_in_deadline_order_not_before_requested)
{
    tio_loop *loop = new_loop();
    static const int ms[3] = {30, 10, 20};
    tio_task t[3];
    tcx c[3];
    for (int i = 0; i < 3; i++) {
        task_init(&t[i], &c[i]);
        c[i].t_submit = now_ns();
        ck_assert_int_eq(s_sleep(loop, &t[i], (uint64_t)ms[i] * MS, count_cb), 0);
    }
    drain(loop);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(c[i].calls, 1);
        ck_assert_int_eq(c[i].result, 0);
        int64_t el = c[i].t_done - c[i].t_submit;
        ck_assert_msg(el >= ms[i] * MS, "sleep of %d ms completed after %lld ns", ms[i],
                      (long long)el);
        ck_assert_int_lt(el, 5 * SEC);
    }
    ck_assert_int_lt(c[1].order, c[2].order); /* 10 before 20 */
    ck_assert_int_lt(c[2].order, c[0].order); /* 20 before 30 */
    end_loop(loop);
}
END_TEST

START_TEST(equal_sleeps_complete_in_submission_order)
{
    tio_loop *loop = new_loop();
    enum { N = 8 };
    tio_task t[N];
    tcx c[N];
    for (int i = 0; i < N; i++) {
        task_init(&t[i], &c[i]);
        ck_assert_int_eq(s_sleep(loop, &t[i], 20 * MS, count_cb), 0);
    }
    drain(loop);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i].calls, 1);
        ck_assert_int_eq(c[i].result, 0);
        if (i > 0)
            ck_assert_msg(c[i - 1].order < c[i].order,
                          "sleep %d completed before sleep %d of equal length", i, i - 1);
    }
    end_loop(loop);
}
END_TEST

START_TEST(wait_expires_with_etimedout_and_task_stays_pending)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_wait(loop, &t, 50 * MS), TIO_ETIMEDOUT);
    int64_t el = now_ns() - t0;
    ck_assert_msg(el >= 50 * MS, "tio_wait(50 ms) expired after %lld ns", (long long)el);
    ck_assert_int_lt(el, 5 * SEC);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_uint_eq(tio_pending(loop), 1);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

void add_timeouts_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("timeouts", 60);
        tcase_add_test(tc, timeout_fires_on_pending_pipe_read_not_before_deadline);
        tcase_add_test(tc, timeout_does_not_fire_when_task_completes_first);
        tcase_add_test(tc, stale_timeout_does_not_hit_reuse_of_the_task);
        tcase_add_test(tc, timeout_replaces_an_earlier_deadline);
        tcase_add_test(tc, sleeps_complete_in_deadline_order_not_before_requested);
        tcase_add_test(tc, equal_sleeps_complete_in_submission_order);
        tcase_add_test(tc, wait_expires_with_etimedout_and_task_stays_pending);
        suite_add_tcase(s, tc);
    }
}
