/* SPDX-License-Identifier: MIT */
/*
 * taskio internals shared by src/common and every backend.
 *
 * A task's private words hold a struct tio__task: the common part (state,
 * arguments, list links, timer-heap links) and a small area each backend
 * uses as it likes (the OVERLAPPED on Windows, a work-queue link for the
 * threads backend). Nothing here is allocated per operation.
 */
#ifndef TIO_INTERNAL_H
#define TIO_INTERNAL_H

#include "taskio.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* clang-format 14 would put a space into the stringised #x. */
/* clang-format off */
#if defined(TIO_DEBUG) && TIO_DEBUG
#  define TIO_ASSERT(x) ((x) ? (void)0 : tio__assert_fail(#x, __FILE__, __LINE__))
#else
#  define TIO_ASSERT(x) ((void)0)
#endif
/* clang-format on */
void tio__assert_fail(const char *expr, const char *file, int line);

/* Out of the hot path: an explaining or unusual branch. */
#if defined(__GNUC__)
#  define TIO_COLD __attribute__((cold, noinline))
#  define TIO_LIKELY(x) __builtin_expect(!!(x), 1)
#  define TIO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define TIO_COLD
#  define TIO_LIKELY(x) (x)
#  define TIO_UNLIKELY(x) (x)
#endif

/* A step every operation or run takes, inlined at each of its few call
 * sites: as a call it would pay a prologue and epilogue every time. */
#if defined(__GNUC__)
#  define TIO_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#  define TIO_INLINE __forceinline
#else
#  define TIO_INLINE inline
#endif

/* A path of its own, kept out of its caller so that the caller's common
 * case does not pay for its registers. */
#if defined(__GNUC__)
#  define TIO_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#  define TIO_NOINLINE __declspec(noinline)
#else
#  define TIO_NOINLINE
#endif

/* C11's _Thread_local, which MSVC's C compiler spells __declspec(thread). */
#if defined(_MSC_VER) && !defined(__clang__)
#  define TIO_THREAD_LOCAL __declspec(thread)
#else
#  define TIO_THREAD_LOCAL _Thread_local
#endif

/* clang-format off */
#define TIO_CONTAINER_OF(ptr, type, field) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, field)))
/* clang-format on */

/* ------------------------------------------------------------ task state */

/*
 * IDLE      not pending: may be submitted, freed, reused.
 * QUEUED    accepted, on loop->queued, not yet handed to the OS (or handed
 *           back to continue a short transfer or retry a transient failure).
 * INFLIGHT  handed to the backend (the OS owns the buffer), or a sleep
 *           waiting in the timer heap.
 * DONE      result known, on loop->done; its callback runs on a later run.
 * Every transition is in task.c, task.h and outcome.c; backends report raw
 * outcomes through tio__task_complete and nothing else.
 */
enum tio__state { TIO__IDLE = 0, TIO__QUEUED, TIO__INFLIGHT, TIO__DONE };
enum tio__op {
    TIO__OP_NONE = 0,
    TIO__OP_READ,
    TIO__OP_WRITE,
    TIO__OP_FSYNC,
    TIO__OP_SLEEP,
    /* The engine operations (engine.c): one blocking OS call each. */
    TIO__OP_OPEN,
    TIO__OP_CLOSE,
    TIO__OP_ALLOCATE,
    TIO__OP_TRUNCATE,
    TIO__OP_RENAME,
    TIO__OP_UNLINK,
    TIO__OP_STAT,
};
#define TIO__OP_FIRST_ENGINE TIO__OP_OPEN

/* The three-way submission result (DESIGN semantic 2) plus back-pressure:
 * BUSY means "no room right now, keep it queued and try on the next run".
 * PENDING is 0: task.c scans a batch's outcomes eight at a time. */
enum tio__start { TIO__PENDING = 0, TIO__COMPLETED, TIO__FAILED, TIO__BUSY };

/* How a raw OS error reads, decided per OS (tio__os_error_kind) so that the
 * one normalising function can apply the semantics without knowing errno
 * from GetLastError. */
