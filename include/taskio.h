/* SPDX-License-Identifier: MIT */
/*
 * taskio: asynchronous, direct, durable file I/O behind one task/completion API.
 *
 * One loop per thread. The caller owns every tio_task (no allocation per
 * operation); the library owns tio_loop and tio_file. A call that starts an
 * operation either returns 0, and then exactly one callback follows, run by
 * tio_run / tio_drain / tio_wait / tio_loop_destroy on the loop's thread and
 * never inside the submitting call; or it returns a negative TIO_E* code, the
 * task stays idle and no callback follows.
 *
 * Backends: "io_uring" (Linux), "threads" (any POSIX: worker threads running
 * pread/pwrite), "iocp" (Windows). Which ones exist is chosen at build time;
 * which one a loop runs is chosen by tio_loop_config.backend, else the
 * environment variable TIO_BACKEND, else the first that initialises.
 *
 * Threads: every call on a loop, its files and its tasks must come from the
 * thread that created the loop, except tio_wake.
 */
#ifndef TASKIO_H
#define TASKIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(TIO_SHARED_BUILD)
#  define TIO_API __declspec(dllexport)
#elif defined(_WIN32) && defined(TIO_SHARED)
#  define TIO_API __declspec(dllimport)
#elif defined(__GNUC__) && !defined(_WIN32)
#  define TIO_API __attribute__((visibility("default")))
#else
#  define TIO_API
#endif

/* The version of this header. CMakeLists.txt's project(VERSION) is the one
 * source: the build refuses a header that says otherwise. */
#define TIO_VERSION_MAJOR 0
#define TIO_VERSION_MINOR 1
#define TIO_VERSION_PATCH 0
#define TIO_VERSION_STRING "0.1.0"

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH": a
 * static string, never NULL; may differ from TIO_VERSION_STRING when a
 * shared library was replaced. Safe from any thread. */
TIO_API const char *tio_version(void);

typedef struct tio_loop tio_loop; /* opaque; one per thread */
typedef struct tio_file tio_file; /* opaque; belongs to one loop */
typedef struct tio_task tio_task; /* caller-allocated */

/* Called once per accepted operation with task->result (also passed as
 * `result`): >= 0 bytes transferred (0 for fsync and sleep), < 0 a TIO_E*
 * code. The task is idle when the callback runs: it may be resubmitted, or
 * its memory reused or freed, from inside the callback. */
typedef void (*tio_cb)(tio_task *task, int64_t result);

#ifdef _WIN32
typedef void *tio_handle; /* HANDLE */
#else
typedef int tio_handle; /* file descriptor */
#endif

/* Size of the private part of a task, in 64-bit words. Fixed per OS so that
 * every backend of one OS shares one ABI (each backend asserts statically
 * that its state fits). It holds the OVERLAPPED on Windows. */
#define TIO_TASK_PRIVATE_WORDS 24

struct tio_task {
    void *data;                             /* the caller's; never touched by the library */
    int64_t result;                         /* set before the callback: >= 0 bytes, < 0 TIO_E* */
    uint64_t priv_[TIO_TASK_PRIVATE_WORDS]; /* private; zero before first use */
};

/* Initialise a task before its first use (or zero it with memset). */
/* clang-format would spread the initializer over lines. */
/* clang-format off */
#define TIO_TASK_INIT {0, 0, {0}}
/* clang-format on */

/* ---------------------------------------------------------------- errors */

/* Negative error codes, identical on every OS. tio_os_error() gives the raw
 * errno / GetLastError() code behind the last failure of a task. */
enum {
    TIO_EINVAL = -1,    /* invalid argument, misaligned buffer/offset/length */
    TIO_EBUSY = -2,     /* task already pending; file has pending tasks */
    TIO_ENOENT = -3,    /* no such file; task not pending */
    TIO_ECANCELED = -4, /* the operation was cancelled by tio_cancel */
    TIO_ETIMEDOUT = -5, /* the operation's tio_timeout expired; tio_wait expired */
    TIO_EACCES = -6,    /* permission denied */
    TIO_EEXIST = -7,    /* file exists (TIO_CREATE|TIO_EXCL) */
    TIO_EBADF = -8,     /* bad handle; read on write-only / write on read-only file */
    TIO_ENOSPC = -9,    /* no space left on device (or quota) */
    TIO_EIO = -10,      /* I/O error reported by the device */
    TIO_ENOMEM = -11,   /* out of memory or kernel resources */
    TIO_ENOTSUP = -12,  /* not supported (e.g. the filesystem refuses O_DIRECT) */
    TIO_EPIPE = -13,    /* write to a pipe whose reader has closed */
    TIO_EISDIR = -14,   /* is a directory */
    TIO_EROFS = -15,    /* read-only filesystem */
    TIO_EFBIG = -16,    /* file too large */
    TIO_EOTHER = -17,   /* unmapped OS error: see tio_os_error() */
    TIO_ENOTDIR = -18,  /* a path component, or a TIO_DIRECTORY open, is not a directory */
};

