/* SPDX-License-Identifier: MIT */
/*
 * soak.c: a million mixed operations per Linux backend; nothing leaks,
 * nothing is lost, nothing is called twice.
 *
 *     tio-soak [--ops N] [--backend NAME]... [--seed S] [--threads W]
 *
 * Issue 5 item 6 (`make soak`; `--ops 100000` is the CTest
 * reliability.soak_short). On each backend (default: io_uring and threads;
 * one the machine refuses is skipped), 256 tasks are kept in flight on a
 * loop of queue depth 256, each resubmitted from its own callback with a
 * random operation:
 *
 *   read     a block of a direct file (TIO_DIRECT_TRY) or of a buffered file
 *   write    a block, with a new version (header: file, block, version,
 *            checksum of the payload)
 *   fsync    either file, with or without TIO_FSYNC_DATA
 *   sleep    0-500 us
 *   pipe     a read of 1-4096 bytes from one of 8 pipes the main loop feeds
 *            with a known byte stream
 *
 * and, at random, a deadline (tio_timeout) on the new task, a tio_cancel of
 * some other pending task, a tio_cancel of an idle task (TIO_ENOENT), a
 * tio_cancel_file of a pipe.
 *
 * Checked throughout: exactly one callback per accepted call (per task and
 * in total, and tio_pending back to 0); each result is one the operation
 * allows (TIO_ECANCELED only after a cancel was asked, TIO_ETIMEDOUT only
 * with a deadline, full block lengths for file I/O); every block read holds
 * a version that was written there, intact (a write whose callback reported
 * cancel/timeout may or may not have reached the file: both versions are
 * accepted until a read settles it); every pipe read continues the stream
 * exactly (a cancelled read consumed nothing). At the end every block of
 * both files is read back and checked.
 *
 * Memory: RSS (/proc/self/statm) after the first tenth of the operations
 * (100,000 of a million) and after the last; the run fails if it grew by
 * more than 1 MiB. Printed: both RSS figures and operations per second.
 *
 * Scratch directory: $TIO_TEST_DIR (default "."). Exit 77 if no backend
 * could be created.
 */
#include <taskio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tio_util.h" /* now_ns, xorshift, fnv64, test_dir, create_loop_or_skip */

#define QD 256
#define NBLOCKS 1024 /* per file: 4 MiB of 4 KiB blocks */
#define NPIPES 8
#define NFILES 2
#define BLK_MAGIC UINT64_C(0x736f616b626c6b21) /* "soakblk!" */
#define RSS_TOLERANCE (1024 * 1024)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SOAK_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define SOAK_SANITIZED 1
#  endif
#endif
#ifndef SOAK_SANITIZED
#  define SOAK_SANITIZED 0
#endif

enum op { OP_READ, OP_WRITE, OP_FSYNC, OP_SLEEP, OP_PIPE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"read", "write", "fsync", "sleep", "pipe"};

/* ---------------------------------------------------------------- helpers */

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static unsigned char stream_byte(unsigned pipe, uint64_t i)
{
    return (unsigned char)((i * 131u) ^ (i >> 9) ^ (pipe * 77u + 5u));
}

/* ---------------------------------------------------------------- state */

typedef struct blkhdr {
    uint64_t magic;
    uint64_t file;
    uint64_t block;
    uint64_t ver;
    uint64_t sum; /* fnv64 of the payload */
} blkhdr;

typedef struct block {
    uint64_t ver;     /* what the file holds */
    uint64_t ver_alt; /* != 0: a write that reported cancel/timeout may hold it instead */
    uint16_t readers;
    uint8_t writer;
} block;

typedef struct soak soak;

typedef struct slot {
    tio_task task;
    soak *s;
    unsigned char *buf;
    int busy; /* accepted, callback not yet run */
    int op;
    int file; /* file index, or pipe index for OP_PIPE */
    uint32_t blk;
    uint64_t ver; /* for writes */
    size_t len;
    int cancel_asked;
    int deadline_set;
} slot;

