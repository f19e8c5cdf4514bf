/* SPDX-License-Identifier: MIT */
/*
 * harness.c: the conformance suite's shared fixture (see harness.h): the
 * run's parameters, threads, scratch paths, counted submissions and
 * callbacks, loops made with the run's backend and submit_batch, files,
 * pipes, and the waits every group uses.
 */
#include "harness.h"

#ifndef _WIN32
#  include <fcntl.h>
#  include <sys/stat.h>
#endif

#ifdef _WIN32
struct thread_thunk {
    void *(*fn)(void *);
    void *arg;
    void *ret;
};

int fd_is_open(tio_handle fd)
{
    DWORD flags = 0;
    return GetHandleInformation(fd, &flags) != 0;
}

static DWORD WINAPI thread_main(LPVOID p)
{
    thread_thunk *t = p;
    t->ret = t->fn(t->arg);
    return 0;
}

void start_thread(thread_t *t, void *(*fn)(void *), void *arg)
{
    t->thunk = malloc(sizeof *t->thunk);
    ck_assert_ptr_nonnull(t->thunk);
    t->thunk->fn = fn;
    t->thunk->arg = arg;
    t->thunk->ret = NULL;
    t->h = CreateThread(NULL, 0, thread_main, t->thunk, 0, &t->id);
    ck_assert_msg(t->h != NULL, "CreateThread: Win32 error %lu", (unsigned long)GetLastError());
}

void *join_thread(thread_t t)
{
    ck_assert_int_eq(WaitForSingleObject(t.h, INFINITE), WAIT_OBJECT_0);
    CloseHandle(t.h);
    void *ret = t.thunk->ret;
    free(t.thunk);
    return ret;
}

thread_t self_thread(void)
{
    thread_t t = {NULL, GetCurrentThreadId(), NULL};
    return t;
}

