/* SPDX-License-Identifier: MIT */
/* The io_uring backend's state, shared by uring.c and uring_fixed.c. */
#ifndef TIO_URING_H
#define TIO_URING_H

#include "common/internal.h"

#include <stdatomic.h>

#include <liburing.h>

typedef struct uring_buf {
    uintptr_t base, end; /* [base, end) */
    unsigned index;      /* io_uring buffer index */
} uring_buf;

typedef struct uring {
    struct io_uring ring;
    int wake_fd;       /* eventfd: the only thing other threads touch */
    uint64_t wake_buf; /* target of the armed eventfd read */
    bool wake_armed;
    unsigned inflight;      /* operation SQEs the kernel still owes a CQE (debug builds) */
    unsigned signal_writes; /* of those, writes that may raise SIGPIPE (on a pipe or
                               socket) or SIGXFSZ (RLIMIT_FSIZE finite when started) */
    bool fsize_limited;     /* RLIMIT_FSIZE is finite: SIGXFSZ is possible */
    unsigned deferred;      /* tasks whose cancel waits for an SQE */
    /* The common cases in one test each (uring.c keeps them current):
     * calm: no deferred cancel, no write that may raise a signal, the wake
     * armed (an enter needs nothing before or after it); plain_io: no
     * registered buffers and RLIMIT_FSIZE infinite (a one-buffer read or
     * write on a file needs neither a buffer lookup nor signal counting). */
    bool calm, plain_io;
    /* the engine operations' helper threads (started on first use); they
     * write wake_fd too, so tio_wake counts itself in user_wakes */
    struct tio__helper *helper;
    _Atomic unsigned user_wakes;
    unsigned native_ops; /* 1 << TIO__OP_*: engine operations this kernel's ring runs */
    /* registered files (sparse table) */
    int *free_slots; /* stack of free file-table slots */
    unsigned nfree, nslots;
    /* registered buffers, sorted by base */
    uring_buf *bufs;
    unsigned nbufs;
} uring;

/* uring.c: whether writes can raise SIGXFSZ (read at create and attach);
 * plain_io again after it or the registered buffers changed. */
void tio__uring_read_fsize_limit(uring *u);
void tio__uring_update_plain(uring *u);

/* uring_fixed.c */
void tio__uring_fixed_init(uring *u);
void tio__uring_fixed_free(uring *u);
int tio__uring_attach(tio_loop *loop, tio_file *f);
void tio__uring_detach(tio_loop *loop, tio_file *f);
void tio__uring_register_buffers(tio_loop *loop, const tio_buf *bufs, unsigned count);
/* The registered buffer holding [p, p+len), or -1. */
int tio__uring_buffer_index(const uring *u, const void *p, size_t len);

#endif
