/* SPDX-License-Identifier: MIT */
/*
 * The pipeline's promises (DESIGN semantics 11 to 16): no signal escapes, a
 * signal does not cut a wait short, streams never block files, writes are
 * whole and in order, a passed deadline never reaches the OS, a cancel the
 * library decided carries no OS error, and a cancel of one tio_file never
 * touches another on the same descriptor. Names ending in _posix need what
 * only POSIX has (signals, dup, fork-free pipes by the thousand).
 */
#include "harness.h"

#ifndef _WIN32
#  include <pthread.h>
#  include <signal.h>
#  include <sys/mman.h>
#  include <sys/resource.h>
#  include <sys/stat.h>
#  include <unistd.h>
#endif

/* A passed deadline fires before the run hands anything over: the write
 * never happens (under submit_batch the start itself hands it over, so the
 * real result is allowed there). */
START_TEST(deadline_passed_before_the_run_never_reaches_the_os)
{
    tio_loop *loop = new_loop_in_run();
    tio_file *f = open_file(loop, scratch("deadline16"), TIO_CREATE | TIO_TRUNCATE | TIO_RDWR);
    unsigned char buf[4096];
    fill_pattern(buf, sizeof buf, 16);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_write(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_timeout(loop, &t, 0), 0);
    drain(loop);
    uint64_t size = 99;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    if (g_submit_batch == 0) {
        ck_assert_int_eq(c.result, TIO_ETIMEDOUT);
        ck_assert_uint_eq(size, 0);
    } else {
        ck_assert(c.result == TIO_ETIMEDOUT || c.result == 4096);
    }
    if (c.result == TIO_ETIMEDOUT)
        ck_assert_int_eq(tio_os_error(&t), 0);
    close_file(f);
    end_loop(loop);
}
END_TEST

/* A cancel of a task the OS never saw is the library's outcome. */
START_TEST(cancel_before_the_os_saw_it_has_no_os_error)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    char buf[16];
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    ck_assert_int_eq(tio_os_error(&t), 0);
    /* and one the OS did see */
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    ck_assert_int_eq(tio_os_error(&t), 0);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

/* Nothing to make durable on a pipe, and Windows' FlushFileBuffers would
 * block until the peer reads: refused at submission everywhere. */
START_TEST(fsync_on_a_pipe_is_einval_at_submission)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(tio_fsync(loop, &t, pr, 0, count_cb), TIO_EINVAL);
    ck_assert_int_eq(tio_fsync(loop, &t, pr, TIO_FSYNC_DATA, count_cb), TIO_EINVAL);
    ck_assert_uint_eq(tio_pending(loop), 0);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

/* A storm of wakes before a run ends that run only: the next one waits its
 * whole timeout (wakes coalesce: one eventfd count, one flag, one packet). */
START_TEST(many_wakes_before_a_run_end_only_that_run)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    char buf[8];
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    settle(loop);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(tio_wake(loop), 0);
    ck_assert_int_eq(tio_run(loop, 10 * SEC), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_run(loop, 100 * MS), 0);
    int64_t took = now_ns() - t0;
    ck_assert_msg(took >= 90 * MS, "the run after the wakes returned after %lld ms",
                  (long long)(took / MS));
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

#ifndef _WIN32

/* ------------------------------------------------------- no signal escapes */

START_TEST(pipe_write_after_reader_closed_reports_epipe_without_a_signal_posix)
{
    void (*old)(int) = signal(SIGPIPE, SIG_DFL); /* a raised SIGPIPE would end the test */
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe_out(p);
    close_fd(p[0]);
    tio_file *pw = wrap_handle(loop, p[1], TIO_WRONLY);
    static unsigned char big[1 << 20];
    ck_assert_int_eq(write_wait(loop, pw, "hello", 5, 0), TIO_EPIPE);
    ck_assert_int_eq(write_wait(loop, pw, big, sizeof big, 0), TIO_EPIPE);
    close_file(pw);
    close_fd(p[1]);
    end_loop(loop);
    signal(SIGPIPE, old);
}
END_TEST

