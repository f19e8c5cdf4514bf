/* SPDX-License-Identifier: MIT */
/*
 * win32_pipes.c: the IOCP backend's three-way start handling (DESIGN
 * semantic 2), reached with named pipes, under Wine or on Windows (Check).
 *
 * Every ReadFile/WriteFile that taskio issues on a handle in
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode ends in one of three ways, and
 * src/common counts which in loop->starts[]:
 *
 *   TRUE                       TIO__COMPLETED  done now, no port packet follows
 *   FALSE + ERROR_IO_PENDING   TIO__PENDING    one packet follows on the port
 *   FALSE + anything else      TIO__FAILED     done now, no packet follows
 *                              (a read's ERROR_BROKEN_PIPE is end of stream:
 *                               TIO__COMPLETED with 0)
 *
 * Each test drives one branch with a named pipe (data already there, writer
 * gone, reader gone, nothing there yet) and asserts from loop->starts[] that
 * this branch, and no other, was taken; then that the user sees exactly one
 * callback, from tio_run, never from the submitting call. Overlapped file
 * I/O under Wine always pends, so pipes are what reach the other branches.
 *
 * The taskio end of each pipe is the overlapped server end of a named pipe;
 * the test's end is a synchronous client handle.
 *
 *     win32_pipes            exit 77 (skip) where no iocp loop can be made
 *
 * Windows has no fork: the runner is CK_NOFORK, so each test releases its
 * loops and handles itself (a failing test may leak them).
 */
#ifdef _WIN32

#  include "win32/win32.h" /* <windows.h>, common/internal.h, TIO__WIN_SKIP_ON_SUCCESS */

#  include <float.h>
#  include <math.h>
#  include <stddef.h>
#  include <stdint.h>
#  include <stdio.h>
#  include <stdlib.h>
#  include <string.h>

#  include "tio_check.h" /* <check.h>, MS, SEC, clock, named pipes, writes, closes */


/* ================================================================ helpers */

/* Read exactly len bytes from the synchronous client end. */
static void client_read(HANDLE h, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        DWORD n = 0;
        ck_assert_msg(ReadFile(h, p, (DWORD)len, &n, NULL) && n > 0,
                      "ReadFile on the client end: Win32 error %lu", (unsigned long)GetLastError());
        p += n;
        len -= n;
    }
}


/* ---------------------------------------------------------------- tasks */

static int g_in_submit; /* > 0 inside a submitting call */
static long g_accepted; /* submissions that returned 0 */
static long g_callbacks;

typedef struct rec {
    int calls;
    int64_t result;
    int os_error; /* tio_os_error() in the callback */
} rec;

static void rec_cb(tio_task *task, int64_t result)
{
    rec *r = task->data;
    ck_assert_msg(g_in_submit == 0, "a callback ran inside a submitting call");
    ck_assert_int_eq(task->result, result);
    r->calls++;
    r->result = result;
    r->os_error = tio_os_error(task);
    g_callbacks++;
}

static void task_init(tio_task *t, rec *r)
{
    memset(t, 0, sizeof *t);
    memset(r, 0, sizeof *r);
    t->data = r;
}

static int s_read(tio_loop *l, tio_task *t, tio_file *f, void *buf, size_t len)
{
    g_in_submit++;
    int rc = tio_read(l, t, f, buf, len, 0, rec_cb);
    g_in_submit--;
    if (rc == 0)
        g_accepted++;
    return rc;
}

static int s_write(tio_loop *l, tio_task *t, tio_file *f, const void *buf, size_t len)
{
    g_in_submit++;
    int rc = tio_write(l, t, f, buf, len, 0, rec_cb);
    g_in_submit--;
    if (rc == 0)
        g_accepted++;
    return rc;
}

static int task_is_idle(tio_loop *loop, tio_task *t)
{
    return tio_cancel(loop, t) == TIO_ENOENT;
}

/* ----------------------------------------------------------- the branches */

typedef struct starts {
    uint64_t n[4]; /* by enum tio__start */
} starts;

static starts snap(const tio_loop *loop)
{
    starts s;
    memcpy(s.n, loop->starts, sizeof s.n);
    return s;
}

/* The starts since `before` were exactly p PENDING, c COMPLETED, f FAILED
 * (and no BUSY). */
