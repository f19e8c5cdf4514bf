/* SPDX-License-Identifier: MIT */
/*
 * The IOCP backend. Handles are associated with the loop's completion port
 * and set to FILE_SKIP_COMPLETION_PORT_ON_SUCCESS|FILE_SKIP_SET_EVENT_ON_HANDLE,
 * so each ReadFile/WriteFile has exactly one of three outcomes, which the
 * common code turns into one completion path:
 *   TRUE                         COMPLETED: done now, no port packet follows
 *   FALSE + ERROR_IO_PENDING     PENDING:   one packet will arrive on the port
 *   FALSE + anything else        FAILED:    done now, no packet follows
 * (Where the skip mode could not be set, TRUE also queues a packet and is
 * treated as PENDING.) A packet's status is the OVERLAPPED's NTSTATUS
 * (Internal), not GetQueuedCompletionStatusEx's return value. Outcomes go
 * to the common code raw (bytes, or the Win32 error); what they mean (end
 * of data, a cancel, a transient shortage) is decided there.
 *
 * Durability: FlushFileBuffers blocks and has no overlapped form, so fsync
 * runs on a helper thread which posts its result to the port. The engine
 * operations (CreateFileW, SetFileInformationByHandle, MoveFileExW, ...)
 * have none either and run on the same thread, one at a time; a running
 * one is interrupted with CancelSynchronousIo where the OS allows. The
 * same threads flush TIO_DSYNC files whose drive needs it (see dsync).
 */
#include "common/ptrset.h"
#include "win32/win32.h"

#include <stdlib.h>
#include <string.h>

#define KEY_IO 0
#define KEY_WAKE 1
#define KEY_FSYNC 2
#define KEY_DSYNC 3 /* a flush for TIO_DSYNC writes: its packet carries the dsync */
#define ENTRIES 64
#define KICK_MS 10

/* The task's backend words: the OVERLAPPED, then the helpers' queue link. */
typedef struct iocp_op {
    OVERLAPPED ov;
    tio__task *next; /* the helpers' queue */
} iocp_op;

_Static_assert(sizeof(iocp_op) <= sizeof(((tio__task *)0)->backend),
               "OVERLAPPED and link exceed the task's backend words");

#define MAX_HELPERS 16u

/* TIO_DSYNC on a drive whose volatile write cache ignores write-through
 * (file.c's dsync_needs_flush): a write completed by the OS is durable
 * only after a flush. Each completed write waits here, without its
 * callback, until a flush that began after its completion has ended; one
 * flush covers every write completed before it began, so writes at depth
 * share flushes. One per such file, made when it joins the loop. */
typedef struct dsync {
    OVERLAPPED ov;      /* the flush's result (Internal), posted with KEY_DSYNC */
    struct dsync *next; /* the helpers' flush queue */
    struct dsync *due;  /* the loop's list of files with writes to flush */
    HANDLE handle;
    tio__task *waiting, *waiting_tail; /* written, no flush begun since (iocp_op.next) */
    tio__task *covered;                /* made durable by the running flush */
    bool flushing, on_due;
} dsync;

/* A helper thread: runs what has no overlapped form (fsync, the engine
 * operations), one task at a time. */
typedef struct helper {
    HANDLE thread;
    struct iocp *p;
    tio__task *running;
    bool cancel; /* CancelSynchronousIo was asked for `running` */
} helper;

