/* SPDX-License-Identifier: MIT */
/*
 * Direct I/O on a device with 4096-byte logical sectors (ext4 on
 * losetup --sector-size 4096; tests/fs/fsmount.sh makes it):
 *  - tio_file_align reports 4096 for a TIO_DIRECT file there;
 *  - a read or write whose buffer, offset or length is only 512-aligned is
 *    refused by taskio at submission with TIO_EINVAL (the call returns it,
 *    no callback follows), so the kernel never sees it (semantics 3);
 *  - 4096-aligned I/O works and reads back.
 *
 *   tio-fs-align EXPECTED_ALIGN BACKEND...     (directory: $TIO_TEST_DIR)
 *
 * Each backend in turn; one unavailable here is skipped with its reason,
 * and exit 77 (a visible skip) when none was.
 */
#include <taskio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tio_expect.h"

static int callbacks;

static void on_done(tio_task *t, int64_t r)
{
    (void)t;
    (void)r;
    callbacks++;
}

/* A misaligned start must be refused by the call itself. */
static void expect_refused(tio_loop *loop, tio_file *f, int write, unsigned char *buf, size_t len,
                           uint64_t off, const char *what)
{
    tio_task t = TIO_TASK_INIT;
    int before = callbacks;
    int rc = write ? tio_write(loop, &t, f, buf, len, off, on_done)
                   : tio_read(loop, &t, f, buf, len, off, on_done);
    EXPECT(rc == TIO_EINVAL, "%s %s: the call returned %d (%s), not TIO_EINVAL",
           write ? "write" : "read", what, rc, tio_strerror(rc));
    if (rc == 0)
        tio_wait(loop, &t, TIO_FOREVER);
    tio_run(loop, 0);
    EXPECT(callbacks == before, "%s %s: a callback ran for a refused call",
           write ? "write" : "read", what);
    EXPECT(tio_pending(loop) == 0, "%s %s: a task is pending", write ? "write" : "read", what);
}

static int check_backend(const char *backend, const char *dir, size_t expect)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = backend;
    tio_loop *loop = NULL;
    if (tio_loop_create(&loop, &cfg) != 0) {
        printf("fs align[%s]: backend unavailable: %s\n", backend, tio_last_error(NULL));
        return 77;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/tio-align-%s.dat", dir, backend);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_RDWR | TIO_DIRECT | TIO_DSYNC, 0600);
    if (rc != 0) {
        fprintf(stderr, "FAIL: direct open of %s: %s: %s\n", path, tio_strerror(rc),
                tio_last_error(loop));
        tio_loop_destroy(loop);
        return 1;
    }
    size_t align = tio_file_align(f);
    EXPECT(tio_file_is_direct(f) == 1, "the file is not direct");
    EXPECT(align == expect, "tio_file_align: %zu, expected %zu", align, expect);

    unsigned char *mem = tio_alloc(4 * 8192, 8192);
    unsigned char *back = tio_alloc(8192, 8192);
    for (size_t i = 0; i < 8192; i++)
        mem[i] = (unsigned char)(i * 7 + 1);

    /* Aligned I/O works. */
    tio_task t = TIO_TASK_INIT;
    EXPECT(tio_write(loop, &t, f, mem, 8192, 0, on_done) == 0, "aligned write refused");
    int64_t r = tio_wait(loop, &t, TIO_FOREVER);
    EXPECT(r == 8192, "aligned write: %lld (%s)", (long long)r, tio_strerror((int)r));
    EXPECT(tio_read(loop, &t, f, back, 8192, 0, on_done) == 0, "aligned read refused");
    r = tio_wait(loop, &t, TIO_FOREVER);
    EXPECT(r == 8192 && memcmp(mem, back, 8192) == 0, "aligned read back: %lld", (long long)r);

    /* 512-aligned, not 4096-aligned: buffer, offset, length, each alone. */
    if (align > 512) {
        expect_refused(loop, f, 1, mem + 512, 4096, 0, "from a 512-aligned buffer");
        expect_refused(loop, f, 1, mem, 4096, 512, "at a 512-aligned offset");
        expect_refused(loop, f, 1, mem, 512, 0, "of 512 bytes");
        expect_refused(loop, f, 0, back + 512, 4096, 0, "into a 512-aligned buffer");
        expect_refused(loop, f, 0, back, 4096, 4096 + 512, "at a 512-aligned offset");
        expect_refused(loop, f, 0, back, 1024, 0, "of 1024 bytes");
        /* Nothing of the refused writes reached the file. */
        EXPECT(tio_read(loop, &t, f, back, 8192, 0, on_done) == 0, "read refused");
        r = tio_wait(loop, &t, TIO_FOREVER);
        EXPECT(r == 8192 && memcmp(mem, back, 8192) == 0, "the file changed: %lld", (long long)r);
    }
    printf("fs align[%s]: %s: tio_file_align %zu; 512-aligned direct reads and writes %s\n",
           tio_loop_backend(loop), dir, align,
           align > 512 ? "refused with TIO_EINVAL at submission" : "allowed");
    tio_file_close(f);
    tio_free(mem);
    tio_free(back);
    tio_loop_destroy(loop);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s EXPECTED_ALIGN BACKEND...\n", argv[0]);
        return 2;
    }
    size_t expect = (size_t)strtoul(argv[1], NULL, 10);
    const char *dir = getenv("TIO_TEST_DIR");
    if (dir == NULL)
        dir = ".";
    int ran = 0;
    for (int i = 2; i < argc; i++) {
        int rc = check_backend(argv[i], dir, expect);
        if (rc == 1)
            return 1;
        ran += rc == 0;
    }
    if (ran == 0) {
        printf("SKIP: no backend available\n");
        return 77;
    }
    return failures ? 1 : 0;
}
