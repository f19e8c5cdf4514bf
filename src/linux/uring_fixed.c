/* SPDX-License-Identifier: MIT */
/*
 * io_uring's registered resources, each saving work the kernel would
 * otherwise do per operation:
 *  - the ring fd (io_uring_register_ring_fd, 5.18): no fdget/fdput per enter;
 *  - files (a sparse fixed-file table, 5.19): no fget/fput per SQE;
 *  - buffers (tio_register_buffers): pages pinned once, not per I/O.
 * Each is an optimisation only: where the kernel refuses one, the backend
 * carries on with plain descriptors and buffers.
 */
#include "linux/uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define FIXED_FILES 256u

void tio__uring_fixed_init(uring *u)
{
    /* Failure just leaves the ring fd unregistered. */
    (void)io_uring_register_ring_fd(&u->ring);
    u->free_slots = malloc(FIXED_FILES * sizeof *u->free_slots);
    if (u->free_slots == NULL)
        return;
    if (io_uring_register_files_sparse(&u->ring, FIXED_FILES) != 0) {
        free(u->free_slots);
        u->free_slots = NULL;
        return;
    }
    u->nslots = FIXED_FILES;
    for (unsigned i = 0; i < FIXED_FILES; i++)
        u->free_slots[u->nfree++] = (int)(FIXED_FILES - 1 - i);
}

void tio__uring_fixed_free(uring *u)
{
    free(u->free_slots);
    free(u->bufs);
    u->free_slots = NULL;
    u->bufs = NULL;
}

/* An attached file's backend_index is what its SQEs name: its slot in the
 * fixed-file table when backend_flags has IOSQE_FIXED_FILE (the flags its
 * SQEs carry), else its own descriptor. */
int tio__uring_attach(tio_loop *loop, tio_file *f)
{
    uring *u = loop->backend_data;
    tio__uring_read_fsize_limit(u); /* the program may have changed it since */
    f->backend_index = f->handle;
    f->backend_flags = 0;
    if (u->nfree == 0)
        return 0; /* table full or unsupported: plain descriptor */
    int slot = u->free_slots[u->nfree - 1];
    int fd = f->handle;
    if (io_uring_register_files_update(&u->ring, (unsigned)slot, &fd, 1) != 1)
        return 0;
    u->nfree--;
    f->backend_index = slot;
    f->backend_flags = IOSQE_FIXED_FILE;
    return 0;
}

void tio__uring_detach(tio_loop *loop, tio_file *f)
{
    uring *u = loop->backend_data;
    if (!(f->backend_flags & IOSQE_FIXED_FILE))
        return;
    int none = -1;
    /* The slot drops its file reference; requests still holding it keep it
     * (none are pending: close refuses while tasks are). */
    (void)io_uring_register_files_update(&u->ring, (unsigned)f->backend_index, &none, 1);
    TIO_ASSERT(u->nfree < u->nslots);
    u->free_slots[u->nfree++] = f->backend_index;
    f->backend_index = -1;
    f->backend_flags = 0;
}

static int by_base(const void *a, const void *b)
{
    const uring_buf *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* Pinning is an optimisation: where the kernel refuses it (ENOMEM under
 * RLIMIT_MEMLOCK, whose limit pinned pages count against; EFAULT for
 * read-only or unmapped memory, which io_uring pins for writing; EOVERFLOW),
 * the buffers simply stay unregistered and I/O on them works as on any
 * other memory, as on every other backend. */
static void register_buffers(uring *u, const tio_buf *bufs, unsigned count)
{
    if (u->nbufs > 0) {
        io_uring_unregister_buffers(&u->ring);
        free(u->bufs);
        u->bufs = NULL;
        u->nbufs = 0;
    }
    if (count == 0)
        return;
    struct iovec *iov = malloc(count * sizeof *iov);
    uring_buf *table = malloc(count * sizeof *table);
    if (iov == NULL || table == NULL) {
        free(iov);
        free(table);
        return;
    }
    for (unsigned i = 0; i < count; i++) {
        iov[i].iov_base = bufs[i].base;
        iov[i].iov_len = bufs[i].len;
        table[i].base = (uintptr_t)bufs[i].base;
        table[i].end = (uintptr_t)bufs[i].base + bufs[i].len;
        table[i].index = i;
    }
    int rc = io_uring_register_buffers(&u->ring, iov, count);
    free(iov);
    if (rc < 0) {
        free(table);
        return;
    }
    qsort(table, count, sizeof *table, by_base);
    u->bufs = table;
    u->nbufs = count;
}

void tio__uring_register_buffers(tio_loop *loop, const tio_buf *bufs, unsigned count)
{
    uring *u = loop->backend_data;
    register_buffers(u, bufs, count);
    tio__uring_update_plain(u);
}

int tio__uring_buffer_index(const uring *u, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    unsigned lo = 0, hi = u->nbufs;
    while (lo < hi) { /* the last buffer whose base <= a */
        unsigned mid = (lo + hi) / 2;
        if (u->bufs[mid].base <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const uring_buf *b = &u->bufs[lo - 1];
    return a + len <= b->end ? (int)b->index : -1;
}
