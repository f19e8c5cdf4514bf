/* SPDX-License-Identifier: MIT */
/*
 * hostile.c: every public function, called wrongly (Check).
 *
 *     tio-hostile BACKEND
 *
 * Issue 5 item 4. One table, one row per misuse: the call, what it must
 * return, and what must (not) follow. Every row is checked the same way:
 *
 *   CALL     the call returns exactly `expect` (a TIO_E* code, or the
 *            documented value of a query); no callback follows (the loop is
 *            polled after the call) and tio_pending of both loops is
 *            unchanged; the row's task is still idle.
 *   ACC      the call is accepted (0) and exactly one callback follows, with
 *            result `expect` (or `alt`): lengths 0, what the OS reports.
 *   ACC_CNL  accepted, then tio_cancel: one callback, result `expect`.
 *   ACC_ERR  accepted, one callback with some TIO_E* error (the OS decides
 *            which; Windows and Wine differ).
 *   RUNS     the call runs the loop itself (tio_run/tio_wait with extreme
 *            timeouts): it returns `expect` and exactly one callback ran.
 *
 * The fixture has two loops: `a`, the one under test, and `b`, "another
 * loop", with tasks pending on both for the whole table (a 60 s sleep and a
 * pipe read at the OS on each, a pipe read still queued on b) and files on
 * both. A failing row does not stop the table: every failing row is listed,
 * then the test fails. A row that crashes is named on stderr (POSIX).
 *
 * Tests: "table" (all the rows), "closed_file" (a file after tio_file_close:
 * every call gives TIO_EBADF until a later open on its loop reuses it),
 * "create_errors_explained" (a refused tio_loop_create says why in
 * tio_last_error(NULL)).
 *
 * Environment: TIO_HOSTILE_VERBOSE=1 names each row as it runs;
 * TIO_HOSTILE_SKIP=row,row skips rows (to get past one that aborts, e.g.
 * under -fno-sanitize-recover).
 *
 * Scratch directory: $TIO_TEST_DIR (default "."). The direct-I/O rows are
 * skipped (with a NOTE) where the filesystem refuses O_DIRECT.
 *
 * Portability: the table is meant to run on iocp under Wine too. POSIX-only
 * rows (fd semantics, directories, fsync of a pipe) are in ROWS_OS, which
 * has Windows counterparts where they are simple.
 */
#include <taskio.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tio_check.h" /* <check.h>; MS, SEC; scratch paths, probes, pipes, closes */

#ifndef _WIN32
#  include <errno.h>
#  include <fcntl.h>
#  include <signal.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif


/* ================================================================ platform */

#ifdef _WIN32
#  define INVALID_H ((tio_handle)INVALID_HANDLE_VALUE)

/* A handle value that was valid and is closed now. */
static tio_handle closed_handle(void)
{
    HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert_ptr_nonnull(h);
    CloseHandle(h);
    return h;
}

static int set_env(const char *name, const char *value)
{
    return _putenv_s(name, value ? value : "");
}

static void install_crash_report(void) {}
#else /* POSIX */
#  define INVALID_H (-1)

/* A descriptor number that was open and is closed now (nothing else in
 * this process opens descriptors meanwhile: the test is single-threaded
 * and the library's threads open none). */
static tio_handle closed_handle(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return fd;
}

static int set_env(const char *name, const char *value)
{
    return value ? setenv(name, value, 1) : unsetenv(name);
}

static const char *volatile g_row_name; /* the row being run, for a crash report */

static void on_crash(int sig)
{
    const char *n = g_row_name;
    if (n) {
        static const char pre[] = "hostile: crashed in row ";
        ssize_t w = write(2, pre, sizeof pre - 1);
        w = write(2, n, strlen(n));
        w = write(2, "\n", 1);
        (void)w;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_report(void)
{
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGFPE, on_crash);
    /* SIGPIPE keeps its default: the library must raise none (semantic 14). */
}
#endif

/* ================================================================ globals */

static const char *g_backend;
static const char *g_dir = ".";
static scratch_paths g_scratch;

static void remove_scratch(void)
{
    scratch_remove_all(&g_scratch);
}

static const char *scratch(const char *tag)
{
    const char *p = scratch_path(&g_scratch, g_dir, "tio-hostile", tag);
    ck_assert_msg(p != NULL, "more than %d scratch paths", SCRATCH_MAX);
    return p;
}

/* ================================================================ callbacks */

typedef struct tcx {
    int calls;
    int64_t result;
} tcx;

static int g_in_submit;   /* > 0 inside a call made by a row */
static long g_cb_in_call; /* callbacks that ran inside a row's call (with g_in_submit) */
static long g_row_cbs;    /* callbacks of the row task */
static long g_bg_cbs;     /* callbacks of the fixture's background tasks */

static void row_cb(tio_task *task, int64_t result)
{
    tcx *c = task->data;
    if (g_in_submit)
        g_cb_in_call++;
    c->calls++;
    c->result = result;
    g_row_cbs++;
}

static void setup_cb(tio_task *task, int64_t result)
{
    tcx *c = task->data;
    c->calls++;
    c->result = result;
}

static void bg_cb(tio_task *task, int64_t result)
{
    tcx *c = task->data;
    c->calls++;
    c->result = result;
    g_bg_cbs++;
}

/* ================================================================ fixture */

typedef struct bgtask {
    tio_task t;
    tcx c;
} bgtask;

typedef struct fx {
    tio_loop *a;     /* the loop under test */
    tio_loop *b;     /* "another loop" */
    tio_file *fa;    /* a: buffered RDWR file holding 4096 bytes */
    tio_file *ro;    /* a: the same path, read-only */
    tio_file *wo;    /* a: the same path, write-only */
    tio_file *dfile; /* a: direct RDWR file, NULL when O_DIRECT is refused */
    size_t dalign;
    tio_file *pa;     /* a: pipe read end with a_read pending on it */
    tio_file *pa2;    /* a: pipe read end, idle, no data */
    tio_file *pwa;    /* a: pipe write end, reader open */
    tio_file *fb;     /* b: buffered RDWR file */
    tio_file *pb;     /* b: pipe read end with b_read and b_queued pending */
    tio_file *closed; /* a: after tio_file_close (closed_file test) */
    tio_file *closed_pipe;
    tio_handle pipe_a[2], pipe_a2[2], pipe_aw[2], pipe_b[2];
    tio_task t; /* the row's task, reset before every row */
    tcx tc;
    bgtask a_sleep, a_read;           /* pending on a all along */
    bgtask b_sleep, b_read, b_queued; /* pending on b all along; b_queued never started */
    bgtask q;                         /* on_queued_task's: queued on a for one call */
    unsigned char *buf;               /* 3 * 4096 bytes, 4096-aligned */
    unsigned char *big;               /* TIO_MAX_IO bytes, or NULL (no address space) */
    tio_buf reg_ok, reg_empty, reg_null_base, reg_huge, reg_wrap; /* tio_register_buffers rows */
    char missing[512], missing_parent[512], newpath[512], dirpath[512];
#ifndef _WIN32
    int dir_fd;
    int closed_fd;
#else
    tio_handle closed_fd;
#endif
} fx;

static tio_loop *make_loop(void)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *loop = NULL;
    int rc = tio_loop_create(&loop, &cfg);
    ck_assert_msg(rc == 0, "tio_loop_create(%s): %s: %s", g_backend, tio_strerror(rc),
                  tio_last_error(NULL));
    return loop;
}

static tio_file *open_ok(tio_loop *loop, const char *path, unsigned flags)
{
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, flags, 0644);
    ck_assert_msg(rc == 0, "tio_file_open(%s, %#x): %s: %s", path, flags, tio_strerror(rc),
                  tio_last_error(loop));
    return f;
}

static tio_file *wrap_ok(tio_loop *loop, tio_handle h, unsigned flags)
{
    tio_file *f = NULL;
    int rc = tio_file_wrap(loop, &f, h, flags);
    ck_assert_msg(rc == 0, "tio_file_wrap: %s: %s", tio_strerror(rc), tio_last_error(loop));
    return f;
}

static void bg_init(bgtask *b)
{
    memset(b, 0, sizeof *b);
    b->t.data = &b->c;
}