enum tio__error_kind {
    TIO__ERR_FAIL = 0, /* a real failure: mapped to TIO_E*, os_error kept */
    TIO__ERR_CANCELED, /* the OS stopped it on our request */
    TIO__ERR_INTR,     /* interrupted: cancelled if one was asked, else retried */
    TIO__ERR_AGAIN,    /* transient, nothing done: retried */
    TIO__ERR_END,      /* end of data on a read (Windows' EOF and broken pipe) */
};

typedef struct tio__task tio__task;

/* Intrusive timer-heap node (pairing heap, see heap.c). */
typedef struct tio__heap_node {
    struct tio__heap_node *child, *next, *prev; /* prev: parent or left sibling */
} tio__heap_node;

/* Intrusive doubly linked list (loop->queued, ->inflight, ->done). */
typedef struct tio__link {
    struct tio__link *next, *prev;
} tio__link;

#define TIO__BACKEND_WORDS 5

/* tio__task.flags. One byte, so that the completion path tests them all at
 * once (tio__task_complete) and a new use clears them in one store. */
enum {
    TIO__TF_DEADLINE = 1 << 0,  /* in loop->timers */
    TIO__TF_CANCEL = 1 << 1,    /* a cancel was asked */
    TIO__TF_TIMED_OUT = 1 << 2, /* the cancel came from the deadline */
    TIO__TF_STREAM = 1 << 3,    /* a copy of file->is_stream, for the flush policy */
    TIO__TF_VEC = 1 << 4,       /* tio_readv/tio_writev: see v below and vector.c */
};

struct tio__task {
    tio_loop *loop;
    tio_file *file;
    tio_cb cb;
    void *buf;
    uint64_t offset;
    tio__link link;       /* on exactly one loop list unless IDLE/sleeping */
    struct tio__list *on; /* that list, or NULL */
    tio__heap_node timer; /* in loop->timers iff TIO__TF_DEADLINE */
    int64_t deadline_ns;  /* monotonic; valid iff TIO__TF_DEADLINE */
    uint32_t len;         /* <= TIO_MAX_IO: what is left to transfer */
    uint32_t done;        /* bytes transferred by earlier legs of a continued transfer */
    uint32_t gen;         /* +1 on every completion: keys stale cancels out */
    uint32_t timer_seq;   /* tie-break: equal deadlines fire in arming order */
    int32_t os_error;     /* raw errno / GetLastError of the last failure */
    uint8_t state;        /* enum tio__state */
    uint8_t op;           /* enum tio__op */
    uint8_t flags;        /* TIO__TF_*: facts of this use, all clear when it begins */
    uint8_t op_flags;     /* TIO_FSYNC_DATA */
    uint64_t backend[TIO__BACKEND_WORDS]; /* the backend's own per-task state */
    union {
        /* A vectored transfer. Each attempt at the OS is either the whole
         * rest in one vectored call (buf NULL, len the rest: a backend with
         * `vectored` passes bufs[0..count), nothing moved yet) or one leg, a
         * plain read/write of buf/len inside bufs[seg]. */
        struct {
            const tio_buf *bufs;
            uint32_t count;
            uint32_t left; /* bytes still to move */
            uint32_t seg;  /* the segment the next byte belongs to */
            uint32_t skip; /* bytes of bufs[seg] already moved */
        } v;
        /* An engine operation's arguments (engine.c), besides file (NULL
         * for open, rename and unlink), buf (open: the tio_file being
         * opened; stat: the caller's tio_stat), offset (open: the mode;
         * allocate: the start; truncate: the size) and op_flags. */
        struct {
            const char *path; /* open, rename (from), unlink */
            union {
                const char *to; /* rename */
                tio_file **out; /* open */
            };
            uint64_t len; /* allocate */
        } e;
    };
};

_Static_assert(sizeof(struct tio__task) <= sizeof(((tio_task *)0)->priv_),
               "task private state exceeds TIO_TASK_PRIVATE_WORDS");
_Static_assert(TIO_MAX_IO <= UINT32_MAX, "len is stored in 32 bits");

static inline tio__task *tio__priv(tio_task *t)
{
    return (tio__task *)(void *)t->priv_;
}
static inline const tio__task *tio__cpriv(const tio_task *t)
{
    return (const tio__task *)(const void *)t->priv_;
}
static inline tio_task *tio__pub(tio__task *p)
{
    return TIO_CONTAINER_OF((uint64_t *)(void *)p, tio_task, priv_);
}

