/* SPDX-License-Identifier: MIT */
/*
 * shutdown.c: conformance, shutdown.
 *
 * tio_loop_destroy with pending tasks cancels each and runs its callback
 * once; tio_file_close is refused while the file has pending tasks
 * (semantic 9).
 */
#include "harness.h"

START_TEST(file_close_refused_while_task_pending_then_succeeds_after_drain)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_file_close(pr), TIO_EBUSY); /* queued */
    settle(loop);
    ck_assert_int_eq(tio_file_close(pr), TIO_EBUSY); /* at the OS */
    /* the refused close changed nothing: the read still completes */
    write_all_fd(p[1], "hello", 5);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert_int_eq(tio_file_close(pr), 0);

    /* a regular file with a queued read */
    tio_file *f = file_with_data(loop, "closebusy", 100, 19, NULL);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_file_close(f), TIO_EBUSY);
    drain(loop);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_int_eq(c.result, 16);
    ck_assert_int_eq(tio_file_close(f), 0);

    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

START_TEST(loop_destroy_runs_each_pending_callback_once_with_canceled)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_file *f = file_with_data(loop, "destroy", 4096, 36, NULL);
    enum { N = 5 };
    tio_task t[N];
    tcx c[N];
    char bufs[N][4096];
    for (int i = 0; i < N; i++)
        task_init(&t[i], &c[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(s_read(loop, &t[i], pr, bufs[i], 16, 0, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[3], 10 * SEC, count_cb), 0);
    settle(loop); /* pipe reads at the OS, the sleep armed */
    memset(bufs[4], 0xEE, 4096);
    ck_assert_int_eq(s_read(loop, &t[4], f, bufs[4], 4096, 0, count_cb), 0); /* queued */
    ck_assert_uint_eq(tio_pending(loop), 5);
    int64_t t0 = now_ns();
    end_loop(loop); /* files left open: destroy closes them */
    ck_assert_int_lt(now_ns() - t0, 5 * SEC);
    for (int i = 0; i < N - 1; i++) {
        ck_assert_msg(c[i].calls == 1, "task %d: %d callbacks in destroy", i, c[i].calls);
        ck_assert_msg(c[i].result == TIO_ECANCELED, "task %d: %lld, want TIO_ECANCELED", i,
                      (long long)c[i].result);
    }
    ck_assert_msg(cancelled_before_run_ok(&c[4], 4096), "task 4: %d callbacks, result %lld",
                  c[4].calls, (long long)c[4].result);
    if (c[4].result == TIO_ECANCELED)
        ck_assert(all_bytes(bufs[4], 4096, 0xEE));
    ck_assert_msg(fd_is_open(p[0]), "destroy closed a wrapped handle");
    close_fd(p[0]);
    close_fd(p[1]);
}
END_TEST

/* ================================================================ suite */

void add_shutdown_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("shutdown", 60);
        tcase_add_test(tc, file_close_refused_while_task_pending_then_succeeds_after_drain);
        tcase_add_test(tc, loop_destroy_runs_each_pending_callback_once_with_canceled);
        suite_add_tcase(s, tc);
    }
}
