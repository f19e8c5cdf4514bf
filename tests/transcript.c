/* SPDX-License-Identifier: MIT */
/*
 * One small program whose output must be the same on every backend
 * (DESIGN 12): run it with TIO_BACKEND=io_uring, threads (and iocp under
 * Wine) and diff. tests/CMakeLists.txt does so for the Linux backends
 * (transcript.same); ../shared/tools/same-transcript does it by hand.
 *
 *   transcript [DIR]
 */
#define _POSIX_C_SOURCE 200809L
#include <taskio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#  include <pthread.h>
#  include <time.h>
#  include <unistd.h>
#endif

static int order[8], norder;

static void note(tio_task *t, int64_t result)
{
    (void)result;
    if (t->data != NULL && norder < 8)
        order[norder++] = (int)(intptr_t)t->data;
}

/* tio_os_error's value is the OS's own code (errno, GetLastError):
 * whether there is one is the same everywhere, the number is not. */
static void show(const char *what, tio_task *t, int64_t r)
{
    printf("%-44s %12lld  %-28s os_error %s\n", what, (long long)r,
           r < 0 ? tio_strerror((int)r) : "", tio_os_error(t) != 0 ? "set" : "0");
}

static int64_t wait_for(tio_loop *loop, tio_task *t)
{
    return tio_wait(loop, t, 10 * (int64_t)1000000000);
}

#ifndef _WIN32
typedef struct reader {
    int fd;
    size_t got;
} reader;

static void *read_all(void *arg)
{
    reader *r = arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(r->fd, buf, sizeof buf)) > 0) {
        r->got += (size_t)n;
        if (r->got % (64 * 1024) == 0)
            nanosleep(&(struct timespec){0, 1000000}, NULL); /* a slow reader */
    }
    return NULL;
}

