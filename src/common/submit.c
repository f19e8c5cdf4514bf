/* SPDX-License-Identifier: MIT */
/*
 * Argument and alignment validation, and the submitting calls (DESIGN
 * semantics 1 and 3). Everything the library can check itself is rejected
 * here, identically on every backend, before any state changes: a rejected
 * call leaves the task idle and no callback follows. Everything else is the
 * OS's to report, in the callback.
 */
#include "common/internal.h"

/* Direct I/O needs buffer address, offset and length aligned. Wine and some
 * filesystems accept misaligned direct I/O silently (or fall back to
 * buffered); taskio rejects it everywhere so engines see one rule. */
static int check_alignment(tio_loop *loop, const char *call, const tio_file *file, const void *buf,
                           size_t len, uint64_t offset)
{
    size_t a = file->align_bytes;
    TIO_ASSERT(a != 0 && (a & (a - 1)) == 0);
    if (((uintptr_t)buf & (a - 1)) != 0)
        return tio__fail(loop, TIO_EINVAL,
                         "%s: buffer %p is not aligned to %zu bytes (direct file)", call, buf, a);
    if ((offset & (a - 1)) != 0)
        return tio__fail(loop, TIO_EINVAL, "%s: offset %llu is not a multiple of %zu (direct file)",
                         call, (unsigned long long)offset, a);
    if ((len & (a - 1)) != 0)
        return tio__fail(loop, TIO_EINVAL, "%s: length %zu is not a multiple of %zu (direct file)",
                         call, len, a);
    return 0;
}

/* The checks shared by every operation on a file (engine.c and file.c's
 * tio_close too). */
int tio__check_task(tio_loop *loop, const char *call, tio_task *task, tio_file *file, tio_cb cb)
{
    if (task == NULL || file == NULL || cb == NULL)
        return tio__fail(loop, TIO_EINVAL, "%s: NULL %s", call,
                         task == NULL   ? "task"
                         : file == NULL ? "file"
                                        : "callback");
    if (!tio__file_is_open(file))
        return tio__fail(loop, TIO_EBADF, "%s: the file is closed", call);
    if (file->loop != loop)
        return tio__fail(loop, TIO_EINVAL, "%s: the file belongs to another loop", call);
    if (tio__priv(task)->state != TIO__IDLE)
        return tio__fail(loop, TIO_EBUSY, "%s: the task is already pending", call);
    if (loop->destroying)
        return tio__fail(loop, TIO_ECANCELED, "%s: the loop is being destroyed", call);
    return 0;
}

/* Why a read/write is rejected, in the order the contract lists the
 * checks. Cold: only reached when the fast check below failed. */
static TIO_COLD int reject_io(tio_loop *loop, const char *call, int op, tio_task *task,
                              tio_file *file, void *buf, size_t len, uint64_t offset, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = tio__check_task(loop, call, task, file, cb);
    if (rc != 0)
        return rc;
    if (buf == NULL)
        return tio__fail(loop, TIO_EINVAL, "%s: NULL buffer", call);
    if (len > TIO_MAX_IO)
        return tio__fail(loop, TIO_EINVAL, "%s: length %zu exceeds TIO_MAX_IO (1 GiB)", call, len);
    if (offset > (uint64_t)INT64_MAX - len)
        return tio__fail(loop, TIO_EINVAL, "%s: offset %llu + length %zu exceeds INT64_MAX", call,
                         (unsigned long long)offset, len);
    if (op == TIO__OP_READ && !file->can_read)
        return tio__fail(loop, TIO_EBADF, "%s: the file was not opened for reading", call);
    if (op == TIO__OP_WRITE && !file->can_write)
        return tio__fail(loop, TIO_EBADF, "%s: the file was not opened for writing", call);
    if (file->direct && (rc = check_alignment(loop, call, file, buf, len, offset)) != 0)
        return rc;
    TIO_ASSERT(!"reject_io: the fast check failed but no rule did");
    return TIO_EINVAL;
}

/* Every rule of reject_io at once, without explanations: the hot path.
 * file->io_loop stands for the file's state, its loop, its direction and
 * the loop's (never NULL: a NULL loop fails it). */
static inline bool io_ok(const tio_loop *loop, int op, tio_task *task, const tio_file *file,
                         const void *buf, size_t len, uint64_t offset, tio_cb cb)
{
    if (task == NULL || file == NULL || cb == NULL || buf == NULL)
        return false;
    size_t a = file->align_bytes; /* 1 unless direct */
    return file->io_loop[op - TIO__OP_READ] == loop && tio__priv(task)->state == TIO__IDLE &&
           len <= TIO_MAX_IO && offset <= (uint64_t)INT64_MAX - len &&
           (((uintptr_t)buf | (uintptr_t)offset | len) & (a - 1)) == 0;
}

/* Each with the starting call's own arguments, so that the call is a
 * tail call and the starting call needs no stack frame. */
static TIO_COLD int reject_read(tio_loop *loop, tio_task *task, tio_file *file, void *buf,
                                size_t len, uint64_t offset, tio_cb cb)
{
    return reject_io(loop, "tio_read", TIO__OP_READ, task, file, buf, len, offset, cb);
}

static TIO_COLD int reject_write(tio_loop *loop, tio_task *task, tio_file *file, void *buf,
                                 size_t len, uint64_t offset, tio_cb cb)
{
    return reject_io(loop, "tio_write", TIO__OP_WRITE, task, file, buf, len, offset, cb);
}

