/* SPDX-License-Identifier: MIT */
/* Declarations shared by the Windows files. */
#ifndef TIO_WIN32_H
#define TIO_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "common/internal.h"

/* error.c */
int tio__win_error_map(unsigned long err);

/* file.c: path as CreateFileW and friends take it (absolute, \\?\ long
 * form; malloc'd), or NULL with *err; a handle's direct-I/O alignment. */
wchar_t *tio__win_long_path(const char *utf8, DWORD *err);
/* The same for an open: a relative path that fits stays relative (file.c). */
wchar_t *tio__win_open_path(const char *utf8, DWORD *err);
size_t tio__win_direct_alignment(HANDLE h, const wchar_t *path);
/* The logical sector of the volume holding an open file (its final path's
 * GetDiskFreeSpaceW; that takes only a root), 0 where it cannot be had. */
unsigned long tio__win_volume_sector(HANDLE h);

/* v where it is a power of two (a usable sector or alignment), else 0. */
static inline unsigned long tio__win_pow2_or_zero(unsigned long v)
{
    return v != 0 && (v & (v - 1)) == 0 ? v : 0;
}

/* Raw codes for refusals that are not one Win32 call's error (the file
 * layer's, mapped like any other). ERROR_DIRECTORY_NOT_SUPPORTED (336) is
 * missing from older mingw-w64 headers. */
#ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#  define ERROR_DIRECTORY_NOT_SUPPORTED 336L
#endif
/* ReFS integrity streams: a read whose checksum does not match (323);
 * missing from mingw-w64's headers. */
#ifndef ERROR_DATA_CHECKSUM_ERROR
#  define ERROR_DATA_CHECKSUM_ERROR 323L
#endif

/* tio_file.backend_flags bits: set by the IOCP backend, and by the file
 * layer at open for the backend. */
#define TIO__WIN_SKIP_ON_SUCCESS 1u /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is in force */
#define TIO__WIN_FLUSH_DSYNC 2u     /* TIO_DSYNC writes complete after a flush (file.c) */

/* iocp.c: flushes run for TIO__WIN_FLUSH_DSYNC files since the loop began
 * (each covers every write completed before it started). */
uint64_t tio__iocp_dsync_flushes(const tio_loop *loop);

#endif
