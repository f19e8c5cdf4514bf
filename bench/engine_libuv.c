/* SPDX-License-Identifier: MIT */
/*
 * The libuv engine: what Node.js and many engines use for file I/O.
 * uv_fs_read/uv_fs_write with a callback on the default loop, so each
 * operation runs as a blocking pread/pwrite on libuv's thread pool and
 * comes back through the loop's async handle; qd requests are in flight,
 * each resubmitted from its callback, and uv_run returns when none is left.
 *
 * The pool has UV_THREADPOOL_SIZE threads (libuv's default: 4), read once
 * when the first request is queued: --threads N sets it (compare.sh passes
 * the same N to taskio's threads backend), otherwise the environment's value
 * is used and reported.
 */
#include "bench.h"

#if defined(TIO_BENCH_LIBUV)

#  include <errno.h>
#  include <fcntl.h>
#  include <stdlib.h>
#  include <string.h>
#  include <unistd.h>
#  include <uv.h>

struct uvslot {
    uv_fs_t req; /* req.data points back at the slot */
    struct bench *b;
    uv_loop_t *loop;
    uv_file fd;
    char *buf;
    uint64_t start_ns;
};

static void on_fs(uv_fs_t *req);

static int submit(struct uvslot *s, const struct bench_io *io, uint64_t now)
{
    uv_buf_t buf = uv_buf_init(s->buf, (unsigned)s->b->cfg->bs);
    s->start_ns = now;
    if (io->write)
        return uv_fs_write(s->loop, &s->req, s->fd, &buf, 1, (int64_t)io->offset, on_fs);
    return uv_fs_read(s->loop, &s->req, s->fd, &buf, 1, (int64_t)io->offset, on_fs);
}

static void on_fs(uv_fs_t *req)
{
    struct uvslot *s = req->data;
    struct bench *b = s->b;
    int64_t res = (int64_t)req->result; /* bytes, or a negative errno */
    uv_fs_req_cleanup(req);             /* frees nothing for one buffer */
    req->data = s;
    uint64_t now = bench_complete(b, s->start_ns, res);
    struct bench_io io;
    if (bench_next(b, &io)) {
        int rc = submit(s, &io, now);
        if (rc < 0)
            bench_fail(b, "resubmit: %s", uv_strerror(rc));
    }
}

static unsigned pool_size(const struct bench_config *c)
{
    if (c->threads) {
        char v[16];
        snprintf(v, sizeof v, "%u", c->threads);
        setenv("UV_THREADPOOL_SIZE", v, 1);
    }
    /* As libuv's threadpool.c reads it: 0 -> 1, capped at 1024 (1.44). */
    const char *env = getenv("UV_THREADPOOL_SIZE");
    unsigned n = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 4;
    if (n == 0)
        n = 1;
    if (n > 1024)
        n = 1024;
    return n;
}

static int run(struct bench *b)
{
    const struct bench_config *c = b->cfg;
    char *note = b->note_buf;
    snprintf(note, sizeof b->note_buf, "libuv %s, UV_THREADPOOL_SIZE=%u", uv_version_string(),
             pool_size(c));
    b->info.backend = "threadpool";
    b->info.workers = pool_size(c);
    b->info.note = note;

    uv_loop_t *loop = uv_default_loop();
    int fd = open(c->path, b->open_flags);
    struct uvslot *slots = calloc(c->qd, sizeof *slots);
    if (loop == NULL || fd < 0 || slots == NULL) {
        fprintf(stderr, "tio-bench: libuv: %s: %s\n", c->path,
                fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        free(slots);
        return -1;
    }
    for (unsigned i = 0; i < c->qd; i++) {
        slots[i].req.data = &slots[i];
        slots[i].b = b;
        slots[i].loop = loop;
        slots[i].fd = fd;
        slots[i].buf = (char *)b->bufs + (size_t)i * c->bs;
    }

    uint64_t now = bench_begin(b);
    struct bench_io io;
    for (unsigned i = 0; i < c->qd && bench_next(b, &io); i++) {
        int rc = submit(&slots[i], &io, now);
        if (rc < 0) {
            bench_fail(b, "submit: %s", uv_strerror(rc));
            break;
        }
    }
    uv_run(loop, UV_RUN_DEFAULT); /* returns when no request is left */
    close(fd);
    free(slots);
    return 0;
}

const struct bench_engine bench_engine_libuv = {"libuv", run, NULL};

#else

const struct bench_engine bench_engine_libuv = {
    "libuv", NULL, "built without libuv (apt-get install libuv1-dev, then reconfigure)"};

#endif
