/* SPDX-License-Identifier: MIT */
/*
 * Reading the small files of /sys: one read(2), no stdio (these run at
 * open and allocation time, on any thread).
 */
#include "linux/sysfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

bool tio__sysfs_text(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    if (got <= 0)
        return false;
    buf[got] = '\0';
    return true;
}

size_t tio__sysfs_pow2(const char *path)
{
    char buf[32];
    if (!tio__sysfs_text(path, buf, sizeof buf))
        return 0;
    unsigned long v = strtoul(buf, NULL, 10);
    return v != 0 && (v & (v - 1)) == 0 ? (size_t)v : 0;
}
