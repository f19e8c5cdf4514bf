/* SPDX-License-Identifier: MIT */
/*
 * tio-fuzz: a model-based fuzzer for taskio (issue 5, item 3).
 *
 * An input is decoded into operations on 8 tasks, 2 regular files and 2
 * pipe pairs, run on a fresh loop of the backend the input names. A small
 * model of DESIGN.md's semantics follows every call and every callback and
 * says which answers are allowed; the first divergence abort()s with a
 * message (libFuzzer reports it as a crash; the replay driver as a failed
 * test).
 *
 * Files: A is buffered; B is direct (TIO_DIRECT_TRY) or buffered. Pipe pair
 * k has an in-pipe (taskio reads it, the fuzzer writes it) and an out-pipe
 * (taskio writes it, the fuzzer reads it); both of taskio's ends are
 * wrapped with tio_file_wrap, and the fuzzer closes and recreates them.
 *
 * Input layout (any byte string decodes; short inputs default to zeros)
 *   byte 0  bit 0     backend: 0 io_uring (threads if refused), 1 threads
 *           bit 1     the end: 0 close the in-pipe writers, read the
 *                     out-pipes, drain; 1 cancel every pending task, drain
 *           bits 2-4  queue depth {256, 1, 2, 3, 4, 8, 16, 64}: small depths
 *                     reach io_uring back-pressure and the callback budget
 *           bits 5-6  threads-backend workers {4, 1, 2, 3}
 *           bit 7     fault-injecting variant only: 30% instead of 6% rates
 *   byte 1  bit 0     file A is TIO_DSYNC
 *           bit 1     file B is TIO_DIRECT_TRY (direct where the filesystem allows)
 *           bit 2     file B is TIO_DSYNC
 *           bits 3-4  in-pipe 0 / 1: taskio's read end is O_NONBLOCK
 *           bits 5-6  out-pipe 0 / 1: taskio's write end is O_NONBLOCK
 *           bit 7     out-pipes keep the default capacity (else one page, so
 *                     writes fill them and block)
 *   then    4-byte records [op a b c], op % 16 (see do_op), at most MAX_OPS.
 *   a: task (bits 0-2), target (bits 3-4: file A, file B, pipe pair 0, 1).
 *   On a pipe pair a read goes to the in-pipe, a write to the out-pipe.
 *
 * The model. Per task: idle or pending, with the operation and what has
 * been done to it since it was accepted (cancelled, cancelled before any
 * run, deadline armed). It predicts:
 *  - a submission answers TIO_EBUSY on a pending task, 0 on an idle one;
 *    misuse answers its TIO_E* and leaves the task idle (semantics 1, 3);
 *  - every accepted call gets exactly one callback, only from inside
 *    tio_run/tio_wait/tio_drain, never inside a submitting call or another
 *    callback; tio_run returns how many callbacks it ran, at most the queue
 *    depth; tio_pending equals the model's count after every operation;
 *  - tio_cancel answers TIO_ENOENT on an idle task; a cancelled task
 *    reports TIO_ECANCELED or its real result, and TIO_ECANCELED exactly
 *    when it was cancelled before any run since it was accepted (it never
 *    reached the OS); a task never cancelled never reports TIO_ECANCELED
 *    (so a stale cancel cannot hit a reuse) (semantic 5);
 *  - TIO_ETIMEDOUT only after a tio_timeout, and not before its deadline;
 *    sleeps report 0 no earlier than asked, in order of (submission, length),
 *    or TIO_ECANCELED after a cancel (semantic 7);
 *  - in-pipe reads return stream bytes: each read a contiguous run of bytes
 *    written and not yet returned by another read (several reads may be
 *    pending on one pipe, so runs are located, not assumed in order; the
 *    written bytes encode their stream position modulo 256 and at most 256
 *    unread bytes are kept); 0 only once the writer is closed; when no read
 *    is pending the returned runs form a prefix of the stream, and what is
 *    left in the pipe is exactly the rest (a read that consumed bytes
 *    reported them, whatever cancel said) (semantics 4, 5);
 *  - out-pipe writes (one pending per pipe, so the stream's order is known)
 *    report 1..len bytes (a short count is allowed, semantic 11),
 *    TIO_EPIPE only once the reader is closed, and the reader receives
 *    exactly the bytes reported, in order: never bytes of a write that
 *    reported fewer, or an error;
 *  - file reads return the last acknowledged write for every byte no write
 *    was pending on during the read, are short only at the end of the data
 *    acknowledged before the read was submitted, never past the furthest
 *    write ever submitted; overlapping writes pending together make their
 *    bytes unknown; file writes report their full length; fsync reports 0
 *    (TIO_EINVAL on a pipe, the OS's answer); the files hold the model's
 *    bytes at the end (semantics 10, 11);
 *  - a buffer is untouched after its callback: it is poisoned there and
 *    checked before the task's next use and at the end; a write buffer is
 *    never written (semantic 6);
 *  - tio_file_close answers TIO_EBUSY while the file has pending tasks and
 *    0 otherwise; tio_cancel_file returns the model's count on that file;
 *  - at the end every pending task completes within LIVENESS_NS, cancelled
 *    ones too with nobody feeding or draining the pipes (a cancelled pipe
 *    read or write must not wait for the other end; tio_loop_destroy would
 *    hang on it, semantic 9); then tio_drain returns 0, tio_pending is 0
 *    and every file closes with 0.
 *
 * Environment: TIO_FUZZ_DIR (else TMPDIR, else /tmp) holds the scratch
 * files; TIO_FUZZ_TRACE=1 prints every operation and callback;
 * TIO_FUZZ_BACKEND=io_uring|threads overrides byte 0's choice (a campaign
 * on one backend); TIO_FUZZ_SUBMIT_BATCH=0|1|a fixes tio_loop_config's
 * submit_batch: 0 TIO_SUBMIT_IN_RUN (a cancel before the run is always
 * TIO_ECANCELED, which the model checks), 1, or a for 0, the library's
 * adaptive default (else bits 62-63 of the input's FNV-1a hash pick it); TIO_FUZZ_LIVENESS_MS replaces the 10 s liveness bound;
 * TIO_FUZZ_NONBLOCK_PIPES=1 makes taskio's pipe ends always O_NONBLOCK, to
 * fuzz past a known bug of blocking streams (regress-threads-cancel-*);
 * TIO_FUZZ_FAULTS_NO_BUSY=1 leaves BUSY starts out of the fault schedule
 * (past regress-faults-busy-start-drain-hang).
 */
#include "fuzz.h"

#include "taskio.h"

#if defined(TIO_FAULTS) && TIO_FAULTS
/* The fault-injecting variant (tio-fuzz-faults, tio-fuzz-replay-faults):
 * linked with taskio_faults, every loop gets a schedule of the faults that
 * DESIGN says the user never sees (semantic 11), seeded by the input, so
 * the same model must hold. Injected failures and short transfers are
 * visible by design and stay off. */
#  include "common/faults.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tio_util.h" /* MS, now_ns, fnv64 */

#define NTASKS 8u
#define NFILES 2u
#define NPIPES 2u
#define FILE_BYTES 65536u              /* every file operation stays below this offset */
#define BUF_BYTES (FILE_BYTES + 8192u) /* a task's buffer */
#define PIPE_WINDOW 256u               /* unread in-pipe bytes at most: a byte locates itself */
#define OUT_SEGS 1024u                 /* reported out-pipe writes not yet read */
#define MAX_OPS 400u
#define LIVENESS_NS (10000 * MS)

enum op_kind { K_NONE = 0, K_READ, K_WRITE, K_FSYNC, K_SLEEP };
static const char *const kind_names[] = {"none", "read", "write", "fsync", "sleep"};

/* Which tio_file a task uses: the target, and for a pipe pair the direction. */
enum { FID_A, FID_B, FID_IN0, FID_IN1, FID_OUT0, FID_OUT1, NFIDS };
static const char *const fid_names[] = {"file A",    "file B",     "in-pipe 0",
                                        "in-pipe 1", "out-pipe 0", "out-pipe 1"};

typedef struct htask {
    tio_task t;
    unsigned idx;
    uint8_t *buf;
    bool pending;
    /* the operation, kept for resubmission from the callback */
    int kind;
    int fid; /* -1 for a sleep */
    uint64_t off;
    size_t len;
    uint64_t ns;
    unsigned fsync_flags;
    uint32_t wid; /* a write's data: write_byte(wid, j) */
    /* this submission */
    uint64_t seq;          /* global submission order */
    uint64_t epoch;        /* G.epoch when accepted */
    bool submitted_in_run; /* accepted from a callback */
    int64_t t_submit;
    bool cancelled, strict_cancel, timeout_armed, conflicted;
    int64_t timeout_earliest;
    uint32_t wseq0;     /* file read: the file's write stamp when accepted */
    uint64_t size_min0; /* file read: acknowledged size when accepted */
    /* behaviour of its callback */
    bool resubmit, probe;
    int cancel_other;
    size_t poison_len; /* buf[0, poison_len) holds poison_byte() while idle */
} htask;

