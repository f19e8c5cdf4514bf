/* SPDX-License-Identifier: MIT */
/* The small files of /sys the Linux layer reads (sysfs.c). */
#ifndef TIO_LINUX_SYSFS_H
#define TIO_LINUX_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* The file's text, at most n - 1 bytes, NUL-terminated; false if it
 * cannot be read or is empty. */
bool tio__sysfs_text(const char *path, char *buf, size_t n);
/* The number the file starts with, if a power of two; else 0. */
size_t tio__sysfs_pow2(const char *path);

#endif /* TIO_LINUX_SYSFS_H */
