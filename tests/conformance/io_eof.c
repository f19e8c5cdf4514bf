/* SPDX-License-Identifier: MIT */
/*
 * io_eof.c: conformance, I/O and end of file.
 *
 * Data goes where it is asked to and comes back whole (semantic 13); a read
 * at or past end of file gives 0, a read across it the bytes that exist
 * (semantic 4), buffered and direct; registered buffers change nothing
 * visible.
 */
#include "harness.h"

START_TEST(buffered_file_accepts_misaligned_buffer_offset_length)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("buffered"), TIO_CREATE | TIO_RDWR);
    ck_assert_uint_eq(tio_file_align(f), 1);
    ck_assert_int_eq(tio_file_is_direct(f), 0);

    unsigned char *src = malloc(2048), *dst = malloc(2048);
    ck_assert(src && dst);
    fill_pattern(src, 2048, 7);
    ck_assert_int_eq(write_wait(loop, f, src + 3, 1001, 7), 1001);
    uint64_t size = 0;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    ck_assert_uint_eq(size, 1008);

    memset(dst, 0xEE, 2048);
    ck_assert_int_eq(read_wait(loop, f, dst + 5, 999, 9), 999);
    ck_assert(memcmp(dst + 5, src + 5, 999) == 0);
    ck_assert(all_bytes(dst, 5, 0xEE));
    ck_assert(all_bytes(dst + 5 + 999, 2048 - 5 - 999, 0xEE));

    close_file(f);
    end_loop(loop);
    free(src);
    free(dst);
}
END_TEST

START_TEST(read_at_eof_returns_zero)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "eof", 1000, 11, NULL);
    unsigned char buf[128];
    memset(buf, 0xEE, sizeof buf);
    ck_assert_int_eq(read_wait(loop, f, buf, 100, 1000), 0);
    ck_assert(all_bytes(buf, sizeof buf, 0xEE));
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(read_past_eof_returns_zero)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "pasteof", 1000, 12, NULL);
    unsigned char buf[128];
    memset(buf, 0xEE, sizeof buf);
    ck_assert_int_eq(read_wait(loop, f, buf, 100, 5000), 0);
    ck_assert_int_eq(read_wait(loop, f, buf, 100, UINT64_C(1) << 40), 0);
    ck_assert(all_bytes(buf, sizeof buf, 0xEE));
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(read_across_eof_returns_existing_bytes)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "acrosseof", 1000, 13, &data);
    unsigned char buf[256];
    memset(buf, 0xEE, sizeof buf);
    ck_assert_int_eq(read_wait(loop, f, buf, 200, 950), 50);
    ck_assert(memcmp(buf, data + 950, 50) == 0);
    ck_assert(all_bytes(buf + 50, sizeof buf - 50, 0xEE));
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

/* Registered buffers: I/O inside them, across the boundary of two, and
 * outside them all reads back what was written; re-registering replaces,
 * count 0 unregisters; refused while a task is pending. */
START_TEST(registered_buffers_carry_io_transparently)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("regbuf"), TIO_CREATE | TIO_RDWR | TIO_TRUNCATE);
    enum { SZ = 64 * 1024 };
    unsigned char *arena = tio_alloc(2 * SZ, 0);
    unsigned char *outside = tio_alloc(SZ, 0);
    ck_assert_ptr_nonnull(arena);
    ck_assert_ptr_nonnull(outside);
    tio_buf bufs[2] = {{arena, SZ}, {arena + SZ, SZ}};
    ck_assert_int_eq(tio_register_buffers(loop, bufs, 2), 0);
    ck_assert_int_eq(tio_register_buffers(loop, NULL, 1), TIO_EINVAL);
    fill_pattern(arena, 2 * SZ, 91);
    /* inside the first, spanning both, inside the second */
    ck_assert_int_eq(write_wait(loop, f, arena, 4096, 0), 4096);
    ck_assert_int_eq(write_wait(loop, f, arena + SZ - 2048, 4096, 4096), 4096);
    ck_assert_int_eq(write_wait(loop, f, arena + SZ + 100, 1000, 8192), 1000);
    fill_pattern(outside, SZ, 92);
    ck_assert_int_eq(write_wait(loop, f, outside, 512, 9192), 512);

    unsigned char *back = arena + SZ; /* read into a registered buffer */
    memset(back, 0, SZ);
    ck_assert_int_eq(read_wait(loop, f, back, 4096, 0), 4096);
    ck_assert(memcmp(back, arena, 4096) == 0);
    ck_assert_int_eq(read_wait(loop, f, outside + 1024, 4096, 4096), 4096);
    ck_assert(memcmp(outside + 1024, arena + SZ - 2048, 2048) == 0);

    /* refused while pending */
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &t, pr, arena, 16, 0, count_cb), 0);
    ck_assert_int_eq(tio_register_buffers(loop, NULL, 0), TIO_EBUSY);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(tio_register_buffers(loop, bufs, 1), 0);
    ck_assert_int_eq(read_wait(loop, f, arena, 512, 9192), 512);
    ck_assert(memcmp(arena, outside, 512) == 0);
    ck_assert_int_eq(tio_register_buffers(loop, NULL, 0), 0);
    ck_assert_int_eq(read_wait(loop, f, arena, 4096, 0), 4096);
    close_pipe_reader(pr, p);
    close_file(f);
    end_loop(loop);
    tio_free(arena);
    tio_free(outside);
}
END_TEST

START_TEST(direct_read_at_eof_gives_zero_and_across_eof_gives_existing_bytes)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("direct-eof");
    /* 6000 bytes: not a multiple of any direct alignment */
    unsigned char *data;
    tio_file *b = open_file(loop, path, TIO_CREATE | TIO_RDWR);
    data = malloc(6000);
    ck_assert_ptr_nonnull(data);
    fill_pattern(data, 6000, 40);
    ck_assert_int_eq(write_wait(loop, b, data, 6000, 0), 6000);
    close_file(b);
    tio_file *f = open_file(loop, path, TIO_DIRECT | TIO_RDONLY);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t a = tio_file_align(f);
    size_t len = 16384 > 2 * a ? 16384 : 2 * a;
    unsigned char *buf = tio_alloc(len, a);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xEE, len);
    ck_assert_int_eq(read_wait(loop, f, buf, len, 0), 6000);
    ck_assert(memcmp(buf, data, 6000) == 0);
    uint64_t eof_aligned = (6000 + a - 1) / a * a;
    ck_assert_int_eq(read_wait(loop, f, buf, a, eof_aligned), 0);
    ck_assert_int_eq(read_wait(loop, f, buf, a, eof_aligned + 16 * (uint64_t)a), 0);
    tio_free(buf);
    free(data);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

void add_io_eof_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("io_eof", 60);
        tcase_add_test(tc, buffered_file_accepts_misaligned_buffer_offset_length);
        tcase_add_test(tc, read_at_eof_returns_zero);
        tcase_add_test(tc, read_past_eof_returns_zero);
        tcase_add_test(tc, read_across_eof_returns_existing_bytes);
        tcase_add_test(tc, registered_buffers_carry_io_transparently);
        suite_add_tcase(s, tc);
    }
    if (which == CONF_DIRECT) {
        TCase *tc = new_tcase("io_eof-direct", 60);
        tcase_add_test(tc, direct_read_at_eof_gives_zero_and_across_eof_gives_existing_bytes);
        suite_add_tcase(s, tc);
    }
}