struct soak {
    const char *backend;
    tio_loop *loop;
    tio_file *files[NFILES];
    char paths[NFILES][4096];
    size_t rec; /* block size: max(4096, direct alignment) */
    block blocks[NFILES][NBLOCKS];
    unsigned file_pending[NFILES];
    tio_file *pipes[NPIPES];
    int pipe_fds[NPIPES][2];
    uint64_t produced[NPIPES], consumed[NPIPES];
    int pipe_busy[NPIPES]; /* slot index + 1 of its outstanding read, 0 if none */
    slot slots[QD];
    tio_task idle_task; /* never submitted: tio_cancel gives TIO_ENOENT */
    uint64_t rng;
    uint64_t next_ver;
    long target, submitted, completed, accepted, callbacks;
    long by_op[OP_COUNT];
    long cancels_asked, cancel_files, deadlines, canceled, timed_out, resolved_alt;
    long pipe_bytes, blocks_verified;
    int stop_submitting;
    long first_mark;
    long rss_first, rss_last, rss_max_last;
    int failed;
    char why[512];
};

static void fail(soak *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(soak *s, const char *fmt, ...)
{
    if (s->failed++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->why, sizeof s->why, fmt, ap);
        va_end(ap);
        fprintf(stderr, "soak[%s]: FAIL: %s\n", s->backend, s->why);
    }
}

static uint32_t rnd(soak *s, uint32_t n)
{
    return (uint32_t)(xorshift(&s->rng) % n);
}

static void build_block(soak *s, unsigned char *b, int file, uint32_t blk, uint64_t ver)
{
    blkhdr h;
    uint64_t st = (ver * UINT64_C(0x9E3779B97F4A7C15)) ^ ((uint64_t)file << 40) ^ blk ^ 1;
    for (size_t i = sizeof h; i < s->rec; i += 8) {
        uint64_t v = xorshift(&st);
        memcpy(b + i, &v, 8);
    }
    h.magic = BLK_MAGIC;
    h.file = (uint64_t)file;
    h.block = blk;
    h.ver = ver;
    h.sum = fnv64(b + sizeof h, s->rec - sizeof h);
    memcpy(b, &h, sizeof h);
}

/* The block read back: intact, and one of the versions written there. */
static void check_block(soak *s, const unsigned char *b, int file, uint32_t blk, const char *when)
{
    blkhdr h;
    memcpy(&h, b, sizeof h);
    block *k = &s->blocks[file][blk];
    if (h.magic != BLK_MAGIC || h.file != (uint64_t)file || h.block != blk) {
        fail(s,
             "%s: file %d block %u: not this block's record (magic %#" PRIx64 ", file %" PRIu64
             ", block %" PRIu64 ")",
             when, file, blk, h.magic, h.file, h.block);
        return;
    }
    if (h.sum != fnv64(b + sizeof h, s->rec - sizeof h)) {
        fail(s, "%s: file %d block %u version %" PRIu64 ": payload checksum mismatch (torn)", when,
             file, blk, h.ver);
        return;
    }
    if (h.ver == k->ver) {
        if (k->ver_alt)
            k->ver_alt = 0; /* settled: the cancelled write did not land */
        return;
    }
    if (k->ver_alt && h.ver == k->ver_alt) {
        k->ver = k->ver_alt; /* settled: the cancelled write landed */
        k->ver_alt = 0;
        s->resolved_alt++;
        return;
    }
    fail(s,
         "%s: file %d block %u holds version %" PRIu64 ", expected %" PRIu64 " (or %" PRIu64
         "): a lost or stale write",
         when, file, blk, h.ver, k->ver, k->ver_alt);
}

/* ---------------------------------------------------------------- operations */

static void on_done(tio_task *task, int64_t result);

static int track(soak *s, int rc)
{
    if (rc == 0)
        s->accepted++;
    return rc;
}

