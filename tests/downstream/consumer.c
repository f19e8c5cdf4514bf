/* SPDX-License-Identifier: MIT */
/*
 * A program as a user of taskio writes it, built by the downstream.* tests
 * against an installed taskio (pkg-config, find_package) and a source tree
 * (add_subdirectory, FetchContent): write a block, read it back, compare.
 */
#include <stdio.h>
#include <string.h>

#include <taskio.h>

static void done(tio_task *task, int64_t result)
{
    (void)task;
    (void)result;
}

static int fail(const char *what, int64_t code)
{
    fprintf(stderr, "consumer: %s: %s\n", what, tio_strerror((int)code));
    return 1;
}

int main(void)
{
    const char *path = "taskio-consumer.dat";
    tio_loop *loop;
    tio_file *file;
    tio_task task = TIO_TASK_INIT;
    int rc = tio_loop_create(&loop, NULL);
    if (rc != 0)
        return fail("tio_loop_create", rc);
    rc = tio_file_open(loop, &file, path, TIO_CREATE | TIO_TRUNCATE | TIO_RDWR, 0644);
    if (rc != 0)
        return fail("tio_file_open", rc);
    char *out = tio_alloc(4096, 0), *in = tio_alloc(4096, 0);
    if (out == NULL || in == NULL)
        return fail("tio_alloc", TIO_ENOMEM);
    memset(out, 'x', 4096);
    memset(in, 0, 4096);

    int64_t wrote = tio_write(loop, &task, file, out, 4096, 0, done);
    if (wrote == 0)
        wrote = tio_wait(loop, &task, TIO_FOREVER);
    int64_t read = tio_read(loop, &task, file, in, 4096, 0, done);
    if (read == 0)
        read = tio_wait(loop, &task, TIO_FOREVER);
    if (wrote != 4096 || read != 4096 || memcmp(in, out, 4096) != 0) {
        fprintf(stderr, "consumer: write %lld, read %lld, equal %d\n", (long long)wrote,
                (long long)read, memcmp(in, out, 4096) == 0);
        return 1;
    }
    printf("consumer: taskio %d.%d.%d, backend %s: wrote and read back 4096 bytes\n",
           TIO_VERSION_MAJOR, TIO_VERSION_MINOR, TIO_VERSION_PATCH, tio_loop_backend(loop));
    tio_free(in);
    tio_free(out);
    rc = tio_file_close(file);
    tio_loop_destroy(loop);
    remove(path);
    return rc == 0 ? 0 : fail("tio_file_close", rc);
}