typedef struct iocp {
    HANDLE port;
    /* helper threads, started on demand (guarded by mu) */
    CRITICAL_SECTION mu;
    CONDITION_VARIABLE cv;
    tio__task *queue_head, *queue_tail;
    unsigned live, idle;
    volatile LONG kicks; /* running tasks whose cancel must be repeated (read unlocked) */
    dsync *flush_head, *flush_tail; /* flushes for TIO_DSYNC writes, before any task */
    helper helpers[MAX_HELPERS];
    bool stopping;
    volatile LONG wake_posted; /* a wake packet is on the port: tio_wake posts no other */
    /* Our OVERLAPPEDs the port still owes a packet: a packet for any other
     * (overlapped I/O someone else issued on a wrapped handle) is not ours. */
    tio__ptrset ours;
    /* TIO__WIN_FLUSH_DSYNC files (loop thread only): their dsync by
     * tio_file.backend_index, and those with writes waiting for a flush. */
    dsync **dsyncs;
    unsigned ndsyncs;
    dsync *due;
    uint64_t dsync_flushes;
    OVERLAPPED_ENTRY entries[ENTRIES];
} iocp;

static iocp *P(tio_loop *loop)
{
    return loop->backend_data;
}
static iocp_op *OP(tio__task *t)
{
    return (iocp_op *)(void *)t->backend;
}
static tio__task *task_of_ov(OVERLAPPED *ov)
{
    return TIO_CONTAINER_OF((uint64_t *)(void *)ov, tio__task, backend[0]);
}

/* ---------------------------------------------------------------- ntdll */

/* ntdll entry points, resolved once per process (loops on several threads
 * may be created at once). NtFlushBuffersFileEx (Windows 10 1709+; absent
 * from Wine 8) flushes only what reading the data back needs with
 * FLUSH_FLAGS_FILE_DATA_SYNC_ONLY, fdatasync's analogue; where it is missing,
 * TIO_FSYNC_DATA is a full FlushFileBuffers. */
typedef struct io_status {
    union {
        LONG status;
        void *pointer;
    } u;
    ULONG_PTR information;
} io_status;
typedef ULONG(WINAPI *rtl_status_fn)(LONG);
typedef LONG(WINAPI *flush_ex_fn)(HANDLE, ULONG, void *, ULONG, io_status *);
typedef LONG(WINAPI *set_info_fn)(HANDLE, io_status *, void *, ULONG, int);
#define FLUSH_FLAGS_FILE_DATA_SYNC_ONLY 0x4

static struct {
    rtl_status_fn status_to_error;
    flush_ex_fn flush_ex;
    set_info_fn set_info; /* NtSetInformationFile */
} nt;
static INIT_ONCE nt_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK resolve_ntdll(INIT_ONCE *once, void *param, void **ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    HMODULE m = GetModuleHandleW(L"ntdll.dll");
    if (m != NULL) {
        nt.status_to_error = (rtl_status_fn)(void (*)(void))GetProcAddress(m,
                                                                           "RtlNtStatusToDosError");
        nt.flush_ex = (flush_ex_fn)(void (*)(void))GetProcAddress(m, "NtFlushBuffersFileEx");
        nt.set_info = (set_info_fn)(void (*)(void))GetProcAddress(m, "NtSetInformationFile");
    }
    return TRUE;
}

/* NTSTATUS -> Win32 error, as GetOverlappedResult does internally. */
static DWORD status_to_error(LONG status)
{
    return nt.status_to_error ? nt.status_to_error(status) : ERROR_GEN_FAILURE;
}

/* FlushFileBuffers, or its data-only form: a Win32 error (0: done). The
 * data-only form still flushes the device's cache (only
 * FLUSH_FLAGS_NO_SYNC would not: NtFlushBuffersFileEx, Microsoft docs). */
static DWORD flush_handle(HANDLE h, bool data_only)
{
    if (data_only && nt.flush_ex != NULL) {
        io_status iosb;
        LONG st = nt.flush_ex(h, FLUSH_FLAGS_FILE_DATA_SYNC_ONLY, NULL, 0, &iosb);
        if (st >= 0)
            return ERROR_SUCCESS;
        if (st != (LONG)0xC0000002 /* STATUS_NOT_IMPLEMENTED */ &&
            st != (LONG)0xC00000BB /* STATUS_NOT_SUPPORTED */)
            return status_to_error(st);
    }
    return FlushFileBuffers(h) ? ERROR_SUCCESS : GetLastError();
}