/* A static, never-NULL description of a TIO_E* code (or "success" for >= 0). */
TIO_API const char *tio_strerror(int code);

/* The raw OS error (errno or GetLastError()) behind the task's last failed
 * result, 0 if its last result was not an OS failure. Cancelled and timed-out
 * results (TIO_ECANCELED, TIO_ETIMEDOUT) are the library's outcome and give 0
 * on every backend, whether or not the OS saw the task. */
TIO_API int tio_os_error(const tio_task *task);

/* A human-readable account of the last call on this loop that failed
 * (which call, which path, which OS error, what to do), or "" if none. Valid
 * until the next failing call on the loop. With loop NULL: why the calling
 * thread's last tio_loop_create failed. */
TIO_API const char *tio_last_error(const tio_loop *loop);

/* ------------------------------------------------------------------ loop */

#define TIO_FOREVER ((int64_t)-1)
#define TIO_MAX_IO ((size_t)1 << 30) /* largest read/write length: 1 GiB */

typedef struct tio_loop_config {
    unsigned queue_depth;  /* 0: default (256). Submission ring size, and the
                             number of callbacks one tio_run runs at most */
    unsigned threads;      /* threads backend workers; 0: default (4) */
    const char *backend;   /* NULL: TIO_BACKEND, else first that initialises;
                             or "io_uring", "iocp", "threads" */
    unsigned submit_batch; /* when started operations reach the OS.
        0 (default): the library decides, the same way on every backend.
          Work started together goes together, in the next tio_run's one
          system call (on io_uring the enter that also waits); work started
          by callbacks is handed over while the run's other callbacks still
          run whenever the OS would otherwise sit idle, and in batches when
          it is busy. The loop also measures how fast work completes and,
          where handing each start over at once proves faster (a device
          that is the bottleneck, not the loop's thread), does that, as
          1 below would; it keeps measuring and goes back when batches
          are faster again. An operation started when it is the loop's only task,
          on a file opened without TIO_DIRECT, is tried at once in the
          OS's mode that never waits (Linux: RWF_NOWAIT, for a read from
          the page cache), and handed over at once if that cannot finish
          it. Either way no callback runs inside the starting call; a
          cancel of a task already handed over or finished reports
          TIO_ECANCELED or its real result.
        N (1..queue_depth): as soon as N are started, the starting call
          (tio_read, tio_write, tio_fsync, or a callback's) hands them to
          the OS without waiting; 1 = each one at once, as fio's default
          iodepth_batch_submit=1. One more system call per N operations,
          less time between start and device; a cancel of a task already
          handed over reports TIO_ECANCELED or its real result. Still no
          callback runs inside the starting call.
        TIO_SUBMIT_IN_RUN: only tio_run (and tio_drain, tio_wait) hands work
          over, all of it in the run's one system call: fewest system
          calls, and a cancel before that run always reports TIO_ECANCELED.
        Under every policy, tio_wait(loop, t, TIO_FOREVER) on the loop's
        only task, not yet handed over and without a deadline, on a file
        that is not a stream, does t in one blocking system call on the
        calling thread (as pread would), since the caller waits for it
        anyway. */
} tio_loop_config;

/* tio_loop_config.submit_batch: only runs hand work to the OS. */
#define TIO_SUBMIT_IN_RUN 0xffffffffu

/* Create a loop owned by the calling thread. cfg may be NULL.
 * Returns 0, TIO_EINVAL (queue_depth over 32768, threads over 1024,
 * submit_batch over queue_depth, an unknown backend name), TIO_ENOTSUP
 * (the named backend is not compiled in or the OS refused it), TIO_ENOMEM. */
TIO_API int tio_loop_create(tio_loop **out, const tio_loop_config *cfg);

/* Cancel every pending task, run each one's callback once (with
 * TIO_ECANCELED or its real result), wait until the OS has released every
 * buffer, close any file still open, free the loop. Must not be called from
 * a callback. Destroying a loop twice is undefined. */
