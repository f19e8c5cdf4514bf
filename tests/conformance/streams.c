/* SPDX-License-Identifier: MIT */
/*
 * streams.c: conformance, streams.
 *
 * Pipes (and so sockets) wrapped with tio_file_wrap: a read gives what is
 * there, 0 once the writer has gone (semantic 4), a write to a closed
 * reader TIO_EPIPE (semantic 14); a non-blocking descriptor waits for
 * readiness instead of spinning; a wrapped handle stays the caller's.
 */
#include "harness.h"

#ifndef _WIN32
#  include <fcntl.h>
#  include <sys/resource.h>
#endif

START_TEST(wrapped_handle_is_reported_and_not_closed_by_file_close)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    ck_assert_msg(tio_file_handle(pr) == p[0], "tio_file_handle is not the wrapped handle");
    ck_assert_int_eq(tio_file_is_direct(pr), 0);
    close_file(pr);
    ck_assert_msg(fd_is_open(p[0]), "tio_file_close closed a wrapped handle");
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

START_TEST(pipe_read_with_data_available_returns_it)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    write_all_fd(p[1], "0123456789", 10);
    char buf[64];
    memset(buf, 0, sizeof buf);
    /* a pipe read gives what is there, not a full buffer */
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 10);
    ck_assert(memcmp(buf, "0123456789", 10) == 0);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(pipe_read_whose_writer_has_closed_returns_zero)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    write_all_fd(p[1], "abc", 3);
    close_fd(p[1]);
    char buf[16];
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 3);
    ck_assert(memcmp(buf, "abc", 3) == 0);
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 0);
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 0);
    close_file(pr);
    close_fd(p[0]);
    end_loop(loop);
}
END_TEST

START_TEST(pending_pipe_read_completes_with_zero_when_writer_closes)
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
    ck_assert_int_eq(c.calls, 0);
    close_fd(p[1]);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(c.calls, 1);
    close_file(pr);
    close_fd(p[0]);
    end_loop(loop);
}
END_TEST

START_TEST(pipe_write_whose_reader_has_closed_reports_epipe)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe_out(p);
    close_fd(p[0]);
    tio_file *pw = wrap_handle(loop, p[1], TIO_WRONLY);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_write(loop, &t, pw, "hello", 5, 0, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), TIO_EPIPE);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_ne(tio_os_error(&t), 0);
    close_file(pw);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

#ifndef _WIN32
/* User + system CPU time of the whole process (workers included). */
static int64_t cpu_ns(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * SEC +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* An O_NONBLOCK pipe (sockets are usually so): the OS says "would block"
 * (EAGAIN) instead of waiting; the library waits for readiness itself, so
 * the read pends, completes with the data once written, and can be
 * cancelled while it waits. */
START_TEST(nonblocking_pipe_read_waits_for_data_and_cancels)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe(p);
    int fl = fcntl(p[0], F_GETFL);
    ck_assert_int_eq(fcntl(p[0], F_SETFL, fl | O_NONBLOCK), 0);
    tio_file *pr = wrap_handle(loop, p[0], TIO_RDONLY);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    /* Waiting, not spinning: CPU time over a 200 ms wait stays far below it. */
    int64_t cpu0 = cpu_ns();
    ck_assert_int_eq(tio_wait(loop, &t, 200 * MSEC), TIO_ETIMEDOUT);
    int64_t cpu = cpu_ns() - cpu0;
    ck_assert_msg(cpu < 100 * MSEC,
                  "the loop spun while the stream had no data: %lld ns of "
                  "CPU in a 200 ms wait",
                  (long long)cpu);
    ck_assert_int_eq(c.calls, 0);
    write_all_fd(p[1], "abc", 3);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 3);
    ck_assert(memcmp(buf, "abc", 3) == 0);

    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 50 * MSEC), TIO_ETIMEDOUT);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), TIO_ECANCELED);
    ck_assert_int_eq(c.calls, 2);
    /* nothing was consumed by the cancelled read */
    write_all_fd(p[1], "z", 1);
    ck_assert_int_eq(read_wait(loop, pr, buf, sizeof buf, 0), 1);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST
#endif

/* ================================================================ suite */

void add_streams_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("streams", 60);
        tcase_add_test(tc, wrapped_handle_is_reported_and_not_closed_by_file_close);
        tcase_add_test(tc, pipe_read_with_data_available_returns_it);
        tcase_add_test(tc, pipe_read_whose_writer_has_closed_returns_zero);
        tcase_add_test(tc, pending_pipe_read_completes_with_zero_when_writer_closes);
        tcase_add_test(tc, pipe_write_whose_reader_has_closed_reports_epipe);
#ifndef _WIN32
        tcase_add_test(tc, nonblocking_pipe_read_waits_for_data_and_cancels);
#endif
        suite_add_tcase(s, tc);
    }
}
