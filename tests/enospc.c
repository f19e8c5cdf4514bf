/* SPDX-License-Identifier: MIT */
/*
 * A full filesystem (a 1 MiB tmpfs in a private mount namespace, so that
 * nothing stays mounted whatever happens):
 *  - direct DSYNC writes at depth 8 until it is full: each reports its
 *    bytes or TIO_ENOSPC (a write the error stopped after some bytes
 *    reports those bytes), and then every write does;
 *  - everything acknowledged reads back;
 *  - tio_allocate past the free space is TIO_ENOSPC, and so is a tio_writev
 *    past the end, and a tio_open creating a file once the filesystem has
 *    no inode left (nr_inodes);
 *  - once space is freed (tio_truncate), the same loop and file write
 *    again where they could not.
 * Needs root (mount); exits 77 (skipped) where it cannot mount.
 *
 *   enospc BACKEND
 */
#define _GNU_SOURCE
#include <taskio.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tio_expect.h"

#define BLOCK 4096
#define DEPTH 8
#define MAXBLOCKS 1024 /* 4 MiB: far more than the filesystem holds */
#define NINODES 8      /* the filesystem's inodes, its root directory one of them */


static void on_done(tio_task *t, int64_t r)
{
    (void)t;
    (void)r;
}

static void fill(unsigned char *b, unsigned block)
{
    for (unsigned i = 0; i < BLOCK; i++)
        b[i] = (unsigned char)(block * 31u + i);
}

typedef struct wslot {
    tio_task t;
    int block; /* in flight, or -1 */
    unsigned char *buf;
} wslot;

static int64_t result[MAXBLOCKS];
static unsigned full_at = MAXBLOCKS;
static int inflight;

static void on_write(tio_task *t, int64_t r)
{
    wslot *s = t->data;
    unsigned b = (unsigned)s->block;
    result[b] = r;
    EXPECT(r == BLOCK || r == TIO_ENOSPC || (r > 0 && r < BLOCK), "write of block %u: %lld (%s)", b,
           (long long)r, r < 0 ? tio_strerror((int)r) : "bytes");
    if (r != BLOCK && b < full_at)
        full_at = b;
    s->block = -1;
    inflight--;
}

