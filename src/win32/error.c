/* SPDX-License-Identifier: MIT */
/*
 * Win32 error codes -> TIO_E*. Every code the IOCP backend and the file
 * layer can meet is listed; the raw code is always kept (tio_os_error).
 * End of data (ERROR_HANDLE_EOF, and ERROR_BROKEN_PIPE on a read) is not an
 * error at all: tio__os_error_kind says so, and the common code turns it
 * into a 0-byte result.
 */
#include "win32/win32.h"

int tio__win_error_map(unsigned long err)
{
    switch (err) {
    case ERROR_SUCCESS: return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME: return TIO_ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD: return TIO_EACCES;
    case ERROR_SHARING_VIOLATION: /* another handle's share mode excludes ours */
    case ERROR_LOCK_VIOLATION:
    case ERROR_BUSY:
    case ERROR_PIPE_BUSY:
    /* Truncating or deleting a file another process has mapped: the file
     * is in use, as Linux's ETXTBSY for a running executable. */
    case ERROR_USER_MAPPED_FILE: return TIO_EBUSY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return TIO_EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
#ifdef ERROR_DISK_QUOTA_EXCEEDED
    case ERROR_DISK_QUOTA_EXCEEDED: /* 1295; absent from older mingw-w64 headers */
#endif
        return TIO_ENOSPC;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_NEGATIVE_SEEK:
    case ERROR_NO_UNICODE_TRANSLATION: return TIO_EINVAL;
    case ERROR_INVALID_HANDLE: return TIO_EBADF;
    case ERROR_OPERATION_ABORTED: /* CancelIoEx, or the issuing handle closed */
        return TIO_ECANCELED;
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT: return TIO_ETIMEDOUT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_NONPAGED_SYSTEM_RESOURCES:
    case ERROR_PAGED_SYSTEM_RESOURCES:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NOT_ENOUGH_QUOTA:
    case ERROR_TOO_MANY_OPEN_FILES: return TIO_ENOMEM;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION: /* the device or filesystem lacks the operation */
    case ERROR_CALL_NOT_IMPLEMENTED: return TIO_ENOTSUP;
    case ERROR_BROKEN_PIPE: /* a write whose reader has gone */
    case ERROR_NO_DATA:     /* the pipe is being closed */
    case ERROR_PIPE_NOT_CONNECTED: return TIO_EPIPE;
    case ERROR_DIRECTORY_NOT_SUPPORTED: /* a directory where a file was expected */
        return TIO_EISDIR;
    case ERROR_DIRECTORY: /* "The directory name is invalid": a file where a directory was expected */
        return TIO_ENOTDIR;
    case ERROR_WRITE_PROTECT: return TIO_EROFS;
    case ERROR_FILE_TOO_LARGE: return TIO_EFBIG;
    case ERROR_CRC:
    case ERROR_IO_DEVICE:
    case ERROR_SECTOR_NOT_FOUND:
    case ERROR_READ_FAULT:
    case ERROR_WRITE_FAULT:
    case ERROR_GEN_FAILURE:
    case ERROR_DEVICE_NOT_CONNECTED:
    case ERROR_NOT_READY:
    /* The device went away under an open handle (surprise removal, a
     * dismounted or changed volume: "the volume for a file has been
     * externally altered"); the handle never works again. */
    case ERROR_DEVICE_REMOVED:
    case ERROR_FILE_INVALID:
    /* The filesystem found its structures or the data damaged (NTFS
     * "file or directory is corrupted and unreadable", ReFS integrity
     * streams' checksum mismatch): a read that cannot return the data,
     * as a Linux filesystem's EIO. */
    case ERROR_FILE_CORRUPT:
    case ERROR_DISK_CORRUPT:
    case ERROR_DATA_CHECKSUM_ERROR:
    /* An SMB share dropped mid-operation: the data did not reach the
     * server, as a lost NFS hard mount's EIO. (A share that is not there
     * at all, ERROR_BAD_NETPATH, is TIO_ENOENT above.) */
    case ERROR_NETNAME_DELETED:
    case ERROR_UNEXP_NET_ERR: return TIO_EIO;
    default: return TIO_EOTHER;
    }
}

/* What the normalising code needs to know of a Win32 error (outcome.c). */
int tio__os_error_kind(int os_error)
{
    switch ((DWORD)os_error) {
    case ERROR_OPERATION_ABORTED: /* CancelIoEx, CancelSynchronousIo */ return TIO__ERR_CANCELED;
    case ERROR_HANDLE_EOF: /* a read at or past end of file */
    case ERROR_BROKEN_PIPE: /* a read whose writer has closed: end of stream */ return TIO__ERR_END;
    /* ReadFile/WriteFile: "too many outstanding asynchronous I/O requests"
     * (ERROR_INVALID_USER_BUFFER, ERROR_NOT_ENOUGH_MEMORY); the working set
     * and nonpaged pool limits that lock the buffer's pages. Retried while
     * other I/O is in flight to release them. */
    case ERROR_INVALID_USER_BUFFER:
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NO_SYSTEM_RESOURCES: return TIO__ERR_AGAIN;
    default: return TIO__ERR_FAIL;
    }
}

int tio__os_error_map(int os_error)
{
    return tio__win_error_map((unsigned long)(DWORD)os_error);
}