#  define ck_assert_starts(loop, before, p, c, f)                                              \
    do {                                                                                       \
      starts now_ = snap(loop);                                                                \
      uint64_t dp_ = now_.n[TIO__PENDING] - (before).n[TIO__PENDING];                          \
      uint64_t dc_ = now_.n[TIO__COMPLETED] - (before).n[TIO__COMPLETED];                      \
      uint64_t df_ = now_.n[TIO__FAILED] - (before).n[TIO__FAILED];                            \
      uint64_t db_ = now_.n[TIO__BUSY] - (before).n[TIO__BUSY];                                \
      ck_assert_msg(dp_ == (uint64_t)(p) && dc_ == (uint64_t)(c) && df_ == (uint64_t)(f) &&    \
                        db_ == 0,                                                              \
                    "starts since the snapshot: PENDING %llu COMPLETED %llu FAILED %llu "      \
                    "BUSY %llu; want PENDING %d COMPLETED %d FAILED %d BUSY 0",                \
                    (unsigned long long)dp_, (unsigned long long)dc_, (unsigned long long)df_, \
                    (unsigned long long)db_, (int)(p), (int)(c), (int)(f));                    \
    } while (0)

/* ---------------------------------------------------------- loops, files */

static tio_loop *new_loop_qd(unsigned queue_depth)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = "iocp";
    cfg.queue_depth = queue_depth;
    tio_loop *loop = NULL;
    int rc = tio_loop_create(&loop, &cfg);
    ck_assert_msg(rc == 0, "tio_loop_create(iocp): %s: %s", tio_strerror(rc), tio_last_error(NULL));
    return loop;
}

static tio_loop *new_loop(void)
{
    return new_loop_qd(0);
}

/* Destroy the loop; every accepted call of the test got exactly one callback. */
static void end_loop(tio_loop *loop)
{
    tio_loop_destroy(loop);
    ck_assert_int_eq(g_in_submit, 0);
    ck_assert_msg(g_callbacks == g_accepted, "%ld calls accepted, %ld callbacks ran", g_accepted,
                  g_callbacks);
}

/* Wrap a server end; the skip-on-success mode must be in force, or a TRUE
 * start would be a PENDING one and the COMPLETED branch unreachable. */
static tio_file *wrap(tio_loop *loop, HANDLE h, unsigned flags)
{
    tio_file *f = NULL;
    int rc = tio_file_wrap(loop, &f, h, flags);
    ck_assert_msg(rc == 0, "tio_file_wrap: %s: %s", tio_strerror(rc), tio_last_error(loop));
    ck_assert_msg(f->backend_flags & TIO__WIN_SKIP_ON_SUCCESS,
                  "SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) "
                  "is not in force on the pipe");
    ck_assert_msg(f->is_stream, "a pipe is not described as a stream");
    return f;
}

static void close_file(tio_file *f)
{
    int rc = tio_file_close(f);
    ck_assert_msg(rc == 0, "tio_file_close: %s", tio_strerror(rc));
}

/* Run until r->calls reaches n (limit_ns). */
static void run_until(tio_loop *loop, const rec *r, int n, int64_t limit_ns)
{
    int64_t deadline = now_ns() + limit_ns;
    while (r->calls < n) {
        int rc = tio_run(loop, 10 * MS);
        ck_assert_msg(rc >= 0, "tio_run: %s", tio_strerror(rc));
        ck_assert_msg(now_ns() < deadline, "no callback within %lld ms",
                      (long long)(limit_ns / MS));
    }
}

/* Hand queued reads to the OS and let them sit: nothing may complete. */
static void settle(tio_loop *loop)
{
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_run(loop, 20 * MS), 0);
}

static void setup(void)
{
    g_in_submit = 0;
    g_accepted = 0;
    g_callbacks = 0;
}

/* ===================================================== COMPLETED branch */

/* Data already in the pipe: ReadFile returns TRUE, no packet is queued
 * (skip-on-success), the common code queues the result, the next tio_run
 * delivers it, once. */
