/* SPDX-License-Identifier: MIT */
/*
 * loop.c: conformance, the loop.
 *
 * tio_run, tio_drain, tio_wait, tio_wake and submit_batch, and the rules
 * for callbacks (semantic 1): never inside a submitting call, exactly one
 * per accepted call, on the loop's thread, may resubmit their task, may not
 * run the loop; tio_run's count and budget; two loops on two threads.
 */
#include "harness.h"

/* ---------------------------------------------------------- two loops */

typedef struct tl_task {
    int calls;
    int64_t result;
    thread_t owner;
    int wrong_thread;
} tl_task;

static void tl_cb(tio_task *task, int64_t result)
{
    tl_task *x = task->data;
    x->calls++;
    x->result = result;
    if (!same_thread(self_thread(), x->owner))
        x->wrong_thread = 1;
}

#define TL_BLOCKS 32
#define TL_BLK 4096
#define TL_ROUNDS 10

typedef struct tl_arg {
    char path[512];
    int id;
    atomic_int *ready;
    char err[256];
    long ops;
} tl_arg;

static void *tl_main(void *p)
{
    tl_arg *a = p;
    tio_loop *loop = NULL;
    tio_file *f = NULL;
    tio_task tasks[TL_BLOCKS];
    tl_task xs[TL_BLOCKS];
    unsigned char *bufs = malloc((size_t)TL_BLOCKS * TL_BLK);
    unsigned char *expect = malloc(TL_BLK);
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    int rc;

    atomic_fetch_add(a->ready, 1);
    while (atomic_load(a->ready) < 2)
        sleep_ms(1);
    if (!bufs || !expect) {
        snprintf(a->err, sizeof a->err, "out of memory");
        goto out;
    }
    if ((rc = tio_loop_create(&loop, &cfg)) != 0) {
        snprintf(a->err, sizeof a->err, "loop_create: %s", tio_strerror(rc));
        goto out;
    }
    if (strcmp(tio_loop_backend(loop), g_backend) != 0) {
        snprintf(a->err, sizeof a->err, "backend %s", tio_loop_backend(loop));
        goto out;
    }
    if ((rc = tio_file_open(loop, &f, a->path, TIO_CREATE | TIO_RDWR, 0644)) != 0) {
        snprintf(a->err, sizeof a->err, "open: %s", tio_strerror(rc));
        goto out;
    }
    for (int round = 0; round < TL_ROUNDS; round++) {
        for (int w = 0; w < 2; w++) { /* 0: write all, 1: read all back */
            for (int i = 0; i < TL_BLOCKS; i++) {
                unsigned char *b = bufs + (size_t)i * TL_BLK;
                memset(&tasks[i], 0, sizeof tasks[i]);
                memset(&xs[i], 0, sizeof xs[i]);
                xs[i].owner = self_thread();
                tasks[i].data = &xs[i];
                uint64_t off = (uint64_t)i * TL_BLK;
                if (w == 0) {
                    fill_pattern(b, TL_BLK, (uint64_t)a->id * 1000003u + round * 1009u + i);
                    rc = tio_write(loop, &tasks[i], f, b, TL_BLK, off, tl_cb);
                } else {
                    memset(b, 0, TL_BLK);
                    rc = tio_read(loop, &tasks[i], f, b, TL_BLK, off, tl_cb);
                }
                if (rc != 0) {
                    snprintf(a->err, sizeof a->err, "submit: %s", tio_strerror(rc));
                    goto out;
                }
            }
            if ((rc = tio_drain(loop)) != 0) {
                snprintf(a->err, sizeof a->err, "drain: %s", tio_strerror(rc));
                goto out;
            }
            for (int i = 0; i < TL_BLOCKS; i++) {
                a->ops++;
                if (xs[i].calls != 1 || xs[i].result != TL_BLK || xs[i].wrong_thread) {
                    snprintf(a->err, sizeof a->err,
                             "round %d %s block %d: calls %d result %lld wrong thread %d", round,
                             w ? "read" : "write", i, xs[i].calls, (long long)xs[i].result,
                             xs[i].wrong_thread);
                    goto out;
                }
                if (w == 1) {
                    fill_pattern(expect, TL_BLK, (uint64_t)a->id * 1000003u + round * 1009u + i);
                    if (memcmp(expect, bufs + (size_t)i * TL_BLK, TL_BLK) != 0) {
                        snprintf(a->err, sizeof a->err, "round %d block %d: wrong data", round, i);
                        goto out;
                    }
                }
            }
        }
    }
out:
    if (f && (rc = tio_file_close(f)) != 0 && !a->err[0])
        snprintf(a->err, sizeof a->err, "close: %s", tio_strerror(rc));
    if (loop)
        tio_loop_destroy(loop);
    free(bufs);
    free(expect);
    return NULL;
}