/* ------------------------------------------------------------------- lists */

/* A task's list is its `on` field; the count and the cleared links of a
 * removed node exist only to be asserted on, and are kept only in debug
 * builds (the field stays, so that every build has one layout). */
typedef struct tio__list {
    tio__link head;
    unsigned count;
} tio__list;

#if defined(TIO_DEBUG) && TIO_DEBUG
#  define TIO__LIST_COUNT(l, op) ((l)->count op)
#else
#  define TIO__LIST_COUNT(l, op) ((void)(l))
#endif

/* Inline: every operation moves its task between lists three times. */
static inline void tio__list_init(tio__list *l)
{
    l->head.next = l->head.prev = &l->head;
    TIO__LIST_COUNT(l, = 0);
}

static inline void tio__list_push_back(tio__list *l, tio__link *n)
{
    TIO_ASSERT(n->next == NULL && n->prev == NULL);
    /* In this order gcc stores each pointer alone; paired into one vector
     * store (its SLP vectoriser's choice for the order of push_front) it
     * costs two instructions more. */
    tio__link *tail = l->head.prev;
    n->prev = tail;
    tail->next = n;
    n->next = &l->head;
    l->head.prev = n;
    TIO__LIST_COUNT(l, ++);
}

static inline void tio__list_push_front(tio__list *l, tio__link *n)
{
    TIO_ASSERT(n->next == NULL && n->prev == NULL);
    n->next = l->head.next;
    n->prev = &l->head;
    l->head.next->prev = n;
    l->head.next = n;
    TIO__LIST_COUNT(l, ++);
}

static inline void tio__list_remove(tio__list *l, tio__link *n)
{
    TIO_ASSERT(l->count > 0 && n->next != NULL && n->next->prev == n && n->prev->next == n);
    n->prev->next = n->next;
    n->next->prev = n->prev;
#if defined(TIO_DEBUG) && TIO_DEBUG
    n->next = n->prev = NULL;
#endif
    TIO__LIST_COUNT(l, --);
}

/* Move the k consecutive nodes first..last of `from` to the tail of `to`. */
static inline void tio__list_splice_tail(tio__list *from, tio__link *first, tio__link *last,
                                         unsigned k, tio__list *to)
{
    TIO_ASSERT(from->count >= k && k > 0);
    first->prev->next = last->next;
    last->next->prev = first->prev;
    first->prev = to->head.prev;
    last->next = &to->head;
    to->head.prev->next = first;
    to->head.prev = last;
    TIO__LIST_COUNT(from, -= k);
    TIO__LIST_COUNT(to, += k);
    (void)k;
}

static inline bool tio__list_empty(const tio__list *l)
{
    return l->head.next == &l->head;
}
static inline tio__task *tio__task_of(tio__link *n)
{
    return TIO_CONTAINER_OF(n, tio__task, link);
}

/* ------------------------------------------------------------------- heap */

typedef struct tio__heap {
    tio__heap_node *root;
    unsigned count;
} tio__heap;

void tio__heap_insert(tio__heap *h, tio__heap_node *n);
void tio__heap_remove(tio__heap *h, tio__heap_node *n);
tio__heap_node *tio__heap_min(const tio__heap *h);

/* ----------------------------------------------------------------- backend */

/*
 * What a backend implements: OS calls only. Every function runs on the
 * loop's thread except wake. Validation, task states, the list of work not
 * yet handed over, when to hand it over, deadlines, and what a raw outcome
 * means are the common code's (task.c, outcome.c, cancel.c).
 */
#define TIO__BATCH 64u /* tasks per submit call */

/* A synchronous outcome of one start: see submit. */
typedef struct tio__sync {
    int64_t bytes; /* COMPLETED: bytes transferred */
    int os_error;  /* FAILED: the raw OS error (errno, GetLastError) */
} tio__sync;

/* submit's flags */
#define TIO__SUBMIT_NOW 1u /* the OS must hold every PENDING task on return */

/* start_now's how (the loop's one task, now: task.c's start_alone) */
#define TIO__NOW_NOWAIT 2u   /* only if the OS waits for nothing (not the device either) */
#define TIO__NOW_BLOCKING 4u /* the caller waits for this task alone: the device too */

