/* SPDX-License-Identifier: MIT */
/*
 * tio-bench: direct-I/O benchmark of taskio and of its peers, driven by one
 * harness (bench.h) so that every engine runs the same workload on the same
 * file: the same offsets (one seeded generator), the same queue depth, the
 * same clock reads, the same latency histogram and the same accounting.
 *
 *   tio-bench                         the demo: taskio on each backend, 4 KiB
 *                                     direct random reads and O_DSYNC random
 *                                     writes at queue depth 32, ~3 s each
 *   tio-bench --engine E --rw RW ...  one measurement (see --help)
 *
 * Engines: taskio (--backend io_uring|threads), liburing (a hand-written
 * loop: the floor), libuv (uv_fs_read/uv_fs_write on its thread pool), pread
 * (blocking pread/pwrite, queue depth 1). bench/compare.sh runs them all,
 * and fio, interleaved, and prints one table.
 *
 * Each run: open the scratch file (created and preconditioned with
 * sequential 1 MiB writes and an fdatasync unless it has the right size),
 * keep --qd operations in flight, each resubmitted from its completion; a
 * warm-up (--warmup seconds, or --warmup-ops operations), then the measured
 * window (--seconds, or --ops operations), then the operations still in
 * flight are drained outside the window. Over the window it reports IOPS,
 * MiB/s, latency percentiles (submitting call to completion, log-linear
 * histogram), CPU time per operation from getrusage (user and system, all
 * threads of the process, which includes io_uring's io-wq workers), and heap
 * allocations per operation (malloc & co are interposed: alloc_count.c).
 * Under valgrind --tool=callgrind the window is marked: statistics are
 * zeroed when it starts and dumped when it ends (callgrind.out.PID.1).
 *
 * Adding an option: a field in struct bench_config, a row in option_table.
 * Adding an engine: an engine_*.c with a struct bench_engine, a row in
 * engine_table.
 */
#include "bench.h"
#include "taskio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#  if __has_include(<valgrind/callgrind.h>)
#    include <valgrind/callgrind.h>
#    define BENCH_CALLGRIND 1
#  endif
#endif
#ifndef BENCH_CALLGRIND
#  define BENCH_CALLGRIND 0
#  define CALLGRIND_ZERO_STATS ((void)0)
#  define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#ifndef O_DIRECT
#  define O_DIRECT 0 /* not on this OS: runs are buffered */
#endif
#ifndef O_DSYNC
#  define O_DSYNC O_SYNC
#endif

#define PREP_CHUNK_BYTES ((size_t)MIB)
#define MAX_QD 32768u /* io_uring's IORING_MAX_ENTRIES */

static const char *const rw_names[] = {"randread", "randwrite", "read",
                                       "write",    "randrw",    "append"};

/* ================================================================ options */

/* "4096", "4k", "256M", "1g": binary multiples. 0 on success, -1 if invalid. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *s == '-')
        return -1;
    uint64_t mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k':
    case 'K':
        mult = KIB;
        end++;
        break;
    case 'm':
    case 'M':
        mult = MIB;
        end++;
        break;
    case 'g':
    case 'G':
        mult = GIB;
        end++;
        break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'b' || *end == 'B') /* 4KiB, 4kb */
        end += end[0] == 'i' && (end[1] == 'B' || end[1] == 'b') ? 2 : 1;
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -1;
    *out = (uint64_t)v * mult;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int opt_engine(const char *v, struct bench_config *c)
{
    c->engine = v;
    return 0;
}
static int opt_backend(const char *v, struct bench_config *c)
{
    c->backend = v;
    return 0;
}

static int opt_rw(const char *v, struct bench_config *c)
{
    for (size_t i = 0; i < sizeof rw_names / sizeof rw_names[0]; i++) {
        if (strcmp(v, rw_names[i]) == 0) {
            c->rw = (enum bench_rw)i;
            return 0;
        }
    }
    return -1;
}

static int opt_bs(const char *v, struct bench_config *c)
{
    uint64_t bs;
    if (parse_bytes(v, &bs) != 0 || bs == 0 || bs > GIB)
        return -1;
    c->bs = (size_t)bs;
    return 0;
}

static int opt_qd(const char *v, struct bench_config *c)
{
    uint64_t qd;
    if (parse_bytes(v, &qd) != 0 || qd == 0 || qd > MAX_QD)
        return -1;
    c->qd = (unsigned)qd;
    return 0;
}

static int opt_size(const char *v, struct bench_config *c)
{
    return parse_bytes(v, &c->size) == 0 && c->size > 0 ? 0 : -1;
}

static int opt_ops(const char *v, struct bench_config *c)
{
    return parse_bytes(v, &c->ops) == 0 && c->ops > 0 ? 0 : -1;
}

static int opt_seconds(const char *v, struct bench_config *c)
{
    c->ops = 0;
    return parse_double(v, 1e-3, 1e6, &c->seconds);
}

static int opt_warmup(const char *v, struct bench_config *c)
{
    return parse_double(v, 0, 1e6, &c->warmup_s);
}

static int opt_warmup_ops(const char *v, struct bench_config *c)
{
    c->warmup_ops_set = true;
    return parse_bytes(v, &c->warmup_ops);
}

static int opt_file(const char *v, struct bench_config *c)
{
    c->path = v;
    return *v != '\0' ? 0 : -1;
}

