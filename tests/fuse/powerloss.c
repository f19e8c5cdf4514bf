// SPDX-License-Identifier: MIT
/*
 * Acknowledged records across simulated power cuts, on a tio-faultfs mount
 * with --direct-io --lazy (run under fusemount.sh):
 *
 *   tio-fuse-powerloss BACKEND dsync|fsync|none ROUNDS
 *
 * Each round forks a writer that appends checksummed 4 KiB records through
 * taskio, eight at a time, and acknowledges each to the parent over a pipe:
 *   dsync  the file is TIO_DSYNC; a record is acknowledged by its callback;
 *   fsync  plain writes, then tio_fsync(TIO_FSYNC_DATA); the eight records
 *          are acknowledged by the fsync's callback;
 *   none   plain writes, acknowledged by their callbacks (no durability asked).
 * The parent kills the writer with SIGKILL at a random moment once it has
 * acknowledged some records, tells tio-faultfs to crash (every write not
 * made durable is discarded), and reads the file back:
 *   - dsync, fsync: every acknowledged record is there and intact;
 *   - every mode: no block holds a valid header with a wrong payload or a
 *     record of another slot or round;
 *   - none: the negative control. Acknowledged records must have been lost
 *     (at least one round lost some); if none were, the crash did not
 *     discard anything and the two checks above prove nothing.
 * Prints the crashes simulated and the records verified. Exit 77 where the
 * backend is unavailable.
 */
#define _GNU_SOURCE
#include <taskio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REC 4096
#define BATCH 8
#define MAX_RECORDS 4096u
#define MAGIC UINT64_C(0x706f7765726c6f73) /* "powerlos" */

enum mode { M_DSYNC, M_FSYNC, M_NONE };
static enum mode g_mode;
static const char *g_backend, *g_dir;

/* ---------------------------------------------------------------- records */

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    while (n--)
        h = (h ^ *p++) * UINT64_C(0x100000001b3);
    return h;
}

/* magic, seq, round, checksum of the rest; then a payload from (round, seq). */
static void rec_build(unsigned char *b, uint64_t round, uint64_t seq)
{
    uint64_t x = round * UINT64_C(0x9E3779B97F4A7C15) + seq + 1;
    for (size_t i = 32; i < REC; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    uint64_t h[4] = {MAGIC, seq, round, fnv(b + 32, REC - 32)};
    memcpy(b, h, sizeof h);
}

enum rec_class { R_VALID, R_ABSENT, R_BAD };

static enum rec_class rec_check(const unsigned char *b, uint64_t round, uint64_t slot)
{
    uint64_t h[4];
    memcpy(h, b, sizeof h);
    if (h[0] != MAGIC)
        return R_ABSENT; /* zeros, or never a record */
    unsigned char want[REC];
    rec_build(want, round, slot);
    return memcmp(want, b, REC) == 0 ? R_VALID : R_BAD;
}

/* ---------------------------------------------------------------- writer */

static int write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p = (const char *)p + k, n -= (size_t)k;
    }
    return 0;
}

static void on_done(tio_task *t, int64_t r)
{
    *(int64_t *)t->data = r;
}

static void writer(const char *path, uint64_t round, int ack)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *loop;
    tio_file *f;
    unsigned flags = TIO_CREATE | TIO_TRUNCATE | TIO_RDWR | TIO_DIRECT_TRY;
    if (g_mode == M_DSYNC)
        flags |= TIO_DSYNC;
    if (tio_loop_create(&loop, &cfg) != 0 || tio_file_open(loop, &f, path, flags, 0600) != 0)
        _exit(3);
    unsigned char *bufs = tio_alloc((size_t)BATCH * REC, 0);
    tio_task tasks[BATCH], sync;
    int64_t res[BATCH + 1];
    for (uint64_t seq = 0; seq + BATCH <= MAX_RECORDS; seq += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            memset(&tasks[i], 0, sizeof tasks[i]);
            tasks[i].data = &res[i];
            rec_build(bufs + (size_t)i * REC, round, seq + (uint64_t)i);
            if (tio_write(loop, &tasks[i], f, bufs + (size_t)i * REC, REC,
                          (seq + (uint64_t)i) * REC, on_done) != 0)
                _exit(3);
        }
        tio_drain(loop);
        for (int i = 0; i < BATCH; i++)
            if (res[i] != REC)
                _exit(3);
        if (g_mode == M_FSYNC) {
            memset(&sync, 0, sizeof sync);
            sync.data = &res[BATCH];
            if (tio_fsync(loop, &sync, f, TIO_FSYNC_DATA, on_done) != 0)
                _exit(3);
            tio_drain(loop);
            if (res[BATCH] != 0)
                _exit(3);
        }
        /* Only now may these records be relied on. */
        for (int i = 0; i < BATCH; i++) {
            uint64_t s = seq + (uint64_t)i;
            if (write_all(ack, &s, sizeof s) != 0)
                _exit(4);
        }
    }
    pause(); /* all written: wait for the kill */
    _exit(5);
}

/* ---------------------------------------------------------------- parent */

static void ctl(const char *cmd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.faultfs", g_dir);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
        fprintf(stderr, "powerloss: control %s: %s\n", cmd, strerror(errno));
        exit(1);
    }
    close(fd);
}

