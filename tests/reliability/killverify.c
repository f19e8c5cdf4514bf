/* SPDX-License-Identifier: MIT */
/*
 * killverify.c: no acknowledged write is lost when the process dies.
 *
 *     tio-killverify BACKEND [ROUNDS] [--seed N]
 *
 * Issue 5 item 5. Each round forks a writer. The writer opens a fresh file
 * TIO_DIRECT|TIO_DSYNC|TIO_CREATE|TIO_RDWR and appends checksummed records
 * (one per alignment-sized block, 4 KiB normally) at increasing offsets with
 * 16 writes in flight, and reports a record's sequence number over a pipe
 * only after its callback reported the full length: that is the
 * acknowledgement an engine's WAL relies on. The parent SIGKILLs it at a
 * random moment (5-200 ms after it is ready), reopens the file and checks:
 *
 *   - every acknowledged record is there and intact (semantics 10: with
 *     TIO_DSYNC a write's callback means the data is durable; a process
 *     crash must not lose it);
 *   - every block of the file is either a valid record carrying the right
 *     sequence and round for its offset (written but maybe not yet
 *     acknowledged), or not a record at all (zeros, or no valid header):
 *     never a valid header with a wrong payload (a torn record that looks
 *     valid), a record at the wrong offset, or one from another round.
 *
 * This proves taskio loses no acknowledged write across a process crash.
 * Power loss is the device's promise under O_DSYNC, not tested here.
 *
 * Scratch directory: $TIO_TEST_DIR (default "."). Exit 77 (a visible skip)
 * when the backend is unavailable or the directory refuses O_DIRECT.
 * Plain C, no Check: the forked writer must die by SIGKILL, not by a harness.
 *
 * --self-test: additionally corrupt one verified file three ways and check
 * that each corruption is reported (the checker can fail).
 */
#include <taskio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tio_util.h" /* now_ns, xorshift, fnv64, all_bytes, test_dir, probes */

#define IN_FLIGHT 16
#define MAX_RECORDS 65536u /* 256 MiB of 4 KiB records, less where the filesystem is smaller */
#define REC_MAGIC UINT64_C(0x6b696c6c76657269) /* "killveri" */
#define MSG_READY UINT64_MAX

static const char *g_backend;
static const char *g_dir = ".";
static int g_quiet; /* the self-test's deliberate corruptions are not news */

#define REPORT(...)                 \
  do {                              \
    if (!g_quiet)                   \
      fprintf(stderr, __VA_ARGS__); \
  } while (0)

/* ---------------------------------------------------------------- records */

typedef struct rec_hdr {
    uint64_t magic;
    uint64_t seq;         /* == offset / record size */
    uint64_t round;       /* round id: a stale file cannot pass */
    uint64_t payload_sum; /* fnv64 of the payload */
    uint64_t hdr_sum;     /* fnv64 of the fields above */
} rec_hdr;

static void fill_payload(unsigned char *p, size_t len, uint64_t round, uint64_t seq)
{
    uint64_t s = (round * UINT64_C(0x9E3779B97F4A7C15)) ^ (seq + 1) ^ UINT64_C(0x5851F42D4C957F2D);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = xorshift(&s);
        memcpy(p + i, &v, len - i < 8 ? len - i : 8);
    }
}

static void rec_build(unsigned char *b, size_t rec, uint64_t round, uint64_t seq)
{
    rec_hdr h;
    fill_payload(b + sizeof h, rec - sizeof h, round, seq);
    h.magic = REC_MAGIC;
    h.seq = seq;
    h.round = round;
    h.payload_sum = fnv64(b + sizeof h, rec - sizeof h);
    h.hdr_sum = fnv64(&h, offsetof(rec_hdr, hdr_sum));
    memcpy(b, &h, sizeof h);
}

enum rec_class {
    REC_VALID,     /* the record for this slot, intact */
    REC_ZERO,      /* never written (or not persisted): all zero */
    REC_NOT_A_REC, /* no valid header, not zero: allowed, counted */
    REC_TORN,      /* valid header, wrong payload: never allowed */
    REC_MISPLACED, /* valid header, another sequence or round: never allowed */
};

