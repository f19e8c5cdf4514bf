/* SPDX-License-Identifier: MIT */
/*
 * Opening files on Windows: UTF-8 path to UTF-16 (with the \\?\ prefix, so
 * paths longer than MAX_PATH work without the LongPathsEnabled policy;
 * device paths verbatim; reserved device names refused),
 * TIO_* flags to CreateFileW arguments, and direct-I/O alignment discovery.
 */
#include "win32/win32.h"

#include <winioctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ------------------------------------------------------------ the path */

static wchar_t *utf8_to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

/* The names Win32 maps to devices in any directory, with or without an
 * extension ("nul.txt" is NUL, "com1 .log" is COM1: "Naming Files, Paths,
 * and Namespaces", Microsoft docs). Through the \\?\ form, which taskio
 * gives CreateFileW, they would instead create a real file that Explorer
 * and most tools cannot open or delete: refused in every component. */
static bool reserved_name(const wchar_t *c, size_t n)
{
    static const wchar_t *const names[] = {L"CON", L"PRN", L"AUX", L"NUL", L"CONIN$", L"CONOUT$"};
    size_t base = 0;
    while (base < n && c[base] != L'.' && c[base] != L':')
        base++;
    while (base > 0 && c[base - 1] == L' ')
        base--;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (wcslen(names[i]) == base && _wcsnicmp(c, names[i], base) == 0)
            return true;
    }
    /* COM1-COM9, LPT1-LPT9, and the superscript digits the docs list too. */
    return base == 4 && (_wcsnicmp(c, L"COM", 3) == 0 || _wcsnicmp(c, L"LPT", 3) == 0) &&
           ((c[3] >= L'1' && c[3] <= L'9') || c[3] == 0x00B9 || c[3] == 0x00B2 || c[3] == 0x00B3);
}

static bool has_reserved_component(const wchar_t *w)
{
    for (const wchar_t *c = w; *c != L'\0';) {
        size_t n = wcscspn(c, L"\\");
        if (n > 0 && reserved_name(c, n))
            return true;
        c += n;
        if (*c == L'\\')
            c++;
    }
    return false;
}

/* Relative to a current directory: neither "X:\..." nor rooted at '\'
 * ("C:x" is relative to drive C's current directory). Whether the path
 * and the current directory together stay under MAX_PATH, the limit of
 * a path Win32 resolves (only the length is read here: a directory
 * changed meanwhile makes the open fail, never open another file). */
static bool fits_relative(const wchar_t *w)
{
    if (w[0] == L'\\' || (w[0] != L'\0' && w[1] == L':' && w[2] == L'\\'))
        return false;
    DWORD cwd = GetCurrentDirectoryW(0, NULL); /* with its terminating NUL */
    return cwd != 0 && cwd + wcslen(w) + 1 < MAX_PATH;
}

/* A path as CreateFileW and friends take it:
 *  - \\?\ paths are passed verbatim: the caller chose the form that
 *    disables every conversion (Microsoft docs, "Win32 File Namespaces");
 *  - '/' becomes '\', as Win32 does for every other form;
 *  - \\.\ device paths (\\.\PhysicalDrive0, \\.\C:, \\.\pipe\x) are
 *    passed on unchanged: a \\?\ prefix or GetFullPathNameW's
 *    normalisation would turn them into a UNC path to a server named ".";
 *  - other paths with a reserved device name in a component are refused
 *    (ERROR_INVALID_NAME);
 *  - the rest become absolute \\?\ paths, so that paths longer than
 *    MAX_PATH work without the LongPathsEnabled policy: GetFullPathNameW
 *    resolves relative parts first (the \\?\ form disables that), and
 *    UNC \\server\share becomes \\?\UNC\server\share;
 *  - except, where keep_relative asks, a relative path whose resolution
 *    fits in MAX_PATH: it stays as it is, so that the open resolves it
 *    once, itself. GetFullPathNameW reads the process-wide current
 *    directory, which another thread may change meanwhile ("GetFullPathName",
 *    Microsoft docs: multithreaded code should not rely on it).
 * NULL with *err where the path cannot be used. */
