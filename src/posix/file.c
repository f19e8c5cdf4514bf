/* SPDX-License-Identifier: MIT */
/*
 * Opening files on POSIX systems: TIO_* flags to open(2) flags, the direct
 * I/O probe, wrapping, closing and sizes. What differs per OS (how direct
 * I/O is asked for, the alignment it needs, the size of a disk) is behind
 * src/posix/posix.h.
 *
 * The probe opens without direct I/O, then asks for it on the open
 * descriptor (tio__posix_direct_enable; EINVAL: the filesystem refuses
 * it). A direct open that fails therefore fails before it changed anything:
 * O_TRUNC is applied only once direct I/O is settled, and a file this open
 * created is removed again; and TIO_DIRECT_TRY|TIO_CREATE|TIO_EXCL falls
 * back to buffered on the file it just created instead of meeting EEXIST on
 * a second open.
 */
#include "posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
    if (flags & TIO_DIRECTORY)
        o |= O_DIRECTORY;
    return o;
}

/* Pipes, sockets, ttys: no offsets, and a read can block for ever. pread
 * on a pipe or socket fails with ESPIPE, as lseek does; on Linux a tty
 * refuses lseek too, but macOS and the BSDs let lseek succeed on any
 * character device and fail pread on a tty (ENXIO), so a tty is asked for
 * by name. Regular files and disks (block devices, and the BSDs' character
 * disk devices) can seek. */
static bool is_stream(int fd)
{
    if (lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE)
        return true;
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && isatty(fd);
}

static void describe(tio_file *f, int fd)
{
    f->handle = fd;
    f->is_stream = is_stream(fd);
    f->align_bytes = f->direct ? tio__posix_direct_align(fd) : 1;
#ifdef F_SETNOSIGPIPE
    /* macOS and NetBSD raise the SIGPIPE of a write to a pipe whose reader
     * is gone at the process, not at the writing thread (xnu
     * bsd/kern/sys_generic.c fp_writev: psignal(proc)), so the threads
     * backend's blocked signal mask does not keep it from the program
     * (sockets are written with MSG_NOSIGNAL). F_SETNOSIGPIPE marks the
     * open file description, so on a wrapped pipe the caller's own writes
     * fail with EPIPE too, without the signal (fcntl(2)). */
    if (f->is_stream && f->can_write)
        fcntl(fd, F_SETNOSIGPIPE, 1);
#endif
}

/* open(2) of a FIFO waits for ever for its peer. On a helper thread
 * (tio_open) cancellation is enabled around that call, and only there, so
 * that tio_cancel can stop it (helper.c). Only for a FIFO: C libraries
 * before glibc 2.34 (BZ #12683) could act on a cancel that arrived just
 * after the call succeeded, losing the descriptor, and an open that
 * creates a file must never be half undone. Elsewhere (tio_file_open on
 * the caller's thread) the caller's own setting is left alone. */
