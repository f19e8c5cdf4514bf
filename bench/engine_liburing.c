/* SPDX-License-Identifier: MIT */
/*
 * The liburing engine: the floor. What a careful hand-written io_uring
 * engine does, and nothing it would not: one ring sized to the queue depth,
 * SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them (6.1; else
 * COOP_TASKRUN, else plain), one io_uring_submit_and_wait per batch (every
 * SQE prepared since the last enter goes in the enter that waits), all
 * ready CQEs reaped per wake-up with one CQ-head advance, and each
 * completion's slot prepared again at once. No locks, no lists, no
 * indirection: user_data is the slot index.
 *
 * Variants, to find out what the hardware and kernel reward:
 *   --fixed               registers the file (IOSQE_FIXED_FILE) and the
 *                         buffers (READ_FIXED/WRITE_FIXED): saves the kernel
 *                         an fget/fput and the page pinning per operation
 *   --uring-setup MODE    defer (the default above), coop
 *                         (SINGLE_ISSUER|COOP_TASKRUN) or plain (no flags)
 *   --uring-submit each   io_uring_submit right after each completion's new
 *                         SQE (one enter per operation, as fio's io_uring
 *                         engine does by default), then wait; with coop
 *                         setup the kernel also posts completions during
 *                         those enters, so the loop sleeps less often
 */
#include "bench.h"

#if defined(TIO_BENCH_LIBURING)

#  include <errno.h>
#  include <fcntl.h>
#  include <liburing.h>
#  include <stdlib.h>
#  include <string.h>
#  include <sys/uio.h>
#  include <unistd.h>

struct uslot {
    uint64_t start_ns;
    struct bench_io io; /* kept for a retry after -EAGAIN */
};

struct uring_engine {
    struct io_uring ring;
    struct bench *b;
    struct uslot *slots;
    int fd;
    bool fixed;
    unsigned inflight;
};

static void prep(struct uring_engine *u, unsigned i, const struct bench_io *io, uint64_t now)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    /* At most qd SQEs are ever unsubmitted and the SQ has qd entries. */
    if (sqe == NULL) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
        if (sqe == NULL) {
            bench_fail(u->b, "io_uring: no SQE");
            return;
        }
    }
    size_t bs = u->b->cfg->bs;
    void *buf = u->b->bufs + (size_t)i * bs;
    if (u->fixed) {
        if (io->write)
            io_uring_prep_write_fixed(sqe, 0, buf, (unsigned)bs, io->offset, (int)i);
        else
            io_uring_prep_read_fixed(sqe, 0, buf, (unsigned)bs, io->offset, (int)i);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else if (io->write) {
        io_uring_prep_write(sqe, u->fd, buf, (unsigned)bs, io->offset);
    } else {
        io_uring_prep_read(sqe, u->fd, buf, (unsigned)bs, io->offset);
    }
    io_uring_sqe_set_data64(sqe, i);
    u->slots[i].start_ns = now;
    u->slots[i].io = *io;
    u->inflight++;
}

static const struct {
    unsigned flags;
    const char *name;
} ring_setups[] = {
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN"},
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, "SINGLE_ISSUER|COOP_TASKRUN"},
    {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
    {0, "no setup flags"},
};

static int run(struct bench *b)
{
    const struct bench_config *c = b->cfg;
    struct uring_engine u; /* on this thread's stack: one per --jobs thread */
    memset(&u, 0, sizeof u);
    u.b = b;
    u.fixed = c->fixed;
    int rc = -EINVAL;
    size_t k = c->uring_setup; /* 0 defer, 1 coop, 3 plain; fall back from there */
    for (; k < sizeof ring_setups / sizeof ring_setups[0] && rc == -EINVAL; k++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = ring_setups[k].flags;
        rc = io_uring_queue_init_params(c->qd, &u.ring, &p);
    }
    if (rc < 0) {
        printf("liburing skipped: io_uring_setup: %s\n", strerror(-rc));
        fflush(stdout);
        return 1;
    }
    char *note = b->note_buf;
    snprintf(note, sizeof b->note_buf, "ring: %s; %s%s", ring_setups[k - 1].name,
             c->uring_submit_each ? "one submit per operation" : "submit-and-wait batches",
             u.fixed ? "; registered file and buffers" : "");
    b->info.backend = "io_uring";
    b->info.note = note;

    u.fd = open(c->path, b->open_flags);
    u.slots = calloc(c->qd, sizeof *u.slots);
    struct iovec *iov = calloc(c->qd, sizeof *iov);
    int result = -1;
    if (u.fd < 0) {
        fprintf(stderr, "tio-bench: liburing: %s: %s\n", c->path, strerror(errno));
        goto out;
    }
    if (u.slots == NULL || iov == NULL) {
        fprintf(stderr, "tio-bench: liburing: out of memory\n");
        goto out;
    }
    if (u.fixed) {
        for (unsigned i = 0; i < c->qd; i++) {
            iov[i].iov_base = b->bufs + (size_t)i * c->bs;
            iov[i].iov_len = c->bs;
        }
        if ((rc = io_uring_register_files(&u.ring, &u.fd, 1)) < 0 ||
            (rc = io_uring_register_buffers(&u.ring, iov, c->qd)) < 0) {
            fprintf(stderr, "tio-bench: liburing: registering: %s\n", strerror(-rc));
            goto out;
        }
    }

    uint64_t now = bench_begin(b);
    struct bench_io io;
    for (unsigned i = 0; i < c->qd && bench_next(b, &io); i++)
        prep(&u, i, &io, now);
    while (u.inflight > 0) {
        rc = io_uring_submit_and_wait(&u.ring, 1);
        b->waits++;
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            fprintf(stderr, "tio-bench: liburing: io_uring_enter: %s\n", strerror(-rc));
            exit(1); /* the kernel may still own buffers */
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe (&u.ring, head, cqe) {
            unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
            int res = cqe->res;
            seen++;
            u.inflight--;
            if (res == -EAGAIN) {
                /* Transient (XFS, some drivers): issue it again, as taskio
                 * does; its latency keeps counting from the first issue. */
                struct bench_io again = u.slots[i].io;
                prep(&u, i, &again, u.slots[i].start_ns);
                continue;
            }
            now = bench_complete(b, u.slots[i].start_ns, res);
            if (bench_next(b, &io)) {
                prep(&u, i, &io, now);
                if (c->uring_submit_each)
                    io_uring_submit(&u.ring);
            }
        }
        io_uring_cq_advance(&u.ring, seen);
    }
    result = 0;
out:
    io_uring_queue_exit(&u.ring);
    if (u.fd >= 0)
        close(u.fd);
    free(iov);
    free(u.slots);
    return result;
}

const struct bench_engine bench_engine_liburing = {"liburing", run, NULL};

#else

const struct bench_engine bench_engine_liburing = {
    "liburing", NULL, "built without liburing (TIO_BACKENDS without io_uring, or no liburing-dev)"};

#endif
