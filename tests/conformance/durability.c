/* SPDX-License-Identifier: MIT */
/*
 * durability.c: conformance, durability and direct I/O.
 *
 * tio_fsync with and without TIO_FSYNC_DATA; TIO_DIRECT opens direct or
 * fails with TIO_ENOTSUP, TIO_DIRECT_TRY always opens (semantic 10); on a
 * direct file: alignment enforced by taskio (semantic 3), TIO_DSYNC writes
 * read back after reopening, random-offset I/O beyond the queue depth
 * verified block by block.
 */
#include "harness.h"

static void check_direct_try(tio_loop *loop, const char *dir, int expect_direct)
{
    tio_file *f = open_file(loop, scratch_in(dir, "directtry"),
                            TIO_CREATE | TIO_RDWR | TIO_DIRECT_TRY);
    int d = tio_file_is_direct(f);
    size_t align = tio_file_align(f);
    printf("NOTE: TIO_DIRECT_TRY in %s: is_direct %d, align %zu\n", dir, d, align);
    ck_assert_msg(d == 0 || d == 1, "is_direct %d", d);
    if (expect_direct >= 0)
        ck_assert_int_eq(d, expect_direct);
    if (d) {
        ck_assert_uint_ge(align, 512);
        ck_assert_uint_eq(align & (align - 1), 0);
    } else {
        ck_assert_uint_eq(align, 1);
    }
    close_file(f);
}

/* TIO_DIRECT in dir opens direct or fails with TIO_ENOTSUP and an
 * explanation; TIO_DIRECT_TRY then opens, direct exactly when TIO_DIRECT did. */
static void check_direct_or_enotsup(tio_loop *loop, const char *dir)
{
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, scratch_in(dir, "direct"), TIO_CREATE | TIO_RDWR | TIO_DIRECT,
                           0644);
    int direct_ok;
    if (rc == 0) {
        direct_ok = 1;
        ck_assert_int_eq(tio_file_is_direct(f), 1);
        size_t align = tio_file_align(f);
        ck_assert_uint_ge(align, 512);
        ck_assert_uint_eq(align & (align - 1), 0);
        unsigned char *a = tio_alloc(4096, 4096), *b = tio_alloc(4096, 4096);
        ck_assert(a && b);
        fill_pattern(a, 4096, 17);
        ck_assert_int_eq(write_wait(loop, f, a, 4096, 0), 4096);
        ck_assert_int_eq(read_wait(loop, f, b, 4096, 0), 4096);
        ck_assert(memcmp(a, b, 4096) == 0);
        tio_free(a);
        tio_free(b);
        close_file(f);
        printf("NOTE: TIO_DIRECT in %s: opened direct, align %zu\n", dir, align);
    } else {
        direct_ok = 0;
        ck_assert_msg(rc == TIO_ENOTSUP, "TIO_DIRECT in %s: %s, want 0 or TIO_ENOTSUP", dir,
                      tio_strerror(rc));
        ck_assert_msg(tio_last_error(loop)[0] != '\0', "no tio_last_error after ENOTSUP");
        printf("NOTE: TIO_DIRECT in %s: TIO_ENOTSUP (%s)\n", dir, tio_last_error(loop));
    }
    check_direct_try(loop, dir, direct_ok);
}

#ifdef _WIN32
/* No tmpfs on Windows: the same contract on the scratch directory. */
START_TEST(direct_open_on_scratch_dir_is_direct_or_enotsup_and_direct_try_always_opens)
{
    tio_loop *loop = new_loop();
    check_direct_or_enotsup(loop, g_dir);
    end_loop(loop);
}
END_TEST
#else
START_TEST(direct_open_on_tmpfs_is_direct_or_enotsup_and_direct_try_always_opens)
{
    tio_loop *loop = new_loop();
    const char *dir = "/dev/shm";
    if (!is_dir(dir)) {
        printf("NOTE: /dev/shm does not exist; probing TIO_DIRECT in %s instead\n", g_dir);
        dir = g_dir;
    }
    check_direct_or_enotsup(loop, dir);
    if (strcmp(dir, g_dir) != 0)
        check_direct_try(loop, g_dir, -1);
    end_loop(loop);
}
END_TEST
#endif