int same_thread(thread_t a, thread_t b)
{
    return a.id == b.id;
}
#else
int fd_is_open(tio_handle fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

void start_thread(thread_t *t, void *(*fn)(void *), void *arg)
{
    ck_assert_int_eq(pthread_create(t, NULL, fn, arg), 0);
}

void *join_thread(thread_t t)
{
    void *ret = NULL;
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    return ret;
}

thread_t self_thread(void)
{
    return pthread_self();
}

int same_thread(thread_t a, thread_t b)
{
    return pthread_equal(a, b);
}

int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
#endif /* !_WIN32 */

/* ================================================================ the run */

const char *g_argv0;
const char *g_backend;
unsigned g_submit_batch;
const char *g_dir = ".";
int g_in_submit;
long g_accepted;
long g_callbacks;
int g_order;
thread_t g_loop_thread;

static scratch_paths g_scratch;

void remove_scratch(void)
{
    scratch_remove_all(&g_scratch);
}

/* A fresh scratch path in `dir`, removed when the test ends (or exits). */
const char *scratch_in(const char *dir, const char *tag)
{
    const char *p = scratch_path(&g_scratch, dir, "tio-conf", tag);
    ck_assert_msg(p != NULL, "more than %d scratch paths in one test", SCRATCH_MAX);
    return p;
}

const char *scratch(const char *tag)
{
    return scratch_in(g_dir, tag);
}

static void setup(void)
{
    g_in_submit = 0;
    g_accepted = 0;
    g_callbacks = 0;
    g_order = 0;
    g_scratch.n = 0;
}

static void teardown(void)
{
    remove_scratch();
}

TCase *new_tcase(const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

/* ================================================================ tasks */

void task_init(tio_task *t, tcx *c)
{
    memset(t, 0, sizeof *t);
    memset(c, 0, sizeof *c);
    t->data = c;
}

/* The callback of every test task: checks where it runs, counts, records. */
void count_cb(tio_task *task, int64_t result)
{
    ck_assert_ptr_nonnull(task);
    tcx *c = task->data;
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(g_in_submit == 0, "a callback ran inside a submitting call");
    ck_assert_msg(same_thread(self_thread(), g_loop_thread),
                  "a callback ran on a thread other than the loop's");
    ck_assert_int_eq(task->result, result);
    g_callbacks++;
    c->calls++;
    c->result = result;
    c->order = ++g_order;
    c->t_done = now_ns();
    if (c->hook)
        c->hook(task, c, result);
}

int track(int rc)
{
    if (rc == 0)
        g_accepted++;
    return rc;
}

/* Submitting wrappers: mark "inside a submitting call" and count acceptance. */
int s_read(tio_loop *l, tio_task *t, tio_file *f, void *buf, size_t len, uint64_t off, tio_cb cb)
{
    g_in_submit++;
    int rc = tio_read(l, t, f, buf, len, off, cb);
    g_in_submit--;
    return track(rc);
}

int s_readv(tio_loop *l, tio_task *t, tio_file *f, const tio_buf *bufs, unsigned count,
            uint64_t off, tio_cb cb)
{
    g_in_submit++;
    int rc = tio_readv(l, t, f, bufs, count, off, cb);
    g_in_submit--;
    return track(rc);
}

int s_writev(tio_loop *l, tio_task *t, tio_file *f, const tio_buf *bufs, unsigned count,
             uint64_t off, tio_cb cb)
{
    g_in_submit++;
    int rc = tio_writev(l, t, f, bufs, count, off, cb);
    g_in_submit--;
    return track(rc);
}

int s_write(tio_loop *l, tio_task *t, tio_file *f, const void *buf, size_t len, uint64_t off,
            tio_cb cb)
{
    g_in_submit++;
    int rc = tio_write(l, t, f, buf, len, off, cb);
    g_in_submit--;
    return track(rc);
}

int s_fsync(tio_loop *l, tio_task *t, tio_file *f, unsigned flags, tio_cb cb)
{
    g_in_submit++;
    int rc = tio_fsync(l, t, f, flags, cb);
    g_in_submit--;
    return track(rc);
}

int s_sleep(tio_loop *l, tio_task *t, uint64_t ns, tio_cb cb)
{
    g_in_submit++;
    int rc = tio_sleep(l, t, ns, cb);
    g_in_submit--;
    return track(rc);
}

/* ================================================================ loops, files */

tio_loop *new_loop_with(unsigned queue_depth, unsigned submit_batch)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.queue_depth = queue_depth;
    cfg.backend = g_backend;
    cfg.submit_batch = submit_batch;
    tio_loop *loop = NULL;
    int rc = tio_loop_create(&loop, &cfg);
    ck_assert_msg(rc == 0, "tio_loop_create(%s, qd %u, submit_batch %u): %s: %s", g_backend,
                  queue_depth, submit_batch, tio_strerror(rc), tio_last_error(NULL));
    ck_assert_ptr_nonnull(loop);
    g_loop_thread = self_thread();
    return loop;
}

/* A loop of the run's submit_batch (at most the queue depth). */
tio_loop *new_loop_qd(unsigned queue_depth)
{
    return new_loop_with(queue_depth, queue_depth != 0 && g_submit_batch > queue_depth
                                          ? queue_depth
                                          : g_submit_batch);
}

tio_loop *new_loop_in_run(void)
{
    return new_loop_with(0, g_submit_batch ? g_submit_batch : TIO_SUBMIT_IN_RUN);
}

tio_loop *new_loop(void)
{
    return new_loop_qd(0);
}

/* Destroy the test's (last) loop and check semantics 1 over the whole test. */
void end_loop(tio_loop *loop)
{
    tio_loop_destroy(loop);
    ck_assert_int_eq(g_in_submit, 0);
    ck_assert_msg(g_callbacks == g_accepted, "%ld calls were accepted but %ld callbacks ran",
                  g_accepted, g_callbacks);
}

tio_file *open_file(tio_loop *loop, const char *path, unsigned flags)
{
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, flags, 0644);
    ck_assert_msg(rc == 0, "tio_file_open(%s, %#x): %s: %s", path, flags, tio_strerror(rc),
                  tio_last_error(loop));
    ck_assert_ptr_nonnull(f);
    return f;
}