static long long counter(const char *name)
{
    char path[4096], text[2048];
    snprintf(path, sizeof path, "%s/.faultfs", g_dir);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    char *p = strstr(text, name);
    return p != NULL ? atoll(p + strlen(name) + 1) : -1;
}

/* Read acknowledgements until `min` arrived and then until `deadline_ms`
 * passed (or the pipe closed). */
static uint64_t collect(int fd, unsigned char *acked, uint64_t min, int64_t extra_ms)
{
    uint64_t n = 0, s;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t deadline = -1;
    for (;;) {
        int timeout = -1;
        if (n >= min) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (deadline < 0)
                deadline = ms + extra_ms;
            if (ms >= deadline)
                return n;
            timeout = (int)(deadline - ms);
        }
        struct pollfd p = {fd, POLLIN, 0};
        int k = poll(&p, 1, timeout < 0 ? 10000 : timeout);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 && timeout < 0)
            return n; /* the writer stalled */
        if (k <= 0)
            continue;
        ssize_t r = read(fd, &s, sizeof s);
        if (r != (ssize_t)sizeof s)
            return n;
        if (s < MAX_RECORDS && !acked[s]) {
            acked[s] = 1;
            n++;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BACKEND dsync|fsync|none ROUNDS\n", argv[0]);
        return 2;
    }
    g_backend = argv[1];
    g_mode = strcmp(argv[2], "dsync") == 0   ? M_DSYNC
             : strcmp(argv[2], "fsync") == 0 ? M_FSYNC
             : strcmp(argv[2], "none") == 0  ? M_NONE
                                             : (enum mode) - 1;
    int rounds = atoi(argv[3]);
    g_dir = getenv("TIO_TEST_DIR");
    if ((int)g_mode < 0 || rounds <= 0 || g_dir == NULL) {
        fprintf(stderr, "usage: %s BACKEND dsync|fsync|none ROUNDS (TIO_TEST_DIR: the mount)\n",
                argv[0]);
        return 2;
    }
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *probe;
    if (tio_loop_create(&probe, &cfg) != 0) {
        printf("SKIP: backend %s unavailable: %s\n", g_backend, tio_last_error(NULL));
        return 77;
    }
    tio_loop_destroy(probe);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));

    static unsigned char acked[MAX_RECORDS];
    unsigned char block[REC];
    uint64_t total_acked = 0, total_lost = 0, verified = 0, bad = 0;
    long long crashes0 = counter("crashes");
    for (int r = 0; r < rounds; r++) {
        uint64_t round = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ (uint64_t)r;
        char path[4096];
        snprintf(path, sizeof path, "%s/powerloss-%d.dat", g_dir, r);
        memset(acked, 0, sizeof acked);
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return 1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            writer(path, round, p[1]);
        }
        close(p[1]);
        uint64_t n = collect(p[0], acked, 2 * BATCH, rand() % 30);
        kill(pid, SIGKILL);
        n += collect(p[0], acked, UINT64_MAX, 0); /* what it acknowledged before dying */
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            fprintf(stderr, "powerloss: round %d: the writer exited with %d before the kill\n", r,
                    WEXITSTATUS(status));
            return 1;
        }
        ctl("crash\n");

        int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint64_t lost = 0, valid = 0;
        for (uint64_t s = 0; s < MAX_RECORDS; s++) {
            memset(block, 0, REC);
            ssize_t k = fd < 0 ? 0 : pread(fd, block, REC, (off_t)(s * REC));
            enum rec_class c = k == REC ? rec_check(block, round, s) : R_ABSENT;
            if (c == R_BAD) {
                fprintf(stderr, "powerloss: round %d: slot %" PRIu64 " holds a damaged record\n", r,
                        s);
                bad++;
            }
            valid += c == R_VALID;
            if (acked[s] && c != R_VALID)
                lost++;
        }
        if (fd >= 0)
            close(fd);
        unlink(path);
        total_acked += n, total_lost += lost, verified += n - lost;
        printf("round %d: %" PRIu64 " acknowledged, %" PRIu64 " valid after the crash, %" PRIu64
               " acknowledged lost\n",
               r, n, valid, lost);
    }
    long long crashes = counter("crashes") - crashes0;
    printf("powerloss[%s, %s]: %d rounds, %lld crashes simulated, %" PRIu64
           " records acknowledged, %" PRIu64 " verified intact, %" PRIu64 " lost, %" PRIu64
           " damaged\n",
           g_backend, argv[2], rounds, crashes, total_acked, verified, total_lost, bad);
    int fail = bad > 0 || crashes != rounds || total_acked == 0;
    if (g_mode == M_NONE) {
        if (total_lost == 0) {
            fprintf(stderr, "powerloss: negative control: no acknowledged record was lost without "
                            "TIO_DSYNC or tio_fsync: the crash discarded nothing\n");
            fail = 1;
        } else {
            printf("negative control: without TIO_DSYNC or tio_fsync, %" PRIu64
                   " acknowledged records were lost, as they may be\n",
                   total_lost);
        }
    } else if (total_lost > 0) {
        fprintf(stderr, "powerloss: %" PRIu64 " ACKNOWLEDGED records LOST\n", total_lost);
        fail = 1;
    }
    return fail ? 1 : 0;
}
