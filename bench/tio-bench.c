/*
 * tio-bench: random direct reads and durable writes through each taskio backend.
 *
 *   tio-bench [--backend NAME] [--file PATH] [--size BYTES] [--seconds S]
 *             [--qd N] [--bs N]
 *
 * Without --backend it runs every backend it can create, io_uring then
 * threads (one that cannot be created is reported as skipped). All of them
 * share one scratch file, created and preconditioned with sequential 1 MiB
 * direct writes and an fsync unless it already has the right size.
 *
 * Per backend, one workload after another: random reads (TIO_DIRECT), then
 * random durable writes (TIO_DIRECT|TIO_DSYNC), at uniformly random
 * block-aligned offsets. `qd` tasks are in flight; each resubmits itself from
 * its callback until the time is up, and the latency of every operation is
 * measured from the submitting call to its callback. Where the filesystem
 * refuses O_DIRECT the files are opened with TIO_DIRECT_TRY and the results
 * say "buffered".
 *
 * Adding an option: a field in struct bench_opts, its default in main, a
 * parse_* function and a row in option_table. Adding a workload: a row in
 * workload_table.
 */
#ifndef _GNU_SOURCE
#  define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty */
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "taskio.h"

#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define NS_PER_S UINT64_C(1000000000)

#define PREP_CHUNK_BYTES ((size_t)MIB) /* preconditioning write size */
#define DEFAULT_QUEUE_DEPTH 256        /* tio_loop_config.queue_depth's default */

/* ================================================================ options */

struct bench_opts {
    const char *backend; /* NULL: each of backend_names */
    const char *path;
    uint64_t size_bytes;
    double seconds;
    unsigned qd;
    size_t bs_bytes;
};

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
    case 'k': case 'K': mult = KIB; end++; break;
    case 'm': case 'M': mult = MIB; end++; break;
    case 'g': case 'G': mult = GIB; end++; break;
    default: return -1;
    }
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -1;
    *out = (uint64_t)v * mult;
    return 0;
}

static int parse_backend(const char *v, struct bench_opts *o)
{
    o->backend = v;
    return 0;
}

static int parse_file(const char *v, struct bench_opts *o)
{
    o->path = v;
    return *v != '\0' ? 0 : -1;
}

static int parse_size(const char *v, struct bench_opts *o)
{
    return parse_bytes(v, &o->size_bytes) == 0 && o->size_bytes > 0 ? 0 : -1;
}

static int parse_seconds(const char *v, struct bench_opts *o)
{
    char *end;
    o->seconds = strtod(v, &end);
    return end != v && *end == '\0' && o->seconds > 0 && o->seconds < 1e6 ? 0 : -1;
}

static int parse_qd(const char *v, struct bench_opts *o)
{
    uint64_t qd;
    if (parse_bytes(v, &qd) != 0 || qd == 0 || qd > 65536)
        return -1;
    o->qd = (unsigned)qd;
    return 0;
}

static int parse_bs(const char *v, struct bench_opts *o)
{
    uint64_t bs;
    if (parse_bytes(v, &bs) != 0 || bs == 0 || bs > TIO_MAX_IO)
        return -1;
    o->bs_bytes = (size_t)bs;
    return 0;
}

static const struct option_def {
    const char *name;
    const char *arg;
    const char *help;
    int (*parse)(const char *value, struct bench_opts *o);
} option_table[] = {
    {"--backend", "NAME", "io_uring or threads (default: each that can be created)",
     parse_backend},
    {"--file", "PATH", "scratch file (default: tio-bench.dat)", parse_file},
    {"--size", "BYTES", "scratch file size, k/M/G suffixes (default: 256M)", parse_size},
    {"--seconds", "S", "duration of each workload (default: 3)", parse_seconds},
    {"--qd", "N", "operations in flight (default: 32)", parse_qd},
    {"--bs", "N", "bytes per operation, k/M suffixes (default: 4k)", parse_bs},
};
#define OPTION_COUNT (sizeof option_table / sizeof option_table[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: tio-bench");
    for (size_t i = 0; i < OPTION_COUNT; i++)
        fprintf(out, " [%s %s]", option_table[i].name, option_table[i].arg);
    fprintf(out, "\n\n");
    for (size_t i = 0; i < OPTION_COUNT; i++)
        fprintf(out, "  %-10s %-6s %s\n", option_table[i].name, option_table[i].arg,
                option_table[i].help);
}

