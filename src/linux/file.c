/* SPDX-License-Identifier: MIT */
/*
 * Direct I/O on Linux, for the POSIX file layer (src/posix/file.c):
 * O_DIRECT asked for on the open descriptor, its alignment (align.c), and
 * the size of a block device.
 */
#include "posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

int tio__posix_direct_enable(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
        return 0;
    /* fcntl(2): EINVAL "the filesystem does not support O_DIRECT" (ramfs,
     * tmpfs before Linux 6.6, some FUSE and network mounts). */
    return errno;
}

bool tio__posix_direct_is_on(int fd, int fl)
{
    (void)fd;
    return (fl & O_DIRECT) != 0;
}

int tio__posix_device_size(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    /* Character devices are never disks on Linux. */
    if (!S_ISBLK(st.st_mode))
        return ENOTTY;
    return ioctl(fd, BLKGETSIZE64, size) == 0 ? 0 : errno;
}
