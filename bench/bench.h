/* SPDX-License-Identifier: MIT */
/*
 * The tio-bench harness, shared by every engine (taskio, liburing, libuv,
 * pread): options, the offset generator, the latency histogram, the
 * measurement window (warm-up, CPU time, heap allocations) and reporting.
 *
 * An engine only moves bytes. It opens cfg->path with b->open_flags (or its
 * own equivalent), takes buffers from b->bufs, then:
 *
 *   uint64_t now = bench_begin(b);
 *   while (bench_next(b, &io)) ...submit io.offset / io.write, start = now...
 *   on each completion: now = bench_complete(b, start, result);
 *                       then, if bench_next(b, &io), resubmit with start = now
 *   run until nothing is in flight.
 *
 * The harness decides when the warm-up ends and the measured window starts
 * and stops (by time or by operation count): engines see only bench_next
 * returning false. Every engine thus draws the same offsets from the same
 * seeded generator, reads the clock once per operation and records its
 * latency the same way.
 */
#ifndef TIO_BENCH_H
#define TIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define NS_PER_S UINT64_C(1000000000)

enum bench_rw { RW_RANDREAD, RW_RANDWRITE, RW_READ, RW_WRITE, RW_RANDRW, RW_APPEND };

struct bench_config {
    const char *engine;  /* "taskio", "liburing", "libuv", "pread" */
    const char *backend; /* taskio backend; NULL: the demo's list or the default */
    enum bench_rw rw;
    size_t bs;
    unsigned qd;
    uint64_t size;       /* scratch file size */
    uint64_t ops;        /* measured operations; 0: run for `seconds` */
    double seconds;      /* measured window when ops == 0 */
    double warmup_s;     /* warm-up before the window (time mode) */
    uint64_t warmup_ops; /* warm-up before the window (ops mode) */
    bool warmup_ops_set;
    bool direct;
    bool dsync;
    const char *path;
    unsigned threads;   /* taskio threads workers / UV_THREADPOOL_SIZE; 0: default */
    unsigned rwmixread; /* randrw: percentage of reads */
    uint64_t seed;
    bool fixed;             /* liburing: registered file and fixed buffers */
    unsigned uring_setup;   /* liburing: 0 DEFER_TASKRUN, 1 COOP_TASKRUN, 3 no flags */
    bool uring_submit_each; /* liburing: one io_uring_submit per new SQE */
    unsigned submit_batch;  /* taskio: tio_loop_config.submit_batch */
    bool sync;              /* taskio, QD 1: start, then tio_wait, one at a time */
    unsigned jobs;          /* independent runs on as many threads, each over its own
                               part of the file (1: one run on the calling thread) */
    bool json;
    bool quiet; /* no text result line (JSON only) */
};

/* One operation to issue. */
struct bench_io {
    uint64_t offset;
    bool write;
};

/* What the engine says about itself, for the report. */
struct bench_engine_info {
    const char *backend; /* "io_uring", "threads", "threadpool", "sync" */
    unsigned workers;    /* worker threads (threads backend, libuv pool); 0: none */
    const char *note;    /* e.g. ring flags; NULL */
};

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_SHIFT 36 /* values up to ~2^43 ns (2.4 h) */
#define BENCH_HIST_BUCKETS ((BENCH_HIST_MAX_SHIFT + 2) * BENCH_HIST_SUB)

/* Log-linear latency histogram in nanoseconds: exact below 128 ns, then 64
 * sub-buckets per power of two (relative error < 1.6%). Fixed size, no
 * allocation when recording. */
struct bench_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t buckets[BENCH_HIST_BUCKETS];
};

struct bench_snapshot {
    uint64_t t_ns;
    uint64_t user_ns, sys_ns;
    uint64_t allocs, frees;
    uint64_t ops;
    uint64_t waits;
};

struct bench {
    const struct bench_config *cfg;
    struct bench_engine_info info;
    char note_buf[128]; /* for info.note: per run, so that jobs on threads may fill it */
    /* Set up by the harness for the engine. */
    int open_flags;      /* O_RDONLY/O_WRONLY/O_RDWR | O_DIRECT | O_DSYNC */
    bool direct_ok;      /* O_DIRECT accepted by the filesystem */
    unsigned char *bufs; /* qd * bs bytes, page aligned (tio_alloc) */
    size_t buf_align;
    bool has_reads, has_writes;
    /* Generator. */
    uint64_t rng;
    uint64_t first_block; /* this run's part of the file: nblocks blocks from here */
    uint64_t nblocks;
    uint64_t seq_next;         /* read/write/append: next block, relative to first_block */
    int append_fd;             /* append: the harness's descriptor, to empty the file on wrap */
    struct bench_start *start; /* jobs: every run's clock starts together; NULL */
    bool begun;
    /* Progress of the run. */
    uint64_t issued, completed;
    uint64_t stop_issue_at;              /* ops mode: no more issues after this many */
    uint64_t t0_ns, warm_end_ns, end_ns; /* time mode deadlines */
    bool in_window, window_done, stop, failed;
    struct bench_snapshot w0, w1;
    struct bench_hist hist;
    uint64_t errors;
    uint64_t waits; /* engine: +1 per wait for completions (enter, tio_run) */
    /* Progress line. */
    bool tty;
    uint64_t next_progress_ns, last_progress_ns, last_progress_ops;
};

/* The harness calls an engine's run once per measurement. It returns 0, or
 * -1 after printing why (setup failure, I/O error). */
struct bench_engine {
    const char *name;
    int (*run)(struct bench *b);
    const char *missing; /* why it is not compiled in; NULL when available */
};

extern const struct bench_engine bench_engine_taskio;
extern const struct bench_engine bench_engine_liburing;
extern const struct bench_engine bench_engine_libuv;
extern const struct bench_engine bench_engine_pread;

uint64_t bench_now(void);
/* Start the clock (and, with no warm-up, the window). Returns now. With
 * --jobs, waits there until every job is ready. */
uint64_t bench_begin(struct bench *b);
/* The next operation to issue, or false when issuing has stopped. */
bool bench_next(struct bench *b, struct bench_io *io);
/* Record one completion started at start_ns with its result (bytes, or a
 * negative error); returns the current time, to be used as the start time
 * of the operation issued next. A result other than bs stops the run. */
uint64_t bench_complete(struct bench *b, uint64_t start_ns, int64_t result);
/* An engine's fatal error: stops issuing, marks the run failed. */
void bench_fail(struct bench *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* alloc_count.c: heap calls made by the whole process so far (every thread),
 * counted by interposing malloc and friends. false where not available. */
bool bench_alloc_counts(uint64_t *allocs, uint64_t *frees);

/* xorshift64 (Marsaglia 2003): state must be non-zero. */
static inline uint64_t bench_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif /* TIO_BENCH_H */