typedef struct tio__backend {
    const char *name;
    /* Whether submit takes a whole vectored attempt (TIO__TF_VEC, buf NULL: the
     * rest of a tio_readv/tio_writev in one OS call). Without it the common
     * code moves a vectored transfer one segment (leg) at a time. */
    bool vectored;
    /* Set loop->backend_data; 0, TIO_ENOTSUP (refused: try the next one), TIO_ENOMEM. */
    int (*create)(tio_loop *loop, const tio_loop_config *cfg);
    /* Every task has completed when this runs. */
    void (*destroy)(tio_loop *loop);
    /* Start tasks[0..n) in order (reads, writes, fsyncs; never zero-length;
     * a vectored attempt only where `vectored` says so).
     * For each, out[i] is PENDING (a raw completion follows through
     * tio__task_complete), COMPLETED or FAILED (done now: sync[i] holds the
     * raw outcome, nothing follows) or BUSY (no room: this and every later
     * task stay queued). Returns the number of tasks not BUSY. Without
     * TIO__SUBMIT_NOW the backend may leave the OS call to the wait that the
     * common code makes next, before any user code runs. */
    unsigned (*submit)(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                       uint8_t *out, tio__sync *sync);
    /* Ask the OS to stop an INFLIGHT task. Its one raw completion still
     * comes (cancelled, or its real result); never from inside this call
     * unless the OS stopped it here, before doing anything. */
    void (*cancel)(tio_loop *loop, tio__task *t);
    /* Wait up to timeout_ns (0: poll, TIO_FOREVER) for completions or a
     * wake and report each with tio__task_complete. May return early (a
     * signal): the common code waits again. Returns 0, TIO__WOKEN when
     * tio_wake ended it, or a TIO_E* code for a fatal failure. */
    int (*wait)(tio_loop *loop, int64_t timeout_ns);
    /* Optional: submit(loop, &t, 1, 0, out, sync) and, when *out is
     * PENDING, wait(loop, TIO_FOREVER), in one call: the run of a loop
     * whose only task is t (without it the common code makes the two
     * calls). *out is always set (BUSY where submit would have taken
     * nothing). wait's result, or 0 when *out is not PENDING. */
    int (*submit_wait)(tio_loop *loop, tio__task *t, uint8_t *out, tio__sync *sync);
    /* Optional: submit(loop, &t, 1, TIO__SUBMIT_NOW, &out, sync) in a call
     * made for one task, the starting call's hand-over of each start
     * (submit_batch 1, and the adaptive policy's mode that does the same)
     * that is a plain one: a read, write or fsync of one buffer (no
     * vector, not a stream, some bytes to move; the others go to submit).
     * Returns 0 when out would be PENDING; any other outcome (BUSY where
     * submit would have taken nothing) it reports with
     * tio__single_settled(loop, t, out, sync) and returns that call's value,
     * as a completion is reported with tio__task_complete: the starting
     * call's path then ends in this call, with no stack frame on the way. */
    int (*submit_single)(tio_loop *loop, tio__task *t);
    /* Thread-safe: make a concurrent or the next wait return TIO__WOKEN. */
    void (*wake)(tio_loop *loop);
    /* Optional: bind a newly opened or wrapped file to the loop (IOCP
     * associates the handle with its port). 0 or a TIO_E* code. */
    int (*attach)(tio_loop *loop, tio_file *file);
    /* Optional: undo attach before the file closes (no task is pending). */
    void (*detach)(tio_loop *loop, tio_file *file);
    /* Optional: register buffers (count 0: unregister); nothing pending.
     * Registration is an optimisation: where the OS refuses it, I/O runs
     * on unregistered buffers and this still succeeds. */
    void (*register_buffers)(tio_loop *loop, const tio_buf *bufs, unsigned count);
    /* Optional: do a read, write or fsync on a regular file now, on the
     * calling thread, in one OS call (how: TIO__NOW_NOWAIT or _BLOCKING).
     * COMPLETED or FAILED with the raw outcome in *s; or BUSY: nothing was
     * done (the OS would have waited, or has no such mode: s->os_error
     * says which, 0 if the OS was not asked), and the task is started
     * as usual. */
    uint8_t (*start_now)(tio_loop *loop, tio__task *t, unsigned how, tio__sync *s);
} tio__backend;

