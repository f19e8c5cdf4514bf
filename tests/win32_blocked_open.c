/* SPDX-License-Identifier: MIT */
/*
 * A tio_open that Windows blocks is interrupted by its deadline and by
 * tio_cancel (semantic 8: CreateFileW runs on a helper thread, and the
 * cancel reaches it with CancelSynchronousIo).
 *
 * What blocks: a UNC path to an unroutable host (192.0.2.1, TEST-NET-1,
 * RFC 5737). The SMB redirector waits for its TCP connection to time out,
 * about 20 s on a default Windows install, inside CreateFileW. Interrupted,
 * the open reports TIO_ETIMEDOUT (or TIO_ECANCELED) within a second or two.
 *
 * Where nothing blocks (the open fails at once: Wine, whose wineserver
 * resolves the path and answers without any network wait; a machine with
 * no SMB client), the test exits 77 with the reason: it then shows
 * nothing. A result after the full network timeout, or none at all, fails.
 *
 *   win32_blocked_open
 */
#include <taskio.h>

#include <stdio.h>
#include <stdlib.h>

#include "tio_util.h"

#define UNREACHABLE "\\\\192.0.2.1\\tio-test\\blocked.dat"

static int g_calls;

static void on_open(tio_task *t, int64_t r)
{
    (void)t;
    (void)r;
    g_calls++;
}

/* One open of UNREACHABLE, ended by `how`: 0 a 300 ms deadline, 1 a
 * tio_cancel after 300 ms. Returns the result; *ms the time it took. */
static int64_t blocked_open(tio_loop *loop, int how, int64_t *ms)
{
    tio_task t = TIO_TASK_INIT;
    tio_file *f = NULL;
    int64_t t0 = now_ns();
    int rc = tio_open(loop, &t, &f, UNREACHABLE, TIO_RDWR, 0, on_open);
    if (rc != 0) {
        fprintf(stderr, "win32_blocked_open: tio_open: %s: %s\n", tio_strerror(rc),
                tio_last_error(loop));
        exit(1);
    }
    if (how == 0) {
        tio_timeout(loop, &t, 300 * MS);
    } else {
        /* Runs for 300 ms unless the open ends first. */
        if (tio_run(loop, 300 * MS) == 0)
            tio_cancel(loop, &t);
    }
    int64_t r = tio_wait(loop, &t, 60 * SEC);
    *ms = (now_ns() - t0) / MS;
    if (r == 0)
        tio_file_close(f);
    return r;
}

int main(void)
{
    tio_loop *loop = NULL;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = create_loop_or_skip(&loop, &cfg, "win32_blocked_open");
    if (rc != 0)
        return rc;
    int failures = 0;
    for (int how = 0; how < 2; how++) {
        int64_t ms;
        int64_t r = blocked_open(loop, how, &ms);
        int64_t want = how == 0 ? TIO_ETIMEDOUT : TIO_ECANCELED;
        if (r != want && ms < 300) {
            printf("SKIP: CreateFileW(%s) ended at once (%s, %lld ms): nothing here blocks an "
                   "open, so there is nothing to interrupt (under Wine the wineserver "
                   "answers without a network wait)\n",
                   UNREACHABLE, r < 0 ? tio_strerror((int)r) : "opened", (long long)ms);
            tio_loop_destroy(loop);
            return 77;
        }
        if (r != want || ms > 5000) {
            fprintf(stderr,
                    "win32_blocked_open: %s: result %lld (%s) after %lld ms; want %s within "
                    "5 s (a blocked CreateFileW interrupted)\n",
                    how == 0 ? "deadline" : "tio_cancel", (long long)r,
                    r < 0 ? tio_strerror((int)r) : "bytes", (long long)ms, tio_strerror((int)want));
            failures++;
        } else {
            printf("win32_blocked_open: %s interrupted the blocked open after %lld ms\n",
                   how == 0 ? "a 300 ms deadline" : "tio_cancel at 300 ms", (long long)ms);
        }
    }
    if (g_calls != 2) {
        fprintf(stderr, "win32_blocked_open: %d callbacks for 2 opens\n", g_calls);
        failures++;
    }
    tio_loop_destroy(loop);
    return failures ? 1 : 0;
}
