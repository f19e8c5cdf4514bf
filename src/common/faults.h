/*
 * Fault injection hooks (faults.c). In the production library TIO_FAULTS is
 * undefined and every hook is a constant false the compiler removes.
 */
#ifndef TIO_FAULTS_H
#define TIO_FAULTS_H

#include "common/internal.h"

enum {
    TIO__FAULT_START_FAILED = 0, /* start: immediate failure with an OS error */
    TIO__FAULT_START_BUSY,       /* start: no room now (full SQ, ENOMEM) */
    TIO__FAULT_SHORT,            /* start: a shorter transfer than asked */
    TIO__FAULT_WAIT_EINTR,       /* wait: interrupted, returns at once */
    TIO__FAULT_ENTER,            /* io_uring_enter: EINTR/EAGAIN/EBUSY */
    TIO__FAULT_CQE_AGAIN,        /* io_uring CQE: -EAGAIN/-EINTR, nothing done */
    TIO__FAULT_SYNC,             /* start: the OS finishes it at once (iocp, threads) */
    TIO__FAULT_KINDS
};

#if defined(TIO_FAULTS) && TIO_FAULTS
#define TIO__FAULTS_BUILT 1 /* hooks live: a backend's shortcuts that skip them are off */
bool tio__fault(tio_loop *loop, int kind);
int tio__faults_enable(tio_loop *loop, uint64_t seed, const unsigned permille[TIO__FAULT_KINDS]);
uint64_t tio__faults_hits(const tio_loop *loop, int kind);
void tio__faults_free(tio_loop *loop);
#else
#define TIO__FAULTS_BUILT 0
static inline bool tio__fault(tio_loop *loop, int kind)
{
    (void)loop;
    (void)kind;
    return false;
}
static inline void tio__faults_free(tio_loop *loop) { (void)loop; }
#endif

#endif