static void fx_init(fx *F)
{
    memset(F, 0, sizeof *F);
    g_in_submit = 0;
    g_cb_in_call = g_row_cbs = g_bg_cbs = 0;
    F->a = make_loop();
    F->b = make_loop();
    F->buf = tio_alloc(3 * 4096, 4096);
    ck_assert_ptr_nonnull(F->buf);
    F->big = malloc(TIO_MAX_IO); /* untouched but for 4096 bytes: address space only */
    memset(F->buf, 0x5A, 3 * 4096);
    F->reg_ok.base = F->buf;
    F->reg_ok.len = 4096;
    F->reg_empty.base = F->buf;
    F->reg_empty.len = 0;
    F->reg_null_base.base = NULL;
    F->reg_null_base.len = 4096;
    F->reg_huge.base = F->buf;
    F->reg_huge.len = SIZE_MAX;
    F->reg_wrap.base = (void *)(UINTPTR_MAX & ~(uintptr_t)4095); /* end wraps past 0 */
    F->reg_wrap.len = 8192;

    const char *path = scratch("rw");
    F->fa = open_ok(F->a, path, TIO_CREATE | TIO_RDWR);
    tio_task t;
    memset(&t, 0, sizeof t);
    tcx c = {0, 0};
    t.data = &c;
    ck_assert_int_eq(tio_write(F->a, &t, F->fa, F->buf, 4096, 0, setup_cb), 0);
    ck_assert_int_eq(tio_wait(F->a, &t, 10 * SEC), 4096);
    F->ro = open_ok(F->a, path, TIO_RDONLY);
    F->wo = open_ok(F->a, path, TIO_WRONLY);
    F->fb = open_ok(F->b, scratch("b"), TIO_CREATE | TIO_RDWR);

    tio_file *d = NULL;
    int rc = tio_file_open(F->a, &d, scratch("direct"), TIO_CREATE | TIO_RDWR | TIO_DIRECT, 0644);
    if (rc == 0) {
        F->dfile = d;
        F->dalign = tio_file_align(d);
        ck_assert_uint_ge(F->dalign, 2);
        ck_assert_uint_le(F->dalign, 4096);
    } else {
        ck_assert_msg(rc == TIO_ENOTSUP, "direct open: %s", tio_strerror(rc));
    }

    snprintf(F->missing, sizeof F->missing, "%s", scratch("missing"));
    snprintf(F->newpath, sizeof F->newpath, "%s", scratch("new"));
    snprintf(F->missing_parent, sizeof F->missing_parent, "%s/tio-hostile-no-such-dir-%ld/f", g_dir,
             proc_id());
    snprintf(F->dirpath, sizeof F->dirpath, "%s", g_dir);

    make_pipe(F->pipe_a);
    make_pipe(F->pipe_a2);
    make_pipe_out(F->pipe_aw);
    make_pipe(F->pipe_b);
    F->pa = wrap_ok(F->a, F->pipe_a[0], TIO_RDONLY);
    F->pa2 = wrap_ok(F->a, F->pipe_a2[0], TIO_RDONLY);
    F->pwa = wrap_ok(F->a, F->pipe_aw[1], TIO_WRONLY);
    F->pb = wrap_ok(F->b, F->pipe_b[0], TIO_RDONLY);

    /* Background tasks: a sleep (timer) and a pipe read at the OS on each
     * loop, and on b a second pipe read that stays queued (b is never run
     * while the table runs). */
    bg_init(&F->a_sleep);
    bg_init(&F->a_read);
    bg_init(&F->b_sleep);
    bg_init(&F->b_read);
    bg_init(&F->b_queued);
    ck_assert_int_eq(tio_sleep(F->a, &F->a_sleep.t, 60 * SEC, bg_cb), 0);
    ck_assert_int_eq(tio_read(F->a, &F->a_read.t, F->pa, F->buf + 8192, 64, 0, bg_cb), 0);
    ck_assert_int_eq(tio_sleep(F->b, &F->b_sleep.t, 60 * SEC, bg_cb), 0);
    ck_assert_int_eq(tio_read(F->b, &F->b_read.t, F->pb, F->buf + 8192 + 64, 64, 0, bg_cb), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tio_run(F->a, 0), 0);
        ck_assert_int_eq(tio_run(F->b, 0), 0);
    }
    ck_assert_int_eq(tio_run(F->b, 10 * MS), 0);
    ck_assert_int_eq(tio_read(F->b, &F->b_queued.t, F->pb, F->buf + 8192 + 128, 64, 0, bg_cb), 0);
    ck_assert_uint_eq(tio_pending(F->a), 2);
    ck_assert_uint_eq(tio_pending(F->b), 3);
    ck_assert_int_eq(g_bg_cbs, 0);

#ifndef _WIN32
    F->dir_fd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(F->dir_fd, 0);
#endif
    F->closed_fd = closed_handle();
}

/* Cancel the background tasks: each gets exactly one callback, cancelled;
 * nothing stays pending; the loops are destroyed. */
static void fx_fini(fx *F)
{
    /* b was never run during the table: whatever a bug queued there shows now. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(tio_run(F->b, 0), 0);
    ck_assert_msg(g_bg_cbs == 0, "%ld background tasks completed while they should pend", g_bg_cbs);
    ck_assert_uint_eq(tio_pending(F->b), 3);
    ck_assert_int_eq(tio_cancel(F->b, &F->b_queued.t), 0);
    ck_assert_int_eq(tio_cancel(F->b, &F->b_read.t), 0);
    ck_assert_int_eq(tio_cancel(F->b, &F->b_sleep.t), 0);
    ck_assert_int_eq(tio_drain(F->b), 0);
    ck_assert_int_eq(F->b_queued.c.calls, 1);
    ck_assert_int_eq(F->b_queued.c.result, TIO_ECANCELED);
    ck_assert_int_eq(F->b_read.c.calls, 1);
    ck_assert_int_eq(F->b_read.c.result, TIO_ECANCELED);
    ck_assert_int_eq(F->b_sleep.c.calls, 1);
    ck_assert_int_eq(F->b_sleep.c.result, TIO_ECANCELED);
    ck_assert_uint_eq(tio_pending(F->b), 0);
    ck_assert_int_eq(tio_file_close(F->pb), 0);
    ck_assert_int_eq(tio_file_close(F->fb), 0);
    tio_loop_destroy(F->b);

    /* a's are cancelled by tio_loop_destroy (semantics 9), once each. */
    tio_loop_destroy(F->a);
    ck_assert_int_eq(F->a_sleep.c.calls, 1);
    ck_assert_int_eq(F->a_sleep.c.result, TIO_ECANCELED);
    ck_assert_int_eq(F->a_read.c.calls, 1);
    ck_assert_int_eq(F->a_read.c.result, TIO_ECANCELED);
    ck_assert_int_eq(g_bg_cbs, 5);

    close_fd(F->pipe_a[0]);
    close_fd(F->pipe_a[1]);
    close_fd(F->pipe_a2[0]);
    close_fd(F->pipe_a2[1]);
    close_fd(F->pipe_aw[0]);
    close_fd(F->pipe_aw[1]);
    close_fd(F->pipe_b[0]);
    close_fd(F->pipe_b[1]);
#ifndef _WIN32
    close(F->dir_fd);
#endif
    tio_free(F->buf);
    free(F->big);
    remove_scratch();
}

/* ================================================================ row helpers */

#define NOALT INT64_MIN

/* tio_loop_create with a config; checks *out is NULL on failure and a loop
 * on success (destroyed at once). */
static int64_t create_cfg_batch(unsigned qd, unsigned threads, const char *backend,
                                unsigned submit_batch)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.queue_depth = qd;
    cfg.threads = threads;
    cfg.backend = backend;
    cfg.submit_batch = submit_batch;
    tio_loop *loop = (tio_loop *)(uintptr_t)0x1; /* must be overwritten */
    int rc = tio_loop_create(&loop, &cfg);
    if (rc == 0) {
        if (loop == NULL || loop == (tio_loop *)(uintptr_t)0x1)
            return 1000; /* "accepted without a loop": no TIO_E* is 1000 */
        tio_loop_destroy(loop);
    } else if (loop != NULL) {
        return 1001; /* "refused but *out not set to NULL" */
    }
    return rc;
}

static int64_t create_cfg(unsigned qd, unsigned threads, const char *backend)
{
    return create_cfg_batch(qd, threads, backend, 0);
}

static int64_t create_env(const char *env, const char *backend, unsigned threads)
{
    const char *old = getenv("TIO_BACKEND");
    char saved[128];
    int had = old != NULL;
    if (had)
        snprintf(saved, sizeof saved, "%s", old);
    set_env("TIO_BACKEND", env);
    int64_t rc = create_cfg(0, threads, backend);
    set_env("TIO_BACKEND", had ? saved : NULL);
    return rc;
}

static int64_t create_null_out(int with_cfg)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    return tio_loop_create(NULL, with_cfg ? &cfg : NULL);
}

/* tio_file_open; on failure *out must be NULL. An unexpected success
 * closes the file again (and removes a file it created). */
static int64_t open_rc(tio_loop *loop, int null_out, const char *path, unsigned flags)
{
    tio_file *f = (tio_file *)(uintptr_t)0x1;
    int rc = tio_file_open(loop, null_out ? NULL : &f, path, flags, 0644);
    if (null_out)
        return rc;
    if (rc == 0) {
        if (f == NULL || f == (tio_file *)(uintptr_t)0x1)
            return 1000;
        tio_file_close(f);
        if (path && (flags & TIO_CREATE))
            remove_path(path);
    } else if (f != NULL && loop != NULL) {
        return 1001;
    }
    return rc;
}

static int64_t wrap_rc(tio_loop *loop, int null_out, tio_handle h, unsigned flags)
{
    tio_file *f = (tio_file *)(uintptr_t)0x1;
    int rc = tio_file_wrap(loop, null_out ? NULL : &f, h, flags);
    if (null_out)
        return rc;
    if (rc == 0) {
        if (f == NULL || f == (tio_file *)(uintptr_t)0x1)
            return 1000;
        tio_file_close(f);
    } else if (f != NULL && loop != NULL) {
        return 1001;
    }
    return rc;
}

/* tio_register_buffers on a fresh loop with nothing pending. */
static int64_t register_fresh(const tio_buf *bufs, unsigned count)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *loop = NULL;
    if (tio_loop_create(&loop, &cfg) != 0)
        return 3000;
    int rc = tio_register_buffers(loop, bufs, count);
    tio_loop_destroy(loop);
    return rc;
}

static int64_t size_rc(tio_file *f, int null_out)
{
    uint64_t size = 0;
    return tio_file_size(f, null_out ? NULL : &size);
}

/* 1: tio_alloc refused (NULL). */
static int64_t alloc_refused(size_t size, size_t align)
{
    void *p = tio_alloc(size, align);
    tio_free(p);
    return p == NULL;
}

/* 1: a usable block: aligned as asked (page for 0), writable, freed. */
static int64_t alloc_usable(size_t size, size_t align)
{
    unsigned char *p = tio_alloc(size, align);
    if (p == NULL)
        return 0;
    size_t want = align ? align : 4096;
    int ok = ((uintptr_t)p & (want - 1)) == 0;
    if (size)
        memset(p, 0xA5, size);
    tio_free(p);
    return ok;
}

/* 1: size 0 gives NULL or a block that tio_free takes. */
static int64_t alloc_zero(size_t align)
{
    void *p = tio_alloc(0, align);
    tio_free(p);
    return 1;
}

