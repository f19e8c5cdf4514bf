/* SPDX-License-Identifier: MIT */
/*
 * The engine operations besides open and close (file.c): space, names and
 * stat, as tasks on the one pipeline (DESIGN "Engine operations"). Each is
 * checked here, identically on every backend, and becomes one blocking OS
 * call (tio__os_engine_run) that a backend runs on a helper thread; its
 * raw outcome is normalised by outcome.c like any other.
 */
#include "common/internal.h"

/* The checks of an operation on an open file that changes it. */
static int check_file_op(tio_loop *loop, const char *call, tio_task *task, tio_file *file,
                         tio_cb cb, bool writes)
{
    int rc = tio__check_task(loop, call, task, file, cb);
    if (rc != 0)
        return rc;
    if (file->is_stream)
        return tio__fail(loop, TIO_EINVAL, "%s: the file is a pipe or socket", call);
    if (writes && !file->can_write)
        return tio__fail(loop, TIO_EBADF, "%s: the file was not opened for writing", call);
    return 0;
}

/* The checks of an operation on names. */
static int check_name_op(tio_loop *loop, const char *call, tio_task *task, const char *path,
                         const char *to, bool has_to, tio_cb cb)
{
    if (task == NULL || path == NULL || (has_to && to == NULL) || cb == NULL)
        return tio__fail(loop, TIO_EINVAL, "%s: NULL %s", call,
                         task == NULL ? "task"
                         : cb == NULL ? "callback"
                                      : "path");
    if (tio__priv(task)->state != TIO__IDLE)
        return tio__fail(loop, TIO_EBUSY, "%s: the task is already pending", call);
    if (loop->destroying)
        return tio__fail(loop, TIO_ECANCELED, "%s: the loop is being destroyed", call);
    if (path[0] == '\0' || (has_to && to[0] == '\0'))
        return tio__fail(loop, TIO_ENOENT, "%s: empty path", call);
    return 0;
}

static void enqueue(tio_loop *loop, tio_task *task, int op, tio_file *file, void *buf,
                    uint64_t offset, unsigned flags, tio_cb cb)
{
    tio__task *t = tio__priv(task);
    t->file = file;
    t->cb = cb;
    t->buf = buf;
    t->len = 0;
    t->offset = offset;
    t->op = (uint8_t)op;
    t->op_flags = (uint8_t)flags;
    tio__task_enqueue_engine(loop, t);
}

int tio_allocate(tio_loop *loop, tio_task *task, tio_file *file, uint64_t offset, uint64_t len,
                 unsigned flags, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = check_file_op(loop, "tio_allocate", task, file, cb, true);
    if (rc != 0)
        return rc;
    if ((flags & ~(unsigned)TIO_ALLOCATE_KEEP_SIZE) != 0)
        return tio__fail(loop, TIO_EINVAL, "tio_allocate: unknown flags 0x%x", flags);
    if (len == 0)
        return tio__fail(loop, TIO_EINVAL, "tio_allocate: length 0");
    if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
        return tio__fail(loop, TIO_EINVAL,
                         "tio_allocate: offset %llu + length %llu exceeds "
                         "INT64_MAX",
                         (unsigned long long)offset, (unsigned long long)len);
    tio__priv(task)->e.len = len;
    enqueue(loop, task, TIO__OP_ALLOCATE, file, NULL, offset, flags, cb);
    return 0;
}

int tio_truncate(tio_loop *loop, tio_task *task, tio_file *file, uint64_t size, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = check_file_op(loop, "tio_truncate", task, file, cb, true);
    if (rc != 0)
        return rc;
    if (size > (uint64_t)INT64_MAX)
        return tio__fail(loop, TIO_EINVAL, "tio_truncate: size %llu exceeds INT64_MAX",
                         (unsigned long long)size);
    enqueue(loop, task, TIO__OP_TRUNCATE, file, NULL, size, 0, cb);
    return 0;
}

int tio_stat_file(tio_loop *loop, tio_task *task, tio_file *file, tio_stat *st, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = check_file_op(loop, "tio_stat_file", task, file, cb, false);
    if (rc != 0)
        return rc;
    if (st == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_stat_file: NULL stat");
    enqueue(loop, task, TIO__OP_STAT, file, st, 0, 0, cb);
    return 0;
}

int tio_rename(tio_loop *loop, tio_task *task, const char *from, const char *to, unsigned flags,
               tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = check_name_op(loop, "tio_rename", task, from, to, true, cb);
    if (rc != 0)
        return rc;
    if ((flags & ~(unsigned)TIO_RENAME_NOREPLACE) != 0)
        return tio__fail(loop, TIO_EINVAL, "tio_rename: unknown flags 0x%x", flags);
    tio__task *t = tio__priv(task);
    t->e.path = from;
    t->e.to = to;
    enqueue(loop, task, TIO__OP_RENAME, NULL, NULL, 0, flags, cb);
    return 0;
}

int tio_unlink(tio_loop *loop, tio_task *task, const char *path, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = check_name_op(loop, "tio_unlink", task, path, NULL, false, cb);
    if (rc != 0)
        return rc;
    tio__priv(task)->e.path = path;
    enqueue(loop, task, TIO__OP_UNLINK, NULL, NULL, 0, 0, cb);
    return 0;
}

void tio__engine_settle(tio__task *t, int64_t *result)
{
    switch (t->op) {
    case TIO__OP_OPEN: tio__file_opened(t, result); break;
    case TIO__OP_CLOSE: tio__file_closed(t, *result); break;
    case TIO__OP_STAT:
        if (*result == 0)
            ((tio_stat *)t->buf)->align = (uint32_t)t->file->align_bytes;
        break;
    default: break;
    }
}