TIO_API void tio_loop_destroy(tio_loop *loop);

/* The backend this loop runs: "io_uring", "threads" or "iocp". */
TIO_API const char *tio_loop_backend(const tio_loop *loop);

/* Start queued work, wait up to timeout_ns (TIO_FOREVER: no limit; 0: poll)
 * for at least one completion, timer expiry or tio_wake, then run callbacks
 * (at most queue_depth of them). Returns the number of callbacks run (0 on
 * timeout, wake-up, or at once when no task is pending), or TIO_EBUSY when
 * called from inside a callback. */
TIO_API int tio_run(tio_loop *loop, int64_t timeout_ns);

/* Run until no task is pending. Returns 0, or TIO_EBUSY inside a callback. */
TIO_API int tio_drain(tio_loop *loop);

/* Run until `task` has completed (its callback has run) and return its
 * result; TIO_ETIMEDOUT if timeout_ns passed first (the task stays pending);
 * TIO_ENOENT if the task is not pending; TIO_EBUSY inside a callback. Other
 * tasks' callbacks run meanwhile as usual. */
TIO_API int64_t tio_wait(tio_loop *loop, tio_task *task, int64_t timeout_ns);

/* Make a tio_run blocked in (or about to block in) waiting return early.
 * The only call that is safe from any thread. Returns 0. It is not
 * async-signal-safe (the threads backend takes a mutex): a signal handler
 * sets a volatile sig_atomic_t flag instead, and the loop runs tio_run with
 * a bounded timeout to see it (examples/copy.c does this for Ctrl-C). */
TIO_API int tio_wake(tio_loop *loop);

/* Number of tasks accepted whose callback has not yet run. */
TIO_API unsigned tio_pending(const tio_loop *loop);

/* ----------------------------------------------------------------- files */

enum {
    TIO_RDONLY = 0,
    TIO_WRONLY = 1,
    TIO_RDWR = 2,
    TIO_CREATE = 1 << 4,
    TIO_TRUNCATE = 1 << 5,
    TIO_EXCL = 1 << 6,
    TIO_DIRECT = 1 << 8,      /* bypass the page cache; TIO_ENOTSUP if refused */
    TIO_DSYNC = 1 << 9,       /* a write completes only once durable (Windows: see below) */
    TIO_DIRECT_TRY = 1 << 10, /* like TIO_DIRECT, but open buffered if refused */
    TIO_DIRECTORY = 1 << 11,  /* open a directory (TIO_RDONLY only), to tio_fsync it */
    TIO_EXCLUSIVE = 1 << 12   /* refuse (TIO_EBUSY) while another TIO_EXCLUSIVE open holds it */
};

/* TIO_DSYNC on Windows: FILE_FLAG_WRITE_THROUGH, and where the drive's write
 * cache is volatile and ignores write-through (ATA/SATA drives), or the open
 * cannot ask the device (IOCTL_STORAGE_QUERY_PROPERTY fails: network shares,
 * Storage Spaces, Wine), a write's callback also waits for a FlushFileBuffers
 * begun after the write completed; one flush serves every write on the file
 * completed before it began, so writes at depth share flushes. */

/* Open (or create, with mode e.g. 0644) a file for this loop. path is UTF-8.
 * Windows: '/' is taken for a backslash; a path starting with \\?\ is used verbatim
 * and a device path (\\.\PhysicalDrive0, \\.\C:) unchanged; a relative path
 * that fits in MAX_PATH with the current directory is left to the open to
 * resolve (once, without taskio reading the process-wide current directory
 * first); any other becomes an absolute \\?\ path (no MAX_PATH limit). A reserved device
 * name in a component (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without
 * an extension) is TIO_EINVAL: name devices as \\.\NAME.
 * Returns 0 or TIO_EINVAL (unknown flags, bad access mode), TIO_ENOENT,
 * TIO_EEXIST, TIO_EACCES, TIO_EISDIR, TIO_EROFS, TIO_ENOTSUP (TIO_DIRECT
 * refused by the filesystem; tio_last_error explains), TIO_ENOMEM, ... */
TIO_API int tio_file_open(tio_loop *loop, tio_file **out, const char *path, unsigned flags,
                          unsigned mode);

