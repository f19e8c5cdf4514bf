// SPDX-License-Identifier: MIT
/*
 * EIO from the filesystem, injected by tio-faultfs (run under fusemount.sh):
 *
 *  - eight writes in flight, one of them failed by its offset: that one's
 *    callback reports TIO_EIO (tio_os_error EIO), the seven others their
 *    bytes, and nothing of the failed one reaches the file;
 *  - the same for reads;
 *  - the third of a sequence of writes failed by count: exactly that one;
 *  - a failed fsync is reported once as TIO_EIO, and taskio sent it to the
 *    filesystem exactly once (no retry that could turn it into a success).
 *    The filesystem then does what Linux does after a writeback error: the
 *    next fsync succeeds, and the data the failed one covered is still
 *    readable but was never made durable; after a crash it is gone. taskio
 *    passes that success through: it is the filesystem's answer, and the
 *    reason an engine must treat a failed fsync as lost data (README);
 *  - with TIO_DSYNC, a failed durable write reports TIO_EIO in its callback.
 *
 *   tio-fuse-eio BACKEND buffered|direct     (mount point: $TIO_TEST_DIR)
 *
 * "buffered" opens without TIO_DIRECT (meant for a --direct-io mount, where
 * the kernel caches nothing and every operation reaches the filesystem);
 * "direct" opens with TIO_DIRECT. The mount needs --lazy for the fsync case.
 * Exit 77 when the backend is unavailable.
 */
#define _GNU_SOURCE
#include <taskio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tio_expect.h"

#define BLK 4096
#define N 8

static const char *g_dir;


/* ---------------------------------------------------------------- control */

static void ctl(const char *cmd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.faultfs", g_dir);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
        fprintf(stderr, "control %s: %s: %s\n", path, cmd, strerror(errno));
        exit(1);
    }
    close(fd);
}

static long long counter(const char *name)
{
    char path[4096], text[2048];
    snprintf(path, sizeof path, "%s/.faultfs", g_dir);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    size_t len = strlen(name);
    for (char *p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, len) == 0 && p[len] == ' ')
            return atoll(p + len + 1);
    return -1;
}

/* ---------------------------------------------------------------- taskio */

typedef struct op {
    tio_task t;
    int calls;
    int64_t result;
    int os_error;
} op;

static void on_op(tio_task *t, int64_t r)
{
    op *o = t->data;
    o->calls++;
    o->result = r;
    o->os_error = tio_os_error(t);
}

static void fill(unsigned char *b, unsigned blk, unsigned gen)
{
    for (unsigned i = 0; i < BLK; i++)
        b[i] = (unsigned char)(blk * 37u + gen * 11u + i + 1);
}

static tio_file *open_file(tio_loop *loop, const char *name, unsigned extra)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_TRUNCATE | TIO_RDWR | extra, 0600);
    if (rc != 0) {
        fprintf(stderr, "FAIL: open %s: %s: %s\n", path, tio_strerror(rc), tio_last_error(loop));
        exit(1);
    }
    return f;
}

static int64_t sync_io(tio_loop *loop, tio_file *f, int write, void *buf, uint64_t off)
{
    op o = {.calls = 0};
    o.t.data = &o;
    int rc = write ? tio_write(loop, &o.t, f, buf, BLK, off, on_op)
                   : tio_read(loop, &o.t, f, buf, BLK, off, on_op);
    if (rc != 0)
        return rc;
    tio_drain(loop);
    EXPECT(o.calls == 1, "%d callbacks for one operation", o.calls);
    return o.result;
}