#define TIO__WOKEN 1

/* --------------------------------------------------------------- the loop */

#define TIO__ERRMSG_SIZE 256

/* The adaptive default's learned hand-over mode (adapt.c). */
#define TIO__ADAPT_EPOCH 512u /* completions per measured epoch */
typedef struct tio__adapt {
    uint32_t ops;   /* completions in this epoch */
    unsigned pos;   /* epochs of this cycle measured */
    unsigned cycle; /* its length in epochs (0: the clock not started yet) */
    int64_t t0;     /* when this epoch began */
    uint64_t base_ops, base_ns, probe_ops, probe_ns;
    int votes;       /* net probes that found the other mode faster */
    unsigned probes; /* probes pooled in the sums below since the last switch */
    uint64_t pool_probe_ops, pool_probe_ns, pool_base_ops, pool_base_ns;
    uint32_t switches; /* mode changes (tests, statistics) */
    bool eager;        /* each start handed over at once (submit_batch 1) */
} tio__adapt;

struct tio_loop {
    const tio__backend *backend; /* set with tio__loop_set_backend */
    void *backend_data;
    /* backend->submit_wait, or the common code's submit then wait: the
     * lone run's one call, with no test */
    int (*submit_wait)(tio_loop *loop, tio__task *t, uint8_t *out, tio__sync *sync);
    /* backend->submit_single, or the common code's submit of one task */
    int (*submit_single)(tio_loop *loop, tio__task *t);
    tio__list queued;            /* QUEUED tasks, in submission order */
    tio__list inflight;          /* INFLIGHT tasks other than sleeps */
    tio__list done;              /* DONE tasks, in completion order */
    tio__heap timers;            /* tasks with a deadline (sleeps and timeouts) */
    unsigned pending;            /* tasks not IDLE */
    unsigned sleeping;           /* INFLIGHT sleep tasks (in timers, on no list) */
    unsigned queue_depth;        /* at most this many file operations in flight */
    unsigned budget;             /* callbacks per run */
    unsigned submit_batch;       /* tio_loop_config.submit_batch: the starting call
                                    flushes at this many queued (UINT_MAX: never) */
    bool adaptive;               /* submit_batch 0: the default policy (task.c), else
                                    only runs flush (TIO_SUBMIT_IN_RUN) */
    tio__adapt adapt;            /* the default policy's learned mode (adapt.c) */
    unsigned inflight_files;     /* INFLIGHT operations on files that are not streams */
    unsigned queued_streams;     /* QUEUED operations on streams (uncapped) */
    unsigned queued_since_flush; /* starts since the last flush (submit_batch) */
    bool retry_starts;           /* the last flush left starts the backend refused for now */
    uint8_t lone_waits;          /* tio_wait(FOREVER) on the loop's only task since the
                                    caller last ran the loop itself, up to
                                    TIO__LONE_WAITS (task.c's nowait_pays) */
    uint32_t requeues;           /* tasks put back on the queue, ever (tio__flush's passes) */
    tio_file *file_list;         /* open tio_files */
    tio_file *closed_files;      /* closed ones, kept for reuse until destroy (via next) */
    int64_t now_ns;              /* monotonic clock, refreshed per run */
    uint32_t timer_seq;          /* next tio__task.timer_seq */
    bool in_callback;
    bool destroying;
    struct tio__faults *faults; /* fault injection (test builds only), else NULL */
    /* How starts ended, by enum tio__start: which branches a backend takes
     * (tests assert them; a later issue makes them public statistics). */
    uint64_t starts[4];
    /* tio_wait bookkeeping */
    tio__task *wait_task;
    uint32_t wait_gen;
    bool wait_done;
    int64_t wait_result;
    unsigned long owner; /* creating thread, for ownership assertions */
    char errmsg[TIO__ERRMSG_SIZE];
};

/* Waits on lone tasks in a row after which their starts are left to tio_wait. */
#define TIO__LONE_WAITS 2u

