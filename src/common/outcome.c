/* SPDX-License-Identifier: MIT */
/*
 * Raw OS outcomes become results here, once, for every backend (DESIGN
 * semantics 4, 5, 7, 11, 12, 13). A backend reports what the OS said: bytes
 * moved, or a raw error code; tio__os_error_kind (per OS) says what kind of
 * error that is, and this file decides what the user sees.
 *
 *  - Writes are whole: a short write is continued from where it stopped,
 *    and an error after some bytes reports those bytes (the next write
 *    meets the error again). Reads on files and devices are whole up to
 *    end of file; reads on streams return what is there.
 *  - End of data is 0 bytes, never an error.
 *  - A cancel the OS honoured reports TIO_ECANCELED, or TIO_ETIMEDOUT when a
 *    deadline asked for it, or the bytes already moved by earlier legs.
 *  - Transient conditions (EINTR, EAGAIN on a file read, Windows' resource
 *    errors at submission while other I/O runs) are retried, never shown.
 */
#include "common/internal.h"

/* The result of a cancel, whether the OS honoured it or never saw the
 * task: TIO_ECANCELED, TIO_ETIMEDOUT when a deadline asked, or the bytes
 * earlier legs of the transfer moved. */
void tio__task_finish_cancelled(tio__task *t)
{
    if (t->done > 0)
        tio__task_finish(t, t->done, 0);
    else
        tio__task_finish(t, (t->flags & TIO__TF_TIMED_OUT) ? TIO_ETIMEDOUT : TIO_ECANCELED, 0);
}

/* The rest of a transfer, after `bytes` of it moved. */
static void continue_after(tio__task *t, uint32_t bytes)
{
    t->done += bytes;
    t->len -= bytes;
    t->buf = (char *)t->buf + bytes;
    t->offset += bytes;
    tio__task_requeue(t);
}

/* An attempt moved bytes < what it asked: whether the transfer ends. */
static bool short_ends(const tio__task *t, uint32_t bytes)
{
    if (t->op == TIO__OP_READ)
        /* 0 is end of file or of stream; a stream returns what it has; on a
         * direct file an unaligned count can only come from end of file
         * (and continuing at an unaligned offset would be refused). */
        return bytes == 0 || (t->flags & TIO__TF_STREAM) ||
               (bytes & (t->file->align_bytes - 1)) != 0;
    /* A write that moves nothing cannot make progress: report what is in. */
    return bytes == 0;
}

/* bytes < len moved. Whether that is the end or a leg. */
static void short_transfer(tio__task *t, uint32_t bytes)
{
    if (short_ends(t, bytes) || (t->flags & TIO__TF_CANCEL)) {
        tio__task_finish(t, t->done + bytes, 0);
        return;
    }
    continue_after(t, bytes);
}

/* A vectored attempt (the whole rest, or one leg) moved bytes. */
static void vec_moved(tio__task *t, uint32_t bytes)
{
    bool ends = bytes < t->len && short_ends(t, bytes);
    tio__vec_advance(t, bytes);
    if (ends || t->v.left == 0 || (t->flags & TIO__TF_CANCEL))
        tio__task_finish(t, t->done, 0);
    else
        tio__task_requeue(t);
}

/* A real failure: the bytes earlier legs moved (the next call meets the
 * error again), else the mapped error with the raw code kept. */
static void finish_error(tio__task *t, int os_error)
{
    if (t->done > 0)
        tio__task_finish(t, t->done, 0);
    else
        tio__task_finish(t, tio__os_error_map(os_error), os_error);
}

static void failed(tio__task *t, int os_error)
{
    switch (tio__os_error_kind(os_error)) {
    case TIO__ERR_END:
        if (t->op == TIO__OP_READ) {
            tio__task_finish(t, t->done, 0);
            return;
        }
        break;
    case TIO__ERR_CANCELED: tio__task_finish_cancelled(t); return;
    case TIO__ERR_INTR:
    case TIO__ERR_AGAIN:
        if (t->flags & TIO__TF_CANCEL)
            tio__task_finish_cancelled(t);
        else
            tio__task_requeue(t);
        return;
    default: break;
    }
    finish_error(t, os_error);
}

void tio__task_complete_slow(tio__task *t, int64_t bytes, int os_error)
{
    TIO_ASSERT(t->state == TIO__INFLIGHT);
    if (os_error != 0) {
        failed(t, os_error);
        return;
    }
    TIO_ASSERT(bytes >= 0 && bytes <= (int64_t)t->len);
    if (t->flags & TIO__TF_VEC) {
        vec_moved(t, (uint32_t)bytes);
        return;
    }
    if (t->op == TIO__OP_FSYNC || bytes == (int64_t)t->len) {
        tio__task_finish(t, t->done + bytes, 0);
        return;
    }
    short_transfer(t, (uint32_t)bytes);
}

/* Whether file operations other than t are in flight: their completions
 * give back what a refused start lacks. (Stream operations may wait on a
 * peer for ever: they free nothing.) */
static bool others_in_flight(const tio_loop *loop, const tio__task *t)
{
    return loop->inflight_files > ((t->flags & TIO__TF_STREAM) ? 0u : 1u);
}

/* A start that failed at once. Windows reports some resource shortages
 * at submission when many requests are outstanding (ReadFile: "too many
 * outstanding asynchronous I/O requests"); while other work is in flight
 * its completion frees what is needed, so the start is retried on a later
 * run (TIO__BUSY). With nothing in flight the shortage is real. */
int tio__start_failed(tio_loop *loop, tio__task *t, int os_error)
{
    int kind = tio__os_error_kind(os_error);
    if (kind == TIO__ERR_AGAIN && !(t->flags & TIO__TF_CANCEL) && others_in_flight(loop, t))
        return TIO__BUSY;
    if (kind == TIO__ERR_AGAIN || kind == TIO__ERR_INTR) {
        /* Not retried here: the shortage is real, or a cancel asked. */
        if (t->flags & TIO__TF_CANCEL)
            tio__task_finish_cancelled(t);
        else
            finish_error(t, os_error);
        return TIO__FAILED;
    }
    failed(t, os_error);
    return TIO__FAILED;
}