/* A random block of `file` no write is touching (and, for a write, nothing
 * reads and no earlier cancelled write left unsettled); -1 if none found. */
static int pick_block(soak *s, int file, int for_write)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t b = rnd(s, NBLOCKS);
        block *k = &s->blocks[file][b];
        if (k->writer)
            continue;
        if (for_write && (k->readers || k->ver_alt))
            continue;
        return (int)b;
    }
    return -1;
}

static void start_op(soak *s, slot *sl)
{
    uint32_t r = rnd(s, 100);
    int op = r < 30 ? OP_READ : r < 55 ? OP_WRITE : r < 58 ? OP_FSYNC : r < 79 ? OP_SLEEP : OP_PIPE;
    int rc = -999;
    sl->cancel_asked = 0;
    sl->deadline_set = 0;
    if (op == OP_PIPE) {
        int p = (int)rnd(s, NPIPES);
        if (s->pipe_busy[p])
            op = OP_SLEEP;
        else {
            sl->file = p;
            sl->len = 1 + rnd(s, 4096);
            s->pipe_busy[p] = (int)(sl - s->slots) + 1;
            rc = track(s, tio_read(s->loop, &sl->task, s->pipes[p], sl->buf, sl->len, 0, on_done));
        }
    }
    if (op == OP_READ || op == OP_WRITE) {
        int file = (int)rnd(s, NFILES);
        int b = pick_block(s, file, op == OP_WRITE);
        if (b < 0) {
            op = OP_SLEEP;
        } else {
            sl->file = file;
            sl->blk = (uint32_t)b;
            block *k = &s->blocks[file][b];
            uint64_t off = (uint64_t)b * s->rec;
            if (op == OP_READ) {
                k->readers++;
                memset(sl->buf, 0xEE, 64);
                rc = track(
                    s, tio_read(s->loop, &sl->task, s->files[file], sl->buf, s->rec, off, on_done));
            } else {
                k->writer = 1;
                sl->ver = ++s->next_ver;
                build_block(s, sl->buf, file, (uint32_t)b, sl->ver);
                rc = track(s, tio_write(s->loop, &sl->task, s->files[file], sl->buf, s->rec, off,
                                        on_done));
            }
            s->file_pending[file]++;
        }
    }
    if (op == OP_FSYNC) {
        sl->file = (int)rnd(s, NFILES);
        s->file_pending[sl->file]++;
        rc = track(s, tio_fsync(s->loop, &sl->task, s->files[sl->file],
                                rnd(s, 2) ? TIO_FSYNC_DATA : 0, on_done));
    }
    if (op == OP_SLEEP)
        rc = track(s, tio_sleep(s->loop, &sl->task, rnd(s, 500001), on_done));
    sl->op = op;
    if (rc != 0) {
        fail(s, "%s submission refused: %s (%s)", op_names[op], tio_strerror(rc),
             tio_last_error(s->loop));
        return;
    }
    sl->busy = 1;
    s->submitted++;
    s->by_op[op]++;

    /* A deadline on the new task (a sleep is a timer already: TIO_EINVAL). */
    if (rnd(s, 100) < 6) {
        int t = tio_timeout(s->loop, &sl->task, rnd(s, 2000001));
        if (op == OP_SLEEP) {
            if (t != TIO_EINVAL)
                fail(s, "tio_timeout on a sleep: %s, expected TIO_EINVAL", tio_strerror(t));
        } else if (t != 0) {
            fail(s, "tio_timeout on a pending %s: %s", op_names[op], tio_strerror(t));
        } else {
            sl->deadline_set = 1;
            s->deadlines++;
        }
    }
    /* Cancel some pending task (maybe this one, still queued). */
    if (rnd(s, 100) < 4) {
        slot *v = &s->slots[rnd(s, QD)];
        if (v->busy) {
            int c = tio_cancel(s->loop, &v->task);
            if (c != 0)
                fail(s, "tio_cancel of a pending %s: %s", op_names[v->op], tio_strerror(c));
            v->cancel_asked = 1;
            s->cancels_asked++;
        } else {
            int c = tio_cancel(s->loop, &v->task);
            if (c != TIO_ENOENT)
                fail(s, "tio_cancel of an idle task: %s, expected TIO_ENOENT", tio_strerror(c));
        }
    }
    if (rnd(s, 1000) == 0 && tio_cancel(s->loop, &s->idle_task) != TIO_ENOENT)
        fail(s, "tio_cancel of a never-submitted task is not TIO_ENOENT");
    /* Cancel everything on a pipe now and then. */
    if (rnd(s, 2000) == 0) {
        int p = (int)rnd(s, NPIPES);
        int n = tio_cancel_file(s->loop, s->pipes[p]);
        int want = s->pipe_busy[p] ? 1 : 0;
        if (n != want)
            fail(s, "tio_cancel_file(pipe %d): %d, expected %d", p, n, want);
        if (s->pipe_busy[p])
            s->slots[s->pipe_busy[p] - 1].cancel_asked = 1;
        s->cancel_files++;
    }
}