typedef struct hfile {
    tio_file *f;
    char path[PATH_MAX];
    unsigned flags; /* open flags but CREATE/TRUNCATE */
    size_t align;
    uint32_t wseq;           /* stamp counter for touch[] */
    uint64_t size_min;       /* end of the furthest acknowledged write */
    uint64_t size_max;       /* end of the furthest write ever accepted */
    uint8_t val[FILE_BYTES]; /* the model's content where known[] */
    uint8_t known[FILE_BYTES];
    uint16_t busy[FILE_BYTES];  /* pending writes covering the byte */
    uint32_t touch[FILE_BYTES]; /* stamp of the last write accepted or completed on it */
} hfile;

/* In-pipe: taskio reads rfd, the fuzzer writes wfd. */
typedef struct hin {
    tio_file *f;
    int rfd, wfd; /* wfd -1 once the writer is closed */
    uint8_t salt;
    uint64_t written;             /* stream bytes written */
    uint64_t first;               /* lowest position no read has returned */
    uint8_t claimed[PIPE_WINDOW]; /* positions >= first returned by a read, by pos % 256 */
    bool eof_seen;
} hin;

/* Out-pipe: taskio writes wfd, the fuzzer reads rfd. */
typedef struct hseg {
    uint32_t wid, from, to; /* bytes [from, to) of write wid, reported, not yet read */
} hseg;

typedef struct hout {
    tio_file *f;
    int wfd, rfd; /* rfd -1 once the reader is closed */
    hseg seg[OUT_SEGS];
    unsigned head, count;
    uint64_t pending_read; /* bytes of the pending write the fuzzer received */
} hout;

static struct {
    bool ready, trace;
    char dir[PATH_MAX];
    uint8_t *scratch; /* for calls that must be refused, and checks */
    tio_loop *loop;
    const char *backend;
    unsigned queue_depth;
    unsigned submit_batch;
    htask task[NTASKS];
    hin in[NPIPES];
    hout out[NPIPES];
    uint64_t epoch; /* +1 entering and leaving every run-like call */
    bool in_run, in_cb, in_submit;
    unsigned cb_in_call;
    uint64_t seq;
    uint32_t wid;
    unsigned pipe_gen;
    htask *wait_task;
    bool wait_seen;
    int64_t wait_result;
    unsigned opno;
    bool warned_uring;
} G;

static hfile g_files[NFILES];
static bool g_small_out;      /* this input's out-pipes hold one page */
static bool g_force_nonblock; /* TIO_FUZZ_NONBLOCK_PIPES */

/* ------------------------------------------------------------- reporting */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\ntio-fuzz: DIVERGENCE (backend %s, queue depth %u, submit_batch %u, op %u): ",
            G.backend ? G.backend : "?", G.queue_depth, G.submit_batch, G.opno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define CHECK(cond, ...) \
  do {                   \
    if (!(cond))         \
      fail(__VA_ARGS__); \
  } while (0)

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    if (!G.trace)
        return;
    va_list ap;
    fprintf(stderr, "[op %u] ", G.opno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *err_name(int64_t r)
{
    return r >= 0 ? "bytes" : tio_strerror((int)r);
}

static const char *fid_name(int fid)
{
    return fid >= 0 && fid < NFIDS ? fid_names[fid] : "timer";
}

/* ----------------------------------------------------------------- helpers */

static bool is_file(int fid)
{
    return fid == FID_A || fid == FID_B;
}
static bool is_in(int fid)
{
    return fid == FID_IN0 || fid == FID_IN1;
}
static bool is_out(int fid)
{
    return fid == FID_OUT0 || fid == FID_OUT1;
}
static hin *in_of(int fid)
{
    return &G.in[fid - FID_IN0];
}
static hout *out_of(int fid)
{
    return &G.out[fid - FID_OUT0];
}

static int fid_of(int kind, int target)
{
    if (target < (int)NFILES)
        return target;
    return (kind == K_WRITE ? FID_OUT0 : FID_IN0) + (target - (int)NFILES);
}

static tio_file *file_of(int fid)
{
    return is_file(fid) ? g_files[fid].f : is_in(fid) ? in_of(fid)->f : out_of(fid)->f;
}

static uint8_t write_byte(uint32_t wid, size_t j)
{
    uint32_t x = wid * 0x9E3779B1u ^ (uint32_t)j * 0x85EBCA77u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (uint8_t)x;
}

static uint8_t in_byte(const hin *p, uint64_t pos)
{
    return (uint8_t)(pos + p->salt);
}
static uint8_t poison_byte(const htask *h)
{
    return (uint8_t)(0xA5u ^ (h->idx * 0x11u));
}

/* Times: fine steps below 128 us, then up to max_ns. */
static uint64_t time_ns(uint8_t b, int64_t max_ns)
{
    if (b < 128)
        return (uint64_t)b * 1000u;
    return 128000u + (uint64_t)(b - 128) * (uint64_t)(max_ns - 128000) / 127u;
}

/* Lengths: bytes below 128, then steps of `step`. */
static size_t length(uint8_t c, size_t step)
{
    return c < 128 ? c : (size_t)(c - 127) * step;
}

static unsigned pending_total(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NTASKS; i++)
        n += G.task[i].pending;
    return n;
}

static unsigned pending_on(int fid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NTASKS; i++)
        n += G.task[i].pending && G.task[i].fid == fid;
    return n;
}

static htask *pending_write_on(int fid)
{
    for (unsigned i = 0; i < NTASKS; i++)
        if (G.task[i].pending && G.task[i].fid == fid)
            return &G.task[i];
    return NULL;
}

static void check_pending_count(const char *where)
{
    unsigned lib = tio_pending(G.loop), model = pending_total();
    CHECK(lib == model, "tio_pending() is %u after %s, the model has %u pending tasks", lib, where,
          model);
}

static void check_poison(const htask *h)
{
    uint8_t pb = poison_byte(h);
    for (size_t j = 0; j < h->poison_len; j++)
        CHECK(h->buf[j] == pb,
              "task %u: buffer byte %zu is 0x%02x after its callback ran (poisoned 0x%02x): "
              "something wrote into a released buffer (semantic 6)",
              h->idx, j, h->buf[j], pb);
}

static void poison(htask *h, size_t len)
{
    memset(h->buf, poison_byte(h), len);
    if (len > h->poison_len)
        h->poison_len = len;
}

static void enter_run(void)
{
    G.epoch++;
    G.in_run = true;
    G.cb_in_call = 0;
}

static void leave_run(void)
{
    G.in_run = false;
    G.epoch++;
}

/* ------------------------------------------------------------ submission */

static void on_done(tio_task *task, int64_t result);

/* The library call for an operation, with any buffer and callback. */
static int call_op(htask *h, int kind, int fid, void *buf, uint64_t off, size_t len, uint64_t ns,
                   unsigned fsync_flags, tio_cb cb)
{
    int rc;
    G.in_submit = true;
    switch (kind) {
    case K_READ: rc = tio_read(G.loop, &h->t, file_of(fid), buf, len, off, cb); break;
    case K_WRITE: rc = tio_write(G.loop, &h->t, file_of(fid), buf, len, off, cb); break;
    case K_FSYNC: rc = tio_fsync(G.loop, &h->t, file_of(fid), fsync_flags, cb); break;
    default: rc = tio_sleep(G.loop, &h->t, ns, cb); break;
    }
    G.in_submit = false;
    return rc;
}

/* The model takes an accepted operation. */
static void model_accept(htask *h, int64_t t_submit)
{
    h->pending = true;
    h->seq = ++G.seq;
    h->epoch = G.epoch;
    h->submitted_in_run = G.in_run;
    h->t_submit = t_submit;
    h->cancelled = h->strict_cancel = h->timeout_armed = h->conflicted = false;
    h->timeout_earliest = INT64_MAX;
    if (is_out(h->fid))
        out_of(h->fid)->pending_read = 0;
    if (!is_file(h->fid) || (h->kind != K_READ && h->kind != K_WRITE))
        return;
    hfile *f = &g_files[h->fid];
    if (h->kind == K_READ) {
        h->wseq0 = f->wseq;
        h->size_min0 = f->size_min;
        return;
    }
    if (h->len == 0)
        return;
    /* Writes pending together over the same bytes land in either order. */
    for (unsigned i = 0; i < NTASKS; i++) {
        htask *o = &G.task[i];
        if (o != h && o->pending && o->kind == K_WRITE && o->fid == h->fid && o->len &&
            o->off < h->off + h->len && h->off < o->off + o->len)
            o->conflicted = h->conflicted = true;
    }
    uint32_t stamp = ++f->wseq;
    for (size_t j = 0; j < h->len; j++) {
        f->busy[h->off + j]++;
        f->touch[h->off + j] = stamp;
    }
    if (h->off + h->len > f->size_max)
        f->size_max = h->off + h->len;
}