START_TEST(read_with_data_present_completes_synchronously_and_once)
{
    tio_loop *loop = new_loop();
    HANDLE p[2], idle[2];
    named_pipe(p, TIO_READS, 0);
    named_pipe(idle, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_file *fi = wrap(loop, idle[0], TIO_RDONLY);

    /* A read that stays pending keeps tio_run really waiting on the port. */
    tio_task it;
    rec ir;
    char ibuf[16];
    task_init(&it, &ir);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &it, fi, ibuf, sizeof ibuf), 0);
    settle(loop);
    ck_assert_starts(loop, s0, 1, 0, 0);

    write_all_fd(p[1], "hello", 5);
    tio_task t;
    rec r;
    char buf[64];
    memset(buf, 0, sizeof buf);
    task_init(&t, &r);
    s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(r.calls, 0); /* not inside the submitting call */
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.result, 5);
    ck_assert_int_eq(r.os_error, 0);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert(task_is_idle(loop, &t));

    /* No second completion: a packet for it would arrive in this wait (and
     * a packet for a task that is not in flight aborts the debug build). */
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_run(loop, 100 * MS), 0);
    ck_assert_int_ge(now_ns() - t0, 50 * MS); /* it did wait on the port */
    ck_assert_int_eq(r.calls, 1);
    ck_assert(task_is_idle(loop, &t));
    ck_assert_uint_eq(tio_pending(loop), 1);

    /* Reused on the now empty pipe it pends, and nothing stale completes it. */
    s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_run(loop, 100 * MS), 0);
    ck_assert_starts(loop, s0, 1, 0, 0);
    ck_assert_int_eq(r.calls, 1);
    write_all_fd(p[1], "again", 5);
    run_until(loop, &r, 2, 5 * SEC);
    ck_assert_int_eq(r.result, 5);
    ck_assert(memcmp(buf, "again", 5) == 0);

    ck_assert_int_eq(tio_cancel(loop, &it), 0);
    run_until(loop, &ir, 1, 5 * SEC);
    ck_assert_int_eq(ir.result, TIO_ECANCELED);
    close_file(f);
    close_file(fi);
    close_fd(p[0]);
    close_fd(p[1]);
    close_fd(idle[0]);
    close_fd(idle[1]);
    end_loop(loop);
}
END_TEST

/* Synchronous completions are held to the per-run callback budget like
 * completions from the port. */
START_TEST(synchronous_completions_obey_the_callback_budget)
{
    enum { N = 5, QD = 2 };
    tio_loop *loop = new_loop_qd(QD);
    HANDLE p[N][2];
    tio_file *f[N];
    tio_task t[N];
    rec r[N];
    char buf[N][16];
    for (int i = 0; i < N; i++) {
        named_pipe(p[i], TIO_READS, 0);
        f[i] = wrap(loop, p[i][0], TIO_RDONLY);
        write_all_fd(p[i][1], "x", 1);
        task_init(&t[i], &r[i]);
    }
    starts s0 = snap(loop);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(s_read(loop, &t[i], f[i], buf[i], sizeof buf[i]), 0);
    ck_assert_int_eq(tio_run(loop, 0), QD);
    ck_assert_starts(loop, s0, 0, N, 0);
    ck_assert_int_eq(tio_run(loop, 0), QD);
    ck_assert_int_eq(tio_run(loop, 0), N - 2 * QD);
    ck_assert_uint_eq(tio_pending(loop), 0);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].result, 1);
    }
    for (int i = 0; i < N; i++) {
        close_file(f[i]);
        close_fd(p[i][0]);
        close_fd(p[i][1]);
    }
    end_loop(loop);
}
END_TEST

/* Writer gone before the read: ReadFile fails at once with
 * ERROR_BROKEN_PIPE (the FAILED branch, raw), which for a read is end of
 * stream: the common code reports 0. */
