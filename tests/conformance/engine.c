/* SPDX-License-Identifier: MIT */
/*
 * engine.c: conformance, the engine operations (DESIGN "Engine
 * operations"): tio_open, tio_close, tio_allocate, tio_truncate,
 * tio_rename, tio_unlink, tio_stat_file, and the open flags TIO_DIRECTORY
 * and TIO_EXCLUSIVE. Each is a task with the rules of any other: results
 * and OS errors in the callback, rejections at submission (semantic 3),
 * exactly one callback (1), cancels and deadlines before the run (5, 16),
 * destroy with them pending.
 */
#include "harness.h"

#include <stdbool.h>

#ifndef _WIN32
#  include <sys/stat.h>
#  include <sys/wait.h>
#endif
#ifdef __linux__
#  include <linux/fs.h>
#  include <sys/ioctl.h>
#endif

/* Submit with `start` (the call under test, already made: rc), then wait. */
static int64_t finish(tio_loop *loop, tio_task *t, tcx *c, int rc)
{
    ck_assert_msg(rc == 0, "rejected: %s (%s)", tio_strerror(rc), tio_last_error(loop));
    int64_t r = tio_wait(loop, t, 10 * SEC);
    ck_assert_int_eq(c->calls, 1);
    ck_assert_int_eq(r, c->result);
    return r;
}

static int64_t open_wait(tio_loop *loop, tio_file **out, const char *path, unsigned flags)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_open(loop, &t, out, path, flags, 0644, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t close_wait(tio_loop *loop, tio_file *f)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_close(loop, &t, f, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t stat_wait(tio_loop *loop, tio_file *f, tio_stat *st)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_stat_file(loop, &t, f, st, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t allocate_wait(tio_loop *loop, tio_file *f, uint64_t off, uint64_t len,
                             unsigned flags)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_allocate(loop, &t, f, off, len, flags, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t truncate_wait(tio_loop *loop, tio_file *f, uint64_t size)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_truncate(loop, &t, f, size, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t rename_wait(tio_loop *loop, const char *from, const char *to, unsigned flags)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_rename(loop, &t, from, to, flags, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static int64_t unlink_wait(tio_loop *loop, const char *path)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_unlink(loop, &t, path, count_cb);
    g_in_submit--;
    return finish(loop, &t, &c, track(rc));
}

static uint64_t size_of(tio_file *f)
{
    uint64_t size = 0;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    return size;
}

/* A file at path holding len bytes of fill_pattern(seed). */
static void make_file(tio_loop *loop, const char *path, size_t len, uint64_t seed)
{
    tio_file *f = open_file(loop, path, TIO_CREATE | TIO_TRUNCATE | TIO_WRONLY);
    unsigned char *data = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(data);
    fill_pattern(data, len, seed);
    if (len)
        ck_assert_int_eq(write_wait(loop, f, data, len, 0), (int64_t)len);
    free(data);
    close_file(f);
}

/* ================================================================ open/close */

START_TEST(open_and_close_as_tasks)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("open");
    tio_file *f = (tio_file *)&f; /* set to NULL or the file before the callback */
    ck_assert_int_eq(open_wait(loop, &f, path, TIO_CREATE | TIO_RDWR), 0);
    ck_assert_ptr_nonnull(f);
    ck_assert(path_exists(path));
    unsigned char buf[100], back[100];
    fill_pattern(buf, sizeof buf, 31);
    ck_assert_int_eq(write_wait(loop, f, buf, sizeof buf, 0), 100);
    ck_assert_int_eq(read_wait(loop, f, back, sizeof back, 0), 100);
    ck_assert(memcmp(buf, back, sizeof buf) == 0);
    ck_assert_int_eq(close_wait(loop, f), 0);

    /* Closed: the tio_file refuses everything, as after tio_file_close. */
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &t, f, buf, 10, 0, count_cb), TIO_EBADF);
    ck_assert_int_eq(tio_close(loop, &t, f, count_cb), TIO_EBADF);
    ck_assert_int_eq(tio_file_close(f), TIO_EBADF);
    end_loop(loop);
}
END_TEST

START_TEST(open_failures_arrive_in_the_callback_with_out_null)
{
    tio_loop *loop = new_loop();
    const char *missing = scratch("missing");
    const char *exists = scratch("exists");
    const char *dir = scratch("dir");
    make_file(loop, exists, 10, 32);
    remove_dir(dir); /* a failed earlier run under Windows (no fork) may have left it */
    ck_assert_int_eq(make_dir(dir), 0);
    tio_file *f = (tio_file *)&f;
    ck_assert_int_eq(open_wait(loop, &f, missing, TIO_RDONLY), TIO_ENOENT);
    ck_assert_ptr_null(f);
    f = (tio_file *)&f;
    ck_assert_int_eq(open_wait(loop, &f, exists, TIO_CREATE | TIO_EXCL | TIO_RDWR), TIO_EEXIST);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(open_wait(loop, &f, exists, TIO_DIRECTORY), TIO_ENOTDIR);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(open_wait(loop, &f, dir, TIO_RDWR), TIO_EISDIR);
    ck_assert_ptr_null(f);
    ck_assert(!path_exists(missing));
    remove_dir(dir);
    end_loop(loop);
}
END_TEST

START_TEST(open_arguments_are_checked_at_submission)
{
    tio_loop *loop = new_loop();
    tio_file *f = (tio_file *)&f;
    tio_task t;
    tcx c;
    task_init(&t, &c);
    const char *p = scratch("openargs");
    ck_assert_int_eq(tio_open(loop, &t, NULL, p, TIO_RDONLY, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, NULL, TIO_RDONLY, 0, count_cb), TIO_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, TIO_RDONLY, 0, NULL), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, NULL, &f, p, TIO_RDONLY, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, "", TIO_RDONLY, 0, count_cb), TIO_ENOENT);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, 3, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, 1u << 20, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, TIO_DIRECTORY | TIO_RDWR, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, TIO_DIRECTORY | TIO_CREATE, 0, count_cb),
                     TIO_EINVAL);
    ck_assert_int_eq(tio_open(loop, &t, &f, p, TIO_EXCL | TIO_RDWR, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_pending(loop), 0);
    ck_assert(!path_exists(p));
    end_loop(loop);
}
END_TEST

