/* SPDX-License-Identifier: MIT */
/* Monotonic time and thread identity on POSIX systems. */
#include "common/internal.h"

#include <pthread.h>
#include <time.h>

int64_t tio__now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC: deadlines must not jump with wall-clock changes. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

unsigned long tio__thread_id(void)
{
    /* Used only for equality in ownership assertions. */
    return (unsigned long)pthread_self();
}
