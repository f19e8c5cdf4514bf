/* SPDX-License-Identifier: MIT */
/*
 * The synchronous fast paths of a POSIX backend (tio__backend.start_now),
 * on the real backend, with the loop's start counters (loop->starts[]) as
 * the witness of which path a task took:
 *  - the starting call of the loop's only task on a buffered file tries
 *    it in the mode that never waits: a page-cache hit is COMPLETED there,
 *    its callback still runs from the next run, and a cancel then reports
 *    its real result;
 *  - only the lone task, never on a direct file, never under an explicit
 *    submit_batch or TIO_SUBMIT_IN_RUN;
 *  - a miss (a page not in the cache) costs credit and leaves the task
 *    queued, and a mode the OS does not have for the file is not tried
 *    again; nor is it tried for a caller that waits for each lone task
 *    with tio_wait(TIO_FOREVER), until that caller runs the loop itself;
 *  - tio_wait(TIO_FOREVER) on the loop's only task does it on the waiting
 *    thread, for direct and buffered reads, writes and fsyncs; a bounded
 *    wait, a deadline, or another pending task keep the usual path.
 *
 *   fastpath BACKEND      (io_uring | threads; 77 where it is refused)
 *
 * $TIO_TEST_DIR holds the scratch files; the direct cases skip (with a
 * note) where it refuses O_DIRECT.
 */
#include "common/internal.h"

#include <check.h>
#include <fcntl.h>

#include "tio_util.h"

static const char *g_backend;
static scratch_paths g_scratch;
static const char *g_dir; /* test_dir(), set by main */

typedef struct calls {
    int n;
    int64_t result;
} calls;

static void count_cb(tio_task *t, int64_t result)
{
    calls *c = t->data;
    c->n++;
    c->result = result;
}

/* Each test runs in its own process (Check's fork mode): its files go
 * with its loop. */
static void end_loop(tio_loop *loop)
{
    tio_loop_destroy(loop);
    scratch_remove_all(&g_scratch);
}

static tio_loop *new_loop(unsigned submit_batch)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    cfg.submit_batch = submit_batch;
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), 0);
    return loop;
}

static tio_file *open_file(tio_loop *loop, const char *tag, unsigned flags)
{
    const char *path = scratch_path(&g_scratch, g_dir, "tio-fast", tag);
    ck_assert_ptr_nonnull(path);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, flags | TIO_CREATE | TIO_RDWR, 0600);
    ck_assert_msg(rc == 0, "open %s: %s", path, tio_last_error(loop));
    return f;
}

/* A buffered file holding 64 KiB of a pattern, all of it in the page
 * cache (just written through it). */
static tio_file *cached_file(tio_loop *loop, const char *tag, unsigned char *data)
{
    tio_file *f = open_file(loop, tag, 0);
    fill_pattern(data, 65536, 7);
    ck_assert_int_eq(pwrite(f->handle, data, 65536, 0), 65536);
    return f;
}

static void task_init(tio_task *t, calls *c)
{
    memset(t, 0, sizeof *t);
    memset(c, 0, sizeof *c);
    t->data = c;
}

static uint64_t starts(const tio_loop *loop, int which)
{
    return loop->starts[which];
}

/* A direct file, or NULL (noted) where the scratch directory refuses it. */
static tio_file *direct_file(tio_loop *loop, const char *tag)
{
    const char *path = scratch_path(&g_scratch, g_dir, "tio-fast", tag);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_RDWR | TIO_DIRECT, 0600);
    if (rc == TIO_ENOTSUP) {
        printf("NOTE: %s refuses O_DIRECT: direct cases not run\n", g_dir);
        return NULL;
    }
    ck_assert_msg(rc == 0, "open %s: %s", path, tio_last_error(loop));
    return f;
}