/* Adopt an open handle (file, pipe, socket, device) for this loop. flags
 * give the access mode (TIO_RDONLY/WRONLY/RDWR); whether it is direct is
 * read from the handle. tio_file_close does not close the handle.
 * Windows: the handle must be overlapped; it joins the loop's completion
 * port, so do no other overlapped I/O on it while wrapped. On Windows 8.1+
 * tio_file_close ends the association (FileReplaceCompletionInformation):
 * the handle may then do other overlapped I/O or be wrapped again (its
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS and _SET_EVENT_ON_HANDLE modes stay
 * set). Where the OS cannot (Windows 8, Wine) it stays bound for the rest of
 * its life: no other overlapped I/O on it after tio_file_close either (its
 * packets reach the loop's port and are dropped there), and no second wrap:
 * close it. A handle already bound to another port gives TIO_EINVAL. */
TIO_API int tio_file_wrap(tio_loop *loop, tio_file **out, tio_handle h, unsigned flags);

/* Close. TIO_EBUSY (nothing happens) while the file has pending tasks;
 * otherwise 0, or the OS error of the close (the file is closed anyway).
 * The tio_file stays valid memory until the loop is destroyed: calls on it
 * give TIO_EBADF, until a later open on the loop reuses it (as a closed
 * descriptor number may be reused). */
TIO_API int tio_file_close(tio_file *file);

/* Required alignment, in bytes, of buffer address, offset and length for
 * this file: the direct-I/O alignment when direct, 1 when buffered. */
TIO_API size_t tio_file_align(const tio_file *file);

/* 1 when the file bypasses the page cache, 0 otherwise. */
TIO_API int tio_file_is_direct(const tio_file *file);

/* Current size in bytes. Returns 0 or a TIO_E* code. */
TIO_API int tio_file_size(tio_file *file, uint64_t *size);

/* The OS handle (not to be closed while the tio_file exists). */
TIO_API tio_handle tio_file_handle(const tio_file *file);

/* ------------------------------------------------------------ operations */

/* Every operation returns 0 (accepted: exactly one callback will follow) or
 * a negative code (rejected: the task stays idle, no callback):
 *   TIO_EINVAL  NULL loop/task/file/buf/cb, file of another loop, len >
 *               TIO_MAX_IO, offset + len beyond INT64_MAX, unknown flags,
 *               and on a direct file a buffer address, offset or length not
 *               a multiple of tio_file_align(file)
 *   TIO_EBUSY   the task is already pending (on this or another loop)
 *   TIO_EBADF   read on a write-only file, write on a read-only file, a
 *               closed file
 *   TIO_ECANCELED  submitted from a callback run by tio_loop_destroy
 * Everything the OS reports arrives in the callback.
 *
 * Results in the callback: bytes transferred. A read at or past end of file
 * gives 0, across it the bytes that exist; a read on a pipe whose writer has
 * closed gives 0; otherwise a read on a file or device is whole (a short
 * transfer from the OS is continued) and a read on a stream returns what is
 * there. A write is whole: all len bytes, or an error; if an error stops it
 * after some bytes, the result is those bytes (the next write meets the
 * error). Writes on one stream land in submission order. Transient OS
 * conditions are retried and never reported. No operation raises a signal:
 * a write to a pipe whose reader is gone gives TIO_EPIPE, past RLIMIT_FSIZE
 * TIO_EFBIG. Operations waiting on streams never delay file operations. */
TIO_API int tio_read(tio_loop *loop, tio_task *task, tio_file *file, void *buf, size_t len,
                     uint64_t offset, tio_cb cb);
TIO_API int tio_write(tio_loop *loop, tio_task *task, tio_file *file, const void *buf, size_t len,
                      uint64_t offset, tio_cb cb);

/* Make the file's written data durable: with TIO_FSYNC_DATA only what is
 * needed to read the data back (fdatasync), else also metadata (fsync).
 * TIO_EINVAL at submission on a pipe or socket (nothing to make durable). */
enum { TIO_FSYNC_DATA = 1 };
TIO_API int tio_fsync(tio_loop *loop, tio_task *task, tio_file *file, unsigned flags, tio_cb cb);

/* A timer task: completes with 0 after ns nanoseconds (TIO_ECANCELED if
 * cancelled first). Sleeps of equal length complete in submission order.
 * Resolution, for sleeps, tio_timeout deadlines and tio_run/tio_wait
 * timeouts alike: never early (the clock is read again after each wait);
 * late by the backend's wait: nanosecond timeouts on POSIX, whole
 * milliseconds ending on a system timer tick on Windows (15.6 ms by
 * default, finer while timeBeginPeriod raises it), so a 100 us sleep takes
 * up to about one tick there. */
