/* The io_uring backend's state, shared by uring.c and uring_fixed.c. */
#ifndef TIO_URING_H
#define TIO_URING_H

#include "common/internal.h"

#include <liburing.h>

typedef struct uring_buf {
    uintptr_t base, end; /* [base, end) */
    unsigned index;      /* io_uring buffer index */
} uring_buf;

typedef struct uring {
    struct io_uring ring;
    int wake_fd;             /* eventfd: the only thing other threads touch */
    uint64_t wake_buf;       /* target of the armed eventfd read */
    bool wake_armed;
    bool cancel_fd_ok;       /* IORING_ASYNC_CANCEL_FD (Linux 5.19) */
    unsigned inflight;       /* operation SQEs the kernel still owes a CQE */
    unsigned cap;            /* at most this many in flight: CQ stays unflooded */
    unsigned deferred;       /* tasks with F_CANCEL_DEFERRED */
    bool may_flush;          /* inside the wait, or always under submit_batch:
                                a full SQ may be flushed */
    unsigned submit_batch;   /* tio_loop_config.submit_batch: flush at this many staged */
    bool general_start;      /* a start needs more than an SQE: tio__uring_update_start */
    /* registered files (sparse table) */
    int *free_slots;         /* stack of free file-table slots */
    unsigned nfree, nslots;
    /* registered buffers, sorted by base */
    uring_buf *bufs;
    unsigned nbufs;
} uring;

/* Whether starts take the general path (registered buffers to look up,
 * submit_batch to honour, faults to inject): after any of those changes. */
void tio__uring_update_start(tio_loop *loop);

/* uring_fixed.c */
void tio__uring_fixed_init(uring *u);
void tio__uring_fixed_free(uring *u);
int tio__uring_attach(tio_loop *loop, tio_file *f);
void tio__uring_detach(tio_loop *loop, tio_file *f);
int tio__uring_register_buffers(tio_loop *loop, const tio_buf *bufs, unsigned count);
/* The registered buffer holding [p, p+len), or -1. */
int tio__uring_buffer_index(const uring *u, const void *p, size_t len);

#endif
