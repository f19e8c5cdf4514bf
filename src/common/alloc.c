/* SPDX-License-Identifier: MIT */
/* Aligned buffers for direct I/O. */
#include "common/internal.h"

#ifndef _WIN32
#  include "posix/posix.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef _WIN32
#  include <malloc.h>
#  include <windows.h>
#else
#  include <unistd.h>
#endif

static size_t page_size(void)
{
#ifdef _WIN32
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
#else
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
#endif
}

void *tio_alloc(size_t size, size_t align)
{
    if (align == 0)
        align = page_size();
    /* A power of two, and not absurd: sanitizer allocators (and Windows'
     * _aligned_malloc, which adds align to size) misbehave beyond. */
    if ((align & (align - 1)) != 0 || align > ((size_t)1 << 30))
        return NULL;
    /* No object may exceed PTRDIFF_MAX (glibc's malloc refuses it too), and
     * _aligned_malloc adds its own header and padding without checking. */
    if (size > (size_t)PTRDIFF_MAX - 2 * align)
        return NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (size == 0)
        size = align;
#ifdef _WIN32
    return _aligned_malloc(size, align);
#else
    /* A buffer of one huge page or more starts on a huge page, and its
     * whole huge pages are asked for as such (src/linux/memory.c: a
     * direct transfer from one is a single segment for the device). Under
     * 2 MiB (x86-64's huge page, and arm64's with 4 KiB pages) the OS is
     * not asked. */
    size_t huge = size >= ((size_t)2 << 20) ? tio__posix_huge_page() : 0;
    if (size < huge)
        huge = 0;
    if (align < huge)
        align = huge;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    if (huge != 0)
        tio__posix_advise_huge(p, size - size % huge);
    return p;
#endif
}

void tio_free(void *p)
{
#ifdef _WIN32
    _aligned_free(p);
#else
    free(p);
#endif
}