static int opt_threads(const char *v, struct bench_config *c)
{
    uint64_t n;
    if (parse_bytes(v, &n) != 0 || n == 0 || n > 1024)
        return -1;
    c->threads = (unsigned)n;
    return 0;
}

static int opt_submit_batch(const char *v, struct bench_config *c)
{
    uint64_t n;
    if (strcmp(v, "run") == 0) {
        c->submit_batch = TIO_SUBMIT_IN_RUN;
        return 0;
    }
    if (parse_bytes(v, &n) != 0 || n > 32768)
        return -1;
    c->submit_batch = (unsigned)n;
    return 0;
}

static int opt_rwmixread(const char *v, struct bench_config *c)
{
    uint64_t n;
    if (parse_bytes(v, &n) != 0 || n > 100)
        return -1;
    c->rwmixread = (unsigned)n;
    return 0;
}

static int opt_jobs(const char *v, struct bench_config *c)
{
    uint64_t n;
    if (parse_bytes(v, &n) != 0 || n == 0 || n > 64)
        return -1;
    c->jobs = (unsigned)n;
    return 0;
}

static int opt_seed(const char *v, struct bench_config *c)
{
    return parse_bytes(v, &c->seed);
}

static int flag_direct(const char *v, struct bench_config *c)
{
    (void)v;
    c->direct = true;
    return 0;
}
static int flag_no_direct(const char *v, struct bench_config *c)
{
    (void)v;
    c->direct = false;
    return 0;
}
static int flag_dsync(const char *v, struct bench_config *c)
{
    (void)v;
    c->dsync = true;
    return 0;
}
static int flag_sync(const char *v, struct bench_config *c)
{
    (void)v;
    c->sync = true;
    return 0;
}
static int flag_fixed(const char *v, struct bench_config *c)
{
    (void)v;
    c->fixed = true;
    return 0;
}
static int opt_uring_setup(const char *v, struct bench_config *c)
{
    if (strcmp(v, "defer") == 0)
        c->uring_setup = 0;
    else if (strcmp(v, "coop") == 0)
        c->uring_setup = 1;
    else if (strcmp(v, "plain") == 0)
        c->uring_setup = 3;
    else
        return -1;
    return 0;
}

static int opt_uring_submit(const char *v, struct bench_config *c)
{
    if (strcmp(v, "batch") != 0 && strcmp(v, "each") != 0)
        return -1;
    c->uring_submit_each = strcmp(v, "each") == 0;
    return 0;
}

static int flag_json(const char *v, struct bench_config *c)
{
    (void)v;
    c->json = true;
    return 0;
}
static int flag_quiet(const char *v, struct bench_config *c)
{
    (void)v;
    c->quiet = true;
    return 0;
}

static bool prepare_only;
static bool rw_given;

static int flag_prepare_only(const char *v, struct bench_config *c)
{
    (void)v;
    (void)c;
    prepare_only = true;
    return 0;
}

static const struct option_def {
    const char *name;
    const char *arg; /* NULL: a flag without a value */
    const char *help;
    int (*parse)(const char *value, struct bench_config *c);
} option_table[] = {
    {"--engine", "NAME", "taskio, liburing, libuv or pread (default: taskio)", opt_engine},
    {"--backend", "NAME",
     "taskio backend: io_uring or threads (default: the demo runs "
     "each; a single run takes the first that initialises)",
     opt_backend},
    {"--rw", "MODE",
     "randread, randwrite, read, write, randrw or append (default: the "
     "demo pair, randread and --dsync randwrite); append writes sequentially "
     "past the end of PATH.append, emptied when the run starts and each time "
     "it reaches --size",
     opt_rw},
    {"--bs", "BYTES", "bytes per operation, k/M suffixes (default: 4k)", opt_bs},
    {"--qd", "N", "operations in flight (default: 32; pread: 1)", opt_qd},
    {"--size", "BYTES", "scratch file size, k/M/G suffixes (default: 256M)", opt_size},
    {"--seconds", "S", "measured window in seconds (default: 3)", opt_seconds},
    {"--ops", "N", "measure exactly N operations instead of a time window", opt_ops},
    {"--warmup", "S", "warm-up seconds before the window (default: 0.5)", opt_warmup},
    {"--warmup-ops", "N", "warm-up operations with --ops (default: N/10, at least 4*qd)",
     opt_warmup_ops},
    {"--direct", NULL, "O_DIRECT (default)", flag_direct},
    {"--no-direct", NULL,
     "buffered I/O through the page cache (the file is read once "
     "beforehand, so reads find it cached)",
     flag_no_direct},
    {"--dsync", NULL, "O_DSYNC: a write completes once durable", flag_dsync},
    {"--file", "PATH",
     "scratch file (default: tio-bench.dat); rewritten if its size "
     "differs from --size",
     opt_file},
    {"--threads", "N",
     "workers of taskio's threads backend and of libuv's pool "
     "(sets UV_THREADPOOL_SIZE; default: 4, or UV_THREADPOOL_SIZE for libuv)",
     opt_threads},
    {"--submit-batch", "N",
     "taskio: tio_loop_config.submit_batch; 0 (default): the adaptive policy, N: "
     "every N starts from the starting call, run: by runs only (TIO_SUBMIT_IN_RUN)",
     opt_submit_batch},
    {"--sync", NULL,
     "taskio, QD 1: start one operation, then tio_wait for it (a "
     "synchronous caller), instead of resubmitting from the callback",
     flag_sync},
    {"--jobs", "N",
     "N independent runs (loops, rings) on N threads, each over its own "
     "1/N of the file, started together; IOPS summed, latencies merged "
     "(taskio, liburing, pread; default: 1)",
     opt_jobs},
    {"--rwmixread", "PCT", "randrw: percentage of reads (default: 50)", opt_rwmixread},
    {"--seed", "N", "offset generator seed (default: 1)", opt_seed},
    {"--fixed", NULL, "liburing: registered file and fixed buffers", flag_fixed},
    {"--uring-setup", "MODE",
     "liburing ring flags: defer (SINGLE_ISSUER|DEFER_TASKRUN, "
     "default), coop (SINGLE_ISSUER|COOP_TASKRUN) or plain",
     opt_uring_setup},
    {"--uring-submit", "MODE",
     "liburing: batch (submit-and-wait, default) or each "
     "(one submit per operation, then wait)",
     opt_uring_submit},
    {"--json", NULL, "end with one JSON object per run, on one line", flag_json},
    {"--quiet", NULL, "no text result lines (with --json: JSON only)", flag_quiet},
    {"--prepare-only", NULL, "create/precondition the scratch file and exit", flag_prepare_only},
};
#define OPTION_COUNT (sizeof option_table / sizeof option_table[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: tio-bench [options]\n"
                 "With no --rw: the demo (taskio on each backend, direct randread and\n"
                 "--dsync randwrite). With --rw: one measurement.\n\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *d = &option_table[i];
        fprintf(out, "  %-14s %-6s %s\n", d->name, d->arg ? d->arg : "", d->help);
    }
}