static enum rec_class rec_classify(const unsigned char *b, size_t rec, uint64_t round,
                                   uint64_t slot, unsigned char *scratch)
{
    rec_hdr h;
    memcpy(&h, b, sizeof h);
    if (h.magic != REC_MAGIC || h.hdr_sum != fnv64(&h, offsetof(rec_hdr, hdr_sum)))
        return all_bytes(b, rec, 0) ? REC_ZERO : REC_NOT_A_REC;
    if (h.seq != slot || h.round != round)
        return REC_MISPLACED;
    fill_payload(scratch, rec - sizeof h, round, slot);
    if (h.payload_sum != fnv64(b + sizeof h, rec - sizeof h) ||
        memcmp(scratch, b + sizeof h, rec - sizeof h) != 0)
        return REC_TORN;
    return REC_VALID;
}

/* ---------------------------------------------------------------- helpers */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct writer {
    tio_loop *loop;
    tio_file *f;
    size_t rec;
    uint64_t round;
    uint64_t next_seq;
    uint64_t max_records; /* MAX_RECORDS, or what fits in the filesystem */
    int ack_fd;
    struct slot {
        tio_task task;
        unsigned char *buf;
        uint64_t seq;
    } slots[IN_FLIGHT];
} writer;

static writer g_w;

static void writer_die(const char *what, int64_t rc)
{
    fprintf(stderr, "killverify writer: %s: %s (%" PRId64 ")\n", what,
            rc < 0 ? tio_strerror((int)rc) : "unexpected", rc);
    _exit(3);
}

static void on_written(tio_task *task, int64_t result);

static void writer_start(struct slot *s)
{
    s->seq = g_w.next_seq++;
    rec_build(s->buf, g_w.rec, g_w.round, s->seq);
    int rc = tio_write(g_w.loop, &s->task, g_w.f, s->buf, g_w.rec, s->seq * g_w.rec, on_written);
    if (rc != 0)
        writer_die("tio_write", rc);
}

static void on_written(tio_task *task, int64_t result)
{
    struct slot *s = task->data;
    if (result != (int64_t)g_w.rec) {
        fprintf(stderr,
                "killverify writer: record %" PRIu64 ": result %" PRId64 " (%s, os error %d)\n",
                s->seq, result, tio_strerror((int)result), tio_os_error(task));
        _exit(3);
    }
    /* The acknowledgement: only now may the record be relied on. */
    uint64_t seq = s->seq;
    if (write_all(g_w.ack_fd, &seq, sizeof seq) != 0)
        _exit(4);
    if (g_w.next_seq < g_w.max_records)
        writer_start(s);
}

static void writer_main(const char *path, int ack_fd, uint64_t round)
{
    memset(&g_w, 0, sizeof g_w);
    g_w.ack_fd = ack_fd;
    g_w.round = round;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    cfg.queue_depth = IN_FLIGHT;
    int rc = tio_loop_create(&g_w.loop, &cfg);
    if (rc != 0)
        writer_die("tio_loop_create", rc);
    rc = tio_file_open(g_w.loop, &g_w.f, path, TIO_DIRECT | TIO_DSYNC | TIO_CREATE | TIO_RDWR,
                       0644);
    if (rc != 0)
        writer_die(tio_last_error(g_w.loop), rc);
    size_t align = tio_file_align(g_w.f);
    g_w.rec = align > 4096 ? align : 4096;
    /* No more than three quarters of the filesystem's free space: a small
     * one (the 64 MiB tmpfs of tests/fs) takes DSYNC writes at memory
     * speed and would fill up before the kill, failing the round with
     * ENOSPC instead of testing it. */
    g_w.max_records = MAX_RECORDS;
    struct statvfs sv;
    if (fstatvfs(tio_file_handle(g_w.f), &sv) == 0) {
        uint64_t fit = (uint64_t)sv.f_bavail * sv.f_frsize / 4 * 3 / g_w.rec;
        if (fit < g_w.max_records)
            g_w.max_records = fit > IN_FLIGHT ? fit : IN_FLIGHT;
    }
    for (int i = 0; i < IN_FLIGHT; i++) {
        g_w.slots[i].buf = tio_alloc(g_w.rec, align);
        if (g_w.slots[i].buf == NULL)
            writer_die("tio_alloc", TIO_ENOMEM);
        g_w.slots[i].task.data = &g_w.slots[i];
    }
    uint64_t ready = MSG_READY;
    if (write_all(ack_fd, &ready, sizeof ready) != 0)
        _exit(4);
    for (int i = 0; i < IN_FLIGHT; i++)
        writer_start(&g_w.slots[i]);
    for (;;) {
        if (tio_pending(g_w.loop) == 0) {
            pause(); /* max_records written: wait for the kill */
            continue;
        }
        rc = tio_run(g_w.loop, TIO_FOREVER);
        if (rc < 0)
            writer_die("tio_run", rc);
    }
}

