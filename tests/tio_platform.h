/*
 * What the Check suites (conformance.c, win32_pipes.c, reliability/hostile.c)
 * need of the OS, written once: a monotonic clock that agrees with the
 * library's, a sleep, the process id, file removal, pipes with a direction,
 * whole writes, asserted closes.
 *
 * Pipes have a direction: make_pipe gives a pipe that taskio reads (fds[0],
 * wrapped by the test) and the test writes (fds[1]); make_pipe_out one that
 * taskio writes (fds[1]) and the test reads (fds[0]). On POSIX both are
 * pipe2(); on Windows the taskio end is the overlapped server end of a named
 * pipe (CreatePipe's anonymous pipes cannot do overlapped I/O) and the test's
 * end a plain synchronous client handle.
 *
 * Everything is static inline: each suite uses a different part.
 */
#ifndef TIO_TESTS_PLATFORM_H
#define TIO_TESTS_PLATFORM_H

#include <taskio.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tio_check.h" /* <check.h> on every OS; MS, SEC */

#ifdef _WIN32
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#else
#  include <errno.h>
#  include <fcntl.h>
#  include <time.h>
#  include <unistd.h>
#endif

#ifdef _WIN32

/* The library's formula (src/win32/clock.c), so that both clocks agree. */
static inline int64_t now_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    int64_t s = now.QuadPart / freq.QuadPart, r = now.QuadPart % freq.QuadPart;
    return s * SEC + r * SEC / freq.QuadPart;
}

static inline void sleep_ms(unsigned ms)
{
    Sleep(ms);
}

static inline long proc_id(void)
{
    return (long)GetCurrentProcessId();
}

static inline void remove_path(const char *path)
{
    DeleteFileA(path);
}

enum { TIO_READS = 0, TIO_WRITES = 1 };

/*
 * A connected named pipe. fds[tio_end] is the server end, overlapped, for
 * taskio; fds[1 - tio_end] the synchronous client end, for the test. With
 * tio_end TIO_READS taskio reads (PIPE_ACCESS_INBOUND), with TIO_WRITES it
 * writes (PIPE_ACCESS_OUTBOUND). message: PIPE_TYPE_MESSAGE and
 * PIPE_READMODE_MESSAGE instead of bytes.
 */
static inline void named_pipe(tio_handle fds[2], int tio_end, int message)
{
    static unsigned counter; /* unique names within the process */
    char name8[96];
    wchar_t name[96];
    snprintf(name8, sizeof name8, "\\\\.\\pipe\\taskio-test-%lu-%u",
             (unsigned long)GetCurrentProcessId(), counter++);
    for (size_t i = 0; i < sizeof name8; i++) /* ASCII */
        if ((name[i] = (wchar_t)(unsigned char)name8[i]) == 0)
            break;
    int tio_reads = tio_end == TIO_READS;
    DWORD type = message ? PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE
                         : PIPE_TYPE_BYTE | PIPE_READMODE_BYTE;
    HANDLE server = CreateNamedPipeW(
        name,
        (tio_reads ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) | FILE_FLAG_OVERLAPPED |
            FILE_FLAG_FIRST_PIPE_INSTANCE,
        type | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 65536, 65536, 0, NULL);
    ck_assert_msg(server != INVALID_HANDLE_VALUE, "CreateNamedPipeW(%s): Win32 error %lu", name8,
                  (unsigned long)GetLastError());
    HANDLE client = CreateFileW(name, tio_reads ? GENERIC_WRITE : GENERIC_READ, 0, NULL,
                                OPEN_EXISTING, 0, NULL);
    ck_assert_msg(client != INVALID_HANDLE_VALUE, "CreateFileW(%s): Win32 error %lu", name8,
                  (unsigned long)GetLastError());
    /* The client is already there: ERROR_PIPE_CONNECTED, or a pending
     * connect that completes at once. */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert_ptr_nonnull(ov.hEvent);
    BOOL ok = ConnectNamedPipe(server, &ov);
    DWORD err = ok ? 0 : GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        DWORD n = 0;
        ok = GetOverlappedResult(server, &ov, &n, TRUE);
        err = ok ? 0 : GetLastError();
    }
    CloseHandle(ov.hEvent);
    ck_assert_msg(ok || err == ERROR_PIPE_CONNECTED, "ConnectNamedPipe(%s): Win32 error %lu",
                  name8, (unsigned long)err);
    fds[tio_end] = server;
    fds[1 - tio_end] = client;
}

/* fds[0]: taskio's read end (overlapped), fds[1]: the test's write end. */
static inline void make_pipe(tio_handle fds[2])
{
    named_pipe(fds, TIO_READS, 0);
}

/* fds[0]: the test's read end, fds[1]: taskio's write end (overlapped). */
static inline void make_pipe_out(tio_handle fds[2])
{
    named_pipe(fds, TIO_WRITES, 0);
}

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

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline long proc_id(void)
{
    return (long)getpid();
}

static inline void remove_path(const char *path)
{
    remove(path);
}

/* fds[0]: read end, fds[1]: write end. Blocking, close-on-exec. */
static inline void make_pipe(tio_handle fds[2])
{
    ck_assert_msg(pipe2(fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
}

static inline void make_pipe_out(tio_handle fds[2])
{
    make_pipe(fds);
}

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

#endif
