/* SPDX-License-Identifier: MIT */
/*
 * What every test program needs, written once and free of Check, so that
 * the standalone programs (reliability/killverify.c, reliability/soak.c,
 * fuzz/fuzz.c, fuzz/replay.c) use the same helpers as the Check suites
 * (which get these through tio_check.h):
 *
 *   time       now_ns (agrees with the library's clock), sleep_ms, MS, SEC
 *   process    proc_id, remove_path, test_dir ($TIO_TEST_DIR)
 *   data       xorshift, fill_pattern, fnv64 (the one checksum), all_bytes
 *   scratch    scratch_path: unique names in a directory, removed together
 *   backends   probe_backend, probe_direct: 0 usable, 77 skip, 1 failure
 *   pipes      open_pipe: a pipe with a direction (named pipes on Windows)
 *
 * Everything is static inline: each program uses a different part.
 */
#ifndef TIO_TESTS_UTIL_H
#define TIO_TESTS_UTIL_H

#include <taskio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#else
#  include <errno.h>
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <time.h>
#  include <unistd.h>
#endif

#define MS INT64_C(1000000)
#define MSEC MS
#define SEC INT64_C(1000000000)

/* ================================================================ time, process */

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

static inline int make_dir(const char *path)
{
    return CreateDirectoryA(path, NULL) ? 0 : -1;
}

static inline void remove_dir(const char *path)
{
    RemoveDirectoryA(path);
}

static inline int path_exists(const char *path)
{
    return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
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

static inline int make_dir(const char *path)
{
    return mkdir(path, 0755);
}

static inline void remove_dir(const char *path)
{
    rmdir(path);
}

static inline int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

#endif /* !_WIN32 */

/* The scratch directory: $TIO_TEST_DIR, else ".". A copy, read once: on
 * Windows _putenv_s (hostile's TIO_BACKEND rows) moves the environment and
 * leaves earlier getenv() pointers dangling. */
static inline const char *test_dir(void)
{
    static char dir[1024];
    if (dir[0] == '\0') {
        const char *env = getenv("TIO_TEST_DIR");
        snprintf(dir, sizeof dir, "%s", env && env[0] ? env : ".");
    }
    return dir;
}

/* ================================================================ data */

/* xorshift64: the same sequence for a seed on every platform (0 is
 * replaced by a fixed nonzero state). */
static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s ? *s : UINT64_C(0x9E3779B97F4A7C15);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* `len` pseudo-random bytes, a function of `seed` alone. */
static inline void fill_pattern(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            xorshift(&s);
        p[i] = (unsigned char)(s >> (8 * (i % 8)));
    }
}

/* FNV-1a, 64 bits: the tests' one checksum (the fuzzer also seeds its
 * fault schedule with it, so it never changes). */
static inline uint64_t fnv64(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* 1 if every byte of buf is v. */
static inline int all_bytes(const void *buf, size_t len, unsigned char v)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* ================================================================ scratch paths */

#define SCRATCH_MAX 64

/* Paths handed out by scratch_path, to remove together (teardown, atexit).
 * One registry per program: keep it in one translation unit. */
typedef struct scratch_paths {
    unsigned counter; /* unique names within the process */
    int n;
    char path[SCRATCH_MAX][512];
} scratch_paths;

/* "<dir>/<prefix>-<pid>-<n>-<tag>.tmp", removed now if it exists and
 * recorded for scratch_remove_all; NULL when the registry is full. */
static inline const char *scratch_path(scratch_paths *s, const char *dir, const char *prefix,
                                       const char *tag)
{
    if (s->n >= SCRATCH_MAX)
        return NULL;
    char *p = s->path[s->n++];
    snprintf(p, sizeof s->path[0], "%s/%s-%ld-%u-%s.tmp", dir, prefix, proc_id(), s->counter++,
             tag);
    remove_path(p);
    return p;
}

static inline void scratch_remove_all(scratch_paths *s)
{
    for (int i = 0; i < s->n; i++)
        remove_path(s->path[i]);
    s->n = 0;
}

/* ================================================================ backends */

/*
 * Whether `cfg`'s backend runs here: 0 with *out a new loop; 77 (a visible
 * skip, "SKIP: ..." on stdout) when the machine refuses it (TIO_ENOTSUP:
 * seccomp, io_uring_disabled, not compiled); 1 on any other failure, said on
 * stderr as "<prog>: tio_loop_create(<backend>): ...".
 */
static inline int create_loop_or_skip(tio_loop **out, const tio_loop_config *cfg, const char *prog)
{
    *out = NULL;
    int rc = tio_loop_create(out, cfg);
    if (rc == TIO_ENOTSUP) {
        const char *why = tio_last_error(NULL);
        printf("SKIP: backend %s unavailable: %s\n", cfg->backend ? cfg->backend : "(default)",
               why && why[0] ? why : tio_strerror(rc));
        return 77;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: tio_loop_create(%s): %s: %s\n", prog,
                cfg->backend ? cfg->backend : "(default)", tio_strerror(rc), tio_last_error(NULL));
        return 1;
    }
    return 0;
}