/* A create cancelled before it reached the OS did not happen. */
START_TEST(open_cancelled_before_the_run_creates_nothing)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("opencancel");
    tio_file *f = (tio_file *)&f;
    tio_task t;
    tcx c;
    task_init(&t, &c);
    g_in_submit++;
    int rc = tio_open(loop, &t, &f, path, TIO_CREATE | TIO_RDWR, 0644, count_cb);
    g_in_submit--;
    ck_assert_int_eq(track(rc), 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    if (c.result == 0) { /* submit_batch: the starting call handed it over */
        ck_assert_int_gt((int)g_submit_batch, 0);
        ck_assert_ptr_nonnull(f);
        close_file(f);
    } else {
        ck_assert_int_eq(c.result, TIO_ECANCELED);
        ck_assert_ptr_null(f);
        ck_assert(!path_exists(path));
    }
    /* A deadline of 0: the same. */
    task_init(&t, &c);
    f = (tio_file *)&f;
    g_in_submit++;
    rc = tio_open(loop, &t, &f, path, TIO_CREATE | TIO_RDWR, 0644, count_cb);
    g_in_submit--;
    ck_assert_int_eq(track(rc), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 0), 0);
    drain(loop);
    ck_assert_int_eq(c.calls, 1);
    if (c.result == 0) {
        ck_assert_int_gt((int)g_submit_batch, 0);
        close_file(f);
    } else {
        ck_assert_int_eq(c.result, TIO_ETIMEDOUT);
        ck_assert_ptr_null(f);
    }
    end_loop(loop);
}
END_TEST

START_TEST(close_is_refused_while_tasks_are_pending_and_cancel_keeps_the_file)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "close", 4096, 33, NULL);
    unsigned char buf[64];
    tio_task r, t;
    tcx rc, c;
    task_init(&r, &rc);
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &r, f, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_close(loop, &t, f, count_cb), TIO_EBUSY);
    run_until_calls(loop, &rc, 1);

    /* Accepted: the file refuses new work until the close ends. */
    g_in_submit++;
    ck_assert_int_eq(track(tio_close(loop, &t, f, count_cb)), 0);
    g_in_submit--;
    ck_assert_int_eq(s_read(loop, &r, f, buf, sizeof buf, 0, count_cb), TIO_EBADF);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    if (c.result == TIO_ECANCELED) {
        /* Never reached the OS: still open. */
        ck_assert_int_eq(read_wait(loop, f, buf, sizeof buf, 0), (int64_t)sizeof buf);
        ck_assert_int_eq(close_wait(loop, f), 0);
    } else {
        ck_assert_int_gt((int)g_submit_batch, 0);
        ck_assert_int_eq(c.result, 0);
    }
    end_loop(loop);
}
END_TEST

/* ================================================================ space */

