/* SPDX-License-Identifier: MIT */
/*
 * The taskio engine: one loop on the chosen backend, qd tasks each
 * resubmitted from its own callback, tio_run(TIO_FOREVER) until nothing is
 * pending. This is how an engine is meant to use taskio.
 *
 * --sync (QD 1): the synchronous caller instead (a pager, a simple WAL):
 * start one operation, tio_wait for it, then the next; the callback does
 * nothing. With --jobs each thread has its own loop.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include "taskio.h"

#define TASKIO_DEFAULT_QUEUE_DEPTH 256u /* tio_loop_config.queue_depth's default */

struct slot {
    tio_task task; /* task.data points back at the slot */
    struct bench *b;
    tio_loop *loop;
    tio_file *file;
    unsigned char *buf;
    uint64_t start_ns;
};

static void on_complete(tio_task *task, int64_t result);

static int submit(struct slot *s, const struct bench_io *io, uint64_t now)
{
    size_t bs = s->b->cfg->bs;
    s->start_ns = now;
    if (io->write)
        return tio_write(s->loop, &s->task, s->file, s->buf, bs, io->offset, on_complete);
    return tio_read(s->loop, &s->task, s->file, s->buf, bs, io->offset, on_complete);
}

static void on_complete(tio_task *task, int64_t result)
{
    struct slot *s = task->data;
    struct bench *b = s->b;
    if (result < 0 && !b->failed) {
        int os = tio_os_error(task);
        bench_fail(b, "%s (OS error %d: %s)", tio_strerror((int)result), os, strerror(os));
    }
    uint64_t now = bench_complete(b, s->start_ns,
                                  result < 0 ? -(int64_t)tio_os_error(task) : result);
    struct bench_io io;
    if (bench_next(b, &io)) {
        int rc = submit(s, &io, now);
        if (rc < 0)
            bench_fail(b, "resubmit: %s: %s", tio_strerror(rc), tio_last_error(s->loop));
    }
}

static void on_sync_complete(tio_task *task, int64_t result)
{
    (void)task; /* tio_wait returns the result */
    (void)result;
}

static int submit_sync(struct slot *s, const struct bench_io *io)
{
    size_t bs = s->b->cfg->bs;
    if (io->write)
        return tio_write(s->loop, &s->task, s->file, s->buf, bs, io->offset, on_sync_complete);
    return tio_read(s->loop, &s->task, s->file, s->buf, bs, io->offset, on_sync_complete);
}

static int run(struct bench *b)
{
    const struct bench_config *c = b->cfg;
    tio_loop *loop = NULL;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = c->backend;
    cfg.queue_depth = c->qd > TASKIO_DEFAULT_QUEUE_DEPTH ? c->qd : 0;
    cfg.threads = c->threads;
    cfg.submit_batch = c->submit_batch;
    int rc = tio_loop_create(&loop, &cfg);
    if (rc < 0) {
        const char *why = tio_last_error(NULL); /* why this thread's create failed */
        printf("taskio   %-10s skipped: %s\n", c->backend ? c->backend : "(default)",
               *why != '\0' ? why : tio_strerror(rc));
        fflush(stdout);
        return 1;
    }
    b->info.backend = tio_loop_backend(loop);
    b->info.workers = strcmp(b->info.backend, "threads") == 0 ? (c->threads ? c->threads : 4) : 0;
    if (c->submit_batch || c->sync) {
        if (c->submit_batch == TIO_SUBMIT_IN_RUN)
            snprintf(b->note_buf, sizeof b->note_buf, "%ssubmit_batch TIO_SUBMIT_IN_RUN",
                     c->sync ? "start + tio_wait; " : "");
        else if (c->submit_batch)
            snprintf(b->note_buf, sizeof b->note_buf, "%ssubmit_batch %u",
                     c->sync ? "start + tio_wait; " : "", c->submit_batch);
        else
            snprintf(b->note_buf, sizeof b->note_buf, "start + tio_wait");
        b->info.note = b->note_buf;
    }

    unsigned flags = (b->has_reads && b->has_writes ? TIO_RDWR
                      : b->has_writes               ? TIO_WRONLY
                                                    : TIO_RDONLY) |
                     (b->direct_ok ? TIO_DIRECT : 0) | (c->dsync ? TIO_DSYNC : 0);
    tio_file *file = NULL;
    rc = tio_file_open(loop, &file, c->path, flags, 0644);
    if (rc < 0) {
        fprintf(stderr, "tio-bench: taskio: %s: %s: %s\n", c->path, tio_strerror(rc),
                tio_last_error(loop));
        tio_loop_destroy(loop);
        return -1;
    }
    if (b->buf_align % tio_file_align(file) != 0) {
        fprintf(stderr, "tio-bench: taskio: the file needs %zu-byte alignment\n",
                tio_file_align(file));
        tio_file_close(file);
        tio_loop_destroy(loop);
        return -1;
    }

    /* Everything is allocated here, once: no allocation per operation. */
    struct slot *slots = calloc(c->qd, sizeof *slots); /* zeroed tasks are idle */
    if (slots == NULL) {
        fprintf(stderr, "tio-bench: taskio: out of memory\n");
        tio_file_close(file);
        tio_loop_destroy(loop);
        return -1;
    }
    for (unsigned i = 0; i < c->qd; i++) {
        slots[i].task.data = &slots[i];
        slots[i].b = b;
        slots[i].loop = loop;
        slots[i].file = file;
        slots[i].buf = b->bufs + (size_t)i * c->bs;
    }

    int result = 0;
    uint64_t now = bench_begin(b);
    struct bench_io io;
    if (c->sync) {
        while (bench_next(b, &io)) {
            rc = submit_sync(&slots[0], &io);
            if (rc < 0) {
                bench_fail(b, "start: %s: %s", tio_strerror(rc), tio_last_error(loop));
                break;
            }
            int64_t res = tio_wait(loop, &slots[0].task, TIO_FOREVER);
            b->waits++;
            if (res < 0 && !b->failed) {
                int os = tio_os_error(&slots[0].task);
                bench_fail(b, "%s (OS error %d: %s)", tio_strerror((int)res), os, strerror(os));
            }
            now = bench_complete(b, now, res < 0 ? -(int64_t)tio_os_error(&slots[0].task) : res);
        }
    }
    for (unsigned i = 0; !c->sync && i < c->qd && bench_next(b, &io); i++) {
        rc = submit(&slots[i], &io, now);
        if (rc < 0) {
            bench_fail(b, "submit: %s: %s", tio_strerror(rc), tio_last_error(loop));
            break;
        }
    }
    /* Until a run finds nothing pending: a run that ran callbacks needs no
     * separate tio_pending call. */
    for (;;) {
        rc = tio_run(loop, TIO_FOREVER);
        if (rc < 0) {
            /* Tasks may still own their buffers: stop here, the OS frees them. */
            fprintf(stderr, "tio-bench: taskio: tio_run: %s: %s\n", tio_strerror(rc),
                    tio_last_error(loop));
            exit(1);
        }
        if (rc == 0 && tio_pending(loop) == 0)
            break;
        b->waits++;
    }
    rc = tio_file_close(file);
    if (rc < 0) {
        fprintf(stderr, "tio-bench: taskio: tio_file_close: %s\n", tio_strerror(rc));
        result = -1;
    }
    tio_loop_destroy(loop);
    free(slots);
    return result;
}

const struct bench_engine bench_engine_taskio = {"taskio", run, NULL};