static TIO_INLINE int submit_io(tio_loop *loop, int op, tio_task *task, tio_file *file, void *buf,
                                size_t len, uint64_t offset, tio_cb cb)
{
    if (!TIO_LIKELY(io_ok(loop, op, task, file, buf, len, offset, cb)))
        return op == TIO__OP_READ ? reject_read(loop, task, file, buf, len, offset, cb)
                                  : reject_write(loop, task, file, buf, len, offset, cb);
    TIO_ASSERT_OWNER(loop);
    tio__task *t = tio__priv(task);
    t->file = file;
    t->cb = cb;
    t->buf = buf;
    t->len = (uint32_t)len;
    t->offset = offset;
    t->op = (uint8_t)op;
    t->op_flags = 0;
    return tio__task_enqueue(loop, t, 0);
}

int tio_read(tio_loop *loop, tio_task *task, tio_file *file, void *buf, size_t len, uint64_t offset,
             tio_cb cb)
{
    return submit_io(loop, TIO__OP_READ, task, file, buf, len, offset, cb);
}

int tio_write(tio_loop *loop, tio_task *task, tio_file *file, const void *buf, size_t len,
              uint64_t offset, tio_cb cb)
{
    /* The buffer is only read; the cast keeps one task layout. */
    return submit_io(loop, TIO__OP_WRITE, task, file, (void *)(uintptr_t)buf, len, offset, cb);
}

int tio_fsync(tio_loop *loop, tio_task *task, tio_file *file, unsigned flags, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = tio__check_task(loop, "tio_fsync", task, file, cb);
    if (rc != 0)
        return rc;
    if ((flags & ~(unsigned)TIO_FSYNC_DATA) != 0)
        return tio__fail(loop, TIO_EINVAL, "tio_fsync: unknown flags 0x%x", flags);
    /* Nothing to make durable, and Windows' FlushFileBuffers on a pipe
     * blocks until the peer has read everything: refused on every OS. */
    if (file->is_stream)
        return tio__fail(loop, TIO_EINVAL, "tio_fsync: the file is a pipe or socket");
    tio__task *t = tio__priv(task);
    t->file = file;
    t->cb = cb;
    t->buf = NULL;
    t->len = 0;
    t->offset = 0;
    t->op = TIO__OP_FSYNC;
    t->op_flags = (uint8_t)flags;
    tio__task_enqueue(loop, t, 0);
    return 0;
}

/* Vectored: every segment is checked as tio_read would check one buffer
 * (vector.c moves them). */
static int submit_vec(tio_loop *loop, const char *call, int op, tio_task *task, tio_file *file,
                      const tio_buf *bufs, unsigned count, uint64_t offset, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = tio__check_task(loop, call, task, file, cb);
    if (rc != 0)
        return rc;
    if (bufs == NULL)
        return tio__fail(loop, TIO_EINVAL, "%s: NULL segment array", call);
    if (count == 0 || count > TIO_MAX_IOV)
        return tio__fail(loop, TIO_EINVAL, "%s: %u segments (1 to TIO_MAX_IOV = %u)", call, count,
                         TIO_MAX_IOV);
    if (file->is_stream)
        return tio__fail(loop, TIO_EINVAL,
                         "%s: the file is a pipe or socket (vectored I/O is "
                         "for files and devices)",
                         call);
    if (op == TIO__OP_READ && !file->can_read)
        return tio__fail(loop, TIO_EBADF, "%s: the file was not opened for reading", call);
    if (op == TIO__OP_WRITE && !file->can_write)
        return tio__fail(loop, TIO_EBADF, "%s: the file was not opened for writing", call);
    size_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        if (bufs[i].base == NULL && bufs[i].len != 0)
            return tio__fail(loop, TIO_EINVAL, "%s: segment %u: NULL base", call, i);
        if (bufs[i].len > TIO_MAX_IO - total)
            return tio__fail(loop, TIO_EINVAL, "%s: the segments exceed TIO_MAX_IO (1 GiB)", call);
        total += bufs[i].len;
        if (file->direct && bufs[i].len != 0 &&
            (rc = check_alignment(loop, call, file, bufs[i].base, bufs[i].len, offset)) != 0)
            return rc;
    }
    if (offset > (uint64_t)INT64_MAX - total)
        return tio__fail(loop, TIO_EINVAL, "%s: offset %llu + length %zu exceeds INT64_MAX", call,
                         (unsigned long long)offset, total);
    if (file->direct && (offset & (file->align_bytes - 1)) != 0)
        return check_alignment(loop, call, file, NULL, 0, offset);
    tio__task *t = tio__priv(task);
    t->file = file;
    t->cb = cb;
    t->buf = NULL;
    t->len = (uint32_t)total;
    t->offset = offset;
    t->op = (uint8_t)op;
    t->op_flags = 0;
    t->v.bufs = bufs;
    t->v.count = count;
    t->v.left = (uint32_t)total;
    t->v.seg = 0;
    t->v.skip = 0;
    tio__task_enqueue(loop, t, TIO__TF_VEC);
    return 0;
}

int tio_readv(tio_loop *loop, tio_task *task, tio_file *file, const tio_buf *bufs, unsigned count,
              uint64_t offset, tio_cb cb)
{
    return submit_vec(loop, "tio_readv", TIO__OP_READ, task, file, bufs, count, offset, cb);
}

int tio_writev(tio_loop *loop, tio_task *task, tio_file *file, const tio_buf *bufs, unsigned count,
               uint64_t offset, tio_cb cb)
{
    return submit_vec(loop, "tio_writev", TIO__OP_WRITE, task, file, bufs, count, offset, cb);
}
