/*
 * tio_file: flag validation and bookkeeping common to every OS. Opening,
 * alignment discovery and closing are the OS layer's (src/linux/file.c,
 * src/win32/file.c).
 */
#include "common/internal.h"

#include <stdlib.h>

#define TIO_OPEN_FLAGS                                                                  \
    (3u | TIO_CREATE | TIO_TRUNCATE | TIO_EXCL | TIO_DIRECT | TIO_DSYNC | TIO_DIRECT_TRY)

static tio_file *file_new(tio_loop *loop, unsigned flags)
{
    tio_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->loop = loop;
    f->flags = flags;
    f->align_bytes = 1;
    f->backend_index = -1;
    f->can_read = (flags & 3u) != TIO_WRONLY;
    f->can_write = (flags & 3u) != TIO_RDONLY;
    return f;
}

static void file_link(tio_loop *loop, tio_file *f)
{
    f->next = loop->file_list;
    f->prev = NULL;
    if (loop->file_list)
        loop->file_list->prev = f;
    loop->file_list = f;
}

int tio_file_open(tio_loop *loop, tio_file **out, const char *path, unsigned flags, unsigned mode)
{
    if (loop == NULL)
        return TIO_EINVAL;
    TIO_ASSERT_OWNER(loop);
    if (out == NULL || path == NULL)
        return tio__fail(loop, TIO_EINVAL, "tio_file_open: NULL %s", out ? "path" : "out");
    *out = NULL;
    if ((flags & ~TIO_OPEN_FLAGS) != 0 || (flags & 3u) == 3u)
        return tio__fail(loop, TIO_EINVAL, "tio_file_open: %s: invalid flags 0x%x", path, flags);
    if ((flags & (TIO_EXCL | TIO_CREATE)) == TIO_EXCL)
        return tio__fail(loop, TIO_EINVAL, "tio_file_open: %s: TIO_EXCL needs TIO_CREATE", path);
    if ((flags & TIO_TRUNCATE) && (flags & 3u) == TIO_RDONLY)
        return tio__fail(loop, TIO_EINVAL, "tio_file_open: %s: TIO_TRUNCATE needs write access",
                         path);
    tio_file *f = file_new(loop, flags);
    if (f == NULL)
        return tio__fail(loop, TIO_ENOMEM, "tio_file_open: out of memory");
    int rc = tio__os_open(loop, f, path, flags, mode);
    if (rc != 0) {
        free(f);
        return rc;
    }
    f->owned = true;
    if (loop->backend->attach && (rc = loop->backend->attach(loop, f)) != 0) {
        tio__os_close(f);
        free(f);
        return rc;
    }
    file_link(loop, f);
    *out = f;
    return 0;
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
        free(f);
        return rc;
    }
    f->owned = false;
    file_link(loop, f);
    *out = f;
    return 0;
}

int tio_file_close(tio_file *file)
{
    if (file == NULL)
        return TIO_EINVAL;
    tio_loop *loop = file->loop;
    TIO_ASSERT_OWNER(loop);
    if (file->pending > 0)
        return tio__fail(loop, TIO_EBUSY, "tio_file_close: %u tasks still pending on the file",
                         file->pending);
    int rc = file->owned ? tio__os_close(file) : 0;
    if (file->prev)
        file->prev->next = file->next;
    else
        loop->file_list = file->next;
    if (file->next)
        file->next->prev = file->prev;
    free(file);
    return rc;
}

size_t tio_file_align(const tio_file *file)
{
    return file ? file->align_bytes : 0;
}

int tio_file_is_direct(const tio_file *file)
{
    return file ? file->direct : 0;
}

int tio_file_size(tio_file *file, uint64_t *size)
{
    if (file == NULL || size == NULL)
        return TIO_EINVAL;
    return tio__os_size(file, size);
}

tio_handle tio_file_handle(const tio_file *file)
{
#ifdef _WIN32
    return file ? file->handle : (tio_handle)(intptr_t)-1; /* INVALID_HANDLE_VALUE */
#else
    return file ? file->handle : -1;
#endif
}