/* Accepts "--name value" and "--name=value". 0, or -1 after a message. */
static int parse_args(int argc, char **argv, struct bench_config *c)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        const struct option_def *def = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < OPTION_COUNT && def == NULL; k++) {
            size_t n = strlen(option_table[k].name);
            if (strncmp(arg, option_table[k].name, n) != 0)
                continue;
            if (option_table[k].arg == NULL) {
                if (arg[n] != '\0')
                    continue;
                value = "";
            } else if (arg[n] == '=') {
                value = arg + n + 1;
            } else if (arg[n] == '\0') {
                value = i + 1 < argc ? argv[++i] : NULL;
            } else {
                continue;
            }
            def = &option_table[k];
        }
        if (def == NULL) {
            fprintf(stderr, "tio-bench: unknown argument '%s' (--help lists the options)\n", arg);
            return -1;
        }
        if (value == NULL || def->parse(value, c) != 0) {
            fprintf(stderr, "tio-bench: %s needs a valid %s\n", def->name, def->arg);
            return -1;
        }
        if (def->parse == opt_rw)
            rw_given = true;
    }
    return 0;
}

/* ============================================================== histogram */

static unsigned hist_index(uint64_t v)
{
    if (v < 2 * BENCH_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - BENCH_HIST_SUB_BITS;
    if (shift > BENCH_HIST_MAX_SHIFT)
        return BENCH_HIST_BUCKETS - 1;
    return shift * BENCH_HIST_SUB + (unsigned)(v >> shift);
}

/* The middle of bucket i, in ns. */
static double hist_value(unsigned i)
{
    if (i < 2 * BENCH_HIST_SUB)
        return (double)i;
    unsigned shift = i / BENCH_HIST_SUB - 1;
    uint64_t lo = (uint64_t)(i - shift * BENCH_HIST_SUB) << shift;
    return (double)lo + (double)((UINT64_C(1) << shift) - 1) / 2.0;
}

static void hist_record(struct bench_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->buckets[hist_index(ns)]++;
}

/* The q-quantile (0 < q <= 1) in ns: the value of the bucket holding the
 * ceil(q * count)-th smallest sample. */
static double hist_quantile(const struct bench_hist *h, double q)
{
    if (h->count == 0)
        return 0.0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            double v = hist_value(i);
            return v > (double)h->max_ns ? (double)h->max_ns : v;
        }
    }
    return (double)h->max_ns;
}

/* ================================================================ harness */

uint64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * NS_PER_S + (uint64_t)tv.tv_usec * 1000;
}

static void snapshot(struct bench *b, struct bench_snapshot *s, uint64_t now)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru); /* every thread of the process */
    s->t_ns = now;
    s->user_ns = tv_ns(ru.ru_utime);
    s->sys_ns = tv_ns(ru.ru_stime);
    bench_alloc_counts(&s->allocs, &s->frees);
    s->ops = b->hist.count;
    s->waits = b->waits;
}

static void window_start(struct bench *b, uint64_t now)
{
    b->in_window = true;
    snapshot(b, &b->w0, now);
    if (b->cfg->ops == 0)
        b->end_ns = now + (uint64_t)(b->cfg->seconds * 1e9);
    CALLGRIND_ZERO_STATS;
}

static void window_end(struct bench *b, uint64_t now)
{
    CALLGRIND_DUMP_STATS_AT("tio-bench measured window");
    snapshot(b, &b->w1, now);
    b->in_window = false;
    b->window_done = true;
    b->stop = true;
}

/* The jobs' common start: each waits until all have arrived (a mutex and
 * a condition variable, as macOS has no pthread_barrier_t). */
struct bench_start {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned arrived, jobs;
};

