/*
 * Fault injection at the backend boundary, compiled only into the test
 * variant of the library (CMake target taskio_faults, TIO_FAULTS=1).
 *
 * With a seeded schedule, a start reports FAILED with a chosen OS error
 * without reaching the OS, reports BUSY (a full SQ, ENOMEM on submit), or
 * reaches the OS with a shortened length (a short transfer); a backend wait
 * returns at once as if interrupted; and backends consult tio__fault() at
 * their own transient points (io_uring: EINTR/EAGAIN/EBUSY from enter,
 * -EAGAIN/-EINTR CQEs). The invariants a test then checks are DESIGN's:
 * exactly one callback, acknowledged data intact, transients invisible.
 */
#include "common/faults.h"

#if defined(TIO_FAULTS) && TIO_FAULTS

#include <errno.h>
#include <stdlib.h>

typedef struct tio__faults {
    const tio__backend *real;
    tio__backend wrapper;
    uint64_t rng;
    unsigned permille[TIO__FAULT_KINDS];
    uint64_t hits[TIO__FAULT_KINDS];
} tio__faults;

static uint64_t next_random(tio__faults *f)
{
    /* xorshift64*: deterministic per seed, so a failing seed replays. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * UINT64_C(2685821657736338717);
}

bool tio__fault(tio_loop *loop, int kind)
{
    tio__faults *f = loop->faults;
    if (f == NULL || f->permille[kind] == 0)
        return false;
    if (next_random(f) % 1000 >= f->permille[kind])
        return false;
    f->hits[kind]++;
    return true;
}

/* OS errors an injected immediate failure reports, as the OS would. */
static const int injected_errors[] = {EIO, ENOSPC, EIO, EFBIG};

static int faulty_start(tio_loop *loop, tio__task *t, int64_t *result, int *os_error)
{
    tio__faults *f = loop->faults;
    if (tio__fault(loop, TIO__FAULT_START_BUSY))
        return TIO__BUSY;
    if (tio__fault(loop, TIO__FAULT_START_FAILED)) {
        int err = injected_errors[next_random(f) % (sizeof injected_errors / sizeof injected_errors[0])];
        *os_error = err;
        *result = tio__errno_map(err);
        return TIO__FAILED;
    }
    /* A short transfer on a regular file: the OS moves a prefix, aligned
     * as the file requires, and the result says how much. */
    if (t->op != TIO__OP_FSYNC && !t->file->is_stream && t->len > t->file->align_bytes &&
        tio__fault(loop, TIO__FAULT_SHORT)) {
        uint32_t a = (uint32_t)t->file->align_bytes;
        uint32_t units = t->len / a;
        t->len = (uint32_t)(1 + next_random(f) % (units - 1)) * a;
    }
    return f->real->start(loop, t, result, os_error);
}

static int faulty_wait(tio_loop *loop, int64_t timeout_ns)
{
    tio__faults *f = loop->faults;
    /* An interrupted wait: back at once, with whatever is ready. */
    if (timeout_ns != 0 && tio__fault(loop, TIO__FAULT_WAIT_EINTR))
        timeout_ns = 0;
    return f->real->wait(loop, timeout_ns);
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
        f->wrapper.start = faulty_start;
        f->wrapper.wait = faulty_wait;
        loop->faults = f;
        loop->backend = &f->wrapper;
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
    loop->backend = loop->faults->real;
    free(loop->faults);
    loop->faults = NULL;
}

#endif /* TIO_FAULTS */
