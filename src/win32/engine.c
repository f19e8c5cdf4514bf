/* SPDX-License-Identifier: MIT */
/*
 * The engine operations as Win32 calls (tio__os_engine_run), run to their
 * end on the IOCP backend's helper thread: 0 or the raw Win32 error.
 */
#include "win32/win32.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Zeros written over [from, end) (inside the file) raise NTFS's valid
 * data length to end now, on the helper thread, so that later writes there
 * do not extend it synchronously inside WriteFile, on the loop's thread
 * ("Asynchronous disk I/O appears as synchronous on Windows", Microsoft
 * docs). On a direct handle only whole aligned blocks can be written: the
 * partial blocks at either end are left (one later write each extends the
 * valid data length there). The event's low bit keeps the writes off the
 * loop's completion port. */
static DWORD zero_fill(const tio_file *f, uint64_t from, uint64_t end)
{
    enum { CHUNK = 1 << 20 };
    uint64_t a = f->direct ? f->align_bytes : 1;
    uint64_t pos = (from + a - 1) / a * a;
    end = end / a * a;
    if (pos >= end)
        return 0;
    void *zeros = VirtualAlloc(NULL, CHUNK, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    DWORD err = zeros == NULL || ev == NULL ? GetLastError() : 0;
    while (err == 0 && pos < end) {
        DWORD n = end - pos < CHUNK ? (DWORD)(end - pos) : (DWORD)CHUNK;
        OVERLAPPED ov;
        memset(&ov, 0, sizeof ov);
        ov.Offset = (DWORD)pos;
        ov.OffsetHigh = (DWORD)(pos >> 32);
        ov.hEvent = (HANDLE)((ULONG_PTR)ev | 1);
        DWORD done = 0;
        if (!WriteFile(f->handle, zeros, n, NULL, &ov) && GetLastError() != ERROR_IO_PENDING)
            err = GetLastError();
        else if (!GetOverlappedResult(f->handle, &ov, &done, TRUE))
            err = GetLastError();
        else if (done == 0)
            err = ERROR_WRITE_FAULT;
        pos += done;
    }
    if (ev != NULL)
        CloseHandle(ev);
    if (zeros != NULL)
        VirtualFree(zeros, 0, MEM_RELEASE);
    return err;
}

/* Reserve space: the allocation size grows to cover offset+len (never
 * lowered: a smaller FileAllocationInfo would free space past the end of
 * file). Without TIO_ALLOCATE_KEEP_SIZE the end of file moves there and
 * the valid data length follows: SetFileValidData where the process has
 * SE_MANAGE_VOLUME_NAME enabled (the range then reads as whatever the disk
 * held, not zeros: the engine's checksums must tell), else zeros written.
 * Written zeros are space taken too, so where FileAllocationInfo is not
 * supported (Wine) the zeros alone reserve it. */
static DWORD allocate(tio_file *f, uint64_t offset, uint64_t len, bool keep_size)
{
    HANDLE h = f->handle;
    FILE_STANDARD_INFO si;
    if (!GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si))
        return GetLastError();
    uint64_t end = offset + len, size = (uint64_t)si.EndOfFile.QuadPart;
    DWORD err = 0;
    if (end > (uint64_t)si.AllocationSize.QuadPart) {
        FILE_ALLOCATION_INFO ai;
        ai.AllocationSize.QuadPart = (LONGLONG)end;
        if (!SetFileInformationByHandle(h, FileAllocationInfo, &ai, sizeof ai))
            err = GetLastError();
    }
    bool unsupported = err == ERROR_INVALID_PARAMETER || err == ERROR_NOT_SUPPORTED ||
                       err == ERROR_INVALID_FUNCTION || err == ERROR_CALL_NOT_IMPLEMENTED;
    if (err != 0 && (!unsupported || keep_size))
        return unsupported ? ERROR_NOT_SUPPORTED : err;
    if (keep_size || end <= size)
        return 0;
    FILE_END_OF_FILE_INFO ei;
    ei.EndOfFile.QuadPart = (LONGLONG)end;
    if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &ei, sizeof ei))
        return GetLastError();
    if (SetFileValidData(h, (LONGLONG)end))
        return 0;
    return zero_fill(f, size, end);
}