/* Accepts "--name value" and "--name=value". 0, or -1 after a message. */
static int parse_args(int argc, char **argv, struct bench_opts *o)
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
            if (arg[n] == '=')
                value = arg + n + 1;
            else if (arg[n] == '\0')
                value = i + 1 < argc ? argv[++i] : NULL;
            else
                continue;
            def = &option_table[k];
        }
        if (def == NULL) {
            fprintf(stderr, "tio-bench: unknown argument '%s'\n", arg);
            usage(stderr);
            return -1;
        }
        if (value == NULL || def->parse(value, o) != 0) {
            fprintf(stderr, "tio-bench: %s needs a valid %s\n", def->name, def->arg);
            return -1;
        }
    }
    return 0;
}

/* ================================================================ helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* xorshift64 (Marsaglia 2003): state must be non-zero. */
static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
        uint64_t v = xorshift64(&seed);
        memcpy(buf + i, &v, len - i < sizeof v ? len - i : sizeof v);
    }
}

/* Prints "tio-bench: WHAT: strerror[: last error]" and returns code. */
static int report(const tio_loop *loop, const char *what, int code)
{
    const char *detail = loop != NULL ? tio_last_error(loop) : "";
    fprintf(stderr, "tio-bench: %s: %s%s%s\n", what, tio_strerror(code),
            *detail != '\0' ? ": " : "", detail);
    return code;
}

/* A task's failure: its result and, where there is one, the raw OS error. */
static void report_task(const char *what, const tio_task *task, int64_t result)
{
    int os = tio_os_error(task);
    fprintf(stderr, "tio-bench: %s: %s", what,
            result < 0 ? tio_strerror((int)result) : "short transfer");
    if (result >= 0)
        fprintf(stderr, " (%" PRId64 " bytes)", result);
    if (os != 0)
        fprintf(stderr, " (OS error %d: %s)", os, strerror(os));
    fputc('\n', stderr);
}

/* Open with TIO_DIRECT; where the filesystem refuses it (TIO_ENOTSUP), say so
 * once and open with TIO_DIRECT_TRY instead. Returns 0 or a TIO_E* code
 * (reported). */
static int open_direct(tio_loop *loop, tio_file **out, const char *path, unsigned flags)
{
    static bool fallback_announced;
    int rc = tio_file_open(loop, out, path, flags | TIO_DIRECT, 0644);
    if (rc == TIO_ENOTSUP) {
        if (!fallback_announced)
            printf("note: O_DIRECT refused (%s); falling back to TIO_DIRECT_TRY, "
                   "results are buffered I/O\n", tio_last_error(loop));
        fallback_announced = true;
        rc = tio_file_open(loop, out, path, flags | TIO_DIRECT_TRY, 0644);
    }
    if (rc < 0)
        return report(loop, path, rc);
    return 0;
}

/* Run one task to completion: its result, or a submission error. */
static int64_t wait_task(tio_loop *loop, tio_task *task, int submit_rc, const char *what)
{
    if (submit_rc < 0)
        return report(loop, what, submit_rc);
    int64_t result = tio_wait(loop, task, TIO_FOREVER);
    if (result < 0)
        report_task(what, task, result);
    return result;
}

static void ignore_result(tio_task *task, int64_t result)
{
    (void)task;
    (void)result; /* tio_wait returns it */
}

/* ========================================================== scratch file */

/* Write the whole file sequentially in 1 MiB direct writes, then fsync, so
 * that every block exists on the device before it is read. */
