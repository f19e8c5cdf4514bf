/* SPDX-License-Identifier: MIT */
/*
 * The largest write a Linux device does not tear on power loss, for
 * tio_stat_file: the physical block size of the disk the file lives on (a
 * 512e disk reads and writes 512-byte sectors but tears inside its
 * 4,096-byte physical ones). Asked of the device itself for a block device
 * (BLKPBSZGET), else of sysfs by the file's st_dev
 * (/sys/dev/block/MAJ:MIN/queue/physical_block_size; a partition's queue is
 * its disk's, one directory up). Filesystems without a block device (tmpfs,
 * NFS, FUSE) say nothing: the direct-I/O alignment stands in.
 */
#include "linux/sysfs.h"
#include "posix/posix.h"

#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

size_t tio__posix_atomic_write(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return tio__posix_direct_align(fd);
    unsigned int pbs = 0;
    if (S_ISBLK(st.st_mode) && ioctl(fd, BLKPBSZGET, &pbs) == 0 && pbs > 0 &&
        (pbs & (pbs - 1)) == 0)
        return pbs;
    char path[96];
    unsigned maj = major(st.st_dev), min = minor(st.st_dev);
    snprintf(path, sizeof path, "/sys/dev/block/%u:%u/queue/physical_block_size", maj, min);
    size_t v = tio__sysfs_pow2(path);
    if (v == 0) {
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../queue/physical_block_size", maj, min);
        v = tio__sysfs_pow2(path);
    }
    return v != 0 ? v : tio__posix_direct_align(fd);
}