/* Submit the task's operation; the model says it is idle. */
static void submit(htask *h)
{
    check_poison(h);
    if (h->kind == K_WRITE) {
        h->wid = ++G.wid;
        for (size_t j = 0; j < h->len; j++)
            h->buf[j] = write_byte(h->wid, j);
    }
    int64_t t0 = now_ns();
    int rc = call_op(h, h->kind, h->fid, h->buf, h->off, h->len, h->ns, h->fsync_flags, on_done);
    trace("task %u: %s %s off %llu len %zu ns %llu%s -> %d", h->idx, kind_names[h->kind],
          fid_name(h->fid), (unsigned long long)h->off, h->len, (unsigned long long)h->ns,
          G.in_cb ? " (from its callback)" : "", rc);
    CHECK(rc == 0, "task %u: tio_%s on %s (offset %llu, length %zu) returned %d (%s)", h->idx,
          kind_names[h->kind], fid_name(h->fid), (unsigned long long)h->off, h->len, rc,
          tio_strerror(rc));
    model_accept(h, t0);
}

/* ------------------------------------------------------------- in-pipes */

static void in_idle_check(int fid)
{
    hin *p = in_of(fid);
    for (uint64_t pos = p->first; pos < p->written; pos++)
        CHECK(!p->claimed[pos % PIPE_WINDOW],
              "%s: no read is pending, yet reads returned stream bytes from %llu on while bytes "
              "%llu..%llu were never returned (a read skipped data)",
              fid_name(fid), (unsigned long long)pos, (unsigned long long)p->first,
              (unsigned long long)pos - 1);
    if (p->eof_seen)
        CHECK(p->first == p->written,
              "%s: a read reported end of stream, yet %llu written bytes were never returned",
              fid_name(fid), (unsigned long long)(p->written - p->first));
}

static void finish_in_read(htask *h, int64_t res)
{
    hin *p = in_of(h->fid);
    CHECK(res >= 0 && (uint64_t)res <= h->len,
          "task %u: read of %zu bytes on %s returned %lld (%s)", h->idx, h->len, fid_name(h->fid),
          (long long)res, err_name(res));
    if (res == 0) {
        if (h->len > 0) {
            CHECK(p->wfd < 0,
                  "task %u: read on %s returned 0 (end of stream) but the writer is "
                  "open",
                  h->idx, fid_name(h->fid));
            p->eof_seen = true;
        }
        return;
    }
    uint64_t pos = p->first + (uint8_t)(h->buf[0] - in_byte(p, p->first));
    CHECK(pos + (uint64_t)res <= p->written,
          "task %u: read on %s returned %lld bytes starting 0x%02x: not a run of written, "
          "unreturned bytes (%llu written, %llu returned)",
          h->idx, fid_name(h->fid), (long long)res, h->buf[0], (unsigned long long)p->written,
          (unsigned long long)p->first);
    for (uint64_t j = 0; j < (uint64_t)res; j++) {
        CHECK(h->buf[j] == in_byte(p, pos + j),
              "task %u: read on %s returned byte %llu = 0x%02x, stream position %llu holds 0x%02x",
              h->idx, fid_name(h->fid), (unsigned long long)j, h->buf[j],
              (unsigned long long)(pos + j), in_byte(p, pos + j));
        CHECK(!p->claimed[(pos + j) % PIPE_WINDOW],
              "task %u: read on %s returned stream position %llu, which another read returned "
              "already",
              h->idx, fid_name(h->fid), (unsigned long long)(pos + j));
        p->claimed[(pos + j) % PIPE_WINDOW] = 1;
    }
    while (p->first < p->written && p->claimed[p->first % PIPE_WINDOW])
        p->claimed[p->first++ % PIPE_WINDOW] = 0;
}

static void in_setup(unsigned i, bool nonblock)
{
    hin *p = &G.in[i];
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
    if (nonblock)
        CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
    p->rfd = fds[0];
    p->wfd = fds[1];
    G.in_submit = true;
    int rc = tio_file_wrap(G.loop, &p->f, p->rfd, TIO_RDONLY);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_wrap(in-pipe): %d (%s)", rc, tio_strerror(rc));
    CHECK(tio_file_align(p->f) == 1 && !tio_file_is_direct(p->f), "a pipe is not buffered");
    p->salt = (uint8_t)(G.pipe_gen++ * 61u + i * 17u);
    p->written = p->first = 0;
    memset(p->claimed, 0, sizeof p->claimed);
    p->eof_seen = false;
}

/* Close an idle in-pipe: taskio's file first, then what is left in the
 * pipe must be exactly the bytes no read returned. */
