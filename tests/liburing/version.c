/* SPDX-License-Identifier: MIT */
/*
 * liburing-version EXPECTED: exit 0 when the liburing this program was
 * compiled against (IO_URING_VERSION_*) and the one it runs with
 * (io_uring_major_version(), liburing 2.4+) are both EXPECTED ("2.15"), and
 * an io_uring loop runs a task through that liburing. Built only where
 * TIO_LIBURING_PREFIX is set (cmake/liburing.cmake).
 */
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskio.h"

static void on_sleep(tio_task *task, int64_t result)
{
    (void)task;
    (void)result;
}

/* 0 when the loop ran a task, 77 when the kernel refuses io_uring. */
static int run_one_task(void)
{
    tio_loop_config cfg = {0};
    cfg.backend = "io_uring";
    tio_loop *loop;
    int rc = tio_loop_create(&loop, &cfg);
    if (rc != 0) {
        printf("io_uring loop refused (%s): version checked only\n", tio_strerror(rc));
        return 77;
    }
    tio_task task = TIO_TASK_INIT;
    int64_t result = tio_sleep(loop, &task, 1000, on_sleep);
    if (result == 0)
        result = tio_wait(loop, &task, TIO_FOREVER);
    printf("io_uring loop: a 1 us sleep task gave %lld\n", (long long)result);
    tio_loop_destroy(loop);
    return result == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MAJOR.MINOR\n", argv[0]);
        return 2;
    }
    char built[32], loaded[32];
    snprintf(built, sizeof built, "%d.%d", IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR);
    snprintf(loaded, sizeof loaded, "%d.%d", io_uring_major_version(), io_uring_minor_version());
    printf("liburing: expected %s, headers %s, library loaded %s\n", argv[1], built, loaded);
    if (strcmp(built, argv[1]) != 0 || strcmp(loaded, argv[1]) != 0)
        return 1;
    return run_one_task() == 1 ? 1 : 0;
}