static int64_t str_ok(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int64_t str_empty(const char *s)
{
    return s != NULL && s[0] == '\0';
}

static int64_t handle_invalid(tio_handle h)
{
    return h == INVALID_H;
}

/* Submit a pipe read on the idle pipe pa2 with the row task, then give it
 * a deadline: the deadline call's result (or the submit's, if refused). */
static int64_t pipe_read_then_timeout(struct fx *F, uint64_t ns)
{
    int rc = tio_read(F->a, &F->t, F->pa2, F->buf, 16, 0, row_cb);
    if (rc != 0)
        return 2000 + rc;
    return tio_timeout(F->a, &F->t, ns);
}

/* Submit a 1 ms sleep and run with an extreme timeout until it is done:
 * the last tio_run result (1: its callback ran). */
static int64_t sleep_then_run(struct fx *F, int64_t timeout_ns)
{
    int rc = tio_sleep(F->a, &F->t, MS, row_cb);
    if (rc != 0)
        return 2000 + rc;
    for (int i = 0; i < 100 && F->tc.calls == 0; i++) {
        rc = tio_run(F->a, timeout_ns);
        if (rc != 0)
            return rc;
    }
    return rc;
}

static int64_t sleep_then_wait(struct fx *F, int64_t timeout_ns)
{
    int rc = tio_sleep(F->a, &F->t, MS, row_cb);
    if (rc != 0)
        return 2000 + rc;
    return tio_wait(F->a, &F->t, timeout_ns);
}

/* Read `len` bytes at offset 0 of `f` (which holds fx_init's 0x5A bytes)
 * into buf with the row task and wait: tio_wait's result, or 4001 when the
 * bytes read are not the file's. For RUNS rows. */
static int64_t read_and_check(struct fx *F, tio_file *f, unsigned char *buf, size_t len)
{
    memset(buf, 0, 4096);
    int rc = tio_read(F->a, &F->t, f, buf, len, 0, row_cb);
    if (rc != 0)
        return 2000 + rc;
    /* Generous: Wine on a loaded machine takes seconds over a 1 GiB buffer. */
    int64_t r = tio_wait(F->a, &F->t, 60 * SEC);
    if (r > 0 && !all_bytes(buf, (size_t)r, 0x5A))
        return 4001;
    return r;
}

/* Refused calls leave the task idle and usable as it is (no reset): after
 * every kind of refusal with it, a read with it gives the file's bytes.
 * 3001 when a refusal was not TIO_EINVAL; else read_and_check's result. */
static int64_t read_after_refusals(struct fx *F)
{
    tio_loop *la = F->a;
    tio_task *t = &F->t;
    unsigned char *b = F->buf + 4096;
    int64_t refused[] = {
        tio_read(NULL, t, F->fa, b, 16, 0, row_cb),
        tio_read(la, t, NULL, b, 16, 0, row_cb),
        tio_read(la, t, F->fa, NULL, 16, 0, row_cb),
        tio_read(la, t, F->fa, b, 16, 0, NULL),
        tio_write(NULL, t, F->fa, b, 16, 0, row_cb),
        tio_write(la, t, NULL, b, 16, 0, row_cb),
        tio_write(la, t, F->fa, NULL, 16, 0, row_cb),
        tio_write(la, t, F->fa, b, 16, 0, NULL),
        tio_fsync(NULL, t, F->fa, 0, row_cb),
        tio_fsync(la, t, NULL, 0, row_cb),
        tio_fsync(la, t, F->fa, 0, NULL),
        tio_sleep(NULL, t, MS, row_cb),
        tio_sleep(la, t, MS, NULL),
        tio_cancel(NULL, t),
        tio_timeout(NULL, t, MS),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (refused[i] != TIO_EINVAL)
            return 3001;
    if (tio_cancel(F->a, t) != TIO_ENOENT)
        return 3001;
    return read_and_check(F, F->fa, b, 64);
}

/* The call `op` (0 read, 1 write, 2 fsync, 3 sleep) with a task started on
 * this loop and not yet run (a read of the idle pipe pa2, queued until the
 * next run): its result. The task is then cancelled and its one callback
 * run (setup_cb: not the row's); 3002 if that does not hold. */
static int64_t on_queued_task(struct fx *F, int op)
{
    memset(&F->q, 0, sizeof F->q);
    F->q.t.data = &F->q.c;
    tio_task *q = &F->q.t;
    int rc = tio_read(F->a, q, F->pa2, F->buf + 8192 + 256, 16, 0, setup_cb);
    if (rc != 0)
        return 2000 + rc;
    int64_t r = op == 0   ? tio_read(F->a, q, F->fa, F->buf, 16, 0, row_cb)
                : op == 1 ? tio_write(F->a, q, F->fa, F->buf, 16, 0, row_cb)
                : op == 2 ? tio_fsync(F->a, q, F->fa, 0, row_cb)
                          : tio_sleep(F->a, q, MS, row_cb);
    if (tio_cancel(F->a, q) != 0 || tio_wait(F->a, q, 10 * SEC) != TIO_ECANCELED ||
        F->q.c.calls != 1)
        return 3002;
    return r;
}

/* ================================================================ the table */

enum { CALL, ACC, ACC_CNL, ACC_ERR, RUNS };
enum { ANY = 0, NEED_DIRECT = 1, NOT_UNDER_ASAN = 2, NEED_BIG = 3 };

#if defined(__SANITIZE_ADDRESS__)
#  define HOSTILE_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define HOSTILE_ASAN 1
#  endif
#endif
#ifndef HOSTILE_ASAN
#  define HOSTILE_ASAN 0
#endif
#if HOSTILE_ASAN
/* The rows asking tio_alloc for SIZE_MAX bytes check that taskio answers
 * NULL; ASan by default aborts the program on an impossible allocation
 * instead of returning NULL from posix_memalign. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* The row tables are aligned by hand, as tables. */
/* clang-format off */
/* Shorthands for the rows. */
#define LA (F->a)
#define LB (F->b)
#define TK (&F->t)
#define BUF (F->buf)
#define CB row_cb
#define DB (F->buf)              /* 4096-aligned, for the direct file */
#define DA ((uint64_t)F->dalign) /* the direct file's alignment */
#define NEAR_I64 ((uint64_t)INT64_MAX)
#define B_SLEEP (&F->b_sleep.t)  /* pending on b: a timer */
#define B_READ (&F->b_read.t)    /* pending on b: a pipe read at the OS */
#define B_QUEUED (&F->b_queued.t) /* pending on b: queued, not yet started */
#define A_SLEEP (&F->a_sleep.t)
#define A_READ (&F->a_read.t)

/* X(name, kind, need, expect, alt, call) */
#define ROWS_COMMON(X)                                                                        \
    /* ---- tio_loop_create */                                                                \
    X(create_null_out_null_cfg, CALL, ANY, TIO_EINVAL, NOALT, create_null_out(0))             \
    X(create_null_out, CALL, ANY, TIO_EINVAL, NOALT, create_null_out(1))                      \
    X(create_queue_depth_32769, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(32769, 0, g_backend)) \
    X(create_queue_depth_uint_max, CALL, ANY, TIO_EINVAL, NOALT,                              \
      create_cfg(UINT_MAX, 0, g_backend))                                                     \
    X(create_queue_depth_32768_accepted, CALL, ANY, 0, NOALT, create_cfg(32768, 0, g_backend)) \
    X(create_submit_batch_over_queue_depth, CALL, ANY, TIO_EINVAL, NOALT,                     \
      create_cfg_batch(8, 0, g_backend, 9))                                                   \
    X(create_submit_batch_equal_to_queue_depth, CALL, ANY, 0, NOALT,                          \
      create_cfg_batch(8, 0, g_backend, 8))                                                   \
    X(create_threads_1025, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(0, 1025, g_backend))      \
    X(create_threads_uint_max, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(0, UINT_MAX, g_backend)) \
    X(create_threads_1025_default_backend, CALL, ANY, TIO_EINVAL, NOALT,                      \
      create_env(NULL, NULL, 1025))                                                           \
    X(create_backend_bogus, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(0, 0, "bogus"))          \
    X(create_backend_empty, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(0, 0, ""))               \
    X(create_backend_upper_case, CALL, ANY, TIO_EINVAL, NOALT, create_cfg(0, 0, "THREADS"))   \
    X(create_backend_trailing_space, CALL, ANY, TIO_EINVAL, NOALT,                            \
      create_cfg(0, 0, "threads "))                                                           \
    X(create_env_backend_bogus, CALL, ANY, TIO_EINVAL, NOALT, create_env("bogus", NULL, 0))      \
    X(create_cfg_backend_overrides_env, CALL, ANY, 0, NOALT, create_env("bogus", g_backend, 0))  \
    /* ---- loop calls on NULL, tasks of nobody or of another loop */                         \
    X(loop_destroy_null, CALL, ANY, 0, NOALT, (tio_loop_destroy(NULL), 0))                    \
    X(loop_backend_null, CALL, ANY, 1, NOALT, str_empty(tio_loop_backend(NULL)))              \
    X(run_null, CALL, ANY, TIO_EINVAL, NOALT, tio_run(NULL, 0))                               \
    X(run_null_forever, CALL, ANY, TIO_EINVAL, NOALT, tio_run(NULL, TIO_FOREVER))             \
    X(drain_null, CALL, ANY, TIO_EINVAL, NOALT, tio_drain(NULL))                              \
    X(wait_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_wait(NULL, TK, 0))                    \
    X(wait_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_wait(LA, NULL, 0))                    \
    X(wait_null_both_forever, CALL, ANY, TIO_EINVAL, NOALT, tio_wait(NULL, NULL, TIO_FOREVER)) \
    X(wait_idle_task, CALL, ANY, TIO_ENOENT, NOALT, tio_wait(LA, TK, 0))                      \
    X(wait_idle_task_forever, CALL, ANY, TIO_ENOENT, NOALT, tio_wait(LA, TK, TIO_FOREVER))    \
    X(wait_task_of_other_loop_timer, CALL, ANY, TIO_EINVAL, NOALT, tio_wait(LA, B_SLEEP, 0))  \
    X(wait_task_of_other_loop_forever, CALL, ANY, TIO_EINVAL, NOALT,                          \
      tio_wait(LA, B_READ, TIO_FOREVER))                                                      \
    X(wait_task_of_other_loop_queued, CALL, ANY, TIO_EINVAL, NOALT,                           \
      tio_wait(LA, B_QUEUED, TIO_FOREVER))                                                    \
    X(wake_null, CALL, ANY, TIO_EINVAL, NOALT, tio_wake(NULL))                                \
    X(pending_null, CALL, ANY, 0, NOALT, tio_pending(NULL))                                   \
    X(last_error_null_loop, CALL, ANY, 1, NOALT, tio_last_error(NULL) != NULL)                \
    X(strerror_int_min, CALL, ANY, 1, NOALT, str_ok(tio_strerror(INT_MIN)))                   \
    X(strerror_int_max, CALL, ANY, 1, NOALT, str_ok(tio_strerror(INT_MAX)))                   \
    X(strerror_minus_18, CALL, ANY, 1, NOALT, str_ok(tio_strerror(-18)))                      \
    X(os_error_null, CALL, ANY, 0, NOALT, tio_os_error(NULL))                                 \
    X(os_error_fresh_task, CALL, ANY, 0, NOALT, tio_os_error(TK))                             \
    /* ---- tio_file_open */                                                                  \
    X(open_null_loop, CALL, ANY, TIO_EINVAL, NOALT,                                           \
      open_rc(NULL, 0, F->newpath, TIO_CREATE | TIO_RDWR))                                    \
    X(open_null_out, CALL, ANY, TIO_EINVAL, NOALT, open_rc(LA, 1, F->newpath, TIO_CREATE | TIO_RDWR)) \
    X(open_null_path, CALL, ANY, TIO_EINVAL, NOALT, open_rc(LA, 0, NULL, TIO_CREATE | TIO_RDWR)) \
    X(open_unknown_flag_bit20, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      open_rc(LA, 0, F->newpath, TIO_CREATE | TIO_RDWR | (1u << 20)))                         \
    X(open_unknown_flag_bit3, CALL, ANY, TIO_EINVAL, NOALT,                                   \
      open_rc(LA, 0, F->newpath, TIO_CREATE | TIO_RDWR | (1u << 3)))                          \
    X(open_unknown_flag_bit31, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      open_rc(LA, 0, F->newpath, TIO_CREATE | TIO_RDWR | (1u << 31)))                         \
    X(open_all_flags_set, CALL, ANY, TIO_EINVAL, NOALT, open_rc(LA, 0, F->newpath, UINT_MAX)) \
    X(open_access_mode_3, CALL, ANY, TIO_EINVAL, NOALT, open_rc(LA, 0, F->newpath, TIO_CREATE | 3u)) \
    X(open_excl_without_create, CALL, ANY, TIO_EINVAL, NOALT,                                 \
      open_rc(LA, 0, F->newpath, TIO_EXCL | TIO_RDWR))                                        \
    X(open_truncate_read_only, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      open_rc(LA, 0, F->newpath, TIO_CREATE | TIO_TRUNCATE | TIO_RDONLY))                     \
    X(open_empty_path, CALL, ANY, TIO_ENOENT, NOALT, open_rc(LA, 0, "", TIO_RDWR))            \
    X(open_missing, CALL, ANY, TIO_ENOENT, NOALT, open_rc(LA, 0, F->missing, TIO_RDWR))       \
    X(open_missing_parent, CALL, ANY, TIO_ENOENT, NOALT,                                      \
      open_rc(LA, 0, F->missing_parent, TIO_CREATE | TIO_RDWR))                               \
    /* ---- tio_file_wrap */                                                                  \
    X(wrap_null_loop, CALL, ANY, TIO_EINVAL, NOALT, wrap_rc(NULL, 0, F->pipe_a2[0], TIO_RDONLY)) \
    X(wrap_null_out, CALL, ANY, TIO_EINVAL, NOALT, wrap_rc(LA, 1, F->pipe_a2[0], TIO_RDONLY)) \
    X(wrap_invalid_handle, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, INVALID_H, TIO_RDONLY)) \
    X(wrap_invalid_handle_rdwr, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, INVALID_H, TIO_RDWR)) \
    X(wrap_closed_handle, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, F->closed_fd, TIO_RDONLY)) \
    X(wrap_flag_create, CALL, ANY, TIO_EINVAL, NOALT,                                         \
      wrap_rc(LA, 0, F->pipe_a2[0], TIO_RDONLY | TIO_CREATE))                                 \
    X(wrap_flag_direct, CALL, ANY, TIO_EINVAL, NOALT,                                         \
      wrap_rc(LA, 0, F->pipe_a2[0], TIO_RDONLY | TIO_DIRECT))                                 \
    X(wrap_access_mode_3, CALL, ANY, TIO_EINVAL, NOALT, wrap_rc(LA, 0, F->pipe_a2[0], 3u))    \
    X(wrap_all_flags_set, CALL, ANY, TIO_EINVAL, NOALT, wrap_rc(LA, 0, F->pipe_a2[0], UINT_MAX)) \
    /* ---- tio_file_close and the file queries */                                           \
    X(close_null, CALL, ANY, TIO_EINVAL, NOALT, tio_file_close(NULL))                         \
    X(close_with_task_pending, CALL, ANY, TIO_EBUSY, NOALT, tio_file_close(F->pa))            \
    X(size_null_file, CALL, ANY, TIO_EINVAL, NOALT, size_rc(NULL, 0))                         \
    X(size_null_out, CALL, ANY, TIO_EINVAL, NOALT, size_rc(F->fa, 1))                         \
    X(align_null, CALL, ANY, 0, NOALT, tio_file_align(NULL))                                  \
    X(is_direct_null, CALL, ANY, 0, NOALT, tio_file_is_direct(NULL))                          \
    X(handle_null, CALL, ANY, 1, NOALT, handle_invalid(tio_file_handle(NULL)))                \
    /* ---- tio_read / tio_write: NULLs */                                                    \
    X(read_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_read(NULL, TK, F->fa, BUF, 16, 0, CB)) \
    X(read_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, NULL, F->fa, BUF, 16, 0, CB)) \
    X(read_null_file, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, TK, NULL, BUF, 16, 0, CB))   \
    X(read_null_buf, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, TK, F->fa, NULL, 16, 0, CB))  \
    X(read_null_buf_len_0, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, TK, F->fa, NULL, 0, 0, CB)) \
    X(read_null_cb, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, TK, F->fa, BUF, 16, 0, NULL))  \
    X(read_all_null, CALL, ANY, TIO_EINVAL, NOALT, tio_read(NULL, NULL, NULL, NULL, 0, 0, NULL)) \
    X(write_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_write(NULL, TK, F->fa, BUF, 16, 0, CB)) \
    X(write_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_write(LA, NULL, F->fa, BUF, 16, 0, CB)) \
    X(write_null_file, CALL, ANY, TIO_EINVAL, NOALT, tio_write(LA, TK, NULL, BUF, 16, 0, CB)) \
    X(write_null_buf, CALL, ANY, TIO_EINVAL, NOALT, tio_write(LA, TK, F->fa, NULL, 16, 0, CB)) \
    X(write_null_buf_len_0, CALL, ANY, TIO_EINVAL, NOALT,                                     \
      tio_write(LA, TK, F->fa, NULL, 0, 0, CB))                                               \
    X(write_null_cb, CALL, ANY, TIO_EINVAL, NOALT, tio_write(LA, TK, F->fa, BUF, 16, 0, NULL)) \
    /* ---- files and tasks of another loop */                                               \
    X(read_file_of_other_loop, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      tio_read(LA, TK, F->fb, BUF, 16, 0, CB))                                                \
    X(read_on_other_loop_with_this_file, CALL, ANY, TIO_EINVAL, NOALT,                        \
      tio_read(LB, TK, F->fa, BUF, 16, 0, CB))                                                \
    X(write_file_of_other_loop, CALL, ANY, TIO_EINVAL, NOALT,                                 \
      tio_write(LA, TK, F->fb, BUF, 16, 0, CB))                                               \
    X(write_on_other_loop_with_this_file, CALL, ANY, TIO_EINVAL, NOALT,                       \
      tio_write(LB, TK, F->fa, BUF, 16, 0, CB))                                               \
    X(read_pipe_of_other_loop, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      tio_read(LA, TK, F->pb, BUF, 16, 0, CB))                                                \
    X(read_task_pending_other_loop_timer, CALL, ANY, TIO_EBUSY, NOALT,                        \
      tio_read(LA, B_SLEEP, F->fa, BUF, 16, 0, CB))                                           \
    X(read_task_pending_other_loop_at_os, CALL, ANY, TIO_EBUSY, NOALT,                        \
      tio_read(LA, B_READ, F->fa, BUF, 16, 0, CB))                                            \
    X(read_task_pending_other_loop_queued, CALL, ANY, TIO_EBUSY, NOALT,                       \
      tio_read(LA, B_QUEUED, F->fa, BUF, 16, 0, CB))                                          \
    X(read_task_pending_this_loop, CALL, ANY, TIO_EBUSY, NOALT,                               \
      tio_read(LA, A_READ, F->fa, BUF, 16, 0, CB))                                            \
    X(write_task_pending_other_loop_timer, CALL, ANY, TIO_EBUSY, NOALT,                       \
      tio_write(LA, B_SLEEP, F->fa, BUF, 16, 0, CB))                                          \
    X(write_task_pending_other_loop_at_os, CALL, ANY, TIO_EBUSY, NOALT,                       \
      tio_write(LA, B_READ, F->fa, BUF, 16, 0, CB))                                           \
    X(write_task_pending_other_loop_queued, CALL, ANY, TIO_EBUSY, NOALT,                      \
      tio_write(LA, B_QUEUED, F->fa, BUF, 16, 0, CB))                                         \
    X(write_task_pending_this_loop_at_os, CALL, ANY, TIO_EBUSY, NOALT,                        \
      tio_write(LA, A_READ, F->fa, BUF, 16, 0, CB))                                           \
    X(read_task_queued_this_loop, CALL, ANY, TIO_EBUSY, NOALT, on_queued_task(F, 0))          \
    X(write_task_queued_this_loop, CALL, ANY, TIO_EBUSY, NOALT, on_queued_task(F, 1))         \
    X(fsync_task_queued_this_loop, CALL, ANY, TIO_EBUSY, NOALT, on_queued_task(F, 2))         \
    X(sleep_task_queued_this_loop, CALL, ANY, TIO_EBUSY, NOALT, on_queued_task(F, 3))         \
    X(read_after_refusals_with_the_same_task, RUNS, ANY, 64, NOALT, read_after_refusals(F))   \
    X(write_task_pending_this_loop_timer, CALL, ANY, TIO_EBUSY, NOALT,                        \
      tio_write(LA, A_SLEEP, F->fa, BUF, 16, 0, CB))                                          \
    /* ---- lengths */                                                                        \
    X(read_len_max_io_plus_1, CALL, ANY, TIO_EINVAL, NOALT,                                   \
      tio_read(LA, TK, F->fa, BUF, TIO_MAX_IO + 1, 0, CB))                                    \
    X(read_len_size_max, CALL, ANY, TIO_EINVAL, NOALT, tio_read(LA, TK, F->fa, BUF, SIZE_MAX, 0, CB)) \
    X(read_len_max_io_accepted, RUNS, NEED_BIG, 4096, NOALT,                                  \
      read_and_check(F, F->fa, F->big, TIO_MAX_IO))                                           \
    X(read_len_size_max_offset_max, CALL, ANY, TIO_EINVAL, NOALT,                             \
      tio_read(LA, TK, F->fa, BUF, SIZE_MAX, UINT64_MAX, CB))                                 \
    X(write_len_max_io_plus_1, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      tio_write(LA, TK, F->fa, BUF, TIO_MAX_IO + 1, 0, CB))                                   \
    X(write_len_size_max, CALL, ANY, TIO_EINVAL, NOALT,                                       \
      tio_write(LA, TK, F->fa, BUF, SIZE_MAX, 0, CB))                                         \
    X(read_len_0, ACC, ANY, 0, NOALT, tio_read(LA, TK, F->fa, BUF, 0, 0, CB))                 \
    X(read_len_0_past_eof, ACC, ANY, 0, NOALT, tio_read(LA, TK, F->fa, BUF, 0, 1u << 30, CB)) \
    X(write_len_0, ACC, ANY, 0, NOALT, tio_write(LA, TK, F->fa, BUF, 0, 100, CB))             \
    X(read_len_0_pipe, ACC, ANY, 0, NOALT, tio_read(LA, TK, F->pa2, BUF, 0, 0, CB))           \
    X(write_len_0_pipe, ACC, ANY, 0, NOALT, tio_write(LA, TK, F->pwa, BUF, 0, 0, CB))         \
    /* ---- offsets */                                                                        \
    X(read_offset_uint64_max, CALL, ANY, TIO_EINVAL, NOALT,                                   \
      tio_read(LA, TK, F->fa, BUF, 16, UINT64_MAX, CB))                                       \
    X(read_offset_uint64_max_len_0, CALL, ANY, TIO_EINVAL, NOALT,                             \
      tio_read(LA, TK, F->fa, BUF, 0, UINT64_MAX, CB))                                        \
    X(read_offset_uint64_max_minus_4095, CALL, ANY, TIO_EINVAL, NOALT,                        \
      tio_read(LA, TK, F->fa, BUF, 4096, UINT64_MAX - 4095, CB))                              \
    X(read_offset_int64_max_plus_1_len_0, CALL, ANY, TIO_EINVAL, NOALT,                       \
      tio_read(LA, TK, F->fa, BUF, 0, NEAR_I64 + 1, CB))                                      \
    X(read_offset_int64_max_len_1, CALL, ANY, TIO_EINVAL, NOALT,                              \
      tio_read(LA, TK, F->fa, BUF, 1, NEAR_I64, CB))                                          \
    X(read_offset_plus_len_int64_max_plus_1, CALL, ANY, TIO_EINVAL, NOALT,                    \
      tio_read(LA, TK, F->fa, BUF, 17, NEAR_I64 - 16, CB))                                    \
    X(write_offset_uint64_max, CALL, ANY, TIO_EINVAL, NOALT,                                  \
      tio_write(LA, TK, F->fa, BUF, 16, UINT64_MAX, CB))                                      \
    X(write_offset_uint64_max_len_0, CALL, ANY, TIO_EINVAL, NOALT,                            \
      tio_write(LA, TK, F->fa, BUF, 0, UINT64_MAX, CB))                                       \
    X(write_offset_int64_max_len_1, CALL, ANY, TIO_EINVAL, NOALT,                             \
      tio_write(LA, TK, F->fa, BUF, 1, NEAR_I64, CB))                                         \
    X(write_offset_plus_len_int64_max_plus_1, CALL, ANY, TIO_EINVAL, NOALT,                   \
      tio_write(LA, TK, F->fa, BUF, 4096, NEAR_I64 - 4094, CB))                               \
    /* offset + len == INT64_MAX: accepted, the OS answers (past EOF: 0) */                   \
    X(read_offset_int64_max_len_0, ACC, ANY, 0, NOALT, tio_read(LA, TK, F->fa, BUF, 0, NEAR_I64, CB)) \
    X(read_ending_at_int64_max, ACC, ANY, 0, NOALT,                                           \
      tio_read(LA, TK, F->fa, BUF, 16, NEAR_I64 - 16, CB))                                    \
    X(write_offset_int64_max_len_0, ACC, ANY, 0, TIO_EFBIG,                                   \
      tio_write(LA, TK, F->fa, BUF, 0, NEAR_I64, CB))                                         \
    /* ---- access mode */                                                                   \
    X(read_write_only_file, CALL, ANY, TIO_EBADF, NOALT, tio_read(LA, TK, F->wo, BUF, 16, 0, CB)) \
    X(write_read_only_file, CALL, ANY, TIO_EBADF, NOALT, tio_write(LA, TK, F->ro, BUF, 16, 0, CB)) \
    X(read_read_only_file_still_reads, RUNS, ANY, 64, NOALT,                                  \
      read_and_check(F, F->ro, F->buf + 4096, 64))                                            \
    X(read_write_end_of_pipe, CALL, ANY, TIO_EBADF, NOALT,                                    \
      tio_read(LA, TK, F->pwa, BUF, 16, 0, CB))                                               \
    X(write_read_end_of_pipe, CALL, ANY, TIO_EBADF, NOALT,                                    \
      tio_write(LA, TK, F->pa2, BUF, 16, 0, CB))                                              \
    /* ---- direct file: alignment */                                                        \
    X(direct_read_misaligned_buffer, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                    \
      tio_read(LA, TK, F->dfile, DB + 1, DA, 0, CB))                                          \
    X(direct_read_misaligned_offset, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                    \
      tio_read(LA, TK, F->dfile, DB, DA, 1, CB))                                              \
    X(direct_read_misaligned_length, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                    \
      tio_read(LA, TK, F->dfile, DB, DA - 1, 0, CB))                                          \
    X(direct_write_misaligned_buffer, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                   \
      tio_write(LA, TK, F->dfile, DB + DA / 2, DA, 0, CB))                                    \
    X(direct_write_misaligned_offset, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                   \
      tio_write(LA, TK, F->dfile, DB, DA, DA / 2, CB))                                        \
    X(direct_write_misaligned_length, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                   \
      tio_write(LA, TK, F->dfile, DB, DA + 1, 0, CB))                                         \
    X(direct_read_len_max_io_plus_1, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,                    \
      tio_read(LA, TK, F->dfile, DB, TIO_MAX_IO + DA, 0, CB))                                 \
    X(direct_read_offset_uint64_max_aligned, CALL, NEED_DIRECT, TIO_EINVAL, NOALT,            \
      tio_read(LA, TK, F->dfile, DB, DA, (UINT64_MAX / DA) * DA, CB))                         \
    X(direct_read_len_0, ACC, NEED_DIRECT, 0, NOALT, tio_read(LA, TK, F->dfile, DB, 0, 0, CB)) \
    X(direct_write_len_0, ACC, NEED_DIRECT, 0, NOALT, tio_write(LA, TK, F->dfile, DB, 0, DA, CB)) \
    X(direct_read_aligned_near_int64_max, ACC, NEED_DIRECT, 0, NOALT,                         \
      tio_read(LA, TK, F->dfile, DB, DA, ((NEAR_I64 + 1) / DA - 2) * DA, CB))                 \
    /* ---- tio_fsync */                                                                     \
    X(fsync_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(NULL, TK, F->fa, 0, CB))       \
    X(fsync_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, NULL, F->fa, 0, CB))       \
    X(fsync_null_file, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, NULL, 0, CB))          \
    X(fsync_null_cb, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->fa, 0, NULL))         \
    X(fsync_unknown_flag_2, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->fa, 2, CB))    \
    X(fsync_unknown_flag_0x80, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->fa, 0x80, CB)) \
    X(fsync_all_flags_set, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->fa, UINT_MAX, CB)) \
    X(fsync_file_of_other_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->fb, 0, CB)) \
    X(fsync_on_other_loop_with_this_file, CALL, ANY, TIO_EINVAL, NOALT,                       \
      tio_fsync(LB, TK, F->fa, 0, CB))                                                        \
    X(fsync_task_pending_this_loop_at_os, CALL, ANY, TIO_EBUSY, NOALT,                        \
      tio_fsync(LA, A_READ, F->fa, 0, CB))                                                    \
    X(fsync_task_pending_other_loop, CALL, ANY, TIO_EBUSY, NOALT,                             \
      tio_fsync(LA, B_READ, F->fa, 0, CB))                                                    \
    X(fsync_task_pending_other_loop_queued, CALL, ANY, TIO_EBUSY, NOALT,                      \
      tio_fsync(LA, B_QUEUED, F->fa, TIO_FSYNC_DATA, CB))                                     \
    X(fsync_data, ACC, ANY, 0, NOALT, tio_fsync(LA, TK, F->fa, TIO_FSYNC_DATA, CB))           \
    /* ---- tio_sleep */                                                                     \
    X(sleep_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_sleep(NULL, TK, MS, CB))             \
    X(sleep_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_sleep(LA, NULL, MS, CB))             \
    X(sleep_null_cb, CALL, ANY, TIO_EINVAL, NOALT, tio_sleep(LA, TK, MS, NULL))               \
    X(sleep_task_pending_other_loop_timer, CALL, ANY, TIO_EBUSY, NOALT,                       \
      tio_sleep(LA, B_SLEEP, MS, CB))                                                         \
    X(sleep_task_pending_other_loop_at_os, CALL, ANY, TIO_EBUSY, NOALT,                       \
      tio_sleep(LA, B_READ, MS, CB))                                                          \
    X(sleep_task_pending_other_loop_queued, CALL, ANY, TIO_EBUSY, NOALT,                      \
      tio_sleep(LA, B_QUEUED, MS, CB))                                                        \
    X(sleep_task_pending_this_loop, CALL, ANY, TIO_EBUSY, NOALT, tio_sleep(LA, A_READ, MS, CB)) \
    X(sleep_0, ACC, ANY, 0, NOALT, tio_sleep(LA, TK, 0, CB))                                  \
    X(sleep_uint64_max_then_cancel, ACC_CNL, ANY, TIO_ECANCELED, NOALT,                       \
      tio_sleep(LA, TK, UINT64_MAX, CB))                                                      \
    X(sleep_int64_max_then_cancel, ACC_CNL, ANY, TIO_ECANCELED, NOALT,                        \
      tio_sleep(LA, TK, (uint64_t)INT64_MAX, CB))                                             \
    /* ---- tio_cancel, tio_cancel_file */                                                   \
    X(cancel_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(NULL, TK))                   \
    X(cancel_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(LA, NULL))                   \
    X(cancel_null_loop_pending_task, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(NULL, A_READ))  \
    X(cancel_idle_task, CALL, ANY, TIO_ENOENT, NOALT, tio_cancel(LA, TK))                     \
    X(cancel_idle_task_on_other_loop, CALL, ANY, TIO_ENOENT, NOALT, tio_cancel(LB, TK))       \
    X(cancel_task_of_other_loop_timer, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(LA, B_SLEEP)) \
    X(cancel_task_of_other_loop_at_os, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(LA, B_READ))  \
    X(cancel_task_of_other_loop_queued, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel(LA, B_QUEUED)) \
    X(cancel_file_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel_file(NULL, F->fa))      \
    X(cancel_file_null_file, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel_file(LA, NULL))         \
    X(cancel_file_of_other_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_cancel_file(LA, F->fb))    \
    X(cancel_file_of_other_loop_with_pending, CALL, ANY, TIO_EINVAL, NOALT,                   \
      tio_cancel_file(LA, F->pb))                                                             \
    X(cancel_file_on_other_loop_with_pending, CALL, ANY, TIO_EINVAL, NOALT,                   \
      tio_cancel_file(LB, F->pa))                                                             \
    X(cancel_file_nothing_pending, CALL, ANY, 0, NOALT, tio_cancel_file(LA, F->fa))           \
    /* ---- tio_timeout */                                                                   \
    X(timeout_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(NULL, TK, MS))             \
    X(timeout_null_task, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(LA, NULL, MS))             \
    X(timeout_idle_task, CALL, ANY, TIO_ENOENT, NOALT, tio_timeout(LA, TK, MS))               \
    X(timeout_idle_task_0, CALL, ANY, TIO_ENOENT, NOALT, tio_timeout(LA, TK, 0))              \
    X(timeout_idle_task_uint64_max, CALL, ANY, TIO_ENOENT, NOALT, tio_timeout(LA, TK, UINT64_MAX)) \
    X(timeout_idle_task_on_other_loop, CALL, ANY, TIO_ENOENT, NOALT, tio_timeout(LB, TK, MS)) \
    X(timeout_task_of_other_loop_timer, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(LA, B_SLEEP, 0)) \
    X(timeout_task_of_other_loop_at_os, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(LA, B_READ, 0)) \
    X(timeout_task_of_other_loop_queued, CALL, ANY, TIO_EINVAL, NOALT,                        \
      tio_timeout(LA, B_QUEUED, 0))                                                           \
    X(timeout_sleep_task, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(LA, A_SLEEP, 0))          \
    X(timeout_sleep_task_ms, CALL, ANY, TIO_EINVAL, NOALT, tio_timeout(LA, A_SLEEP, MS))      \
    X(timeout_uint64_max_then_cancel, ACC_CNL, ANY, TIO_ECANCELED, NOALT,                     \
      pipe_read_then_timeout(F, UINT64_MAX))                                                  \
    X(timeout_0_fires, ACC, ANY, TIO_ETIMEDOUT, NOALT, pipe_read_then_timeout(F, 0))          \
    /* ---- run and wait with extreme timeouts (the call runs the loop) */                   \
    X(run_int64_max_timeout, RUNS, ANY, 1, NOALT, sleep_then_run(F, INT64_MAX))               \
    X(wait_int64_max_timeout, RUNS, ANY, 0, NOALT, sleep_then_wait(F, INT64_MAX))             \
    X(wait_int64_max_minus_1_timeout, RUNS, ANY, 0, NOALT, sleep_then_wait(F, INT64_MAX - 1)) \
    /* ---- tio_register_buffers (a has tasks pending all along) */                          \
    X(register_null_loop, CALL, ANY, TIO_EINVAL, NOALT, tio_register_buffers(NULL, NULL, 0))  \
    X(register_null_loop_with_bufs, CALL, ANY, TIO_EINVAL, NOALT,                             \
      tio_register_buffers(NULL, &F->reg_ok, 1))                                              \
    X(register_null_bufs, CALL, ANY, TIO_EINVAL, NOALT, tio_register_buffers(LA, NULL, 1))    \
    X(register_empty_buffer, CALL, ANY, TIO_EINVAL, NOALT,                                    \
      tio_register_buffers(LA, &F->reg_empty, 1))                                             \
    X(register_null_base, CALL, ANY, TIO_EINVAL, NOALT,                                       \
      tio_register_buffers(LA, &F->reg_null_base, 1))                                         \
    X(register_while_tasks_pending, CALL, ANY, TIO_EBUSY, NOALT,                              \
      tio_register_buffers(LA, &F->reg_ok, 1))                                                \
    X(unregister_while_tasks_pending, CALL, ANY, TIO_EBUSY, NOALT,                            \
      tio_register_buffers(LA, NULL, 0))                                                      \
    X(register_fresh_loop, CALL, ANY, 0, NOALT, register_fresh(&F->reg_ok, 1))                \
    X(unregister_fresh_loop, CALL, ANY, 0, NOALT, register_fresh(NULL, 0))                    \
    X(register_len_size_max, CALL, ANY, TIO_EINVAL, NOALT, register_fresh(&F->reg_huge, 1))   \
    X(register_end_past_address_space, CALL, ANY, TIO_EINVAL, NOALT,                          \
      register_fresh(&F->reg_wrap, 1))                                                        \
    /* ---- memory */                                                                        \
    X(free_null, CALL, ANY, 0, NOALT, (tio_free(NULL), 0))                                    \
    X(alloc_align_3, CALL, ANY, 1, NOALT, alloc_refused(4096, 3))                             \
    X(alloc_align_6, CALL, ANY, 1, NOALT, alloc_refused(4096, 6))                             \
    X(alloc_align_4097, CALL, ANY, 1, NOALT, alloc_refused(4096, 4097))                       \
    X(alloc_align_size_max, CALL, ANY, 1, NOALT, alloc_refused(4096, SIZE_MAX))               \
    /* ASan's posix_memalign fails its own CHECK on this alignment (glibc: ENOMEM) */          \
    X(alloc_align_top_bit, CALL, NOT_UNDER_ASAN, 1, NOALT, alloc_refused(4096, SIZE_MAX / 2 + 1)) \
    X(alloc_size_max, CALL, ANY, 1, NOALT, alloc_refused(SIZE_MAX, 0))                        \
    X(alloc_size_max_minus_page, CALL, ANY, 1, NOALT, alloc_refused(SIZE_MAX - 4096, 4096))   \
    X(alloc_size_0_page, CALL, ANY, 1, NOALT, alloc_zero(0))                                  \
    X(alloc_size_0_align_3, CALL, ANY, 1, NOALT, alloc_refused(0, 3))                         \
    X(alloc_size_0_align_64, CALL, ANY, 1, NOALT, alloc_zero(64))                             \
    X(alloc_align_1, CALL, ANY, 1, NOALT, alloc_usable(100, 1))                               \
    X(alloc_align_2, CALL, ANY, 1, NOALT, alloc_usable(100, 2))                               \
    X(alloc_align_default, CALL, ANY, 1, NOALT, alloc_usable(100, 0))                         \
    X(alloc_align_1m, CALL, ANY, 1, NOALT, alloc_usable(4096, 1u << 20))

