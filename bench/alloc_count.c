/* SPDX-License-Identifier: MIT */
/*
 * Heap-call counting for tio-bench: the executable defines malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc, memalign, valloc and pvalloc
 * itself, so every call in the process (the bench, libtaskio linked in
 * statically, liburing, libuv, glibc's own internal calls through its PLT)
 * lands here first; each counts itself and forwards to glibc's __libc_*
 * entry points. Counters are relaxed atomics: worker threads allocate too.
 *
 * The harness reads the counters at the start and the end of the measured
 * window, so allocations made during setup and warm-up do not count.
 *
 * Only with glibc; elsewhere bench_alloc_counts() reports "unavailable".
 */
#include "bench.h"

#if defined(__GLIBC__) && !defined(TIO_BENCH_NO_ALLOC_COUNT)

#  include <errno.h>
#  include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* The prototypes of memalign, valloc and pvalloc are in <malloc.h>, which
 * would also pull in glibc's deprecated hooks: declare them here. */
void *memalign(size_t align, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);

static uint64_t n_allocs, n_frees;

static inline void count_alloc(void)
{
    __atomic_fetch_add(&n_allocs, 1, __ATOMIC_RELAXED);
}
static inline void count_free(void)
{
    __atomic_fetch_add(&n_frees, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
    count_alloc();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count_alloc();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count_alloc();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    if (p != NULL)
        count_free();
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count_alloc();
    if (align == 0 || (align & (align - 1)) != 0 || align % sizeof(void *) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    count_alloc();
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
    count_alloc();
    return __libc_memalign(align, size);
}

void *valloc(size_t size)
{
    count_alloc();
    return __libc_valloc(size);
}

void *pvalloc(size_t size)
{
    count_alloc();
    return __libc_pvalloc(size);
}

bool bench_alloc_counts(uint64_t *allocs, uint64_t *frees)
{
    *allocs = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
    *frees = __atomic_load_n(&n_frees, __ATOMIC_RELAXED);
    return true;
}

#else

bool bench_alloc_counts(uint64_t *allocs, uint64_t *frees)
{
    *allocs = *frees = 0;
    return false;
}

#endif