static wchar_t *win_path(const char *utf8, DWORD *err, bool keep_relative)
{
    wchar_t *rel = utf8_to_wide(utf8), *full = NULL, *out = NULL;
    *err = ERROR_NO_UNICODE_TRANSLATION;
    if (rel == NULL)
        return NULL;
    if (wcsncmp(rel, L"\\\\?\\", 4) == 0)
        return rel;
    for (wchar_t *c = rel; *c != L'\0'; c++) {
        if (*c == L'/')
            *c = L'\\';
    }
    if (wcsncmp(rel, L"\\\\.\\", 4) == 0 || wcsncmp(rel, L"\\\\?\\", 4) == 0)
        return rel; /* a device path, or the long form written with '/' */
    if (has_reserved_component(rel)) {
        *err = ERROR_INVALID_NAME;
        goto done;
    }
    if (keep_relative && fits_relative(rel))
        return rel;
    DWORD n = GetFullPathNameW(rel, 0, NULL, NULL);
    if (n == 0 || (full = malloc(n * sizeof *full)) == NULL ||
        GetFullPathNameW(rel, n, full, NULL) == 0) {
        *err = n == 0 ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
        goto done;
    }
    size_t len = wcslen(full) + 8;
    if ((out = malloc(len * sizeof *out)) == NULL) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
        goto done;
    }
    if (wcsncmp(full, L"\\\\", 2) == 0)
        swprintf(out, len, L"\\\\?\\UNC\\%ls", full + 2);
    else
        swprintf(out, len, L"\\\\?\\%ls", full);
done:
    free(rel);
    free(full);
    return out;
}

wchar_t *tio__win_long_path(const char *utf8, DWORD *err)
{
    return win_path(utf8, err, false);
}

wchar_t *tio__win_open_path(const char *utf8, DWORD *err)
{
    return win_path(utf8, err, true);
}

/* The opened file's absolute \\?\X:\... path, for what asks the volume
 * by name; NULL where the OS cannot say. */
static wchar_t *path_of_handle(HANDLE h)
{
    /* With no buffer, the size it needs (NUL included); then the length. */
    DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, VOLUME_NAME_DOS);
    wchar_t *w = n ? malloc(n * sizeof *w) : NULL;
    if (w == NULL)
        return NULL;
    DWORD got = GetFinalPathNameByHandleW(h, w, n, VOLUME_NAME_DOS);
    if (got == 0 || got >= n) {
        free(w);
        return NULL;
    }
    return w;
}

/* ------------------------------------------------------------ alignment */

/* The volume root holding path ("C:\"), for GetDiskFreeSpaceW. */
static DWORD sector_size_of_volume(const wchar_t *path)
{
    wchar_t root[MAX_PATH + 1];
    DWORD spc, bps, free_clusters, total;
    if (!GetVolumePathNameW(path, root, MAX_PATH))
        return 0;
    if (!GetDiskFreeSpaceW(root, &spc, &bps, &free_clusters, &total))
        return 0;
    return bps;
}

unsigned long tio__win_volume_sector(HANDLE h)
{
    wchar_t *path = path_of_handle(h);
    unsigned long bps = path != NULL ? tio__win_pow2_or_zero(sector_size_of_volume(path)) : 0;
    free(path);
    return bps;
}

/* FILE_FLAG_NO_BUFFERING needs buffer, offset and length in multiples of
 * the volume sector size ("File Buffering", Microsoft docs). Sources, best
 * first: FileStorageInfo (Windows 8+; Wine 8 fails it), FileAlignmentInfo
 * (the device's buffer alignment only), GetDiskFreeSpaceW (the one Wine
 * answers), and 4096, which is right for every modern disk. */
size_t tio__win_direct_alignment(HANDLE h, const wchar_t *path)
{
    size_t sector = 0, memory = 0;
    FILE_STORAGE_INFO si;
    FILE_ALIGNMENT_INFO ai;
    if (GetFileInformationByHandleEx(h, FileStorageInfo, &si, sizeof si))
        sector = tio__win_pow2_or_zero(si.LogicalBytesPerSector);
    if (GetFileInformationByHandleEx(h, FileAlignmentInfo, &ai, sizeof ai))
        memory = tio__win_pow2_or_zero(ai.AlignmentRequirement + 1ul);
    if (sector == 0 && path != NULL)
        sector = tio__win_pow2_or_zero(sector_size_of_volume(path));
    if (sector == 0)
        sector = 4096;
    return memory > sector ? memory : sector;
}

