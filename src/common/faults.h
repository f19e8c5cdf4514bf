/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (faults.c), compiled only into the test variant of the
 * library. It wraps the backend table, and sees raw completions through the
 * one hook in tio__task_complete; no backend knows about it. In the
 * production library TIO_FAULTS is undefined and the hooks vanish.
 */
#ifndef TIO_FAULTS_H
#define TIO_FAULTS_H

#include "common/internal.h"

enum {
    TIO__FAULT_START_FAILED = 0, /* start: immediate failure with an OS error */
    TIO__FAULT_START_BUSY,       /* start: no room now (full SQ, ENOMEM) */
    TIO__FAULT_SHORT,            /* start: the OS moves only a prefix */
    TIO__FAULT_WAIT_EINTR,       /* wait: interrupted, returns with what is ready */
    TIO__FAULT_ENTER,            /* wait: the system call fails at once (EINTR, EAGAIN) */
    TIO__FAULT_CQE_AGAIN,        /* completion: EAGAIN/EINTR, to be retried */
    TIO__FAULT_SYNC,             /* start: the OS finishes it at once (COMPLETED/FAILED) */
    TIO__FAULT_KINDS
};

#if defined(TIO_FAULTS) && TIO_FAULTS
int tio__faults_enable(tio_loop *loop, uint64_t seed, const unsigned permille[TIO__FAULT_KINDS]);
uint64_t tio__faults_hits(const tio_loop *loop, int kind);
void tio__faults_free(tio_loop *loop);
#else
static inline void tio__faults_free(tio_loop *loop)
{
    (void)loop;
}
#endif

#endif