static DWORD truncate_file(HANDLE h, uint64_t size)
{
    FILE_END_OF_FILE_INFO ei;
    ei.EndOfFile.QuadPart = (LONGLONG)size;
    return SetFileInformationByHandle(h, FileEndOfFileInfo, &ei, sizeof ei) ? 0 : GetLastError();
}

/* POSIX semantics for names (Windows 10 1607/1709+, NTFS and ReFS): a
 * rename may replace a file that is open elsewhere (with FILE_SHARE_DELETE,
 * as taskio opens files), and a deleted name is gone at once rather than
 * when its last handle closes, so a file of the same name can be created
 * right after, as on POSIX. The classes and flags are declared here:
 * mingw-w64 shows them only to _WIN32_WINNT >= Windows 10 builds, and
 * taskio runs on Windows 8 too (where they fail and the classic calls
 * serve). */
#define TIO_FILE_DISPOSITION_INFO_EX 21 /* FileDispositionInfoEx */
#define TIO_FILE_RENAME_INFO_EX 22      /* FileRenameInfoEx */
#define TIO_DISPOSITION_DELETE 0x1      /* FILE_DISPOSITION_FLAG_DELETE */
#define TIO_DISPOSITION_POSIX 0x2       /* FILE_DISPOSITION_FLAG_POSIX_SEMANTICS */
#define TIO_RENAME_REPLACE 0x1          /* FILE_RENAME_FLAG_REPLACE_IF_EXISTS */
#define TIO_RENAME_POSIX 0x2            /* FILE_RENAME_FLAG_POSIX_SEMANTICS */

typedef struct rename_info { /* FILE_RENAME_INFO with its Flags member */
    DWORD Flags;
    HANDLE RootDirectory;
    DWORD FileNameLength;
    WCHAR FileName[1];
} rename_info;

/* Errors that mean "this system or filesystem has no POSIX semantics":
 * the classic call is tried instead. */
static bool no_posix_semantics(DWORD err)
{
    return err == ERROR_INVALID_PARAMETER || err == ERROR_NOT_SUPPORTED ||
           err == ERROR_INVALID_FUNCTION || err == ERROR_CALL_NOT_IMPLEMENTED;
}

/* The object a name refers to, opened to be renamed or deleted (not the
 * target of a symbolic link). */
static HANDLE open_for_delete(const wchar_t *w)
{
    return CreateFileW(w, DELETE | SYNCHRONIZE,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                       FILE_FLAG_OPEN_REPARSE_POINT, NULL);
}

/* FileRenameInfoEx takes the target as an NT path: the long form's \\?\
 * prefix is \??\ there. */
static DWORD rename_posix(const wchar_t *wfrom, const wchar_t *wto, bool noreplace)
{
    HANDLE h = open_for_delete(wfrom);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError();
    size_t n = wcslen(wto);
    size_t size = offsetof(rename_info, FileName) + (n + 1) * sizeof(WCHAR);
    rename_info *ri = calloc(1, size);
    DWORD err = ERROR_NOT_ENOUGH_MEMORY;
    if (ri != NULL) {
        ri->Flags = TIO_RENAME_POSIX | (noreplace ? 0 : TIO_RENAME_REPLACE);
        ri->FileNameLength = (DWORD)(n * sizeof(WCHAR));
        memcpy(ri->FileName, wto, n * sizeof(WCHAR));
        if (n >= 4 && wcsncmp(wto, L"\\\\?\\", 4) == 0)
            ri->FileName[1] = L'?';
        err = SetFileInformationByHandle(h, (FILE_INFO_BY_HANDLE_CLASS)TIO_FILE_RENAME_INFO_EX, ri,
                                         (DWORD)size)
                  ? 0
                  : GetLastError();
        free(ri);
    }
    CloseHandle(h);
    return err;
}

/* A replace is atomic on NTFS either way (MOVEFILE_REPLACE_EXISTING is the
 * classic form); the directory's tio_fsync makes it durable. */
static DWORD rename_path(const char *from, const char *to, bool noreplace)
{
    DWORD err = 0;
    wchar_t *wfrom = tio__win_long_path(from, &err), *wto = NULL;
    if (wfrom != NULL && (wto = tio__win_long_path(to, &err)) != NULL) {
        err = rename_posix(wfrom, wto, noreplace);
        if (no_posix_semantics(err)) {
            DWORD how = MOVEFILE_WRITE_THROUGH | (noreplace ? 0 : MOVEFILE_REPLACE_EXISTING);
            err = MoveFileExW(wfrom, wto, how) ? 0 : GetLastError();
        }
    }
    free(wfrom);
    free(wto);
    return err;
}