START_TEST(write_past_file_size_limit_reports_efbig_without_a_signal_posix)
{
    void (*old)(int) = signal(SIGXFSZ, SIG_DFL);
    struct rlimit saved, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 8192;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("fsize"), TIO_CREATE | TIO_TRUNCATE | TIO_RDWR);
    unsigned char buf[4096];
    fill_pattern(buf, sizeof buf, 14);
    ck_assert_int_eq(write_wait(loop, f, buf, sizeof buf, 8192), TIO_EFBIG);
    close_file(f);
    end_loop(loop);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old);
}
END_TEST

/* ------------------------------------------- a signal does not cut a wait */

static void on_usr1(int sig)
{
    (void)sig;
}

typedef struct kicker {
    pthread_t target;
    int64_t after_ns;
} kicker;

static void *kick(void *arg)
{
    kicker *k = arg;
    sleep_ms((unsigned)(k->after_ns / MS));
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

START_TEST(run_waits_its_whole_timeout_through_a_signal_posix)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the wait's system call returns EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    char buf[8];
    task_init(&t, &c);
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    kicker k = {pthread_self(), 50 * MS};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, kick, &k), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_run(loop, 300 * MS), 0);
    int64_t took = now_ns() - t0;
    pthread_join(th, NULL);
    ck_assert_msg(took >= 300 * MS, "tio_run(300 ms) returned after %lld ms",
                  (long long)(took / MS));
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    close_pipe_reader(pr, p);
    end_loop(loop);
    sigaction(SIGUSR1, &old, NULL);
}
END_TEST

/* ---------------------------------------------- streams never block files */

enum { NPIPES = 32, READS_PER_PIPE = 32 }; /* 1,024 waiting stream reads */

START_TEST(disk_read_completes_while_1024_pipe_reads_wait_posix)
{
    tio_loop *loop = new_loop();
    static tio_handle p[NPIPES][2];
    static tio_file *pr[NPIPES];
    static tio_task rt[NPIPES][READS_PER_PIPE];
    static tcx rc[NPIPES][READS_PER_PIPE];
    static char rbuf[NPIPES][READS_PER_PIPE][8];
    for (int i = 0; i < NPIPES; i++) {
        pr[i] = pipe_reader(loop, p[i]);
        for (int j = 0; j < READS_PER_PIPE; j++) {
            task_init(&rt[i][j], &rc[i][j]);
            ck_assert_int_eq(s_read(loop, &rt[i][j], pr[i], rbuf[i][j], 8, 0, count_cb), 0);
        }
    }
    settle(loop);
    unsigned char *data;
    tio_file *f = file_with_data(loop, "streams15", 4096, 15, &data);
    unsigned char back[4096];
    ck_assert_int_eq(read_wait(loop, f, back, sizeof back, 0), 4096);
    ck_assert(memcmp(back, data, sizeof back) == 0);
    /* and the streams still work: one of pipe 7's reads gets its byte (which
     * one is the OS's choice: io_uring wakes any poller of the pipe) */
    write_all_fd(p[7][1], "x", 1);
    int64_t until = now_ns() + 10 * SEC;
    int got = -1;
    while (got < 0 && now_ns() < until) {
        ck_assert_int_ge(tio_run(loop, 100 * MS), 0);
        for (int j = 0; j < READS_PER_PIPE; j++)
            if (rc[7][j].calls > 0)
                got = j;
    }
    ck_assert_msg(got >= 0, "no read of pipe 7 completed within 10 s");
    ck_assert_int_eq(rc[7][got].result, 1);
    for (int i = 0; i < NPIPES; i++)
        tio_cancel_file(loop, pr[i]);
    drain(loop);
    for (int i = 0; i < NPIPES; i++)
        close_pipe_reader(pr[i], p[i]);
    close_file(f);
    free(data);
    end_loop(loop);
}
END_TEST

/* ------------------------------------------------ whole writes, in order */

typedef struct drainer {
    tio_handle fd;
    unsigned char *got;
    size_t want, have;
} drainer;