/* Allowed: `ok`, or TIO_ECANCELED after a cancel, TIO_ETIMEDOUT after a deadline. */
static int result_interrupted(soak *s, slot *sl, int64_t result)
{
    if (result == TIO_ECANCELED) {
        if (!sl->cancel_asked)
            fail(s, "%s: TIO_ECANCELED without a cancel", op_names[sl->op]);
        s->canceled++;
        return 1;
    }
    if (result == TIO_ETIMEDOUT) {
        if (!sl->deadline_set)
            fail(s, "%s: TIO_ETIMEDOUT without a deadline", op_names[sl->op]);
        s->timed_out++;
        return 1;
    }
    return 0;
}

static void on_done(tio_task *task, int64_t result)
{
    slot *sl = task->data;
    soak *s = sl->s;
    if (!sl->busy) {
        fail(s, "a second callback for one %s (result %" PRId64 ")", op_names[sl->op], result);
        return;
    }
    if (task->result != result)
        fail(s, "task->result %" PRId64 " != callback result %" PRId64, task->result, result);
    sl->busy = 0;
    s->callbacks++;
    s->completed++;
    int interrupted = result_interrupted(s, sl, result);
    switch (sl->op) {
    case OP_READ: {
        block *k = &s->blocks[sl->file][sl->blk];
        k->readers--;
        s->file_pending[sl->file]--;
        if (!interrupted) {
            if (result != (int64_t)s->rec)
                fail(s, "read of file %d block %u: %" PRId64 " (%s, os error %d)", sl->file,
                     sl->blk, result, tio_strerror((int)result), tio_os_error(task));
            else {
                check_block(s, sl->buf, sl->file, sl->blk, "read");
                s->blocks_verified++;
            }
        }
        break;
    }
    case OP_WRITE: {
        block *k = &s->blocks[sl->file][sl->blk];
        k->writer = 0;
        s->file_pending[sl->file]--;
        if (interrupted) {
            k->ver_alt = sl->ver; /* it may have landed: a read settles it */
        } else if (result != (int64_t)s->rec) {
            fail(s, "write of file %d block %u: %" PRId64 " (%s, os error %d)", sl->file, sl->blk,
                 result, tio_strerror((int)result), tio_os_error(task));
        } else {
            k->ver = sl->ver;
            k->ver_alt = 0;
        }
        break;
    }
    case OP_FSYNC:
        s->file_pending[sl->file]--;
        if (!interrupted && result != 0)
            fail(s, "fsync: %s (os error %d)", tio_strerror((int)result), tio_os_error(task));
        break;
    case OP_SLEEP:
        if (result == TIO_ETIMEDOUT || (!interrupted && result != 0))
            fail(s, "sleep: %" PRId64, result);
        break;
    case OP_PIPE: {
        int p = sl->file;
        s->pipe_busy[p] = 0;
        if (interrupted)
            break;
        if (result <= 0 || result > (int64_t)sl->len) {
            fail(s, "pipe %d read of %zu: %" PRId64 " (%s)", p, sl->len, result,
                 tio_strerror((int)result));
            break;
        }
        for (int64_t i = 0; i < result; i++) {
            if (sl->buf[i] != stream_byte((unsigned)p, s->consumed[p] + (uint64_t)i)) {
                fail(s,
                     "pipe %d: byte %" PRIu64 " of the stream is wrong (lost, duplicated or "
                     "reordered data)",
                     p, s->consumed[p] + (uint64_t)i);
                break;
            }
        }
        s->consumed[p] += (uint64_t)result;
        s->pipe_bytes += result;
        break;
    }
    }
    if (s->completed == s->first_mark)
        s->rss_first = rss_bytes();
    if (s->completed > s->target - s->first_mark && s->completed % 1000 == 0) {
        long r = rss_bytes();
        if (r > s->rss_max_last)
            s->rss_max_last = r;
    }
    if (!s->stop_submitting && s->submitted < s->target && !s->failed)
        start_op(s, sl);
}