static void in_teardown(unsigned i)
{
    hin *p = &G.in[i];
    int fid = FID_IN0 + (int)i;
    CHECK(pending_on(fid) == 0, "in-pipe teardown with pending reads");
    in_idle_check(fid);
    G.in_submit = true;
    int rc = tio_file_close(p->f);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_close(%s) with nothing pending: %d (%s)", fid_name(fid), rc,
          tio_strerror(rc));
    p->f = NULL;
    CHECK(fcntl(p->rfd, F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
    uint64_t left = 0;
    for (;;) {
        ssize_t n = read(p->rfd, G.scratch, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            CHECK(n == 0 || errno == EAGAIN, "read in-pipe: %s", strerror(errno));
            break;
        }
        for (ssize_t j = 0; j < n; j++)
            CHECK(p->first + left + (uint64_t)j < p->written &&
                      G.scratch[j] == in_byte(p, p->first + left + (uint64_t)j),
                  "%s: byte %llu left in the pipe is 0x%02x, not the next unreturned stream "
                  "byte (%llu written, %llu returned by reads)",
                  fid_name(fid), (unsigned long long)(left + (uint64_t)j), G.scratch[j],
                  (unsigned long long)p->written, (unsigned long long)p->first);
        left += (uint64_t)n;
    }
    CHECK(p->first + left == p->written,
          "%s: %llu bytes were written, reads returned %llu, but %llu are left in the pipe: "
          "%llu bytes vanished (a read consumed data it did not report)",
          fid_name(fid), (unsigned long long)p->written, (unsigned long long)p->first,
          (unsigned long long)left, (unsigned long long)(p->written - p->first - left));
    close(p->rfd);
    if (p->wfd >= 0)
        close(p->wfd);
    p->rfd = p->wfd = -1;
}

/* ------------------------------------------------------------ out-pipes */

/* The fuzzer received byte b from the out-pipe: it must be the next byte of
 * the reported stream, or of the write still pending. */
static void out_receive(int fid, uint8_t b, uint64_t nth)
{
    hout *o = out_of(fid);
    uint8_t want;
    if (o->count > 0) {
        hseg *s = &o->seg[o->head];
        want = write_byte(s->wid, s->from);
        if (++s->from == s->to) {
            o->head = (o->head + 1) % OUT_SEGS;
            o->count--;
        }
    } else {
        htask *w = pending_write_on(fid);
        CHECK(w != NULL,
              "%s: the reader received a byte (0x%02x, #%llu of this read) that no "
              "pending or reported write put there (a write reported an error or fewer bytes "
              "than it wrote)",
              fid_name(fid), b, (unsigned long long)nth);
        CHECK(o->pending_read < w->len,
              "%s: the reader received more bytes than task %u's "
              "pending write holds",
              fid_name(fid), w->idx);
        want = write_byte(w->wid, o->pending_read++);
    }
    CHECK(b == want, "%s: the reader received 0x%02x, the stream holds 0x%02x there", fid_name(fid),
          b, want);
}

/* The fuzzer reads up to n bytes of what taskio wrote (never blocks). */
static uint64_t out_read(int fid, size_t n)
{
    hout *o = out_of(fid);
    uint64_t got = 0;
    while (o->rfd >= 0 && got < n) {
        size_t want = n - got < BUF_BYTES ? n - (size_t)got : BUF_BYTES;
        ssize_t m = read(o->rfd, G.scratch, want);
        if (m < 0 && errno == EINTR)
            continue;
        if (m <= 0) {
            CHECK(m == 0 || errno == EAGAIN, "read out-pipe: %s", strerror(errno));
            break;
        }
        for (ssize_t j = 0; j < m; j++)
            out_receive(fid, G.scratch[j], got + (uint64_t)j);
        got += (uint64_t)m;
    }
    return got;
}

static void finish_out_write(htask *h, int64_t res)
{
    hout *o = out_of(h->fid);
    if (res < 0) {
        CHECK(o->pending_read == 0,
              "task %u: write on %s reported %lld (%s), but the reader "
              "already received %llu of its bytes",
              h->idx, fid_name(h->fid), (long long)res, err_name(res),
              (unsigned long long)o->pending_read);
    } else {
        CHECK((uint64_t)res >= o->pending_read,
              "task %u: write on %s reported %lld bytes, but "
              "the reader already received %llu of them",
              h->idx, fid_name(h->fid), (long long)res, (unsigned long long)o->pending_read);
        if (o->rfd >= 0 && (uint64_t)res > o->pending_read) {
            CHECK(o->count < OUT_SEGS, "out-pipe segment queue full");
            o->seg[(o->head + o->count++) % OUT_SEGS] = (hseg){h->wid, (uint32_t)o->pending_read,
                                                               (uint32_t)res};
        }
    }
    o->pending_read = 0;
}

static void out_setup(unsigned i, bool nonblock, bool small)
{
    hout *o = &G.out[i];
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
    CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
    if (nonblock)
        CHECK(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
    if (small)
        (void)fcntl(fds[1], F_SETPIPE_SZ, 4096); /* one page: writes fill it and wait */
    o->rfd = fds[0];
    o->wfd = fds[1];
    G.in_submit = true;
    int rc = tio_file_wrap(G.loop, &o->f, o->wfd, TIO_WRONLY);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_wrap(out-pipe): %d (%s)", rc, tio_strerror(rc));
    o->head = o->count = 0;
    o->pending_read = 0;
}

/* Close an idle out-pipe: what is left in it must be exactly the reported
 * bytes the fuzzer has not read. */
static void out_teardown(unsigned i)
{
    hout *o = &G.out[i];
    int fid = FID_OUT0 + (int)i;
    CHECK(pending_on(fid) == 0, "out-pipe teardown with a pending write");
    G.in_submit = true;
    int rc = tio_file_close(o->f);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_close(%s) with nothing pending: %d (%s)", fid_name(fid), rc,
          tio_strerror(rc));
    o->f = NULL;
    out_read(fid, SIZE_MAX);
    if (o->rfd >= 0) {
        uint64_t missing = 0;
        for (unsigned k = 0; k < o->count; k++) {
            const hseg *s = &o->seg[(o->head + k) % OUT_SEGS];
            missing += s->to - s->from;
        }
        CHECK(o->count == 0, "%s: %llu bytes reported written never reached the reader",
              fid_name(fid), (unsigned long long)missing);
        close(o->rfd);
    }
    close(o->wfd);
    o->rfd = o->wfd = -1;
}

/* --------------------------------------------------------------- results */

static void finish_file_read(htask *h, int64_t res)
{
    hfile *f = &g_files[h->fid];
    CHECK(res >= 0 && (uint64_t)res <= h->len,
          "task %u: read of %zu bytes at %llu on %s returned %lld (%s)", h->idx, h->len,
          (unsigned long long)h->off, fid_name(h->fid), (long long)res, err_name(res));
    uint64_t end = h->off + (uint64_t)res;
    if (res > 0)
        CHECK(end <= f->size_max,
              "task %u: read at %llu on %s returned %lld bytes, past the end "
              "of anything ever written (%llu)",
              h->idx, (unsigned long long)h->off, fid_name(h->fid), (long long)res,
              (unsigned long long)f->size_max);
    if ((uint64_t)res < h->len)
        CHECK(end >= h->size_min0,
              "task %u: read of %zu at %llu on %s was short (%lld) though "
              "writes acknowledged before it made the file %llu bytes",
              h->idx, h->len, (unsigned long long)h->off, fid_name(h->fid), (long long)res,
              (unsigned long long)h->size_min0);
    for (uint64_t j = 0; j < (uint64_t)res; j++) {
        uint64_t i = h->off + j;
        if (f->busy[i] || f->touch[i] > h->wseq0 || !f->known[i])
            continue;
        CHECK(h->buf[j] == f->val[i],
              "task %u: read at %llu on %s: byte %llu is 0x%02x, the last acknowledged write "
              "left 0x%02x",
              h->idx, (unsigned long long)h->off, fid_name(h->fid), (unsigned long long)i,
              h->buf[j], f->val[i]);
    }
}

/* A write completed with res (< 0: it may or may not have written). */
static void finish_write(htask *h, int64_t res)
{
    for (size_t j = 0; j < h->len; j++)
        CHECK(h->buf[j] == write_byte(h->wid, j),
              "task %u: the library changed byte %zu of a write buffer", h->idx, j);
    if (is_out(h->fid)) {
        finish_out_write(h, res);
        return;
    }
    if (h->len == 0)
        return;
    hfile *f = &g_files[h->fid];
    bool full = res == (int64_t)h->len && !h->conflicted;
    uint32_t stamp = ++f->wseq;
    for (size_t j = 0; j < h->len; j++) {
        uint64_t i = h->off + j;
        f->busy[i]--;
        f->touch[i] = stamp;
        f->known[i] = full;
        f->val[i] = write_byte(h->wid, j);
    }
    if (res > 0 && h->off + (uint64_t)res > f->size_min)
        f->size_min = h->off + (uint64_t)res;
}

static void check_sleep_order(const htask *h)
{
    for (unsigned i = 0; i < NTASKS; i++) {
        const htask *o = &G.task[i];
        CHECK(!(o != h && o->pending && o->kind == K_SLEEP && !o->cancelled && o->seq < h->seq &&
                o->ns <= h->ns),
              "sleep of task %u (%llu ns) completed before the earlier, no longer sleep of task "
              "%u (%llu ns)",
              h->idx, (unsigned long long)h->ns, o->idx, (unsigned long long)o->ns);
    }
}

static void check_result(htask *h, int64_t res)
{
    int64_t now = now_ns();
    const char *kn = kind_names[h->kind], *fn = fid_name(h->fid);
    if (h->strict_cancel)
        CHECK(res == TIO_ECANCELED,
              "task %u: %s on %s was cancelled before any run (it never "
              "reached the OS) but reported %lld (%s), not TIO_ECANCELED",
              h->idx, kn, fn, (long long)res, err_name(res));
    if (res == TIO_ECANCELED || res == TIO_ETIMEDOUT) {
        if (res == TIO_ECANCELED)
            CHECK(h->cancelled, "task %u: %s on %s reported TIO_ECANCELED but was not cancelled",
                  h->idx, kn, fn);
        else
            CHECK(h->timeout_armed && now >= h->timeout_earliest,
                  "task %u: %s on %s reported TIO_ETIMEDOUT %s", h->idx, kn, fn,
                  h->timeout_armed ? "before its deadline" : "without a tio_timeout");
        CHECK(h->kind != K_SLEEP || res == TIO_ECANCELED, "task %u: a sleep timed out", h->idx);
        if (h->kind == K_WRITE)
            finish_write(h, res);
        return;
    }
    switch (h->kind) {
    case K_SLEEP:
        CHECK(res == 0, "task %u: sleep reported %lld (%s)", h->idx, (long long)res, err_name(res));
        CHECK(now - h->t_submit >= (int64_t)h->ns,
              "task %u: sleep of %llu ns completed after "
              "%lld ns",
              h->idx, (unsigned long long)h->ns, (long long)(now - h->t_submit));
        check_sleep_order(h);
        break;
    case K_FSYNC:
        CHECK(res == 0, "task %u: fsync on %s reported %lld (%s)", h->idx, fn, (long long)res,
              err_name(res));
        break;
    case K_WRITE:
        if (is_out(h->fid))
            /* A stream write may report a short count (semantic 11), or
             * TIO_EPIPE once the reader is gone. */
            CHECK((res > 0 && (uint64_t)res <= h->len) || (res == 0 && h->len == 0) ||
                      (res == TIO_EPIPE && out_of(h->fid)->rfd < 0),
                  "task %u: write of %zu on %s reported %lld (%s)%s", h->idx, h->len, fn,
                  (long long)res, err_name(res), out_of(h->fid)->rfd < 0 ? " (reader closed)" : "");
        else
            CHECK(res == (int64_t)h->len, "task %u: write of %zu at %llu on %s reported %lld (%s)",
                  h->idx, h->len, (unsigned long long)h->off, fn, (long long)res, err_name(res));
        finish_write(h, res);
        break;
    case K_READ:
        if (is_in(h->fid))
            finish_in_read(h, res);
        else
            finish_file_read(h, res);
        break;
    default: fail("task %u: callback for an unknown operation", h->idx);
    }
}

/* What a callback may do: refused run-like calls, cancel a task, resubmit. */
static void callback_actions(htask *h)
{
    if (h->probe) {
        int rc;
        CHECK((rc = tio_run(G.loop, 0)) == TIO_EBUSY, "tio_run in a callback returned %d", rc);
        CHECK((rc = tio_drain(G.loop)) == TIO_EBUSY, "tio_drain in a callback returned %d", rc);
        int64_t w = tio_wait(G.loop, &h->t, 0);
        CHECK(w == TIO_EBUSY, "tio_wait in a callback returned %lld", (long long)w);
        CHECK((rc = tio_cancel(G.loop, &h->t)) == TIO_ENOENT,
              "tio_cancel of a task in its own callback returned %d, expected TIO_ENOENT", rc);
        CHECK((rc = tio_timeout(G.loop, &h->t, 0)) == TIO_ENOENT,
              "tio_timeout of a task in its own callback returned %d, expected TIO_ENOENT", rc);
    }
    if (h->cancel_other >= 0) {
        htask *o = &G.task[h->cancel_other];
        h->cancel_other = -1;
        G.in_submit = true;
        int rc = tio_cancel(G.loop, &o->t);
        G.in_submit = false;
        trace("task %u's callback: cancel task %u -> %d", h->idx, o->idx, rc);
        CHECK(rc == (o->pending ? 0 : TIO_ENOENT),
              "tio_cancel of %s task %u in a callback "
              "returned %d",
              o->pending ? "pending" : "idle", o->idx, rc);
        if (rc == 0)
            o->cancelled = true;
    }
    if (h->resubmit && h->kind != K_NONE) {
        h->resubmit = false;
        submit(h);
    }
}

static void on_done(tio_task *task, int64_t result)
{
    htask *h = task->data;
    CHECK(h >= G.task && h < G.task + NTASKS, "a callback for a task the fuzzer does not own");
    trace("task %u: callback %s on %s -> %lld (%s)", h->idx, kind_names[h->kind], fid_name(h->fid),
          (long long)result, err_name(result));
    CHECK(G.in_run, "task %u: callback ran outside tio_run/tio_wait/tio_drain", h->idx);
    CHECK(!G.in_submit, "task %u: callback ran inside a submitting call", h->idx);
    CHECK(!G.in_cb, "task %u: callback ran inside another callback", h->idx);
    CHECK(h->pending,
          "task %u: a callback for a task that is not pending (second callback?), "
          "result %lld",
          h->idx, (long long)result);
    CHECK(result == task->result, "task %u: callback result %lld but task->result %lld", h->idx,
          (long long)result, (long long)task->result);
    G.in_cb = true;
    check_result(h, result);
    h->pending = false;
    G.cb_in_call++;
    if (G.wait_task == h && !G.wait_seen) {
        G.wait_seen = true;
        G.wait_result = result;
    }
    if (h->kind == K_READ || h->kind == K_WRITE)
        poison(h, h->len);
    if (is_in(h->fid) && pending_on(h->fid) == 0)
        in_idle_check(h->fid);
    callback_actions(h);
    G.in_cb = false;
}

/* ------------------------------------------------------------------ files */

static void file_open(unsigned i, unsigned extra)
{
    hfile *f = &g_files[i];
    G.in_submit = true;
    int rc = tio_file_open(G.loop, &f->f, f->path, f->flags | extra, 0600);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_open(%s, 0x%x): %d (%s) %s", f->path, f->flags | extra, rc,
          tio_strerror(rc), tio_last_error(G.loop));
    f->align = tio_file_align(f->f);
    bool direct = tio_file_is_direct(f->f);
    CHECK(f->align >= 1 && (f->align & (f->align - 1)) == 0 && f->align <= 4096 &&
              (direct || f->align == 1),
          "%s: alignment %zu (direct %d)", fid_name((int)i), f->align, direct);
    CHECK(direct == 0 || (f->flags & TIO_DIRECT_TRY), "%s: direct without TIO_DIRECT_TRY",
          fid_name((int)i));
}