START_TEST(lone_cached_read_completes_in_its_starting_call)
{
    tio_loop *loop = new_loop(0);
    static unsigned char data[65536], buf[4096];
    tio_file *f = cached_file(loop, "hit", data);
    tio_task t;
    calls c;
    task_init(&t, &c);
    uint64_t done0 = starts(loop, TIO__COMPLETED);
    ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 8192, count_cb), 0);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + 1);
    ck_assert_int_eq(c.n, 0); /* never inside the starting call */
    ck_assert(memcmp(buf, data + 8192, sizeof buf) == 0);
    /* Finished before the cancel: the cancel is accepted, the result real. */
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 0), 0);
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 1);
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq(c.result, 4096);
    ck_assert_int_eq(tio_os_error(&t), 0);
    /* Resubmitted from scratch: the same path again, whole reads at EOF. */
    ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 65536 - 100, count_cb), 0);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + 2);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(c.result, 100);
    ck_assert_int_eq(tio_file_close(f), 0);
    end_loop(loop);
}
END_TEST

START_TEST(only_the_lone_buffered_task_under_the_default_policy)
{
    static unsigned char data[65536], a[4096], b[4096];
    /* Another pending task: neither start is tried at once. */
    tio_loop *loop = new_loop(0);
    tio_file *f = cached_file(loop, "two", data);
    tio_task s, t;
    calls cs, ct;
    task_init(&s, &cs);
    task_init(&t, &ct);
    ck_assert_int_eq(tio_sleep(loop, &s, 1 * MS, count_cb), 0);
    uint64_t done0 = starts(loop, TIO__COMPLETED);
    ck_assert_int_eq(tio_read(loop, &t, f, a, sizeof a, 0, count_cb), 0);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(ct.result, 4096);
    ck_assert_int_eq(tio_file_close(f), 0);
    tio_loop_destroy(loop);

    /* An explicit policy keeps its word: nothing at the OS before the run
     * under TIO_SUBMIT_IN_RUN, so a cancel is always TIO_ECANCELED. */
    static const unsigned policies[] = {TIO_SUBMIT_IN_RUN, 2};
    for (unsigned i = 0; i < 2; i++) {
        loop = new_loop(policies[i]);
        f = cached_file(loop, i ? "sb2" : "inrun", data);
        done0 = starts(loop, TIO__COMPLETED);
        ck_assert_int_eq(tio_read(loop, &t, f, b, sizeof b, 0, count_cb), 0);
        ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0);
        ck_assert_int_eq(tio_cancel(loop, &t), 0);
        ck_assert_int_eq(tio_drain(loop), 0);
        ck_assert_int_eq(ct.result, TIO_ECANCELED);
        ck_assert_int_eq(tio_file_close(f), 0);
        tio_loop_destroy(loop);
    }
}
END_TEST

START_TEST(direct_files_are_not_tried_at_start)
{
    tio_loop *loop = new_loop(0);
    tio_file *f = direct_file(loop, "direct");
    if (f == NULL) {
        end_loop(loop);
        return;
    }
    size_t al = tio_file_align(f);
    void *buf = tio_alloc(al, al);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0x5a, al);
    tio_task t;
    calls c;
    task_init(&t, &c);
    uint64_t done0 = starts(loop, TIO__COMPLETED), pend0 = starts(loop, TIO__PENDING);
    ck_assert_int_eq(tio_write(loop, &t, f, buf, al, 0, count_cb), 0);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0);
    ck_assert_int_eq(tio_drain(loop), 0); /* a run, not tio_wait: the usual path */
    ck_assert_int_eq(c.result, (int64_t)al);
    ck_assert_uint_eq(starts(loop, TIO__PENDING), pend0 + 1);
    tio_free(buf);
    ck_assert_int_eq(tio_file_close(f), 0);
    end_loop(loop);
}
END_TEST

