/* SPDX-License-Identifier: MIT */
/*
 * vectored.c: conformance, tio_readv and tio_writev.
 *
 * Segments are filled and written in order as if they were one buffer, with
 * tio_read/tio_write's rules (semantics 4 and 13: reads whole up to end of
 * file, writes whole), buffered and direct; zero-length segments are
 * skipped; every argument rule is a rejection at submission (semantic 3);
 * cancels and deadlines before the run behave as for any task (5, 16).
 */
#include "harness.h"

static int64_t readv_wait(tio_loop *loop, tio_file *f, const tio_buf *bufs, unsigned n,
                          uint64_t off)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    int rc = s_readv(loop, &t, f, bufs, n, off, count_cb);
    ck_assert_msg(rc == 0, "tio_readv: %s (%s)", tio_strerror(rc), tio_last_error(loop));
    int64_t r = tio_wait(loop, &t, 10 * SEC);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(r, c.result);
    return r;
}

static int64_t writev_wait(tio_loop *loop, tio_file *f, const tio_buf *bufs, unsigned n,
                           uint64_t off)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    int rc = s_writev(loop, &t, f, bufs, n, off, count_cb);
    ck_assert_msg(rc == 0, "tio_writev: %s (%s)", tio_strerror(rc), tio_last_error(loop));
    int64_t r = tio_wait(loop, &t, 10 * SEC);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(r, c.result);
    return r;
}

START_TEST(writev_then_readv_round_trip)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("vec"), TIO_CREATE | TIO_RDWR);
    unsigned char *src = malloc(4107), *back = malloc(4200), *dst = malloc(5100);
    ck_assert(src && back && dst);
    fill_pattern(src, 4107, 21);
    tio_buf w[4] = {{src, 100}, {src + 100, 0}, {src + 100, 4000}, {src + 4100, 7}};
    ck_assert_int_eq(writev_wait(loop, f, w, 4, 13), 4107);
    uint64_t size = 0;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    ck_assert_uint_eq(size, 13 + 4107);
    memset(back, 0xEE, 4200);
    ck_assert_int_eq(read_wait(loop, f, back, 4107, 13), 4107);
    ck_assert(memcmp(back, src, 4107) == 0);

    /* Other segment boundaries than the write's, and a NULL empty one. */
    memset(dst, 0xEE, 5100);
    tio_buf r[3] = {{dst, 50}, {NULL, 0}, {dst + 1000, 4057}};
    ck_assert_int_eq(readv_wait(loop, f, r, 3, 13), 4107);
    ck_assert(memcmp(dst, src, 50) == 0);
    ck_assert(all_bytes(dst + 50, 950, 0xEE));
    ck_assert(memcmp(dst + 1000, src + 50, 4057) == 0);
    close_file(f);
    end_loop(loop);
    free(src);
    free(back);
    free(dst);
}
END_TEST

