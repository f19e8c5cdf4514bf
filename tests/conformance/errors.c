/* SPDX-License-Identifier: MIT */
/*
 * errors.c: conformance, errors.
 *
 * What the OS reports arrives as the same TIO_E* everywhere, with an
 * explanation in tio_last_error (opening a missing path, an existing one
 * with TIO_EXCL); tio_strerror describes every code. Misuse that the
 * library itself refuses is tested once, in reliability/hostile.c's table.
 */
#include "harness.h"

START_TEST(null_arguments_rejected_with_einval_and_no_callback)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "null", 64, 14, &data);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    unsigned char buf[64];

    ck_assert_int_eq(s_read(NULL, &t, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_read(loop, NULL, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_read(loop, &t, NULL, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_read(loop, &t, f, NULL, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_read(loop, &t, f, buf, 16, 0, NULL), TIO_EINVAL);

    ck_assert_int_eq(s_write(NULL, &t, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, NULL, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, NULL, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, f, NULL, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, f, buf, 16, 0, NULL), TIO_EINVAL);

    ck_assert_int_eq(s_fsync(NULL, &t, f, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_fsync(loop, NULL, f, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_fsync(loop, &t, NULL, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_fsync(loop, &t, f, 0, NULL), TIO_EINVAL);

    ck_assert_int_eq(s_sleep(NULL, &t, MS, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_sleep(loop, NULL, MS, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_sleep(loop, &t, MS, NULL), TIO_EINVAL);

    ck_assert_int_eq(tio_cancel(NULL, &t), TIO_EINVAL);
    ck_assert_int_eq(tio_cancel(loop, NULL), TIO_EINVAL);
    ck_assert_int_eq(tio_cancel_file(NULL, f), TIO_EINVAL);
    ck_assert_int_eq(tio_cancel_file(loop, NULL), TIO_EINVAL);
    ck_assert_int_eq(tio_timeout(NULL, &t, MS), TIO_EINVAL);
    ck_assert_int_eq(tio_timeout(loop, NULL, MS), TIO_EINVAL);

    /* Nothing was accepted: nothing pending, no callback ever. */
    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(c.calls, 0);
    /* The task stayed idle and is usable. */
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT);
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(s_read(loop, &t, f, buf, 64, 0, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 64);
    ck_assert_int_eq(c.calls, 1);
    ck_assert(memcmp(buf, data, 64) == 0);

    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(length_over_max_io_rejected_with_einval)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "maxio", 100, 15, &data);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    unsigned char buf[128];

    ck_assert_int_eq(s_read(loop, &t, f, buf, TIO_MAX_IO + 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, f, buf, TIO_MAX_IO + 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_read(loop, &t, f, buf, SIZE_MAX, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, f, buf, SIZE_MAX, 0, count_cb), TIO_EINVAL);
    /* offset + len beyond INT64_MAX */
    ck_assert_int_eq(s_read(loop, &t, f, buf, 16, (uint64_t)INT64_MAX - 8, count_cb),
                     TIO_EINVAL);
    ck_assert_int_eq(s_write(loop, &t, f, buf, 16, UINT64_MAX, count_cb), TIO_EINVAL);
    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(c.calls, 0);

    /* Exactly TIO_MAX_IO is accepted: a 1 GiB read of a 100-byte file gives 100. */
    unsigned char *big = malloc(TIO_MAX_IO);
    if (big) {
        ck_assert_int_eq(s_read(loop, &t, f, big, TIO_MAX_IO, 0, count_cb), 0);
        ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 100);
        ck_assert(memcmp(big, data, 100) == 0);
        free(big);
    } else {
        fprintf(stderr, "NOTE: length_over_max_io: no 1 GiB of address space, "
                        "boundary check (len == TIO_MAX_IO accepted) not run\n");
    }
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(write_on_read_only_file_gives_ebadf_at_submission)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("rdonly");
    tio_file *f = open_file(loop, path, TIO_CREATE | TIO_RDWR);
    unsigned char buf[64];
    fill_pattern(buf, sizeof buf, 16);
    ck_assert_int_eq(write_wait(loop, f, buf, 64, 0), 64);
    close_file(f);

    tio_task t;
    tcx c;
    task_init(&t, &c);
    tio_file *ro = open_file(loop, path, TIO_RDONLY);
    ck_assert_int_eq(s_write(loop, &t, ro, buf, 64, 0, count_cb), TIO_EBADF);
    tio_file *wo = open_file(loop, path, TIO_WRONLY);
    ck_assert_int_eq(s_read(loop, &t, wo, buf, 64, 0, count_cb), TIO_EBADF);

    /* Wrapped pipe ends too: one taskio reads, one taskio writes. */
    tio_handle p[2], q[2];
    make_pipe(p);
    make_pipe_out(q);
    tio_file *pr = wrap_handle(loop, p[0], TIO_RDONLY);
    tio_file *pw = wrap_handle(loop, q[1], TIO_WRONLY);
    ck_assert_int_eq(s_write(loop, &t, pr, buf, 8, 0, count_cb), TIO_EBADF);
    ck_assert_int_eq(s_read(loop, &t, pw, buf, 8, 0, count_cb), TIO_EBADF);

    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT);
    /* the read-only file still reads */
    unsigned char back[64];
    ck_assert_int_eq(read_wait(loop, ro, back, 64, 0), 64);
    ck_assert(memcmp(back, buf, 64) == 0);

    close_file(ro);
    close_file(wo);
    close_file(pr);
    close_file(pw);
    close_fd(p[0]);
    close_fd(p[1]);
    close_fd(q[0]);
    close_fd(q[1]);
    end_loop(loop);
}
END_TEST

START_TEST(open_missing_path_without_create_gives_enoent)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("missing");
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_open(loop, &f, path, TIO_RDWR, 0644), TIO_ENOENT);
    ck_assert_int_eq(tio_file_open(loop, &f, path, TIO_RDONLY, 0644), TIO_ENOENT);
    const char *why = tio_last_error(loop);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, path) != NULL, "tio_last_error does not name the path: \"%s\"",
                  why);
    end_loop(loop);
}
END_TEST

START_TEST(open_existing_with_create_excl_gives_eexist)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("excl");
    tio_file *f = open_file(loop, path, TIO_CREATE | TIO_EXCL | TIO_RDWR);
    close_file(f);
    tio_file *g = NULL;
    ck_assert_int_eq(tio_file_open(loop, &g, path, TIO_CREATE | TIO_EXCL | TIO_RDWR, 0644),
                     TIO_EEXIST);
    /* without EXCL it opens */
    g = open_file(loop, path, TIO_CREATE | TIO_RDWR);
    close_file(g);
    end_loop(loop);
}
END_TEST

START_TEST(file_of_another_loop_rejected_with_einval)
{
    tio_loop *other = new_loop();
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "otherloop", 100, 20, NULL);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(other, &t, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_write(other, &t, f, buf, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_cancel_file(other, f), TIO_EINVAL);
    /* a task pending on `loop` is not `other`'s to cancel */
    ck_assert_int_eq(s_read(loop, &t, f, buf, 16, 0, count_cb), 0);
    ck_assert_int_eq(tio_cancel(other, &t), TIO_EINVAL);
    ck_assert_uint_eq(tio_pending(other), 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, 16);
    close_file(f);
    tio_loop_destroy(other);
    end_loop(loop);
}
END_TEST

START_TEST(submitting_pending_task_gives_ebusy)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_file *f = file_with_data(loop, "ebusy", 100, 21, NULL);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16], other[16];

    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    /* queued, not yet at the OS */
    ck_assert_int_eq(s_read(loop, &t, f, other, 16, 0, count_cb), TIO_EBUSY);
    ck_assert_int_eq(s_write(loop, &t, f, other, 16, 0, count_cb), TIO_EBUSY);
    ck_assert_int_eq(s_fsync(loop, &t, f, 0, count_cb), TIO_EBUSY);
    ck_assert_int_eq(s_sleep(loop, &t, MS, count_cb), TIO_EBUSY);
    settle(loop);
    /* at the OS */
    ck_assert_int_eq(s_read(loop, &t, f, other, 16, 0, count_cb), TIO_EBUSY);
    ck_assert_int_eq(s_sleep(loop, &t, MS, count_cb), TIO_EBUSY);
    ck_assert_uint_eq(tio_pending(loop), 1);

    write_all_fd(p[1], "abcde", 5);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 5);
    ck_assert_int_eq(c.calls, 1);
    ck_assert(memcmp(buf, "abcde", 5) == 0);
    /* idle again: reusable */
    ck_assert_int_eq(s_sleep(loop, &t, MS, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(c.calls, 2);

    close_file(pr);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

START_TEST(cancel_idle_task_gives_enoent)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "cancelidle", 100, 29, NULL);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT); /* never used */
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, f, NULL, 16, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT); /* rejected */
    ck_assert_int_eq(s_read(loop, &t, f, buf, 16, 0, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 16);
    ck_assert_int_eq(tio_cancel(loop, &t), TIO_ENOENT); /* completed */
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, 16);
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(timeout_on_idle_task_gives_enoent)
{
    tio_loop *loop = new_loop();
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * MS), TIO_ENOENT);
    ck_assert_int_eq(s_sleep(loop, &t, MS, count_cb), 0);
    /* a sleep is a timer already */
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * MS), TIO_EINVAL);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 10 * MS), TIO_ENOENT);
    ck_assert_int_eq(c.calls, 1);
    end_loop(loop);
}
END_TEST