START_TEST(a_miss_costs_credit_and_a_missing_mode_is_remembered)
{
    tio_loop *loop = new_loop(0);
    static unsigned char data[65536], buf[4096];
    tio_file *f = cached_file(loop, "miss", data);
    /* Out of the page cache: clean first, then dropped. */
    ck_assert_int_eq(fsync(f->handle), 0);
    ck_assert_int_eq(posix_fadvise(f->handle, 0, 0, POSIX_FADV_DONTNEED), 0);
    tio_task t;
    calls c;
    task_init(&t, &c);
    uint64_t done0 = starts(loop, TIO__COMPLETED);
    ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 32768, count_cb), 0);
    if (starts(loop, TIO__COMPLETED) == done0) {
        /* The OS said it would have to wait: the file lost credit, and
         * the task waits in the queue as any lone start does, for the one
         * system call of the run or tio_wait that follows. */
        ck_assert_int_lt(f->nowait_credit[0], 0);
        ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    } else {
        printf("NOTE: the page was still cached after POSIX_FADV_DONTNEED\n");
    }
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 4096);
    ck_assert(memcmp(buf, data + 32768, sizeof buf) == 0);

    /* A buffered write: where the filesystem has no nowait mode for
     * writes (ext4 and tmpfs on Linux 6.18), never tried again on this
     * file; where it has, done at once. */
    fill_pattern(buf, sizeof buf, 8);
    done0 = starts(loop, TIO__COMPLETED);
    ck_assert_int_eq(tio_write(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
    bool at_once = starts(loop, TIO__COMPLETED) == done0 + 1;
    ck_assert_msg(at_once || f->nowait_refused[1],
                  "a buffered write neither done at once nor its mode remembered as missing");
    ck_assert_int_eq(tio__priv(&t)->state, at_once ? TIO__DONE : TIO__QUEUED);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 4096);
    printf("NOTE: buffered writes in %s: %s\n", test_dir(),
           at_once ? "done by the starting call" : "no nowait mode (not tried again)");
    ck_assert_int_eq(pread(f->handle, data, sizeof buf, 0), (ssize_t)sizeof buf);
    ck_assert(memcmp(data, buf, sizeof buf) == 0);
    ck_assert_int_eq(tio_file_close(f), 0);
    end_loop(loop);
}
END_TEST

/* start + tio_wait(FOREVER) on a lone task: COMPLETED on the waiting
 * thread, not PENDING; the result as any path gives it. */
static void wait_does_it(tio_loop *loop, tio_file *f, int op, void *buf, uint32_t len, uint64_t off,
                         int64_t want)
{
    tio_task t;
    calls c;
    task_init(&t, &c);
    int rc = op == TIO__OP_READ    ? tio_read(loop, &t, f, buf, len, off, count_cb)
             : op == TIO__OP_WRITE ? tio_write(loop, &t, f, buf, len, off, count_cb)
                                   : tio_fsync(loop, &t, f, 0, count_cb);
    ck_assert_int_eq(rc, 0);
    uint64_t done0 = starts(loop, TIO__COMPLETED), pend0 = starts(loop, TIO__PENDING);
    ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), want);
    ck_assert_int_eq(c.n, 1);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + 1);
    ck_assert_uint_eq(starts(loop, TIO__PENDING), pend0);
}

START_TEST(wait_on_the_lone_task_does_it_on_the_waiting_thread)
{
    tio_loop *loop = new_loop(0);
    static unsigned char data[65536];
    tio_file *b = cached_file(loop, "waitb", data);
    unsigned char w[4096];
    fill_pattern(w, sizeof w, 9);
    b->nowait_refused[1] = true; /* so that the write reaches tio_wait queued */
    wait_does_it(loop, b, TIO__OP_WRITE, w, sizeof w, 4096, 4096);
    wait_does_it(loop, b, TIO__OP_FSYNC, NULL, 0, 0, 0);
    ck_assert_int_eq(tio_file_close(b), 0);

    tio_file *f = direct_file(loop, "waitd");
    if (f != NULL) {
        size_t al = tio_file_align(f);
        unsigned char *buf = tio_alloc(2 * al, al);
        ck_assert_ptr_nonnull(buf);
        fill_pattern(buf, 2 * al, 10);
        wait_does_it(loop, f, TIO__OP_WRITE, buf, (uint32_t)(2 * al), 0, (int64_t)(2 * al));
        wait_does_it(loop, f, TIO__OP_FSYNC, NULL, 0, 0, 0);
        unsigned char *back = tio_alloc(2 * al, al);
        ck_assert_ptr_nonnull(back);
        wait_does_it(loop, f, TIO__OP_READ, back, (uint32_t)(2 * al), 0, (int64_t)(2 * al));
        ck_assert(memcmp(back, buf, 2 * al) == 0);
        /* At and past the end: 0, as on every path. */
        wait_does_it(loop, f, TIO__OP_READ, back, (uint32_t)al, 2 * al, 0);
        tio_free(back);
        tio_free(buf);
        ck_assert_int_eq(tio_file_close(f), 0);
    }
    end_loop(loop);
}
END_TEST