static DWORD flush(const tio__task *t)
{
    /* A directory: NTFS journals the metadata of creates, renames and
     * deletes in it, and FlushFileBuffers on a directory handle opened for
     * reading is ERROR_ACCESS_DENIED; there is nothing more to write. */
    if (t->file->flags & TIO_DIRECTORY)
        return ERROR_SUCCESS;
    return flush_handle(t->file->handle, (t->op_flags & TIO_FSYNC_DATA) != 0);
}

/* ------------------------------------------------------------ helpers */

/* FlushFileBuffers and the engine operations' calls block and have no
 * overlapped form: they run on helper threads, which post each result to
 * the port (KEY_FSYNC, the error in the OVERLAPPED's Internal). One more
 * thread starts whenever all are busy (a CreateFileW that waits on the
 * network must not hold up an fsync), up to MAX_HELPERS. */
static DWORD WINAPI helper_main(void *arg)
{
    helper *h = arg;
    iocp *p = h->p;
    EnterCriticalSection(&p->mu);
    for (;;) {
        while (p->queue_head == NULL && p->flush_head == NULL && !p->stopping) {
            p->idle++;
            SleepConditionVariableCS(&p->cv, &p->mu, INFINITE);
            p->idle--;
        }
        dsync *d = p->flush_head;
        if (d != NULL) { /* not cancellable: the writes it covers are done */
            if ((p->flush_head = d->next) == NULL)
                p->flush_tail = NULL;
            LeaveCriticalSection(&p->mu);
            d->ov.Internal = flush_handle(d->handle, true); /* O_DSYNC: the data */
            EnterCriticalSection(&p->mu);
            PostQueuedCompletionStatus(p->port, 0, KEY_DSYNC, &d->ov);
            continue;
        }
        tio__task *t = p->queue_head;
        if (t == NULL)
            break;
        if ((p->queue_head = OP(t)->next) == NULL)
            p->queue_tail = NULL;
        OP(t)->next = NULL;
        h->running = t;
        h->cancel = false;
        LeaveCriticalSection(&p->mu);
        DWORD err = t->op == TIO__OP_FSYNC ? flush(t) : (DWORD)tio__os_engine_run(t);
        OP(t)->ov.Internal = err; /* ours while queued: the OS never saw this OVERLAPPED */
        EnterCriticalSection(&p->mu);
        if (h->cancel)
            InterlockedDecrement(&p->kicks);
        h->running = NULL;
        h->cancel = false;
        PostQueuedCompletionStatus(p->port, 0, KEY_FSYNC, &OP(t)->ov);
    }
    LeaveCriticalSection(&p->mu);
    return 0;
}

/* Under the lock, before one more piece of work is queued: one more
 * thread where none is idle for it. 0, or the Win32 error when there is
 * no thread at all to run it. */
static DWORD helper_for_more_work(iocp *p)
{
    unsigned queued = 0;
    for (tio__task *q = p->queue_head; q; q = OP(q)->next)
        queued++;
    for (dsync *d = p->flush_head; d; d = d->next)
        queued++;
    if (p->idle > queued || p->live == MAX_HELPERS)
        return 0;
    helper *h = &p->helpers[p->live];
    h->p = p;
    h->thread = CreateThread(NULL, 0, helper_main, h, 0, NULL);
    if (h->thread != NULL)
        p->live++;
    return p->live > 0 ? 0 : GetLastError();
}

/* Queue t for a helper: 0, or the Win32 error when no thread could start. */
static DWORD queue_helper(iocp *p, tio__task *t)
{
    EnterCriticalSection(&p->mu);
    DWORD err = helper_for_more_work(p);
    if (err == 0) {
        OP(t)->next = NULL;
        if (p->queue_tail)
            OP(p->queue_tail)->next = t;
        else
            p->queue_head = t;
        p->queue_tail = t;
        WakeConditionVariable(&p->cv);
    }
    LeaveCriticalSection(&p->mu);
    return err;
}