/* A slow reader: small reads with pauses, until `want` bytes or EOF. */
static void *slow_reader(void *arg)
{
    drainer *d = arg;
    while (d->have < d->want) {
        ssize_t n = read(d->fd, d->got + d->have, 4096);
        if (n <= 0)
            break;
        d->have += (size_t)n;
        if ((d->have / 4096) % 16 == 0)
            sleep_ms(1);
    }
    return NULL;
}

START_TEST(one_mib_pipe_write_with_a_slow_reader_is_whole_posix)
{
    enum { LEN = 1 << 20 };
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe_out(p);
    tio_file *pw = wrap_handle(loop, p[1], TIO_WRONLY);
    unsigned char *src = malloc(LEN), *got = malloc(LEN);
    ck_assert(src != NULL && got != NULL);
    fill_pattern(src, LEN, 13);
    drainer d = {p[0], got, LEN, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_reader, &d), 0);
    ck_assert_int_eq(write_wait(loop, pw, src, LEN, 0), LEN);
    pthread_join(th, NULL);
    ck_assert_uint_eq(d.have, LEN);
    ck_assert(memcmp(src, got, LEN) == 0);
    close_file(pw);
    close_fd(p[0]);
    close_fd(p[1]);
    free(src);
    free(got);
    end_loop(loop);
}
END_TEST

START_TEST(concurrent_pipe_writes_land_in_submission_order_posix)
{
    enum { N = 40, CHUNK = 32768 };
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe_out(p);
    tio_file *pw = wrap_handle(loop, p[1], TIO_WRONLY);
    unsigned char *src = malloc((size_t)N * CHUNK), *got = malloc((size_t)N * CHUNK);
    ck_assert(src != NULL && got != NULL);
    for (int i = 0; i < N; i++)
        memset(src + (size_t)i * CHUNK, i + 1, CHUNK);
    drainer d = {p[0], got, (size_t)N * CHUNK, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_reader, &d), 0);
    static tio_task t[N];
    static tcx c[N];
    for (int i = 0; i < N; i++) {
        task_init(&t[i], &c[i]);
        ck_assert_int_eq(s_write(loop, &t[i], pw, src + (size_t)i * CHUNK, CHUNK, 0, count_cb), 0);
    }
    drain(loop);
    pthread_join(th, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].result, CHUNK);
    ck_assert_uint_eq(d.have, (size_t)N * CHUNK);
    for (int i = 0; i < N; i++)
        ck_assert_msg(got[(size_t)i * CHUNK] == i + 1 &&
                          got[(size_t)i * CHUNK + CHUNK - 1] == i + 1,
                      "chunk %d landed out of order", i);
    ck_assert(memcmp(src, got, (size_t)N * CHUNK) == 0);
    close_file(pw);
    close_fd(p[0]);
    close_fd(p[1]);
    free(src);
    free(got);
    end_loop(loop);
}
END_TEST

/* ----------------------------------- cancel by tio_file, not by descriptor */

START_TEST(cancel_file_leaves_another_file_on_a_dup_alone_posix)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    make_pipe(p);
    int dupfd = dup(p[0]);
    ck_assert_int_ge(dupfd, 0);
    tio_file *a = wrap_handle(loop, p[0], TIO_RDONLY);
    tio_file *b = wrap_handle(loop, dupfd, TIO_RDONLY);
    tio_file *b2 = wrap_handle(loop, p[0], TIO_RDONLY); /* the very same descriptor */
    tio_task ta, tb, tb2;
    tcx ca, cb, cb2;
    char ba[8], bb[8], bb2[8];
    task_init(&ta, &ca);
    task_init(&tb, &cb);
    task_init(&tb2, &cb2);
    ck_assert_int_eq(s_read(loop, &ta, a, ba, 8, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &tb, b, bb, 8, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &tb2, b2, bb2, 8, 0, count_cb), 0);
    settle(loop);
    ck_assert_int_eq(tio_cancel_file(loop, a), 1);
    run_until_calls(loop, &ca, 1);
    ck_assert_int_eq(ca.result, TIO_ECANCELED);
    settle(loop);
    ck_assert_int_eq(cb.calls, 0);
    ck_assert_int_eq(cb2.calls, 0);
    write_all_fd(p[1], "ab", 2);
    while (cb.calls + cb2.calls < 2) {
        if (cb.calls + cb2.calls == 1 && (cb.calls ? cb.result : cb2.result) == 2)
            break; /* one read took both bytes */
        ck_assert_int_ge(tio_run(loop, 10 * SEC), 0);
    }
    ck_assert_int_eq((cb.calls ? cb.result : 0) + (cb2.calls ? cb2.result : 0), 2);
    tio_cancel_file(loop, b);
    tio_cancel_file(loop, b2);
    drain(loop);
    close_file(a);
    close_file(b);
    close_file(b2);
    close_fd(dupfd);
    close_fd(p[0]);
    close_fd(p[1]);
    end_loop(loop);
}
END_TEST

