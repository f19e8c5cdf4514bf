/* SPDX-License-Identifier: MIT */
/*
 * A read, write or fsync on a regular file as one blocking POSIX call, as
 * the threads backend's workers make it and as any POSIX backend makes it
 * on the loop thread when the common code asks for an operation now
 * (tio__backend.start_now).
 */
#ifndef TIO_POSIX_FILEOP_H
#define TIO_POSIX_FILEOP_H

#include "common/internal.h"

/* One attempt, raw: bytes moved, or os_error (errno). The common code
 * continues short transfers and retries EINTR. */
void tio__posix_file_op(const tio__task *t, int64_t *bytes, int *os_error);

/* The start_now hook of a POSIX backend (see tio__backend). write_signals:
 * a write on this thread may raise SIGXFSZ (RLIMIT_FSIZE is finite), so it
 * is not made here. */
uint8_t tio__posix_start_now(tio__task *t, unsigned how, bool write_signals, tio__sync *s);

/* Whether RLIMIT_FSIZE is finite (or unknown): a write may raise SIGXFSZ. */
bool tio__posix_fsize_limited(void);

#endif