/* A caller that waits for each lone task: after TIO__LONE_WAITS such
 * waits its starts are no longer tried at once (tio_wait does them, in
 * one plain call); once it runs the loop itself, they are again. */
START_TEST(a_caller_that_waits_is_left_to_tio_wait)
{
    tio_loop *loop = new_loop(0);
    static unsigned char data[65536], buf[4096];
    tio_file *f = cached_file(loop, "waiter", data);
    tio_task t;
    calls c;
    task_init(&t, &c);
    for (unsigned i = 0; i < TIO__LONE_WAITS + 2; i++) {
        uint64_t done0 = starts(loop, TIO__COMPLETED), pend0 = starts(loop, TIO__PENDING);
        ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 4096 * i, count_cb), 0);
        bool tried = i < TIO__LONE_WAITS;
        ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + tried);
        ck_assert_int_eq(tio__priv(&t)->state, tried ? TIO__DONE : TIO__QUEUED);
        ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), 4096);
        ck_assert(memcmp(buf, data + 4096 * i, sizeof buf) == 0);
        ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + 1); /* one way or the other */
        ck_assert_uint_eq(starts(loop, TIO__PENDING), pend0);
    }
    /* Queued at its start, then the caller runs the loop: the run hands
     * it to the OS, and the next lone start is tried at once again. */
    ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio__priv(&t)->state, TIO__QUEUED);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(c.result, 4096);
    uint64_t done0 = starts(loop, TIO__COMPLETED);
    ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 8192, count_cb), 0);
    ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0 + 1);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(c.result, 4096);
    ck_assert_int_eq(tio_file_close(f), 0);
    end_loop(loop);
}
END_TEST

START_TEST(bounded_waits_and_deadlines_keep_the_usual_path)
{
    tio_loop *loop = new_loop(0);
    static unsigned char data[65536];
    tio_file *f = cached_file(loop, "bounded", data);
    f->nowait_refused[0] = f->nowait_refused[1] = true; /* nothing at the start */
    unsigned char buf[4096];
    tio_task t;
    calls c;
    for (int i = 0; i < 2; i++) {
        task_init(&t, &c);
        ck_assert_int_eq(tio_read(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
        if (i == 1)
            ck_assert_int_eq(tio_timeout(loop, &t, 10 * SEC), 0);
        uint64_t done0 = starts(loop, TIO__COMPLETED), pend0 = starts(loop, TIO__PENDING);
        ck_assert_int_eq(tio_wait(loop, &t, i == 0 ? 10 * SEC : TIO_FOREVER), 4096);
        ck_assert_uint_eq(starts(loop, TIO__COMPLETED), done0);
        ck_assert_uint_eq(starts(loop, TIO__PENDING), pend0 + 1);
    }
    ck_assert_int_eq(tio_file_close(f), 0);
    end_loop(loop);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fastpath");
    TCase *tc = tcase_create("fastpath");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lone_cached_read_completes_in_its_starting_call);
    tcase_add_test(tc, only_the_lone_buffered_task_under_the_default_policy);
    tcase_add_test(tc, direct_files_are_not_tried_at_start);
    tcase_add_test(tc, a_caller_that_waits_is_left_to_tio_wait);
    tcase_add_test(tc, a_miss_costs_credit_and_a_missing_mode_is_remembered);
    tcase_add_test(tc, wait_on_the_lone_task_does_it_on_the_waiting_thread);
    tcase_add_test(tc, bounded_waits_and_deadlines_keep_the_usual_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s io_uring|threads\n", argv[0]);
        return 2;
    }
    g_backend = argv[1];
    g_dir = test_dir();
    int rc = probe_backend(g_backend, "fastpath");
    if (rc != 0)
        return rc;
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    scratch_remove_all(&g_scratch);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
