/* SPDX-License-Identifier: MIT */
/*
 * The pread engine: blocking pread/pwrite from one thread, one operation at
 * a time (queue depth 1): what a storage engine without an asynchronous
 * layer does, and the baseline every asynchronous layer must beat at QD 1
 * or at least match.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int run(struct bench *b)
{
    const struct bench_config *c = b->cfg;
    b->info.backend = "sync";
    int fd = open(c->path, b->open_flags);
    if (fd < 0) {
        fprintf(stderr, "tio-bench: pread: %s: %s\n", c->path, strerror(errno));
        return -1;
    }
    uint64_t now = bench_begin(b);
    struct bench_io io;
    while (bench_next(b, &io)) {
        ssize_t n;
        do {
            n = io.write ? pwrite(fd, b->bufs, c->bs, (off_t)io.offset)
                         : pread(fd, b->bufs, c->bs, (off_t)io.offset);
        } while (n < 0 && errno == EINTR);
        b->waits++;
        now = bench_complete(b, now, n < 0 ? -(int64_t)errno : (int64_t)n);
    }
    close(fd);
    return 0;
}

const struct bench_engine bench_engine_pread = {"pread", run, NULL};
