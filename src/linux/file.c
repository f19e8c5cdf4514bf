/*
 * Opening files on Linux: TIO_* flags to open(2) flags, the O_DIRECT probe
 * (the open itself: EINVAL means the filesystem refuses O_DIRECT), and
 * alignment discovery (align.c).
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

int tio__os_open(tio_loop *loop, tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    int o = open_flags(flags);
    bool want_direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    int fd = open(path, o | (want_direct ? O_DIRECT : 0), (mode_t)mode);
    if (fd < 0 && want_direct && errno == EINVAL) {
        /* open(2): EINVAL "The filesystem does not support the O_DIRECT
         * flag" (tmpfs before Linux 6.6, some FUSE and network mounts). */
        if (!(flags & TIO_DIRECT_TRY))
            return tio__fail(loop, TIO_ENOTSUP, "tio_file_open: %s: the filesystem refuses "
                             "direct I/O (O_DIRECT: EINVAL); use TIO_DIRECT_TRY to fall back "
                             "to buffered I/O", path);
        fd = open(path, o, (mode_t)mode);
        want_direct = false;
    }
    if (fd < 0) {
        int err = errno;
        return tio__fail(loop, tio__errno_map(err), "tio_file_open: %s: %s (errno %d)", path,
                         strerror(err), err);
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