/* Take t off the queue if no helper has begun it; true if taken. */
static bool unqueue_helper(iocp *p, tio__task *t)
{
    bool taken = false;
    EnterCriticalSection(&p->mu);
    for (tio__task **pp = &p->queue_head, *prev = NULL; *pp; prev = *pp, pp = &OP(*pp)->next) {
        if (*pp != t)
            continue;
        *pp = OP(t)->next;
        if (p->queue_tail == t)
            p->queue_tail = prev;
        OP(t)->next = NULL;
        taken = true;
        break;
    }
    LeaveCriticalSection(&p->mu);
    return taken;
}

/* A task a helper runs: CancelSynchronousIo interrupts its call where the
 * OS allows (a CreateFileW waiting on a network path or a pipe; a flush at
 * the disk usually runs to its end and reports its real result). Under the
 * lock the helper cannot move on to another task, so the cancel cannot hit
 * the wrong one. A cancel that lands before the call has begun finds
 * nothing (ERROR_NOT_FOUND), so it is repeated from every wait until the
 * task ends (kick_helpers). */
static void interrupt_helper(iocp *p, const tio__task *t)
{
    EnterCriticalSection(&p->mu);
    for (unsigned i = 0; i < p->live; i++) {
        helper *h = &p->helpers[i];
        if (h->running != t)
            continue;
        if (!h->cancel) {
            h->cancel = true;
            InterlockedIncrement(&p->kicks);
        }
        CancelSynchronousIo(h->thread);
    }
    LeaveCriticalSection(&p->mu);
}

/* Repeat the cancels of tasks still running: see interrupt_helper. */
static void kick_helpers(iocp *p)
{
    EnterCriticalSection(&p->mu);
    for (unsigned i = 0; i < p->live; i++) {
        if (p->helpers[i].cancel && p->helpers[i].running != NULL)
            CancelSynchronousIo(p->helpers[i].thread);
    }
    LeaveCriticalSection(&p->mu);
}

/* The raw outcome of what the helper thread ran: an fsync, or an engine
 * operation (which outcome.c takes on its general path). */
static void complete_helper(tio__task *t, DWORD err)
{
    if (t->op >= TIO__OP_FIRST_ENGINE)
        tio__task_complete_slow(t, 0, (int)err);
    else
        tio__task_complete(t, 0, (int)err);
}

/* -------------------------------------------------------------- dsync */

static dsync *dsync_of(const iocp *p, const tio_file *f)
{
    if (!(f->backend_flags & TIO__WIN_FLUSH_DSYNC) || f->backend_index < 0)
        return NULL;
    TIO_ASSERT((unsigned)f->backend_index < p->ndsyncs && p->dsyncs[f->backend_index]);
    return p->dsyncs[f->backend_index];
}

static void dsync_make_due(iocp *p, dsync *d)
{
    if (d->flushing || d->on_due || d->waiting == NULL)
        return;
    d->on_due = true;
    d->due = p->due;
    p->due = d;
}

/* A write the OS has completed on such a file: it waits, its byte count in
 * the OVERLAPPED, for the next flush to begin and end. */
static void dsync_hold(iocp *p, dsync *d, tio__task *t, DWORD bytes)
{
    OP(t)->ov.InternalHigh = bytes;
    OP(t)->next = NULL;
    if (d->waiting_tail != NULL)
        OP(d->waiting_tail)->next = t;
    else
        d->waiting = t;
    d->waiting_tail = t;
    dsync_make_due(p, d);
}

/* The covered writes complete, in the order the OS completed them: with
 * their bytes once the flush succeeded, else with its error (written, but
 * not known to be durable). */
static void dsync_complete_covered(dsync *d, DWORD err)
{
    tio__task *t = d->covered;
    d->covered = NULL;
    d->flushing = false;
    while (t != NULL) {
        tio__task *next = OP(t)->next;
        OP(t)->next = NULL;
        if (err == ERROR_SUCCESS)
            tio__task_complete(t, (int64_t)OP(t)->ov.InternalHigh, 0);
        else
            tio__task_complete(t, 0, (int)err);
        t = next;
    }
}