START_TEST(allocate_reserves_space_and_never_shrinks)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("alloc"), TIO_CREATE | TIO_RDWR);
    tio_stat st;
    int64_t r = allocate_wait(loop, f, 0, 1 << 20, 0);
    if (r == TIO_ENOTSUP) {
        printf("SKIP-PART: the scratch filesystem cannot reserve space\n");
    } else {
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(size_of(f), 1 << 20);
        ck_assert_int_eq(stat_wait(loop, f, &st), 0);
        ck_assert_uint_ge(st.allocated, 1 << 20);
        /* Inside the file: the size stays. */
        ck_assert_int_eq(allocate_wait(loop, f, 4096, 8192, 0), 0);
        ck_assert_uint_eq(size_of(f), 1 << 20);
        /* Past the end, keeping the size. */
        r = allocate_wait(loop, f, 1 << 20, 1 << 20, TIO_ALLOCATE_KEEP_SIZE);
        ck_assert(r == 0 || r == TIO_ENOTSUP);
        ck_assert_uint_eq(size_of(f), 1 << 20);
        if (r == 0) {
            ck_assert_int_eq(stat_wait(loop, f, &st), 0);
            ck_assert_uint_ge(st.allocated, 2u << 20);
        }
    }
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(truncate_sets_the_size)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "trunc", 5000, 34, &data);
    ck_assert_int_eq(truncate_wait(loop, f, 100), 0);
    ck_assert_uint_eq(size_of(f), 100);
    ck_assert_int_eq(truncate_wait(loop, f, 10000), 0);
    ck_assert_uint_eq(size_of(f), 10000);
    unsigned char buf[10000];
    ck_assert_int_eq(read_wait(loop, f, buf, sizeof buf, 0), 10000);
    ck_assert(memcmp(buf, data, 100) == 0);
    ck_assert(all_bytes(buf + 100, sizeof buf - 100, 0));
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(space_operations_are_checked_at_submission)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("spaceargs");
    make_file(loop, path, 10, 35);
    tio_file *ro = open_file(loop, path, TIO_RDONLY);
    tio_file *rw = open_file(loop, path, TIO_RDWR);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    tio_stat st;
    ck_assert_int_eq(tio_allocate(loop, &t, ro, 0, 100, 0, count_cb), TIO_EBADF);
    ck_assert_int_eq(tio_truncate(loop, &t, ro, 0, count_cb), TIO_EBADF);
    ck_assert_int_eq(tio_allocate(loop, &t, rw, 0, 0, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_allocate(loop, &t, rw, 0, 100, 2, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_allocate(loop, &t, rw, (uint64_t)INT64_MAX, 100, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_truncate(loop, &t, rw, (uint64_t)INT64_MAX + 1, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_stat_file(loop, &t, rw, NULL, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_stat_file(loop, &t, NULL, &st, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_truncate(loop, NULL, rw, 0, count_cb), TIO_EINVAL);
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    ck_assert_int_eq(tio_stat_file(loop, &t, pr, &st, count_cb), TIO_EINVAL);
    close_pipe_reader(pr, p);
    ck_assert_int_eq(tio_pending(loop), 0);
    close_file(ro);
    close_file(rw);
    end_loop(loop);
}
END_TEST

START_TEST(stat_reports_size_alignment_and_atomic_write)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "stat", 12345, 36, NULL);
    tio_stat st;
    memset(&st, 0xEE, sizeof st);
    ck_assert_int_eq(stat_wait(loop, f, &st), 0);
    ck_assert_uint_eq(st.size, 12345);
    ck_assert_uint_eq(st.align, tio_file_align(f));
    ck_assert_uint_ge(st.atomic_write, 512);
    ck_assert_uint_eq(st.atomic_write & (st.atomic_write - 1), 0);
    ck_assert_uint_lt(st.allocated, UINT64_C(1) << 40);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* ================================================================ names */

START_TEST(rename_replaces_atomically_or_refuses_with_noreplace)
{
    tio_loop *loop = new_loop();
    const char *a = scratch("rena"), *b = scratch("renb"), *gone = scratch("rengone");
    make_file(loop, a, 100, 37);
    make_file(loop, b, 50, 38);
    ck_assert_int_eq(rename_wait(loop, a, b, TIO_RENAME_NOREPLACE), TIO_EEXIST);
    ck_assert(path_exists(a));
    ck_assert_int_eq(rename_wait(loop, a, b, 0), 0);
    ck_assert(!path_exists(a));
    tio_file *f = open_file(loop, b, TIO_RDONLY);
    ck_assert_uint_eq(size_of(f), 100);
    close_file(f);
    ck_assert_int_eq(rename_wait(loop, b, a, TIO_RENAME_NOREPLACE), 0);
    ck_assert(path_exists(a) && !path_exists(b));
    ck_assert_int_eq(rename_wait(loop, gone, b, 0), TIO_ENOENT);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(tio_rename(loop, &t, a, NULL, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_rename(loop, &t, a, b, 4, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_rename(loop, &t, "", b, 0, count_cb), TIO_ENOENT);
    end_loop(loop);
}
END_TEST

/* Names behave as on POSIX even while files are open (taskio opens with
 * FILE_SHARE_DELETE on Windows, and uses its POSIX rename and delete): a
 * rename replaces a file open elsewhere, which keeps reading the old data;
 * an unlinked name is gone at once and can be created again. */
START_TEST(rename_over_and_unlink_of_open_files)
{
    tio_loop *loop = new_loop();
    const char *a = scratch("openrena"), *b = scratch("openrenb");
    make_file(loop, a, 100, 45);
    make_file(loop, b, 50, 46);
    tio_file *old = open_file(loop, b, TIO_RDONLY);
    int64_t r = rename_wait(loop, a, b, 0);
#ifdef _WIN32
    /* Without POSIX semantics (Windows before 10 1709, FAT, Wine) a file
     * open elsewhere cannot be replaced: TIO_EACCES (README), and it can
     * once closed. */
    if (r == TIO_EACCES) {
        close_file(old);
        ck_assert_int_eq(rename_wait(loop, a, b, 0), 0);
        old = NULL;
    }
#endif
    if (old != NULL) {
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(size_of(old), 50);
    }
    tio_file *now = open_file(loop, b, TIO_RDONLY);
    ck_assert_uint_eq(size_of(now), 100);
    ck_assert_int_eq(unlink_wait(loop, b), 0);
#ifdef _WIN32
    /* Without POSIX semantics the name stays until its last handle closes. */
    if (path_exists(b)) {
        close_file(now);
        now = NULL;
        if (old != NULL)
            close_file(old);
        old = NULL;
    }
#endif
    ck_assert(!path_exists(b));
    make_file(loop, b, 10, 47);
    ck_assert(path_exists(b));
    if (old != NULL)
        close_file(old);
    if (now != NULL)
        close_file(now);
    end_loop(loop);
}
END_TEST

START_TEST(unlink_removes_files_not_directories)
{
    tio_loop *loop = new_loop();
    const char *a = scratch("unl"), *dir = scratch("unldir");
    make_file(loop, a, 10, 39);
    remove_dir(dir); /* a failed earlier run under Windows (no fork) may have left it */
    ck_assert_int_eq(make_dir(dir), 0);
    ck_assert_int_eq(unlink_wait(loop, a), 0);
    ck_assert(!path_exists(a));
    ck_assert_int_eq(unlink_wait(loop, a), TIO_ENOENT);
    ck_assert_int_eq(unlink_wait(loop, dir), TIO_EISDIR);
    ck_assert(path_exists(dir));
    remove_dir(dir);
    end_loop(loop);
}
END_TEST

/* ================================================================ recipes */

/* Durable create and durable replace, as the README shows them. */
START_TEST(durable_create_and_replace)
{
    tio_loop *loop = new_loop();
    const char *dir = scratch("durdir");
    remove_dir(dir); /* a failed earlier run under Windows (no fork) may have left it */
    ck_assert_int_eq(make_dir(dir), 0);
    char path[600], tmp[600];
    snprintf(path, sizeof path, "%s/manifest", dir);
    snprintf(tmp, sizeof tmp, "%s/manifest.tmp", dir);
    unsigned char v1[200], v2[300], back[300];
    fill_pattern(v1, sizeof v1, 40);
    fill_pattern(v2, sizeof v2, 41);

    tio_file *d = NULL, *f = NULL;
    ck_assert_int_eq(open_wait(loop, &d, dir, TIO_DIRECTORY), 0);
    ck_assert_int_eq(open_wait(loop, &f, path, TIO_CREATE | TIO_EXCL | TIO_WRONLY), 0);
    ck_assert_int_eq(write_wait(loop, f, v1, sizeof v1, 0), (int64_t)sizeof v1);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(finish(loop, &t, &c, track(tio_fsync(loop, &t, f, 0, count_cb))), 0);
    task_init(&t, &c);
    ck_assert_int_eq(finish(loop, &t, &c, track(tio_fsync(loop, &t, d, 0, count_cb))), 0);
    ck_assert_int_eq(close_wait(loop, f), 0);

    ck_assert_int_eq(open_wait(loop, &f, tmp, TIO_CREATE | TIO_TRUNCATE | TIO_WRONLY), 0);
    ck_assert_int_eq(write_wait(loop, f, v2, sizeof v2, 0), (int64_t)sizeof v2);
    task_init(&t, &c);
    ck_assert_int_eq(finish(loop, &t, &c, track(tio_fsync(loop, &t, f, 0, count_cb))), 0);
    ck_assert_int_eq(close_wait(loop, f), 0);
    ck_assert_int_eq(rename_wait(loop, tmp, path, 0), 0);
    task_init(&t, &c);
    ck_assert_int_eq(finish(loop, &t, &c, track(tio_fsync(loop, &t, d, 0, count_cb))), 0);
    ck_assert_int_eq(close_wait(loop, d), 0);

    f = open_file(loop, path, TIO_RDONLY);
    ck_assert_int_eq(read_wait(loop, f, back, sizeof back, 0), (int64_t)sizeof v2);
    ck_assert(memcmp(back, v2, sizeof v2) == 0);
    close_file(f);
    remove_path(path);
    remove_dir(dir);
    end_loop(loop);
}
END_TEST

/* TIO_EXCLUSIVE: a second exclusive opener is refused while the first holds
 * the file, in this process (and, POSIX, in another), and admitted after. */
START_TEST(exclusive_open_refuses_a_second_opener)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("excl");
    make_file(loop, path, 10, 42);
    tio_file *a = NULL, *b = (tio_file *)&b;
    ck_assert_int_eq(open_wait(loop, &a, path, TIO_RDWR | TIO_EXCLUSIVE), 0);
    ck_assert_int_eq(open_wait(loop, &b, path, TIO_RDWR | TIO_EXCLUSIVE), TIO_EBUSY);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(tio_file_open(loop, &b, path, TIO_RDWR | TIO_EXCLUSIVE, 0), TIO_EBUSY);
#ifndef _WIN32
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(g_argv0, g_argv0, "--exclusive-probe", path, g_backend, (char *)NULL);
        _exit(2);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "another process opened the TIO_EXCLUSIVE file");
#endif
    ck_assert_int_eq(close_wait(loop, a), 0);
    ck_assert_int_eq(open_wait(loop, &b, path, TIO_RDWR | TIO_EXCLUSIVE), 0);
    close_file(b);
    end_loop(loop);
}
END_TEST

/* Destroy with engine operations queued and running: each gets its one
 * callback (end_loop counts). */
START_TEST(destroy_with_engine_operations_pending)
{
    tio_loop *loop = new_loop();
    const char *a = scratch("destroya"), *b = scratch("destroyb");
    make_file(loop, a, 10, 43);
    tio_task t[4];
    tcx c[4];
    tio_file *f = NULL;
    tio_stat st;
    for (int i = 0; i < 4; i++)
        task_init(&t[i], &c[i]);
    tio_file *g = open_file(loop, a, TIO_RDWR);
    g_in_submit++;
    ck_assert_int_eq(track(tio_open(loop, &t[0], &f, b, TIO_CREATE | TIO_RDWR, 0644, count_cb)), 0);
    ck_assert_int_eq(track(tio_stat_file(loop, &t[1], g, &st, count_cb)), 0);
    ck_assert_int_eq(track(tio_truncate(loop, &t[2], g, 5, count_cb)), 0);
    ck_assert_int_eq(track(tio_unlink(loop, &t[3], b, count_cb)), 0);
    g_in_submit--;
    tio_run(loop, 0);
    end_loop(loop);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(c[i].calls, 1);
}
END_TEST

#ifdef __linux__
/* Permission refused: as root (the test machine) plain mode bits do not
 * refuse anything, an immutable file (FS_IMMUTABLE_FL, chattr +i) does:
 * EPERM, which is TIO_EACCES, for a write open, a rename and an unlink. */
START_TEST(immutable_file_refuses_with_eacces_linux)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("immutable"), *to = scratch("immutable2");
    make_file(loop, path, 10, 44);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    int attrs = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &attrs) != 0 ||
        (attrs |= FS_IMMUTABLE_FL, ioctl(fd, FS_IOC_SETFLAGS, &attrs)) != 0) {
        printf("SKIP-PART: immutable_file_refuses_with_eacces_linux: FS_IOC_SETFLAGS: %s "
               "(needs CAP_LINUX_IMMUTABLE and ext4, xfs or btrfs)\n",
               strerror(errno));
        close(fd);
        end_loop(loop);
        return;
    }
    tio_file *f = (tio_file *)&f;
    int64_t open_rc = open_wait(loop, &f, path, TIO_RDWR);
    int64_t rename_rc = rename_wait(loop, path, to, 0);
    int64_t unlink_rc = unlink_wait(loop, path);
    attrs &= ~FS_IMMUTABLE_FL;
    ck_assert_int_eq(ioctl(fd, FS_IOC_SETFLAGS, &attrs), 0);
    close(fd);
    ck_assert_int_eq(open_rc, TIO_EACCES);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(rename_rc, TIO_EACCES);
    ck_assert_int_eq(unlink_rc, TIO_EACCES);
    end_loop(loop);
}
END_TEST
#endif

#ifndef _WIN32
static void open_fifo(tio_loop *loop, tio_task *t, tcx *c, tio_file **f, const char *fifo)
{
    task_init(t, c);
    *f = (tio_file *)f;
    g_in_submit++;
    int rc = tio_open(loop, t, f, fifo, TIO_RDONLY, 0, count_cb);
    g_in_submit--;
    ck_assert_int_eq(track(rc), 0);
    /* Long enough for the helper thread to be inside open(2), waiting. */
    ck_assert_int_eq(tio_run(loop, 50 * MS), 0);
    ck_assert_int_eq(c->calls, 0);
}

/* An open of a FIFO waits for a writer, for ever if none comes: a cancel
 * or a deadline stops it, a writer completes it, destroy does not hang. */
START_TEST(blocked_fifo_open_is_cancellable_posix)
{
    tio_loop *loop = new_loop();
    const char *fifo = scratch("fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    tio_task t;
    tcx c;
    tio_file *f;

    open_fifo(loop, &t, &c, &f, fifo);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    run_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    ck_assert_ptr_null(f);

    open_fifo(loop, &t, &c, &f, fifo);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_timeout(loop, &t, 100 * MS), 0);
    run_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, TIO_ETIMEDOUT);
    ck_assert_int_ge(now_ns() - t0, 100 * MS);
    ck_assert_ptr_null(f);

    /* A writer arrives: the open completes. The waiting reader already
     * counts, so a non-blocking writer's open succeeds and wakes it. */
    open_fifo(loop, &t, &c, &f, fifo);
    int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(w, 0);
    run_until_calls(loop, &c, 1);
    ck_assert_int_eq(c.result, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(write(w, "x", 1), 1);
    unsigned char b = 0;
    ck_assert_int_eq(read_wait(loop, f, &b, 1, 0), 1);
    ck_assert_int_eq(b, 'x');
    close(w);
    close_file(f);

    /* Destroy with one waiting: cancelled, one callback (end_loop). */
    open_fifo(loop, &t, &c, &f, fifo);
    end_loop(loop);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
}
END_TEST

/* Every helper thread (16) waiting in a FIFO's open and one more operation
 * queued behind them: cancelling the opens retires their threads, and the
 * queued one still runs (a new thread takes it). */
START_TEST(work_queued_behind_cancelled_blocked_opens_still_runs_posix)
{
    enum { N = 16 };
    tio_loop *loop = new_loop();
    const char *fifo = scratch("fifo16");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    tio_file *g = file_with_data(loop, "behind", 100, 48, NULL);
    tio_task t[N], st;
    tcx c[N], sc;
    tio_file *f[N];
    tio_stat s;
    for (int i = 0; i < N; i++) {
        task_init(&t[i], &c[i]);
        g_in_submit++;
        int rc = tio_open(loop, &t[i], &f[i], fifo, TIO_RDONLY, 0, count_cb);
        g_in_submit--;
        ck_assert_int_eq(track(rc), 0);
    }
    ck_assert_int_eq(tio_run(loop, 100 * MS), 0); /* all 16 now wait in open(2) */
    task_init(&st, &sc);
    g_in_submit++;
    ck_assert_int_eq(track(tio_stat_file(loop, &st, g, &s, count_cb)), 0);
    g_in_submit--;
    ck_assert_int_eq(tio_run(loop, 50 * MS), 0);
    ck_assert_int_eq(sc.calls, 0); /* queued: no thread is free */
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(tio_cancel(loop, &t[i]), 0);
    run_until_calls(loop, &sc, 1);
    ck_assert_int_eq(sc.result, 0);
    ck_assert_uint_eq(s.size, 100);
    drain(loop);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].result, TIO_ECANCELED);
    close_file(g);
    end_loop(loop);
}
END_TEST
#endif