START_TEST(read_after_writer_closed_completes_immediately_with_zero)
{
    tio_loop *loop = new_loop();
    HANDLE p[2], q[2];
    named_pipe(p, TIO_READS, 0);
    named_pipe(q, TIO_READS, 0);
    close_fd(p[1]);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 0, 1);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(r.os_error, 0);

    /* What was written before the close is read first, then end of stream. */
    tio_file *g = wrap(loop, q[0], TIO_RDONLY);
    write_all_fd(q[1], "abc", 3);
    close_fd(q[1]);
    s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, g, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(r.result, 3);
    ck_assert(memcmp(buf, "abc", 3) == 0);
    ck_assert_int_eq(s_read(loop, &t, g, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(r.result, 0);
    ck_assert_starts(loop, s0, 0, 1, 1); /* data, then ERROR_BROKEN_PIPE */
    ck_assert_int_eq(r.calls, 3);

    close_file(f);
    close_file(g);
    close_fd(p[0]);
    close_fd(q[0]);
    end_loop(loop);
}
END_TEST

/* A write that fits in the pipe's buffer: WriteFile returns TRUE. */
START_TEST(write_with_room_in_the_pipe_completes_synchronously)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_WRITES, 0);
    tio_file *f = wrap(loop, p[1], TIO_WRONLY);
    tio_task t;
    rec r;
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_write(loop, &t, f, "0123456789", 10), 0);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.result, 10);
    char back[10];
    client_read(p[0], back, sizeof back);
    ck_assert(memcmp(back, "0123456789", 10) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* A task whose read completed synchronously is DONE until its callback
 * runs. Cancelling it then (tio_cancel, tio_cancel_file, tio_timeout) is
 * accepted and changes nothing: its callback reports the real result. */
START_TEST(cancel_of_synchronously_completed_read_gives_its_real_result)
{
    tio_loop *loop = new_loop_qd(1); /* one callback per run */
    HANDLE a[2], b[2];
    named_pipe(a, TIO_READS, 0);
    named_pipe(b, TIO_READS, 0);
    tio_file *fa = wrap(loop, a[0], TIO_RDONLY);
    tio_file *fb = wrap(loop, b[0], TIO_RDONLY);
    write_all_fd(a[1], "first", 5);
    write_all_fd(b[1], "second", 6);
    tio_task ta, tb;
    rec ra, rb;
    char bufa[16], bufb[16];
    task_init(&ta, &ra);
    task_init(&tb, &rb);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &ta, fa, bufa, sizeof bufa), 0);
    ck_assert_int_eq(s_read(loop, &tb, fb, bufb, sizeof bufb), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1); /* both started, one callback ran */
    ck_assert_starts(loop, s0, 0, 2, 0);
    ck_assert_int_eq(ra.calls, 1);
    ck_assert_int_eq(rb.calls, 0);
    ck_assert_int_eq(tio__cpriv(&tb)->state, TIO__DONE);

    ck_assert_int_eq(tio_cancel(loop, &tb), 0);
    ck_assert_int_eq(tio_cancel_file(loop, fb), 1); /* counted: not yet delivered */
    ck_assert_int_eq(tio_timeout(loop, &tb, 0), 0);
    Sleep(5);
    ck_assert_int_eq(rb.calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_int_eq(rb.calls, 1);
    ck_assert_msg(rb.result == 6, "cancelled after it completed: %lld, want its 6 bytes",
                  (long long)rb.result);
    ck_assert_int_eq(rb.os_error, 0);
    ck_assert(memcmp(bufb, "second", 6) == 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_cancel_file(loop, fb), 0);

    close_file(fa);
    close_file(fb);
    close_fd(a[0]);
    close_fd(a[1]);
    close_fd(b[0]);
    close_fd(b[1]);
    end_loop(loop);
}
END_TEST

/* ======================================================== FAILED branch */

/* Reader gone before the write: WriteFile fails at once (ERROR_NO_DATA,
 * "the pipe is being closed"; ERROR_BROKEN_PIPE on some versions): FAILED,
 * TIO_EPIPE, delivered by the next run. */
START_TEST(write_after_reader_closed_fails_immediately_with_epipe)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_WRITES, 0);
    close_fd(p[0]);
    tio_file *f = wrap(loop, p[1], TIO_WRONLY);
    tio_task t;
    rec r;
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_write(loop, &t, f, "hello", 5), 0);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 0, 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.result, TIO_EPIPE);
    ck_assert_msg(r.os_error == ERROR_NO_DATA || r.os_error == ERROR_BROKEN_PIPE,
                  "tio_os_error %d, want ERROR_NO_DATA (232) or ERROR_BROKEN_PIPE (109)",
                  r.os_error);
    printf("NOTE: write to a pipe whose reader closed: Win32 error %d\n", r.os_error);
    ck_assert(task_is_idle(loop, &t));
    close_file(f);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* ======================================================= PENDING branch */

static void pending_read(tio_loop *loop, tio_task *t, tio_file *f, void *buf, size_t len)
{
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, t, f, buf, len), 0);
    settle(loop);
    ck_assert_starts(loop, s0, 1, 0, 0);
}

/* Someone else's overlapped read on a wrapped handle completes through the
 * loop's port (a handle has one port): the packet is not a task of ours and
 * is dropped, and taskio's own I/O on the handle goes on. */
