/* SPDX-License-Identifier: MIT */
/*
 * harness.h: what every conformance group shares (harness.c).
 *
 * One binary per backend runs the groups (io_eof.c, streams.c, cancel.c,
 * timeouts.c, loop.c, shutdown.c, durability.c, errors.c, pipeline.c,
 * vectored.c, engine.c), assembled by
 * main.c:
 *
 *     conformance BACKEND core|direct [SUBMIT_BATCH]
 *
 * Every loop a test makes comes from new_loop*(), with the run's backend
 * and submit_batch. Every submitting call goes through s_read/s_write/
 * s_fsync/s_sleep, which count acceptances and mark "inside a submitting
 * call"; every task's callback is count_cb (or one that counts the same
 * way), which counts callbacks and checks where it runs. end_loop destroys
 * the test's last loop and asserts that the two counts agree (semantic 1:
 * exactly one callback per accepted call).
 *
 * POSIX: each test runs forked (CK_FORK default), in its own process.
 * Windows has no fork: the runner is CK_NOFORK there, all tests share one
 * process, so every test releases its loops, files, pipes and threads itself
 * (a failing test may leak them; the next test does not depend on that).
 */
#ifndef TIO_CONFORMANCE_HARNESS_H
#define TIO_CONFORMANCE_HARNESS_H

#include <taskio.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tio_check.h" /* <check.h>; MS, SEC; clock, data, pipes, writes, closes */

#ifndef _WIN32
#  include <pthread.h>
#endif

/* ================================================================ groups */

/* The two suites a run can be: buffered files, pipes, timers (core), or
 * tests that need O_DIRECT in the scratch directory (direct). */
typedef enum conf_suite { CONF_CORE, CONF_DIRECT } conf_suite;

/* Each group adds its TCases for `which` to s. */
void add_io_eof_tests(Suite *s, conf_suite which);
void add_streams_tests(Suite *s, conf_suite which);
void add_cancel_tests(Suite *s, conf_suite which);
void add_timeouts_tests(Suite *s, conf_suite which);
void add_loop_tests(Suite *s, conf_suite which);
void add_shutdown_tests(Suite *s, conf_suite which);
void add_durability_tests(Suite *s, conf_suite which);
void add_errors_tests(Suite *s, conf_suite which);
void add_pipeline_tests(Suite *s, conf_suite which);
void add_vectored_tests(Suite *s, conf_suite which);
void add_engine_tests(Suite *s, conf_suite which);

/* A TCase with the harness's fixture (setup/teardown) and a timeout. */
TCase *new_tcase(const char *name, double timeout_s);

/* ================================================================ threads */

#ifdef _WIN32
typedef struct thread_thunk thread_thunk;
typedef struct thread_t {
    HANDLE h;            /* NULL for self_thread() */
    DWORD id;            /* what identifies the thread */
    thread_thunk *thunk; /* start_thread's, freed by join_thread */
} thread_t;
#else
typedef pthread_t thread_t;
#endif

void start_thread(thread_t *t, void *(*fn)(void *), void *arg);
void *join_thread(thread_t t);
thread_t self_thread(void);
int same_thread(thread_t a, thread_t b);
int fd_is_open(tio_handle fd); /* the handle is still open (not closed by tio) */
#ifndef _WIN32
int is_dir(const char *path);
#endif

/* ================================================================ the run */

extern const char *g_argv0;     /* this program, for tests that run a second process */
extern const char *g_backend;   /* argv[1] */
extern unsigned g_submit_batch; /* argv[3]: tio_loop_config.submit_batch of every loop */
extern const char *g_dir;       /* $TIO_TEST_DIR, default "." */
extern int g_in_submit;         /* > 0 while inside a submitting call */
extern long g_accepted;         /* calls that returned 0 */
extern long g_callbacks;        /* callbacks run */
extern int g_order;             /* completion stamp */
extern thread_t g_loop_thread;  /* thread that created the test's loop */