#ifndef _WIN32
#  define ROWS_OS(X)                                                                          \
    X(write_ending_at_int64_max, ACC, ANY, TIO_EFBIG, TIO_EINVAL,                             \
      tio_write(LA, TK, F->fa, BUF, 16, NEAR_I64 - 16, CB))                                   \
    X(create_backend_iocp_not_compiled, CALL, ANY, TIO_ENOTSUP, NOALT, create_cfg(0, 0, "iocp")) \
    X(open_directory_for_write, CALL, ANY, TIO_EISDIR, NOALT, open_rc(LA, 0, F->dirpath, TIO_RDWR)) \
    X(open_name_too_long, CALL, ANY, TIO_EINVAL, NOALT, open_rc(LA, 0, long_name(), TIO_RDWR)) \
    X(wrap_minus_two, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, -2, TIO_RDONLY))            \
    X(wrap_int_max, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, INT_MAX, TIO_RDONLY))         \
    X(wrap_closed_fd_rdwr, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, F->closed_fd, TIO_RDWR)) \
    X(wrap_read_only_directory_for_write, CALL, ANY, TIO_EBADF, NOALT,                        \
      wrap_rc(LA, 0, F->dir_fd, TIO_WRONLY))                                                  \
    X(wrap_read_only_directory_for_rdwr, CALL, ANY, TIO_EBADF, NOALT,                         \
      wrap_rc(LA, 0, F->dir_fd, TIO_RDWR))                                                    \
    X(wrap_pipe_read_end_for_write, CALL, ANY, TIO_EBADF, NOALT,                              \
      wrap_rc(LA, 0, F->pipe_a2[0], TIO_WRONLY))                                              \
    X(wrap_pipe_write_end_for_read, CALL, ANY, TIO_EBADF, NOALT,                              \
      wrap_rc(LA, 0, F->pipe_a2[1], TIO_RDONLY))                                              \
    X(fsync_pipe, CALL, ANY, TIO_EINVAL, NOALT, tio_fsync(LA, TK, F->pa2, 0, CB))             \
    X(fsync_read_only_file, ACC, ANY, 0, NOALT, tio_fsync(LA, TK, F->ro, 0, CB))