static int precondition(tio_loop *loop, tio_file *file, uint64_t size_bytes)
{
    tio_task task = TIO_TASK_INIT;
    unsigned char *buf = tio_alloc(PREP_CHUNK_BYTES, 0);
    if (buf == NULL)
        return report(NULL, "tio_alloc", TIO_ENOMEM);
    fill_random(buf, PREP_CHUNK_BYTES, 0x2545F4914F6CDD1DULL);

    int64_t rc = 0;
    for (uint64_t off = 0; off < size_bytes && rc >= 0; off += PREP_CHUNK_BYTES) {
        size_t len = size_bytes - off < PREP_CHUNK_BYTES ? (size_t)(size_bytes - off)
                                                         : PREP_CHUNK_BYTES;
        rc = wait_task(loop, &task,
                       tio_write(loop, &task, file, buf, len, off, ignore_result),
                       "preconditioning write");
        if (rc >= 0 && rc != (int64_t)len) {
            report_task("preconditioning write", &task, rc);
            rc = TIO_EIO;
        }
    }
    if (rc >= 0)
        rc = wait_task(loop, &task, tio_fsync(loop, &task, file, 0, ignore_result),
                       "preconditioning fsync");
    tio_free(buf);
    return rc < 0 ? (int)rc : 0;
}

/* Make sure the scratch file exists with exactly size_bytes of written data,
 * and that size and block size suit its alignment. */
static int prepare_file(tio_loop *loop, const struct bench_opts *o)
{
    tio_file *file;
    uint64_t size = 0;
    int rc = open_direct(loop, &file, o->path, TIO_RDWR | TIO_CREATE);
    if (rc < 0)
        return rc;
    size_t align = tio_file_align(file);
    if (o->size_bytes % align != 0 || o->bs_bytes % align != 0 ||
        o->size_bytes < o->bs_bytes) {
        fprintf(stderr, "tio-bench: --size and --bs must be multiples of %zu bytes "
                "(the file's direct I/O alignment) and --size >= --bs\n", align);
        tio_file_close(file);
        return TIO_EINVAL;
    }
    rc = tio_file_size(file, &size);
    if (rc < 0) {
        report(loop, "tio_file_size", rc);
    } else if (size != o->size_bytes) {
        printf("preparing %s: writing %g MiB sequentially, 1 MiB at a time...\n", o->path,
               (double)o->size_bytes / MIB);
        fflush(stdout);
        if ((rc = tio_file_close(file)) < 0)
            return report(loop, "tio_file_close", rc);
        rc = open_direct(loop, &file, o->path, TIO_RDWR | TIO_CREATE | TIO_TRUNCATE);
        if (rc < 0)
            return rc;
        rc = precondition(loop, file, o->size_bytes);
    }
    int close_rc = tio_file_close(file);
    if (close_rc < 0 && rc >= 0)
        rc = report(loop, "tio_file_close", close_rc);
    return rc;
}

/* ============================================================== workloads */

static const struct workload {
    const char *name;
    bool write;
    unsigned open_flags; /* TIO_DIRECT (or TIO_DIRECT_TRY) is added */
} workload_table[] = {
    {"randread", false, TIO_RDONLY},
    {"randwrite", true, TIO_WRONLY | TIO_DSYNC},
};
#define WORKLOAD_COUNT (sizeof workload_table / sizeof workload_table[0])

/* One (backend, workload) measurement. */
struct run {
    tio_loop *loop;
    tio_file *file;
    const struct workload *wl;
    size_t bs_bytes;
    uint64_t nblocks;     /* offsets are chosen among nblocks blocks */
    uint64_t rng;         /* xorshift64 state */
    uint64_t deadline_ns; /* no resubmission after this */
    uint64_t ops;         /* completed operations */
    uint64_t latency_sum_ns;
    bool failed;          /* an operation failed: stop resubmitting */
};

/* One of the qd operations in flight: its task, its buffer, its start time. */
struct slot {
    tio_task task; /* task.data points back at the slot */
    struct run *run;
    unsigned char *buf;
    uint64_t submit_ns;
};

static void on_complete(tio_task *task, int64_t result);

