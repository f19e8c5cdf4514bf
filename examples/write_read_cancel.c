/* SPDX-License-Identifier: MIT */
/*
 * Write a block durably, read it back, and put a deadline on a read that
 * never completes (a pipe nobody writes to).
 *
 *   example PATH        (PATH is created if needed; its first 4 KiB are overwritten)
 *
 * Exits 0 only if every step behaved as taskio.h documents.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "taskio.h"

#define BLOCK 4096

/* tio_wait returns the result too, so this callback has nothing to do. */
static void on_done(tio_task *task, int64_t result)
{
    (void)task, (void)result;
}

/* 1 if `got` is what was expected; otherwise says why not and returns 0. */
static int expect(const tio_loop *loop, const char *step, int64_t got, int64_t want)
{
    if (got == want)
        return 1;
    fprintf(stderr, "%s: got %lld (%s), expected %lld (%s). %s\n", step, (long long)got,
            tio_strerror((int)got), (long long)want, tio_strerror((int)want), tio_last_error(loop));
    return 0;
}

int main(int argc, char **argv)
{
    tio_loop *loop;
    tio_file *file = NULL, *pipe_in = NULL;
    tio_task task = TIO_TASK_INIT; /* caller-owned, reusable once idle */
    int fds[2] = {-1, -1}, ok = 0;
    unsigned flags = TIO_CREATE | TIO_RDWR | TIO_DIRECT_TRY | TIO_DSYNC;
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    if (!expect(NULL, "create", tio_loop_create(&loop, NULL), 0)) /* NULL: create's error */
        return 1;
    char *wbuf = tio_alloc(BLOCK, 0), *rbuf = tio_alloc(BLOCK, 0); /* page-aligned */
    if (wbuf == NULL || rbuf == NULL) {
        fprintf(stderr, "tio_alloc: out of memory\n");
        goto out;
    }
    memset(wbuf, 'x', BLOCK);
    if (!expect(loop, "open", tio_file_open(loop, &file, argv[1], flags, 0644), 0))
        goto out;
    printf("%s backend, %s I/O\n", tio_loop_backend(loop),
           tio_file_is_direct(file) ? "direct" : "buffered");

    /* 1. Write one block; with TIO_DSYNC its callback means it is durable. */
    if (!expect(loop, "write", tio_write(loop, &task, file, wbuf, BLOCK, 0, on_done), 0) ||
        !expect(loop, "write result", tio_wait(loop, &task, TIO_FOREVER), BLOCK))
        goto out;

    /* 2. Read it back into another buffer and compare. */
    if (!expect(loop, "read", tio_read(loop, &task, file, rbuf, BLOCK, 0, on_done), 0) ||
        !expect(loop, "read result", tio_wait(loop, &task, TIO_FOREVER), BLOCK))
        goto out;
    if (memcmp(wbuf, rbuf, BLOCK) != 0) {
        fprintf(stderr, "read back different data\n");
        goto out;
    }
    printf("wrote and read back %d bytes\n", BLOCK);

    /* 3. Nobody writes to this pipe, so the read would wait forever. After the
     * 50 ms deadline it is cancelled; its one callback reports TIO_ETIMEDOUT. */
    if (pipe(fds) != 0) {
        perror("pipe");
        goto out;
    }
    if (!expect(loop, "wrap", tio_file_wrap(loop, &pipe_in, fds[0], TIO_RDONLY), 0) ||
        !expect(loop, "pipe read", tio_read(loop, &task, pipe_in, rbuf, 100, 0, on_done), 0) ||
        !expect(loop, "timeout", tio_timeout(loop, &task, 50 * 1000000), 0) ||
        !expect(loop, "pipe read result", tio_wait(loop, &task, TIO_FOREVER), TIO_ETIMEDOUT))
        goto out;
    printf("pipe read with a 50 ms deadline: %s\n", tio_strerror(TIO_ETIMEDOUT));
    ok = 1;

out:
    if (pipe_in != NULL && !expect(loop, "close pipe", tio_file_close(pipe_in), 0))
        ok = 0;
    if (file != NULL && !expect(loop, "close", tio_file_close(file), 0))
        ok = 0;
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]); /* tio_file_wrap does not take ownership */
    tio_free(wbuf);
    tio_free(rbuf);
    tio_loop_destroy(loop); /* would cancel and reap anything still pending */
    return ok ? 0 : 1;
}