static int open_cancellable(const char *path, int o, mode_t mode)
{
    struct stat st;
    if (!tio__posix_cancellable || stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
        return open(path, o, mode);
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    int fd = open(path, o, mode);
    pthread_setcancelstate(old, NULL);
    return fd;
}

/* open(2), knowing whether this call created the file: with O_CREAT but
 * not O_EXCL, an open of what exists, else an exclusive create (a race
 * with another creator is retried). */
static int open_noting_create(const char *path, int o, unsigned mode, bool *created)
{
    *created = false;
    if (!(o & O_CREAT) || (o & O_EXCL)) {
        int fd = open_cancellable(path, o, (mode_t)mode);
        *created = fd >= 0 && (o & O_EXCL);
        return fd;
    }
    for (int tries = 0; tries < 8; tries++) {
        int fd = open_cancellable(path, o & ~O_CREAT, 0);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        fd = open_cancellable(path, o | O_EXCL, (mode_t)mode);
        if (fd >= 0 || errno != EEXIST) {
            *created = fd >= 0;
            return fd;
        }
    }
    return open_cancellable(path, o, (mode_t)mode);
}

/* Whether fd may use direct I/O: 0 (now on), or an errno: EISDIR (a
 * directory: direct I/O applies to files and devices), ENOTSUP (the
 * filesystem refuses it: tio__posix_direct_enable's EINVAL), another. */
static int settle_direct(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    int err = tio__posix_direct_enable(fd);
    return err == EINVAL ? ENOTSUP : err;
}

/* TIO_EXCLUSIVE: flock(2), which belongs to the open file description, so
 * a second open in this process is refused as one in another process is
 * (a classic fcntl lock would let it through, and drop on any close). */
static int lock_exclusive(int fd)
{
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return EBUSY;
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

int tio__os_open_raw(tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    bool want_direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    /* What may still refuse the open after open(2) (direct I/O, the lock)
     * must leave the file as it was: no O_TRUNC until then, and a file
     * this open created is removed again. */
    bool settle = want_direct || (flags & TIO_EXCLUSIVE);
    int o = open_flags(flags);
    if (settle)
        o &= ~O_TRUNC;
    bool created = false;
    int fd = settle ? open_noting_create(path, o, mode, &created)
                    : open_cancellable(path, o, (mode_t)mode);
    if (fd < 0)
        return errno;
    int err = 0;
    if (want_direct) {
        err = settle_direct(fd);
        if (err == ENOTSUP && (flags & TIO_DIRECT_TRY)) {
            want_direct = false;
            err = 0;
        }
    }
    if (err == 0 && (flags & TIO_EXCLUSIVE))
        err = lock_exclusive(fd);
    if (err == 0 && settle && (flags & TIO_TRUNCATE) && ftruncate(fd, 0) != 0)
        err = errno;
    if (err != 0) {
        close(fd);
        if (created)
            unlink(path);
        return err;
    }
    f->direct = want_direct;
    describe(f, fd);
    return 0;
}

int tio__os_open(tio_loop *loop, tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    int err = tio__os_open_raw(f, path, flags, mode);
    if (err == 0)
        return 0;
    bool direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    if (direct && err == ENOTSUP)
        return tio__fail(loop, TIO_ENOTSUP,
                         "tio_file_open: %s: the filesystem refuses direct "
                         "I/O (EINVAL); use TIO_DIRECT_TRY to fall back to buffered I/O",
                         path);
    if (direct && err == EISDIR)
        return tio__fail(loop, TIO_EISDIR,
                         "tio_file_open: %s: is a directory (direct I/O "
                         "applies to files and block devices)",
                         path);
    if ((flags & TIO_EXCLUSIVE) && err == EBUSY)
        return tio__fail(loop, TIO_EBUSY,
                         "tio_file_open: %s: another TIO_EXCLUSIVE open holds "
                         "it",
                         path);
    return tio__fail(loop, tio__errno_map(err), "tio_file_open: %s: %s (errno %d)", path,
                     strerror(err), err);
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
        return tio__fail(loop, TIO_EBADF,
                         "tio_file_wrap: fd %d was not opened for the access "
                         "mode asked (flags 0x%x)",
                         h, flags);
    f->direct = tio__posix_direct_is_on(h, fl);
    describe(f, h);
    return 0;
}

int tio__os_close(tio_file *f)
{
    /* close(2): never retry on EINTR; Linux, macOS and the BSDs have
     * released the descriptor, which may already name another file. */
    if (close(f->handle) != 0 && errno != EINTR)
        return tio__errno_map(errno);
    return 0;
}

int tio__os_size(tio_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(f->handle, &st) != 0)
        return tio__errno_map(errno);
    /* A disk's st_size is 0: the device knows its size. */
    if ((S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) && !f->is_stream &&
        tio__posix_device_size(f->handle, size) == 0)
        return 0;
    *size = (uint64_t)st.st_size;
    return 0;
}