/* ================================================================ random */

/* Engine operations, vectored and plain I/O at random on a few names and
 * files, with random cancels and deadlines (0 to 2 ms): every accepted
 * call gets exactly one callback (end_loop counts), every result is one
 * the contract allows, a file joins the loop exactly when its open reports
 * 0 and leaves it exactly when its close was not cancelled, and a closed
 * file refuses work. The seed is printed; the same seed replays. */
enum { R_NAMES = 6, R_FILES = 6, R_SLOTS = 24, R_STEPS = 1500 };

typedef struct rslot {
    tio_task t;
    tcx c;
    int op; /* R_* below, -1 when idle */
    tio_file *file;
    tio_file *opened;
    tio_stat st;
    unsigned char buf[2][512];
    tio_buf segs[2];
} rslot;

enum {
    R_OPEN,
    R_CLOSE,
    R_STAT,
    R_ALLOC,
    R_TRUNC,
    R_RENAME,
    R_UNLINK,
    R_READV,
    R_WRITEV,
    R_READ,
    R_OPS
};

static struct {
    tio_loop *loop;
    tio_file *files[R_FILES]; /* open, joined to the loop */
    int nfiles;
    const char *names[R_NAMES];
} R;

static int r_file(const tio_file *f)
{
    for (int i = 0; i < R.nfiles; i++)
        if (R.files[i] == f)
            return i;
    return -1;
}

