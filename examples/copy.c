/* SPDX-License-Identifier: MIT */
/*
 * A direct-I/O file copy: several chunk buffers in a pipeline (reads and
 * writes in flight together), a deadline on every operation, a progress bar
 * on stderr, and Ctrl-C cancelling everything cleanly.
 *
 *   example-copy [--backend NAME] [--chunk-kib N] [--chunks N] [--deadline-ms N] SRC DST
 *
 * Exit status: 0 copied, 1 failed, 2 usage, 130 interrupted. After a failure
 * or an interrupt the partial destination is removed, and the message says so.
 *
 * For the tests: --make-source BYTES first writes SRC with a pattern;
 * --verify compares DST with SRC after the copy; --interrupt-after-chunks K
 * raises SIGINT once K chunks are written.
 */
#ifndef _WIN32
#  define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno, isatty */
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskio.h"

#ifdef _WIN32
#  include <io.h>
#  include <windows.h>
#  define stderr_is_tty() _isatty(_fileno(stderr))
#else
#  include <unistd.h>
#  define stderr_is_tty() isatty(fileno(stderr))
#endif

#define MS 1000000u /* nanoseconds */

typedef struct copy copy;

/* One chunk buffer: read a chunk of SRC into it, write it to DST, repeat. */
typedef struct slot {
    tio_task task;
    char *buf;
    uint64_t offset;
    size_t len, io_len; /* bytes of data; bytes moved (len padded to the alignment) */
    int writing;
    copy *c;
} slot;

struct copy {
    tio_loop *loop;
    tio_file *src, *dst;
    uint64_t size, next_offset, copied, deadline_ns, start_ns, shown_ns;
    size_t chunk, align;
    unsigned chunks_written, interrupt_after;
    int failed, tty;
};

/* tio_wake is not async-signal-safe on every backend (threads takes a
 * mutex), so the handler only sets this, and the loop runs in 50 ms steps
 * to notice it. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    signal(sig, on_sigint); /* Windows resets the handler before calling it */
    interrupted = 1;
}

static uint64_t now_ns(void)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static void fail(copy *c, const char *step, int64_t result)
{
    const char *why = tio_last_error(c->loop); /* explains a refused call; "" after a callback */
    if (!c->failed)
        fprintf(stderr, "\n%s: %s%s%s\n", step, tio_strerror((int)result), *why ? ". " : "", why);
    c->failed = 1; /* no new operation starts */
}

static void progress(copy *c, int final)
{
    uint64_t now = now_ns();
    if (!final && (!c->tty || now - c->shown_ns < 100 * MS))
        return;
    double pct = c->size ? 100.0 * (double)c->copied / (double)c->size : 100.0;
    double mib_s = (double)c->copied / 1048576.0 / ((double)(now - c->start_ns + 1) / 1e9);
    if (c->tty)
        fprintf(stderr, "\r[%-40.*s] %5.1f%% %7.1f MiB/s%s", (int)(pct * 0.4),
                "########################################", pct, mib_s, final ? "\n" : "");
    else
        fprintf(stderr, "%llu of %llu bytes copied (%.1f MiB/s)\n", (unsigned long long)c->copied,
                (unsigned long long)c->size, mib_s);
    c->shown_ns = now;
}

static void on_done(tio_task *task, int64_t result);

static void submit(copy *c, slot *sl, const char *what, int rc)
{
    if (rc == 0) /* a stuck device or a dead share fails the copy instead of hanging it */
        rc = tio_timeout(c->loop, &sl->task, c->deadline_ns);
    if (rc < 0)
        fail(c, what, rc);
}

static void start_read(slot *sl)
{
    copy *c = sl->c;
    if (c->failed || interrupted || c->next_offset == c->size)
        return;
    sl->offset = c->next_offset;
    sl->len = c->size - sl->offset < c->chunk ? (size_t)(c->size - sl->offset) : c->chunk;
    sl->io_len = (sl->len + c->align - 1) / c->align * c->align;
    sl->writing = 0;
    c->next_offset += sl->len;
    /* The last chunk is read whole-block: the read across end of file gives
     * the bytes that exist. */
    submit(c, sl, "read",
           tio_read(c->loop, &sl->task, c->src, sl->buf, sl->io_len, sl->offset, on_done));
}