START_TEST(two_loops_on_two_threads_run_at_once)
{
    atomic_int ready;
    atomic_init(&ready, 0);
    tl_arg args[2];
    thread_t th[2];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 2; i++) {
        snprintf(args[i].path, sizeof args[i].path, "%s", scratch("twoloops"));
        args[i].id = i + 1;
        args[i].ready = &ready;
    }
    for (int i = 0; i < 2; i++)
        start_thread(&th[i], tl_main, &args[i]);
    for (int i = 0; i < 2; i++)
        join_thread(th[i]);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(args[i].err[0] == '\0', "thread %d: %s", i + 1, args[i].err);
        ck_assert_int_eq(args[i].ops, 2L * TL_ROUNDS * TL_BLOCKS);
    }
}
END_TEST

START_TEST(no_callback_runs_inside_a_submitting_call)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "insubmit", 8192, 22, &data);
    tio_handle ready[2], closed[2], idle[2];
    make_pipe(ready);
    make_pipe(closed);
    make_pipe(idle);
    write_all_fd(ready[1], "ready", 5); /* can complete synchronously */
    close_fd(closed[1]);                /* fails / EOFs synchronously */
    tio_file *fr = wrap_handle(loop, ready[0], TIO_RDONLY);
    tio_file *fc = wrap_handle(loop, closed[0], TIO_RDONLY);
    tio_file *fi = wrap_handle(loop, idle[0], TIO_RDONLY);

    enum { N = 14 };
    tio_task t[N];
    tcx c[N];
    unsigned char bufs[N][1024];
    for (int i = 0; i < N; i++)
        task_init(&t[i], &c[i]);
    int k = 0;
    for (; k < 8; k++)
        ck_assert_int_eq(s_read(loop, &t[k], f, bufs[k], 1024, (uint64_t)k * 1024, count_cb), 0);
    long base = g_callbacks; /* file_with_data's write */
    ck_assert_int_eq(s_read(loop, &t[k++], fr, bufs[8], 64, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t[k++], fc, bufs[9], 64, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t[k++], fi, bufs[10], 64, 0, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[k++], 0, count_cb), 0);
    ck_assert_int_eq(s_fsync(loop, &t[k++], f, TIO_FSYNC_DATA, count_cb), 0);
    ck_assert_int_eq(s_write(loop, &t[k++], f, data, 100, 8192, count_cb), 0);
    ck_assert_int_eq(k, N);

    /* No callback inside the calls, nor between them, nor on its own. */
    sleep_ms(30);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].calls, 0);
    ck_assert_int_eq(g_callbacks, base);
    /* ...nor inside tio_cancel */
    ck_assert_int_eq(tio_cancel(loop, &t[10]), 0);
    ck_assert_int_eq(c[10].calls, 0);

    drain(loop);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].calls, 1);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(c[i].result, 1024);
        ck_assert(memcmp(bufs[i], data + i * 1024, 1024) == 0);
    }
    ck_assert_int_eq(c[8].result, 5);
    ck_assert(memcmp(bufs[8], "ready", 5) == 0);
    ck_assert_int_eq(c[9].result, 0);
    ck_assert_int_eq(c[10].result, TIO_ECANCELED);
    ck_assert_int_eq(c[11].result, 0);
    ck_assert_int_eq(c[12].result, 0);
    ck_assert_int_eq(c[13].result, 100);

    close_file(f);
    close_file(fr);
    close_file(fc);
    close_file(fi);
    close_fd(ready[0]);
    close_fd(ready[1]);
    close_fd(closed[0]);
    close_fd(idle[0]);
    close_fd(idle[1]);
    end_loop(loop);
    free(data);
}
END_TEST

typedef struct chain {
    tio_loop *loop;
    tio_file *f;
    const unsigned char *expect;
    unsigned char buf[512];
    int idx, n;
} chain;