static void file_verify(unsigned i)
{
    hfile *f = &g_files[i];
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0, "open %s: %s", f->path, strerror(errno));
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat %s: %s", f->path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    CHECK(size >= f->size_min && size <= f->size_max,
          "%s is %llu bytes at the end; acknowledged writes reach %llu, accepted ones %llu",
          fid_name((int)i), (unsigned long long)size, (unsigned long long)f->size_min,
          (unsigned long long)f->size_max);
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, G.scratch + got, size - got, (off_t)got);
        CHECK(n > 0, "pread %s: %s", f->path, n < 0 ? strerror(errno) : "short");
        got += (size_t)n;
    }
    close(fd);
    for (size_t j = 0; j < size; j++)
        CHECK(!f->known[j] || G.scratch[j] == f->val[j],
              "%s at the end: byte %zu is 0x%02x, the last acknowledged write left 0x%02x",
              fid_name((int)i), j, G.scratch[j], f->val[j]);
}

/* ------------------------------------------------------------- operations */

static void op_io(int kind, uint8_t a, uint8_t b, uint8_t c)
{
    htask *h = &G.task[a & 7u];
    int fid = kind == K_SLEEP ? -1 : fid_of(kind, (int)((a >> 3) & 3u));
    if (h->pending) {
        /* Refused before anything is looked at: the pending buffer is not touched. */
        int rc = call_op(h, kind, fid, G.scratch, 0, 16, 0, 0, on_done);
        trace("task %u: %s on pending task -> %d", h->idx, kind_names[kind], rc);
        CHECK(rc == TIO_EBUSY,
              "task %u: tio_%s on a pending task returned %d, expected "
              "TIO_EBUSY",
              h->idx, kind_names[kind], rc);
        return;
    }
    if (is_out(fid) && pending_on(fid) > 0)
        return; /* one write at a time per out-pipe: the model knows the stream's order */
    h->kind = kind;
    h->fid = fid;
    h->off = 0;
    h->len = 0;
    h->ns = 0;
    h->fsync_flags = (b & 1u) ? TIO_FSYNC_DATA : 0;
    if (kind == K_FSYNC && !is_file(fid)) {
        /* Nothing to make durable on a pipe: refused at submission, no callback. */
        int rc = tio_fsync(G.loop, &h->t, file_of(fid), h->fsync_flags, on_done);
        CHECK(rc == TIO_EINVAL, "task %u: tio_fsync on %s returned %d, expected TIO_EINVAL", h->idx,
              fid_name(fid), rc);
        h->kind = K_NONE;
        return;
    }
    if (kind == K_SLEEP) {
        h->ns = time_ns(b, 5 * MS);
    } else if (kind != K_FSYNC && !is_file(fid)) {
        h->off = (uint64_t)b * 977u; /* ignored on a stream */
        h->len = length(c, is_out(fid) ? 512 : 8);
    } else if (kind != K_FSYNC) {
        size_t al = g_files[fid].align;
        uint64_t off = ((uint64_t)b * 256u + (uint64_t)(a >> 5) * 40u) % FILE_BYTES;
        size_t len = length(c, 512);
        off &= ~(uint64_t)(al - 1);
        len &= ~(al - 1);
        if (off + len > FILE_BYTES)
            len = (FILE_BYTES - (size_t)off) & ~(al - 1);
        h->off = off;
        h->len = len;
    }
    submit(h);
}

static void cancelled(htask *h)
{
    h->cancelled = true;
    /* Under submit_batch N or the adaptive default the starting call may
     * already have handed it to the OS: then either result is right. */
    if (!h->submitted_in_run && h->epoch == G.epoch && G.submit_batch == TIO_SUBMIT_IN_RUN)
        h->strict_cancel = true;
}

static void op_cancel(uint8_t a)
{
    htask *h = &G.task[a & 7u];
    G.in_submit = true;
    int rc = tio_cancel(G.loop, &h->t);
    G.in_submit = false;
    trace("task %u: cancel -> %d", h->idx, rc);
    CHECK(rc == (h->pending ? 0 : TIO_ENOENT), "tio_cancel of %s task %u returned %d",
          h->pending ? "pending" : "idle", h->idx, rc);
    if (rc == 0)
        cancelled(h);
}

/* The file a target names; on a pipe pair, bit 5 of a picks the out-pipe. */
static int fid_of_target(uint8_t a)
{
    int target = (int)((a >> 3) & 3u);
    return target < (int)NFILES ? target : fid_of((a & 0x20u) ? K_WRITE : K_READ, target);
}

static void op_cancel_file(uint8_t a)
{
    int fid = fid_of_target(a);
    G.in_submit = true;
    int rc = tio_cancel_file(G.loop, file_of(fid));
    G.in_submit = false;
    trace("cancel_file %s -> %d", fid_name(fid), rc);
    CHECK(rc == (int)pending_on(fid),
          "tio_cancel_file(%s) returned %d, %u tasks are pending "
          "on it",
          fid_name(fid), rc, pending_on(fid));
    for (unsigned i = 0; i < NTASKS; i++)
        if (G.task[i].pending && G.task[i].fid == fid)
            cancelled(&G.task[i]);
}

static void op_timeout(uint8_t a, uint8_t b)
{
    htask *h = &G.task[a & 7u];
    uint64_t ns = time_ns(b, 5 * MS);
    int64_t t0 = now_ns();
    G.in_submit = true;
    int rc = tio_timeout(G.loop, &h->t, ns);
    G.in_submit = false;
    trace("task %u: timeout %llu ns -> %d", h->idx, (unsigned long long)ns, rc);
    int expect = !h->pending ? TIO_ENOENT : h->kind == K_SLEEP ? TIO_EINVAL : 0;
    CHECK(rc == expect, "tio_timeout of %s %s task %u returned %d, expected %d",
          h->pending ? "pending" : "idle", kind_names[h->kind], h->idx, rc, expect);
    if (rc == 0) {
        h->timeout_armed = true;
        if (t0 + (int64_t)ns < h->timeout_earliest)
            h->timeout_earliest = t0 + (int64_t)ns;
    }
}