tio_file *wrap_handle(tio_loop *loop, tio_handle h, unsigned flags)
{
    tio_file *f = NULL;
    int rc = tio_file_wrap(loop, &f, h, flags);
    ck_assert_msg(rc == 0, "tio_file_wrap: %s: %s", tio_strerror(rc), tio_last_error(loop));
    ck_assert_ptr_nonnull(f);
    return f;
}

void close_file(tio_file *f)
{
    int rc = tio_file_close(f);
    ck_assert_msg(rc == 0, "tio_file_close: %s", tio_strerror(rc));
}

/* A pipe taskio reads: p[0] wrapped on loop (returned), p[1] the test's
 * write end. */
tio_file *pipe_reader(tio_loop *loop, tio_handle p[2])
{
    make_pipe(p);
    return wrap_handle(loop, p[0], TIO_RDONLY);
}

void close_pipe_reader(tio_file *pr, tio_handle p[2])
{
    close_file(pr);
    close_fd(p[0]);
    close_fd(p[1]);
}

/* Run until c->calls reaches n (10 s limit). */
void run_until_calls(tio_loop *loop, const tcx *c, int n)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (c->calls < n) {
        int rc = tio_run(loop, 50 * MS);
        ck_assert_msg(rc >= 0, "tio_run: %s", tio_strerror(rc));
        ck_assert_msg(now_ns() < deadline, "no callback within 10 s");
    }
}

/* Like run_until_calls, waking every 2 ms: a deadline that fires early is
 * seen early, whatever the loop would otherwise sleep for. */
void poll_until_calls(tio_loop *loop, const tcx *c, int n)
{
    int64_t deadline = now_ns() + 10 * SEC;
    while (c->calls < n) {
        int rc = tio_run(loop, 2 * MS);
        ck_assert_msg(rc >= 0, "tio_run: %s", tio_strerror(rc));
        ck_assert_msg(now_ns() < deadline, "no callback within 10 s");
    }
}

/* Let pending pipe reads reach the OS; nothing may complete meanwhile. */
void settle(tio_loop *loop)
{
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(tio_run(loop, 20 * MS), 0);
}

void drain(tio_loop *loop)
{
    int rc = tio_drain(loop);
    ck_assert_msg(rc == 0, "tio_drain: %s", tio_strerror(rc));
    ck_assert_uint_eq(tio_pending(loop), 0);
}

int64_t write_wait(tio_loop *loop, tio_file *f, const void *buf, size_t len, uint64_t off)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    int rc = s_write(loop, &t, f, buf, len, off, count_cb);
    ck_assert_msg(rc == 0, "tio_write: %s", tio_strerror(rc));
    int64_t r = tio_wait(loop, &t, 10 * SEC);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(r, c.result);
    return r;
}

int64_t read_wait(tio_loop *loop, tio_file *f, void *buf, size_t len, uint64_t off)
{
    tio_task t;
    tcx c;
    task_init(&t, &c);
    int rc = s_read(loop, &t, f, buf, len, off, count_cb);
    ck_assert_msg(rc == 0, "tio_read: %s", tio_strerror(rc));
    int64_t r = tio_wait(loop, &t, 10 * SEC);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(r, c.result);
    return r;
}

/* A buffered file holding `len` bytes of fill_pattern(seed). */
tio_file *file_with_data(tio_loop *loop, const char *tag, size_t len, uint64_t seed,
                         unsigned char **data_out)
{
    tio_file *f = open_file(loop, scratch(tag), TIO_CREATE | TIO_RDWR);
    unsigned char *data = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(data);
    fill_pattern(data, len, seed);
    if (len > 0)
        ck_assert_int_eq(write_wait(loop, f, data, len, 0), (int64_t)len);
    if (data_out)
        *data_out = data;
    else
        free(data);
    return f;
}

/* The result of a task cancelled after its start but before any run, on a
 * loop from new_loop_in_run. Under TIO_SUBMIT_IN_RUN it has not reached the
 * OS: TIO_ECANCELED (semantic 5).
 * Under submit_batch its starting call may have handed it over, and then its
 * real result is right too; nothing else is. */
int cancelled_before_run_ok(const tcx *c, int64_t real)
{
    return c->calls == 1 &&
           (c->result == TIO_ECANCELED || (g_submit_batch > 0 && c->result == real));
}