/* Keep the pipes that have a read outstanding supplied with stream bytes. */
static void feed_pipes(soak *s)
{
    unsigned char buf[8192];
    for (int p = 0; p < NPIPES; p++) {
        if (!s->pipe_busy[p] || s->produced[p] - s->consumed[p] >= 16384)
            continue;
        size_t n = 1 + rnd(s, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = stream_byte((unsigned)p, s->produced[p] + i);
        ssize_t w = write(s->pipe_fds[p][1], buf, n);
        if (w > 0)
            s->produced[p] += (uint64_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            fail(s, "feeding pipe %d: %s", p, strerror(errno));
    }
}

/* ---------------------------------------------------------------- one backend */

static int64_t wait_one(soak *s, tio_task *t)
{
    int64_t r = tio_wait(s->loop, t, INT64_C(30000000000));
    return r;
}

static void plain_cb(tio_task *task, int64_t result)
{
    (void)task;
    (void)result;
}

/* Read every block of both files and check it (after the run). */
static void verify_all(soak *s, unsigned char *buf)
{
    tio_task t;
    memset(&t, 0, sizeof t);
    for (int f = 0; f < NFILES; f++) {
        for (uint32_t b = 0; b < NBLOCKS && !s->failed; b++) {
            int rc = tio_read(s->loop, &t, s->files[f], buf, s->rec, (uint64_t)b * s->rec,
                              plain_cb);
            if (rc != 0) {
                fail(s, "final read: %s", tio_strerror(rc));
                return;
            }
            int64_t r = wait_one(s, &t);
            if (r != (int64_t)s->rec) {
                fail(s, "final read of file %d block %u: %" PRId64, f, b, r);
                return;
            }
            check_block(s, buf, f, b, "final read-back");
        }
    }
}

static int run_backend(const char *backend, long ops, uint64_t seed, unsigned threads,
                       const char *dir)
{
    soak *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    s->backend = backend;
    s->rng = seed;
    s->target = ops;
    s->first_mark = ops / 10;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = backend;
    cfg.queue_depth = QD;
    cfg.threads = threads;
    int rc = create_loop_or_skip(&s->loop, &cfg, "soak");
    if (rc != 0) {
        free(s);
        return rc;
    }
    size_t align = 1;
    for (int f = 0; f < NFILES; f++) {
        snprintf(s->paths[f], sizeof s->paths[f], "%s/tio-soak-%ld-%s-%d.dat", dir, (long)getpid(),
                 backend, f);
        unsigned flags = TIO_CREATE | TIO_TRUNCATE | TIO_RDWR | (f == 0 ? TIO_DIRECT_TRY : 0);
        rc = tio_file_open(s->loop, &s->files[f], s->paths[f], flags, 0644);
        if (rc != 0) {
            fprintf(stderr, "soak[%s]: open %s: %s: %s\n", backend, s->paths[f], tio_strerror(rc),
                    tio_last_error(s->loop));
            return 1;
        }
        if (tio_file_align(s->files[f]) > align)
            align = tio_file_align(s->files[f]);
    }
    s->rec = align > 4096 ? align : 4096;
    int direct = tio_file_is_direct(s->files[0]);
    for (int p = 0; p < NPIPES; p++) {
        if (pipe2(s->pipe_fds[p], O_CLOEXEC) != 0) {
            perror("pipe2");
            return 1;
        }
        fcntl(s->pipe_fds[p][1], F_SETFL, O_NONBLOCK);
        rc = tio_file_wrap(s->loop, &s->pipes[p], s->pipe_fds[p][0], TIO_RDONLY);
        if (rc != 0) {
            fprintf(stderr, "soak[%s]: wrap pipe: %s\n", backend, tio_strerror(rc));
            return 1;
        }
    }
    for (int i = 0; i < QD; i++) {
        s->slots[i].s = s;
        s->slots[i].task.data = &s->slots[i];
        s->slots[i].buf = tio_alloc(s->rec, s->rec);
        if (s->slots[i].buf == NULL)
            return 1;
    }
    /* Version 1 of every block, written and confirmed before the run. */
    for (int f = 0; f < NFILES; f++) {
        for (uint32_t b = 0; b < NBLOCKS; b++) {
            s->blocks[f][b].ver = ++s->next_ver;
            build_block(s, s->slots[0].buf, f, b, s->blocks[f][b].ver);
            tio_task t;
            memset(&t, 0, sizeof t);
            rc = tio_write(s->loop, &t, s->files[f], s->slots[0].buf, s->rec, (uint64_t)b * s->rec,
                           plain_cb);
            if (rc != 0 || wait_one(s, &t) != (int64_t)s->rec) {
                fprintf(stderr, "soak[%s]: initial write failed\n", backend);
                return 1;
            }
        }
    }

    long rss_start = rss_bytes();
    int64_t t0 = now_ns();
    for (int i = 0; i < QD; i++)
        start_op(s, &s->slots[i]);
    int64_t last_progress = now_ns();
    long last_completed = 0;
    while (tio_pending(s->loop) > 0) {
        rc = tio_run(s->loop, 1000000);
        if (rc < 0) {
            fail(s, "tio_run: %s", tio_strerror(rc));
            break;
        }
        feed_pipes(s);
        if (s->failed)
            s->stop_submitting = 1;
        if (s->completed != last_completed) {
            last_completed = s->completed;
            last_progress = now_ns();
        } else if (now_ns() - last_progress > INT64_C(30000000000)) {
            fail(s, "no completion for 30 s (%u pending)", tio_pending(s->loop));
            break;
        }
    }
    int64_t t1 = now_ns();
    s->rss_last = rss_bytes();
    if (s->failed == 0) {
        if (s->accepted != s->callbacks)
            fail(s, "%ld calls accepted, %ld callbacks", s->accepted, s->callbacks);
        for (int i = 0; i < QD; i++)
            if (s->slots[i].busy)
                fail(s, "slot %d still busy after the drain", i);
        verify_all(s, s->slots[0].buf);
    }
    double secs = (double)(t1 - t0) / 1e9;
    char workers[64] = "";
    if (strcmp(backend, "threads") == 0)
        snprintf(workers, sizeof workers, ", %u workers", threads);
    printf("soak[%s]: %ld ops in %.1f s = %.0f ops/s (queue depth %d%s; %s direct file + a "
           "buffered file, %zu-byte blocks)\n",
           backend, s->completed, secs, (double)s->completed / secs, QD, workers,
           direct ? "a" : "NO (O_DIRECT refused)", s->rec);
    printf("soak[%s]:   mix: read %ld, write %ld, fsync %ld, sleep %ld, pipe read %ld; "
           "%ld deadlines (%ld fired), %ld cancels (%ld reported TIO_ECANCELED), %ld "
           "cancel_file; %ld blocks verified on read, %ld cancelled writes settled as landed, "
           "%ld pipe bytes checked\n",
           backend, s->by_op[OP_READ], s->by_op[OP_WRITE], s->by_op[OP_FSYNC], s->by_op[OP_SLEEP],
           s->by_op[OP_PIPE], s->deadlines, s->timed_out, s->cancels_asked, s->canceled,
           s->cancel_files, s->blocks_verified, s->resolved_alt, s->pipe_bytes);
    long growth = s->rss_last - s->rss_first;
    printf("soak[%s]:   RSS: %.2f MiB at start, %.2f MiB after the first %ld ops, %.2f MiB after "
           "the last %ld (max %.2f MiB over them): %+ld KiB\n",
           backend, rss_start / 1048576.0, s->rss_first / 1048576.0, s->first_mark,
           s->rss_last / 1048576.0, s->first_mark, s->rss_max_last / 1048576.0, growth / 1024);
    if (s->rss_first <= 0 || s->rss_last <= 0) {
        fail(s, "could not read /proc/self/statm");
    } else if (growth > RSS_TOLERANCE) {
        if (SOAK_SANITIZED)
            printf("soak[%s]:   NOTE: RSS grew %ld KiB, not judged under a sanitizer\n", backend,
                   growth / 1024);
        else
            fail(s,
                 "RSS grew by %ld KiB between the first and the last %ld operations "
                 "(tolerance %d KiB)",
                 growth / 1024, s->first_mark, RSS_TOLERANCE / 1024);
    }
    if (tio_pending(s->loop) != 0)
        fail(s, "tio_pending %u at the end", tio_pending(s->loop));

    for (int f = 0; f < NFILES; f++) {
        tio_file_close(s->files[f]);
        unlink(s->paths[f]);
    }
    for (int p = 0; p < NPIPES; p++)
        tio_file_close(s->pipes[p]);
    tio_loop_destroy(s->loop);
    for (int p = 0; p < NPIPES; p++) {
        close(s->pipe_fds[p][0]);
        close(s->pipe_fds[p][1]);
    }
    for (int i = 0; i < QD; i++)
        tio_free(s->slots[i].buf);
    int failed = s->failed;
    printf("soak[%s]: %s\n", backend, failed ? "FAILED" : "passed");
    fflush(stdout);
    free(s);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    long ops = 1000000;
    uint64_t seed = 0;
    int have_seed = 0;
    unsigned threads = 16;
    const char *backends[8];
    int nb = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            ops = atol(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
            have_seed = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc && nb < 8)
            backends[nb++] = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--ops N] [--backend NAME]... [--seed S] [--threads W]\n",
                    argv[0]);
            return 2;
        }
    }
    if (ops < 10 * QD) {
        fprintf(stderr, "soak: --ops must be at least %d\n", 10 * QD);
        return 2;
    }
    if (nb == 0) {
        backends[nb++] = "io_uring";
        backends[nb++] = "threads";
    }
    if (!have_seed)
        seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    const char *dir = test_dir();
    signal(SIGPIPE, SIG_IGN);
    printf("soak: %ld operations per backend, seed %" PRIu64 ", threads backend with %u workers, "
           "scratch dir %s\n",
           ops, seed, threads, dir);
    fflush(stdout);
    int ran = 0, failed = 0;
    for (int i = 0; i < nb; i++) {
        int rc = run_backend(backends[i], ops, seed + (uint64_t)i, threads, dir);
        if (rc == 77)
            continue;
        ran++;
        if (rc != 0)
            failed++;
    }
    if (ran == 0) {
        printf("SKIP: no backend could be created\n");
        return 77;
    }
    return failed ? 1 : 0;
}
