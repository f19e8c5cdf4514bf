/* SPDX-License-Identifier: MIT */
/*
 * tio_file: flag validation and bookkeeping common to every OS, for the
 * synchronous calls and for tio_open/tio_close as tasks. Opening,
 * alignment discovery and closing are the OS layer's (src/posix/file.c
 * with src/linux or src/posix/direct.c, src/win32/file.c).
 *
 * A closed tio_file is not freed: it is marked closed and kept on the loop
 * for reuse by a later open, so a stale pointer meets TIO_EBADF instead of
 * freed memory (like a closed descriptor, it may name a new file once
 * reused). The loop frees them all when destroyed.
 */
#include "common/internal.h"

#include <stdlib.h>
#include <string.h>

#define TIO_OPEN_FLAGS                                                                   \
  (3u | TIO_CREATE | TIO_TRUNCATE | TIO_EXCL | TIO_DIRECT | TIO_DSYNC | TIO_DIRECT_TRY | \
   TIO_DIRECTORY | TIO_EXCLUSIVE)

/* Never a loop: only its address is used, aligned as a loop would be. */
static const _Alignas(max_align_t) unsigned char no_loop_mark[1];
const tio_loop *const tio__no_loop = (const tio_loop *)(const void *)no_loop_mark;

void tio__file_set_magic(tio_file *f, uint32_t magic)
{
    bool open = magic == TIO__FILE_OPEN && !f->loop->destroying;
    f->magic = magic;
    f->io_loop[0] = open && f->can_read ? f->loop : tio__no_loop;
    f->io_loop[1] = open && f->can_write ? f->loop : tio__no_loop;
}

static tio_file *file_new(tio_loop *loop, unsigned flags)
{
    tio_file *f = loop->closed_files;
    if (f != NULL) {
        TIO_ASSERT(f->magic == TIO__FILE_CLOSED && f->pending == 0);
        loop->closed_files = f->next;
        memset(f, 0, sizeof *f);
    } else if ((f = calloc(1, sizeof *f)) == NULL) {
        return NULL;
    }
    f->loop = loop;
    f->flags = flags;
    f->align_bytes = 1;
    f->backend_index = -1;
    f->can_read = (flags & 3u) != TIO_WRONLY;
    f->can_write = (flags & 3u) != TIO_RDONLY;
    tio__file_set_magic(f, TIO__FILE_OPEN);
    return f;
}

/* Back to the loop's reuse list (an open that failed, or a close). */
static void file_retire(tio_loop *loop, tio_file *f)
{
    tio__file_set_magic(f, TIO__FILE_CLOSED);
    f->next = loop->closed_files;
    f->prev = NULL;
    loop->closed_files = f;
}

void tio__files_free(tio_loop *loop)
{
    TIO_ASSERT(loop->file_list == NULL);
    while (loop->closed_files != NULL) {
        tio_file *f = loop->closed_files;
        loop->closed_files = f->next;
        free(f);
    }
}

static void file_link(tio_loop *loop, tio_file *f)
{
    f->next = loop->file_list;
    f->prev = NULL;
    if (loop->file_list)
        loop->file_list->prev = f;
    loop->file_list = f;
}

/* The rules of a path and open flags, for tio_file_open and tio_open. */
static int check_open(tio_loop *loop, const char *call, const char *path, unsigned flags)
{
    if (path[0] == '\0') /* as open(2) says; CreateFileW's error for "" varies */
        return tio__fail(loop, TIO_ENOENT, "%s: empty path", call);
    if ((flags & ~TIO_OPEN_FLAGS) != 0 || (flags & 3u) == 3u)
        return tio__fail(loop, TIO_EINVAL, "%s: %s: invalid flags 0x%x", call, path, flags);
    if ((flags & (TIO_EXCL | TIO_CREATE)) == TIO_EXCL)
        return tio__fail(loop, TIO_EINVAL, "%s: %s: TIO_EXCL needs TIO_CREATE", call, path);
    if ((flags & TIO_TRUNCATE) && (flags & 3u) == TIO_RDONLY)
        return tio__fail(loop, TIO_EINVAL, "%s: %s: TIO_TRUNCATE needs write access", call, path);
    if ((flags & TIO_DIRECTORY) &&
        (flags & (3u | TIO_CREATE | TIO_TRUNCATE | TIO_DIRECT | TIO_DSYNC | TIO_DIRECT_TRY)))
        return tio__fail(loop, TIO_EINVAL,
                         "%s: %s: TIO_DIRECTORY takes TIO_RDONLY alone "
                         "(and TIO_EXCLUSIVE)",
                         call, path);
    return 0;
}