START_TEST(foreign_overlapped_io_on_a_wrapped_handle_is_not_taken_for_a_task)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    static OVERLAPPED foreign;
    static char foreign_buf[4];
    memset(&foreign, 0, sizeof foreign);
    BOOL done = ReadFile(p[0], foreign_buf, sizeof foreign_buf, NULL, &foreign);
    ck_assert(done || GetLastError() == ERROR_IO_PENDING);
    write_all_fd(p[1], "abcd", 4);
    /* the foreign packet arrives; nothing is ours to complete */
    ck_assert_int_eq(tio_run(loop, 200 * MS), 0);
    ck_assert_uint_eq(tio_pending(loop), 0);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    write_all_fd(p[1], "ef", 2);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, 2);
    ck_assert(memcmp(buf, "ef", 2) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

START_TEST(empty_pipe_read_pends_then_cancel_gives_ecanceled)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    pending_read(loop, &t, f, buf, sizeof buf);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    ck_assert_int_eq(r.calls, 0); /* not inside tio_cancel */
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, TIO_ECANCELED);
    ck_assert_msg(r.os_error == 0,
                  "tio_os_error %d, want 0: a cancel is the library's "
                  "outcome, not an OS failure",
                  r.os_error);
    /* The cancelled read took nothing: the next one finds the data there. */
    write_all_fd(p[1], "xy", 2);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    run_until(loop, &r, 2, 5 * SEC);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.result, 2);
    ck_assert(memcmp(buf, "xy", 2) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

START_TEST(empty_pipe_read_pends_then_timeout_gives_etimedout)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    pending_read(loop, &t, f, buf, sizeof buf);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_timeout(loop, &t, 50 * MS), 0);
    run_until(loop, &r, 1, 5 * SEC);
    int64_t el = now_ns() - t0;
    ck_assert_int_eq(r.result, TIO_ETIMEDOUT);
    ck_assert_msg(r.os_error == 0,
                  "tio_os_error %d, want 0: a cancel is the library's "
                  "outcome, not an OS failure",
                  r.os_error);
    ck_assert_msg(el >= 50 * MS, "timed out after %lld ns, deadline 50 ms", (long long)el);
    ck_assert_uint_eq(tio_pending(loop), 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* The pending read is completed by a later write, through a port packet;
 * what the 4-byte buffer could not take stays in the pipe and is there for
 * the next read at once (COMPLETED). */
START_TEST(empty_pipe_read_pends_then_a_later_write_completes_it)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[4];
    task_init(&t, &r);
    pending_read(loop, &t, f, buf, sizeof buf);
    starts s0 = snap(loop);
    write_all_fd(p[1], "0123456789", 10);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_starts(loop, s0, 0, 0, 0); /* the packet is not a start */
    ck_assert_int_eq(r.result, 4);
    ck_assert_int_eq(r.os_error, 0);
    ck_assert(memcmp(buf, "0123", 4) == 0);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.result, 4);
    ck_assert(memcmp(buf, "4567", 4) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* Writer closes while the read is pending: the packet carries
 * ERROR_BROKEN_PIPE, end of stream, 0. */
START_TEST(pending_read_completes_with_zero_when_writer_closes)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    pending_read(loop, &t, f, buf, sizeof buf);
    close_fd(p[1]);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, 0);
    ck_assert_int_eq(r.os_error, 0);
    close_file(f);
    close_fd(p[0]);
    end_loop(loop);
}
END_TEST

#  define BIG (1u << 20) /* far beyond the 64 KiB pipe buffer */

/* A write larger than the pipe's buffer pends until the reader drains it. */
START_TEST(write_larger_than_the_pipe_buffer_pends_until_the_reader_drains)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_WRITES, 0);
    tio_file *f = wrap(loop, p[1], TIO_WRONLY);
    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    ck_assert(out && in);
    for (size_t i = 0; i < BIG; i++)
        out[i] = (unsigned char)(i * 7 + (i >> 11));
    tio_task t;
    rec r;
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_write(loop, &t, f, out, BIG), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_starts(loop, s0, 1, 0, 0);
    ck_assert_int_eq(r.calls, 0);
    client_read(p[0], in, BIG);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, (int64_t)BIG);
    ck_assert(memcmp(in, out, BIG) == 0);
    free(out);
    free(in);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* Reader closes while the write is pending: the packet carries the pipe
 * error, TIO_EPIPE. */
START_TEST(pending_write_fails_with_epipe_when_reader_closes)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_WRITES, 0);
    tio_file *f = wrap(loop, p[1], TIO_WRONLY);
    unsigned char *out = calloc(1, BIG);
    ck_assert_ptr_nonnull(out);
    tio_task t;
    rec r;
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_write(loop, &t, f, out, BIG), 0);
    settle(loop);
    ck_assert_starts(loop, s0, 1, 0, 0);
    close_fd(p[0]);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, TIO_EPIPE);
    ck_assert_msg(r.os_error == ERROR_NO_DATA || r.os_error == ERROR_BROKEN_PIPE,
                  "tio_os_error %d, want ERROR_NO_DATA (232) or ERROR_BROKEN_PIPE (109)",
                  r.os_error);
    ck_assert_starts(loop, s0, 1, 0, 0);
    free(out);
    close_file(f);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* A byte-mode server end holds several overlapped reads at once.
 * tio_cancel_file counts from the library's bookkeeping (Wine's
 * CancelIoEx(h, NULL) says TRUE even with nothing pending). */