/* ------------------------------------------------ buffer registration */

/* Registration is a hint on every backend: read-only memory (io_uring pins
 * for writing and refuses it) registers with success, and a write from it
 * works like any other. */
START_TEST(registering_read_only_memory_succeeds_and_writes_from_it_posix)
{
    tio_loop *loop = new_loop();
    size_t len = 65536;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    fill_pattern(m, len, 9);
    ck_assert_int_eq(mprotect(m, len, PROT_READ), 0);
    tio_buf b = {m, len};
    ck_assert_int_eq(tio_register_buffers(loop, &b, 1), 0);
    tio_file *f = open_file(loop, scratch("rombuf"), TIO_CREATE | TIO_TRUNCATE | TIO_RDWR);
    ck_assert_int_eq(write_wait(loop, f, m, 4096, 0), 4096);
    unsigned char back[4096];
    ck_assert_int_eq(read_wait(loop, f, back, sizeof back, 0), 4096);
    ck_assert(memcmp(back, m, sizeof back) == 0);
    ck_assert_int_eq(tio_register_buffers(loop, NULL, 0), 0);
    close_file(f);
    munmap(m, len);
    end_loop(loop);
}
END_TEST

/* ------------------------------------------------ direct opens that fail */

START_TEST(direct_open_of_a_directory_says_it_is_a_directory_posix)
{
    tio_loop *loop = new_loop();
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_open(loop, &f, g_dir, TIO_RDONLY | TIO_DIRECT, 0), TIO_EISDIR);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(tio_last_error(loop), "directory") != NULL, "message: %s",
                  tio_last_error(loop));
    end_loop(loop);
}
END_TEST

#endif /* !_WIN32 */

void add_pipeline_tests(Suite *s, conf_suite which)
{
    if (which != CONF_CORE)
        return;
    TCase *tc = new_tcase("pipeline", 120);
    tcase_add_test(tc, deadline_passed_before_the_run_never_reaches_the_os);
    tcase_add_test(tc, cancel_before_the_os_saw_it_has_no_os_error);
    tcase_add_test(tc, fsync_on_a_pipe_is_einval_at_submission);
    tcase_add_test(tc, many_wakes_before_a_run_end_only_that_run);
#ifndef _WIN32
    tcase_add_test(tc, pipe_write_after_reader_closed_reports_epipe_without_a_signal_posix);
    tcase_add_test(tc, write_past_file_size_limit_reports_efbig_without_a_signal_posix);
    tcase_add_test(tc, run_waits_its_whole_timeout_through_a_signal_posix);
    tcase_add_test(tc, disk_read_completes_while_1024_pipe_reads_wait_posix);
    tcase_add_test(tc, one_mib_pipe_write_with_a_slow_reader_is_whole_posix);
    tcase_add_test(tc, concurrent_pipe_writes_land_in_submission_order_posix);
    tcase_add_test(tc, cancel_file_leaves_another_file_on_a_dup_alone_posix);
    tcase_add_test(tc, direct_open_of_a_directory_says_it_is_a_directory_posix);
    tcase_add_test(tc, registering_read_only_memory_succeeds_and_writes_from_it_posix);
#endif
    suite_add_tcase(s, tc);
}