/* ---------------------------------------------------------------- parent */

typedef struct totals {
    uint64_t acked, valid_unacked, zero, not_a_rec, beyond_eof_unacked;
    uint64_t min_acked, max_acked;
    int failures;
} totals;

/* Read everything the writer sent until `deadline_ns` (or EOF if < 0). */
static int collect(int fd, unsigned char *acked, uint64_t *nacked, int64_t deadline_ns, int *eof)
{
    static unsigned char pend[8];
    static size_t npend;
    for (;;) {
        int timeout_ms = -1;
        if (deadline_ns >= 0) {
            int64_t left = deadline_ns - now_ns();
            if (left <= 0)
                return 0;
            timeout_ms = (int)((left + 999999) / 1000000);
        }
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            continue;
        unsigned char buf[4096];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            *eof = 1;
            npend = 0;
            return 0;
        }
        for (ssize_t i = 0; i < r; i++) {
            pend[npend++] = buf[i];
            if (npend == 8) {
                uint64_t seq;
                memcpy(&seq, pend, 8);
                npend = 0;
                if (seq == MSG_READY)
                    continue;
                if (seq >= MAX_RECORDS) {
                    fprintf(stderr, "killverify: bogus acknowledgement %" PRIu64 "\n", seq);
                    return -1;
                }
                if (acked[seq]) {
                    fprintf(stderr,
                            "killverify: record %" PRIu64 " acknowledged twice "
                            "(two callbacks for one write?)\n",
                            seq);
                    return -1;
                }
                acked[seq] = 1;
                (*nacked)++;
            }
        }
    }
}

/* Wait for the writer's READY (8 bytes): 0, or -1 when it died first. */
static int wait_ready(int fd)
{
    uint64_t v = 0;
    size_t got = 0;
    int64_t deadline = now_ns() + INT64_C(10000000000);
    while (got < sizeof v) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)((deadline - now_ns()) / 1000000);
        if (left <= 0)
            return -1;
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        ssize_t r = read(fd, (char *)&v + got, sizeof v - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return v == MSG_READY ? 0 : -1;
}

static const char *class_name(enum rec_class c)
{
    switch (c) {
    case REC_VALID: return "valid";
    case REC_ZERO: return "zero";
    case REC_NOT_A_REC: return "not a record";
    case REC_TORN: return "TORN (valid header, wrong payload)";
    case REC_MISPLACED: return "MISPLACED (valid record of another offset or round)";
    }
    return "?";
}

/* Check the file a killed writer left. Returns the number of violations. */
static int verify(const char *path, size_t rec, uint64_t round, const unsigned char *acked,
                  uint64_t nacked, totals *t, uint64_t *valid_hi)
{
    int bad = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (nacked == 0 && errno == ENOENT)
            return 0; /* killed before the open: nothing was promised */
        REPORT("killverify: reopen %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 1;
    }
    uint64_t nslots = ((uint64_t)st.st_size + rec - 1) / rec;
    unsigned char *buf = malloc(rec), *scratch = malloc(rec);
    if (!buf || !scratch) {
        close(fd);
        free(buf);
        free(scratch);
        return 1;
    }
    uint64_t hi = 0;
    for (uint64_t i = 0; i < nslots; i++) {
        memset(buf, 0, rec); /* a short last block reads as zero-padded */
        ssize_t r = pread(fd, buf, rec, (off_t)(i * rec));
        if (r < 0) {
            REPORT("killverify: pread %s at %" PRIu64 ": %s\n", path, i * rec, strerror(errno));
            bad++;
            break;
        }
        enum rec_class c = rec_classify(buf, rec, round, i, scratch);
        int is_acked = i < MAX_RECORDS && acked[i];
        if (c == REC_TORN || c == REC_MISPLACED) {
            REPORT("killverify: %s: record slot %" PRIu64 " (%s): %s\n", path, i,
                   is_acked ? "acknowledged" : "not acknowledged", class_name(c));
            bad++;
        } else if (is_acked && c != REC_VALID) {
            REPORT("killverify: %s: ACKNOWLEDGED record %" PRIu64 " LOST: %s\n", path, i,
                   class_name(c));
            bad++;
        } else if (c == REC_VALID) {
            hi = i + 1;
            if (!is_acked)
                t->valid_unacked++;
        } else if (c == REC_ZERO) {
            t->zero++;
        } else {
            t->not_a_rec++;
        }
    }
    /* Acknowledged records beyond the end of the file were lost too. */
    for (uint64_t i = nslots; i < MAX_RECORDS; i++) {
        if (acked[i]) {
            REPORT("killverify: %s: ACKNOWLEDGED record %" PRIu64 " LOST: beyond the "
                   "end of the file (%lld bytes)\n",
                   path, i, (long long)st.st_size);
            bad++;
        }
    }
    *valid_hi = hi;
    free(buf);
    free(scratch);
    close(fd);
    return bad;
}

