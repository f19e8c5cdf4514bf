/* SPDX-License-Identifier: MIT */
/* Monotonic time and thread identity on Windows. */
#include "common/internal.h"

#include <windows.h>

int64_t tio__now_ns(void)
{
    static LARGE_INTEGER freq; /* constant after boot (QueryPerformanceFrequency docs) */
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    /* Split to avoid overflowing 64 bits: seconds, then the remainder. */
    int64_t s = now.QuadPart / freq.QuadPart, r = now.QuadPart % freq.QuadPart;
    return s * 1000000000 + r * 1000000000 / freq.QuadPart;
}

unsigned long tio__thread_id(void)
{
    return GetCurrentThreadId();
}