/* A flush's packet: its writes complete, and writes that completed while
 * it ran are due for the next one. */
static void dsync_flushed(iocp *p, dsync *d)
{
    TIO_ASSERT(d->flushing);
    p->dsync_flushes++;
    dsync_complete_covered(d, (DWORD)d->ov.Internal);
    dsync_make_due(p, d);
}

/* One flush for each file with writes waiting and no flush running, after
 * a whole batch of completions (a wait's, a submit's): it covers them all. */
static void dsync_start_flushes(iocp *p)
{
    while (p->due != NULL) {
        dsync *d = p->due;
        p->due = d->due;
        d->due = NULL;
        d->on_due = false;
        TIO_ASSERT(!d->flushing && d->waiting != NULL);
        d->covered = d->waiting;
        d->waiting = d->waiting_tail = NULL;
        d->flushing = true;
        memset(&d->ov, 0, sizeof d->ov);
        EnterCriticalSection(&p->mu);
        DWORD err = helper_for_more_work(p);
        if (err == 0) {
            d->next = NULL;
            if (p->flush_tail)
                p->flush_tail->next = d;
            else
                p->flush_head = d;
            p->flush_tail = d;
            WakeConditionVariable(&p->cv);
        }
        LeaveCriticalSection(&p->mu);
        if (err != 0)
            dsync_complete_covered(d, err);
    }
}

uint64_t tio__iocp_dsync_flushes(const tio_loop *loop) /* a loop on this backend */
{
    return ((const iocp *)loop->backend_data)->dsync_flushes;
}

/* -------------------------------------------------------------- start */

/* ReadFile or WriteFile, overlapped: the byte count comes from the
 * OVERLAPPED (GetOverlappedResult) or the port, never from here. */
static BOOL issue(const tio__task *t, OVERLAPPED *ov)
{
    return t->op == TIO__OP_READ ? ReadFile(t->file->handle, t->buf, t->len, NULL, ov)
                                 : WriteFile(t->file->handle, t->buf, t->len, NULL, ov);
}

/* ReadFile/WriteFile (or the helpers' queue) for t: the three-way outcome. */
static uint8_t issue_start(iocp *p, tio__task *t, iocp_op *op, tio__sync *sync)
{
    if (t->op == TIO__OP_FSYNC || t->op >= TIO__OP_FIRST_ENGINE) {
        DWORD err = queue_helper(p, t);
        if (err == 0)
            return TIO__PENDING;
        sync->os_error = (int)err;
        return TIO__FAILED;
    }
    if (!t->file->is_stream) { /* pipes require a zero offset */
        op->ov.Offset = (DWORD)t->offset;
        op->ov.OffsetHigh = (DWORD)(t->offset >> 32);
    }
    bool skip = (t->file->backend_flags & TIO__WIN_SKIP_ON_SUCCESS) != 0;
    if (issue(t, &op->ov)) {
        if (!skip)
            return TIO__PENDING; /* a packet is queued all the same */
        DWORD n = 0;
        GetOverlappedResult(t->file->handle, &op->ov, &n, FALSE);
        sync->bytes = n;
        return TIO__COMPLETED;
    }
    DWORD err = GetLastError();
    if (err == ERROR_IO_PENDING)
        return TIO__PENDING;
    /* ERROR_MORE_DATA: a message-mode pipe filled the buffer and keeps the
     * rest of the message for the next read. STATUS_BUFFER_OVERFLOW is a
     * warning, not an error, and FO_SKIP_COMPLETION_PORT skips the packet for
     * any synchronous non-error status (FILE_OBJECT reference, wdm.h; Wine
     * does the same in server/async.c), so the read is complete now; without
     * the skip mode the packet follows. A warning is told by the NTSTATUS
     * the I/O manager stored (severity 2, NT_WARNING); an immediate error
     * leaves Internal at STATUS_PENDING, as ReadFile set it. */
    ULONG status = (ULONG)op->ov.Internal;
    if (err == ERROR_MORE_DATA || (status != 0x103 /* STATUS_PENDING */ && status >> 30 == 2)) {
        if (!skip)
            return TIO__PENDING;
        sync->bytes = (int64_t)op->ov.InternalHigh;
        return TIO__COMPLETED;
    }
    sync->os_error = (int)err;
    return TIO__FAILED;
}