START_TEST(submit_batch_over_queue_depth_is_einval)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    cfg.queue_depth = 8;
    cfg.submit_batch = 9;
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), TIO_EINVAL);
    ck_assert_ptr_null(loop);
    ck_assert_msg(strstr(tio_last_error(NULL), "submit_batch") != NULL, "reason: %s",
                  tio_last_error(NULL));
    cfg.submit_batch = 8;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    g_loop_thread = self_thread();
    end_loop(loop);
}
END_TEST

START_TEST(strerror_describes_every_code)
{
    static const int codes[] = {
        TIO_EINVAL, TIO_EBUSY,  TIO_ENOENT, TIO_ECANCELED, TIO_ETIMEDOUT, TIO_EACCES,
        TIO_EEXIST, TIO_EBADF,  TIO_ENOSPC, TIO_EIO,       TIO_ENOMEM,    TIO_ENOTSUP,
        TIO_EPIPE,  TIO_EISDIR, TIO_EROFS,  TIO_EFBIG,     TIO_EOTHER,
    };
    enum { N = sizeof codes / sizeof codes[0] };
    ck_assert_int_eq(N, 17);
    for (int i = 0; i < N; i++) {
        const char *s = tio_strerror(codes[i]);
        ck_assert_msg(s != NULL && s[0] != '\0', "tio_strerror(%d) is empty", codes[i]);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, tio_strerror(codes[j])) != 0,
                          "tio_strerror(%d) == tio_strerror(%d): \"%s\"", codes[i], codes[j],
                          s);
    }
    const char *ok = tio_strerror(0);
    ck_assert(ok != NULL && ok[0] != '\0');
    ck_assert(tio_strerror(4096) != NULL && tio_strerror(4096)[0] != '\0');
    ck_assert(tio_strerror(-9999) != NULL && tio_strerror(-9999)[0] != '\0');
}
END_TEST

/* ================================================================ suite */

void add_errors_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("errors", 60);
        tcase_add_test(tc, null_arguments_rejected_with_einval_and_no_callback);
        tcase_add_test(tc, length_over_max_io_rejected_with_einval);
        tcase_add_test(tc, write_on_read_only_file_gives_ebadf_at_submission);
        tcase_add_test(tc, open_missing_path_without_create_gives_enoent);
        tcase_add_test(tc, open_existing_with_create_excl_gives_eexist);
        tcase_add_test(tc, file_of_another_loop_rejected_with_einval);
        tcase_add_test(tc, submitting_pending_task_gives_ebusy);
        tcase_add_test(tc, cancel_idle_task_gives_enoent);
        tcase_add_test(tc, timeout_on_idle_task_gives_enoent);
        tcase_add_test(tc, submit_batch_over_queue_depth_is_einval);
        tcase_add_test(tc, strerror_describes_every_code);
        suite_add_tcase(s, tc);
    }
}
