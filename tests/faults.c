/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: a randomized workload under a seeded schedule of
 * injected faults at the backend boundary (immediate failures, BUSY, short
 * transfers, interrupted waits; on io_uring also transient enter errors and
 * -EAGAIN/-EINTR completions). For every seed it checks DESIGN's promises:
 * exactly one callback per accepted call, never inside a submitting call;
 * every acknowledged byte reads back; transient conditions never reach a
 * callback; tio_pending returns to 0. Linked against taskio_faults.
 *
 *   faults BACKEND [SEEDS [FIRST_SEED]]
 */
#include "common/faults.h"
#include "common/internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <process.h> /* _getpid: MSVC has no <unistd.h> */
#  define getpid _getpid
#else
#  include <unistd.h>
#endif

#define BLOCK 4096
#define NBLOCKS 64
#define NTASKS 32
#define OPS_PER_SEED 1500

static const char *g_backend;
static const char *g_dir = ".";
static unsigned g_seeds = 60;
static uint64_t g_first_seed = 1;
static uint64_t g_hits[TIO__FAULT_KINDS];

enum { K_WRITE, K_READ, K_FSYNC, K_SLEEP };

typedef struct slot {
    tio_task task;
    int kind;
    int block; /* -1: none */
    bool cancel_asked, timeout_asked;
    unsigned char *buf;
    int calls;
} slot;

typedef struct world {
    tio_loop *loop;
    tio_file *file;
    size_t align;
    unsigned char *image; /* what the file must hold: acknowledged bytes */
    bool busy[NBLOCKS];
    slot slots[NTASKS];
    uint64_t rng;
    long accepted, callbacks, remaining;
    int in_submit;
    long failures_injected_seen, short_seen;
} world;

static world W;

static uint64_t rnd(void)
{
    W.rng ^= W.rng << 13;
    W.rng ^= W.rng >> 7;
    W.rng ^= W.rng << 17;
    return W.rng;
}

static void submit_random(slot *s);

static bool allowed_error(int64_t r, const slot *s)
{
    if (r == TIO_EIO || r == TIO_ENOSPC || r == TIO_EFBIG)
        return s->kind == K_WRITE || s->kind == K_READ || s->kind == K_FSYNC; /* injected */
    if (r == TIO_ECANCELED)
        return s->cancel_asked;
    if (r == TIO_ETIMEDOUT)
        return s->timeout_asked;
    return false; /* TIO_EBUSY, TIO_EOTHER (EAGAIN/EINTR), ...: a transient leaked */
}

static void on_done(tio_task *task, int64_t r)
{
    slot *s = task->data;
    ck_assert_msg(W.in_submit == 0, "callback inside a submitting call");
    ck_assert_int_eq(task->result, r);
    W.callbacks++;
    s->calls++;
    if (r < 0) {
        ck_assert_msg(allowed_error(r, s), "seed result %lld (%s) not allowed for kind %d%s%s",
                      (long long)r, tio_strerror((int)r), s->kind,
                      s->cancel_asked ? " (cancel asked)" : "",
                      s->timeout_asked ? " (timeout)" : "");
        if (r == TIO_EIO || r == TIO_ENOSPC || r == TIO_EFBIG)
            W.failures_injected_seen++;
    } else if (s->kind == K_WRITE) {
        ck_assert_int_le(r, BLOCK);
        if (r < BLOCK)
            W.short_seen++;
        /* Acknowledged bytes are now the file's. */
        memcpy(W.image + (size_t)s->block * BLOCK, s->buf, (size_t)r);
    } else if (s->kind == K_READ) {
        ck_assert_int_le(r, BLOCK);
        ck_assert_msg(r > 0, "a read inside the file returned 0");
        if (r < BLOCK)
            W.short_seen++;
        ck_assert_msg(memcmp(W.image + (size_t)s->block * BLOCK, s->buf, (size_t)r) == 0,
                      "block %d read back different bytes", s->block);
    } else {
        ck_assert_int_eq(r, 0);
    }
    if (s->block >= 0)
        W.busy[s->block] = false;
    s->block = -1;
    if (W.remaining > 0)
        submit_random(s);
}

static int free_block(void)
{
    for (int tries = 0; tries < 8; tries++) {
        int b = (int)(rnd() % NBLOCKS);
        if (!W.busy[b])
            return b;
    }
    return -1;
}