static int submit(struct slot *s, uint64_t at_ns)
{
    struct run *r = s->run;
    uint64_t offset = (xorshift64(&r->rng) % r->nblocks) * r->bs_bytes;
    s->submit_ns = at_ns;
    if (r->wl->write)
        return tio_write(r->loop, &s->task, r->file, s->buf, r->bs_bytes, offset,
                         on_complete);
    return tio_read(r->loop, &s->task, r->file, s->buf, r->bs_bytes, offset, on_complete);
}

static void on_complete(tio_task *task, int64_t result)
{
    struct slot *s = task->data;
    struct run *r = s->run;
    uint64_t t = now_ns();

    if (result != (int64_t)r->bs_bytes) {
        if (!r->failed)
            report_task(r->wl->name, task, result);
        r->failed = true;
        return;
    }
    r->ops++;
    r->latency_sum_ns += t - s->submit_ns;
    if (r->failed || t >= r->deadline_ns)
        return;
    int rc = submit(s, t);
    if (rc < 0) {
        report(r->loop, "resubmit", rc);
        r->failed = true;
    }
}

/* Progress on a terminal: the last second's rate, rewritten in place. */
struct progress {
    bool enabled;
    uint64_t next_ns, last_ns, last_ops;
};

static void progress_tick(struct progress *p, const struct run *r, const char *backend,
                          uint64_t start_ns)
{
    uint64_t t = now_ns();
    if (!p->enabled || t < p->next_ns)
        return;
    double interval_s = (double)(t - p->last_ns) / 1e9;
    printf("\r%-9s %-10s %5.1f s %10.0f IOPS", backend, r->wl->name,
           (double)(t - start_ns) / 1e9, (double)(r->ops - p->last_ops) / interval_s);
    fflush(stdout);
    p->last_ns = t;
    p->last_ops = r->ops;
    p->next_ns = t + NS_PER_S;
}

static void progress_clear(const struct progress *p)
{
    if (p->enabled) {
        printf("\r\033[K");
        fflush(stdout);
    }
}

/* Keep qd operations in flight until the deadline, then wait for the last
 * ones. Returns 0 and fills r, or a TIO_E* code (reported). */
static int run_inflight(struct run *r, struct slot *slots, unsigned qd, double seconds,
                        const char *backend, uint64_t *elapsed_ns)
{
    uint64_t start = now_ns();
    struct progress prog = {isatty(STDOUT_FILENO) != 0, start + NS_PER_S, start, 0};
    r->deadline_ns = start + (uint64_t)(seconds * 1e9);

    for (unsigned i = 0; i < qd && !r->failed; i++) {
        int rc = submit(&slots[i], now_ns());
        if (rc < 0) {
            report(r->loop, "submit", rc);
            r->failed = true;
        }
    }
    while (tio_pending(r->loop) > 0) {
        int rc = tio_run(r->loop, TIO_FOREVER);
        if (rc < 0) {
            /* Tasks may still own their buffers: stop here, the OS frees them. */
            progress_clear(&prog);
            report(r->loop, "tio_run", rc);
            exit(1);
        }
        progress_tick(&prog, r, backend, start);
    }
    *elapsed_ns = now_ns() - start;
    progress_clear(&prog);
    return r->failed ? TIO_EIO : 0;
}

static void print_result(const char *backend, const struct run *r, uint64_t elapsed_ns)
{
    double secs = (double)elapsed_ns / 1e9;
    double iops = (double)r->ops / secs;
    double mib_s = iops * (double)r->bs_bytes / (double)MIB;
    double mean_us = r->ops ? (double)r->latency_sum_ns / (double)r->ops / 1e3 : 0.0;
    printf("%-9s %-10s %10.0f IOPS %9.1f MiB/s  mean latency %8.1f us%s\n", backend,
           r->wl->name, iops, mib_s, mean_us,
           tio_file_is_direct(r->file) ? "" : "  (buffered: O_DIRECT refused)");
    fflush(stdout);
}