static void start_together(struct bench_start *s)
{
    pthread_mutex_lock(&s->mu);
    if (++s->arrived == s->jobs)
        pthread_cond_broadcast(&s->cv);
    while (s->arrived < s->jobs)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

uint64_t bench_begin(struct bench *b)
{
    const struct bench_config *c = b->cfg;
    b->begun = true;
    if (b->start != NULL)
        start_together(b->start);
    uint64_t now = bench_now();
    b->t0_ns = now;
    b->warm_end_ns = now + (uint64_t)(c->warmup_s * 1e9);
    b->next_progress_ns = now + NS_PER_S;
    b->last_progress_ns = now;
    if (c->ops != 0) {
        b->stop_issue_at = b->cfg->warmup_ops + c->ops;
        if (c->warmup_ops == 0)
            window_start(b, now);
    } else if (c->warmup_s == 0) {
        window_start(b, now);
    }
    return now;
}

/* Uniform in [0, n): xorshift64* (the multiply mixes the low bits too). */
static uint64_t rand_below(struct bench *b, uint64_t n)
{
    uint64_t x = bench_xorshift64(&b->rng) * UINT64_C(0x2545F4914F6CDD1D);
    return (x >> 11) % n;
}

bool bench_next(struct bench *b, struct bench_io *io)
{
    if (b->stop || (b->stop_issue_at != 0 && b->issued >= b->stop_issue_at))
        return false;
    b->issued++;
    uint64_t block;
    switch (b->cfg->rw) {
    case RW_READ:
    case RW_WRITE:
        block = b->seq_next;
        b->seq_next = block + 1 == b->nblocks ? 0 : block + 1;
        io->write = b->cfg->rw == RW_WRITE;
        break;
    case RW_APPEND:
        if (b->seq_next == b->nblocks) {
            /* Full: empty it, so that every write keeps extending the file
             * (writes still in flight land past the new end: harmless). */
            if (ftruncate(b->append_fd, 0) != 0)
                bench_fail(b, "ftruncate: %s", strerror(errno));
            b->seq_next = 0;
        }
        block = b->seq_next++;
        io->write = true;
        break;
    case RW_RANDRW:
        block = rand_below(b, b->nblocks);
        io->write = rand_below(b, 100) >= b->cfg->rwmixread;
        break;
    default:
        block = rand_below(b, b->nblocks);
        io->write = b->cfg->rw == RW_RANDWRITE;
        break;
    }
    io->offset = (b->first_block + block) * b->cfg->bs;
    return true;
}

static void progress(struct bench *b, uint64_t now)
{
    double dt = (double)(now - b->last_progress_ns) / 1e9;
    const char *phase = b->in_window ? "" : b->window_done ? " (draining)" : " (warm-up)";
    printf("\r%-8s %-10s %-9s QD %-4u %6.1f s %10.0f IOPS%s\033[K", b->cfg->engine,
           b->info.backend ? b->info.backend : "", rw_names[b->cfg->rw], b->cfg->qd,
           (double)(now - b->t0_ns) / 1e9, (double)(b->completed - b->last_progress_ops) / dt,
           phase);
    fflush(stdout);
    b->last_progress_ns = now;
    b->last_progress_ops = b->completed;
    b->next_progress_ns = now + NS_PER_S;
}

uint64_t bench_complete(struct bench *b, uint64_t start_ns, int64_t result)
{
    uint64_t now = bench_now();
    b->completed++;
    if (result != (int64_t)b->cfg->bs) {
        if (b->errors++ == 0 && !b->failed) { /* else the engine said why */
            if (result < 0)
                fprintf(stderr, "tio-bench: %s: operation failed: %s (%" PRId64 ")\n",
                        b->cfg->engine, strerror((int)-result), result);
            else
                fprintf(stderr, "tio-bench: %s: short transfer: %" PRId64 " of %zu bytes\n",
                        b->cfg->engine, result, b->cfg->bs);
        }
        b->failed = true;
        b->stop = true;
        return now;
    }
    if (b->in_window) {
        if (b->cfg->ops == 0 && now >= b->end_ns) {
            window_end(b, now);
        } else {
            hist_record(&b->hist, now - start_ns);
            if (b->cfg->ops != 0 && b->hist.count == b->cfg->ops)
                window_end(b, now);
        }
    } else if (!b->window_done) {
        if (b->cfg->ops != 0 ? b->completed == b->cfg->warmup_ops : now >= b->warm_end_ns)
            window_start(b, now);
    }
    if (b->tty && now >= b->next_progress_ns)
        progress(b, now);
    return now;
}

void bench_fail(struct bench *b, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tio-bench: %s: ", b->cfg->engine);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    b->failed = true;
    b->stop = true;
}

/* ========================================================== scratch file */

static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
    seed |= 1;
    for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
        uint64_t v = bench_xorshift64(&seed);
        memcpy(buf + i, &v, len - i < sizeof v ? len - i : sizeof v);
    }
}

/* Make sure path is a regular file of exactly cfg->size written bytes
 * (sequential 1 MiB writes, then fdatasync, so every block exists on the
 * device before it is read). Finds out whether the filesystem takes
 * O_DIRECT. 0, or -1 after a message. */
