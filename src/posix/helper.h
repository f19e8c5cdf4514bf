/* SPDX-License-Identifier: MIT */
/*
 * Helper threads for the operations POSIX offers only as blocking calls
 * (the engine operations: open, close, allocate, truncate, rename, unlink,
 * stat), shared by the io_uring and threads backends so that both run
 * them the same way. Threads start on first use, one more whenever all are
 * busy (an open of a FIFO may wait for ever for its peer and must not hold
 * up a rename), up to a fixed number.
 *
 * The loop thread starts and cancels; a helper runs tio__os_engine_run and
 * queues the raw outcome, then calls notify (from the helper thread) so the
 * backend's wait returns; the loop thread reports queued outcomes with
 * tio__helper_reap. A cancelled operation no helper has begun is reported
 * as cancelled at once; one running reports its real result.
 */
#ifndef TIO_POSIX_HELPER_H
#define TIO_POSIX_HELPER_H

#include "common/internal.h"

typedef struct tio__helper tio__helper;

/* NULL when out of memory. notify(arg) must be safe from any thread. */
tio__helper *tio__helper_create(void (*notify)(void *arg), void *arg);
/* Every task started has been reaped. NULL is a no-op. */
void tio__helper_destroy(tio__helper *h);
/* Queue t: 0, or an errno when no thread could be started (t not queued). */
int tio__helper_start(tio__helper *h, tio__task *t);
void tio__helper_cancel(tio__helper *h, tio__task *t);
/* Report every finished task to the common code (loop thread only). */
void tio__helper_reap(tio__helper *h);

#endif
