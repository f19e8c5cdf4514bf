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

/* tio_file.backend_flags bits set by the IOCP backend. */
#define TIO__WIN_SKIP_ON_SUCCESS 1u /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is in force */

#endif