static DWORD delete_posix(const wchar_t *w)
{
    HANDLE h = open_for_delete(w);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError();
    DWORD flags = TIO_DISPOSITION_DELETE | TIO_DISPOSITION_POSIX;
    DWORD err = SetFileInformationByHandle(h,
                                           (FILE_INFO_BY_HANDLE_CLASS)TIO_FILE_DISPOSITION_INFO_EX,
                                           &flags, sizeof flags)
                    ? 0
                    : GetLastError();
    CloseHandle(h);
    return err;
}

/* A directory cannot be opened without FILE_FLAG_BACKUP_SEMANTICS, and
 * DeleteFileW of one fails: both ERROR_ACCESS_DENIED, where the contract
 * says "is a directory". */
static DWORD unlink_path(const char *path)
{
    DWORD err = 0;
    wchar_t *w = tio__win_long_path(path, &err);
    if (w == NULL)
        return err;
    err = delete_posix(w);
    if (no_posix_semantics(err))
        err = DeleteFileW(w) ? 0 : GetLastError();
    DWORD a = GetFileAttributesW(w);
    if (err == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES &&
        (a & FILE_ATTRIBUTE_DIRECTORY))
        err = ERROR_DIRECTORY_NOT_SUPPORTED;
    free(w);
    return err;
}

/* The largest write the device does not tear: PhysicalBytesPerSectorForAtomicity
 * (FileStorageInfo, Windows 8+), which on a 512e disk is the 4096-byte
 * physical sector and not the 512-byte logical one. Where the device does
 * not say, the logical sector (FileStorageInfo, else GetDiskFreeSpaceW: the
 * one Wine answers), and 512, the smallest any disk has, where nothing
 * does: claiming more than the device keeps whole would be unsafe, and the
 * direct-I/O alignment's 4096 fallback is not a promise of atomicity. */
static uint32_t atomic_write_size(HANDLE h)
{
    FILE_STORAGE_INFO gi;
    unsigned long atomic = 0;
    if (GetFileInformationByHandleEx(h, FileStorageInfo, &gi, sizeof gi)) {
        atomic = tio__win_pow2_or_zero(gi.PhysicalBytesPerSectorForAtomicity);
        if (atomic == 0)
            atomic = tio__win_pow2_or_zero(gi.LogicalBytesPerSector);
    }
    if (atomic == 0)
        atomic = tio__win_volume_sector(h);
    return atomic >= 512 ? (uint32_t)atomic : 512u;
}

static DWORD stat_file(tio_file *f, tio_stat *st)
{
    FILE_STANDARD_INFO si;
    if (!GetFileInformationByHandleEx(f->handle, FileStandardInfo, &si, sizeof si))
        return GetLastError();
    st->size = (uint64_t)si.EndOfFile.QuadPart;
    st->allocated = (uint64_t)si.AllocationSize.QuadPart;
    st->atomic_write = atomic_write_size(f->handle);
    return 0;
}

int tio__os_engine_run(tio__task *t)
{
    DWORD err;
    switch (t->op) {
    case TIO__OP_OPEN: {
        tio_file *f = t->buf;
        return tio__os_open_raw(f, t->e.path, f->flags, (unsigned)t->offset);
    }
    case TIO__OP_CLOSE:
        err = !t->file->owned || CloseHandle(t->file->handle) ? 0 : GetLastError();
        break;
    case TIO__OP_ALLOCATE:
        err = allocate(t->file, t->offset, t->e.len, (t->op_flags & TIO_ALLOCATE_KEEP_SIZE) != 0);
        break;
    case TIO__OP_TRUNCATE: err = truncate_file(t->file->handle, t->offset); break;
    case TIO__OP_RENAME:
        err = rename_path(t->e.path, t->e.to, (t->op_flags & TIO_RENAME_NOREPLACE) != 0);
        break;
    case TIO__OP_UNLINK: err = unlink_path(t->e.path); break;
    case TIO__OP_STAT: err = stat_file(t->file, t->buf); break;
    default:
        TIO_ASSERT(!"tio__os_engine_run: not an engine operation");
        err = ERROR_INVALID_PARAMETER;
    }
    return (int)err;
}
