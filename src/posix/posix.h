/* SPDX-License-Identifier: MIT */
/*
 * What the POSIX file layer (src/posix/file.c) asks of one OS: direct I/O,
 * the sizes of devices, and huge pages for buffers. Linux answers in
 * src/linux (O_DIRECT, statx, madvise), every other POSIX system in
 * src/posix/direct.c (F_NOCACHE on macOS, O_DIRECT on the BSDs).
 */
#ifndef TIO_POSIX_H
#define TIO_POSIX_H

#include "common/internal.h"

/* helper.c: true on a helper thread, whose task's open(2) may be
 * cancelled (file.c). */
extern _Thread_local bool tio__posix_cancellable;

/* Turn direct I/O on for an open descriptor: 0, or an errno. EINVAL means
 * the filesystem refuses it (TIO_ENOTSUP for the user). */
int tio__posix_direct_enable(int fd);
/* Whether a descriptor taskio did not open bypasses the page cache (its
 * status flags fl, from F_GETFL). */
bool tio__posix_direct_is_on(int fd, int fl);
/* The alignment of buffers, offsets and lengths direct I/O on fd needs: a
 * power of two, never 0. */
size_t tio__posix_direct_align(int fd);
/* The largest aligned write the device fd's data lives on does not tear
 * on power loss: a power of two, never 0. */
size_t tio__posix_atomic_write(int fd);
/* The size in bytes of the disk device fd is: 0, or an errno (ENOTTY: fd
 * is not a disk). */
int tio__posix_device_size(int fd, uint64_t *size);

/* The size of the huge pages the OS can back an anonymous range with on
 * request (0: none), and that request for [p, p + len), both multiples of
 * it (tio_alloc's large buffers). */
size_t tio__posix_huge_page(void);
void tio__posix_advise_huge(void *p, size_t len);

#endif /* TIO_POSIX_H */