START_TEST(fsync_with_and_without_data_flag_completes_with_zero)
{
    tio_loop *loop = new_loop();
    tio_file *f = file_with_data(loop, "fsync", 8192, 18, NULL);
    tio_task t;
    tcx c;
    task_init(&t, &c);
    ck_assert_int_eq(s_fsync(loop, &t, f, 0, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.result, 0);
    ck_assert_int_eq(s_fsync(loop, &t, f, TIO_FSYNC_DATA, count_cb), 0);
    ck_assert_int_eq(tio_wait(loop, &t, 10 * SEC), 0);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_int_eq(c.result, 0);
    /* unknown flags are rejected */
    ck_assert_int_eq(s_fsync(loop, &t, f, 0x80, count_cb), TIO_EINVAL);
    ck_assert_uint_eq(tio_pending(loop), 0);
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(direct_file_rejects_misaligned_buffer_offset_length)
{
    tio_loop *loop = new_loop();
    tio_file *f = open_file(loop, scratch("direct-align"), TIO_DIRECT | TIO_CREATE | TIO_RDWR);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t a = tio_file_align(f);
    ck_assert_uint_ge(a, 512);
    ck_assert_uint_eq(a & (a - 1), 0);
    unsigned char *buf = tio_alloc(4 * a, a);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq((uintptr_t)buf % a, 0);
    fill_pattern(buf, 4 * a, 37);
    tio_task t;
    tcx c;
    task_init(&t, &c);

    for (int w = 0; w < 2; w++) {
#define TRY(b, len, off)                                                                    \
  ck_assert_msg((w ? s_write(loop, &t, f, (b), (len), (off), count_cb)                      \
                   : s_read(loop, &t, f, (b), (len), (off), count_cb)) == TIO_EINVAL,       \
                "%s buf+%td len %zu off %llu on a direct file (align %zu): not TIO_EINVAL", \
                w ? "write" : "read", (b)-buf, (size_t)(len), (unsigned long long)(off), a)
        TRY(buf + 1, a, 0);
        TRY(buf + a / 2, a, 0);
        TRY(buf + 8, a, 0);
        TRY(buf, a, 1);
        TRY(buf, a, a / 2);
        TRY(buf, a, (uint64_t)a + 8);
        TRY(buf, 1, 0);
        TRY(buf, a - 1, 0);
        TRY(buf, a + 1, 0);
        TRY(buf, a / 2, 0);
#undef TRY
    }
    ck_assert_uint_eq(tio_pending(loop), 0);
    ck_assert_int_eq(tio_run(loop, 0), 0);
    ck_assert_int_eq(c.calls, 0);
    /* aligned: accepted */
    ck_assert_int_eq(write_wait(loop, f, buf, 2 * a, a), (int64_t)(2 * a));
    unsigned char *back = tio_alloc(2 * a, 0);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(read_wait(loop, f, back, 2 * a, a), (int64_t)(2 * a));
    ck_assert(memcmp(back, buf, 2 * a) == 0);
    tio_free(back);
    tio_free(buf);
    close_file(f);
    end_loop(loop);
}
END_TEST

START_TEST(direct_dsync_write_is_read_back_after_reopen)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("direct-dsync");
    tio_file *f = open_file(loop, path, TIO_DIRECT | TIO_DSYNC | TIO_CREATE | TIO_RDWR);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t a = tio_file_align(f);
    size_t len = 8 * (a > 4096 ? a : 4096);
    unsigned char *w = tio_alloc(len, a), *r = tio_alloc(len, a);
    ck_assert(w && r);
    fill_pattern(w, len, 39);
    for (size_t off = 0; off < len; off += len / 8)
        ck_assert_int_eq(write_wait(loop, f, w + off, len / 8, off), (int64_t)(len / 8));
    close_file(f);
    f = open_file(loop, path, TIO_DIRECT | TIO_RDONLY);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    uint64_t size = 0;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    ck_assert_uint_eq(size, len);
    memset(r, 0, len);
    ck_assert_int_eq(read_wait(loop, f, r, len, 0), (int64_t)len);
    ck_assert(memcmp(r, w, len) == 0);
    tio_free(w);
    tio_free(r);
    close_file(f);
    end_loop(loop);
}
END_TEST

#define DS_TASKS 128
#define DS_QD 32
#define DS_BLOCKS 2048
#define DS_WRITE_PASSES 3
#define DS_READ_PASSES 2
#define BLK_MAGIC UINT64_C(0x7461736b696f2121) /* "taskio!!" */

typedef struct blkhdr {
    uint64_t magic;
    uint64_t offset;
    uint64_t seq;
    uint64_t sum; /* fnv64 of the payload */
} blkhdr;

static void blk_fill(unsigned char *b, size_t len, uint64_t off, uint64_t seq)
{
    blkhdr h;
    fill_pattern(b + sizeof h, len - sizeof h, off * 31 + seq);
    h.magic = BLK_MAGIC;
    h.offset = off;
    h.seq = seq;
    h.sum = fnv64(b + sizeof h, len - sizeof h);
    memcpy(b, &h, sizeof h);
}

/* NULL if the block is what was written at `off` with `seq`, else why not. */
static const char *blk_check(const unsigned char *b, size_t len, uint64_t off, uint64_t seq)
{
    blkhdr h;
    memcpy(&h, b, sizeof h);
    if (h.magic != BLK_MAGIC)
        return "bad magic";
    if (h.offset != off)
        return "block carries another offset";
    if (h.seq != seq)
        return "block carries another sequence (stale or lost write)";
    if (h.sum != fnv64(b + sizeof h, len - sizeof h))
        return "payload checksum mismatch";
    return NULL;
}

typedef struct ds_state ds_state;
typedef struct ds_slot {
    tio_task task;
    ds_state *st;
    unsigned char *buf;
    uint32_t block;
    int busy;
} ds_slot;

struct ds_state {
    tio_loop *loop;
    tio_file *f;
    size_t blk;
    int writing;
    size_t next;
    uint64_t seq;
    long done;
    uint32_t order[DS_BLOCKS];
    uint64_t expect[DS_BLOCKS];
    ds_slot slots[DS_TASKS];
};

static void ds_cb(tio_task *task, int64_t result);

static void ds_start(ds_state *st, ds_slot *s)
{
    uint32_t block = st->order[st->next++];
    uint64_t off = (uint64_t)block * st->blk;
    int rc;
    s->block = block;
    s->busy = 1;
    if (st->writing) {
        uint64_t seq = ++st->seq;
        st->expect[block] = seq;
        blk_fill(s->buf, st->blk, off, seq);
        rc = s_write(st->loop, &s->task, st->f, s->buf, st->blk, off, ds_cb);
    } else {
        memset(s->buf, 0xEE, st->blk);
        rc = s_read(st->loop, &s->task, st->f, s->buf, st->blk, off, ds_cb);
    }
    ck_assert_msg(rc == 0, "direct %s of block %u: %s", st->writing ? "write" : "read", block,
                  tio_strerror(rc));
}

static void ds_cb(tio_task *task, int64_t result)
{
    ds_slot *s = task->data;
    ds_state *st = s->st;
    ck_assert_msg(g_in_submit == 0, "a callback ran inside a submitting call");
    ck_assert_msg(s->busy, "second callback for one direct operation");
    s->busy = 0;
    g_callbacks++;
    ck_assert_msg(result == (int64_t)st->blk, "direct %s of block %u: %lld (%s, os error %d)",
                  st->writing ? "write" : "read", s->block, (long long)result,
                  tio_strerror((int)result), tio_os_error(task));
    if (!st->writing) {
        const char *why = blk_check(s->buf, st->blk, (uint64_t)s->block * st->blk,
                                    st->expect[s->block]);
        ck_assert_msg(why == NULL, "block %u read back: %s", s->block, why);
    }
    st->done++;
    if (st->next < DS_BLOCKS)
        ds_start(st, s);
}

static void shuffle(uint32_t *a, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(xorshift(rng) % (i + 1));
        uint32_t x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

static void ds_pass(ds_state *st, int writing, uint64_t *rng)
{
    shuffle(st->order, DS_BLOCKS, rng);
    st->writing = writing;
    st->next = 0;
    long done0 = st->done;
    for (int i = 0; i < DS_TASKS; i++)
        ds_start(st, &st->slots[i]);
    /* more tasks in flight than the queue is deep */
    ck_assert_uint_eq(tio_pending(st->loop), DS_TASKS);
    while (tio_pending(st->loop) > 0) {
        long before = g_callbacks;
        int rc = tio_run(st->loop, TIO_FOREVER);
        ck_assert_msg(rc >= 0 && rc <= DS_QD, "tio_run: %d (queue_depth %d)", rc, DS_QD);
        ck_assert_int_eq(rc, g_callbacks - before);
    }
    ck_assert_int_eq(st->done - done0, DS_BLOCKS);
    for (int i = 0; i < DS_TASKS; i++)
        ck_assert(!st->slots[i].busy);
}

START_TEST(direct_random_offset_io_beyond_queue_depth_verifies_checksums)
{
    tio_loop *loop = new_loop_qd(DS_QD);
    tio_file *f = open_file(loop, scratch("direct-random"),
                            TIO_DIRECT | TIO_DSYNC | TIO_CREATE | TIO_RDWR);
    ck_assert_int_eq(tio_file_is_direct(f), 1);
    size_t align = tio_file_align(f);
    ck_assert_uint_ge(align, 512);
    ds_state *st = calloc(1, sizeof *st);
    ck_assert_ptr_nonnull(st);
    st->loop = loop;
    st->f = f;
    st->blk = align > 4096 ? align : 4096;
    ck_assert_uint_eq(st->blk % align, 0);
    for (int i = 0; i < DS_TASKS; i++) {
        ds_slot *s = &st->slots[i];
        s->st = st;
        s->task.data = s;
        s->buf = tio_alloc(st->blk, align);
        ck_assert_ptr_nonnull(s->buf);
        ck_assert_uint_eq((uintptr_t)s->buf % align, 0);
    }
    uint64_t seed = (uint64_t)proc_id() * 2654435761u ^ (uint64_t)now_ns();
    uint64_t rng = seed;
    printf("NOTE: direct random I/O: block %zu, align %zu, seed %llu\n", st->blk, align,
           (unsigned long long)seed);
    for (int pass = 0; pass < DS_WRITE_PASSES; pass++)
        ds_pass(st, 1, &rng);
    uint64_t size = 0;
    ck_assert_int_eq(tio_file_size(f, &size), 0);
    ck_assert_uint_eq(size, (uint64_t)DS_BLOCKS * st->blk);
    for (int pass = 0; pass < DS_READ_PASSES; pass++)
        ds_pass(st, 0, &rng);
    ck_assert_int_ge(st->done, 10000);
    for (int i = 0; i < DS_TASKS; i++)
        tio_free(st->slots[i].buf);
    close_file(f);
    end_loop(loop);
    free(st);
}
END_TEST

/* ================================================================ suite */

void add_durability_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("durability", 60);
#ifdef _WIN32
        tcase_add_test(tc,
                       direct_open_on_scratch_dir_is_direct_or_enotsup_and_direct_try_always_opens);
#else
        tcase_add_test(tc, direct_open_on_tmpfs_is_direct_or_enotsup_and_direct_try_always_opens);
#endif
        tcase_add_test(tc, fsync_with_and_without_data_flag_completes_with_zero);
        suite_add_tcase(s, tc);
    }
    if (which == CONF_DIRECT) {
        TCase *tc = new_tcase("durability-direct", 60);
        tcase_add_test(tc, direct_file_rejects_misaligned_buffer_offset_length);
        tcase_add_test(tc, direct_dsync_write_is_read_back_after_reopen);
        suite_add_tcase(s, tc);
        tc = new_tcase("durability-stress", 240);
        tcase_add_test(tc, direct_random_offset_io_beyond_queue_depth_verifies_checksums);
        suite_add_tcase(s, tc);
    }
}