#else
#  define ROWS_OS(X)                                                                          \
    X(write_ending_at_int64_max, ACC_ERR, ANY, 0, NOALT,                                      \
      tio_write(LA, TK, F->fa, BUF, 16, NEAR_I64 - 16, CB))                                   \
    X(create_backend_io_uring_not_compiled, CALL, ANY, TIO_ENOTSUP, NOALT,                    \
      create_cfg(0, 0, "io_uring"))                                                           \
    X(create_backend_threads_not_compiled, CALL, ANY, TIO_ENOTSUP, NOALT,                     \
      create_cfg(0, 0, "threads"))                                                            \
    X(wrap_null_handle, CALL, ANY, TIO_EBADF, NOALT, wrap_rc(LA, 0, NULL, TIO_RDONLY))
#endif

#ifndef _WIN32
/* A path longer than PATH_MAX (ENAMETOOLONG, mapped to TIO_EINVAL). */
static const char *long_name(void)
{
    static char p[8192];
    if (p[0] == '\0') {
        memset(p, 'x', sizeof p - 1);
        p[0] = '/';
        p[sizeof p - 1] = '\0';
    }
    return p;
}
#endif

typedef struct row {
    const char *name;
    int kind;
    int need;
    int64_t expect, alt;
    const char *call;
    int64_t (*fn)(struct fx *F);
} row;