static int run(const char *backend, const char *dir)
{
    tio_loop_config cfg = {0, 0, backend, 0};
    tio_loop *loop;
    if (tio_loop_create(&loop, &cfg) != 0)
        return skip("backend unavailable");
    char path[256];
    snprintf(path, sizeof path, "%s/full", dir);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_RDWR | TIO_DIRECT_TRY | TIO_DSYNC,
                           0600);
    EXPECT(rc == 0, "open: %s", tio_last_error(loop));
    if (rc != 0) {
        tio_loop_destroy(loop);
        return 1;
    }
    unsigned char *bufs = tio_alloc((size_t)DEPTH * BLOCK, 0);
    unsigned char *check = tio_alloc(BLOCK, 0);
    wslot slots[DEPTH];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < DEPTH; i++) {
        slots[i].block = -1;
        slots[i].buf = bufs + (size_t)i * BLOCK;
        slots[i].t.data = &slots[i];
    }

    /* Writes at depth, block after block, until one reports TIO_ENOSPC;
     * those already in flight finish. */
    unsigned next = 0;
    while ((next < full_at && next < MAXBLOCKS) || inflight > 0) {
        for (int i = 0; i < DEPTH && next < full_at && next < MAXBLOCKS; i++) {
            if (slots[i].block >= 0)
                continue;
            fill(slots[i].buf, next);
            rc = tio_write(loop, &slots[i].t, f, slots[i].buf, BLOCK, (uint64_t)next * BLOCK,
                           on_write);
            EXPECT(rc == 0, "write %u: %s", next, tio_strerror(rc));
            if (rc != 0)
                break;
            slots[i].block = (int)next++;
            inflight++;
        }
        if (tio_run(loop, TIO_FOREVER) < 0)
            break;
    }
    EXPECT(full_at > 0 && full_at < MAXBLOCKS, "the filesystem never filled (%u)", full_at);

    /* Every acknowledged block reads back. */
    unsigned whole = 0;
    for (unsigned b = 0; b < next; b++) {
        if (result[b] != BLOCK)
            continue;
        whole++;
        tio_task t = TIO_TASK_INIT;
        EXPECT(tio_read(loop, &t, f, check, BLOCK, (uint64_t)b * BLOCK, on_done) == 0, "read");
        int64_t r = tio_wait(loop, &t, TIO_FOREVER);
        fill(bufs, b);
        EXPECT(r == BLOCK && memcmp(check, bufs, BLOCK) == 0, "block %u did not read back", b);
    }

    /* More space than there is: TIO_ENOSPC. */
    tio_task t = TIO_TASK_INIT;
    EXPECT(tio_allocate(loop, &t, f, 0, 64u << 20, 0, on_done) == 0, "allocate");
    int64_t r = tio_wait(loop, &t, TIO_FOREVER);
    EXPECT(r == TIO_ENOSPC, "allocate of 64 MiB on a full 1 MiB filesystem: %lld (%s)",
           (long long)r, r < 0 ? tio_strerror((int)r) : "");

    /* A vectored write past the end: the same rule as tio_write. Past
     * every block written, not just past full_at: writes at depth finish
     * out of order (the threads backend's workers), so a later block may
     * have taken the last page before full_at's write asked for one. */
    tio_buf two[2] = {{bufs, BLOCK}, {bufs + BLOCK, BLOCK}};
    EXPECT(tio_writev(loop, &t, f, two, 2, (uint64_t)(next + 8) * BLOCK, on_done) == 0, "writev");
    r = tio_wait(loop, &t, TIO_FOREVER);
    EXPECT(r == TIO_ENOSPC, "writev on the full filesystem: %lld (%s)", (long long)r,
           r < 0 ? tio_strerror((int)r) : "bytes");

    /* Out of inodes: a create is TIO_ENOSPC, and opens nothing. */
    int created = 0;
    for (; created < NINODES + 1; created++) {
        char name[300];
        snprintf(name, sizeof name, "%s/inode%d", dir, created);
        tio_file *g = NULL;
        EXPECT(tio_open(loop, &t, &g, name, TIO_CREATE | TIO_RDWR, 0600, on_done) == 0, "open");
        r = tio_wait(loop, &t, TIO_FOREVER);
        if (r != 0) {
            EXPECT(r == TIO_ENOSPC, "create with no inode left: %lld (%s)", (long long)r,
                   r < 0 ? tio_strerror((int)r) : "");
            EXPECT(g == NULL, "a refused create gave a file");
            break;
        }
        EXPECT(tio_file_close(g) == 0, "close");
    }
    EXPECT(created < NINODES, "%d files created on a filesystem of %d inodes", created, NINODES);

    /* Space freed: the same file takes the block it could not. */
    EXPECT(tio_truncate(loop, &t, f, (uint64_t)(full_at / 2) * BLOCK, on_done) == 0, "truncate");
    EXPECT(tio_wait(loop, &t, TIO_FOREVER) == 0, "truncate result");
    fill(bufs, full_at);
    EXPECT(tio_write(loop, &t, f, bufs, BLOCK, (uint64_t)full_at * BLOCK, on_done) == 0, "write");
    r = tio_wait(loop, &t, TIO_FOREVER);
    EXPECT(r == BLOCK, "write after freeing space: %lld (%s)", (long long)r,
           r < 0 ? tio_strerror((int)r) : "bytes");

    printf("enospc: %s backend, %s: %u blocks acknowledged, full at block %u; "
           "create refused after %d files\n",
           tio_loop_backend(loop), tio_file_is_direct(f) ? "direct" : "buffered", whole, full_at,
           created);
    tio_file_close(f);
    tio_free(bufs);
    tio_free(check);
    tio_loop_destroy(loop);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : NULL;
    char dir[] = "/tmp/tio-enospc-XXXXXX";
    if (geteuid() != 0)
        return skip("not root: cannot mount a small tmpfs");
    if (unshare(CLONE_NEWNS) != 0)
        return skip("unshare(CLONE_NEWNS) refused");
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return skip("cannot make mounts private");
    if (mkdtemp(dir) == NULL)
        return skip("mkdtemp failed");
    char opts[64];
    snprintf(opts, sizeof opts, "size=1m,nr_inodes=%d", NINODES);
    if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        rmdir(dir);
        return skip("cannot mount a tmpfs");
    }
    int rc = run(backend, dir);
    umount(dir);
    rmdir(dir);
    if (rc == 0 && failures == 0)
        printf("enospc: ok\n");
    return rc;
}