START_TEST(readv_across_eof_returns_existing_bytes)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "veceof", 1000, 22, &data);
    unsigned char buf[1300];
    memset(buf, 0xEE, sizeof buf);
    tio_buf r[3] = {{buf, 300}, {buf + 300, 300}, {buf + 600, 600}};
    ck_assert_int_eq(readv_wait(loop, f, r, 3, 0), 1000);
    ck_assert(memcmp(buf, data, 1000) == 0);
    ck_assert(all_bytes(buf + 1000, sizeof buf - 1000, 0xEE));
    /* Starting in the second segment's range of the file. */
    memset(buf, 0xEE, sizeof buf);
    ck_assert_int_eq(readv_wait(loop, f, r, 3, 550), 450);
    ck_assert(memcmp(buf, data + 550, 450) == 0);
    ck_assert(all_bytes(buf + 450, sizeof buf - 450, 0xEE));
    /* At and past end of file: 0, nothing touched. */
    memset(buf, 0xEE, sizeof buf);
    ck_assert_int_eq(readv_wait(loop, f, r, 3, 1000), 0);
    ck_assert_int_eq(readv_wait(loop, f, r, 3, 5000), 0);
    ck_assert(all_bytes(buf, sizeof buf, 0xEE));
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(vectored_takes_the_most_segments)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("vecmax"), TIO_CREATE | TIO_RDWR);
    enum { N = TIO_MAX_IOV, SEG = 3 };
    unsigned char *src = malloc(N * SEG), *dst = malloc(N * SEG * 2);
    tio_buf *segs = malloc(N * sizeof *segs);
    ck_assert(src && dst && segs);
    fill_pattern(src, N * SEG, 23);
    for (unsigned i = 0; i < N; i++)
        segs[i] = (tio_buf){src + (size_t)i * SEG, SEG};
    ck_assert_int_eq(writev_wait(loop, f, segs, N, 0), N * SEG);
    /* Read back into every other SEG bytes of dst. */
    memset(dst, 0xEE, N * SEG * 2);
    for (unsigned i = 0; i < N; i++)
        segs[i] = (tio_buf){dst + (size_t)i * SEG * 2, SEG};
    ck_assert_int_eq(readv_wait(loop, f, segs, N, 0), N * SEG);
    for (unsigned i = 0; i < N; i++) {
        ck_assert(memcmp(dst + (size_t)i * SEG * 2, src + (size_t)i * SEG, SEG) == 0);
        ck_assert(all_bytes(dst + (size_t)i * SEG * 2 + SEG, SEG, 0xEE));
    }
    close_file(f);
    end_loop(loop);
    free(src);
    free(dst);
    free(segs);
}
END_TEST

START_TEST(readv_of_only_empty_segments_gives_zero)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "vecempty", 100, 24, NULL);
    unsigned char b;
    tio_buf r[2] = {{&b, 0}, {NULL, 0}};
    ck_assert_int_eq(readv_wait(loop, f, r, 2, 0), 0);
    ck_assert_int_eq(writev_wait(loop, f, r, 2, 0), 0);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* Each rule refuses at submission: no callback, the task stays idle (the
 * next, valid, use of the same task is accepted). */