/* A fresh scratch path in `dir` (or g_dir), removed when the test ends (or exits). */
const char *scratch_in(const char *dir, const char *tag);
const char *scratch(const char *tag);
void remove_scratch(void);

/* ================================================================ tasks */

/* Per-task record, in task->data. count_cb fills it. */
typedef struct tcx tcx;
typedef void (*hook_fn)(tio_task *task, tcx *c, int64_t result);
struct tcx {
    int calls;        /* callbacks run for this task */
    int64_t result;   /* result of the last one */
    int order;        /* completion stamp of the last one */
    int64_t t_submit; /* set by tests that time things */
    int64_t t_done;   /* now_ns() in the last callback */
    hook_fn hook;     /* optional: runs inside the callback */
    void *arg;
    void *arg2;
    int64_t v;
};

void task_init(tio_task *t, tcx *c);
/* The callback of every test task: checks where it runs, counts, records. */
void count_cb(tio_task *task, int64_t result);

/* Submitting wrappers: mark "inside a submitting call" and count acceptance. */
int s_read(tio_loop *l, tio_task *t, tio_file *f, void *buf, size_t len, uint64_t off, tio_cb cb);
int s_write(tio_loop *l, tio_task *t, tio_file *f, const void *buf, size_t len, uint64_t off,
            tio_cb cb);
int s_readv(tio_loop *l, tio_task *t, tio_file *f, const tio_buf *bufs, unsigned count,
            uint64_t off, tio_cb cb);
int s_writev(tio_loop *l, tio_task *t, tio_file *f, const tio_buf *bufs, unsigned count,
             uint64_t off, tio_cb cb);
int s_fsync(tio_loop *l, tio_task *t, tio_file *f, unsigned flags, tio_cb cb);
int s_sleep(tio_loop *l, tio_task *t, uint64_t ns, tio_cb cb);

/* Count rc == 0 as an acceptance (for calls made without an s_* wrapper). */
int track(int rc);

/* The result of a task cancelled after its start but before any run: see harness.c. */
int cancelled_before_run_ok(const tcx *c, int64_t real);

/* ================================================================ loops, files */

tio_loop *new_loop_with(unsigned queue_depth, unsigned submit_batch);
tio_loop *new_loop_qd(unsigned queue_depth); /* the run's submit_batch (at most queue_depth) */
/* The run's submit_batch, except that the default (0, where the library
 * may hand a lone task over from its starting call) becomes
 * TIO_SUBMIT_IN_RUN: for the tests of what a task never handed over
 * reports. */
tio_loop *new_loop_in_run(void);
tio_loop *new_loop(void);
/* Destroy the test's (last) loop and check semantic 1 over the whole test. */
void end_loop(tio_loop *loop);

tio_file *open_file(tio_loop *loop, const char *path, unsigned flags);
tio_file *wrap_handle(tio_loop *loop, tio_handle h, unsigned flags);
void close_file(tio_file *f);
/* A pipe taskio reads: p[0] wrapped on loop (returned), p[1] the test's write end. */
tio_file *pipe_reader(tio_loop *loop, tio_handle p[2]);
void close_pipe_reader(tio_file *pr, tio_handle p[2]);
/* A buffered file holding `len` bytes of fill_pattern(seed); *data_out gets them (malloc). */
tio_file *file_with_data(tio_loop *loop, const char *tag, size_t len, uint64_t seed,
                         unsigned char **data_out);

/* ================================================================ running */

void run_until_calls(tio_loop *loop, const tcx *c, int n);  /* 10 s limit */
void poll_until_calls(tio_loop *loop, const tcx *c, int n); /* the same, waking every 2 ms */
void settle(tio_loop *loop); /* let pending pipe reads reach the OS; nothing completes */
void drain(tio_loop *loop);  /* tio_drain succeeds and nothing is pending */
int64_t write_wait(tio_loop *loop, tio_file *f, const void *buf, size_t len, uint64_t off);
int64_t read_wait(tio_loop *loop, tio_file *f, void *buf, size_t len, uint64_t off);

#endif /* TIO_CONFORMANCE_HARNESS_H */
