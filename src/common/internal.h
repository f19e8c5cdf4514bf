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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(TIO_DEBUG) && TIO_DEBUG
#  define TIO_ASSERT(x) ((x) ? (void)0 : tio__assert_fail(#x, __FILE__, __LINE__))
#else
#  define TIO_ASSERT(x) ((void)0)
#endif
void tio__assert_fail(const char *expr, const char *file, int line);

#define TIO_CONTAINER_OF(ptr, type, field) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, field)))

/* ------------------------------------------------------------ task state */

/*
 * IDLE      not pending: may be submitted, freed, reused.
 * QUEUED    accepted, on loop->queued, not yet handed to the backend.
 * INFLIGHT  handed to the backend (the OS owns the buffer), or a sleep
 *           waiting in the timer heap.
 * DONE      result known, on loop->done; its callback runs on a later run.
 * Every transition is in task.c and task.h; backends only call
 * tio__task_finish and tio__task_requeue.
 */
enum tio__state { TIO__IDLE = 0, TIO__QUEUED, TIO__INFLIGHT, TIO__DONE };
enum tio__op { TIO__OP_NONE = 0, TIO__OP_READ, TIO__OP_WRITE, TIO__OP_FSYNC, TIO__OP_SLEEP };

/* The three-way submission result (DESIGN semantic 2) plus back-pressure:
 * BUSY means "no room right now, keep it queued and try on the next run". */
enum tio__start { TIO__PENDING = 0, TIO__COMPLETED, TIO__FAILED, TIO__BUSY };

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

struct tio__task {
    tio_loop *loop;
    tio_file *file;
    tio_cb cb;
    void *buf;
    uint64_t offset;
    tio__link link;          /* on exactly one loop list unless IDLE/sleeping */
    struct tio__list *on;    /* that list, or NULL */
    tio__heap_node timer;    /* in loop->timers iff has_deadline */
    int64_t deadline_ns;     /* monotonic; valid iff has_deadline */
    uint32_t len;            /* <= TIO_MAX_IO */
    uint32_t gen;            /* +1 on every completion: keys stale cancels out */
    uint32_t timer_seq;      /* tie-break: equal deadlines fire in arming order */
    int32_t os_error;        /* raw errno / GetLastError of the last failure */
    uint8_t state;           /* enum tio__state */
    uint8_t op;              /* enum tio__op */
    uint8_t has_deadline : 1;
    uint8_t cancel_requested : 1;
    uint8_t timed_out : 1;   /* the cancel came from a deadline */
    uint16_t op_flags;       /* TIO_FSYNC_DATA */
    uint64_t backend[TIO__BACKEND_WORDS]; /* the backend's own per-task state */
};

_Static_assert(sizeof(struct tio__task) <= sizeof(((tio_task *)0)->priv_),
               "task private state exceeds TIO_TASK_PRIVATE_WORDS");
_Static_assert(TIO_MAX_IO <= UINT32_MAX, "len is stored in 32 bits");

static inline tio__task *tio__priv(tio_task *t) { return (tio__task *)(void *)t->priv_; }
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
    n->prev = l->head.prev;
    n->next = &l->head;
    l->head.prev->next = n;
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

static inline bool tio__list_empty(const tio__list *l) { return l->head.next == &l->head; }
static inline tio__task *tio__task_of(tio__link *n) { return TIO_CONTAINER_OF(n, tio__task, link); }

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
 * What a backend implements. Every function runs on the loop's thread
 * except wake. Validation, task states, deadlines and cancellation rules
 * are the common code's; a backend only speaks to its OS.
 */