static void pipes(tio_loop *loop)
{
    tio_task t = {0};
    int p[2];
    tio_file *f;
    static char big[1 << 20];

    if (pipe(p) != 0 || tio_file_wrap(loop, &f, p[1], TIO_WRONLY) != 0)
        exit(1);
    reader r = {p[0], 0};
    pthread_t th;
    pthread_create(&th, NULL, read_all, &r);
    tio_write(loop, &t, f, big, sizeof big, 0, note);
    show("pipe: 1 MiB write, slow reader", &t, wait_for(loop, &t));
    show("pipe: fsync", &t, tio_fsync(loop, &t, f, 0, note));
    tio_file_close(f);
    close(p[1]);
    pthread_join(th, NULL);
    printf("%-44s %12zu\n", "pipe: bytes the reader got", r.got);
    close(p[0]);

    if (pipe(p) != 0 || tio_file_wrap(loop, &f, p[1], TIO_WRONLY) != 0)
        exit(1);
    close(p[0]);
    tio_write(loop, &t, f, "x", 1, 0, note);
    show("pipe: write, reader gone", &t, wait_for(loop, &t));
    tio_file_close(f);
    close(p[1]);

    if (pipe(p) != 0 || tio_file_wrap(loop, &f, p[0], TIO_RDONLY) != 0)
        exit(1);
    char buf[16];
    if (write(p[1], "abc", 3) != 3)
        exit(1);
    close(p[1]);
    tio_read(loop, &t, f, buf, sizeof buf, 0, note);
    show("pipe: read, 3 bytes then writer gone", &t, wait_for(loop, &t));
    tio_read(loop, &t, f, buf, sizeof buf, 0, note);
    show("pipe: read at end of stream", &t, wait_for(loop, &t));
    tio_file_close(f);

    if (pipe(p) != 0)
        exit(1);
    int d = dup(p[0]);
    tio_file *a, *b;
    tio_task ta = {0}, tb = {0};
    if (tio_file_wrap(loop, &a, p[0], TIO_RDONLY) != 0 ||
        tio_file_wrap(loop, &b, d, TIO_RDONLY) != 0)
        exit(1);
    tio_read(loop, &ta, a, buf, 4, 0, note);
    tio_read(loop, &tb, b, buf + 8, 4, 0, note);
    tio_run(loop, 20 * 1000000);
    printf("%-44s %12d\n", "pipe: cancel_file(a), b on a dup", tio_cancel_file(loop, a));
    show("pipe: a's read", &ta, wait_for(loop, &ta));
    if (write(p[1], "wxyz", 4) != 4)
        exit(1);
    show("pipe: b's read after data", &tb, wait_for(loop, &tb));
    tio_file_close(a);
    tio_file_close(b);
    close(d);
    close(p[0]);
    close(p[1]);
}
#endif

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    tio_loop *loop;
    if (tio_loop_create(&loop, NULL) != 0) {
        fprintf(stderr, "%s\n", tio_last_error(NULL));
        return 1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/transcript.dat", dir);
    tio_file *f;
    if (tio_file_open(loop, &f, path, TIO_CREATE | TIO_TRUNCATE | TIO_RDWR | TIO_DIRECT_TRY,
                      0600)) {
        fprintf(stderr, "%s\n", tio_last_error(loop));
        return 1;
    }
    size_t align = tio_file_align(f);
    unsigned char *buf = tio_alloc(3 * 4096, 0);
    memset(buf, 'a', 3 * 4096);
    tio_task t = {0};

    tio_write(loop, &t, f, buf, 3 * 4096, 0, note);
    show("file: write 3 blocks", &t, wait_for(loop, &t));
    tio_read(loop, &t, f, buf, 3 * 4096, 0, note);
    show("file: read them back", &t, wait_for(loop, &t));
    tio_read(loop, &t, f, buf, 4096, 3 * 4096, note);
    show("file: read at end of file", &t, wait_for(loop, &t));
    tio_read(loop, &t, f, buf, 2 * 4096, 2 * 4096, note);
    show("file: read across end of file", &t, wait_for(loop, &t));
    tio_read(loop, &t, f, buf, 0, 0, note);
    show("file: zero-length read", &t, wait_for(loop, &t));

    tio_read(loop, &t, f, buf, 4096, 0, note);
    tio_cancel(loop, &t);
    show("file: read cancelled before any run", &t, wait_for(loop, &t));
    tio_write(loop, &t, f, buf, 4096, 0, note);
    tio_timeout(loop, &t, 0);
    show("file: write whose deadline passed at once", &t, wait_for(loop, &t));
    show("file: fsync, unknown flag", &t, tio_fsync(loop, &t, f, 8, note));
    tio_fsync(loop, &t, f, TIO_FSYNC_DATA, note);
    show("file: fdatasync", &t, wait_for(loop, &t));
    show("file: misaligned read (direct: refused)", &t,
         align > 1 ? tio_read(loop, &t, f, buf + 1, 4096, 0, note) : TIO_EINVAL);

    /* Vectored: a header block and two data blocks, in one operation. */
    tio_buf v[3] = {{buf, 4096}, {buf + 4096, 0}, {buf + 4096, 2 * 4096}};
    tio_writev(loop, &t, f, v, 3, 4096, note);
    show("file: writev 1 + 0 + 2 blocks", &t, wait_for(loop, &t));
    tio_readv(loop, &t, f, v, 3, 2 * 4096, note);
    show("file: readv across end of file", &t, wait_for(loop, &t));
    show("file: readv of 0 segments", &t, tio_readv(loop, &t, f, v, 0, 0, note));

    /* Engine operations. */
    char other[600], dirpath[600];
    snprintf(other, sizeof other, "%s/transcript.tmp", dir);
    snprintf(dirpath, sizeof dirpath, "%s", dir);
    tio_stat st;
    tio_stat_file(loop, &t, f, &st, note);
    show("engine: stat", &t, wait_for(loop, &t));
    printf("%-44s %12llu  align ok %d, atomic ok %d\n", "engine: stat size",
           (unsigned long long)st.size, st.align == (uint32_t)align,
           st.atomic_write >= 512 && (st.atomic_write & (st.atomic_write - 1)) == 0);
    tio_truncate(loop, &t, f, 5000, note);
    show("engine: truncate to 5000", &t, wait_for(loop, &t));
    tio_file *g = NULL;
    tio_open(loop, &t, &g, other, TIO_CREATE | TIO_EXCL | TIO_RDWR, 0600, note);
    show("engine: open CREATE|EXCL", &t, wait_for(loop, &t));
    tio_file *h = (tio_file *)&h;
    tio_open(loop, &t, &h, other, TIO_CREATE | TIO_EXCL | TIO_RDWR, 0600, note);
    show("engine: open CREATE|EXCL again", &t, wait_for(loop, &t));
    printf("%-44s %d\n", "engine: out is NULL after the failure", h == NULL);
    tio_open(loop, &t, &h, path, TIO_DIRECTORY, 0, note);
    show("engine: open a file TIO_DIRECTORY", &t, wait_for(loop, &t));
    tio_open(loop, &t, &h, dirpath, TIO_RDWR, 0, note);
    show("engine: open a directory for writing", &t, wait_for(loop, &t));
    tio_allocate(loop, &t, g, 0, 65536, TIO_ALLOCATE_KEEP_SIZE, note);
    int64_t ar = wait_for(loop, &t);
    printf("%-44s %s\n", "engine: allocate keeping the size",
           ar == 0 || ar == TIO_ENOTSUP ? "0 or ENOTSUP" : tio_strerror((int)ar));
    tio_close(loop, &t, g, note);
    tio_cancel(loop, &t);
    show("engine: close cancelled before any run", &t, wait_for(loop, &t));
    tio_close(loop, &t, g, note);
    show("engine: close", &t, wait_for(loop, &t));
    tio_rename(loop, &t, other, path, TIO_RENAME_NOREPLACE, note);
    show("engine: rename NOREPLACE onto a file", &t, wait_for(loop, &t));
    tio_unlink(loop, &t, other, note);
    show("engine: unlink", &t, wait_for(loop, &t));
    tio_unlink(loop, &t, other, note);
    show("engine: unlink again", &t, wait_for(loop, &t));
    tio_unlink(loop, &t, dirpath, note);
    show("engine: unlink a directory", &t, wait_for(loop, &t));

    tio_task s[3] = {{0}, {0}, {0}};
    for (int i = 0; i < 3; i++) {
        s[i].data = (void *)(intptr_t)(i + 1);
        tio_sleep(loop, &s[i], (uint64_t)(3 - i) * 1000000, note);
    }
    tio_drain(loop);
    printf("%-44s %d %d %d\n", "sleeps 3, 2, 1 ms: completion order", order[0], order[1], order[2]);

#ifndef _WIN32
    pipes(loop);
#endif
    tio_file_close(f);
    tio_free(buf);
    tio_loop_destroy(loop);
    remove(path);
    return 0;
}