static int run_workload(tio_loop *loop, const struct workload *wl,
                        const struct bench_opts *o, uint64_t seed)
{
    const char *backend = tio_loop_backend(loop);
    struct run r = {.loop = loop, .wl = wl, .bs_bytes = o->bs_bytes,
                    .nblocks = o->size_bytes / o->bs_bytes, .rng = seed | 1};
    int rc = open_direct(loop, &r.file, o->path, wl->open_flags);
    if (rc < 0)
        return rc;

    /* Everything is allocated here, once: no allocation per operation. */
    size_t align = tio_file_align(r.file);
    struct slot *slots = calloc(o->qd, sizeof *slots); /* zeroed tasks are idle */
    unsigned char *bufs = tio_alloc((size_t)o->qd * o->bs_bytes, align > 4096 ? align : 0);
    if (slots == NULL || bufs == NULL) {
        rc = report(NULL, "allocating buffers", TIO_ENOMEM);
    } else {
        if (wl->write)
            fill_random(bufs, (size_t)o->qd * o->bs_bytes, seed);
        for (unsigned i = 0; i < o->qd; i++) {
            slots[i].task.data = &slots[i];
            slots[i].run = &r;
            slots[i].buf = bufs + (size_t)i * o->bs_bytes;
        }
        uint64_t elapsed_ns = 0;
        rc = run_inflight(&r, slots, o->qd, o->seconds, backend, &elapsed_ns);
        if (rc == 0)
            print_result(backend, &r, elapsed_ns);
    }
    tio_free(bufs);
    free(slots);
    int close_rc = tio_file_close(r.file);
    if (close_rc < 0 && rc == 0)
        rc = report(loop, "tio_file_close", close_rc);
    return rc;
}

/* ================================================================== main */

static const char *const backend_names[] = {"io_uring", "threads"};
#define BACKEND_COUNT (sizeof backend_names / sizeof backend_names[0])

/* Creates a loop on the named backend; NULL after reporting it as skipped. */
static tio_loop *create_loop(const char *name, const struct bench_opts *o)
{
    tio_loop *loop = NULL;
    tio_loop_config cfg = {0};
    cfg.backend = name;
    cfg.queue_depth = o->qd > DEFAULT_QUEUE_DEPTH ? o->qd : 0;
    int rc = tio_loop_create(&loop, &cfg);
    if (rc < 0) {
        const char *why = tio_last_error(NULL); /* why this thread's create failed */
        printf("%-9s skipped: %s\n", name, *why != '\0' ? why : tio_strerror(rc));
        return NULL;
    }
    return loop;
}

int main(int argc, char **argv)
{
    struct bench_opts o = {
        .backend = NULL,
        .path = "tio-bench.dat",
        .size_bytes = 256 * MIB,
        .seconds = 3.0,
        .qd = 32,
        .bs_bytes = 4096,
    };
    if (parse_args(argc, argv, &o) != 0)
        return 2;

    const char *const *names = o.backend != NULL ? &o.backend : backend_names;
    size_t count = o.backend != NULL ? 1 : BACKEND_COUNT;
    bool prepared = false;
    unsigned ran = 0;

    printf("tio-bench: %s, %g MiB, %zu-byte blocks, queue depth %u, %g s per workload\n",
           o.path, (double)o.size_bytes / MIB, o.bs_bytes, o.qd, o.seconds);
    for (size_t b = 0; b < count; b++) {
        tio_loop *loop = create_loop(names[b], &o);
        if (loop == NULL)
            continue;
        int rc = 0;
        if (!prepared) {
            rc = prepare_file(loop, &o);
            prepared = rc == 0;
        }
        for (size_t w = 0; w < WORKLOAD_COUNT && rc == 0; w++)
            rc = run_workload(loop, &workload_table[w], &o,
                              0x9E3779B97F4A7C15ULL * (b * WORKLOAD_COUNT + w + 1));
        tio_loop_destroy(loop);
        if (rc < 0)
            return 1;
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "tio-bench: no backend could be created\n");
        return 1;
    }
    return 0;
}