/* N operations in flight; the one at block `bad` is failed by its offset. */
static void in_flight(tio_loop *loop, tio_file *f, unsigned char *bufs, int write, unsigned bad,
                      const char *what)
{
    op ops[N];
    memset(ops, 0, sizeof ops);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "fail %s %u %u 0 1\n", write ? "write" : "read", bad * BLK,
             (bad + 1) * BLK);
    ctl(cmd);
    for (unsigned i = 0; i < N; i++) {
        ops[i].t.data = &ops[i];
        if (write)
            fill(bufs + (size_t)i * BLK, i, 1);
        else
            memset(bufs + (size_t)i * BLK, 0xEE, BLK);
        int rc = write ? tio_write(loop, &ops[i].t, f, bufs + (size_t)i * BLK, BLK,
                                   (uint64_t)i * BLK, on_op)
                       : tio_read(loop, &ops[i].t, f, bufs + (size_t)i * BLK, BLK,
                                  (uint64_t)i * BLK, on_op);
        EXPECT(rc == 0, "%s %u: refused: %s", what, i, tio_strerror(rc));
    }
    tio_drain(loop);
    ctl("clear\n");
    unsigned char want[BLK];
    for (unsigned i = 0; i < N; i++) {
        EXPECT(ops[i].calls == 1, "%s %u: %d callbacks", what, i, ops[i].calls);
        if (i == bad) {
            EXPECT(ops[i].result == TIO_EIO && ops[i].os_error == EIO,
                   "%s %u (the failed one): %lld (%s), os error %d", what, i,
                   (long long)ops[i].result, tio_strerror((int)ops[i].result), ops[i].os_error);
        } else {
            EXPECT(ops[i].result == BLK, "%s %u: %lld (%s), not %d bytes", what, i,
                   (long long)ops[i].result, tio_strerror((int)ops[i].result), BLK);
            fill(want, i, 1);
            if (!write)
                EXPECT(memcmp(want, bufs + (size_t)i * BLK, BLK) == 0, "%s %u: wrong data", what,
                       i);
        }
    }
}

static void case_offsets(tio_loop *loop, unsigned extra, unsigned char *bufs)
{
    tio_file *f = open_file(loop, "eio-offsets", extra);
    long long before = counter("failed_write");
    in_flight(loop, f, bufs, 1, 3, "write");
    EXPECT(counter("failed_write") == before + 1, "the filesystem failed %lld writes, not 1",
           counter("failed_write") - before);
    /* The failed write left nothing: its block reads as a hole. */
    unsigned char got[BLK];
    unsigned char *rb = bufs + (size_t)N * BLK;
    EXPECT(sync_io(loop, f, 0, rb, 3 * BLK) == BLK, "read of the failed block");
    memset(got, 0, sizeof got);
    EXPECT(memcmp(rb, got, BLK) == 0, "the failed write reached the file");
    /* Now every block holds data: fill block 3, then fail one read. */
    fill(bufs, 3, 1);
    EXPECT(sync_io(loop, f, 1, bufs, 3 * BLK) == BLK, "rewrite of block 3");
    in_flight(loop, f, bufs, 0, 5, "read");
    tio_file_close(f);
}

static void case_count(tio_loop *loop, unsigned extra, unsigned char *bufs)
{
    tio_file *f = open_file(loop, "eio-count", extra);
    ctl("fail write 0 0 2 1\n"); /* let two through, fail the third, then none */
    for (unsigned i = 0; i < 5; i++) {
        fill(bufs, i, 2);
        int64_t r = sync_io(loop, f, 1, bufs, (uint64_t)i * BLK);
        if (i == 2)
            EXPECT(r == TIO_EIO, "write %u (the third): %lld (%s)", i, (long long)r,
                   tio_strerror((int)r));
        else
            EXPECT(r == BLK, "write %u: %lld (%s)", i, (long long)r, tio_strerror((int)r));
    }
    ctl("clear\n");
    tio_file_close(f);
}

static int64_t do_fsync(tio_loop *loop, tio_file *f, unsigned flags)
{
    op o = {.calls = 0};
    o.t.data = &o;
    int rc = tio_fsync(loop, &o.t, f, flags, on_op);
    if (rc != 0)
        return rc;
    tio_drain(loop);
    EXPECT(o.calls == 1, "%d callbacks for one fsync", o.calls);
    return o.result;
}

