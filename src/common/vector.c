/* SPDX-License-Identifier: MIT */
/*
 * Vectored transfers (tio_readv/tio_writev) on the one pipeline: where the
 * next attempt starts, and how far a completed one got. The rules of a
 * transfer (whole writes, reads whole up to end of file, bytes before an
 * error) are outcome.c's, the same as for one buffer.
 *
 * A backend that can (io_uring READV/WRITEV, preadv/pwritev) gets the whole
 * transfer in one call. Anything after a short attempt, and every attempt
 * on a backend without vectored I/O (iocp: ReadFileScatter/WriteFileGather
 * need page-sized segments and an unbuffered handle), goes one leg at a
 * time: the rest of the current segment, as a plain read or write. A short
 * vectored call can stop mid-segment, and giving the OS a trimmed copy of
 * the caller's array would need memory per task; legs need none.
 */
#include "common/internal.h"

void tio__vec_prepare(const tio_loop *loop, tio__task *t)
{
    TIO_ASSERT((t->flags & TIO__TF_VEC) && t->v.seg <= t->v.count);
    if (t->v.left == 0) {
        t->buf = NULL;
        t->len = 0;
        return;
    }
    if (loop->backend->vectored && t->done == 0) {
        TIO_ASSERT(t->v.seg == 0 && t->v.skip == 0);
        t->buf = NULL;
        t->len = t->v.left;
        return;
    }
    /* Segments of length 0 (or finished) are passed over. */
    while (t->v.bufs[t->v.seg].len == t->v.skip) {
        t->v.seg++;
        t->v.skip = 0;
        TIO_ASSERT(t->v.seg < t->v.count);
    }
    const tio_buf *b = &t->v.bufs[t->v.seg];
    t->buf = (char *)b->base + t->v.skip;
    t->len = (uint32_t)(b->len - t->v.skip);
}

void tio__vec_advance(tio__task *t, uint32_t bytes)
{
    TIO_ASSERT((t->flags & TIO__TF_VEC) && bytes <= t->v.left);
    t->done += bytes;
    t->v.left -= bytes;
    t->offset += bytes;
    while (bytes > 0) {
        TIO_ASSERT(t->v.seg < t->v.count);
        size_t in_seg = t->v.bufs[t->v.seg].len - t->v.skip;
        if (bytes < in_seg) {
            t->v.skip += bytes;
            return;
        }
        bytes -= (uint32_t)in_seg;
        t->v.seg++;
        t->v.skip = 0;
    }
}