/* 0: the backend runs and g_dir takes TIO_DIRECT|TIO_DSYNC, *rec_out the
 * record size (the alignment, at least 4 KiB); 77: skip; 1: failure. */
static int probe(size_t *rec_out)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *loop = NULL;
    int rc = create_loop_or_skip(&loop, &cfg, "killverify");
    if (rc != 0)
        return rc;
    size_t a = 0;
    rc = probe_direct(loop, g_dir, TIO_DSYNC, &a, "tio-kv");
    tio_loop_destroy(loop);
    *rec_out = a > 4096 ? a : 4096;
    return rc;
}

/* Prove the checker sees what it must: corrupt a verified file three ways
 * (a payload byte of an acknowledged record, an acknowledged record zeroed,
 * an acknowledged record copied to another slot); each must be reported,
 * and the restored file must pass again. Returns 0 when all hold. */
static int self_test(const char *path, size_t rec, uint64_t round, const unsigned char *acked,
                     uint64_t nacked)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (uint64_t i = 0; i < MAX_RECORDS; i++)
        if (acked[i]) {
            if (first == UINT64_MAX)
                first = i;
            last = i;
        }
    if (nacked < 2 || first == last)
        return -1; /* not enough to work with: the caller tries another round */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 1;
    unsigned char *a = malloc(rec), *b = malloc(rec), *z = calloc(1, rec);
    int bad = 0;
    totals t;
    uint64_t hi;
    if (!a || !b || !z || pread(fd, a, rec, (off_t)(first * rec)) != (ssize_t)rec ||
        pread(fd, b, rec, (off_t)(last * rec)) != (ssize_t)rec) {
        bad = 1;
        goto out;
    }
    static const char *const what[3] = {"a flipped payload byte", "a zeroed record",
                                        "a record copied to another offset"};
    for (int k = 0; k < 3; k++) {
        int w = 0;
        if (k == 0) {
            unsigned char c = a[rec / 2] ^ 0x40;
            w = pwrite(fd, &c, 1, (off_t)(first * rec + rec / 2)) == 1;
        } else if (k == 1) {
            w = pwrite(fd, z, rec, (off_t)(last * rec)) == (ssize_t)rec;
        } else {
            w = pwrite(fd, a, rec, (off_t)(last * rec)) == (ssize_t)rec;
        }
        g_quiet = 1;
        memset(&t, 0, sizeof t);
        int found = verify(path, rec, round, acked, nacked, &t, &hi);
        g_quiet = 0;
        printf("kill_verify self-test: %s is %s\n", what[k], found ? "detected" : "NOT detected");
        if (!w || !found)
            bad++;
        if (pwrite(fd, a, rec, (off_t)(first * rec)) != (ssize_t)rec ||
            pwrite(fd, b, rec, (off_t)(last * rec)) != (ssize_t)rec)
            bad++;
    }
    memset(&t, 0, sizeof t);
    if (verify(path, rec, round, acked, nacked, &t, &hi) != 0) {
        printf("kill_verify self-test: the restored file does not pass\n");
        bad++;
    }
out:
    free(a);
    free(b);
    free(z);
    close(fd);
    return bad;
}

