/* SPDX-License-Identifier: MIT */
/*
 * Direct-I/O alignment of an open file on Linux.
 *
 * statx(STATX_DIOALIGN) (Linux 6.1) gives the memory and offset alignment
 * the filesystem needs; taskio asks for one number covering both. Where
 * statx lacks it (older kernels, filesystems that do not fill it, or it
 * reports 0), the logical block size of the underlying device is the rule
 * O_DIRECT has always followed; failing that, 4096.
 *
 * This file includes <linux/stat.h> and not <sys/stat.h>: glibc 2.36's
 * struct statx has no stx_dio_* fields.
 */
#include "linux/sysfs.h"
#include "posix/posix.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static size_t pow2_or_zero(unsigned long v)
{
    return (v != 0 && (v & (v - 1)) == 0) ? (size_t)v : 0;
}

/* /sys/dev/block/MAJ:MIN/queue/logical_block_size; a partition has no
 * queue/ of its own, its parent disk does (../queue). */
static size_t sysfs_block_size(unsigned major, unsigned minor)
{
    static const char *const fmts[] = {
        "/sys/dev/block/%u:%u/queue/logical_block_size",
        "/sys/dev/block/%u:%u/../queue/logical_block_size",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, fmts[i], major, minor);
        size_t v = tio__sysfs_pow2(path);
        if (v)
            return v;
    }
    return 0;
}

size_t tio__posix_direct_align(int fd)
{
    struct statx stx = {0};
    long rc = syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN | STATX_TYPE, &stx);
    if (rc == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
        size_t mem = pow2_or_zero(stx.stx_dio_mem_align);
        size_t off = pow2_or_zero(stx.stx_dio_offset_align);
        if (mem && off)
            return mem > off ? mem : off;
    }
    if (rc == 0 && (stx.stx_mode & S_IFMT) == S_IFBLK) {
        int lbs = 0;
        if (ioctl(fd, BLKSSZGET, &lbs) == 0 && pow2_or_zero((unsigned long)lbs))
            return (size_t)lbs;
    }
    if (rc == 0) {
        size_t v = sysfs_block_size(stx.stx_dev_major, stx.stx_dev_minor);
        if (v)
            return v;
    }
    return 4096;
}