typedef struct tio__backend {
    const char *name;
    /* Set loop->backend_data; 0, TIO_ENOTSUP (refused: try the next one), TIO_ENOMEM. */
    int (*create)(tio_loop *loop, const tio_loop_config *cfg);
    /* Every task has completed when this runs. */
    void (*destroy)(tio_loop *loop);
    /* Start a read/write/fsync. Returns enum tio__start; on COMPLETED
     * *result is the byte count, on FAILED *result is a TIO_E* code and
     * *os_error the raw code. PENDING means tio__task_finish will follow. */
    int (*start)(tio_loop *loop, tio__task *t, int64_t *result, int *os_error);
    /* Ask the OS to stop an INFLIGHT task; its completion still arrives
     * through tio__task_finish (maybe with its real result). */
    void (*cancel)(tio_loop *loop, tio__task *t);
    /* Optional: cancel every INFLIGHT task of file at once (their
     * cancel_requested is already set). NULL: cancel is called per task. */
    void (*cancel_file)(tio_loop *loop, tio_file *file);
    /* True when start only stages the operation (an SQE not yet submitted)
     * and cancel can still take it back: the common code may then start a
     * task inside the submitting call instead of queueing it first. Under
     * tio_loop_config.submit_batch every backend's tasks start there. */
    bool start_in_submit;
    /* Hand started work to the OS and wait up to timeout_ns (0: poll,
     * TIO_FOREVER) for completions or a wake; report each completion with
     * tio__task_finish. Returns 0 or a TIO_E* code for a fatal failure. */
    int (*wait)(tio_loop *loop, int64_t timeout_ns);
    /* Thread-safe: make a concurrent or the next wait return. */
    void (*wake)(tio_loop *loop);
    /* Optional: bind a newly opened or wrapped file to the loop (IOCP
     * associates the handle with its port). 0 or a TIO_E* code. */
    int (*attach)(tio_loop *loop, tio_file *file);
    /* Optional: undo attach before the file closes (no task is pending). */
    void (*detach)(tio_loop *loop, tio_file *file);
    /* Optional: register buffers (count 0: unregister); nothing pending. */
    int (*register_buffers)(tio_loop *loop, const tio_buf *bufs, unsigned count);
} tio__backend;

/* --------------------------------------------------------------- the loop */

#define TIO__ERRMSG_SIZE 256

struct tio_loop {
    const tio__backend *backend;
    void *backend_data;
    tio__list queued;        /* QUEUED tasks, in submission order */
    tio__list inflight;      /* INFLIGHT tasks other than sleeps */
    tio__list done;          /* DONE tasks, in completion order */
    tio__heap timers;        /* tasks with a deadline (sleeps and timeouts) */
    unsigned pending;        /* tasks not IDLE */
    unsigned sleeping;       /* INFLIGHT sleep tasks (in timers, on no list) */
    unsigned queue_depth;
    unsigned budget;         /* callbacks per run */
    bool start_in_submit;    /* the backend's, or any backend under submit_batch */
    tio_file *file_list;     /* open tio_files */
    tio_file *closed_files;  /* closed ones, kept for reuse until destroy (via next) */
    int64_t now_ns;          /* monotonic clock, refreshed per run */
    uint32_t timer_seq;      /* next tio__task.timer_seq */
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
    unsigned long owner;     /* creating thread, for ownership assertions */
    char errmsg[TIO__ERRMSG_SIZE];
};

#define TIO__FILE_OPEN 0x7469666fu   /* "tifo" */
#define TIO__FILE_CLOSED 0x74696663u /* "tifc" */

struct tio_file {
    uint32_t magic;          /* TIO__FILE_OPEN, or TIO__FILE_CLOSED after close */
    tio_loop *loop;
    tio_handle handle;
    unsigned flags;          /* TIO_* open flags as given */
    size_t align_bytes;      /* 1 unless direct */
    unsigned pending;        /* tasks on this file not IDLE */
    bool direct;
    bool owned;              /* close the handle on tio_file_close */
    bool can_read, can_write;
    bool is_stream;          /* pipe/socket/tty: no offsets, reads may block for ever */
    int backend_index;       /* backend's own per-file slot (registered fd), -1 */
    unsigned backend_flags;  /* backend's own per-file bits */
    tio_file *next, *prev;   /* loop->file_list, closed by tio_loop_destroy */
};

static inline bool tio__file_is_open(const tio_file *f) { return f->magic == TIO__FILE_OPEN; }

/* ---------------------------------------------------------- common calls */

/* task.c: the state machine. */
void tio__task_enqueue(tio_loop *loop, tio__task *t);     /* IDLE -> QUEUED */
void tio__task_requeue(tio__task *t);                      /* INFLIGHT -> QUEUED (transient) */
int tio__start_queued(tio_loop *loop);
unsigned tio__run_callbacks(tio_loop *loop);

/* cancel.c */
void tio__timers_expire(tio_loop *loop);
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

/* Per-OS file layer (src/linux/file.c, src/win32/file.c). */
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