int main(int argc, char **argv)
{
    int rounds = 50;
    uint64_t seed = 0;
    int have_seed = 0;
    int selftest = 0, selftest_done = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--self-test") == 0) {
            selftest = 1;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
            have_seed = 1;
        } else if (g_backend == NULL) {
            g_backend = argv[i];
        } else {
            rounds = atoi(argv[i]);
        }
    }
    if (g_backend == NULL || rounds <= 0) {
        fprintf(stderr, "usage: %s io_uring|threads [ROUNDS] [--seed N] [--self-test]\n", argv[0]);
        return 2;
    }
    g_dir = test_dir();
    if (!have_seed)
        seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    signal(SIGPIPE, SIG_IGN);

    size_t rec = 0;
    int rc = probe(&rec);
    if (rc != 0)
        return rc;
    printf("kill_verify[%s]: %d rounds, seed %" PRIu64 ", %zu-byte records, %d in flight, "
           "TIO_DIRECT|TIO_DSYNC, scratch dir %s\n",
           g_backend, rounds, seed, rec, IN_FLIGHT, g_dir);
    fflush(stdout);

    unsigned char *acked = malloc(MAX_RECORDS);
    if (!acked)
        return 1;
    totals t;
    memset(&t, 0, sizeof t);
    t.min_acked = UINT64_MAX;
    uint64_t rng = seed;
    int64_t t0 = now_ns();
    int64_t kill_ms_sum = 0;
    for (int r = 0; r < rounds; r++) {
        uint64_t round_id = xorshift(&rng);
        int delay_ms = 5 + (int)(xorshift(&rng) % 196);
        kill_ms_sum += delay_ms;
        char path[4096];
        snprintf(path, sizeof path, "%s/tio-kv-%ld-%d.dat", g_dir, (long)getpid(), r);
        unlink(path);
        memset(acked, 0, MAX_RECORDS);
        uint64_t nacked = 0;

        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            perror("pipe2");
            return 1;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            close(p[0]);
            writer_main(path, p[1], round_id);
            _exit(5);
        }
        close(p[1]);
        int eof = 0, fail = 0;
        if (wait_ready(p[0]) != 0) {
            fprintf(stderr, "killverify: round %d: the writer did not get ready\n", r);
            fail = 1;
        } else if (collect(p[0], acked, &nacked, now_ns() + (int64_t)delay_ms * 1000000, &eof) !=
                   0) {
            fail = 1;
        }
        kill(pid, SIGKILL);
        /* Everything it acknowledged before dying is in the pipe. */
        if (!eof && collect(p[0], acked, &nacked, -1, &eof) != 0)
            fail = 1;
        close(p[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fprintf(stderr,
                    "killverify: round %d: the writer ended on its own (status %#x: %s "
                    "%d) before the kill\n",
                    r, status, WIFEXITED(status) ? "exit" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            fail = 1;
        }
        uint64_t hi = 0;
        int bad = verify(path, rec, round_id, acked, nacked, &t, &hi);
        if (selftest && !selftest_done && !bad && !fail) {
            int st = self_test(path, rec, round_id, acked, nacked);
            if (st == 0)
                selftest_done = 1;
            else if (st > 0)
                bad += st;
        }
        if (bad || fail) {
            fprintf(stderr,
                    "killverify: round %d (round id %" PRIu64 ", kill after %d ms, %" PRIu64
                    " acknowledged, %" PRIu64 " valid records): FAILED, file kept: %s\n",
                    r, round_id, delay_ms, nacked, hi, path);
            t.failures++;
        } else {
            unlink(path);
        }
        t.acked += nacked;
        if (nacked < t.min_acked)
            t.min_acked = nacked;
        if (nacked > t.max_acked)
            t.max_acked = nacked;
        if (getenv("TIO_KV_VERBOSE"))
            printf("round %d: kill after %d ms, %" PRIu64 " acknowledged, %" PRIu64
                   " slots hold valid records\n",
                   r, delay_ms, nacked, hi);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("kill_verify[%s]: %d rounds in %.1f s (mean kill delay %.0f ms): %" PRIu64
           " records acknowledged (per round min %" PRIu64 ", mean %.0f, max %" PRIu64
           ")%s; %" PRIu64 " more valid but not yet acknowledged, %" PRIu64 " zero blocks, %" PRIu64
           " blocks without a valid header; %d failed round(s)\n",
           g_backend, rounds, secs, (double)kill_ms_sum / rounds, t.acked, t.min_acked,
           (double)t.acked / rounds, t.max_acked, t.failures ? "" : ", all intact", t.valid_unacked,
           t.zero, t.not_a_rec, t.failures);
    free(acked);
    if (selftest && !selftest_done) {
        printf("kill_verify self-test: no round acknowledged two records; not run\n");
        return 1;
    }
    return t.failures ? 1 : 0;
}