static int prepare_file(const struct bench_config *c, bool *direct_ok)
{
    int flags = O_RDWR | O_CREAT | O_CLOEXEC;
    int fd = -1;
    *direct_ok = false;
    if (c->direct && O_DIRECT != 0) {
        fd = open(c->path, flags | O_DIRECT, 0644);
        if (fd >= 0)
            *direct_ok = true;
        else if (errno == EINVAL)
            printf("note: %s: the filesystem refuses O_DIRECT; every engine runs buffered\n",
                   c->path);
    }
    if (fd < 0)
        fd = open(c->path, flags, 0644);
    if (fd < 0) {
        fprintf(stderr, "tio-bench: %s: %s\n", c->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "tio-bench: %s: not a regular file\n", c->path);
        close(fd);
        return -1;
    }
    int rc = 0;
    if ((uint64_t)st.st_size != c->size) {
        printf("preparing %s: writing %g MiB sequentially, 1 MiB at a time...\n", c->path,
               (double)c->size / MIB);
        fflush(stdout);
        void *buf = NULL;
        if (ftruncate(fd, 0) != 0 || posix_memalign(&buf, 4096, PREP_CHUNK_BYTES) != 0) {
            fprintf(stderr, "tio-bench: %s: %s\n", c->path, strerror(errno));
            close(fd);
            return -1;
        }
        fill_random(buf, PREP_CHUNK_BYTES, 0x2545F4914F6CDD1DULL);
        for (uint64_t off = 0; off < c->size && rc == 0; off += PREP_CHUNK_BYTES) {
            size_t len = c->size - off < PREP_CHUNK_BYTES ? (size_t)(c->size - off)
                                                          : PREP_CHUNK_BYTES;
            ssize_t n = pwrite(fd, buf, len, (off_t)off);
            if (n != (ssize_t)len) {
                fprintf(stderr, "tio-bench: preconditioning %s: %s\n", c->path,
                        n < 0 ? strerror(errno) : "short write");
                rc = -1;
            }
        }
        /* fsync, not fdatasync: macOS declares no fdatasync. */
        if (rc == 0 && fsync(fd) != 0) {
            fprintf(stderr, "tio-bench: fsync %s: %s\n", c->path, strerror(errno));
            rc = -1;
        }
        free(buf);
    }
    close(fd);
    return rc;
}

/* Buffered runs: read the file once through the page cache, so that their
 * reads are served from memory (a cached file, as a pager's hot pages). */
