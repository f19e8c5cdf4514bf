/* SPDX-License-Identifier: MIT */
/*
 * Opening files on Linux: TIO_* flags to open(2) flags, the O_DIRECT probe,
 * and alignment discovery (align.c).
 *
 * The probe opens without O_DIRECT, then asks for it with fcntl(F_SETFL)
 * (EINVAL: the filesystem refuses it). A direct open that fails therefore
 * fails before it changed anything: O_TRUNC is applied only once direct I/O
 * is settled, and a file this open created is removed again; and
 * TIO_DIRECT_TRY|TIO_CREATE|TIO_EXCL falls back to buffered on the file it
 * just created instead of meeting EEXIST on a second open.
 */
#include "common/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t tio__linux_dio_align(int fd);

static int open_flags(unsigned flags)
{
    int o = O_CLOEXEC;
    switch (flags & 3u) {
    case TIO_RDONLY: o |= O_RDONLY; break;
    case TIO_WRONLY: o |= O_WRONLY; break;
    default: o |= O_RDWR; break;
    }
    if (flags & TIO_CREATE)
        o |= O_CREAT;
    if (flags & TIO_TRUNCATE)
        o |= O_TRUNC;
    if (flags & TIO_EXCL)
        o |= O_EXCL;
    if (flags & TIO_DSYNC)
        o |= O_DSYNC;
    return o;
}

static void describe(tio_file *f, int fd)
{
    f->handle = fd;
    /* Pipes, sockets, ttys: no offsets (pread gives ESPIPE), and a read can
     * block for ever. Regular files and block devices can seek. */
    f->is_stream = lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
    f->align_bytes = f->direct ? tio__linux_dio_align(fd) : 1;
}

static int open_failed(tio_loop *loop, const char *path, int err)
{
    return tio__fail(loop, tio__errno_map(err), "tio_file_open: %s: %s (errno %d)", path,
                     strerror(err), err);
}

/* open(2), knowing whether this call created the file: with O_CREAT but
 * not O_EXCL, an open of what exists, else an exclusive create (a race
 * with another creator is retried). */
static int open_noting_create(const char *path, int o, unsigned mode, bool *created)
{
    *created = false;
    if (!(o & O_CREAT) || (o & O_EXCL)) {
        int fd = open(path, o, (mode_t)mode);
        *created = fd >= 0 && (o & O_EXCL);
        return fd;
    }
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(path, o & ~O_CREAT);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        fd = open(path, o | O_EXCL, (mode_t)mode);
        if (fd >= 0 || errno != EEXIST) {
            *created = fd >= 0;
            return fd;
        }
    }
    return open(path, o, (mode_t)mode);
}

/* Whether fd may use O_DIRECT: 0 (now set), TIO_ENOTSUP (refused), or a
 * TIO_E* code with the message set. */
static int settle_direct(tio_loop *loop, const char *path, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return open_failed(loop, path, errno);
    if (S_ISDIR(st.st_mode))
        return tio__fail(loop, TIO_EISDIR, "tio_file_open: %s: is a directory (direct I/O "
                         "applies to files and block devices)", path);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
        return 0;
    /* fcntl(2): EINVAL "the filesystem does not support O_DIRECT" (ramfs,
     * tmpfs before Linux 6.6, some FUSE and network mounts). */
    if (errno != EINVAL)
        return open_failed(loop, path, errno);
    return tio__fail(loop, TIO_ENOTSUP, "tio_file_open: %s: the filesystem refuses direct I/O "
                     "(O_DIRECT: EINVAL); use TIO_DIRECT_TRY to fall back to buffered I/O",
                     path);
}

int tio__os_open(tio_loop *loop, tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    bool want_direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    int o = open_flags(flags);
    if (want_direct)
        o &= ~O_TRUNC; /* only once direct I/O is settled */
    bool created = false;
    int fd = want_direct ? open_noting_create(path, o, mode, &created)
                         : open(path, o, (mode_t)mode);
    if (fd < 0)
        return open_failed(loop, path, errno);
    if (want_direct) {
        int rc = settle_direct(loop, path, fd);
        if (rc == TIO_ENOTSUP && (flags & TIO_DIRECT_TRY)) {
            want_direct = false;
            loop->errmsg[0] = '\0';
        } else if (rc != 0) {
            close(fd);
            if (created)
                unlink(path);
            return rc;
        }
        if ((flags & TIO_TRUNCATE) && ftruncate(fd, 0) != 0) {
            int err = errno;
            close(fd);
            return open_failed(loop, path, err);
        }
    }
    f->direct = want_direct;
    describe(f, fd);
    return 0;
}

int tio__os_wrap(tio_loop *loop, tio_file *f, tio_handle h, unsigned flags)
{
    int fl = fcntl(h, F_GETFL);
    if (fl < 0) {
        int err = errno;
        return tio__fail(loop, tio__errno_map(err), "tio_file_wrap: fd %d: %s", h, strerror(err));
    }
    int acc = fl & O_ACCMODE;
    if (((flags & 3u) != TIO_WRONLY && acc == O_WRONLY) ||
        ((flags & 3u) != TIO_RDONLY && acc == O_RDONLY))
        return tio__fail(loop, TIO_EBADF, "tio_file_wrap: fd %d was not opened for the access "
                         "mode asked (flags 0x%x)", h, flags);
    f->direct = (fl & O_DIRECT) != 0;
    describe(f, h);
    return 0;
}

int tio__os_close(tio_file *f)
{
    /* close(2): never retry on EINTR on Linux, the descriptor is gone. */
    if (close(f->handle) != 0 && errno != EINTR)
        return tio__errno_map(errno);
    return 0;
}

int tio__os_size(tio_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(f->handle, &st) != 0)
        return tio__errno_map(errno);
    *size = (uint64_t)st.st_size;
    return 0;
}