static void op_run(uint8_t b)
{
    /* a quarter of the runs poll; the rest wait up to ~1 ms */
    int64_t ns = b < 64 ? 0 : (int64_t)time_ns((uint8_t)(b - 64), 2 * MS);
    enter_run();
    int rc = tio_run(G.loop, ns);
    leave_run();
    trace("run %lld ns -> %d", (long long)ns, rc);
    CHECK(rc >= 0 && (unsigned)rc == G.cb_in_call && (unsigned)rc <= G.queue_depth,
          "tio_run returned %d; it ran %u callbacks (budget %u)", rc, G.cb_in_call, G.queue_depth);
}

static void op_wait(uint8_t a, uint8_t b)
{
    htask *h = &G.task[a & 7u];
    int64_t ns = (int64_t)time_ns(b, 2 * MS);
    bool was_pending = h->pending;
    G.wait_task = h;
    G.wait_seen = false;
    enter_run();
    int64_t r = tio_wait(G.loop, &h->t, ns);
    leave_run();
    G.wait_task = NULL;
    trace("task %u: wait %lld ns -> %lld", h->idx, (long long)ns, (long long)r);
    if (!was_pending)
        CHECK(r == TIO_ENOENT && G.cb_in_call == 0,
              "tio_wait on idle task %u returned %lld "
              "after %u callbacks",
              h->idx, (long long)r, G.cb_in_call);
    else if (G.wait_seen)
        CHECK(r == G.wait_result, "tio_wait on task %u returned %lld, its callback had %lld",
              h->idx, (long long)r, (long long)G.wait_result);
    else
        CHECK(r == TIO_ETIMEDOUT && h->pending,
              "tio_wait on task %u returned %lld without "
              "its callback running",
              h->idx, (long long)r);
}

/* tio_drain only when nothing can block for ever: no read pending on an
 * in-pipe whose writer is open, no write pending on an out-pipe whose
 * reader is open (callbacks only repeat their own operation). */
static void op_drain(void)
{
    for (unsigned i = 0; i < NPIPES; i++)
        if ((G.in[i].wfd >= 0 && pending_on(FID_IN0 + (int)i) > 0) ||
            (G.out[i].rfd >= 0 && pending_on(FID_OUT0 + (int)i) > 0)) {
            op_run(0);
            return;
        }
    enter_run();
    int rc = tio_drain(G.loop);
    leave_run();
    trace("drain -> %d", rc);
    CHECK(rc == 0, "tio_drain returned %d", rc);
    CHECK(pending_total() == 0, "tio_drain returned with %u tasks pending", pending_total());
}

/* The fuzzer's side of pipe pair a & 1: bit 1 of a picks the out-pipe. */
static void op_pipe_io(uint8_t a, uint8_t b)
{
    unsigned i = a & 1u;
    if (a & 2u) {
        uint64_t got = out_read(FID_OUT0 + (int)i, length(b, 512));
        trace("out-pipe %u: the fuzzer read %llu", i, (unsigned long long)got);
        return;
    }
    hin *p = &G.in[i];
    if (p->wfd < 0)
        return;
    uint64_t room = PIPE_WINDOW - (p->written - p->first);
    size_t n = b < room ? b : (size_t)room;
    if (n == 0)
        return;
    uint8_t bytes[PIPE_WINDOW];
    for (size_t j = 0; j < n; j++)
        bytes[j] = in_byte(p, p->written + j);
    ssize_t w = write(p->wfd, bytes, n);
    trace("in-pipe %u: write %zu -> %zd", i, n, w);
    CHECK(w == (ssize_t)n, "write to the in-pipe: %zd (%s)", w, strerror(errno));
    p->written += n;
}

/* Close the fuzzer's end: the in-pipe's writer (reads see end of stream)
 * or the out-pipe's reader (writes see TIO_EPIPE; unread bytes are gone). */
static void op_pipe_close(uint8_t a)
{
    unsigned i = a & 1u;
    trace("%s-pipe %u: the fuzzer closes its end", (a & 2u) ? "out" : "in", i);
    if (a & 2u) {
        hout *o = &G.out[i];
        if (o->rfd >= 0)
            close(o->rfd);
        o->rfd = -1;
        o->head = o->count = 0;
    } else {
        if (G.in[i].wfd >= 0)
            close(G.in[i].wfd);
        G.in[i].wfd = -1;
    }
}

/* A new pipe (bit 1 of a: the out-pipe) once nothing is pending on it;
 * before that tio_file_close must refuse. */
static void op_pipe_recreate(uint8_t a, bool small)
{
    unsigned i = a & 1u;
    int fid = ((a & 2u) ? FID_OUT0 : FID_IN0) + (int)i;
    if (pending_on(fid) > 0) {
        G.in_submit = true;
        int rc = tio_file_close(file_of(fid));
        G.in_submit = false;
        trace("%s: close with tasks pending -> %d", fid_name(fid), rc);
        CHECK(rc == TIO_EBUSY, "tio_file_close(%s) with %u pending returned %d", fid_name(fid),
              pending_on(fid), rc);
        return;
    }
    trace("%s: recreate", fid_name(fid));
    bool nonblock = ((a >> 2) & 1u) || g_force_nonblock;
    if (a & 2u) {
        out_teardown(i);
        out_setup(i, nonblock, small);
    } else {
        in_teardown(i);
        in_setup(i, nonblock);
    }
}

static void op_flags(uint8_t a, uint8_t b, uint8_t c)
{
    htask *h = &G.task[a & 7u];
    h->resubmit = b & 1u;
    h->probe = (b >> 1) & 1u;
    h->cancel_other = (b & 4u) ? (int)(c & 7u) : -1;
}

/* tio_file_close: TIO_EBUSY while anything is pending, else 0 and the same
 * file is opened (or the same descriptor wrapped) again. */
static void op_close(uint8_t a)
{
    int fid = fid_of_target(a);
    unsigned pend = pending_on(fid);
    G.in_submit = true;
    int rc = tio_file_close(file_of(fid));
    G.in_submit = false;
    trace("close %s (%u pending) -> %d", fid_name(fid), pend, rc);
    CHECK(rc == (pend ? TIO_EBUSY : 0), "tio_file_close(%s) with %u pending returned %d (%s)",
          fid_name(fid), pend, rc, tio_strerror(rc));
    if (rc != 0)
        return;
    if (is_file(fid)) {
        file_open((unsigned)fid, 0); /* same file, same flags: the model carries on */
        return;
    }
    tio_file **slot = is_in(fid) ? &in_of(fid)->f : &out_of(fid)->f;
    int fd = is_in(fid) ? in_of(fid)->rfd : out_of(fid)->wfd;
    G.in_submit = true;
    rc = tio_file_wrap(G.loop, slot, fd, is_in(fid) ? TIO_RDONLY : TIO_WRONLY);
    G.in_submit = false;
    CHECK(rc == 0, "tio_file_wrap(%s) again: %d", fid_name(fid), rc);
}