/* One start: its three-way outcome, raw. The OVERLAPPED joins `ours`
 * first, so that its packet is recognised whenever it comes. */
static uint8_t start_one(iocp *p, tio__task *t, tio__sync *sync)
{
    iocp_op *op = OP(t);
    memset(op, 0, sizeof *op);
    if (!tio__ptrset_add(&p->ours, &op->ov)) {
        sync->os_error = ERROR_NOT_ENOUGH_MEMORY;
        return TIO__FAILED;
    }
    uint8_t out = issue_start(p, t, op, sync);
    if (out != TIO__PENDING)
        tio__ptrset_remove(&p->ours, &op->ov);
    dsync *d = out == TIO__COMPLETED && t->op == TIO__OP_WRITE ? dsync_of(p, t->file) : NULL;
    if (d != NULL) {
        dsync_hold(p, d, t, (DWORD)sync->bytes);
        return TIO__PENDING;
    }
    return out;
}

static unsigned iocp_submit(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                            uint8_t *out, tio__sync *sync)
{
    iocp *p = P(loop);
    (void)flags; /* every ReadFile/WriteFile is its own system call: always now */
    for (unsigned i = 0; i < n; i++)
        out[i] = start_one(p, tasks[i], &sync[i]);
    dsync_start_flushes(p);
    return n;
}

/* ------------------------------------------------------------- cancel */

static void iocp_cancel(tio_loop *loop, tio__task *t)
{
    iocp *p = P(loop);
    if (t->op == TIO__OP_FSYNC || t->op >= TIO__OP_FIRST_ENGINE) {
        /* Not begun: it never will. Running: interrupted where the OS
         * allows, else its real result arrives. */
        if (unqueue_helper(p, t)) {
            tio__ptrset_remove(&p->ours, &OP(t)->ov);
            complete_helper(t, ERROR_OPERATION_ABORTED);
        } else {
            interrupt_helper(p, t);
        }
        return;
    }
    /* ERROR_NOT_FOUND: already completed, its packet is on the way. */
    CancelIoEx(t->file->handle, &OP(t)->ov);
}

/* --------------------------------------------------------------- wait */

static void complete_entry(iocp *p, const OVERLAPPED_ENTRY *e)
{
    if (e->lpCompletionKey == KEY_DSYNC) {
        dsync_flushed(p, TIO_CONTAINER_OF(e->lpOverlapped, dsync, ov));
        return;
    }
    if (!tio__ptrset_remove(&p->ours, e->lpOverlapped))
        return; /* not ours: dropped (taskio.h: no other overlapped I/O on a wrapped handle) */
    tio__task *t = task_of_ov(e->lpOverlapped);
    TIO_ASSERT(t->state == TIO__INFLIGHT);
    if (e->lpCompletionKey == KEY_FSYNC) {
        complete_helper(t, (DWORD)OP(t)->ov.Internal);
        return;
    }
    LONG status = (LONG)e->lpOverlapped->Internal;
    DWORD err = status >= 0 ? ERROR_SUCCESS : status_to_error(status); /* NT_SUCCESS */
    dsync *d = t->op == TIO__OP_WRITE ? dsync_of(p, t->file) : NULL;
    if (d != NULL && err == ERROR_SUCCESS)
        dsync_hold(p, d, t, e->dwNumberOfBytesTransferred);
    else if (err == ERROR_SUCCESS || err == ERROR_MORE_DATA) /* see start_one */
        tio__task_complete(t, e->dwNumberOfBytesTransferred, 0);
    else
        tio__task_complete(t, 0, (int)err);
}