/* ------------------------------------------------------------ durability */

/* The handle IOCTL_STORAGE_QUERY_PROPERTY is asked on: the device itself
 * for a device path, else the volume holding the file (its
 * \\?\Volume{GUID} name, without the trailing backslash, which would
 * name the root directory instead). No access is needed to query it. */
static HANDLE open_storage(const wchar_t *path)
{
    wchar_t root[MAX_PATH + 1], volume[MAX_PATH + 1];
    const wchar_t *name = path;
    if (wcsncmp(path, L"\\\\.\\", 4) != 0) {
        if (!GetVolumePathNameW(path, root, MAX_PATH) ||
            !GetVolumeNameForVolumeMountPointW(root, volume, MAX_PATH))
            return INVALID_HANDLE_VALUE;
        size_t n = wcslen(volume);
        if (n > 0 && volume[n - 1] == L'\\')
            volume[n - 1] = L'\0';
        name = volume;
    }
    return CreateFileW(name, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
}

static bool query_property(HANDLE dev, STORAGE_PROPERTY_ID id, void *out, DWORD size)
{
    STORAGE_PROPERTY_QUERY q;
    memset(&q, 0, sizeof q);
    q.PropertyId = id;
    q.QueryType = PropertyStandardQuery;
    DWORD n = 0;
    return DeviceIoControl(dev, IOCTL_STORAGE_QUERY_PROPERTY, &q, sizeof q, out, size, &n, NULL) &&
           n >= size;
}

/* Whether a TIO_DSYNC write needs a FlushFileBuffers after it to be on
 * stable media. FILE_FLAG_WRITE_THROUGH makes the filesystem write at
 * once and asks the device for write-through (FUA); a drive with a
 * volatile write cache that does not honour it keeps the data in the
 * cache, and only a flush empties it. No flush is needed where the cache
 * is absent, disabled, write-through or battery-backed, or where the
 * device says it supports write-through (STORAGE_WRITE_CACHE_PROPERTY,
 * Microsoft docs) and is not ATA/SATA, whose Windows drivers do not pass
 * write-through on as FUA (Microsoft KB 234656, "Information about using
 * disk drive caches with SQL Server": only a flush reaches their media).
 * Where the device cannot be asked (a network share, Storage Spaces, Wine:
 * IOCTL_STORAGE_QUERY_PROPERTY fails), the flush is added: correct
 * everywhere, at the cost of one flush per batch of writes. */
static bool dsync_needs_flush(const wchar_t *path)
{
    HANDLE dev = open_storage(path);
    if (dev == INVALID_HANDLE_VALUE)
        return true;
    STORAGE_WRITE_CACHE_PROPERTY wc;
    STORAGE_DEVICE_DESCRIPTOR dd;
    bool flush = true;
    if (query_property(dev, StorageDeviceWriteCacheProperty, &wc, sizeof wc)) {
        bool volatile_cache = wc.WriteCacheType != WriteCacheTypeNone &&
                              wc.WriteCacheType != WriteCacheTypeWriteThrough &&
                              wc.WriteCacheEnabled != WriteCacheDisabled && !wc.NVCacheEnabled;
        bool fua = wc.WriteThroughSupported == WriteThroughSupported &&
                   query_property(dev, StorageDeviceProperty, &dd, sizeof dd) &&
                   dd.BusType != BusTypeAta && dd.BusType != BusTypeSata;
        flush = volatile_cache && !fua;
    }
    CloseHandle(dev);
    return flush;
}

/* ------------------------------------------------------------ open/wrap */

static DWORD disposition(unsigned flags)
{
    if ((flags & TIO_CREATE) && (flags & TIO_EXCL))
        return CREATE_NEW;
    if ((flags & TIO_CREATE) && (flags & TIO_TRUNCATE))
        return CREATE_ALWAYS;
    if (flags & TIO_CREATE)
        return OPEN_ALWAYS;
    if (flags & TIO_TRUNCATE)
        return TRUNCATE_EXISTING;
    return OPEN_EXISTING;
}

static DWORD access_of(unsigned flags)
{
    switch (flags & 3u) {
    case TIO_RDONLY: return GENERIC_READ;
    case TIO_WRONLY: return GENERIC_WRITE;
    default: return GENERIC_READ | GENERIC_WRITE;
    }
}

static void describe(tio_file *f, HANDLE h, const wchar_t *path)
{
    DWORD type = GetFileType(h);
    f->handle = h;
    /* Pipes and character devices have no offsets, and reads may wait for
     * ever; disks and files take the OVERLAPPED offset. */
    f->is_stream = type == FILE_TYPE_PIPE || type == FILE_TYPE_CHAR;
    f->align_bytes = f->direct ? tio__win_direct_alignment(h, path) : 1;
}

/* TIO_EXCLUSIVE: the share mode refuses other writers, and a lock on one
 * byte far past any data (LockFileEx locks are mandatory on Windows:
 * locking real data would block other readers) refuses other exclusive
 * openers, readers among them, in this process or another. */
static DWORD lock_exclusive(HANDLE h)
{
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = 0xFFFFFFFEu;
    ov.OffsetHigh = 0x7FFFFFFFu;
    /* The handle is overlapped and not yet on a port: the event (low bit
     * set: no completion packet) reports the outcome. */
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (ov.hEvent == NULL)
        return GetLastError();
    ov.hEvent = (HANDLE)((ULONG_PTR)ov.hEvent | 1);
    DWORD err = 0, n;
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        err = GetLastError();
        if (err == ERROR_IO_PENDING)
            err = GetOverlappedResult(h, &ov, &n, TRUE) ? 0 : GetLastError();
    }
    CloseHandle((HANDLE)((ULONG_PTR)ov.hEvent & ~(ULONG_PTR)1));
    return err;
}