static void submit_random(slot *s)
{
    int kind = (int)(rnd() % 10);
    kind = kind < 4 ? K_WRITE : kind < 8 ? K_READ : kind < 9 ? K_FSYNC : K_SLEEP;
    int b = (kind == K_WRITE || kind == K_READ) ? free_block() : -1;
    if ((kind == K_WRITE || kind == K_READ) && b < 0)
        kind = K_SLEEP;
    s->kind = kind;
    s->block = b;
    s->cancel_asked = s->timeout_asked = false;
    int rc;
    W.in_submit++;
    switch (kind) {
    case K_WRITE:
        for (size_t i = 0; i < BLOCK; i += 8) {
            uint64_t v = rnd();
            memcpy(s->buf + i, &v, 8);
        }
        rc = tio_write(W.loop, &s->task, W.file, s->buf, BLOCK, (uint64_t)b * BLOCK, on_done);
        break;
    case K_READ:
        memset(s->buf, 0xee, BLOCK);
        rc = tio_read(W.loop, &s->task, W.file, s->buf, BLOCK, (uint64_t)b * BLOCK, on_done);
        break;
    case K_FSYNC:
        rc = tio_fsync(W.loop, &s->task, W.file, (rnd() & 1) ? TIO_FSYNC_DATA : 0, on_done);
        break;
    default: rc = tio_sleep(W.loop, &s->task, rnd() % 2000000, on_done); break;
    }
    W.in_submit--;
    ck_assert_int_eq(rc, 0);
    if (b >= 0)
        W.busy[b] = true;
    W.accepted++;
    W.remaining--;
    unsigned dice = (unsigned)(rnd() % 100);
    if (dice < 8) {
        s->cancel_asked = true;
        ck_assert_int_eq(tio_cancel(W.loop, &s->task), 0);
    } else if (dice < 16 && kind != K_SLEEP) {
        s->timeout_asked = true;
        ck_assert_int_eq(tio_timeout(W.loop, &s->task, rnd() % 1000000), 0);
    }
}

static const char *scratch_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/faults-%ld.dat", g_dir, (long)getpid());
    return path;
}

static void quiet_cb(tio_task *task, int64_t r)
{
    (void)task;
    (void)r;
}

/* Faults off: write zeros everywhere, then compare the file with the image. */
static void write_zeros(void)
{
    unsigned char *zero = tio_alloc((size_t)BLOCK * NBLOCKS, 0);
    memset(zero, 0, (size_t)BLOCK * NBLOCKS);
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_write(W.loop, &t, W.file, zero, (size_t)BLOCK * NBLOCKS, 0, quiet_cb), 0);
    ck_assert_int_eq(tio_wait(W.loop, &t, TIO_FOREVER), (int64_t)BLOCK * NBLOCKS);
    tio_free(zero);
}

static void verify_file(uint64_t seed)
{
    unsigned char *back = tio_alloc((size_t)BLOCK * NBLOCKS, 0);
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_read(W.loop, &t, W.file, back, (size_t)BLOCK * NBLOCKS, 0, quiet_cb), 0);
    ck_assert_int_eq(tio_wait(W.loop, &t, TIO_FOREVER), (int64_t)BLOCK * NBLOCKS);
    for (int b = 0; b < NBLOCKS; b++)
        ck_assert_msg(memcmp(back + (size_t)b * BLOCK, W.image + (size_t)b * BLOCK, BLOCK) == 0,
                      "seed %llu: block %d lost acknowledged bytes", (unsigned long long)seed, b);
    tio_free(back);
}