/* Windows without POSIX semantics for names (Wine among them, README):
 * a rename onto a file open elsewhere, and a create of a name unlinked
 * while open, are refused with TIO_EACCES until its handles close. */
#ifdef _WIN32
#  define R_NAME_BUSY(r) ((r) == TIO_EACCES)
#else
#  define R_NAME_BUSY(r) 0
#endif

static void r_done(tio_task *task, tcx *c, int64_t result)
{
    rslot *s = c->arg;
    (void)task;
    switch (s->op) {
    case R_OPEN:
        if (result == 0) {
            ck_assert_ptr_nonnull(s->opened);
            if (R.nfiles < R_FILES)
                R.files[R.nfiles++] = s->opened;
            else
                ck_assert_int_eq(tio_file_close(s->opened), 0);
        } else {
            ck_assert_ptr_null(s->opened);
            ck_assert_msg(result == TIO_ECANCELED || result == TIO_ETIMEDOUT || R_NAME_BUSY(result),
                          "open: %lld", (long long)result);
        }
        break;
    case R_CLOSE:
        ck_assert_msg(result == 0 || result == TIO_ECANCELED || result == TIO_ETIMEDOUT,
                      "close: %lld", (long long)result);
        if (result == 0) {
            int i = r_file(s->file);
            ck_assert_int_ge(i, 0);
            R.files[i] = R.files[--R.nfiles];
            tio_task t2;
            tcx c2;
            task_init(&t2, &c2);
            ck_assert_int_eq(tio_read(R.loop, &t2, s->file, s->buf[0], 1, 0, count_cb), TIO_EBADF);
        }
        break;
    case R_RENAME: /* TIO_RENAME_NOREPLACE onto an existing name: TIO_EEXIST */
    case R_UNLINK:
        ck_assert_msg(result == 0 || result == TIO_ENOENT || result == TIO_EEXIST ||
                          result == TIO_ECANCELED || result == TIO_ETIMEDOUT || R_NAME_BUSY(result),
                      "op %d: %lld", s->op, (long long)result);
        break;
    default:
        ck_assert_msg(result >= 0 || result == TIO_ECANCELED || result == TIO_ETIMEDOUT ||
                          result == TIO_ENOTSUP,
                      "op %d: %lld", s->op, (long long)result);
        break;
    }
    s->op = -1;
}