TIO_API int tio_sleep(tio_loop *loop, tio_task *task, uint64_t ns, tio_cb cb);

/* Request cancellation of a pending task. Returns 0, and the task's one
 * callback reports TIO_ECANCELED, or its real result when the OS had already
 * finished it (device I/O cannot be stopped once at the device). A task not
 * yet handed to the OS always reports TIO_ECANCELED. Returns TIO_ENOENT for
 * a task that is not pending; TIO_EINVAL for NULL or a task of another loop.
 * A cancel never affects a later reuse of the same task. */
TIO_API int tio_cancel(tio_loop *loop, tio_task *task);

/* tio_cancel for every pending task on `file`; returns how many were pending
 * (each gets its callback as with tio_cancel), or TIO_EINVAL. */
TIO_API int tio_cancel_file(tio_loop *loop, tio_file *file);

/* Give a pending task a deadline ns nanoseconds from now (replacing any
 * earlier one; 0: already expired): if it is still pending then, it is
 * cancelled and its callback reports TIO_ETIMEDOUT (or its real result if it
 * finished first). A task whose deadline passed before it reached the OS
 * never reaches it. Returns 0,
 * TIO_ENOENT if the task is not pending, TIO_EINVAL for a sleep task (it is
 * a timer already) or NULL arguments. */
TIO_API int tio_timeout(tio_loop *loop, tio_task *task, uint64_t ns);

/* ------------------------------------------------------------ registration */

typedef struct tio_buf {
    void *base;
    size_t len;
} tio_buf;

/* Register long-lived I/O buffers with the loop (io_uring: fixed buffers,
 * pinned once instead of on every I/O). Afterwards any read or write whose
 * buffer lies inside a registered one uses it automatically. count 0
 * unregisters; a new call replaces the previous set. Returns 0, TIO_EBUSY
 * while tasks are pending, TIO_EINVAL for NULL bufs with count > 0, an
 * empty buffer, one over 1 GiB or one wrapping the address space.
 * Registration is an optimisation: where the OS cannot pin the memory
 * (RLIMIT_MEMLOCK, read-only pages) or has no registration (threads, iocp),
 * the call still succeeds and I/O uses the buffers as any other memory.
 * Buffers must stay mapped until unregistered or the loop is destroyed. */
TIO_API int tio_register_buffers(tio_loop *loop, const tio_buf *bufs, unsigned count);

/* ------------------------------------------------------------ vectored I/O */

#define TIO_MAX_IOV 1024u /* most segments one tio_readv/tio_writev takes */

/* One read or write of count segments (1..TIO_MAX_IOV) at offset, filled or
 * written in order, as if one buffer: the same rules and results as
 * tio_read/tio_write (a read is whole up to end of file, a write is whole;
 * the result is the bytes moved in total). A segment of length 0 is
 * skipped. The bufs array and the memory it points to belong to the caller
 * until the callback. Rejected at submission, besides tio_read's reasons:
 *   TIO_EINVAL  NULL bufs, count 0 or over TIO_MAX_IOV, a NULL base with a
 *               nonzero length, a total over TIO_MAX_IO, on a direct file a
 *               segment base or length not a multiple of tio_file_align,
 *               and a pipe or socket (vectored I/O is for files and devices:
 *               a stream's "what is there" would depend on how the OS
 *               splits the segments).
 * io_uring and threads hand the segments to the OS in one call
 * (IORING_OP_READV/WRITEV, preadv/pwritev); iocp moves them one segment
 * after the other. */
TIO_API int tio_readv(tio_loop *loop, tio_task *task, tio_file *file, const tio_buf *bufs,
                      unsigned count, uint64_t offset, tio_cb cb);
TIO_API int tio_writev(tio_loop *loop, tio_task *task, tio_file *file, const tio_buf *bufs,
                       unsigned count, uint64_t offset, tio_cb cb);

/* ------------------------------------------------------- engine operations */

/* What a storage engine does besides reading and writing, as tasks with the
 * same rules: 0 accepted (exactly one callback follows) or a negative code
 * at submission; cancellable (a task not yet handed to the OS always
 * reports TIO_ECANCELED, one the OS runs reports its real result unless the
 * OS stops it); deadlines with tio_timeout. Paths are UTF-8 and, like
 * every argument, belong to the caller until the callback. Results in the
 * callback are 0 or a TIO_E* code (tio_os_error has the OS's).
 * Each runs as one OS call on a helper thread (where io_uring or IOCP has
 * no asynchronous form of it), never on the loop's thread.
 *
 * Rejected at submission by all of them: TIO_EINVAL for NULL arguments
 * (other than those documented as optional), unknown flags, a file of
 * another loop; TIO_EBUSY for a pending task; TIO_EBADF for a closed file;
 * TIO_ECANCELED from a callback tio_loop_destroy runs. */

