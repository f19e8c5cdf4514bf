/* SPDX-License-Identifier: MIT */
/*
 * The adaptive default's one learned choice (task.c has the policy): hand
 * each start to the OS at once, from the starting call, or hand a run's
 * starts over together in the system call that waits.
 *
 * Which is faster is a property of the device and of how busy the loop's
 * thread is, and it changes with both. Measured on one virtio disk, 4 KiB
 * direct random reads at QD 32, the same build on different days:
 * batched, 2.1x the rate of one submission per start (the host answered
 * fast and the CPU was the limit: an extra system call per operation
 * costs more than it saves); and 0.87x (the device was the limit, and a
 * batch reached it later than starts handed over one by one). So the
 * loop measures instead of guessing. It counts completions in epochs of
 * TIO__ADAPT_EPOCH, reading the clock once per epoch, and the last three
 * epochs of each cycle are: one in the current mode, a probe in the other
 * mode, one in the current mode again. The probe's rate is compared with
 * the mean rate of the two around it, which cancels a steady drift of the
 * device. A probe more than TIO__ADAPT_MARGIN_PCT faster is a vote to
 * switch, one as much slower a vote to stay, and the mode changes at
 * TIO__ADAPT_VOTES net votes, or sooner on the pooled evidence: after
 * TIO__ADAPT_VOTES probes with more votes for than against, when all the
 * probe epochs together ran faster than all the epochs around them by the
 * margin. An epoch is a few milliseconds, and on a shared virtual disk
 * single epochs swing by a fifth: measured on one, 4 KiB direct reads at
 * QD 32, where handing starts over at once was about 15 % faster, votes
 * alternated for and against and the loop stayed batched for a whole
 * 1.3 s run. The pool keeps only the last TIO__ADAPT_POOL probes' weight,
 * so that old verdicts do not outlive a change of the device, and a switch
 * spends it. A cycle lasts TIO__ADAPT_CYCLE_MIN epochs
 * while probes favour switching and grows after each that does not, up to
 * TIO__ADAPT_CYCLE_MAX times as many epochs as the probe's mode was times
 * slower (next_cycle). A probe in a mode s times slower costs about s - 1
 * epochs, and s can be large: at QD 128, where the device answered 180k
 * 4 KiB direct reads a second batched, handing each over at once reached
 * 74k (2.4x slower; tio-bench's liburing loop that submits each read at
 * once, 3.4x slower than its batched loop in the same sweep), so one
 * probe in 64 epochs cost the default a few per cent of its rate, more in
 * a short run's first, shorter cycles (against the batched liburing loop
 * there, 10 interleaved rounds: 0.991x, and 1.068x scaled). Scaled, the
 * probes take at most about one epoch in 64 of the time. A rate that only
 * reflects how fast the program offers work (the same in both modes)
 * never collects votes, and the loop stays batched, the mode with the
 * fewest system calls.
 */
#include "common/internal.h"

#include <limits.h>

#define TIO__ADAPT_CYCLE_MIN 8u
#define TIO__ADAPT_CYCLE_MAX 64u
#define TIO__ADAPT_MARGIN_PCT 4u
#define TIO__ADAPT_VOTES 3
#define TIO__ADAPT_POOL 8u
#define TIO__ADAPT_SLOWER_MAX 8u

/* The starting call's threshold in each mode (task.c flushes once
 * queued_since_flush reaches loop->submit_batch). */
static void set_mode(tio_loop *loop, bool eager)
{
    loop->adapt.eager = eager;
    loop->submit_batch = eager ? 1u : UINT_MAX;
}

/* A switch: the evidence for it is spent. */
static void switch_mode(tio_loop *loop)
{
    tio__adapt *a = &loop->adapt;
    set_mode(loop, !a->eager);
    a->votes = 0;
    a->switches++;
    a->probes = 0;
    a->pool_probe_ops = a->pool_probe_ns = a->pool_base_ops = a->pool_base_ns = 0;
}

/* a ops in an ns faster than b in bn by more than the margin: compared
 * by cross-multiplication, no division, no floating point. */
static bool faster(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return a * bn * 100u > b * an * (100u + TIO__ADAPT_MARGIN_PCT);
}

/* Halved together until every product below is under 2^63 (ops under
 * 2^20, ns under 2^36: 68 s, and times_slower's factor under 8); the
 * ratios stay. */