static int iocp_wait(tio_loop *loop, int64_t timeout_ns)
{
    iocp *p = P(loop);
    /* A cancel a helper's call has not yet seen is asked again at least
     * every KICK_MS while it runs. */
    if (InterlockedCompareExchange(&p->kicks, 0, 0) > 0) {
        kick_helpers(p);
        if (timeout_ns < 0 || timeout_ns > KICK_MS * 1000000)
            timeout_ns = KICK_MS * 1000000;
    }
    /* Milliseconds, rounded up: returning before a deadline would only
     * make the loop spin until it passes. */
    DWORD ms = timeout_ns < 0 ? INFINITE
               : timeout_ns >= (int64_t)0xFFFFFFFE * 1000000
                   ? 0xFFFFFFFE
                   : (DWORD)((timeout_ns + 999999) / 1000000);
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(p->port, p->entries, ENTRIES, &n, ms, FALSE)) {
        DWORD err = GetLastError();
        if (err == WAIT_TIMEOUT)
            return 0;
        return tio__fail(loop, tio__win_error_map(err),
                         "GetQueuedCompletionStatusEx failed (Win32 error %lu)",
                         (unsigned long)err);
    }
    bool woken = false;
    for (ULONG i = 0; i < n; i++) {
        if (p->entries[i].lpCompletionKey == KEY_WAKE) {
            InterlockedExchange(&p->wake_posted, 0); /* a later wake posts again */
            woken = true;
        } else
            complete_entry(p, &p->entries[i]);
    }
    dsync_start_flushes(p);
    return woken ? TIO__WOKEN : 0;
}

/* One packet however often tio_wake is called before the loop sees it (as
 * libuv's uv_async_send): a storm of wakes cannot flood the port. */
static void iocp_wake(tio_loop *loop)
{
    iocp *p = P(loop);
    if (InterlockedExchange(&p->wake_posted, 1) == 0)
        PostQueuedCompletionStatus(p->port, 0, KEY_WAKE, NULL);
}

/* ------------------------------------------------------------- attach */

/* A TIO__WIN_FLUSH_DSYNC file's dsync, in a free slot of p->dsyncs. */
static int dsync_add(tio_loop *loop, iocp *p, tio_file *f)
{
    unsigned i = 0;
    while (i < p->ndsyncs && p->dsyncs[i] != NULL)
        i++;
    if (i == p->ndsyncs) {
        unsigned n = p->ndsyncs ? 2 * p->ndsyncs : 8;
        dsync **grown = realloc(p->dsyncs, n * sizeof *grown);
        if (grown == NULL)
            return tio__fail(loop, TIO_ENOMEM, "iocp: out of memory");
        memset(grown + p->ndsyncs, 0, (n - p->ndsyncs) * sizeof *grown);
        p->dsyncs = grown;
        p->ndsyncs = n;
    }
    dsync *d = calloc(1, sizeof *d);
    if (d == NULL)
        return tio__fail(loop, TIO_ENOMEM, "iocp: out of memory");
    d->handle = f->handle;
    p->dsyncs[i] = d;
    f->backend_index = (int)i;
    return 0;
}

static int iocp_attach(tio_loop *loop, tio_file *f)
{
    iocp *p = P(loop);
    if (CreateIoCompletionPort(f->handle, p->port, KEY_IO, 0) == NULL) {
        DWORD err = GetLastError();
        /* ERROR_INVALID_PARAMETER: already bound to another port (a handle
         * belongs to one port for its whole life), or not overlapped. */
        return tio__fail(loop,
                         err == ERROR_INVALID_PARAMETER ? TIO_EINVAL : tio__win_error_map(err),
                         "CreateIoCompletionPort: the handle cannot join this loop's port "
                         "(Win32 error %lu; already bound elsewhere or not overlapped?)",
                         (unsigned long)err);
    }
    if (SetFileCompletionNotificationModes(f->handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                                                          FILE_SKIP_SET_EVENT_ON_HANDLE))
        f->backend_flags |= TIO__WIN_SKIP_ON_SUCCESS;
    if (f->backend_flags & TIO__WIN_FLUSH_DSYNC)
        return dsync_add(loop, p, f);
    return 0;
}