/* create_loop_or_skip with a default configuration; the loop is destroyed. */
static inline int probe_backend(const char *backend, const char *prog)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = backend;
    tio_loop *loop = NULL;
    int rc = create_loop_or_skip(&loop, &cfg, prog);
    if (rc == 0)
        tio_loop_destroy(loop);
    return rc;
}

/*
 * Whether `dir` takes TIO_DIRECT (with `extra` open flags): 0 with the
 * alignment in *align (if not NULL); 77 ("SKIP: <dir> refuses O_DIRECT")
 * on TIO_ENOTSUP; 1 on any other failure (on stderr). Leaves no file.
 */
static inline int probe_direct(tio_loop *loop, const char *dir, unsigned extra, size_t *align,
                               const char *prog)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%ld-probe.tmp", dir, prog, proc_id());
    tio_file *f = NULL;
    int rc = tio_file_open(loop, &f, path, TIO_CREATE | TIO_RDWR | TIO_DIRECT | extra, 0644);
    remove_path(path);
    if (rc == TIO_ENOTSUP) {
        printf("SKIP: %s refuses O_DIRECT (%s)\n", dir, tio_last_error(loop));
        return 77;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: probing O_DIRECT in %s: %s: %s\n", prog, dir, tio_strerror(rc),
                tio_last_error(loop));
        return 1;
    }
    if (align)
        *align = tio_file_align(f);
    tio_file_close(f);
    return 0;
}

/* ================================================================ pipes */

/*
 * Pipes have a direction: TIO_READS gives a pipe that taskio reads
 * (fds[0], wrapped by the test) and the test writes (fds[1]); TIO_WRITES
 * one that taskio writes (fds[1]) and the test reads (fds[0]). On POSIX
 * both are pipe2(O_CLOEXEC), blocking; on Windows the taskio end is the
 * overlapped server end of a named pipe (CreatePipe's anonymous pipes
 * cannot do overlapped I/O) and the test's end a plain synchronous client
 * handle; `message` asks for PIPE_TYPE_MESSAGE there (ignored on POSIX).
 * 0, or -1 with the reason in why[why_len] (and both handles invalid).
 */
enum { TIO_READS = 0, TIO_WRITES = 1 };

#ifdef _WIN32
static inline int open_pipe(tio_handle fds[2], int tio_end, int message, char *why, size_t why_len)
{
    static unsigned counter; /* unique names within the process */
    fds[0] = fds[1] = INVALID_HANDLE_VALUE;
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
    HANDLE server = CreateNamedPipeW(name,
                                     (tio_reads ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
                                         FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                     type | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 65536, 65536,
                                     0, NULL);
    if (server == INVALID_HANDLE_VALUE) {
        snprintf(why, why_len, "CreateNamedPipeW(%s): Win32 error %lu", name8,
                 (unsigned long)GetLastError());
        return -1;
    }
    HANDLE client = CreateFileW(name, tio_reads ? GENERIC_WRITE : GENERIC_READ, 0, NULL,
                                OPEN_EXISTING, 0, NULL);
    if (client == INVALID_HANDLE_VALUE) {
        snprintf(why, why_len, "CreateFileW(%s): Win32 error %lu", name8,
                 (unsigned long)GetLastError());
        CloseHandle(server);
        return -1;
    }
    /* The client is already there: ERROR_PIPE_CONNECTED, or a pending
     * connect that completes at once. */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (ov.hEvent == NULL) {
        snprintf(why, why_len, "CreateEventW: Win32 error %lu", (unsigned long)GetLastError());
        CloseHandle(client);
        CloseHandle(server);
        return -1;
    }
    BOOL ok = ConnectNamedPipe(server, &ov);
    DWORD err = ok ? 0 : GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        DWORD n = 0;
        ok = GetOverlappedResult(server, &ov, &n, TRUE);
        err = ok ? 0 : GetLastError();
    }
    CloseHandle(ov.hEvent);
    if (!ok && err != ERROR_PIPE_CONNECTED) {
        snprintf(why, why_len, "ConnectNamedPipe(%s): Win32 error %lu", name8, (unsigned long)err);
        CloseHandle(client);
        CloseHandle(server);
        return -1;
    }
    fds[tio_end] = server;
    fds[1 - tio_end] = client;
    return 0;
}
#else
static inline int open_pipe(tio_handle fds[2], int tio_end, int message, char *why, size_t why_len)
{
    (void)tio_end;
    (void)message;
    fds[0] = fds[1] = -1;
#  ifdef __APPLE__
    /* macOS has no pipe2: pipe, then FD_CLOEXEC on each end (the tests
     * fork nothing meanwhile). */
    if (pipe(fds) == 0) {
        fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        fcntl(fds[1], F_SETFD, FD_CLOEXEC);
        return 0;
    }
    snprintf(why, why_len, "pipe: %s", strerror(errno));
#  else
    if (pipe2(fds, O_CLOEXEC) == 0)
        return 0;
    snprintf(why, why_len, "pipe2: %s", strerror(errno));
#  endif
    return -1;
}
#endif

#endif /* TIO_TESTS_UTIL_H */