static void case_fsync(tio_loop *loop, unsigned extra, unsigned char *bufs, unsigned flags)
{
    tio_file *f = open_file(loop, "eio-fsync", extra);
    unsigned char *rb = bufs + (size_t)N * BLK;
    fill(bufs, 0, 3);
    EXPECT(sync_io(loop, f, 1, bufs, 0) == BLK, "write before fsync");
    EXPECT(do_fsync(loop, f, flags) == 0, "first fsync");
    fill(bufs, 0, 4); /* new data, not yet durable */
    EXPECT(sync_io(loop, f, 1, bufs, 0) == BLK, "second write");

    long long fsyncs = counter("fsyncs");
    ctl("fail fsync 0 0 0 1\n");
    int64_t r = do_fsync(loop, f, flags);
    EXPECT(r == TIO_EIO, "the failed fsync: %lld (%s), not TIO_EIO", (long long)r,
           tio_strerror((int)r));
    EXPECT(counter("fsyncs") == fsyncs + 1,
           "one tio_fsync reached the filesystem %lld times, not once", counter("fsyncs") - fsyncs);
    ctl("clear\n");

    /* What the filesystem says next, passed through: success, as Linux
     * says after a writeback error (the error was reported once). */
    int64_t again = do_fsync(loop, f, flags);
    EXPECT(again == 0, "the fsync after the failed one: %lld (%s)", (long long)again,
           tio_strerror((int)again));
    EXPECT(sync_io(loop, f, 0, rb, 0) == BLK && memcmp(rb, bufs, BLK) == 0,
           "the data is readable before the crash");
    ctl("crash\n");
    unsigned char old[BLK];
    fill(old, 0, 3);
    EXPECT(sync_io(loop, f, 0, rb, 0) == BLK, "read after the crash");
    EXPECT(memcmp(rb, old, BLK) == 0,
           "after the crash the block does not hold the last durable data");
    printf("  fsync%s: failed once with TIO_EIO (reached the filesystem once); the next "
           "fsync reported %lld; after a crash the data the failed fsync covered is %s\n",
           flags ? " (data)" : "", (long long)again,
           memcmp(rb, bufs, BLK) == 0 ? "STILL THERE" : "gone");
    tio_file_close(f);
}

static void case_dsync_write(tio_loop *loop, unsigned extra, unsigned char *bufs)
{
    tio_file *f = open_file(loop, "eio-dsync", extra | TIO_DSYNC);
    long long persisted = counter("persisted_writes");
    fill(bufs, 0, 5);
    EXPECT(sync_io(loop, f, 1, bufs, 0) == BLK, "durable write");
    EXPECT(counter("persisted_writes") > persisted,
           "the TIO_DSYNC write did not reach the filesystem as a durable write");
    ctl("fail write 0 0 0 1\n");
    int64_t r = sync_io(loop, f, 1, bufs, BLK);
    EXPECT(r == TIO_EIO, "failed durable write: %lld (%s)", (long long)r, tio_strerror((int)r));
    ctl("clear\n");
    tio_file_close(f);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "buffered") != 0 && strcmp(argv[2], "direct") != 0)) {
        fprintf(stderr, "usage: %s BACKEND buffered|direct\n", argv[0]);
        return 2;
    }
    g_dir = getenv("TIO_TEST_DIR");
    if (g_dir == NULL) {
        fprintf(stderr, "TIO_TEST_DIR: not set (run under fusemount.sh)\n");
        return 2;
    }
    unsigned extra = strcmp(argv[2], "direct") == 0 ? TIO_DIRECT : 0;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = argv[1];
    tio_loop *loop = NULL;
    if (tio_loop_create(&loop, &cfg) != 0) {
        printf("SKIP: backend %s unavailable: %s\n", argv[1], tio_last_error(NULL));
        return 77;
    }
    unsigned char *bufs = tio_alloc((size_t)(N + 1) * BLK, BLK);
    printf("fuse eio[%s, %s opens]:\n", tio_loop_backend(loop), argv[2]);
    case_offsets(loop, extra, bufs);
    printf("  in flight: the failed write and the failed read reported TIO_EIO, the others "
           "their bytes\n");
    case_count(loop, extra, bufs);
    printf("  by count: the third write reported TIO_EIO, the others their bytes\n");
    case_fsync(loop, extra, bufs, 0);
    case_fsync(loop, extra, bufs, TIO_FSYNC_DATA);
    case_dsync_write(loop, extra, bufs);
    printf("  TIO_DSYNC: a failed durable write reported TIO_EIO\n");
    tio_free(bufs);
    tio_loop_destroy(loop);
    printf("fuse eio: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