static void on_done(tio_task *task, int64_t result)
{
    slot *sl = task->data;
    copy *c = sl->c;
    if (result != (int64_t)(sl->writing ? sl->io_len : sl->len)) {
        if (!(interrupted && result == TIO_ECANCELED)) /* not the interrupt's own cancel */
            fail(c,
                 sl->writing  ? "write"
                 : result < 0 ? "read"
                              : "read (the source changed size)",
                 result < 0 ? result : TIO_EIO);
        return;
    }
    if (sl->writing) {
        c->copied += sl->len;
        if (++c->chunks_written == c->interrupt_after)
            raise(SIGINT); /* the test's Ctrl-C, at a known point */
        start_read(sl);
    } else if (!c->failed && !interrupted) {
        /* The tail's padding goes to DST too; tio_truncate cuts it at the end. */
        memset(sl->buf + sl->len, 0, sl->io_len - sl->len);
        sl->writing = 1;
        submit(c, sl, "write",
               tio_write(c->loop, &sl->task, c->dst, sl->buf, sl->io_len, sl->offset, on_done));
    }
}

static void on_step(tio_task *task, int64_t result)
{
    (void)result;
    *(int *)task->data = 1;
}

/* Wait for one step (a call that returned rc) with a deadline, cancelling
 * it on Ctrl-C when `interruptible`. Returns its result. */
static int64_t step(copy *c, tio_task *t, int rc, int interruptible)
{
    int done = 0;
    if (rc < 0)
        return rc;
    t->data = &done;                         /* no callback runs inside the starting call */
    tio_timeout(c->loop, t, c->deadline_ns); /* cannot fail: the task is pending */
    while (!done) {
        if (interrupted && interruptible)
            tio_cancel(c->loop, t);
        tio_run(c->loop, 50 * MS);
    }
    return t->result;
}

/* 1 if a step succeeded; otherwise says why (unless Ctrl-C cancelled it). */
static int ok(copy *c, const char *what, int64_t result)
{
    if (result >= 0)
        return 1;
    if (!(interrupted && result == TIO_ECANCELED))
        fail(c, what, result);
    return 0;
}