static void chain_hook(tio_task *task, tcx *c, int64_t result)
{
    chain *ch = c->arg;
    ck_assert_int_eq(result, 512);
    ck_assert_msg(memcmp(ch->buf, ch->expect + (size_t)ch->idx * 512, 512) == 0,
                  "chain read %d: wrong data", ch->idx);
    /* the task is idle inside its own callback */
    ck_assert_int_eq(tio_cancel(ch->loop, task), TIO_ENOENT);
    if (++ch->idx < ch->n) {
        memset(ch->buf, 0, sizeof ch->buf);
        ck_assert_int_eq(
            s_read(ch->loop, task, ch->f, ch->buf, 512, (uint64_t)ch->idx * 512, count_cb), 0);
    }
}

START_TEST(callback_may_resubmit_its_own_task)
{
    tio_loop *loop = new_loop();
    chain ch;
    memset(&ch, 0, sizeof ch);
    unsigned char *data;
    ch.n = 200;
    ch.loop = loop;
    ch.f = file_with_data(loop, "chain", (size_t)ch.n * 512, 23, &data);
    ch.expect = data;
    tio_task t;
    tcx c;
    task_init(&t, &c);
    c.hook = chain_hook;
    c.arg = &ch;
    ck_assert_int_eq(s_read(loop, &t, ch.f, ch.buf, 512, 0, count_cb), 0);
    drain(loop);
    ck_assert_int_eq(ch.idx, ch.n);
    ck_assert_int_eq(c.calls, ch.n);
    close_file(ch.f);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(pending_count_tracks_accepted_tasks_and_returns_to_zero_after_drain)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "pending", 4096, 24, NULL);
    ck_assert_uint_eq(tio_pending(loop), 0);
    enum { N = 7 };
    tio_task t[N];
    tcx c[N];
    unsigned char buf[N][512];
    for (int i = 0; i < N; i++)
        task_init(&t[i], &c[i]);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(s_read(loop, &t[i], f, buf[i], 512, (uint64_t)i * 512, count_cb), 0);
        ck_assert_uint_eq(tio_pending(loop), (unsigned)i + 1);
    }
    ck_assert_int_eq(s_sleep(loop, &t[5], 5 * MS, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[6], 0, count_cb), 0);
    ck_assert_uint_eq(tio_pending(loop), 7);
    /* rejected calls change nothing */
    ck_assert_int_eq(s_read(loop, &t[0], f, buf[0], 512, 0, count_cb), TIO_EBUSY);
    tio_task idle;
    tcx ic;
    task_init(&idle, &ic);
    ck_assert_int_eq(s_read(loop, &idle, f, NULL, 512, 0, count_cb), TIO_EINVAL);
    ck_assert_uint_eq(tio_pending(loop), 7);
    drain(loop);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].calls, 1);
    ck_assert_int_eq(ic.calls, 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_uint_eq(tio_pending(loop), 0);
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(run_returns_callbacks_run_and_at_most_queue_depth)
{
    enum { QD = 8, NR = 20, NS = 10 };
    tio_loop *loop = new_loop_qd(QD);
    tio_file *f = file_with_data(loop, "budget", NR * 256, 25, NULL);
    long base = g_callbacks;
    tio_task t[NR + NS];
    tcx c[NR + NS];
    unsigned char buf[NR][256];
    for (int i = 0; i < NR + NS; i++)
        task_init(&t[i], &c[i]);
    for (int i = 0; i < NR; i++)
        ck_assert_int_eq(s_read(loop, &t[i], f, buf[i], 256, (uint64_t)i * 256, count_cb), 0);
    for (int i = 0; i < NS; i++)
        ck_assert_int_eq(s_sleep(loop, &t[NR + i], 0, count_cb), 0);
    int runs = 0;
    while (g_callbacks - base < NR + NS) {
        long before = g_callbacks;
        int rc = tio_run(loop, 5 * SEC);
        ck_assert_msg(rc >= 0 && rc <= QD, "tio_run returned %d with queue_depth %d", rc, QD);
        ck_assert_int_eq(rc, g_callbacks - before);
        ck_assert_int_lt(++runs, 1000);
    }
    ck_assert_int_ge(runs, (NR + NS + QD - 1) / QD);
    ck_assert_uint_eq(tio_pending(loop), 0);
    for (int i = 0; i < NR + NS; i++)
        ck_assert_int_eq(c[i].calls, 1);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    close_file(f);
    end_loop(loop);
}
END_TEST

typedef struct inner {
    tio_loop *loop;
    tio_task *other;
    int checked;
} inner;

static void inner_hook(tio_task *task, tcx *c, int64_t result)
{
    (void)task;
    (void)result;
    inner *in = c->arg;
    ck_assert_int_eq(tio_run(in->loop, 0), TIO_EBUSY);
    ck_assert_int_eq(tio_drain(in->loop), TIO_EBUSY);
    ck_assert_int_eq(tio_wait(in->loop, in->other, 0), TIO_EBUSY);
    in->checked = 1;
}

START_TEST(run_drain_wait_inside_a_callback_give_ebusy)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t, o;
    tcx c, oc;
    task_init(&t, &c);
    task_init(&o, &oc);
    char buf[8];
    ck_assert_int_eq(s_read(loop, &o, pr, buf, sizeof buf, 0, count_cb), 0);
    inner in = {loop, &o, 0};
    c.hook = inner_hook;
    c.arg = &in;
    ck_assert_int_eq(s_sleep(loop, &t, MS, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(in.checked, 1);
    ck_assert_int_eq(oc.calls, 0);
    ck_assert_int_eq(tio_cancel(loop, &o), 0);
    drain(loop);
    ck_assert_int_eq(oc.result, TIO_ECANCELED);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(every_accepted_call_gets_exactly_one_callback)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "onecb", 16384, 26, &data);
    tio_handle pa[2], pb[2];
    make_pipe(pa);
    make_pipe(pb);
    tio_file *fa = wrap_handle(loop, pa[0], TIO_RDONLY);
    tio_file *fb = wrap_handle(loop, pb[0], TIO_RDONLY);
    enum { N = 16 };
    tio_task t[N];
    tcx c[N];
    unsigned char bufs[N][1024];
    int expect_calls[N];
    for (int i = 0; i < N; i++) {
        task_init(&t[i], &c[i]);
        expect_calls[i] = 1;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(s_write(loop, &t[i], f, data, 1024, 16384 + (uint64_t)i * 1024, count_cb),
                         0);
    for (int i = 4; i < 8; i++)
        ck_assert_int_eq(s_read(loop, &t[i], f, bufs[i], 1024, (uint64_t)i * 1024, count_cb), 0);
    ck_assert_int_eq(s_fsync(loop, &t[8], f, 0, count_cb), 0);
    ck_assert_int_eq(s_fsync(loop, &t[9], f, TIO_FSYNC_DATA, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[10], 2 * MS, count_cb), 0);
    ck_assert_int_eq(s_sleep(loop, &t[11], 10 * SEC, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t[12], fa, bufs[12], 64, 0, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t[13], fb, bufs[13], 64, 0, count_cb), 0);
    /* rejected: no callback */
    ck_assert_int_eq(s_read(loop, &t[14], f, NULL, 64, 0, count_cb), TIO_EINVAL);
    expect_calls[14] = 0;
    /* rejected: t[12] is pending; it still gets exactly its one callback */
    ck_assert_int_eq(s_read(loop, &t[12], f, bufs[15], 64, 0, count_cb), TIO_EBUSY);
    expect_calls[15] = 0; /* t[15] is never accepted */
    ck_assert_int_ge(tio_run(loop, 20 * MS), 0);
    ck_assert_int_eq(tio_cancel(loop, &t[11]), 0);
    ck_assert_int_eq(tio_cancel(loop, &t[12]), 0);
    write_all_fd(pb[1], "data", 4);
    drain(loop);
    /* sequential reuse of one task: one callback per use */
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(s_read(loop, &t[4], f, bufs[4], 1024, 0, count_cb), 0);
        ck_assert_int_eq(tio_wait(loop, &t[4], 10 * SEC), 1024);
    }
    expect_calls[4] += 3;
    /* late duplicates would show up here */
    sleep_ms(30);
    ck_assert_int_eq(tio_run(loop, 20 * MS), 0);
    for (int i = 0; i < N; i++)
        ck_assert_msg(c[i].calls == expect_calls[i], "task %d: %d callbacks, want %d", i,
                      c[i].calls, expect_calls[i]);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(c[i].result, 1024);
    ck_assert_int_eq(c[8].result, 0);
    ck_assert_int_eq(c[9].result, 0);
    ck_assert_int_eq(c[10].result, 0);
    ck_assert_int_eq(c[11].result, TIO_ECANCELED);
    ck_assert_int_eq(c[12].result, TIO_ECANCELED);
    ck_assert_int_eq(c[13].result, 4);
    ck_assert_uint_eq(tio_pending(loop), 0);
    close_file(f);
    close_file(fa);
    close_file(fb);
    close_fd(pa[0]);
    close_fd(pa[1]);
    close_fd(pb[0]);
    close_fd(pb[1]);
    end_loop(loop);
    free(data);
}
END_TEST

START_TEST(wait_returns_the_task_result)
{
    tio_loop *loop = new_loop();
    unsigned char *data;
    tio_file *f = file_with_data(loop, "wait", 3000, 35, &data);
    tio_task t, s;
    tcx c, sc;
    task_init(&t, &c);
    task_init(&s, &sc);
    unsigned char buf[4096];
    ck_assert_int_eq(tio_wait(loop, &t, 0), TIO_ENOENT); /* idle */
    ck_assert_int_eq(s_sleep(loop, &s, 200 * MS, count_cb), 0);
    ck_assert_int_eq(s_read(loop, &t, f, buf, 4096, 1000, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, TIO_FOREVER), 2000);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(t.result, 2000);
    ck_assert(memcmp(buf, data + 1000, 2000) == 0);
    ck_assert_int_eq(sc.calls, 0); /* it waited for t, not for everything */
    ck_assert_int_eq(tio_wait(loop, &s, TIO_FOREVER), 0);
    ck_assert_int_eq(sc.calls, 1);
    ck_assert_int_eq(tio_wait(loop, &t, 0), TIO_ENOENT);
    close_file(f);
    end_loop(loop);
    free(data);
}
END_TEST

typedef struct waker {
    tio_loop *loop;
    unsigned delay_ms;
    _Atomic int64_t woke_at;
} waker;

static void *waker_main(void *p)
{
    waker *w = p;
    sleep_ms(w->delay_ms);
    atomic_store(&w->woke_at, now_ns());
    tio_wake(w->loop);
    return NULL;
}

START_TEST(wake_from_another_thread_returns_blocked_run)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    waker w;
    w.loop = loop;
    w.delay_ms = 50;
    atomic_init(&w.woke_at, 0);
    thread_t th;
    start_thread(&th, waker_main, &w);
    int rc = tio_run(loop, TIO_FOREVER);
    int64_t end = now_ns();
    join_thread(th);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(atomic_load(&w.woke_at) != 0 && end >= atomic_load(&w.woke_at),
                  "tio_run(TIO_FOREVER) returned before tio_wake was called");
    ck_assert_int_eq(c.calls, 0);
    ck_assert_uint_eq(tio_pending(loop), 1);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

START_TEST(wake_before_run_makes_the_next_run_return)
{
    tio_loop *loop = new_loop();
    tio_handle p[2];
    tio_file *pr = pipe_reader(loop, p);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    char buf[16];
    ck_assert_int_eq(s_read(loop, &t, pr, buf, sizeof buf, 0, count_cb), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    waker w;
    w.loop = loop;
    w.delay_ms = 0;
    atomic_init(&w.woke_at, 0);
    thread_t th;
    start_thread(&th, waker_main, &w);
    join_thread(th); /* the wake happened while nobody was waiting */
    int64_t t0 = now_ns();
    ck_assert_int_eq(tio_run(loop, TIO_FOREVER), 0);
    ck_assert_int_lt(now_ns() - t0, 5 * SEC);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(tio_cancel(loop, &t), 0);
    drain(loop);
    ck_assert_int_eq(c.result, TIO_ECANCELED);
    close_pipe_reader(pr, p);
    end_loop(loop);
}
END_TEST

/* Whether the OS has done a started 4096-byte write: the file has grown.
 * Waits up to 5 s for it when it is expected, 50 ms when it is not. */
static int write_landed(tio_file *f, int expected)
{
    int64_t deadline = now_ns() + (expected ? 5 * SEC : 50 * MS);
    uint64_t size = 0;
    for (;;) {
        ck_assert_int_eq(tio_file_size(f, &size), 0);
        if (size == 4096 || now_ns() >= deadline)
            return size == 4096;
        sleep_ms(1);
    }
}

/* TIO_SUBMIT_IN_RUN: a started write reaches the OS only in the next run;
 * 1: in its starting call; 0 (the library decides): either. Under each, no
 * callback runs before a run. */
START_TEST(submit_batch_decides_when_a_start_reaches_the_os)
{
    static const unsigned policies[] = {TIO_SUBMIT_IN_RUN, 1, 0};
    for (unsigned i = 0; i < 3; i++) {
        unsigned batch = policies[i];
        tio_loop *loop = new_loop_with(0, batch);
        static const char *const tags[] = {"sbr", "sb1", "sb0"};
        tio_file *f = open_file(loop, scratch(tags[i]), TIO_CREATE | TIO_TRUNCATE | TIO_RDWR);
        unsigned char buf[4096];
        fill_pattern(buf, sizeof buf, 40 + (int)i);
        tio_task t;
        tcx c;
        task_init(&t, &c);
        ck_assert_int_eq(s_write(loop, &t, f, buf, sizeof buf, 0, count_cb), 0);
        if (batch != 0)
            ck_assert_msg(write_landed(f, batch == 1) == (batch == 1),
                          "submit_batch %u: the write %s the OS before any run", batch,
                          batch == 1 ? "did not reach" : "reached");
        ck_assert_int_eq(c.calls, 0);
        drain(loop);
        ck_assert_int_eq(c.calls, 1);
        ck_assert_int_eq(c.result, 4096);
        close_file(f);
        end_loop(loop);
    }
}
END_TEST

/* submit_batch 3: the third start hands all three over at once, on every
 * backend (the policy is the common code's). */
START_TEST(submit_batch_hands_over_every_n_starts)
{
    enum { N = 3 };
    int batches = 1;
    tio_loop *loop = new_loop_with(0, N);
    tio_file *f[N];
    tio_task t[N];
    tcx c[N];
    unsigned char buf[4096];
    fill_pattern(buf, sizeof buf, 43);
    static const char *const tags[N] = {"sbn0", "sbn1", "sbn2"};
    for (int i = 0; i < N; i++) {
        f[i] = open_file(loop, scratch(tags[i]), TIO_CREATE | TIO_TRUNCATE | TIO_RDWR);
        task_init(&t[i], &c[i]);
    }
    for (int i = 0; i < N - 1; i++) {
        ck_assert_int_eq(s_write(loop, &t[i], f[i], buf, sizeof buf, 0, count_cb), 0);
        ck_assert_msg(write_landed(f[i], !batches) == !batches,
                      "start %d of %d: the write %s the OS", i + 1, N,
                      batches ? "reached" : "did not reach");
    }
    ck_assert_int_eq(s_write(loop, &t[N - 1], f[N - 1], buf, sizeof buf, 0, count_cb), 0);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(write_landed(f[i], 1), "start %d: not at the OS after the batch", i + 1);
        ck_assert_int_eq(c[i].calls, 0);
    }
    drain(loop);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i].calls, 1);
        ck_assert_int_eq(c[i].result, 4096);
        close_file(f[i]);
    }
    end_loop(loop);
}
END_TEST