/* Calls that must be refused with a defined code, leaving the task idle. */
static void op_misuse(uint8_t a, uint8_t b, uint8_t c)
{
    htask *h = &G.task[a & 7u];
    if (h->pending) {
        op_io(K_READ + (int)(c & 3u), a, b, c); /* TIO_EBUSY */
        return;
    }
    int fid = fid_of_target(a);
    tio_loop *L = G.loop;
    tio_task *t = &h->t;
    tio_file *f = file_of(fid);
    size_t al = is_file(fid) ? g_files[fid].align : 1;
    uint8_t *buf = G.scratch;
    unsigned kind = b % 14u;
    int rc = 0, expect = TIO_EINVAL;
    G.in_submit = true;
    switch (kind) {
    case 0: /* offset not a multiple of the direct alignment */
        if (al == 1)
            goto out;
        rc = tio_read(L, t, f, buf, al, (uint64_t)al * (c & 7u) + 1u + c % (al - 1), on_done);
        break;
    case 1: /* length not a multiple */
        if (al == 1)
            goto out;
        rc = tio_write(L, t, f, buf, al + 1u + c % (al - 1), 0, on_done);
        break;
    case 2: /* buffer not aligned */
        if (al == 1)
            goto out;
        rc = tio_read(L, t, f, buf + 1u + c % (al - 1), al, 0, on_done);
        break;
    case 3: rc = tio_read(L, t, f, buf, TIO_MAX_IO + 1u + c, 0, on_done); break;
    case 4: /* against the access mode of a wrapped pipe end */
        expect = TIO_EBADF;
        if (c & 2u)
            rc = tio_read(L, t, G.out[c & 1u].f, buf, 1u + c, 0, on_done);
        else
            rc = tio_write(L, t, G.in[c & 1u].f, buf, 1u + c, 0, on_done);
        break;
    case 5: rc = tio_read(L, t, f, buf, al, UINT64_MAX - c, on_done); break;
    case 6: rc = tio_read(L, t, f, NULL, 16, 0, on_done); break;
    case 7: rc = tio_write(L, t, f, buf, 16, 0, NULL); break;
    case 8: rc = tio_fsync(L, t, f, 2u << (c & 7u), on_done); break;
    case 9: rc = tio_sleep(L, t, c, NULL); break;
    case 10: /* an idle task is not pending anywhere */
        expect = TIO_ENOENT;
        CHECK((rc = tio_timeout(L, t, c)) == expect, "tio_timeout(idle) returned %d", rc);
        CHECK(tio_wait(L, t, 0) == expect, "tio_wait(idle) did not return TIO_ENOENT");
        rc = tio_cancel(L, t);
        break;
    case 11: /* NULL everywhere */
        CHECK(tio_read(NULL, t, f, buf, 16, 0, on_done) == expect, "tio_read(NULL loop)");
        CHECK(tio_read(L, NULL, f, buf, 16, 0, on_done) == expect, "tio_read(NULL task)");
        CHECK(tio_write(L, t, NULL, buf, 16, 0, on_done) == expect, "tio_write(NULL file)");
        CHECK(tio_fsync(L, t, NULL, 0, on_done) == expect, "tio_fsync(NULL file)");
        CHECK(tio_sleep(L, NULL, 1, on_done) == expect, "tio_sleep(NULL task)");
        CHECK(tio_cancel(NULL, t) == expect && tio_cancel(L, NULL) == expect, "tio_cancel(NULL)");
        CHECK(tio_timeout(L, NULL, 1) == expect, "tio_timeout(NULL task)");
        CHECK(tio_cancel_file(L, NULL) == expect && tio_cancel_file(NULL, f) == expect,
              "tio_cancel_file(NULL)");
        CHECK(tio_file_close(NULL) == expect, "tio_file_close(NULL)");
        CHECK(tio_run(NULL, 0) == expect && tio_drain(NULL) == expect, "tio_run/drain(NULL)");
        CHECK(tio_wait(NULL, t, 0) == expect && tio_wait(L, NULL, 0) == expect, "tio_wait(NULL)");
        CHECK(tio_pending(NULL) == 0, "tio_pending(NULL)");
        rc = tio_read(L, t, f, buf, 16, 0, NULL);
        break;
    case 12: { /* wrapping: bad flags, a bad descriptor, the wrong access mode */
        tio_file *w = NULL;
        int rfd = G.in[c & 1u].rfd;
        CHECK(tio_file_wrap(L, &w, rfd, TIO_RDONLY | TIO_DIRECT) == expect && w == NULL,
              "tio_file_wrap with TIO_DIRECT");
        CHECK(tio_file_wrap(L, &w, rfd, 3) == expect && w == NULL, "tio_file_wrap mode 3");
        CHECK(tio_file_wrap(L, &w, -1, TIO_RDONLY) == TIO_EBADF && w == NULL, "tio_file_wrap(-1)");
        CHECK(tio_file_wrap(L, &w, rfd, TIO_RDWR) == TIO_EBADF && w == NULL,
              "tio_file_wrap(read end, TIO_RDWR)");
        CHECK(tio_file_wrap(L, &w, G.out[c & 1u].wfd, TIO_RDONLY) == TIO_EBADF && w == NULL,
              "tio_file_wrap(write end, TIO_RDONLY)");
        rc = tio_file_wrap(L, NULL, rfd, TIO_RDONLY);
        break;
    }
    default: { /* opening: bad flags, EXCL on an existing file, a missing file */
        tio_file *o = NULL;
        char missing[PATH_MAX + 8];
        snprintf(missing, sizeof missing, "%s/missing", G.dir);
        const char *path = g_files[c & 1u].path;
        CHECK(tio_file_open(L, &o, path, 3, 0600) == expect && o == NULL, "open mode 3");
        CHECK(tio_file_open(L, &o, path, TIO_RDWR | TIO_EXCL, 0600) == expect && o == NULL,
              "open EXCL without CREATE");
        CHECK(tio_file_open(L, &o, path, TIO_RDONLY | TIO_TRUNCATE, 0600) == expect && o == NULL,
              "open RDONLY|TRUNCATE");
        CHECK(tio_file_open(L, &o, path, TIO_RDWR | TIO_CREATE | TIO_EXCL, 0600) == TIO_EEXIST &&
                  o == NULL,
              "open CREATE|EXCL of an existing file");
        CHECK(tio_file_open(L, &o, missing, TIO_RDONLY, 0) == TIO_ENOENT && o == NULL,
              "open of a missing file");
        rc = tio_file_open(L, &o, path, 1u << 20, 0600);
        break;
    }
    }
    trace("task %u: misuse %u on %s -> %d", h->idx, kind, fid_name(fid), rc);
    CHECK(rc == expect, "misuse %u (task %u, %s): returned %d (%s), expected %d (%s)", kind, h->idx,
          fid_name(fid), rc, tio_strerror(rc), expect, tio_strerror(expect));
out:
    rc = tio_cancel(L, t);
    G.in_submit = false;
    CHECK(rc == TIO_ENOENT, "task %u is not idle after refused call %u (tio_cancel: %d)", h->idx,
          kind, rc);
}

static void do_op(uint8_t op, uint8_t a, uint8_t b, uint8_t c)
{
    switch (op & 15u) {
    case 0: op_io(K_READ, a, b, c); break;
    case 1: op_io(K_WRITE, a, b, c); break;
    case 2: op_io(K_FSYNC, a, b, c); break;
    case 3: op_io(K_SLEEP, a, b, c); break;
    case 4: op_cancel(a); break;
    case 5: op_cancel_file(a); break;
    case 6: op_timeout(a, b); break;
    case 7: op_run(b); break;
    case 8: op_pipe_io(a, b); break;
    case 9: op_pipe_close(a); break;
    case 10: op_pipe_recreate(a, g_small_out); break;
    case 11: op_flags(a, b, c); break;
    case 12: op_wait(a, b); break;
    case 13: op_close(a); break;
    case 14: op_misuse(a, b, c); break;
    default: op_drain(); break;
    }
}

/* --------------------------------------------------------- input lifetime */

#if defined(TIO_FAULTS) && TIO_FAULTS
static void enable_faults(uint64_t seed, uint8_t h0)
{
    unsigned permille[TIO__FAULT_KINDS] = {0};
    unsigned rate = (h0 & 0x80u) ? 300u : 60u; /* byte 0 bit 7: heavy */
    const char *nobusy = getenv("TIO_FUZZ_FAULTS_NO_BUSY");
    if (nobusy == NULL || nobusy[0] == '\0' || nobusy[0] == '0')
        permille[TIO__FAULT_START_BUSY] = rate;
    permille[TIO__FAULT_WAIT_EINTR] = rate;
    permille[TIO__FAULT_ENTER] = rate;
    permille[TIO__FAULT_CQE_AGAIN] = rate;
    permille[TIO__FAULT_SYNC] = rate;
    int rc = tio__faults_enable(G.loop, seed, permille);
    CHECK(rc == 0, "tio__faults_enable: %d", rc);
}

static void report_faults(void)
{
    if (G.trace)
        trace("faults injected: busy %llu, wait %llu, enter %llu, cqe %llu, sync %llu",
              (unsigned long long)tio__faults_hits(G.loop, TIO__FAULT_START_BUSY),
              (unsigned long long)tio__faults_hits(G.loop, TIO__FAULT_WAIT_EINTR),
              (unsigned long long)tio__faults_hits(G.loop, TIO__FAULT_ENTER),
              (unsigned long long)tio__faults_hits(G.loop, TIO__FAULT_CQE_AGAIN),
              (unsigned long long)tio__faults_hits(G.loop, TIO__FAULT_SYNC));
}
#else
static void enable_faults(uint64_t seed, uint8_t h0)
{
    (void)seed;
    (void)h0;
}

static void report_faults(void) {}
#endif