START_TEST(cancel_file_counts_three_pending_reads_on_one_pipe)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t[3];
    rec r[3];
    char buf[3][16];
    starts s0 = snap(loop);
    for (int i = 0; i < 3; i++) {
        task_init(&t[i], &r[i]);
        ck_assert_int_eq(s_read(loop, &t[i], f, buf[i], sizeof buf[i]), 0);
    }
    settle(loop);
    ck_assert_starts(loop, s0, 3, 0, 0);
    ck_assert_int_eq(tio_cancel_file(loop, f), 3);
    for (int i = 0; i < 3; i++)
        run_until(loop, &r[i], 1, 5 * SEC);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].result, TIO_ECANCELED);
        ck_assert_int_eq(r[i].os_error, 0);
    }
    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(tio_cancel_file(loop, f), 0);
    /* Nothing was consumed by the cancelled reads. */
    write_all_fd(p[1], "xyz", 3);
    ck_assert_int_eq(s_read(loop, &t[0], f, buf[0], sizeof buf[0]), 0);
    run_until(loop, &r[0], 2, 5 * SEC);
    ck_assert_int_eq(r[0].result, 3);
    ck_assert(memcmp(buf[0], "xyz", 3) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* Three reads pending; a write completes the first at the OS before its
 * packet is reaped. tio_cancel_file still counts 3 (none has been
 * delivered), CancelIoEx finds that one finished (ERROR_NOT_FOUND), and
 * its callback reports its bytes; the others are cancelled. No byte is
 * lost. */
START_TEST(cancel_file_with_one_read_already_finished_at_the_os_gives_its_bytes)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t[3];
    rec r[3];
    char buf[3][16];
    starts s0 = snap(loop);
    for (int i = 0; i < 3; i++) {
        task_init(&t[i], &r[i]);
        ck_assert_int_eq(s_read(loop, &t[i], f, buf[i], sizeof buf[i]), 0);
    }
    settle(loop);
    write_all_fd(p[1], "ab", 2);
    Sleep(20);
    ck_assert_int_eq(tio_cancel_file(loop, f), 3);
    for (int i = 0; i < 3; i++)
        run_until(loop, &r[i], 1, 5 * SEC);
    ck_assert_starts(loop, s0, 3, 0, 0);
    int got = -1;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        if (r[i].result == 2) {
            ck_assert_msg(got < 0, "reads %d and %d both got the 2 bytes", got, i);
            got = i;
            ck_assert(memcmp(buf[i], "ab", 2) == 0);
        } else {
            ck_assert_msg(r[i].result == TIO_ECANCELED, "read %d: %lld", i, (long long)r[i].result);
        }
    }
    ck_assert_msg(got >= 0, "the 2 written bytes were lost to the cancel");
    printf("NOTE: three pending reads, 2 bytes written: read %d took them\n", got);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* ======================================================== message mode */

/* A pending read in message mode, then a message longer than its buffer:
 * the packet carries STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA), a warning,
 * and the read reports the part it got; the rest is the next read's. */