/* Whether a task of this test (of kind op, or any: -1) works on f. */
static bool r_busy(const tio_file *f, const rslot *slots, int op)
{
    for (int i = 0; i < R_SLOTS; i++)
        if (slots[i].op >= 0 && slots[i].file == f && (op < 0 || slots[i].op == op))
            return true;
    return false;
}

START_TEST(random_engine_operations_with_cancels_keep_every_promise)
{
    tio_loop *loop = new_loop();
    memset(&R, 0, sizeof R);
    R.loop = loop;
    static const char *tags[R_NAMES] = {"rnd0", "rnd1", "rnd2", "rnd3", "rnd4", "rnd5"};
    for (int i = 0; i < R_NAMES; i++)
        R.names[i] = scratch(tags[i]);
    rslot *slots = calloc(R_SLOTS, sizeof *slots);
    ck_assert_ptr_nonnull(slots);
    for (int i = 0; i < R_SLOTS; i++)
        slots[i].op = -1;
    uint64_t seed = (uint64_t)now_ns() | 1, rng = seed;
    printf("random engine operations: seed %llu\n", (unsigned long long)seed);
    for (int step = 0; step < R_STEPS; step++) {
        rslot *s = &slots[xorshift(&rng) % R_SLOTS];
        if (s->op >= 0) {
            tio_run(loop, 0);
            continue;
        }
        int op = (int)(xorshift(&rng) % R_OPS);
        tio_file *f = R.nfiles ? R.files[xorshift(&rng) % (uint64_t)R.nfiles] : NULL;
        const char *a = R.names[xorshift(&rng) % R_NAMES];
        const char *b = R.names[xorshift(&rng) % R_NAMES];
        uint64_t off = (xorshift(&rng) % 8) * 512;
        task_init(&s->t, &s->c);
        s->c.hook = r_done;
        s->c.arg = s;
        s->file = NULL;
        s->segs[0] = (tio_buf){s->buf[0], 512};
        s->segs[1] = (tio_buf){s->buf[1], 100};
        int rc;
        g_in_submit++;
        if (op == R_OPEN || f == NULL) {
            op = R_OPEN;
            s->opened = (tio_file *)&s->opened;
            rc = tio_open(loop, &s->t, &s->opened, a, TIO_CREATE | TIO_RDWR, 0600, count_cb);
        } else if (op == R_CLOSE) {
            rc = r_busy(f, slots, -1) ? TIO_EBUSY : tio_close(loop, &s->t, f, count_cb);
        } else if (op == R_STAT) {
            rc = tio_stat_file(loop, &s->t, f, &s->st, count_cb);
        } else if (op == R_ALLOC) {
            rc = tio_allocate(loop, &s->t, f, off, 4096, (unsigned)(xorshift(&rng) & 1), count_cb);
        } else if (op == R_TRUNC) {
            rc = tio_truncate(loop, &s->t, f, off * 3, count_cb);
        } else if (op == R_RENAME) {
            rc = tio_rename(loop, &s->t, a, b, (unsigned)(xorshift(&rng) & 1), count_cb);
        } else if (op == R_UNLINK) {
            rc = tio_unlink(loop, &s->t, a, count_cb);
        } else if (op == R_READV) {
            rc = tio_readv(loop, &s->t, f, s->segs, 2, off, count_cb);
        } else if (op == R_WRITEV) {
            rc = tio_writev(loop, &s->t, f, s->segs, 2, off, count_cb);
        } else {
            rc = tio_read(loop, &s->t, f, s->buf[0], 512, off, count_cb);
        }
        g_in_submit--;
        if (op != R_OPEN && op != R_RENAME && op != R_UNLINK)
            s->file = f;
        if (rc == TIO_EBUSY && op == R_CLOSE)
            continue; /* other tasks on the file: refused, as documented */
        if (rc == TIO_EBADF && f != NULL && r_busy(f, slots, R_CLOSE))
            continue; /* a close is pending: the file refuses new work */
        ck_assert_msg(rc == 0 || (op == R_RENAME && rc == TIO_EINVAL), "op %d: %s", op,
                      tio_strerror(rc));
        track(rc);
        if (rc != 0)
            continue;
        s->op = op;
        uint64_t r = xorshift(&rng) % 8;
        if (r == 0)
            ck_assert_int_eq(tio_cancel(loop, &s->t), 0);
        else if (r == 1)
            ck_assert_int_eq(tio_timeout(loop, &s->t, xorshift(&rng) % (2 * MS)), 0);
        if (xorshift(&rng) % 4 == 0)
            tio_run(loop, 0);
    }
    drain(loop);
    for (int i = 0; i < R_SLOTS; i++)
        ck_assert_int_eq(slots[i].op, -1);
    while (R.nfiles > 0)
        ck_assert_int_eq(tio_file_close(R.files[--R.nfiles]), 0);
    end_loop(loop);
    free(slots);
}
END_TEST