/* tio_file_open as a task. *out is set before the callback: the file when
 * the result is 0, NULL otherwise. An open that blocks (a FIFO without a
 * peer) can be cancelled or timed out while it waits; a cancelled open that
 * had not reached the OS did not happen (no file created). Results: as
 * tio_file_open's codes. */
TIO_API int tio_open(tio_loop *loop, tio_task *task, tio_file **out, const char *path,
                     unsigned flags, unsigned mode, tio_cb cb);

/* tio_file_close as a task: TIO_EBUSY at submission while other tasks are
 * pending on the file; from then on the file refuses new operations
 * (TIO_EBADF). Once the close reached the OS the file is closed, whatever
 * the result (0 or the OS's error of the close); cancelled before that, it
 * stays open. */
TIO_API int tio_close(tio_loop *loop, tio_task *task, tio_file *file, tio_cb cb);

/* Reserve disk space for [offset, offset + len) so that later writes there
 * neither fail with TIO_ENOSPC nor (NTFS) run synchronously to extend the
 * valid data length. Never shrinks: with flags 0 the size becomes at least
 * offset + len; with TIO_ALLOCATE_KEEP_SIZE it does not change. TIO_EBADF
 * at submission on a file opened TIO_RDONLY, TIO_EINVAL on a pipe or
 * socket or for len 0. In the callback TIO_ENOTSUP where the filesystem
 * cannot reserve space. Windows: without TIO_ALLOCATE_KEEP_SIZE the valid
 * data length moves too (SetFileValidData with SE_MANAGE_VOLUME_NAME
 * enabled, and the range then holds old disk contents; else zeros are
 * written on the helper thread). */
enum { TIO_ALLOCATE_KEEP_SIZE = 1 };
TIO_API int tio_allocate(tio_loop *loop, tio_task *task, tio_file *file, uint64_t offset,
                         uint64_t len, unsigned flags, tio_cb cb);

/* Set the file's size (shrink or extend with zeros). TIO_EBADF at
 * submission on a file opened TIO_RDONLY, TIO_EINVAL on a pipe or socket
 * or a size over INT64_MAX. */
TIO_API int tio_truncate(tio_loop *loop, tio_task *task, tio_file *file, uint64_t size, tio_cb cb);

/* Rename `from` to `to`, atomically replacing `to` if it exists (with
 * TIO_RENAME_NOREPLACE: TIO_EEXIST instead). Durable only after a
 * tio_fsync of the directory (opened TIO_DIRECTORY). Windows: a file open
 * elsewhere without FILE_SHARE_DELETE cannot be replaced (TIO_EACCES);
 * close a file before renaming it. */
enum { TIO_RENAME_NOREPLACE = 1 };
TIO_API int tio_rename(tio_loop *loop, tio_task *task, const char *from, const char *to,
                       unsigned flags, tio_cb cb);

/* Remove a file (TIO_EISDIR for a directory). */
TIO_API int tio_unlink(tio_loop *loop, tio_task *task, const char *path, tio_cb cb);

/* What an engine sizes its I/O by. */
typedef struct tio_stat {
    uint64_t size;         /* bytes */
    uint64_t allocated;    /* bytes of disk space reserved for the file */
    uint32_t align;        /* = tio_file_align(file) */
    uint32_t atomic_write; /* the largest aligned write the device does not tear on power
                              loss: a power of two >= 512 (the logical block size where
                              the device does not say) */
} tio_stat;

/* Fill *st (valid when the callback reports 0). */
TIO_API int tio_stat_file(tio_loop *loop, tio_task *task, tio_file *file, tio_stat *st, tio_cb cb);

/* ---------------------------------------------------------------- memory */

/* Allocate size bytes aligned to align (0: the page size; else a power of
 * two, at most 1 GiB), suitable for direct I/O. NULL on failure. Free with
 * tio_free. Linux: a block of a transparent huge page or more (2 MiB on
 * x86-64) starts on one and asks for huge pages (MADV_HUGEPAGE): a large
 * direct transfer from it is fewer, larger segments for the device. */
TIO_API void *tio_alloc(size_t size, size_t align);
TIO_API void tio_free(void *p); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif /* TASKIO_H */
