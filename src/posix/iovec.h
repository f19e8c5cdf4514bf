/* SPDX-License-Identifier: MIT */
/*
 * A vectored attempt's segments as the POSIX vectored calls take them
 * (preadv/pwritev, IORING_OP_READV/WRITEV): tio_buf is laid out as struct
 * iovec, so the caller's array goes to the OS as it is.
 */
#ifndef TIO_POSIX_IOVEC_H
#define TIO_POSIX_IOVEC_H

#include "common/internal.h"

#include <stddef.h>
#include <sys/uio.h>

_Static_assert(sizeof(tio_buf) == sizeof(struct iovec) &&
                   offsetof(tio_buf, base) == offsetof(struct iovec, iov_base) &&
                   offsetof(tio_buf, len) == offsetof(struct iovec, iov_len),
               "tio_buf must be laid out as struct iovec");

/* Whether a read or write attempt is the whole vectored rest (else a
 * plain buf/len): only a vectored attempt has no buffer. Told by the
 * buffer, not by t->vec, because worker threads read this while the loop
 * thread may write the flag bits sharing vec's byte (a cancel). */
static inline bool tio__vec_whole(const tio__task *t)
{
    return t->buf == NULL;
}

static inline const struct iovec *tio__iov(const tio__task *t)
{
    return (const struct iovec *)(const void *)t->v.bufs;
}

#endif
