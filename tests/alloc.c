/* SPDX-License-Identifier: MIT */
/*
 * tio_alloc and tio_free (man/tio_alloc.3):
 *
 *   alloc           the contract, on every OS: the alignment asked for (0:
 *                   the page size), a distinct pointer for size 0, NULL for
 *                   an alignment that is not a power of two or is over
 *                   1 GiB and for a size no object may have; tio_free(NULL)
 *   alloc huge      Linux: a buffer of a huge page or more starts on a huge
 *                   page and its range is marked for transparent huge pages
 *                   (VmFlags "hg" in /proc/self/smaps); 77 where the kernel
 *                   gives none (no THP, or "never")
 */
#include "taskio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tio_expect.h"

#ifdef __linux__
#  include "posix/posix.h"
#endif

static int contract(void)
{
    static const size_t aligns[] = {1, 8, 64, 512, 4096, 65536, (size_t)2 << 20};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t sizes[] = {1, 4096, 3 * aligns[i] + 5};
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            unsigned char *p = tio_alloc(sizes[j], aligns[i]);
            EXPECT(p != NULL, "tio_alloc(%zu, %zu): NULL", sizes[j], aligns[i]);
            if (p == NULL)
                continue;
            EXPECT((uintptr_t)p % aligns[i] == 0, "tio_alloc(%zu, %zu) = %p: misaligned", sizes[j],
                   aligns[i], (void *)p);
            memset(p, 0xa5, sizes[j]); /* all of it is ours (ASan, valgrind) */
            EXPECT(p[sizes[j] - 1] == 0xa5, "last byte");
            tio_free(p);
        }
    }
    /* 0: the page size, which is at least 4096 everywhere taskio runs. */
    void *page = tio_alloc(100, 0);
    EXPECT(page != NULL && (uintptr_t)page % 4096 == 0, "tio_alloc(100, 0) = %p", page);
    tio_free(page);
    void *a = tio_alloc(0, 0), *b = tio_alloc(0, 0);
    EXPECT(a != NULL && b != NULL && a != b, "tio_alloc(0, 0) twice: %p, %p", a, b);
    tio_free(a);
    tio_free(b);
    EXPECT(tio_alloc(64, 3) == NULL, "align 3 accepted");
    EXPECT(tio_alloc(64, 48) == NULL, "align 48 accepted");
    EXPECT(tio_alloc(64, (size_t)2 << 30) == NULL, "align 2 GiB accepted");
    EXPECT(tio_alloc(SIZE_MAX, 0) == NULL, "size SIZE_MAX accepted");
    EXPECT(tio_alloc(SIZE_MAX / 2, 4096) == NULL, "size SIZE_MAX / 2 accepted");
    tio_free(NULL);
    return failures == 0 ? 0 : 1;
}

#ifdef __linux__
/* The VmFlags line of the mapping of /proc/self/smaps that holds p. */
static int vm_flags(const void *p, char *out, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (f == NULL)
        return -1;
    char line[512];
    bool in = false;
    int rc = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        /* A mapping's first line; field lines ("AnonHugePages:") never
         * have a hex number, a dash and another. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, n, "%s", line + 8);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int huge(void)
{
    size_t hp = tio__posix_huge_page();
    if (hp == 0)
        return skip("the kernel gives no transparent huge pages here (no THP, or \"never\")");
    printf("huge page: %zu KiB\n", hp >> 10);
    /* Three and a half huge pages: three whole ones, a tail of small. */
    size_t size = 3 * hp + hp / 2;
    unsigned char *p = tio_alloc(size, 0);
    EXPECT(p != NULL, "tio_alloc(%zu, 0): NULL", size);
    if (p == NULL)
        return 1;
    EXPECT((uintptr_t)p % hp == 0, "%p: not on a huge page", (void *)p);
    memset(p, 1, size);
    char flags[512] = "";
    EXPECT(vm_flags(p, flags, sizeof flags) == 0, "no mapping for %p in /proc/self/smaps",
           (void *)p);
    EXPECT(strstr(flags, " hg") != NULL, "VmFlags of the buffer lack hg (MADV_HUGEPAGE):%s", flags);
    tio_free(p);
    /* Under a huge page: as asked, and not marked. */
    unsigned char *s = tio_alloc(hp / 2, 4096);
    EXPECT(s != NULL, "tio_alloc(%zu, 4096): NULL", hp / 2);
    tio_free(s);
    return failures == 0 ? 0 : 1;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "huge") == 0) {
#ifdef __linux__
        return huge();
#else
        return skip("huge pages for buffers are asked for on Linux only");
#endif
    }
    return contract();
}
