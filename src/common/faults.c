/* SPDX-License-Identifier: MIT */
/*
 * Fault injection at the backend seam, compiled only into the test variant
 * of the library (CMake target taskio_faults, TIO_FAULTS=1).
 *
 * The loop's backend table is wrapped: with a seeded schedule, a start
 * reports FAILED with an OS error without reaching the OS, or BUSY; reaches
 * the OS with a shortened length (a short transfer, which the common code
 * must continue); or is finished by the OS before submit returns (the
 * synchronous COMPLETED/FAILED path, which Wine never takes for files). A
 * wait is interrupted or fails at once. A completion reads EAGAIN/EINTR (the
 * transfer is simply done again: same bytes, same offset). Raw completions
 * reach the wrapper through the one hook in tio__task_complete. The
 * invariants a test then checks are DESIGN's: exactly one callback,
 * acknowledged data intact, transients invisible.
 */
#include "common/faults.h"

#if defined(TIO_FAULTS) && TIO_FAULTS

#  include <errno.h>
#  include <stdlib.h>

/* A start whose length was cut, or that runs synchronously. */
typedef struct marked {
    tio__task *t;
    uint32_t len;       /* the length before the cut */
    bool sync, arrived; /* a synchronous start, and its outcome is in */
    bool fake;          /* never given to the OS: completes with EAGAIN/EINTR */
    int64_t bytes;
    int os_error;
} marked;

typedef struct tio__faults {
    const tio__backend *real;
    tio__backend wrapper;
    uint64_t rng;
    unsigned permille[TIO__FAULT_KINDS];
    uint64_t hits[TIO__FAULT_KINDS];
    marked *marks;
    unsigned nmarks, cap;
    bool woken; /* a wake consumed while waiting for a synchronous start */
} tio__faults;

static uint64_t next_random(tio__faults *f)
{
    /* xorshift64*: deterministic per seed, so a failing seed replays. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * UINT64_C(2685821657736338717);
}

static bool roll(tio__faults *f, int kind)
{
    if (f->permille[kind] == 0 || next_random(f) % 1000 >= f->permille[kind])
        return false;
    f->hits[kind]++;
    return true;
}

/* OS errors an injected failure reports, as each OS spells them. */
#  ifdef _WIN32
/* ERROR_IO_DEVICE, ERROR_DISK_FULL, ERROR_FILE_TOO_LARGE; ERROR_INVALID_USER_BUFFER */
static const int injected_errors[] = {1117, 112, 1117, 223};
static const int transient_errors[] = {1784, 1784};
#    define RAW_CANCELED 995 /* ERROR_OPERATION_ABORTED */
#  else
static const int injected_errors[] = {EIO, ENOSPC, EIO, EFBIG};
static const int transient_errors[] = {EAGAIN, EINTR};
#    define RAW_CANCELED ECANCELED
#  endif

static marked *find_mark(tio__faults *f, const tio__task *t)
{
    for (unsigned i = 0; i < f->nmarks; i++)
        if (f->marks[i].t == t)
            return &f->marks[i];
    return NULL;
}

static marked *add_mark(tio__faults *f, tio__task *t)
{
    if (f->nmarks == f->cap) {
        unsigned cap = f->cap ? 2 * f->cap : 64;
        marked *m = realloc(f->marks, cap * sizeof *m);
        if (m == NULL)
            return NULL;
        f->marks = m;
        f->cap = cap;
    }
    marked *m = &f->marks[f->nmarks++];
    *m = (marked){t, t->len, false, false, false, 0, 0};
    return m;
}

static void drop_mark(tio__faults *f, marked *m)
{
    *m = f->marks[--f->nmarks];
}

/* The hook in tio__task_complete. False when the wrapper keeps the outcome
 * (a synchronous start reports it from submit). */
bool tio__faults_complete(tio__task *t, int64_t *bytes, int *os_error)
{
    tio__faults *f = t->loop->faults;
    marked *m = find_mark(f, t);
    if (m != NULL) {
        t->len = m->len; /* a cut transfer: the rest is the common code's to continue */
        if (m->sync) {
            m->arrived = true;
            m->bytes = *bytes;
            m->os_error = *os_error;
            return false;
        }
        drop_mark(f, m);
    }
    return true;
}

/* The fake completions (TIO__FAULT_CQE_AGAIN): the OS did nothing, and
 * says so with a transient error, as XFS (EAGAIN) or a signal (EINTR) can. */
static unsigned complete_fakes(tio__faults *f)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nmarks;) {
        if (!f->marks[i].fake) {
            i++;
            continue;
        }
        tio__task *t = f->marks[i].t;
        drop_mark(f, &f->marks[i]);
        tio__task_complete(t, 0, transient_errors[t->gen & 1]);
        n++;
    }
    return n;
}