static void setup(uint8_t h0, uint8_t h1, uint64_t seed)
{
    static const unsigned depths[8] = {256, 1, 2, 3, 4, 8, 16, 64};
    static const unsigned workers[4] = {4, 1, 2, 3};
    const char *forced = getenv("TIO_FUZZ_BACKEND");
    if (forced != NULL && forced[0] != '\0')
        h0 = (uint8_t)((h0 & ~1u) | (strcmp(forced, "threads") == 0));
    /* No bit of bytes 0-1 is free: the input's hash picks the policy, so
     * a campaign covers all three, unless the environment fixes it. */
    static const unsigned policies[4] = {TIO_SUBMIT_IN_RUN, 1, 0, 0};
    const char *batch = getenv("TIO_FUZZ_SUBMIT_BATCH");
    unsigned submit_batch = policies[seed >> 62];
    if (batch != NULL && batch[0] != '\0')
        submit_batch = batch[0] == '1' ? 1 : batch[0] == 'a' ? 0 : TIO_SUBMIT_IN_RUN;
    tio_loop_config cfg = {depths[(h0 >> 2) & 7u], workers[(h0 >> 5) & 3u],
                           (h0 & 1u) ? "threads" : "io_uring", submit_batch};
    G.backend = cfg.backend;
    G.queue_depth = cfg.queue_depth;
    G.submit_batch = cfg.submit_batch;
    int rc = tio_loop_create(&G.loop, &cfg);
    if (rc == TIO_ENOTSUP && !(h0 & 1u)) {
        if (!G.warned_uring)
            fprintf(stderr, "tio-fuzz: io_uring refused (%s); its inputs run on threads\n",
                    tio_last_error(NULL));
        G.warned_uring = true;
        cfg.backend = "threads";
        rc = tio_loop_create(&G.loop, &cfg);
    }
    CHECK(rc == 0, "tio_loop_create(%s): %d (%s) %s", cfg.backend, rc, tio_strerror(rc),
          tio_last_error(NULL));
    G.backend = tio_loop_backend(G.loop);
    CHECK(strcmp(G.backend, cfg.backend) == 0, "asked for %s, got %s", cfg.backend, G.backend);
    enable_faults(seed, h0);
    G.epoch = G.seq = 0;
    G.wid = 0;
    G.pipe_gen = 0;
    G.in_run = G.in_cb = G.in_submit = false;
    G.wait_task = NULL;
    for (unsigned i = 0; i < NTASKS; i++) {
        htask *h = &G.task[i];
        memset(&h->t, 0, sizeof h->t);
        h->t.data = h;
        h->pending = false;
        h->kind = K_NONE;
        h->fid = -1;
        h->resubmit = h->probe = false;
        h->cancel_other = -1;
        h->poison_len = 0;
    }
    for (unsigned i = 0; i < NFILES; i++) {
        hfile *f = &g_files[i];
        f->flags = TIO_RDWR;
        if (i == 0 && (h1 & 1u))
            f->flags |= TIO_DSYNC;
        if (i == 1 && (h1 & 2u))
            f->flags |= TIO_DIRECT_TRY;
        if (i == 1 && (h1 & 4u))
            f->flags |= TIO_DSYNC;
        file_open(i, TIO_CREATE | TIO_TRUNCATE);
        f->wseq = 0;
        f->size_min = f->size_max = 0;
        memset(f->val, 0, sizeof f->val); /* never-written bytes read as zeros */
        memset(f->known, 1, sizeof f->known);
        memset(f->busy, 0, sizeof f->busy);
        memset(f->touch, 0, sizeof f->touch);
    }
    const char *nb = getenv("TIO_FUZZ_NONBLOCK_PIPES");
    g_force_nonblock = nb != NULL && nb[0] != '\0' && nb[0] != '0';
    if (g_force_nonblock)
        h1 |= 0x78u;
    g_small_out = !(h1 & 0x80u);
    for (unsigned i = 0; i < NPIPES; i++) {
        in_setup(i, (h1 >> (3 + i)) & 1u);
        out_setup(i, (h1 >> (5 + i)) & 1u, g_small_out);
    }
    trace("input: backend %s, queue depth %u, submit_batch %u, workers %u, A 0x%x, B 0x%x (align "
          "%zu), "
          "in-pipes nonblocking %u/%u, out-pipes nonblocking %u/%u, %s",
          G.backend, cfg.queue_depth, cfg.submit_batch, cfg.threads, g_files[0].flags,
          g_files[1].flags, g_files[1].align, (h1 >> 3) & 1u, (h1 >> 4) & 1u, (h1 >> 5) & 1u,
          (h1 >> 6) & 1u, g_small_out ? "one-page out-pipes" : "default out-pipes");
}

static void describe_pending(char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < NTASKS && n < size; i++) {
        const htask *h = &G.task[i];
        if (h->pending)
            n += (size_t)snprintf(out + n, size - n, " task %u (%s of %zu on %s%s)", h->idx,
                                  kind_names[h->kind], h->len, fid_name(h->fid),
                                  h->cancelled ? ", cancelled" : "");
    }
}

static void finish_input(bool cancel_all)
{
    for (unsigned i = 0; i < NTASKS; i++) {
        G.task[i].resubmit = false;
        G.task[i].cancel_other = -1;
    }
    if (cancel_all) {
        for (unsigned i = 0; i < NTASKS; i++)
            if (G.task[i].pending)
                op_cancel((uint8_t)i);
    } else {
        for (unsigned i = 0; i < NPIPES; i++)
            op_pipe_close((uint8_t)i);
    }
    /* Everything must complete: after cancel_all with nobody feeding or
     * draining the pipes, else with the in-pipes at end of stream and the
     * out-pipes read as they fill. */
    int64_t liveness_ns = LIVENESS_NS;
    const char *lv = getenv("TIO_FUZZ_LIVENESS_MS");
    if (lv != NULL && atoll(lv) > 0)
        liveness_ns = atoll(lv) * MS;
    int64_t deadline = now_ns() + liveness_ns;
    while (pending_total() > 0) {
        if (now_ns() > deadline) {
            char what[512];
            describe_pending(what, sizeof what);
            fail("liveness: %u tasks still pending %lld ms after %s:%s", pending_total(),
                 (long long)(liveness_ns / MS),
                 cancel_all ? "every task was cancelled (nobody feeds or drains the pipes)"
                            : "every in-pipe writer was closed (out-pipes are read)",
                 what);
        }
        if (!cancel_all)
            for (unsigned i = 0; i < NPIPES; i++)
                out_read(FID_OUT0 + (int)i, SIZE_MAX);
        op_run(255); /* waits ~1 ms */
    }
    for (unsigned i = 0; i < NPIPES; i++)
        op_pipe_close((uint8_t)i);
    enter_run();
    int rc = tio_drain(G.loop);
    leave_run();
    CHECK(rc == 0 && G.cb_in_call == 0, "final tio_drain: %d after %u callbacks", rc, G.cb_in_call);
    check_pending_count("the final drain");
    for (unsigned i = 0; i < NTASKS; i++)
        check_poison(&G.task[i]);
    for (unsigned i = 0; i < NPIPES; i++) {
        in_teardown(i);
        out_teardown(i);
    }
    for (unsigned i = 0; i < NFILES; i++) {
        G.in_submit = true;
        rc = tio_file_close(g_files[i].f);
        G.in_submit = false;
        CHECK(rc == 0, "tio_file_close(%s) at the end: %d (%s)", fid_name((int)i), rc,
              tio_strerror(rc));
        g_files[i].f = NULL;
        file_verify(i);
    }
    report_faults();
    tio_loop_destroy(G.loop);
    G.loop = NULL;
}

static void cleanup(void)
{
    for (unsigned i = 0; i < NFILES; i++)
        unlink(g_files[i].path);
    rmdir(G.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (G.ready)
        return 0;
    const char *tr = getenv("TIO_FUZZ_TRACE");
    G.trace = tr != NULL && tr[0] != '\0' && tr[0] != '0';
    const char *base = getenv("TIO_FUZZ_DIR");
    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(G.dir, sizeof G.dir, "%s/tio-fuzz.XXXXXX", base);
    CHECK(mkdtemp(G.dir) != NULL, "mkdtemp %s: %s", G.dir, strerror(errno));
    for (unsigned i = 0; i < NFILES; i++) {
        int n = snprintf(g_files[i].path, sizeof g_files[i].path, "%s/%c", G.dir, 'a' + (int)i);
        CHECK(n > 0 && (size_t)n < sizeof g_files[i].path, "scratch path too long");
    }
    for (unsigned i = 0; i < NTASKS; i++) {
        G.task[i].idx = i;
        G.task[i].buf = tio_alloc(BUF_BYTES, 4096);
        CHECK(G.task[i].buf != NULL, "tio_alloc");
    }
    G.scratch = tio_alloc(BUF_BYTES, 4096);
    CHECK(G.scratch != NULL, "tio_alloc");
    /* SIGPIPE keeps its default: taskio's writes to a closed out-pipe must
     * report TIO_EPIPE and raise nothing (semantic 14). */
    atexit(cleanup);
    G.ready = true;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!G.ready)
        LLVMFuzzerInitialize(NULL, NULL);
    uint64_t seed = fnv64(data, size); /* FNV-1a of the input: the fault seed */
    G.opno = 0;
    setup(size > 0 ? data[0] : 0, size > 1 ? data[1] : 0, seed);
    size_t pos = 2;
    for (unsigned n = 0; pos + 4 <= size && n < MAX_OPS; n++, pos += 4) {
        G.opno = n + 1;
        do_op(data[pos], data[pos + 1], data[pos + 2], data[pos + 3]);
        check_pending_count("an operation");
    }
    G.opno = 0;
    finish_input(size > 0 && (data[0] & 2u));
    return 0;
}
