/*
 * Write a block durably, read it back, and stop waiting for a slow task.
 *
 *   example PATH        (PATH is created if needed; its first 4 KiB are overwritten)
 *
 * Exits 0 only if every step behaved as taskio.h documents.
 */
#include <stdio.h>
#include <string.h>

#include "taskio.h"

#define BLOCK 4096

/* tio_wait returns the result too, so this callback has nothing to do. */
static void on_done(tio_task *task, int64_t result) { (void)task, (void)result; }

/* 1 if `got` is what was expected; otherwise says why not and returns 0. */
static int expect(const tio_loop *loop, const char *step, int64_t got, int64_t want)
{
    if (got == want)
        return 1;
    fprintf(stderr, "%s: got %lld (%s), expected %lld (%s). %s\n", step, (long long)got,
            tio_strerror((int)got), (long long)want, tio_strerror((int)want),
            tio_last_error(loop));
    return 0;
}

int main(int argc, char **argv)
{
    tio_loop *loop = NULL;
    tio_file *file = NULL;
    tio_task task = TIO_TASK_INIT; /* caller-owned, reusable once idle */
    int ok = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    int rc = tio_loop_create(&loop, NULL);
    if (rc < 0) {
        fprintf(stderr, "tio_loop_create: %s\n", tio_strerror(rc));
        return 1;
    }
    char *wbuf = tio_alloc(BLOCK, 0), *rbuf = tio_alloc(BLOCK, 0); /* page-aligned */
    if (wbuf == NULL || rbuf == NULL) {
        fprintf(stderr, "tio_alloc: out of memory\n");
        goto out;
    }
    memset(wbuf, 'x', BLOCK);
    rc = tio_file_open(loop, &file, argv[1],
                       TIO_CREATE | TIO_RDWR | TIO_DIRECT_TRY | TIO_DSYNC, 0644);
    if (!expect(loop, "open", rc, 0))
        goto out;
    printf("%s backend, %s I/O\n", tio_loop_backend(loop),
           tio_file_is_direct(file) ? "direct" : "buffered");

    /* 1. Write one block; with TIO_DSYNC the callback means it is durable. */
    rc = tio_write(loop, &task, file, wbuf, BLOCK, 0, on_done);
    if (!expect(loop, "write", rc, 0) ||
        !expect(loop, "write result", tio_wait(loop, &task, TIO_FOREVER), BLOCK))
        goto out;

    /* 2. Read it back into another buffer and compare. */
    rc = tio_read(loop, &task, file, rbuf, BLOCK, 0, on_done);
    if (!expect(loop, "read", rc, 0) ||
        !expect(loop, "read result", tio_wait(loop, &task, TIO_FOREVER), BLOCK))
        goto out;
    if (memcmp(wbuf, rbuf, BLOCK) != 0) {
        fprintf(stderr, "read back different data\n");
        goto out;
    }
    printf("wrote and read back %d bytes\n", BLOCK);

    /* 3. A 10 s sleep: give up waiting after 50 ms, then cancel it. The task
     * stays pending after a timed-out wait; its one callback reports the cancel. */
    rc = tio_sleep(loop, &task, 10 * 1000000000ull, on_done);
    if (!expect(loop, "sleep", rc, 0) ||
        !expect(loop, "wait 50 ms", tio_wait(loop, &task, 50 * 1000000), TIO_ETIMEDOUT) ||
        !expect(loop, "cancel", tio_cancel(loop, &task), 0) ||
        !expect(loop, "sleep result", tio_wait(loop, &task, TIO_FOREVER), TIO_ECANCELED))
        goto out;
    printf("waited 50 ms: %s; then cancelled the sleep: %s\n",
           tio_strerror(TIO_ETIMEDOUT), tio_strerror(TIO_ECANCELED));
    ok = 1;

out:
    if (file != NULL && !expect(loop, "close", tio_file_close(file), 0))
        ok = 0;
    tio_free(wbuf);
    tio_free(rbuf);
    tio_loop_destroy(loop); /* would cancel and reap anything still pending */
    return ok ? 0 : 1;
}
