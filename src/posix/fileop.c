/* SPDX-License-Identifier: MIT */
/*
 * A file operation as one blocking POSIX call (posix/fileop.h). preadv2,
 * pwritev2 and RWF_NOWAIT need _GNU_SOURCE (glibc 2.26), which the build
 * defines.
 */
#include "posix/fileop.h"
#include "posix/iovec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

/* fsync as the durability contract means it: 0, or -1 with errno. */
static int sync_durable(int fd, unsigned flags)
{
#ifdef F_FULLFSYNC
    /* macOS: fsync(2) hands the data to the drive but leaves it in the
     * drive's volatile cache; only fcntl(F_FULLFSYNC) flushes that (fsync(2),
     * fcntl(2)). F_BARRIERFSYNC only orders writes, so TIO_FSYNC_DATA is
     * F_FULLFSYNC too. Filesystems without it (SMB, some FUSE mounts)
     * refuse it with ENOTSUP or EINVAL: fsync is the best they offer. */
    (void)flags;
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
    if (errno != ENOTSUP && errno != EINVAL && errno != ENOTTY)
        return -1;
    return fsync(fd);
#else
    return (flags & TIO_FSYNC_DATA) ? fdatasync(fd) : fsync(fd);
#endif
}

/* A read or write as the task has it (whole vectored rest, or buf/len),
 * with preadv2/pwritev2 flags where the system has them. */
static ssize_t transfer(const tio__task *t, int fd, int rwf)
{
    struct iovec one = {t->buf, t->len};
    const struct iovec *iov = tio__vec_whole(t) ? tio__iov(t) : &one;
    int n = tio__vec_whole(t) ? (int)t->v.count : 1;
#ifdef RWF_NOWAIT
    if (rwf != 0)
        return t->op == TIO__OP_READ ? preadv2(fd, iov, n, (off_t)t->offset, rwf)
                                     : pwritev2(fd, iov, n, (off_t)t->offset, rwf);
#else
    (void)rwf;
#endif
    if (!tio__vec_whole(t))
        return t->op == TIO__OP_READ ? pread(fd, t->buf, t->len, (off_t)t->offset)
                                     : pwrite(fd, t->buf, t->len, (off_t)t->offset);
    return t->op == TIO__OP_READ ? preadv(fd, iov, n, (off_t)t->offset)
                                 : pwritev(fd, iov, n, (off_t)t->offset);
}

static ssize_t file_op(const tio__task *t, int rwf)
{
    int fd = t->file->handle;
    if (t->op == TIO__OP_FSYNC)
        return sync_durable(fd, t->op_flags);
    ssize_t n = transfer(t, fd, rwf);
#ifdef F_FULLFSYNC
    /* macOS: an O_DSYNC write reaches the drive, not its media (see
     * sync_durable): a TIO_DSYNC write is durable only after the flush. */
    if (t->op == TIO__OP_WRITE && n > 0 && (t->file->flags & TIO_DSYNC) &&
        sync_durable(fd, TIO_FSYNC_DATA) != 0)
        n = -1;
#endif
    return n;
}

void tio__posix_file_op(const tio__task *t, int64_t *bytes, int *os_error)
{
    ssize_t n = file_op(t, 0);
    *bytes = n < 0 ? 0 : n;
    *os_error = n < 0 ? errno : 0;
}

/*
 * RWF_NOWAIT (Linux 4.14, preadv2(2)) makes the call fail with EAGAIN
 * instead of waiting for a page to be read in, a lock, or block
 * allocation; EOPNOTSUPP where the file or filesystem has no such mode
 * (measured on Linux 6.18: ext4 and tmpfs refuse it for buffered writes,
 * tmpfs for reads). On a direct file it does not spare the wait for the
 * device itself (a synchronous kiocb waits for its bio), which is why the
 * common code asks for NOWAIT on buffered files only. EINTR: a signal
 * without SA_RESTART arrived; the operation then goes the usual way.
 */
uint8_t tio__posix_start_now(tio__task *t, unsigned how, bool write_signals, tio__sync *s)
{
    TIO_ASSERT(t->op <= TIO__OP_FSYNC && !t->file->is_stream);
    s->os_error = 0;
    if (t->op == TIO__OP_WRITE && write_signals)
        return TIO__BUSY;
    int rwf = 0;
    if (how == TIO__NOW_NOWAIT) {
#ifdef RWF_NOWAIT
        if (t->op == TIO__OP_FSYNC)
            return TIO__BUSY;
        rwf = RWF_NOWAIT;
#else
        return TIO__BUSY;
#endif
    }
    ssize_t n = file_op(t, rwf);
    if (n >= 0) {
        s->bytes = n;
        return TIO__COMPLETED;
    }
    s->os_error = errno;
    if (errno == EAGAIN || errno == EOPNOTSUPP || errno == EINTR)
        return TIO__BUSY;
    return TIO__FAILED;
}

bool tio__posix_fsize_limited(void)
{
    struct rlimit r;
    return getrlimit(RLIMIT_FSIZE, &r) != 0 || r.rlim_cur != RLIM_INFINITY;
}
