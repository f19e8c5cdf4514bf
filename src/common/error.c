/* SPDX-License-Identifier: MIT */
/*
 * Error codes: descriptions, the errno mapping (every errno a file, pipe or
 * io_uring operation is documented to return, mapped explicitly), and the
 * loop's last-error message.
 */
#include "common/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tio__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "taskio: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

const char *tio_strerror(int code)
{
    if (code >= 0)
        return "success";
    switch (code) {
    case TIO_EINVAL: return "invalid argument";
    case TIO_EBUSY: return "resource busy (task already pending, or file has pending tasks)";
    case TIO_ENOENT: return "no such file or directory, or task not pending";
    case TIO_ECANCELED: return "operation cancelled";
    case TIO_ETIMEDOUT: return "operation timed out";
    case TIO_EACCES: return "permission denied";
    case TIO_EEXIST: return "file exists";
    case TIO_EBADF: return "bad file handle, or file not opened for this access";
    case TIO_ENOSPC: return "no space left on device";
    case TIO_EIO: return "input/output error";
    case TIO_ENOMEM: return "out of memory";
    case TIO_ENOTSUP: return "operation not supported (e.g. the filesystem refuses direct I/O)";
    case TIO_EPIPE: return "broken pipe";
    case TIO_EISDIR: return "is a directory";
    case TIO_EROFS: return "read-only file system";
    case TIO_EFBIG: return "file too large";
    case TIO_EOTHER: return "unmapped OS error (see tio_os_error)";
    case TIO_ENOTDIR: return "not a directory";
    default: return "unknown error";
    }
}

/* POSIX errno -> TIO_E*. The raw value is always kept (tio_os_error). */
int tio__errno_map(int err)
{
    switch (err) {
    case 0: return 0;
    case EINVAL: return TIO_EINVAL;
    case EBUSY: return TIO_EBUSY;
    case ENOENT: return TIO_ENOENT;
    case ENOTDIR: return TIO_ENOTDIR;
    case ECANCELED: return TIO_ECANCELED;
    case ETIMEDOUT: return TIO_ETIMEDOUT;
#if defined(ETIME) && ETIME != ETIMEDOUT
    case ETIME: return TIO_ETIMEDOUT;
#endif
    case EACCES: return TIO_EACCES;
    case EPERM: return TIO_EACCES; /* e.g. O_NOATIME, immutable files, seccomp */
    case EEXIST: return TIO_EEXIST;
    case EBADF: return TIO_EBADF;
    case ENOSPC: return TIO_ENOSPC;
#ifdef EDQUOT
    case EDQUOT: return TIO_ENOSPC; /* quota: to an engine, the same as a full disk */
#endif
    case EIO: return TIO_EIO;
    case ENXIO: return TIO_EIO; /* device gone */
    case ENOMEM: return TIO_ENOMEM;
    case ENFILE: return TIO_ENOMEM; /* system file table full: a resource limit */
    case EMFILE: return TIO_ENOMEM; /* RLIMIT_NOFILE reached */
    case ENOTSUP: return TIO_ENOTSUP;
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return TIO_ENOTSUP;
#endif
    case ENOSYS: return TIO_ENOTSUP;
    case EPIPE: return TIO_EPIPE;
    case ECONNRESET: return TIO_EPIPE; /* socket peer gone */
    case EISDIR: return TIO_EISDIR;
    case EROFS: return TIO_EROFS;
    case EFBIG: return TIO_EFBIG;
    case EOVERFLOW: return TIO_EFBIG; /* offset beyond what the file can hold */
    case ENAMETOOLONG: return TIO_EINVAL;
    case ELOOP: return TIO_EINVAL; /* too many symlinks */
    case ETXTBSY:
        return TIO_EBUSY;
        /* macOS and the BSDs (errno(2), intro(2)) */
#ifdef EDEVERR
    case EDEVERR: return TIO_EIO; /* macOS: device error */
#endif
#ifdef EPWROFF
    case EPWROFF: return TIO_EIO; /* macOS: device power is off */
#endif
#ifdef EINTEGRITY
    case EINTEGRITY: return TIO_EIO; /* FreeBSD: a UFS or ZFS checksum failed */
#endif
#ifdef EAUTH
    case EAUTH: return TIO_EACCES; /* NFS: authentication failed */
#endif
#ifdef ENEEDAUTH
    case ENEEDAUTH: return TIO_EACCES; /* NFS: no authenticator */
#endif
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return TIO_EACCES; /* FreeBSD Capsicum: the descriptor lacks the right */
#endif
#ifdef ECAPMODE
    case ECAPMODE: return TIO_EACCES; /* FreeBSD Capsicum: refused in capability mode */
#endif
#ifdef EFTYPE
    case EFTYPE: return TIO_EINVAL; /* NetBSD: O_NOFOLLOW met a symlink (ELOOP elsewhere) */
#endif
    default: return TIO_EOTHER;
    }
}

#ifndef _WIN32
/* What the normalising code needs to know of an errno (outcome.c). */
int tio__os_error_kind(int err)
{
    switch (err) {
    case ECANCELED: return TIO__ERR_CANCELED;
    /* io-wq interrupts a blocked worker to cancel it (-EINTR); a signal
     * interrupts a blocking call */
    case EINTR: return TIO__ERR_INTR;
    /* XFS and some drivers return -EAGAIN for a read that would block on a
     * lock even without RWF_NOWAIT; a nonblocking stream that is not ready */
    case EAGAIN: return TIO__ERR_AGAIN;
    default: return TIO__ERR_FAIL;
    }
}

int tio__os_error_map(int err)
{
    return tio__errno_map(err);
}
#endif

int tio__fail(tio_loop *loop, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(loop->errmsg, sizeof loop->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static TIO_THREAD_LOCAL char create_error[TIO__ERRMSG_SIZE];

void tio__create_error_set(const char *msg)
{
    snprintf(create_error, sizeof create_error, "%s", msg);
}

const char *tio_last_error(const tio_loop *loop)
{
    return loop ? loop->errmsg : create_error;
}

int tio_os_error(const tio_task *task)
{
    return task ? tio__cpriv(task)->os_error : 0;
}
