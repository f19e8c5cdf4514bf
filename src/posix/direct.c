/* SPDX-License-Identifier: MIT */
/*
 * Direct I/O on the POSIX systems without a src/<os>/ of their own (macOS,
 * FreeBSD, the other BSDs), for the POSIX file layer (src/posix/file.c).
 *
 * macOS has no O_DIRECT. fcntl(F_NOCACHE) turns the unified buffer cache
 * off for one open file (fcntl(2)): aligned transfers go to the device,
 * unaligned parts through the cache. No filesystem refuses it, so
 * TIO_DIRECT never fails with TIO_ENOTSUP there; macOS cannot tell whether
 * a descriptor taskio did not open has it (there is no F_GETNOCACHE), so
 * a wrapped descriptor counts as buffered.
 * FreeBSD, NetBSD and DragonFly: O_DIRECT, which F_SETFL may set on an
 * open descriptor (fcntl(2)). UFS honours it; ZFS before OpenZFS 2.3
 * accepts it and caches anyway.
 * Elsewhere (OpenBSD) nothing bypasses the cache: EINVAL, so TIO_DIRECT is
 * TIO_ENOTSUP and TIO_DIRECT_TRY opens buffered.
 *
 * Alignment: a disk's sector size; for a file, the filesystem's fundamental
 * block size (fstatvfs f_frsize: statfs f_bsize on macOS and FreeBSD), and
 * at least 4096: the smallest page size, and what Linux falls back to.
 */
#include "posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#if defined(__APPLE__)
#  if defined(__has_include)
#    if __has_include(<sys/disk.h>)
#      include <sys/disk.h>
#    endif
#  endif
#  ifndef DKIOCGETBLOCKSIZE /* the SDK's <sys/disk.h>; zig's macOS headers lack it */
#    define DKIOCGETBLOCKSIZE _IOR('d', 24, uint32_t)
#    define DKIOCGETBLOCKCOUNT _IOR('d', 25, uint64_t)
#  endif
#elif defined(__FreeBSD__) || defined(__DragonFly__)
#  include <sys/disk.h>
#elif defined(__NetBSD__)
#  include <sys/dkio.h>
#endif

#define MIN_ALIGN 4096u
#define MAX_ALIGN 65536u

static size_t pow2_or_zero(unsigned long v)
{
    return (v != 0 && (v & (v - 1)) == 0) ? (size_t)v : 0;
}

int tio__posix_direct_enable(int fd)
{
#if defined(F_NOCACHE)
    return fcntl(fd, F_NOCACHE, 1) == 0 ? 0 : errno;
#elif defined(O_DIRECT)
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
        return 0;
    return errno;
#else
    (void)fd;
    return EINVAL;
#endif
}

bool tio__posix_direct_is_on(int fd, int fl)
{
    (void)fd;
#if defined(O_DIRECT) && !defined(F_NOCACHE)
    return (fl & O_DIRECT) != 0;
#else
    (void)fl;
    return false;
#endif
}

/* The sector size of a disk device, or 0. */
static size_t sector_size(int fd)
{
#if defined(DKIOCGETBLOCKSIZE)
    uint32_t v = 0;
    if (ioctl(fd, DKIOCGETBLOCKSIZE, &v) == 0)
        return pow2_or_zero(v);
#elif defined(DIOCGSECTORSIZE)
    unsigned v = 0;
    if (ioctl(fd, DIOCGSECTORSIZE, &v) == 0)
        return pow2_or_zero(v);
#else
    (void)fd;
#endif
    return 0;
}

size_t tio__posix_direct_align(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
        size_t v = sector_size(fd);
        if (v != 0)
            return v;
    }
    struct statvfs sv;
    if (fstatvfs(fd, &sv) == 0) {
        size_t v = pow2_or_zero(sv.f_frsize);
        if (v > MIN_ALIGN && v <= MAX_ALIGN)
            return v;
    }
    return MIN_ALIGN;
}

int tio__posix_device_size(int fd, uint64_t *size)
{
#if defined(DKIOCGETBLOCKCOUNT)
    uint32_t block = 0;
    uint64_t count = 0;
    if (ioctl(fd, DKIOCGETBLOCKSIZE, &block) != 0 || ioctl(fd, DKIOCGETBLOCKCOUNT, &count) != 0)
        return errno;
    *size = (uint64_t)block * count;
    return 0;
#elif defined(DIOCGMEDIASIZE)
    off_t bytes = 0;
    if (ioctl(fd, DIOCGMEDIASIZE, &bytes) != 0)
        return errno;
    *size = (uint64_t)bytes;
    return 0;
#else
    (void)fd;
    (void)size;
    return ENOTTY;
#endif
}

/* macOS and the BSDs expose a disk's physical sector size only to a
 * descriptor of the disk itself (DKIOCGETPHYSICALBLOCKSIZE, FreeBSD's
 * DIOCGSTRIPESIZE): for a file, its filesystem's sector size, as direct
 * I/O needs, stands in. */
size_t tio__posix_atomic_write(int fd)
{
#if defined(DKIOCGETPHYSICALBLOCKSIZE)
    uint32_t pbs = 0;
    if (ioctl(fd, DKIOCGETPHYSICALBLOCKSIZE, &pbs) == 0 && pbs > 0 && (pbs & (pbs - 1)) == 0)
        return pbs;
#endif
    return tio__posix_direct_align(fd);
}

/* No huge pages are asked for here: macOS gives superpages only to
 * mach_vm_allocate with VM_FLAGS_SUPERPAGE_SIZE_2MB, which free(3) cannot
 * release, and FreeBSD promotes anonymous memory to superpages on its own
 * (vm.pmap.pg_ps_enabled), without a request. */
size_t tio__posix_huge_page(void)
{
    return 0;
}

void tio__posix_advise_huge(void *p, size_t len)
{
    (void)p;
    (void)len;
}