START_TEST(message_mode_pending_read_returns_part_of_a_longer_message)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 1);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_task t;
    rec r;
    char buf[4];
    task_init(&t, &r);
    pending_read(loop, &t, f, buf, sizeof buf);
    write_all_fd(p[1], "abcdefgh", 8);
    run_until(loop, &r, 1, 5 * SEC);
    ck_assert_int_eq(r.result, 4);
    ck_assert(memcmp(buf, "abcd", 4) == 0);
    /* the remaining 4 bytes fit exactly: a plain synchronous success */
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.result, 4);
    ck_assert(memcmp(buf, "efgh", 4) == 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* A message longer than the buffer already waiting: ReadFile returns FALSE
 * with ERROR_MORE_DATA, the buffer full. STATUS_BUFFER_OVERFLOW is a warning,
 * not an error, and the skip-on-success mode skips the packet for any
 * synchronous non-error status (FO_SKIP_COMPLETION_PORT in the FILE_OBJECT
 * reference; Wine: server/async.c async_set_result), so no packet follows:
 * the read is complete now and must be reported as such. */
START_TEST(message_mode_read_of_a_longer_waiting_message_completes_with_the_part)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 1);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    write_all_fd(p[1], "0123456789", 10);
    tio_task t;
    rec r;
    char buf[4];
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    int64_t res = tio_wait(loop, &t, 2 * SEC);
    /* On failure the loop is left behind: its task can never complete. */
    ck_assert_msg(res != TIO_ETIMEDOUT,
                  "a read that met ERROR_MORE_DATA at once never completed (starts: PENDING "
                  "+%llu, COMPLETED +%llu): it was taken for pending, but no packet follows",
                  (unsigned long long)(loop->starts[TIO__PENDING] - s0.n[TIO__PENDING]),
                  (unsigned long long)(loop->starts[TIO__COMPLETED] - s0.n[TIO__COMPLETED]));
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(res, 4);
    ck_assert(memcmp(buf, "0123", 4) == 0);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 2 * SEC), 4);
    ck_assert(memcmp(buf, "4567", 4) == 0);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 2 * SEC), 2);
    ck_assert(memcmp(buf, "89", 2) == 0);
    ck_assert_starts(loop, s0, 0, 3, 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* ================================================================ wrap */

/* A handle opened without FILE_FLAG_OVERLAPPED cannot join a port
 * (CreateIoCompletionPort: ERROR_INVALID_PARAMETER), so tio_file_wrap
 * refuses it with TIO_EINVAL rather than adopting a handle whose reads
 * would block the loop's thread. */
START_TEST(wrap_of_non_overlapped_handle_fails_with_einval)
{
    tio_loop *loop = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_WRITES, 0); /* p[0]: the synchronous client end, readable */
    tio_file *f = NULL;
    int rc = tio_file_wrap(loop, &f, p[0], TIO_RDONLY);
    printf("NOTE: tio_file_wrap of a non-overlapped pipe handle: %s (%s)\n", tio_strerror(rc),
           tio_last_error(loop));
    ck_assert_int_eq(rc, TIO_EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_msg(tio_last_error(loop)[0] != '\0', "no tio_last_error after a refused wrap");
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* A handle belongs to one completion port for its whole life: wrapping it
 * in a second loop fails with TIO_EINVAL, and the first loop keeps it. */
START_TEST(wrap_of_handle_bound_to_another_loops_port_fails_with_einval)
{
    tio_loop *loop = new_loop();
    tio_loop *other = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    tio_file *f = wrap(loop, p[0], TIO_RDONLY);
    tio_file *g = NULL;
    int rc = tio_file_wrap(other, &g, p[0], TIO_RDONLY);
    printf("NOTE: tio_file_wrap of a handle on another loop's port: %s (%s)\n", tio_strerror(rc),
           tio_last_error(other));
    ck_assert_int_eq(rc, TIO_EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_msg(strstr(tio_last_error(other), "CreateIoCompletionPort") != NULL,
                  "tio_last_error does not say what refused: \"%s\"", tio_last_error(other));
    /* the first loop still owns it and it works there */
    write_all_fd(p[1], "still", 5);
    tio_task t;
    rec r;
    char buf[16];
    task_init(&t, &r);
    starts s0 = snap(loop);
    ck_assert_int_eq(s_read(loop, &t, f, buf, sizeof buf), 0);
    ck_assert_int_eq(tio_run(loop, 0), 1);
    ck_assert_starts(loop, s0, 0, 1, 0);
    ck_assert_int_eq(r.result, 5);
    close_file(f);
    close_fd(p[0]);
    close_fd(p[1]);
    tio_loop_destroy(other);
    end_loop(loop);
}
END_TEST

/* Whether this system ends a handle's port association on request:
 * FileReplaceCompletionInformation (61) with a NULL port, Windows 8.1+. */
static int os_can_detach(void)
{
    typedef LONG(WINAPI * set_info_fn)(HANDLE, void *, void *, ULONG, int);
    set_info_fn set_info = (set_info_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"ntdll.dll"), "NtSetInformationFile");
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    HANDLE a = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    HANDLE b = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    ck_assert(a != NULL && b != NULL);
    ck_assert(CreateIoCompletionPort(p[0], a, 0, 0) == a);
    ULONG_PTR iosb[2];
    void *info[2] = {NULL, NULL};
    LONG st = set_info ? set_info(p[0], iosb, info, sizeof info, 61) : (LONG)0xC0000002;
    int can = st >= 0 && CreateIoCompletionPort(p[0], b, 0, 0) == b;
    printf("NOTE: FileReplaceCompletionInformation with a NULL port: NTSTATUS 0x%08lx; "
           "the handle %s join another port\n",
           (unsigned long)st, can ? "can" : "cannot");
    CloseHandle(a);
    CloseHandle(b);
    close_fd(p[0]);
    close_fd(p[1]);
    return can;
}

/* tio_file_close of a wrapped handle hands it back whole: where the OS can
 * end the port association, another loop can wrap it and read through it;
 * elsewhere it stays bound, and a second wrap is TIO_EINVAL (taskio.h). */
START_TEST(wrapped_handle_leaves_the_port_on_close_where_the_os_allows)
{
    int can = os_can_detach();
    if (!can)
        printf("SKIP: wrapped_handle_leaves_the_port_on_close_where_the_os_allows: the OS "
               "cannot detach a handle from its port (Windows before 8.1, Wine); only the "
               "documented refusal is checked\n");
    tio_loop *loop = new_loop();
    tio_loop *other = new_loop();
    HANDLE p[2];
    named_pipe(p, TIO_READS, 0);
    close_file(wrap(loop, p[0], TIO_RDONLY));
    tio_file *g = NULL;
    int rc = tio_file_wrap(other, &g, p[0], TIO_RDONLY);
    if (!can) {
        ck_assert_int_eq(rc, TIO_EINVAL);
    } else {
        ck_assert_msg(rc == 0, "tio_file_wrap after tio_file_close: %s (%s)", tio_strerror(rc),
                      tio_last_error(other));
        write_all_fd(p[1], "again", 5);
        tio_task t;
        rec r;
        char buf[16];
        task_init(&t, &r);
        ck_assert_int_eq(s_read(other, &t, g, buf, sizeof buf), 0);
        ck_assert_int_eq(tio_drain(other), 0);
        ck_assert_int_eq(r.calls, 1);
        ck_assert_int_eq(r.result, 5);
        ck_assert_mem_eq(buf, "again", 5);
        close_file(g);
    }
    close_fd(p[0]);
    close_fd(p[1]);
    tio_loop_destroy(other);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

static TCase *new_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60); /* no effect without fork */
    return tc;
}

static Suite *pipes_suite(void)
{
    Suite *s = suite_create("win32_pipes");
    TCase *tc = new_tcase("completed");
    tcase_add_test(tc, read_with_data_present_completes_synchronously_and_once);
    tcase_add_test(tc, synchronous_completions_obey_the_callback_budget);
    tcase_add_test(tc, read_after_writer_closed_completes_immediately_with_zero);
    tcase_add_test(tc, write_with_room_in_the_pipe_completes_synchronously);
    tcase_add_test(tc, cancel_of_synchronously_completed_read_gives_its_real_result);
    suite_add_tcase(s, tc);

    tc = new_tcase("failed");
    tcase_add_test(tc, write_after_reader_closed_fails_immediately_with_epipe);
    suite_add_tcase(s, tc);

    tc = new_tcase("pending");
    tcase_add_test(tc, empty_pipe_read_pends_then_cancel_gives_ecanceled);
    tcase_add_test(tc, empty_pipe_read_pends_then_timeout_gives_etimedout);
    tcase_add_test(tc, empty_pipe_read_pends_then_a_later_write_completes_it);
    tcase_add_test(tc, pending_read_completes_with_zero_when_writer_closes);
    tcase_add_test(tc, write_larger_than_the_pipe_buffer_pends_until_the_reader_drains);
    tcase_add_test(tc, pending_write_fails_with_epipe_when_reader_closes);
    tcase_add_test(tc, cancel_file_counts_three_pending_reads_on_one_pipe);
    tcase_add_test(tc, cancel_file_with_one_read_already_finished_at_the_os_gives_its_bytes);
    suite_add_tcase(s, tc);

    tc = new_tcase("message-mode");
    tcase_add_test(tc, message_mode_pending_read_returns_part_of_a_longer_message);
    tcase_add_test(tc, message_mode_read_of_a_longer_waiting_message_completes_with_the_part);
    suite_add_tcase(s, tc);

    tc = new_tcase("wrap");
    tcase_add_test(tc, wrap_of_non_overlapped_handle_fails_with_einval);
    tcase_add_test(tc, wrap_of_handle_bound_to_another_loops_port_fails_with_einval);
    tcase_add_test(tc, foreign_overlapped_io_on_a_wrapped_handle_is_not_taken_for_a_task);
    tcase_add_test(tc, wrapped_handle_leaves_the_port_on_close_where_the_os_allows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = probe_backend("iocp", "win32_pipes");
    if (rc != 0)
        return rc;

    SRunner *sr = srunner_create(pipes_suite());
    srunner_set_fork_status(sr, CK_NOFORK); /* no fork() on Windows */
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else /* !_WIN32 */

#  include <stdio.h>

int main(void)
{
    printf("SKIP: win32_pipes tests the IOCP backend (Windows only)\n");
    return 77;
}

#endif