START_TEST(loop_backend_reports_requested_name)
{
    tio_loop *loop = new_loop();
    ck_assert_ptr_nonnull(tio_loop_backend(loop));
    ck_assert_str_eq(tio_loop_backend(loop), g_backend);
    end_loop(loop);
}
END_TEST

/* ================================================================ suite */

void add_loop_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("loop", 60);
        tcase_add_test(tc, two_loops_on_two_threads_run_at_once);
        tcase_add_test(tc, no_callback_runs_inside_a_submitting_call);
        tcase_add_test(tc, callback_may_resubmit_its_own_task);
        tcase_add_test(tc, pending_count_tracks_accepted_tasks_and_returns_to_zero_after_drain);
        tcase_add_test(tc, run_returns_callbacks_run_and_at_most_queue_depth);
        tcase_add_test(tc, run_drain_wait_inside_a_callback_give_ebusy);
        tcase_add_test(tc, every_accepted_call_gets_exactly_one_callback);
        tcase_add_test(tc, wait_returns_the_task_result);
        tcase_add_test(tc, wake_from_another_thread_returns_blocked_run);
        tcase_add_test(tc, wake_before_run_makes_the_next_run_return);
        tcase_add_test(tc, submit_batch_decides_when_a_start_reaches_the_os);
        tcase_add_test(tc, submit_batch_hands_over_every_n_starts);
        tcase_add_test(tc, loop_backend_reports_requested_name);
        suite_add_tcase(s, tc);
    }
}