#define TIO__FILE_OPEN 0x7469666fu    /* "tifo" */
#define TIO__FILE_CLOSED 0x74696663u  /* "tifc" */
#define TIO__FILE_OPENING 0x74696670u /* "tifp": a tio_open in progress */
#define TIO__FILE_CLOSING 0x74696678u /* "tifx": a tio_close is pending */

struct tio_file {
    uint32_t magic; /* TIO__FILE_OPEN, _CLOSED after close, _OPENING, _CLOSING */
    tio_loop *loop;
    /* Per direction (0 read, 1 write): loop while a read (write) may start
     * on the file (open for it, the loop not being destroyed), else
     * &tio__no_loop: a start's checks of all four in one comparison. Kept
     * by tio__file_set_magic. */
    const tio_loop *io_loop[2];
    tio_handle handle;
    unsigned flags;     /* TIO_* open flags as given */
    size_t align_bytes; /* 1 unless direct */
    unsigned pending;   /* tasks on this file not IDLE */
    bool direct;
    bool owned; /* close the handle on tio_file_close */
    bool can_read, can_write;
    bool is_stream;         /* pipe/socket/tty: no offsets, reads may block for ever */
    bool writing;           /* a stream write is INFLIGHT: later ones wait (order) */
    int backend_index;      /* backend's own per-file slot (registered fd), -1 */
    unsigned backend_flags; /* backend's own per-file bits */
    /* The starting call's fast path (task.c), per direction (0 read, 1
     * write): whether the OS has a mode that never waits, and how well it
     * has paid lately (> 0: try it; <= 0: only every TIO__NOWAIT_PROBE). */
    bool nowait_refused[2];
    int8_t nowait_credit[2];
    uint8_t nowait_skips[2];
    tio_file *next, *prev; /* loop->file_list, closed by tio_loop_destroy */
};

static inline bool tio__file_is_open(const tio_file *f)
{
    return f->magic == TIO__FILE_OPEN;
}

/* file.c: what no start's loop is (tio_file.io_loop); the file's state
 * (magic), with what follows from it. */
extern const tio_loop *const tio__no_loop;
void tio__file_set_magic(tio_file *f, uint32_t magic);

/* ---------------------------------------------------------- common calls */

/* task.c: the state machine and the flush policy. */
void tio__adapt_epoch(tio_loop *loop, int64_t now); /* every TIO__ADAPT_EPOCH completions */
/* IDLE -> QUEUED (maybe flushed); 0, for the starting call to return */
int tio__task_enqueue(tio_loop *loop, tio__task *t, unsigned vec);
void tio__task_enqueue_engine(tio_loop *loop, tio__task *t); /* the same, an engine operation */

/* submit.c: the checks every operation on a file makes at submission: 0 or
 * the TIO_E* rejection, explained by tio_last_error. */
int tio__check_task(tio_loop *loop, const char *call, tio_task *task, tio_file *file, tio_cb cb);
void tio__task_requeue(tio__task *t);            /* INFLIGHT -> QUEUED: continue/retry */
void tio__flush(tio_loop *loop, unsigned flags); /* hand queued work to the backend */
void tio__loop_set_backend(tio_loop *loop, const tio__backend *be); /* the loop's backend table */
unsigned tio__run_callbacks(tio_loop *loop);
int64_t tio__run_alone(tio_loop *loop, tio__task *t); /* the one task, done: its callback */
bool tio__wait_alone(tio_loop *loop, tio__task *t,
                     int64_t *result); /* tio_wait: the one task, now */
int tio__run_lone(tio_loop *loop);     /* tio_run: the one task, queued: start, wait, callback */
/* loop.c: the general run, what tio_run and the lone run end in */
int tio__run_general(tio_loop *loop, int64_t timeout_ns);

/* outcome.c: the one place a raw outcome becomes a result (semantics 4, 5,
 * 7, 11, 12, 13, 16). bytes when os_error is 0, else the raw OS error. */