int tio__os_open_raw(tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    DWORD err = 0;
    wchar_t *wpath = tio__win_open_path(path, &err);
    if (wpath == NULL)
        return (int)err;
    bool direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    DWORD attrs = (flags & TIO_CREATE) && !(mode & 0200) ? FILE_ATTRIBUTE_READONLY
                                                         : FILE_ATTRIBUTE_NORMAL;
    DWORD base = attrs | FILE_FLAG_OVERLAPPED | ((flags & TIO_DSYNC) ? FILE_FLAG_WRITE_THROUGH : 0);
    /* A directory handle needs FILE_FLAG_BACKUP_SEMANTICS (CreateFileW). */
    if (flags & TIO_DIRECTORY)
        base |= FILE_FLAG_BACKUP_SEMANTICS;
    /* FILE_SHARE_DELETE too: like POSIX, a file may be renamed or unlinked
     * while open (journals rotate this way). */
    DWORD share = FILE_SHARE_READ | FILE_SHARE_DELETE;
    if (!(flags & TIO_EXCLUSIVE))
        share |= FILE_SHARE_WRITE;
    HANDLE h = CreateFileW(wpath, access_of(flags), share, NULL, disposition(flags),
                           base | (direct ? FILE_FLAG_NO_BUFFERING : 0), NULL);
    err = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    if (h == INVALID_HANDLE_VALUE && direct && err == ERROR_INVALID_PARAMETER) {
        /* A redirector or filesystem without unbuffered I/O refuses the flag. */
        if (!(flags & TIO_DIRECT_TRY)) {
            free(wpath);
            return ERROR_NOT_SUPPORTED;
        }
        direct = false;
        h = CreateFileW(wpath, access_of(flags), share, NULL, disposition(flags), base, NULL);
        err = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    }
    if (h == INVALID_HANDLE_VALUE) {
        /* CreateFileW on a directory without FILE_FLAG_BACKUP_SEMANTICS is
         * ERROR_ACCESS_DENIED; POSIX says EISDIR, and so do we. */
        DWORD a = GetFileAttributesW(wpath);
        if (err == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES &&
            (a & FILE_ATTRIBUTE_DIRECTORY))
            err = ERROR_DIRECTORY_NOT_SUPPORTED;
        free(wpath);
        return (int)err;
    }
    BY_HANDLE_FILE_INFORMATION info;
    if ((flags & TIO_DIRECTORY) && (!GetFileInformationByHandle(h, &info) ||
                                    !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)))
        err = ERROR_DIRECTORY; /* BACKUP_SEMANTICS opened a file: not what was asked */
    if (err == 0 && (flags & TIO_EXCLUSIVE))
        err = lock_exclusive(h);
    if (err != 0) {
        CloseHandle(h);
        free(wpath);
        return (int)err;
    }
    f->direct = direct;
    /* A path kept relative names the volume through the handle: the
     * current directory is not read again. */
    wchar_t *where = wcsncmp(wpath, L"\\\\", 2) == 0 ? NULL : path_of_handle(h);
    const wchar_t *volume_path = where != NULL ? where : wpath;
    describe(f, h, volume_path);
    if ((flags & TIO_DSYNC) && !f->is_stream && !(flags & TIO_DIRECTORY) &&
        dsync_needs_flush(volume_path))
        f->backend_flags |= TIO__WIN_FLUSH_DSYNC;
    free(where);
    free(wpath);
    return 0;
}