/* ================================================================ suite */

void add_engine_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("engine", 60);
        tcase_add_test(tc, open_and_close_as_tasks);
        tcase_add_test(tc, open_failures_arrive_in_the_callback_with_out_null);
        tcase_add_test(tc, open_arguments_are_checked_at_submission);
        tcase_add_test(tc, open_cancelled_before_the_run_creates_nothing);
        tcase_add_test(tc, close_is_refused_while_tasks_are_pending_and_cancel_keeps_the_file);
        tcase_add_test(tc, allocate_reserves_space_and_never_shrinks);
        tcase_add_test(tc, truncate_sets_the_size);
        tcase_add_test(tc, space_operations_are_checked_at_submission);
        tcase_add_test(tc, stat_reports_size_alignment_and_atomic_write);
        tcase_add_test(tc, rename_replaces_atomically_or_refuses_with_noreplace);
        tcase_add_test(tc, unlink_removes_files_not_directories);
        tcase_add_test(tc, rename_over_and_unlink_of_open_files);
        tcase_add_test(tc, durable_create_and_replace);
        tcase_add_test(tc, exclusive_open_refuses_a_second_opener);
        tcase_add_test(tc, destroy_with_engine_operations_pending);
        tcase_add_test(tc, random_engine_operations_with_cancels_keep_every_promise);
#ifndef _WIN32
        tcase_add_test(tc, blocked_fifo_open_is_cancellable_posix);
        tcase_add_test(tc, work_queued_behind_cancelled_blocked_opens_still_runs_posix);
#endif
#ifdef __linux__
        tcase_add_test(tc, immutable_file_refuses_with_eacces_linux);
#endif
        suite_add_tcase(s, tc);
    }
}