static void faulty_cancel(tio_loop *loop, tio__task *t)
{
    tio__faults *f = loop->faults;
    marked *m = find_mark(f, t);
    if (m != NULL && m->fake) {
        drop_mark(f, m);
        tio__task_complete(t, 0, RAW_CANCELED);
        return;
    }
    f->real->cancel(loop, t);
}

/* Start t on the real backend and wait until the OS has finished it. */
static uint8_t run_sync(tio_loop *loop, tio__faults *f, tio__task *t, tio__sync *s)
{
    marked *m = add_mark(f, t);
    uint8_t out;
    if (m != NULL)
        m->sync = true;
    if (m == NULL || f->real->submit(loop, &t, 1, TIO__SUBMIT_NOW, &out, s) == 0) {
        if (m != NULL)
            drop_mark(f, find_mark(f, t));
        return TIO__BUSY;
    }
    if (out != TIO__PENDING) {
        drop_mark(f, find_mark(f, t));
        return out;
    }
    while (!(m = find_mark(f, t))->arrived)
        if (f->real->wait(loop, TIO_FOREVER) == TIO__WOKEN)
            f->woken = true;
    s->bytes = m->bytes;
    s->os_error = m->os_error;
    drop_mark(f, m);
    return s->os_error ? TIO__FAILED : TIO__COMPLETED;
}

static unsigned faulty_submit(tio_loop *loop, tio__task *const *tasks, unsigned n, unsigned flags,
                              uint8_t *out, tio__sync *sync)
{
    tio__faults *f = loop->faults;
    unsigned i = 0;
    while (i < n) {
        tio__task *t = tasks[i];
        bool file_io = !(t->flags & TIO__TF_STREAM) &&
                       (t->op == TIO__OP_READ || t->op == TIO__OP_WRITE);
        TIO_ASSERT(find_mark(f, t) == NULL || find_mark(f, t)->fake == false);
        if (roll(f, TIO__FAULT_START_BUSY))
            return i;
        if (roll(f, TIO__FAULT_START_FAILED)) {
            out[i] = TIO__FAILED;
            sync[i].os_error = injected_errors[next_random(f) % 4];
            i++;
            continue;
        }
        if (file_io && t->len > t->file->align_bytes && roll(f, TIO__FAULT_SHORT)) {
            /* The OS moves an aligned prefix; the hook restores the length. */
            marked *m = add_mark(f, t);
            if (m == NULL)
                return i;
            uint32_t a = (uint32_t)t->file->align_bytes;
            t->len = (uint32_t)(1 + next_random(f) % (t->len / a - 1)) * a;
        }
        if (file_io && find_mark(f, t) == NULL && roll(f, TIO__FAULT_CQE_AGAIN)) {
            marked *m = add_mark(f, t);
            if (m == NULL)
                return i;
            m->fake = true;
            out[i++] = TIO__PENDING;
            continue;
        }
        if (file_io && find_mark(f, t) == NULL && roll(f, TIO__FAULT_SYNC)) {
            out[i] = run_sync(loop, f, t, &sync[i]);
            if (out[i] == TIO__BUSY)
                return i;
            i++;
            continue;
        }
        /* With no per-start fault armed, the rest goes to the OS as one
         * batch; otherwise each start gets its own roll. */
        bool rolls = f->permille[TIO__FAULT_START_BUSY] | f->permille[TIO__FAULT_START_FAILED] |
                     f->permille[TIO__FAULT_SHORT] | f->permille[TIO__FAULT_SYNC];
        unsigned j = rolls ? i + 1 : n;
        unsigned want = j - i;
        unsigned taken = f->real->submit(loop, tasks + i, want, flags, out + i, sync + i);
        /* Refused (BUSY), or failed at once (no completion will pass the
         * hook): uncut, as they were. */
        for (unsigned k = i; k < j; k++) {
            marked *m = find_mark(f, tasks[k]);
            if (m != NULL && (k >= i + taken || out[k] == TIO__FAILED)) {
                tasks[k]->len = m->len;
                drop_mark(f, m);
            }
        }
        i += taken;
        if (taken < want)
            return i;
    }
    return n;
}