#define ROW_FN(name, kind, need, expect, alt, call)                                           \
    static int64_t row_##name(struct fx *F)                                                   \
    {                                                                                         \
        (void)F;                                                                              \
        return (int64_t)(call);                                                               \
    }
ROWS_COMMON(ROW_FN)
ROWS_OS(ROW_FN)

#define ROW_ENTRY(name, kind, need, expect, alt, call)                                        \
    {#name, kind, need, expect, alt, #call, row_##name},
static const row g_rows[] = {ROWS_COMMON(ROW_ENTRY) ROWS_OS(ROW_ENTRY)};
#define NROWS (sizeof g_rows / sizeof g_rows[0])

/* A closed file: every call on it is TIO_EBADF until the loop is destroyed. */
#define CF (F->closed)
#define CP (F->closed_pipe)
#define ROWS_CLOSED(X)                                                                        \
    X(closed_read, CALL, ANY, TIO_EBADF, NOALT, tio_read(LA, TK, CF, BUF, 16, 0, CB))         \
    X(closed_read_len_0, CALL, ANY, TIO_EBADF, NOALT, tio_read(LA, TK, CF, BUF, 0, 0, CB))    \
    X(closed_write, CALL, ANY, TIO_EBADF, NOALT, tio_write(LA, TK, CF, BUF, 16, 0, CB))       \
    X(closed_fsync, CALL, ANY, TIO_EBADF, NOALT, tio_fsync(LA, TK, CF, 0, CB))                \
    X(closed_fsync_data, CALL, ANY, TIO_EBADF, NOALT, tio_fsync(LA, TK, CF, TIO_FSYNC_DATA, CB)) \
    X(closed_cancel_file, CALL, ANY, TIO_EBADF, NOALT, tio_cancel_file(LA, CF))               \
    X(closed_close_again, CALL, ANY, TIO_EBADF, NOALT, tio_file_close(CF))                    \
    X(closed_size, CALL, ANY, TIO_EBADF, NOALT, size_rc(CF, 0))                               \
    X(closed_read_on_other_loop, CALL, ANY, TIO_EBADF, NOALT, tio_read(LB, TK, CF, BUF, 16, 0, CB)) \
    X(closed_cancel_file_on_other_loop, CALL, ANY, TIO_EBADF, NOALT, tio_cancel_file(LB, CF)) \
    X(closed_read_task_pending_other_loop, CALL, ANY, TIO_EBADF, TIO_EBUSY,                   \
      tio_read(LA, B_READ, CF, BUF, 16, 0, CB))                                               \
    X(closed_is_direct, CALL, ANY, 0, NOALT, tio_file_is_direct(CF))                          \
    X(closed_align, CALL, ANY, 0, NOALT, tio_file_align(CF))                                  \
    X(closed_handle, CALL, ANY, 1, NOALT, handle_invalid(tio_file_handle(CF)))                \
    X(closed_pipe_read, CALL, ANY, TIO_EBADF, NOALT, tio_read(LA, TK, CP, BUF, 16, 0, CB))    \
    X(closed_pipe_write, CALL, ANY, TIO_EBADF, NOALT, tio_write(LA, TK, CP, BUF, 16, 0, CB))  \
    X(closed_pipe_cancel_file, CALL, ANY, TIO_EBADF, NOALT, tio_cancel_file(LA, CP))          \
    X(closed_pipe_close_again, CALL, ANY, TIO_EBADF, NOALT, tio_file_close(CP))               \
    X(closed_pipe_size, CALL, ANY, TIO_EBADF, NOALT, size_rc(CP, 0))
ROWS_CLOSED(ROW_FN)
static const row g_closed_rows[] = {ROWS_CLOSED(ROW_ENTRY)};
#define NCLOSED (sizeof g_closed_rows / sizeof g_closed_rows[0])
/* clang-format on */

/* ================================================================ the runner */

static char g_report[64 * 1024];
static size_t g_report_len;
static int g_failed_rows;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
row_fail(const row *r, const char *fmt, ...);

static void row_fail(const row *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = snprintf(g_report + g_report_len, sizeof g_report - g_report_len,
                     "  FAIL %-44s %s\n       call: %s\n", r->name, msg, r->call);
    if (n > 0 && g_report_len + (size_t)n < sizeof g_report)
        g_report_len += (size_t)n;
    g_failed_rows++;
}

static const char *code_name(int64_t v)
{
    static char buf[4][64];
    static int i;
    char *b = buf[i++ & 3];
    if (v == NOALT)
        return "-";
    if (v < 0 && v >= TIO_EOTHER) {
        static const char *const names[] = {
            "TIO_EINVAL", "TIO_EBUSY",   "TIO_ENOENT", "TIO_ECANCELED", "TIO_ETIMEDOUT",
            "TIO_EACCES", "TIO_EEXIST",  "TIO_EBADF",  "TIO_ENOSPC",    "TIO_EIO",
            "TIO_ENOMEM", "TIO_ENOTSUP", "TIO_EPIPE",  "TIO_EISDIR",    "TIO_EROFS",
            "TIO_EFBIG",  "TIO_EOTHER"};
        snprintf(b, 64, "%s", names[-v - 1]);
    } else if (v == 1000) {
        snprintf(b, 64, "0 but *out not set");
    } else if (v == 1001) {
        snprintf(b, 64, "error but *out not NULL");
    } else if (v > 2000 - 20 && v <= 2000) {
        snprintf(b, 64, "setup submit refused (%s)", code_name(v - 2000));
    } else if (v == 3001) {
        snprintf(b, 64, "a refused call was not TIO_EINVAL");
    } else if (v == 3002) {
        snprintf(b, 64, "the queued task did not end cancelled, once");
    } else if (v == 4001) {
        snprintf(b, 64, "read the wrong bytes");
    } else {
        snprintf(b, 64, "%lld", (long long)v);
    }
    return b;
}

static void reset_row_task(fx *F)
{
    memset(&F->t, 0, sizeof F->t);
    memset(&F->tc, 0, sizeof F->tc);
    F->t.data = &F->tc;
}

/* If a failing row left the row task pending, get it back (one callback). */
static void recover_row_task(fx *F)
{
    int calls = F->tc.calls;
    tio_loop *owner = NULL;
    if (tio_cancel(F->a, &F->t) == 0)
        owner = F->a;
    else if (tio_cancel(F->b, &F->t) == 0)
        owner = F->b;
    if (owner == NULL)
        return;
    for (int i = 0; i < 1000 && F->tc.calls == calls; i++)
        tio_run(owner, 10 * MS);
}

/* Poll loop a (never b: its queued task must stay queued). */
static void poll_a(fx *F)
{
    tio_run(F->a, 0);
    tio_run(F->a, 0);
}

static char g_err_before[512];

/* The loop's explanation, if the row's call changed it. */
static const char *row_error(fx *F)
{
    const char *now = tio_last_error(F->a);
    return strcmp(now, g_err_before) != 0 ? now : "(unchanged)";
}

/* After an accepted row's callback: exactly one ran, the task is idle again
 * (tio_cancel and tio_timeout give TIO_ENOENT), tio_pending is back. */
static void check_one_callback(fx *F, const row *r, unsigned pa0, unsigned pb0)
{
    poll_a(F);
    if (F->tc.calls != 1)
        row_fail(r, "%d callbacks, expected exactly 1", F->tc.calls);
    else if (tio_cancel(F->a, &F->t) != TIO_ENOENT || tio_timeout(F->a, &F->t, MS) != TIO_ENOENT)
        row_fail(r, "the task is not idle after its callback (tio_cancel/tio_timeout)");
    if (tio_pending(F->a) != pa0 || tio_pending(F->b) != pb0)
        row_fail(r, "tio_pending after the callback: a %u (was %u), b %u (was %u)",
                 tio_pending(F->a), pa0, tio_pending(F->b), pb0);
}

static void run_row(fx *F, const row *r)
{
    reset_row_task(F);
    snprintf(g_err_before, sizeof g_err_before, "%s", tio_last_error(F->a));
    if (r->need == NEED_DIRECT && F->dfile == NULL)
        return;
    if (r->need == NOT_UNDER_ASAN && HOSTILE_ASAN)
        return;
    if (r->need == NEED_BIG && F->big == NULL)
        return;
    unsigned pa0 = tio_pending(F->a), pb0 = tio_pending(F->b);
    long cbs0 = g_row_cbs, bg0 = g_bg_cbs, incall0 = g_cb_in_call;
#ifndef _WIN32
    g_row_name = r->name;
#endif
    int64_t rc;
    if (r->kind == RUNS) {
        rc = r->fn(F);
    } else {
        g_in_submit++;
        rc = r->fn(F);
        g_in_submit--;
    }
    if (g_cb_in_call != incall0)
        row_fail(r, "a callback ran inside the call");

    switch (r->kind) {
    case CALL:
        if (rc != r->expect && (r->alt == NOALT || rc != r->alt))
            row_fail(r, "returned %s, expected %s (tio_last_error(a): %s)", code_name(rc),
                     code_name(r->expect), row_error(F));
        if (tio_pending(F->a) != pa0 || tio_pending(F->b) != pb0)
            row_fail(r, "tio_pending changed: a %u -> %u, b %u -> %u", pa0, tio_pending(F->a), pb0,
                     tio_pending(F->b));
        poll_a(F);
        if (g_row_cbs != cbs0)
            row_fail(r, "%ld callback(s) followed (result %s)", g_row_cbs - cbs0,
                     code_name(F->tc.result));
        if (tio_cancel(F->a, &F->t) != TIO_ENOENT || tio_cancel(F->b, &F->t) != TIO_ENOENT)
            row_fail(r, "the row's task is not idle after the call");
        break;
    case ACC:
    case ACC_CNL:
    case ACC_ERR:
        if (rc != 0) {
            row_fail(r, "returned %s, expected 0 (accepted) (tio_last_error(a): %s)", code_name(rc),
                     row_error(F));
            break;
        }
        if (tio_pending(F->a) != pa0 + 1 || tio_pending(F->b) != pb0)
            row_fail(r, "tio_pending: a %u -> %u (want +1), b %u -> %u", pa0, tio_pending(F->a),
                     pb0, tio_pending(F->b));
        if (r->kind == ACC_CNL) {
            int c = tio_cancel(F->a, &F->t);
            if (c != 0)
                row_fail(r, "tio_cancel of the accepted task: %s", code_name(c));
        }
        int64_t res = tio_wait(F->a, &F->t, 10 * SEC);
        if (F->tc.calls == 0) {
            row_fail(r, "no callback within 10 s (tio_wait: %s)", code_name(res));
            break;
        }
        if (res != F->tc.result)
            row_fail(r, "tio_wait returned %s but the callback saw %s", code_name(res),
                     code_name(F->tc.result));
        if (r->kind == ACC_ERR) {
            if (F->tc.result >= 0 || F->tc.result < TIO_EOTHER)
                row_fail(r, "callback result %s, expected a TIO_E* error", code_name(F->tc.result));
        } else if (F->tc.result != r->expect && F->tc.result != r->alt)
            row_fail(r, "callback result %s (os error %d), expected %s%s%s",
                     code_name(F->tc.result), tio_os_error(&F->t), code_name(r->expect),
                     r->alt == NOALT ? "" : " or ", r->alt == NOALT ? "" : code_name(r->alt));
        check_one_callback(F, r, pa0, pb0);
        break;
    case RUNS:
        if (rc != r->expect)
            row_fail(r, "returned %s, expected %s", code_name(rc), code_name(r->expect));
        check_one_callback(F, r, pa0, pb0);
        break;
    }
    if (g_bg_cbs != bg0)
        row_fail(r, "a background task (pending on a or b all along) got a callback");
    recover_row_task(F);
#ifndef _WIN32
    g_row_name = NULL;
#endif
}

static int row_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

static void run_table(fx *F, const row *rows, size_t n, const char *what)
{
    int failed0 = g_failed_rows;
    size_t skipped = 0;
    const char *verbose = getenv("TIO_HOSTILE_VERBOSE");
    const char *skip = getenv("TIO_HOSTILE_SKIP"); /* "row,row,...": to get past a crash */
    for (size_t i = 0; i < n; i++) {
        if (skip && row_listed(skip, rows[i].name)) {
            printf("hostile[%s]: row %s skipped (TIO_HOSTILE_SKIP)\n", g_backend, rows[i].name);
            skipped++;
            continue;
        }
        if (rows[i].need == NEED_DIRECT && F->dfile == NULL)
            skipped++;
        if (rows[i].need == NEED_BIG && F->big == NULL) {
            printf("hostile[%s]: row %s skipped: no TIO_MAX_IO bytes of address space\n", g_backend,
                   rows[i].name);
            skipped++;
        }
        if (rows[i].need == NOT_UNDER_ASAN && HOSTILE_ASAN) {
            printf("hostile[%s]: row %s skipped under ASan\n", g_backend, rows[i].name);
            skipped++;
        }
        if (verbose && verbose[0])
            fprintf(stderr, "row %s\n", rows[i].name);
        run_row(F, &rows[i]);
    }
    printf("hostile[%s] %s: %zu rows, %d failed, %zu skipped%s\n", g_backend, what, n,
           g_failed_rows - failed0, skipped,
           skipped && F->dfile == NULL ? " (the scratch directory refuses O_DIRECT)" : "");
    fflush(stdout);
}

static void report_and_assert(void)
{
    if (g_failed_rows) {
        fprintf(stderr, "hostile[%s]: %d row(s) failed:\n%s", g_backend, g_failed_rows, g_report);
        fflush(stderr);
    }
    ck_assert_msg(g_failed_rows == 0, "%d hostile-input row(s) failed (listed on stderr)",
                  g_failed_rows);
}

/* ================================================================ tests */

START_TEST(table)
{
    fx *F = calloc(1, sizeof *F);
    ck_assert_ptr_nonnull(F);
    g_failed_rows = 0;
    g_report_len = 0;
    fx_init(F);
    run_table(F, g_rows, NROWS, "misuse table");
    fx_fini(F);
    free(F);
    report_and_assert();
}
END_TEST

/* A closed tio_file stays valid memory until its loop is destroyed, and
 * every call on it gives TIO_EBADF (include/taskio.h) until a later open on
 * the same loop reuses it, as a closed descriptor number may be reused:
 * right after the close, after other files of the loop were closed, and
 * after opens on another loop (which cannot reuse it). */
START_TEST(closed_file)
{
    fx *F = calloc(1, sizeof *F);
    ck_assert_ptr_nonnull(F);
    g_failed_rows = 0;
    g_report_len = 0;
    fx_init(F);
    tio_file *keep = open_ok(F->a, scratch("keep"), TIO_CREATE | TIO_RDWR);
    F->closed = open_ok(F->a, scratch("closed"), TIO_CREATE | TIO_RDWR);
    ck_assert_int_eq(tio_file_close(F->closed), 0);
    tio_handle p[2];
    make_pipe(p);
    F->closed_pipe = wrap_ok(F->a, p[0], TIO_RDONLY);
    ck_assert_int_eq(tio_file_close(F->closed_pipe), 0);
    run_table(F, g_closed_rows, NCLOSED, "closed file, at once");

    ck_assert_int_eq(tio_file_close(keep), 0);
    run_table(F, g_closed_rows, NCLOSED, "closed file, after another close");

    /* Opens on another loop do not reuse this loop's closed files. */
    tio_file *more[8];
    tio_handle mp[4][2];
    for (int i = 0; i < 8; i++) {
        if (i % 2) {
            make_pipe(mp[i / 2]);
            more[i] = wrap_ok(F->b, mp[i / 2][0], TIO_RDONLY);
        } else {
            more[i] = open_ok(F->b, scratch("more"), TIO_CREATE | TIO_RDWR);
        }
    }
    run_table(F, g_closed_rows, NCLOSED, "closed file, after 8 opens on another loop");
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(tio_file_close(more[i]), 0);
        if (i % 2) {
            close_fd(mp[i / 2][0]);
            close_fd(mp[i / 2][1]);
        }
    }
    close_fd(p[0]);
    close_fd(p[1]);
    fx_fini(F);
    free(F);
    report_and_assert();
}
END_TEST