static int warm_cache(const struct bench_config *c)
{
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    void *buf = malloc(PREP_CHUNK_BYTES);
    int rc = fd >= 0 && buf != NULL ? 0 : -1;
    for (uint64_t off = 0; rc == 0 && off < c->size; off += PREP_CHUNK_BYTES)
        if (pread(fd, buf, PREP_CHUNK_BYTES, (off_t)off) < 0)
            rc = -1;
    if (rc != 0)
        fprintf(stderr, "tio-bench: reading %s into the page cache: %s\n", c->path,
                strerror(errno));
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ================================================================ engines */

static const struct bench_engine *const engine_table[] = {
    &bench_engine_taskio,
    &bench_engine_liburing,
    &bench_engine_libuv,
    &bench_engine_pread,
};
#define ENGINE_COUNT (sizeof engine_table / sizeof engine_table[0])

static const struct bench_engine *find_engine(const char *name)
{
    for (size_t i = 0; i < ENGINE_COUNT; i++)
        if (strcmp(engine_table[i]->name, name) == 0)
            return engine_table[i];
    return NULL;
}

/* ================================================================ report */

struct result {
    double seconds, iops, mib_s;
    double mean_us, p50_us, p99_us, p999_us, max_us;
    double cpu_ns, user_ns, sys_ns;
    double allocs, frees; /* per op; < 0: not counted */
    double ops_per_wait;  /* 0: the engine does not count its waits */
    uint64_t ops;
};

/* The result over jobs runs (one, or --jobs): IOPS summed, latencies of
 * every run merged into one histogram, and CPU time and heap calls (counted
 * for the whole process) from the first window's start to the last one's
 * end, per operation of every run. */
static struct result summarize(struct bench *const *runs, unsigned jobs)
{
    static struct bench_hist h; /* large: not on the stack */
    struct result r;
    memset(&r, 0, sizeof r);
    memset(&h, 0, sizeof h);
    struct bench_snapshot w0 = runs[0]->w0, w1 = runs[0]->w1;
    uint64_t waits = 0;
    for (unsigned j = 0; j < jobs; j++) {
        const struct bench *b = runs[j];
        h.count += b->hist.count;
        h.sum_ns += b->hist.sum_ns;
        if (b->hist.max_ns > h.max_ns)
            h.max_ns = b->hist.max_ns;
        for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
            h.buckets[i] += b->hist.buckets[i];
        double secs = (double)(b->w1.t_ns - b->w0.t_ns) / 1e9;
        if (secs > r.seconds)
            r.seconds = secs;
        r.iops += secs > 0 ? (double)b->hist.count / secs : 0.0;
        waits += b->w1.waits - b->w0.waits;
        /* Process-wide counters grow: the smallest start, the largest end. */
        if (b->w0.user_ns < w0.user_ns)
            w0.user_ns = b->w0.user_ns;
        if (b->w0.sys_ns < w0.sys_ns)
            w0.sys_ns = b->w0.sys_ns;
        if (b->w0.allocs < w0.allocs)
            w0.allocs = b->w0.allocs;
        if (b->w0.frees < w0.frees)
            w0.frees = b->w0.frees;
        if (b->w1.user_ns > w1.user_ns)
            w1.user_ns = b->w1.user_ns;
        if (b->w1.sys_ns > w1.sys_ns)
            w1.sys_ns = b->w1.sys_ns;
        if (b->w1.allocs > w1.allocs)
            w1.allocs = b->w1.allocs;
        if (b->w1.frees > w1.frees)
            w1.frees = b->w1.frees;
    }
    r.ops = h.count;
    double ops = r.ops ? (double)r.ops : 1.0;
    r.mib_s = r.iops * (double)runs[0]->cfg->bs / (double)MIB;
    r.mean_us = (double)h.sum_ns / ops / 1e3;
    r.p50_us = hist_quantile(&h, 0.50) / 1e3;
    r.p99_us = hist_quantile(&h, 0.99) / 1e3;
    r.p999_us = hist_quantile(&h, 0.999) / 1e3;
    r.max_us = (double)h.max_ns / 1e3;
    r.user_ns = (double)(w1.user_ns - w0.user_ns) / ops;
    r.sys_ns = (double)(w1.sys_ns - w0.sys_ns) / ops;
    r.cpu_ns = r.user_ns + r.sys_ns;
    r.ops_per_wait = waits ? (double)r.ops / (double)waits : 0.0;
    uint64_t a, f;
    if (bench_alloc_counts(&a, &f)) {
        r.allocs = (double)(w1.allocs - w0.allocs) / ops;
        r.frees = (double)(w1.frees - w0.frees) / ops;
    } else {
        r.allocs = r.frees = -1;
    }
    return r;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_text(const struct bench *b, const struct result *r)
{
    const struct bench_config *c = b->cfg;
    char qd[48];
    if (c->jobs > 1)
        snprintf(qd, sizeof qd, "%ux QD %u", c->jobs, c->qd);
    else
        snprintf(qd, sizeof qd, "QD %u%s", c->qd, c->sync ? " sync" : "");
    printf("%-8s %-10s %-9s %5zu KiB %-6s %-8s%-6s %9.0f IOPS %8.1f MiB/s\n", c->engine,
           b->info.backend ? b->info.backend : "-", rw_names[c->rw], c->bs / 1024, qd,
           b->direct_ok ? "direct" : "buffered", c->dsync ? " dsync" : "", r->iops, r->mib_s);
    printf("         latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f   "
           "cpu/op %.0f ns (user %.0f, sys %.0f)   allocs/op ",
           r->p50_us, r->p99_us, r->p999_us, r->max_us, r->cpu_ns, r->user_ns, r->sys_ns);
    if (r->allocs < 0)
        printf("n/a");
    else
        printf("%.3f", r->allocs);
    if (r->ops_per_wait > 0)
        printf("   ops/wait %.1f", r->ops_per_wait);
    putchar('\n');
    if (b->info.workers || b->info.note) {
        printf("         ");
        if (b->info.workers)
            printf("%u worker threads%s", b->info.workers, b->info.note ? "; " : "");
        if (b->info.note)
            printf("%s", b->info.note);
        putchar('\n');
    }
    fflush(stdout);
}

static void print_json(const struct bench *b, const struct result *r)
{
    const struct bench_config *c = b->cfg;
    printf("{\"engine\":");
    json_string(c->engine);
    printf(",\"backend\":");
    json_string(b->info.backend);
    printf(",\"rw\":\"%s\",\"bs\":%zu,\"qd\":%u,\"direct\":%s,\"dsync\":%s,\"fixed\":%s",
           rw_names[c->rw], c->bs, c->qd, b->direct_ok ? "true" : "false",
           c->dsync ? "true" : "false", c->fixed ? "true" : "false");
    printf(",\"workers\":%u,\"jobs\":%u,\"sync\":%s", b->info.workers, c->jobs,
           c->sync ? "true" : "false");
    if (strcmp(c->engine, "taskio") == 0)
        printf(",\"submit_batch\":%u", c->submit_batch);
    if (strcmp(c->engine, "libuv") == 0)
        printf(",\"uv_threadpool_size\":%u", b->info.workers);
    printf(",\"ops\":%" PRIu64 ",\"seconds\":%.6f,\"iops\":%.1f,\"mib_s\":%.2f", r->ops, r->seconds,
           r->iops, r->mib_s);
    printf(",\"lat_mean_us\":%.2f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
           "\"max_us\":%.2f",
           r->mean_us, r->p50_us, r->p99_us, r->p999_us, r->max_us);
    printf(",\"cpu_ns_per_op\":%.1f,\"cpu_user_ns_per_op\":%.1f,\"cpu_sys_ns_per_op\":%.1f",
           r->cpu_ns, r->user_ns, r->sys_ns);
    if (r->allocs < 0)
        printf(",\"allocs_per_op\":null,\"frees_per_op\":null");
    else
        printf(",\"allocs_per_op\":%.4f,\"frees_per_op\":%.4f", r->allocs, r->frees);
    printf(",\"ops_per_wait\":%.2f", r->ops_per_wait);
    printf(",\"errors\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"callgrind_window\":%s,\"file\":",
           b->errors, c->seed, BENCH_CALLGRIND ? "true" : "false");
    json_string(c->path);
    printf(",\"note\":");
    json_string(b->info.note);
    printf("}\n");
    fflush(stdout);
}

/* ================================================================== main */

/* One run of an engine: with --jobs, one per thread. */
struct job {
    pthread_t thread;
    const struct bench_engine *e;
    struct bench_config cfg;
    struct bench *b;
    char path[4096];
    int rc;
};

static void *job_main(void *arg)
{
    struct job *j = arg;
    j->rc = j->e->run(j->b);
    if (j->b->start != NULL && !j->b->begun) /* failed before its start: */
        start_together(j->b->start);         /* let the others go */
    return NULL;
}

/* Job k of jobs: its own seed, its own 1/jobs of the file (of the operation
 * count with --ops), its own buffers; append: its own file. 0, or -1. */
static int job_setup(struct job *j, const struct bench_config *c, bool direct_ok, unsigned k,
                     unsigned jobs)
{
    j->cfg = *c;
    struct bench_config *jc = &j->cfg;
    jc->seed = c->seed + k; /* job 0 draws what a single run draws */
    if (c->ops != 0) {
        jc->ops = c->ops / jobs ? c->ops / jobs : 1;
        jc->warmup_ops = c->warmup_ops / jobs;
    }
    struct bench *b = calloc(1, sizeof *b); /* the histogram is large: not on the stack */
    if (b == NULL) {
        fprintf(stderr, "tio-bench: out of memory\n");
        return -1;
    }
    j->b = b;
    b->cfg = jc;
    b->append_fd = -1;
    b->direct_ok = direct_ok;
    b->has_reads = c->rw == RW_RANDREAD || c->rw == RW_READ || c->rw == RW_RANDRW;
    b->has_writes = !b->has_reads || c->rw == RW_RANDRW;
    b->open_flags = (b->has_reads && b->has_writes ? O_RDWR
                     : b->has_writes               ? O_WRONLY
                                                   : O_RDONLY) |
                    (direct_ok ? O_DIRECT : 0) | (c->dsync ? O_DSYNC : 0) | O_CLOEXEC;
    b->rng = jc->seed * 0x9E3779B97F4A7C15ULL | 1; /* never zero */
    b->nblocks = c->size / c->bs / jobs;
    b->first_block = (uint64_t)k * b->nblocks;
    if (c->rw == RW_APPEND) {
        if (jobs > 1)
            snprintf(j->path, sizeof j->path, "%s.append%u", c->path, k);
        else
            snprintf(j->path, sizeof j->path, "%s.append", c->path);
        jc->path = j->path;
        b->first_block = 0;
        b->append_fd = open(j->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (b->append_fd < 0) {
            fprintf(stderr, "tio-bench: %s: %s\n", j->path, strerror(errno));
            return -1;
        }
    }
    b->tty = jobs == 1 && isatty(STDOUT_FILENO) != 0;
    long page = sysconf(_SC_PAGESIZE);
    b->buf_align = page > 4096 ? (size_t)page : 4096;
    /* One block for the job's buffers, from taskio's allocator, as an
     * engine built on taskio would allocate them, for every engine here
     * alike (a block of 2 MiB or more is backed by huge pages on Linux:
     * fewer, larger segments per direct transfer). */
    b->bufs = tio_alloc((size_t)c->qd * c->bs, b->buf_align);
    if (b->bufs == NULL) {
        fprintf(stderr, "tio-bench: cannot allocate %u buffers of %zu bytes\n", c->qd, c->bs);
        return -1;
    }
    fill_random(b->bufs, (size_t)c->qd * c->bs, jc->seed + 7);
    return 0;
}

static void job_cleanup(struct job *j)
{
    if (j->b == NULL)
        return;
    if (j->b->append_fd >= 0)
        close(j->b->append_fd);
    tio_free(j->b->bufs);
    free(j->b);
    j->b = NULL;
}

/* One measurement with c. 0; 1 when the engine is unavailable here (say, a
 * backend the OS refuses: reported as skipped); -1 on failure (reported). */
static int run_one(const struct bench_config *c, bool direct_ok)
{
    const struct bench_engine *e = find_engine(c->engine);
    if (e == NULL) {
        fprintf(stderr, "tio-bench: unknown engine '%s' (taskio, liburing, libuv, pread)\n",
                c->engine);
        return -1;
    }
    if (e->run == NULL) {
        fprintf(stderr, "tio-bench: engine %s is not compiled in: %s\n", c->engine, e->missing);
        return -1;
    }
    unsigned jobs = c->jobs ? c->jobs : 1;
    struct job *js = calloc(jobs, sizeof *js);
    struct bench **runs = calloc(jobs, sizeof *runs);
    struct bench_start start;
    int rc = js != NULL && runs != NULL ? 0 : -1;
    for (unsigned k = 0; k < jobs && rc == 0; k++) {
        js[k].e = e;
        rc = job_setup(&js[k], c, direct_ok, k, jobs);
        if (rc == 0)
            runs[k] = js[k].b;
    }
    if (rc == 0 && jobs == 1) {
        js[0].rc = e->run(js[0].b);
    } else if (rc == 0) {
        pthread_mutex_init(&start.mu, NULL);
        pthread_cond_init(&start.cv, NULL);
        start.arrived = 0;
        start.jobs = jobs;
        unsigned started = 0;
        for (unsigned k = 0; k < jobs; k++)
            js[k].b->start = &start;
        for (; started < jobs; started++) {
            if (pthread_create(&js[started].thread, NULL, job_main, &js[started]) != 0) {
                fprintf(stderr, "tio-bench: cannot start thread %u of %u\n", started + 1, jobs);
                exit(1); /* the others wait at the barrier for it */
            }
        }
        for (unsigned k = 0; k < jobs; k++)
            pthread_join(js[k].thread, NULL);
        pthread_cond_destroy(&start.cv);
        pthread_mutex_destroy(&start.mu);
    }
    if (jobs == 1 && js != NULL && js[0].b != NULL && js[0].b->tty) {
        printf("\r\033[K");
        fflush(stdout);
    }
    for (unsigned k = 0; k < jobs && rc == 0; k++) {
        struct bench *b = js[k].b;
        if (js[k].rc > 0) {
            rc = 1;
        } else if (js[k].rc < 0 || b->failed) {
            rc = -1;
        } else if (!b->window_done || b->hist.count == 0) {
            fprintf(stderr, "tio-bench: %s: the run ended before its measured window did\n",
                    c->engine);
            rc = -1;
        }
    }
    if (rc == 0) {
        struct result r = summarize(runs, jobs);
        if (!c->quiet)
            print_text(runs[0], &r);
        if (c->json)
            print_json(runs[0], &r);
    }
    for (unsigned k = 0; js != NULL && k < jobs; k++)
        job_cleanup(&js[k]);
    free(js);
    free(runs);
    return rc;
}

static int check_config(struct bench_config *c)
{
    if (c->size < c->bs) {
        fprintf(stderr, "tio-bench: --size must be at least --bs\n");
        return -1;
    }
    if (c->direct && (c->bs % 512 != 0 || c->size % 512 != 0)) {
        fprintf(stderr, "tio-bench: direct I/O needs --bs and --size in multiples of 512 "
                        "bytes (of the device's logical block size, in fact)\n");
        return -1;
    }
    if (strcmp(c->engine, "pread") == 0 && c->qd != 1) {
        fprintf(stderr, "tio-bench: the pread engine is blocking: queue depth 1 (--qd 1)\n");
        return -1;
    }
    if (c->sync &&
        (c->qd != 1 || (strcmp(c->engine, "taskio") != 0 && strcmp(c->engine, "pread") != 0))) {
        fprintf(stderr, "tio-bench: --sync is for the taskio engine (pread always is) at --qd 1\n");
        return -1;
    }
    if (c->jobs > 1 && strcmp(c->engine, "libuv") == 0) {
        fprintf(stderr, "tio-bench: --jobs: taskio, liburing and pread (libuv has one "
                        "process-wide pool)\n");
        return -1;
    }
    if (c->size / c->bs < (c->jobs ? c->jobs : 1)) {
        fprintf(stderr, "tio-bench: --size must hold --jobs blocks of --bs\n");
        return -1;
    }
    if ((size_t)c->qd * c->bs > 16 * GIB) {
        fprintf(stderr, "tio-bench: --qd times --bs exceeds 16 GiB of buffers\n");
        return -1;
    }
    if (c->ops != 0 && !c->warmup_ops_set) {
        uint64_t w = c->ops / 10;
        c->warmup_ops = w > 4 * (uint64_t)c->qd ? w : 4 * (uint64_t)c->qd;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_config c = {
        .engine = "taskio",
        .backend = NULL,
        .rw = RW_RANDREAD,
        .bs = 4096,
        .qd = 32,
        .size = 256 * MIB,
        .ops = 0,
        .seconds = 3.0,
        .warmup_s = 0.5,
        .direct = true,
        .path = "tio-bench.dat",
        .rwmixread = 50,
        .seed = 1,
        .jobs = 1,
    };
    bool qd_given = false;
    for (int i = 1; i < argc; i++)
        qd_given |= strncmp(argv[i], "--qd", 4) == 0;
    if (parse_args(argc, argv, &c) != 0)
        return 2;
    if (strcmp(c.engine, "pread") == 0 && !qd_given)
        c.qd = 1;
    if (check_config(&c) != 0)
        return 2;

    bool direct_ok = false;
    if (prepare_file(&c, &direct_ok) != 0)
        return 1;
    if (prepare_only)
        return 0;
    if (!c.direct && rw_given && (c.rw == RW_RANDREAD || c.rw == RW_READ || c.rw == RW_RANDRW) &&
        warm_cache(&c) != 0)
        return 1;

    if (rw_given)
        return run_one(&c, direct_ok) == 0 ? 0 : 1;

    /* The demo: each taskio backend (or the engine/backend given), random
     * direct reads, then random direct O_DSYNC writes. */
    static const char *const demo_backends[] = {"io_uring", "threads"};
    bool taskio = strcmp(c.engine, "taskio") == 0;
    size_t nb = taskio && c.backend == NULL ? 2 : 1;
    if (!c.quiet)
        printf("tio-bench: %s, %g MiB, %zu-byte blocks, queue depth %u, %g s per workload "
               "after %g s warm-up\n",
               c.path, (double)c.size / MIB, c.bs, c.qd, c.seconds, c.warmup_s);
    unsigned ok = 0, failed = 0;
    for (size_t i = 0; i < nb; i++) {
        struct bench_config d = c;
        if (taskio && c.backend == NULL)
            d.backend = demo_backends[i];
        for (int w = 0; w < 2; w++) {
            d.rw = w == 0 ? RW_RANDREAD : RW_RANDWRITE;
            d.dsync = w == 1 ? true : c.dsync;
            int rc = run_one(&d, direct_ok);
            if (rc > 0)
                break; /* this backend is unavailable here: said once */
            if (rc == 0)
                ok++;
            else
                failed++;
        }
    }
    if (ok == 0 && failed == 0)
        fprintf(stderr, "tio-bench: no backend could be created\n");
    return ok > 0 && failed == 0 ? 0 : 1;
}