START_TEST(vectored_arguments_are_checked_at_submission)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "vecargs", 100, 25, NULL);
    tio_file *ro = open_file(loop, scratch("vecro"), TIO_CREATE | TIO_RDONLY);
    unsigned char buf[64];
    tio_buf one = {buf, sizeof buf};
    tio_buf bad_base[2] = {{buf, 8}, {NULL, 8}};
    tio_buf huge[2] = {{buf, TIO_MAX_IO / 2 + 1}, {buf, TIO_MAX_IO / 2}};
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_readv(loop, &t, f, NULL, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, &t, f, &one, 0, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, &t, f, &one, TIO_MAX_IOV + 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, &t, f, bad_base, 2, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_writev(loop, &t, f, huge, 2, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, &t, f, &one, 1, (uint64_t)INT64_MAX, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, NULL, f, &one, 1, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(s_readv(loop, &t, f, &one, 1, 0, NULL), TIO_EINVAL);
    ck_assert_int_eq(s_writev(loop, &t, ro, &one, 1, 0, count_cb), TIO_EBADF);

    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    ck_assert_int_eq(s_readv(loop, &t, pr, &one, 1, 0, count_cb), TIO_EINVAL);
    close_pipe_reader(pr, p);

    ck_assert_int_eq(tio_pending(loop), 0);
    ck_assert_int_eq(s_readv(loop, &t, f, &one, 1, 0, count_cb), 0);
    run_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, 100 < sizeof buf ? 100 : (int64_t)sizeof buf);
    close_file(ro);
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(vectored_cancel_and_deadline_before_the_run)
{
    tio_loop *loop = new_loop_in_run();
    tio_file *f = file_with_data(loop, "veccancel", 4096, 26, NULL);
    /* Separate buffers: under submit_batch both go to the OS, at once on
     * the threads backend's workers, and one buffer would be read and
     * written concurrently (a race ThreadSanitizer reports). */
    unsigned char a[100], b[200], wa[100] = {0}, wb[200] = {0};
    tio_buf r[2] = {{a, sizeof a}, {b, sizeof b}};
    tio_buf w[2] = {{wa, sizeof wa}, {wb, sizeof wb}};
    tio_task t1, t2;
    tcx c1, c2;
    task_init(&t1, &c1);
    task_init(&t2, &c2);
    ck_assert_int_eq(s_readv(loop, &t1, f, r, 2, 0, count_cb), 0);
    ck_assert_int_eq(s_writev(loop, &t2, f, w, 2, 0, count_cb), 0);
    ck_assert_int_eq(tio_cancel(loop, &t1), 0);
    ck_assert_int_eq(tio_timeout(loop, &t2, 0), 0);
    drain(loop);
    /* Not yet at the OS: cancelled. Under submit_batch the starting call
     * handed it over, and then what it moved is the result: all of it, or,
     * where the segments go one by one (iocp), the segments done before the
     * cancel (as for any transfer continued in legs). */
    ck_assert_int_eq(c1.calls, 1);
    ck_assert(c1.result == TIO_ECANCELED ||
              (g_submit_batch > 0 && (c1.result == 100 || c1.result == 300)));
    ck_assert_int_eq(c2.calls, 1);
    ck_assert(c2.result == TIO_ETIMEDOUT ||
              (g_submit_batch > 0 && (c2.result == 100 || c2.result == 300)));
    close_file(f);
    end_loop(loop);
}
END_TEST

/* ================================================================ direct */

START_TEST(direct_vectored_round_trip_and_alignment_rules)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("vecdirect"), TIO_CREATE | TIO_RDWR | TIO_DIRECT);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t a = tio_file_align(f);
    unsigned char *src = tio_alloc(4 * a, a), *dst = tio_alloc(5 * a, a);
    ck_assert(src && dst);
    fill_pattern(src, 4 * a, 27);
    tio_buf w[3] = {{src, a}, {src + a, 2 * a}, {src + 3 * a, a}};
    ck_assert_int_eq(writev_wait(loop, f, w, 3, a), (int64_t)(4 * a));
    memset(dst, 0xEE, 5 * a);
    tio_buf r[2] = {{dst + 2 * a, 3 * a}, {dst, a}};
    ck_assert_int_eq(readv_wait(loop, f, r, 2, a), (int64_t)(4 * a));
    ck_assert(memcmp(dst + 2 * a, src, 3 * a) == 0);
    ck_assert(memcmp(dst, src + 3 * a, a) == 0);
    ck_assert(all_bytes(dst + a, a, 0xEE));

    /* Across end of file (5a): the bytes that exist. */
    memset(dst, 0xEE, 5 * a);
    tio_buf across[2] = {{dst, a}, {dst + a, 4 * a}};
    ck_assert_int_eq(readv_wait(loop, f, across, 2, 3 * a), (int64_t)(2 * a));
    ck_assert(memcmp(dst, src + 2 * a, 2 * a) == 0);

    if (a > 1) {
        tio_task t;
        tcx c;
        task_init(&t, &c);
        tio_buf short_len[2] = {{src, a}, {src + a, a / 2}};
        tio_buf off_base[2] = {{src, a}, {src + a + 1, a}};
        ck_assert_int_eq(s_writev(loop, &t, f, short_len, 2, 0, count_cb), TIO_EINVAL);
        ck_assert_int_eq(s_writev(loop, &t, f, off_base, 2, 0, count_cb), TIO_EINVAL);
        ck_assert_int_eq(s_writev(loop, &t, f, w, 3, a / 2, count_cb), TIO_EINVAL);
        ck_assert_int_eq(tio_pending(loop), 0);
    }
    tio_free(src);
    tio_free(dst);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

void add_vectored_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("vectored", 60);
        tcase_add_test(tc, writev_then_readv_round_trip);
        tcase_add_test(tc, readv_across_eof_returns_existing_bytes);
        tcase_add_test(tc, vectored_takes_the_most_segments);
        tcase_add_test(tc, readv_of_only_empty_segments_gives_zero);
        tcase_add_test(tc, vectored_arguments_are_checked_at_submission);
        tcase_add_test(tc, vectored_cancel_and_deadline_before_the_run);
        suite_add_tcase(s, tc);
    }
    if (which == CONF_DIRECT) {
        TCase *tc = new_tcase("vectored-direct", 60);
        tcase_add_test(tc, direct_vectored_round_trip_and_alignment_rules);
        suite_add_tcase(s, tc);
    }
}