/* Compare DST with SRC, with stdio: a check independent of taskio. */
static int same_files(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    static char ba[65536], bb[65536];
    size_t na = 1, nb = 1;
    int same = fa != NULL && fb != NULL;
    while (same && na > 0) {
        na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        same = na == nb && memcmp(ba, bb, na) == 0;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int make_source(const char *path, uint64_t bytes)
{
    FILE *f = fopen(path, "wb");
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; f != NULL && i < bytes; i++) {
        if (i % 8 == 0)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        putc((int)(x >> (i % 8 * 8)) & 0xff, f);
    }
    return f != NULL && fclose(f) == 0;
}

int main(int argc, char **argv)
{
    copy c = {0};
    tio_loop_config cfg = {0};
    tio_task t = TIO_TASK_INIT;
    tio_stat st;
    const char *src = NULL, *dst = NULL;
    unsigned nslots = 4, chunk_kib = 1024, deadline_ms = 10000;
    int verify = 0, status = 1, make = 0;
    uint64_t make_bytes = 0;
    slot *slots = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--verify") == 0)
            verify = 1;
        else if (strcmp(arg, "--backend") == 0 && val)
            cfg.backend = val, i++;
        else if (strcmp(arg, "--chunk-kib") == 0 && val)
            chunk_kib = (unsigned)strtoul(val, NULL, 10), i++;
        else if (strcmp(arg, "--chunks") == 0 && val)
            nslots = (unsigned)strtoul(val, NULL, 10), i++;
        else if (strcmp(arg, "--deadline-ms") == 0 && val)
            deadline_ms = (unsigned)strtoul(val, NULL, 10), i++;
        else if (strcmp(arg, "--make-source") == 0 && val)
            make_bytes = strtoull(val, NULL, 10), make = 1, i++;
        else if (strcmp(arg, "--interrupt-after-chunks") == 0 && val)
            c.interrupt_after = (unsigned)strtoul(val, NULL, 10), i++;
        else if (arg[0] != '-' && src == NULL)
            src = arg;
        else if (arg[0] != '-' && dst == NULL)
            dst = arg;
        else
            dst = NULL, i = argc;
    }
    if (dst == NULL || nslots - 1 >= 64 || chunk_kib - 1 >= 65536 || deadline_ms == 0) {
        fprintf(stderr,
                "usage: %s [--backend NAME] [--chunk-kib 1..65536] [--chunks 1..64] "
                "[--deadline-ms N] SRC DST\n",
                argv[0]);
        return 2;
    }
    if (make && !make_source(src, make_bytes)) {
        fprintf(stderr, "%s: cannot write the test source\n", src);
        return 1;
    }
    c.deadline_ns = (uint64_t)deadline_ms * MS, c.tty = stderr_is_tty();
    signal(SIGINT, on_sigint);
    int rc = tio_loop_create(&c.loop, &cfg);
    if (rc < 0) {
        fprintf(stderr, "loop: %s. %s\n", tio_strerror(rc), tio_last_error(NULL));
        return 1;
    }
    if (!ok(&c, src,
            step(&c, &t, tio_open(c.loop, &t, &c.src, src, TIO_RDONLY | TIO_DIRECT_TRY, 0, on_step),
                 1)) ||
        !ok(&c, "stat", step(&c, &t, tio_stat_file(c.loop, &t, c.src, &st, on_step), 1)) ||
        !ok(&c, dst,
            step(&c, &t,
                 tio_open(c.loop, &t, &c.dst, dst,
                          TIO_WRONLY | TIO_CREATE | TIO_TRUNCATE | TIO_DIRECT_TRY, 0644, on_step),
                 1)))
        goto stop;
    c.size = st.size;
    c.align = tio_file_align(c.src) > tio_file_align(c.dst) ? tio_file_align(c.src)
                                                            : tio_file_align(c.dst);
    c.chunk = ((size_t)chunk_kib * 1024 + c.align - 1) / c.align * c.align;
    /* Reserve the destination whole, so the copy cannot run out of space midway. */
    int64_t got = c.size ? step(&c, &t, tio_allocate(c.loop, &t, c.dst, 0, c.size, 0, on_step), 1)
                         : 0;
    if (got == TIO_ENOTSUP)
        fprintf(stderr, "note: this filesystem cannot reserve space; copying without\n");
    else if (!ok(&c, "allocate", got))
        goto stop;
    printf("%s backend, %s source, %s destination, %llu bytes in %u chunks of %zu KiB\n",
           tio_loop_backend(c.loop), tio_file_is_direct(c.src) ? "direct" : "buffered",
           tio_file_is_direct(c.dst) ? "direct" : "buffered", (unsigned long long)c.size, nslots,
           c.chunk / 1024);
    fflush(stdout);

    slots = calloc(nslots, sizeof *slots);
    for (unsigned i = 0; slots != NULL && i < nslots; i++)
        if ((slots[i].buf = tio_alloc(c.chunk, c.align > 4096 ? c.align : 0)) == NULL)
            fail(&c, "chunk buffers", TIO_ENOMEM);
    if (slots == NULL || c.failed)
        goto stop;
    c.start_ns = c.shown_ns = now_ns();
    for (unsigned i = 0; i < nslots; i++) {
        slots[i].c = &c, slots[i].task.data = &slots[i];
        start_read(&slots[i]);
    }
    for (int cancelled = 0; tio_pending(c.loop) > 0;) {
        if ((interrupted || c.failed) && !cancelled) {
            cancelled = 1; /* every read and write in flight, on both files */
            tio_cancel_file(c.loop, c.src);
            tio_cancel_file(c.loop, c.dst);
        }
        tio_run(c.loop, 50 * MS); /* bounded, to notice the Ctrl-C flag */
        progress(&c, 0);
    }
    if (c.tty || !(c.failed || interrupted))
        progress(&c, 1); /* the final line; a tty's bar needs its newline */
    /* Cut the tail's padding, make the data durable, close. */
    if (c.failed || interrupted ||
        !ok(&c, "truncate", step(&c, &t, tio_truncate(c.loop, &t, c.dst, c.size, on_step), 1)) ||
        !ok(&c, "fsync", step(&c, &t, tio_fsync(c.loop, &t, c.dst, 0, on_step), 1)))
        goto stop;
    got = step(&c, &t, tio_close(c.loop, &t, c.dst, on_step), 0);
    c.dst = NULL; /* closed, whatever the result */
    if (!ok(&c, "close", got))
        goto stop;
    status = 0;
    if (verify && !same_files(src, dst)) {
        fprintf(stderr, "verify: %s differs from %s\n", dst, src);
        status = 1;
    } else if (verify) {
        printf("verified: %s is identical to %s\n", dst, src);
    }

stop:
    /* Nothing is pending here: every step and the pipeline ran to their callbacks. */
    if (c.src != NULL)
        step(&c, &t, tio_close(c.loop, &t, c.src, on_step), 0);
    if (status != 0) {
        const char *outcome = "no destination was created";
        if (c.dst != NULL) {
            step(&c, &t, tio_close(c.loop, &t, c.dst, on_step), 0);
            got = step(&c, &t, tio_unlink(c.loop, &t, dst, on_step), 0);
            outcome = got == 0 ? "partial destination removed" : tio_strerror((int)got);
        }
        fprintf(stderr, "%s: %llu of %llu bytes copied; %s%s\n",
                interrupted ? "interrupted" : "failed", (unsigned long long)c.copied,
                (unsigned long long)c.size,
                got == 0 || c.dst == NULL ? ""
                                          : "cannot remove "
                                            "the partial destination: ",
                outcome);
        if (interrupted)
            status = 130;
    }
    tio_loop_destroy(c.loop);
    for (unsigned i = 0; slots != NULL && i < nslots; i++)
        tio_free(slots[i].buf);
    free(slots);
    return status;
}