static void run_seed(uint64_t seed)
{
    static const unsigned off[TIO__FAULT_KINDS] = {0};
    /* Rates, per thousand: high enough that every kind fires each seed. */
    static const unsigned rates[TIO__FAULT_KINDS] = {
        [TIO__FAULT_START_FAILED] = 40, [TIO__FAULT_START_BUSY] = 80, [TIO__FAULT_SHORT] = 60,
        [TIO__FAULT_WAIT_EINTR] = 100,  [TIO__FAULT_ENTER] = 80,      [TIO__FAULT_CQE_AGAIN] = 60,
        [TIO__FAULT_SYNC] = 80,
    };
    memset(&W, 0, sizeof W);
    W.rng = seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
    /* Every third seed hands each start to the OS at once (submit_batch 1),
     * every third in pairs. */
    tio_loop_config cfg = {16, 3, g_backend, (unsigned)(seed % 3)};
    ck_assert_int_eq(tio_loop_create(&W.loop, &cfg), 0);
    const char *path = scratch_path();
    int rc = tio_file_open(W.loop, &W.file, path,
                           TIO_CREATE | TIO_TRUNCATE | TIO_RDWR | TIO_DIRECT_TRY, 0600);
    ck_assert_msg(rc == 0, "open %s: %s", path, tio_last_error(W.loop));
    W.align = tio_file_align(W.file);
    W.image = calloc(NBLOCKS, BLOCK);
    ck_assert_ptr_nonnull(W.image);
    write_zeros();

    ck_assert_int_eq(tio__faults_enable(W.loop, seed, rates), 0);
    for (int i = 0; i < NTASKS; i++) {
        slot *s = &W.slots[i];
        s->buf = tio_alloc(BLOCK, 0);
        s->block = -1;
        memset(&s->task, 0, sizeof s->task);
        s->task.data = s;
    }
    W.remaining = OPS_PER_SEED;
    for (int i = 0; i < NTASKS; i++)
        submit_random(&W.slots[i]);
    while (tio_pending(W.loop) > 0) {
        int64_t timeout = (int64_t)(rnd() % 3) * 500000; /* 0, 0.5 or 1 ms */
        int ran = tio_run(W.loop, timeout);
        ck_assert_msg(ran >= 0, "tio_run: %s", tio_strerror(ran));
    }
    ck_assert_int_eq(W.callbacks, W.accepted);
    for (int i = 0; i < NTASKS; i++)
        ck_assert_msg(W.slots[i].calls > 0, "a task never completed");
    for (int k = 0; k < TIO__FAULT_KINDS; k++)
        g_hits[k] += tio__faults_hits(W.loop, k);

    ck_assert_int_eq(tio__faults_enable(W.loop, seed, off), 0);
    verify_file(seed);
    ck_assert_int_eq(tio_file_close(W.file), 0);
    tio_loop_destroy(W.loop);
    remove(path);
    for (int i = 0; i < NTASKS; i++)
        tio_free(W.slots[i].buf);
    free(W.image);
}

START_TEST(randomized_workload_keeps_every_promise_under_faults)
{
    for (unsigned i = 0; i < g_seeds; i++)
        run_seed(g_first_seed + i);
    /* The schedule really injected: every kind the backend has fired. */
    bool uring = strcmp(g_backend, "io_uring") == 0;
    for (int k = 0; k < TIO__FAULT_KINDS; k++) {
        if (!uring && (k == TIO__FAULT_ENTER || k == TIO__FAULT_CQE_AGAIN))
            continue;
        if (uring && k == TIO__FAULT_SYNC) /* io_uring: every start pends */
            continue;
        ck_assert_msg(g_hits[k] > 0, "fault kind %d never fired", k);
    }
    printf("NOTE: %s, seeds %llu..%llu: injected failed %llu, busy %llu, short %llu, "
           "wait-eintr %llu, enter %llu, cqe-again %llu, sync %llu\n",
           g_backend, (unsigned long long)g_first_seed,
           (unsigned long long)(g_first_seed + g_seeds - 1), (unsigned long long)g_hits[0],
           (unsigned long long)g_hits[1], (unsigned long long)g_hits[2],
           (unsigned long long)g_hits[3], (unsigned long long)g_hits[4],
           (unsigned long long)g_hits[5], (unsigned long long)g_hits[6]);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BACKEND [SEEDS [FIRST_SEED]]\n", argv[0]);
        return 2;
    }
    g_backend = argv[1];
    if (argc > 2)
        g_seeds = (unsigned)strtoul(argv[2], NULL, 10);
    if (argc > 3)
        g_first_seed = strtoull(argv[3], NULL, 10);
    const char *dir = getenv("TIO_TEST_DIR");
    if (dir && *dir)
        g_dir = dir;
    tio_loop *probe = NULL;
    tio_loop_config cfg = {0, 0, g_backend, 0};
    if (tio_loop_create(&probe, &cfg) == TIO_ENOTSUP) {
        printf("SKIP: backend %s unavailable: %s\n", g_backend, tio_last_error(NULL));
        return 77;
    }
    tio_loop_destroy(probe);

    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("randomized");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, randomized_workload_keeps_every_promise_under_faults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