int tio__os_open(tio_loop *loop, tio_file *f, const char *path, unsigned flags, unsigned mode)
{
    int err = tio__os_open_raw(f, path, flags, mode);
    if (err == 0)
        return 0;
    bool direct = (flags & (TIO_DIRECT | TIO_DIRECT_TRY)) != 0;
    if (direct && err == ERROR_NOT_SUPPORTED)
        return tio__fail(loop, TIO_ENOTSUP,
                         "tio_file_open: %s: the filesystem refuses "
                         "unbuffered I/O (FILE_FLAG_NO_BUFFERING: ERROR_INVALID_PARAMETER); "
                         "use TIO_DIRECT_TRY to fall back to buffered I/O",
                         path);
    if (err == ERROR_INVALID_NAME)
        return tio__fail(loop, TIO_EINVAL,
                         "tio_file_open: %s: not a usable Windows file name: a reserved "
                         "device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any "
                         "extension) or one of <>:\"|?* in a component (Win32 error %lu); "
                         "name a device as \\\\.\\NAME",
                         path, (unsigned long)(DWORD)err);
    return tio__fail(loop, tio__win_error_map((DWORD)err),
                     "tio_file_open: %s: CreateFileW failed (Win32 error %lu)", path,
                     (unsigned long)(DWORD)err);
}

/* FileModeInformation (NtQueryInformationFile) tells whether a handle was
 * opened with FILE_NO_INTERMEDIATE_BUFFERING; no Win32 call does. */
typedef LONG(NTAPI *nt_query_info_fn)(HANDLE, void *iosb, void *info, ULONG len, int cls);
#define TIO_FILE_MODE_INFORMATION 16
#define TIO_FILE_NO_INTERMEDIATE_BUFFERING 0x00000008

static bool handle_is_unbuffered(HANDLE h)
{
    static nt_query_info_fn query;
    if (query == NULL) {
        HMODULE nt = GetModuleHandleW(L"ntdll.dll");
        query = nt ? (nt_query_info_fn)(void (*)(void))GetProcAddress(nt, "NtQueryInformationFile")
                   : NULL;
        if (query == NULL)
            return false;
    }
    ULONG_PTR iosb[2];
    ULONG mode = 0;
    return query(h, iosb, &mode, sizeof mode, TIO_FILE_MODE_INFORMATION) >= 0 &&
           (mode & TIO_FILE_NO_INTERMEDIATE_BUFFERING) != 0;
}

int tio__os_wrap(tio_loop *loop, tio_file *f, tio_handle h, unsigned flags)
{
    (void)flags;
    if (h == NULL || h == INVALID_HANDLE_VALUE || GetFileType(h) == FILE_TYPE_UNKNOWN) {
        DWORD err = h == NULL || h == INVALID_HANDLE_VALUE ? ERROR_INVALID_HANDLE : GetLastError();
        if (err == NO_ERROR)
            err = ERROR_INVALID_HANDLE;
        return tio__fail(loop, TIO_EBADF, "tio_file_wrap: not a usable handle (Win32 error %lu)",
                         (unsigned long)err);
    }
    f->direct = handle_is_unbuffered(h);
    describe(f, h, NULL);
    return 0;
}

int tio__os_close(tio_file *f)
{
    if (!CloseHandle(f->handle))
        return tio__win_error_map(GetLastError());
    return 0;
}

int tio__os_size(tio_file *f, uint64_t *size)
{
    LARGE_INTEGER n;
    if (!GetFileSizeEx(f->handle, &n))
        return tio__win_error_map(GetLastError());
    *size = (uint64_t)n.QuadPart;
    return 0;
}