/* A refused tio_loop_create says why in tio_last_error(NULL): each refusal
 * must replace the message of the one before (no stale reason). */
START_TEST(create_errors_explained)
{
    static const struct {
        const char *name;
        unsigned qd, threads;
        const char *backend;
        unsigned submit_batch;
        const char *says; /* the reason must name it (NULL: any reason) */
    } cases[] = {
        {"queue_depth 32769", 32769, 0, NULL, 0, NULL},
        {"queue_depth UINT_MAX", UINT_MAX, 0, NULL, 0, NULL},
        {"threads 1025", 0, 1025, NULL, 0, NULL},
        {"threads UINT_MAX", 0, UINT_MAX, NULL, 0, NULL},
        {"backend \"bogus\"", 0, 0, "bogus", 0, NULL},
        {"backend \"\"", 0, 0, "", 0, NULL},
        {"submit_batch 9 over queue_depth 8", 8, 0, NULL, 9, "submit_batch"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* A refusal with a known message first. */
        ck_assert_int_eq(create_cfg(0, 0, "sentinel-backend-name"), TIO_EINVAL);
        ck_assert_msg(strstr(tio_last_error(NULL), "sentinel-backend-name") != NULL,
                      "unknown backend name not in tio_last_error(NULL): \"%s\"",
                      tio_last_error(NULL));
        int64_t rc = create_cfg_batch(cases[i].qd, cases[i].threads,
                                      cases[i].backend ? cases[i].backend : g_backend,
                                      cases[i].submit_batch);
        const char *why = tio_last_error(NULL);
        if (rc >= 0) {
            fprintf(stderr, "  FAIL create %s: accepted (%lld), expected a refusal\n",
                    cases[i].name, (long long)rc);
            bad++;
        } else if (why == NULL || why[0] == '\0' || strstr(why, "sentinel-backend-name")) {
            fprintf(stderr,
                    "  FAIL create %s: refused with %s but tio_last_error(NULL) is "
                    "\"%s\" (empty or the previous refusal's)\n",
                    cases[i].name, code_name(rc), why ? why : "(null)");
            bad++;
        } else if (cases[i].says && !strstr(why, cases[i].says)) {
            fprintf(stderr,
                    "  FAIL create %s: refused with %s but tio_last_error(NULL) \"%s\" "
                    "does not name %s\n",
                    cases[i].name, code_name(rc), why, cases[i].says);
            bad++;
        } else {
            printf("create %s: %s: \"%s\"\n", cases[i].name, code_name(rc), why);
        }
    }
    fflush(stdout);
    ck_assert_msg(bad == 0, "%d refused tio_loop_create(s) not explained (listed on stderr)", bad);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, table);
    suite_add_tcase(s, tc);
    tc = tcase_create("closed_file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, closed_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("create");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_errors_explained);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s io_uring|threads|iocp\n", argv[0]);
        return EXIT_FAILURE;
    }
    g_backend = argv[1];
    g_dir = test_dir(); /* a copy: the TIO_BACKEND rows' _putenv_s moves the environment */
    install_crash_report();
    atexit(remove_scratch);

    int rc = probe_backend(g_backend, "hostile");
    if (rc != 0)
        return rc == 77 ? 77 : EXIT_FAILURE;
    printf("hostile: backend %s, scratch dir %s, %zu + %zu rows\n", g_backend, g_dir, NROWS,
           NCLOSED);
    fflush(stdout);

    SRunner *sr = srunner_create(hostile_suite());
#ifdef _WIN32
    srunner_set_fork_status(sr, CK_NOFORK);
#endif
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
