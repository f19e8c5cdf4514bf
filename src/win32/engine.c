/* SPDX-License-Identifier: MIT */
/*
 * The engine operations as Win32 calls (tio__os_engine_run), run to their
 * end on the IOCP backend's helper thread: 0 or the raw Win32 error.
 */
#include "win32/win32.h"

#include <stdlib.h>

/* Reserve space: the allocation size grows to cover offset+len (never
 * lowered: a smaller FileAllocationInfo would free space past the end of
 * file), then, without TIO_ALLOCATE_KEEP_SIZE, the end of file moves
 * there. NTFS still zero-fills between the valid data length and a later
 * write at the time of that write (SetFileValidData needs
 * SE_MANAGE_VOLUME_NAME and would expose old disk contents). */
static DWORD allocate(HANDLE h, uint64_t offset, uint64_t len, bool keep_size)
{
    FILE_STANDARD_INFO si;
    if (!GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si))
        return GetLastError();
    uint64_t end = offset + len;
    if (end > (uint64_t)si.AllocationSize.QuadPart) {
        FILE_ALLOCATION_INFO ai;
        ai.AllocationSize.QuadPart = (LONGLONG)end;
        if (!SetFileInformationByHandle(h, FileAllocationInfo, &ai, sizeof ai))
            return GetLastError();
    }
    if (!keep_size && end > (uint64_t)si.EndOfFile.QuadPart) {
        FILE_END_OF_FILE_INFO ei;
        ei.EndOfFile.QuadPart = (LONGLONG)end;
        if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &ei, sizeof ei))
            return GetLastError();
    }
    return 0;
}

static DWORD truncate_file(HANDLE h, uint64_t size)
{
    FILE_END_OF_FILE_INFO ei;
    ei.EndOfFile.QuadPart = (LONGLONG)size;
    return SetFileInformationByHandle(h, FileEndOfFileInfo, &ei, sizeof ei) ? 0 : GetLastError();
}

/* MoveFileExW replaces atomically on NTFS (MOVEFILE_REPLACE_EXISTING); a
 * target open without FILE_SHARE_DELETE refuses (ERROR_ACCESS_DENIED).
 * MOVEFILE_WRITE_THROUGH returns once the rename is on disk. */
static DWORD rename_path(const char *from, const char *to, bool noreplace)
{
    DWORD err = 0;
    wchar_t *wfrom = tio__win_long_path(from, &err), *wto = NULL;
    if (wfrom != NULL && (wto = tio__win_long_path(to, &err)) != NULL) {
        DWORD how = MOVEFILE_WRITE_THROUGH | (noreplace ? 0 : MOVEFILE_REPLACE_EXISTING);
        err = MoveFileExW(wfrom, wto, how) ? 0 : GetLastError();
    }
    free(wfrom);
    free(wto);
    return err;
}

/* DeleteFileW of a directory is ERROR_ACCESS_DENIED: the contract says
 * "is a directory". */
static DWORD unlink_path(const char *path)
{
    DWORD err = 0;
    wchar_t *w = tio__win_long_path(path, &err);
    if (w == NULL)
        return err;
    err = 0;
    if (!DeleteFileW(w)) {
        err = GetLastError();
        DWORD a = GetFileAttributesW(w);
        if (err == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES &&
            (a & FILE_ATTRIBUTE_DIRECTORY))
            err = ERROR_DIRECTORY_NOT_SUPPORTED;
    }
    free(w);
    return err;
}

/* PhysicalBytesPerSectorForAtomicity (FileStorageInfo, Windows 8+) is what
 * the device promises not to tear; where it is not answered (Wine), the
 * sector size direct I/O uses stands in. */
static DWORD stat_file(tio_file *f, tio_stat *st)
{
    FILE_STANDARD_INFO si;
    if (!GetFileInformationByHandleEx(f->handle, FileStandardInfo, &si, sizeof si))
        return GetLastError();
    st->size = (uint64_t)si.EndOfFile.QuadPart;
    st->allocated = (uint64_t)si.AllocationSize.QuadPart;
    FILE_STORAGE_INFO gi;
    unsigned long atomic = 0;
    if (GetFileInformationByHandleEx(f->handle, FileStorageInfo, &gi, sizeof gi))
        atomic = gi.PhysicalBytesPerSectorForAtomicity;
    if (atomic == 0 || (atomic & (atomic - 1)) != 0)
        atomic = (unsigned long)tio__win_direct_alignment(f->handle, NULL);
    st->atomic_write = atomic >= 512 ? (uint32_t)atomic : 512u;
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
        err = allocate(t->file->handle, t->offset, t->e.len,
                       (t->op_flags & TIO_ALLOCATE_KEEP_SIZE) != 0);
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
