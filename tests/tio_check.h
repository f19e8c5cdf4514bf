/* SPDX-License-Identifier: MIT */
/*
 * What the Check suites (conformance/, win32_pipes.c, reliability/hostile.c)
 * share: <check.h> on every OS, the Check-free helpers of tio_util.h (clock,
 * sleep, process id, data, scratch paths, backend probes, pipes), and the
 * OS calls a test asserts on: pipes that must open, whole writes, closes.
 *
 * check.h declares its message functions format(printf), which mingw-w64 GCC
 * takes for the Microsoft CRT's printf (ms_printf): that rejects the %jd of
 * Check's own ck_assert_int_* macros. Check formats with mingw's C99
 * __mingw_vsnprintf, so gnu_printf is what its functions really accept.
 */
#ifndef TIO_TESTS_CHECK_H
#define TIO_TESTS_CHECK_H

#include <stdint.h>

#ifdef __MINGW32__
#  include <float.h>
#  include <math.h>
#  include <stddef.h>
#  define printf gnu_printf
#  include <check.h>
#  undef printf
#else
#  include <check.h>
#endif

#include "tio_util.h" /* MS, MSEC, SEC, now_ns, pipes, ... */

/* A connected pipe (tio_util.h's open_pipe) or a failed test. */
static inline void named_pipe(tio_handle fds[2], int tio_end, int message)
{
    char why[256];
    ck_assert_msg(open_pipe(fds, tio_end, message, why, sizeof why) == 0, "%s", why);
}

/* fds[0]: taskio's read end (overlapped on Windows), fds[1]: the test's write end. */
static inline void make_pipe(tio_handle fds[2])
{
    named_pipe(fds, TIO_READS, 0);
}

/* fds[0]: the test's read end, fds[1]: taskio's write end (overlapped on Windows). */
static inline void make_pipe_out(tio_handle fds[2])
{
    named_pipe(fds, TIO_WRITES, 0);
}

#ifdef _WIN32

static inline void write_all_fd(tio_handle fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        DWORD n = 0;
        BOOL ok = WriteFile(fd, p, (DWORD)len, &n, NULL);
        ck_assert_msg(ok && n > 0, "WriteFile(handle %p): Win32 error %lu", fd,
                      (unsigned long)GetLastError());
        p += n;
        len -= n;
    }
}

static inline void close_fd(tio_handle fd)
{
    ck_assert_msg(CloseHandle(fd), "CloseHandle(%p): Win32 error %lu", fd,
                  (unsigned long)GetLastError());
}

#else /* POSIX */

static inline void write_all_fd(tio_handle fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_msg(n > 0, "write(fd %d): %s", fd, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static inline void close_fd(tio_handle fd)
{
    ck_assert_msg(close(fd) == 0, "close(fd %d): %s", fd, strerror(errno));
}

#endif /* !_WIN32 */

#endif /* TIO_TESTS_CHECK_H */