/* An opened file joins the loop: 0, or attach's error (the file is then
 * closed and retired). */
static int file_join(tio_loop *loop, tio_file *f)
{
    int rc;
    f->owned = true;
    tio__file_set_magic(f, TIO__FILE_OPEN);
    if (loop->backend->attach && (rc = loop->backend->attach(loop, f)) != 0) {
        tio__os_close(f);
        file_retire(loop, f);
        return rc;
    }
    file_link(loop, f);
    return 0;
}

int tio_file_open(tio_loop *loop, tio_file **out, const char *path, unsigned flags, unsigned mode)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (out != NULL)
        *out = NULL;
    if (out == NULL || path == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_file_open: NULL %s", out ? "path" : "out");
    int rc = check_open(loop, "tio_file_open", path, flags);
    if (rc != 0)
        return rc;
    tio_file *f = file_new(loop, flags);
    if (f == NULL)
        return tio__fail(loop, TIO_ENOMEM, "tio_file_open: out of memory");
    rc = tio__os_open(loop, f, path, flags, mode);
    if (rc != 0) {
        file_retire(loop, f);
        return rc;
    }
    if ((rc = file_join(loop, f)) != 0)
        return rc;
    *out = f;
    return 0;
}

/* The tio_file is made at submission (a shortage of memory is a rejection,
 * not a result) and joins the loop only when the OS opened it. */
int tio_open(tio_loop *loop, tio_task *task, tio_file **out, const char *path, unsigned flags,
             unsigned mode, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (out != NULL)
        *out = NULL;
    if (task == NULL || out == NULL || path == NULL || cb == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_open: NULL %s",
                         task == NULL   ? "task"
                         : out == NULL  ? "out"
                         : path == NULL ? "path"
                                        : "callback");
    if (tio__priv(task)->state != TIO__IDLE)
        return tio__fail(loop, TIO_EBUSY, "tio_open: the task is already pending");
    if (loop->destroying)
        return tio__fail(loop, TIO_ECANCELED, "tio_open: the loop is being destroyed");
    int rc = check_open(loop, "tio_open", path, flags);
    if (rc != 0)
        return rc;
    tio_file *f = file_new(loop, flags);
    if (f == NULL)
        return tio__fail(loop, TIO_ENOMEM, "tio_open: out of memory");
    tio__file_set_magic(f, TIO__FILE_OPENING);
    tio__task *t = tio__priv(task);
    t->file = NULL;
    t->cb = cb;
    t->buf = f;
    t->len = 0;
    t->offset = mode;
    t->op = TIO__OP_OPEN;
    t->op_flags = 0;
    t->e.path = path;
    t->e.out = out;
    tio__task_enqueue_engine(loop, t);
    return 0;
}

void tio__file_opened(tio__task *t, int64_t *result)
{
    tio_file *f = t->buf;
    TIO_ASSERT(f->magic == TIO__FILE_OPENING);
    if (*result == 0 && (*result = file_join(t->loop, f)) == 0) {
        *t->e.out = f;
        return;
    }
    if (f->magic == TIO__FILE_OPENING)
        file_retire(t->loop, f);
}