static void scale(uint64_t *po, uint64_t *pn, uint64_t *bo, uint64_t *bn)
{
    while (*po >= (1u << 20) || *bo >= (1u << 20) || *pn >= (UINT64_C(1) << 36) ||
           *bn >= (UINT64_C(1) << 36)) {
        *po >>= 1;
        *pn >>= 1;
        *bo >>= 1;
        *bn >>= 1;
    }
    *pn += *pn == 0;
    *bn += *bn == 0;
}

/* po ops in pn ns (the probe's mode) against bo in bn (the current
 * one): +1 for switching, -1 against, 0 no telling. */
static int vote(uint64_t po, uint64_t pn, uint64_t bo, uint64_t bn)
{
    scale(&po, &pn, &bo, &bn);
    return faster(po, pn, bo, bn) ? 1 : faster(bo, bn, po, pn) ? -1 : 0;
}

/* How many times longer an operation took in the probe's mode than in
 * the current one, rounded down: 1 to TIO__ADAPT_SLOWER_MAX. */
static unsigned times_slower(uint64_t po, uint64_t pn, uint64_t bo, uint64_t bn)
{
    scale(&po, &pn, &bo, &bn);
    unsigned s = 1;
    while (s < TIO__ADAPT_SLOWER_MAX && pn * bo >= (s + 1) * bn * po)
        s++;
    return s;
}

/* The next cycle after a probe that did not favour switching, whose mode
 * was s times slower: twice as long, and s times longer again, up to
 * s * TIO__ADAPT_CYCLE_MAX. A probe costs about s - 1 epochs more than
 * an epoch in the current mode, so whatever s is the probes take about
 * 1 / TIO__ADAPT_CYCLE_MAX of the time at most. */
static unsigned next_cycle(unsigned cycle, unsigned s)
{
    unsigned cap = TIO__ADAPT_CYCLE_MAX * s;
    return cycle >= cap / (2 * s) ? cap : cycle * 2 * s;
}

void tio__adapt_epoch(tio_loop *loop, int64_t now)
{
    tio__adapt *a = &loop->adapt;
    uint64_t ops = a->ops, ns = now > a->t0 ? (uint64_t)(now - a->t0) : 1u;
    a->ops = 0;
    a->t0 = now;
    if (a->cycle == 0) { /* the first epoch only starts the clock */
        a->cycle = TIO__ADAPT_CYCLE_MIN;
        return;
    }
    unsigned pos = ++a->pos;
    if (pos == a->cycle - 2) { /* the epoch before the probe */
        a->base_ops = ops;
        a->base_ns = ns;
        set_mode(loop, !a->eager);
    } else if (pos == a->cycle - 1) { /* the probe */
        a->probe_ops = ops;
        a->probe_ns = ns;
        set_mode(loop, !a->eager);
    } else if (pos == a->cycle) { /* the epoch after it: the verdict */
        uint64_t bo = a->base_ops + ops, bn = a->base_ns + ns;
        int v = vote(a->probe_ops, a->probe_ns, bo, bn);
        a->pos = 0;
        if (a->probes == TIO__ADAPT_POOL) { /* the older half of the weight goes */
            a->pool_probe_ops >>= 1;
            a->pool_probe_ns >>= 1;
            a->pool_base_ops >>= 1;
            a->pool_base_ns >>= 1;
            a->probes = TIO__ADAPT_POOL / 2;
        }
        a->probes++;
        a->pool_probe_ops += a->probe_ops;
        a->pool_probe_ns += a->probe_ns;
        a->pool_base_ops += bo;
        a->pool_base_ns += bn;
        if (v > 0) {
            a->cycle = TIO__ADAPT_CYCLE_MIN;
            a->votes++;
        } else {
            if (v < 0 && a->votes > 0)
                a->votes--;
            a->cycle = next_cycle(a->cycle, times_slower(a->probe_ops, a->probe_ns, bo, bn));
        }
        if (a->votes >= TIO__ADAPT_VOTES ||
            (a->votes > 0 && a->probes >= (unsigned)TIO__ADAPT_VOTES &&
             vote(a->pool_probe_ops, a->pool_probe_ns, a->pool_base_ops, a->pool_base_ns) > 0))
            switch_mode(loop);
    }
}