/* The loop's one task done now (tio__backend.start_now): the start
 * faults of a submit, the short transfer cut for the one call. */
static uint8_t faulty_start_now(tio_loop *loop, tio__task *t, unsigned how, tio__sync *s)
{
    tio__faults *f = loop->faults;
    s->os_error = 0;
    if (roll(f, TIO__FAULT_START_BUSY))
        return TIO__BUSY;
    if (roll(f, TIO__FAULT_START_FAILED)) {
        s->os_error = injected_errors[next_random(f) % 4];
        return TIO__FAILED;
    }
    uint32_t len = t->len;
    bool file_io = t->op == TIO__OP_READ || t->op == TIO__OP_WRITE;
    if (file_io && t->len > t->file->align_bytes && roll(f, TIO__FAULT_SHORT)) {
        uint32_t a = (uint32_t)t->file->align_bytes;
        t->len = (uint32_t)(1 + next_random(f) % (t->len / a - 1)) * a;
    }
    uint8_t out = f->real->start_now(loop, t, how, s);
    t->len = len;
    return out;
}

static int faulty_wait(tio_loop *loop, int64_t timeout_ns)
{
    tio__faults *f = loop->faults;
    if (f->woken) {
        f->woken = false;
        return TIO__WOKEN;
    }
    bool fakes = false;
    for (unsigned i = 0; i < f->nmarks && !fakes; i++)
        fakes = f->marks[i].fake;
    if (fakes)
        timeout_ns = 0; /* their completions are due now */
    if (timeout_ns != 0 && roll(f, TIO__FAULT_ENTER))
        return 0; /* as if the system call said EINTR at once */
    if (timeout_ns != 0 && roll(f, TIO__FAULT_WAIT_EINTR))
        timeout_ns = 0;
    int rc = f->real->wait(loop, timeout_ns);
    complete_fakes(f);
    return rc;
}

int tio__faults_enable(tio_loop *loop, uint64_t seed, const unsigned permille[TIO__FAULT_KINDS])
{
    TIO_ASSERT(loop->pending == 0);
    tio__faults *f = loop->faults;
    if (f == NULL) {
        if ((f = calloc(1, sizeof *f)) == NULL)
            return TIO_ENOMEM;
        f->real = loop->backend;
        f->wrapper = *loop->backend;
        f->wrapper.submit = faulty_submit;
        f->wrapper.wait = faulty_wait;
        f->wrapper.cancel = faulty_cancel;
        f->wrapper.submit_wait = NULL; /* every start and wait through the two above */
        f->wrapper.submit_single = NULL;
        if (f->real->start_now != NULL)
            f->wrapper.start_now = faulty_start_now;
        loop->faults = f;
        tio__loop_set_backend(loop, &f->wrapper);
    }
    f->rng = seed ? seed : 1;
    for (int k = 0; k < TIO__FAULT_KINDS; k++) {
        f->permille[k] = permille[k];
        f->hits[k] = 0;
    }
    return 0;
}

uint64_t tio__faults_hits(const tio_loop *loop, int kind)
{
    return loop->faults ? loop->faults->hits[kind] : 0;
}

void tio__faults_free(tio_loop *loop)
{
    if (loop->faults == NULL)
        return;
    tio__loop_set_backend(loop, loop->faults->real);
    free(loop->faults->marks);
    free(loop->faults);
    loop->faults = NULL;
}

#endif /* TIO_FAULTS */