void tio__task_complete_slow(tio__task *t, int64_t bytes, int os_error);
TIO_COLD void tio__vec_prepare(const tio_loop *loop, tio__task *t); /* vector.c: next attempt */
void tio__vec_advance(tio__task *t, uint32_t bytes);                /* an attempt moved bytes */
int tio__start_failed(tio_loop *loop, tio__task *t, int os_error);  /* FAILED at start: BUSY? */
/* A backend's submit_single, for a start that did not end PENDING: 0. */
int tio__single_settled(tio_loop *loop, tio__task *t, uint8_t out, const tio__sync *sync);
/* submit_single's result for a start's outcome, as its contract says. */
static inline int tio__single_outcome(tio_loop *loop, tio__task *t, uint8_t out,
                                      const tio__sync *sync)
{
    return out == TIO__PENDING ? 0 : tio__single_settled(loop, t, out, sync);
}
void tio__task_finish_cancelled(tio__task *t); /* ECANCELED, ETIMEDOUT or the bytes moved */

/* engine.c and file.c: an engine operation's effect on the loop's state
 * as it finishes (on the loop's thread), given its result. A cancelled
 * result means the OS call never ran: a running one cannot be stopped
 * except by an interruption that makes it fail before doing anything. */
void tio__engine_settle(tio__task *t, int64_t *result);
void tio__file_opened(tio__task *t, int64_t *result);
void tio__file_closed(tio__task *t, int64_t result);

/* The OS layer (src/posix/engine.c, src/win32/engine.c): an engine
 * operation, run to its end on a helper thread. 0 or the raw OS error. */
int tio__os_engine_run(tio__task *t);
/* tio__os_open's work without the loop (any thread): 0 or the raw error;
 * refusals that are not one OS call's error have their own raw code (POSIX:
 * ENOTSUP for a filesystem that refuses direct I/O, EISDIR for a direct
 * open of a directory, EBUSY for a TIO_EXCLUSIVE file held elsewhere). */
int tio__os_open_raw(tio_file *f, const char *path, unsigned flags, unsigned mode);

/* error.c (POSIX) / win32/error.c: raw OS error -> kind and TIO_E* code. */
int tio__os_error_kind(int os_error);
int tio__os_error_map(int os_error);

/* cancel.c */
void tio__timers_expire_armed(tio_loop *loop);
/* Fire passed deadlines; the clock is read only when a deadline exists. */
static inline void tio__timers_expire(tio_loop *loop)
{
    if (loop->timers.count > 0)
        tio__timers_expire_armed(loop);
}
int64_t tio__timers_next_ns(tio_loop *loop, int64_t timeout_ns);
int64_t tio__deadline_after(int64_t now_ns, uint64_t ns); /* saturates at INT64_MAX */
void tio__task_cancel(tio_loop *loop, tio__task *t, bool timed_out);
void tio__deadline_set(tio_loop *loop, tio__task *t, int64_t deadline_ns);
void tio__deadline_clear(tio_loop *loop, tio__task *t);

/* error.c */
int tio__errno_map(int err);
int tio__fail(tio_loop *loop, int code, const char *fmt, ...)
#if defined(__MINGW32__)
    /* with __USE_MINGW_ANSI_STDIO (set by CMake): C99 formats like %zu */
    __attribute__((format(gnu_printf, 3, 4)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void tio__create_error_set(const char *msg);

/* file.c */
void tio__files_free(tio_loop *loop);

/* backend.c */
int tio__backend_select(tio_loop *loop, const tio_loop_config *cfg);
/* For unit tests: create a loop on a given backend table. */
int tio__loop_create_with(tio_loop **out, const tio_loop_config *cfg, const tio__backend *be);

/* Per-OS (src/posix, src/win32): monotonic clock and thread identity. */
int64_t tio__now_ns(void);
unsigned long tio__thread_id(void);

/* Per-OS file layer (src/posix/file.c, src/win32/file.c). */
int tio__os_open(tio_loop *loop, tio_file *f, const char *path, unsigned flags, unsigned mode);
int tio__os_wrap(tio_loop *loop, tio_file *f, tio_handle h, unsigned flags);
int tio__os_close(tio_file *f);
int tio__os_size(tio_file *f, uint64_t *size);

#if defined(TIO_DEBUG) && TIO_DEBUG
#  define TIO_ASSERT_OWNER(loop) TIO_ASSERT((loop)->owner == tio__thread_id())
#else
#  define TIO_ASSERT_OWNER(loop) ((void)0)
#endif

#include "common/task.h" /* inline state transitions */

#endif /* TIO_INTERNAL_H */