/* FileReplaceCompletionInformation (Windows 8.1+) with a NULL port ends a
 * handle's association with its completion port ("FILE_INFORMATION_CLASS",
 * Microsoft docs): a wrapped handle leaves the loop on tio_file_close and
 * may join another port. Where the class is refused (Windows 8, Wine) the
 * handle stays bound, as taskio.h says. The skip modes attach set cannot
 * be cleared (SetFileCompletionNotificationModes) and stay. A handle
 * taskio opened is closed right after instead, which ends it too. */
#define FILE_REPLACE_COMPLETION_INFORMATION 61

typedef struct completion_info { /* FILE_COMPLETION_INFORMATION */
    HANDLE port;
    void *key;
} completion_info;

static void iocp_detach(tio_loop *loop, tio_file *f)
{
    iocp *p = P(loop);
    dsync *d = dsync_of(p, f);
    if (d != NULL) { /* nothing is pending on the file: no write waits, no flush runs */
        TIO_ASSERT(!d->flushing && d->waiting == NULL && !d->on_due);
        p->dsyncs[f->backend_index] = NULL;
        f->backend_index = -1;
        free(d);
    }
    if (f->owned || nt.set_info == NULL)
        return;
    completion_info ci = {NULL, NULL};
    io_status iosb;
    nt.set_info(f->handle, &iosb, &ci, sizeof ci, FILE_REPLACE_COMPLETION_INFORMATION);
}

/* ----------------------------------------------------- create / destroy */

static int iocp_create(tio_loop *loop, const tio_loop_config *cfg)
{
    (void)cfg;
    iocp *p = calloc(1, sizeof *p);
    if (p == NULL)
        return tio__fail(loop, TIO_ENOMEM, "iocp: out of memory");
    InitOnceExecuteOnce(&nt_once, resolve_ntdll, NULL, NULL);
    p->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (p->port == NULL) {
        DWORD err = GetLastError();
        free(p);
        return tio__fail(loop, tio__win_error_map(err),
                         "CreateIoCompletionPort failed "
                         "(Win32 error %lu)",
                         (unsigned long)err);
    }
    InitializeCriticalSection(&p->mu);
    InitializeConditionVariable(&p->cv);
    loop->backend_data = p;
    return 0;
}

static void iocp_destroy(tio_loop *loop)
{
    iocp *p = P(loop);
    EnterCriticalSection(&p->mu);
    TIO_ASSERT(p->queue_head == NULL && p->flush_head == NULL && p->kicks == 0);
    p->stopping = true;
    WakeAllConditionVariable(&p->cv);
    LeaveCriticalSection(&p->mu);
    for (unsigned i = 0; i < p->live; i++) {
        WaitForSingleObject(p->helpers[i].thread, INFINITE);
        CloseHandle(p->helpers[i].thread);
    }
    DeleteCriticalSection(&p->mu);
    CloseHandle(p->port);
    tio__ptrset_free(&p->ours);
    for (unsigned i = 0; i < p->ndsyncs; i++)
        free(p->dsyncs[i]); /* files closed before the loop: none is left */
    free(p->dsyncs);
    free(p);
}

const tio__backend tio__backend_iocp = {
    .name = "iocp",
    .create = iocp_create,
    .destroy = iocp_destroy,
    .submit = iocp_submit,
    .cancel =
        iocp_cancel, /* per task: Wine's CancelIoEx(h, NULL) reports TRUE with nothing pending */
    .wait = iocp_wait,
    .wake = iocp_wake,
    .attach = iocp_attach,
    .detach = iocp_detach,
};