int tio_file_wrap(tio_loop *loop, tio_file **out, tio_handle h, unsigned flags)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (out == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_file_wrap: NULL out");
    *out = NULL;
    if ((flags & ~3u) != 0 || (flags & 3u) == 3u)
        return tio__fail(loop, TIO_EINVAL, "tio_file_wrap: invalid flags 0x%x (access mode only)",
                         flags);
    tio_file *f = file_new(loop, flags);
    if (f == NULL)
        return tio__fail(loop, TIO_ENOMEM, "tio_file_wrap: out of memory");
    int rc = tio__os_wrap(loop, f, h, flags);
    if (rc == 0 && loop->backend->attach)
        rc = loop->backend->attach(loop, f);
    if (rc != 0) {
        file_retire(loop, f);
        return rc;
    }
    f->owned = false;
    file_link(loop, f);
    *out = f;
    return 0;
}

/* A closed file leaves the loop (its handle is closed already). */
static void file_leave(tio_loop *loop, tio_file *file)
{
    if (file->prev)
        file->prev->next = file->next;
    else
        loop->file_list = file->next;
    if (file->next)
        file->next->prev = file->prev;
    file_retire(loop, file);
}

int tio_file_close(tio_file *file)
{
    if (file == NULL)
        return TIO_EINVAL;
    if (!tio__file_is_open(file))
        return TIO_EBADF;
    tio_loop *loop = file->loop;
    TIO_ASSERT_OWNER(loop);
    if (file->pending > 0)
        return tio__fail(loop, TIO_EBUSY, "tio_file_close: %u tasks still pending on the file",
                         file->pending);
    if (loop->backend->detach)
        loop->backend->detach(loop, file);
    int rc = file->owned ? tio__os_close(file) : 0;
    file_leave(loop, file);
    return rc;
}

/* From acceptance on the file refuses new operations (TIO__FILE_CLOSING
 * is not open); the OS close runs on a helper thread. */
int tio_close(tio_loop *loop, tio_task *task, tio_file *file, tio_cb cb)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    int rc = tio__check_task(loop, "tio_close", task, file, cb);
    if (rc != 0)
        return rc;
    if (file->pending > 0)
        return tio__fail(loop, TIO_EBUSY, "tio_close: %u tasks still pending on the file",
                         file->pending);
    tio__task *t = tio__priv(task);
    t->file = file;
    t->cb = cb;
    t->buf = NULL;
    t->len = 0;
    t->offset = 0;
    t->op = TIO__OP_CLOSE;
    t->op_flags = 0;
    tio__file_set_magic(file, TIO__FILE_CLOSING);
    tio__task_enqueue_engine(loop, t);
    return 0;
}

/* The file is closed once the OS ran the close, whatever it said (as
 * close(2) and CloseHandle leave it); a cancelled close never ran and
 * leaves it open. The backend lets go of it only now: a registered
 * io_uring slot holds its own reference, released here. */
void tio__file_closed(tio__task *t, int64_t result)
{
    tio_file *f = t->file;
    tio_loop *loop = t->loop;
    TIO_ASSERT(f->magic == TIO__FILE_CLOSING);
    if (result == TIO_ECANCELED || result == TIO_ETIMEDOUT) {
        tio__file_set_magic(f, TIO__FILE_OPEN);
        return;
    }
    if (loop->backend->detach)
        loop->backend->detach(loop, f);
    /* The task no longer counts on the file: the tio_file may be reused by
     * an open in a callback that runs before this task's. */
    TIO_ASSERT(f->pending == 1);
    f->pending = 0;
    t->file = NULL;
    file_leave(loop, f);
}

size_t tio_file_align(const tio_file *file)
{
    return file && tio__file_is_open(file) ? file->align_bytes : 0;
}

int tio_file_is_direct(const tio_file *file)
{
    return file && tio__file_is_open(file) ? file->direct : 0;
}

int tio_file_size(tio_file *file, uint64_t *size)
{
    if (file == NULL || size == NULL)
        return TIO_EINVAL;
    if (!tio__file_is_open(file))
        return TIO_EBADF;
    return tio__os_size(file, size);
}

tio_handle tio_file_handle(const tio_file *file)
{
#ifdef _WIN32
    if (file == NULL || !tio__file_is_open(file))
        return (tio_handle)(intptr_t)-1; /* INVALID_HANDLE_VALUE */
#else
    if (file == NULL || !tio__file_is_open(file))
        return -1;
#endif
    return file->handle;
}
