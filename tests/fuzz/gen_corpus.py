#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made inputs of tests/fuzz/corpus/: seeds (seed-*) that
cover each operation on both backends, and regression inputs (regress-*)
for bugs the fuzzer found, minimised by hand so their bytes read as steps.

The encoding is fuzz.c's (see its header comment): two header bytes, then
4-byte records [op a b c]. Minimised libFuzzer crashes are committed as
found (regress-*) next to these.

    python3 tests/fuzz/gen_corpus.py [tests/fuzz/corpus]
"""
import os
import sys

READ, WRITE, FSYNC, SLEEP, CANCEL, CANCEL_FILE, TIMEOUT, RUN, PIPE_IO, PIPE_CLOSE, \
    PIPE_RECREATE, FLAGS, WAIT, CLOSE, MISUSE, DRAIN = range(16)
A, B, P0, P1 = range(4)          # targets: a read on P0/P1 uses in-pipe k, a write out-pipe k
OUT = 0x20                       # hi bit for CANCEL_FILE/CLOSE/MISUSE on a pipe pair: the out-pipe
DEPTH = {256: 0, 1: 1, 2: 2, 3: 3, 4: 4, 8: 5, 16: 6, 64: 7}
WORKERS = {4: 0, 1: 1, 2: 2, 3: 3}


def header(backend="io_uring", cancel_all=False, depth=256, workers=4,
           a_dsync=False, b_direct=False, b_dsync=False, nb0=False, nb1=False,
           out_nb0=False, out_nb1=False, out_default_size=False):
    h0 = (backend == "threads") | (cancel_all << 1) | (DEPTH[depth] << 2) | (WORKERS[workers] << 5)
    h1 = a_dsync | (b_direct << 1) | (b_dsync << 2) | (nb0 << 3) | (nb1 << 4) | \
        (out_nb0 << 5) | (out_nb1 << 6) | (out_default_size << 7)
    return bytes([h0, h1])


def r(op, task=0, target=0, b=0, c=0, hi=0):
    return bytes([op, task | (target << 3) | hi, b, c])


def feed(k, n):             # the fuzzer writes n (< 256) bytes into in-pipe k
    return r(PIPE_IO, k, b=n)


def drain_out(k, n):        # the fuzzer reads up to n bytes from out-pipe k
    return r(PIPE_IO, 2 | k, b=flen(n))


def close_writer(k):        # in-pipe k: end of stream
    return r(PIPE_CLOSE, k)


def close_reader(k):        # out-pipe k: writes see TIO_EPIPE
    return r(PIPE_CLOSE, 2 | k)


def recreate_in(k, nonblock=False):
    return r(PIPE_RECREATE, k | (nonblock << 2))


def recreate_out(k, nonblock=False):
    return r(PIPE_RECREATE, 2 | k | (nonblock << 2))


def io(op, task, target, off_256=0, length=0):
    """A file/pipe read or write: offset off_256 * 256, length encoded for c."""
    return r(op, task, target, off_256, length)


def flen(n):      # file length byte: < 128 as is, else multiples of 512
    return n if n < 128 else 127 + n // 512


def plen(n):      # in-pipe read length byte: < 128 as is, else multiples of 8
    return n if n < 128 else 127 + n // 8
# out-pipe write lengths are encoded like file lengths (flen)


RUN_1MS = r(RUN, b=255)
RUN_POLL = r(RUN, b=0)


def both(name, body, **kw):
    """The same body on each backend."""
    out = {}
    for be in ("io_uring", "threads"):
        out[f"seed-{name}-{be.replace('_', '')}"] = header(backend=be, **kw) + body
    return out


def seeds():
    s = {}
    # Buffered file: write, read back, overlapping rewrite, fsync, short read at EOF.
    s.update(both("file-rw", b"".join([
        io(WRITE, 0, A, 0, flen(100)), r(WAIT, 0, b=255),
        io(READ, 1, A, 0, flen(4096)), RUN_1MS, r(WAIT, 1, b=255),
        io(WRITE, 2, A, 1, flen(2048)), io(WRITE, 3, A, 2, flen(1024)),   # overlap: unknown
        io(READ, 4, A, 0, flen(120)), r(FSYNC, 5, A, 1), r(DRAIN),
        io(READ, 6, A, 255, flen(100)), r(DRAIN),                         # past EOF: 0
        io(WRITE, 0, B, 10, flen(50)), io(READ, 1, B, 9, flen(512)), r(DRAIN),
    ])))
    # Direct file B (O_DIRECT where allowed) with O_DSYNC: aligned writes and reads.
    s.update(both("direct", b"".join([
        io(WRITE, 0, B, 0, flen(4096)), io(WRITE, 1, B, 32, flen(8192)), RUN_1MS,
        r(WAIT, 0, b=255), r(WAIT, 1, b=255),
        io(READ, 2, B, 0, flen(16384)), io(READ, 3, B, 30, flen(4096)), r(DRAIN),
        r(FSYNC, 4, B, 0), r(FSYNC, 5, B, 1), r(WAIT, 4, b=255), r(DRAIN),
        r(CLOSE, target=B), io(READ, 6, B, 0, flen(512)), r(DRAIN),
    ]), b_direct=True, b_dsync=True))
    # Pipes: data then read, read then data, several reads on one pipe,
    # resubmission, end of stream, recreate.
    s.update(both("pipe", b"".join([
        feed(0, 10), io(READ, 0, P0, 0, plen(64)), RUN_1MS, r(WAIT, 0, b=255),
        io(READ, 1, P0, 0, plen(5)), io(READ, 2, P0, 0, plen(7)), io(READ, 3, P1, 0, plen(100)),
        RUN_POLL, feed(0, 20), feed(1, 50), RUN_1MS, RUN_1MS,
        r(FLAGS, 1, b=1), r(FLAGS, 2, b=1),
        r(WAIT, 1, b=255), r(WAIT, 2, b=255), feed(0, 30), RUN_1MS, RUN_1MS,
        close_writer(0), io(READ, 4, P0, 0, plen(1000)), r(DRAIN),
        recreate_in(0), feed(0, 3), io(READ, 5, P0, 0, plen(2)), r(DRAIN),
        r(CLOSE, target=P1), feed(1, 4), io(READ, 6, P1, 0, plen(16)), RUN_1MS,
    ]), nb1=True))
    # Cancellation: before any run (always TIO_ECANCELED), in flight, idle
    # (TIO_ENOENT), per file, sleeps; the input ends by cancelling the rest.
    s.update(both("cancel", b"".join([
        io(READ, 0, A, 0, flen(100)), r(CANCEL, 0), r(CANCEL, 0), RUN_POLL, r(CANCEL, 0),
        r(SLEEP, 1, b=200), r(CANCEL, 1), io(READ, 2, P0, 0, plen(10)), RUN_POLL,
        r(CANCEL, 2), RUN_1MS, io(READ, 3, P1, 0, plen(10)), io(READ, 4, P1, 0, plen(10)),
        io(WRITE, 5, A, 1, flen(1024)), RUN_POLL, r(CANCEL_FILE, target=P1),
        r(CANCEL_FILE, target=A), RUN_1MS, RUN_1MS, io(READ, 6, P0, 0, plen(10)),
        r(SLEEP, 7, b=255), io(WRITE, 0, B, 0, flen(4096)), RUN_POLL,
    ]), cancel_all=True, workers=2))
    # Timeouts: on a pipe read that never gets data (TIO_ETIMEDOUT), on a
    # file write, on a sleep (TIO_EINVAL), on an idle task (TIO_ENOENT).
    s.update(both("timeout", b"".join([
        io(READ, 0, P0, 0, plen(10)), r(TIMEOUT, 0, b=10), r(WAIT, 0, b=255), RUN_1MS,
        r(WAIT, 0, b=255), io(WRITE, 1, A, 0, flen(4096)), r(TIMEOUT, 1, b=0), RUN_1MS,
        r(SLEEP, 2, b=5), r(TIMEOUT, 2, b=5), r(TIMEOUT, 3, b=5),
        io(READ, 4, P1, 0, plen(10)), r(TIMEOUT, 4, b=200), r(TIMEOUT, 4, b=3),
        r(CANCEL, 4), r(DRAIN), io(READ, 5, P1, 0, plen(10)), r(TIMEOUT, 5, b=0),
        feed(1, 8), RUN_1MS, RUN_1MS, r(WAIT, 5, b=255),
    ])))
    # Sleeps: equal and different lengths complete in order, never early.
    s.update(both("sleep", b"".join([
        r(SLEEP, 0, b=50), r(SLEEP, 1, b=50), r(SLEEP, 2, b=10), r(SLEEP, 3, b=0),
        r(SLEEP, 4, b=130), r(SLEEP, 5, b=50), RUN_POLL, r(WAIT, 5, b=255),
        r(FLAGS, 0, b=1), r(SLEEP, 0, b=1), r(DRAIN), r(SLEEP, 6, b=2), r(WAIT, 6, b=0),
        r(WAIT, 6, b=255), r(WAIT, 7, b=1),
    ])))
    # Callbacks: resubmit once, refused run-like calls inside (TIO_EBUSY),
    # cancelling another task from inside.
    s.update(both("callbacks", b"".join([
        r(FLAGS, 0, b=3), r(FLAGS, 1, b=6, c=2), r(FLAGS, 3, b=7, c=3),
        io(WRITE, 0, A, 0, flen(64)), r(SLEEP, 1, b=1), io(READ, 2, P0, 0, plen(8)),
        io(READ, 3, A, 0, flen(64)), RUN_1MS, RUN_1MS, r(WAIT, 0, b=255), r(DRAIN),
        r(FLAGS, 4, b=1), io(READ, 4, P0, 0, plen(4)), feed(0, 6), RUN_1MS,
        RUN_1MS, close_writer(0), r(DRAIN),
    ])))
    # Every kind of refused call, on idle and pending tasks, direct file B.
    mis = b"".join(r(MISUSE, k % 8, [B, A, P0, P1][k % 4] if k not in (0, 1, 2) else B, k, 5)
                   for k in range(14))
    s.update(both("misuse", mis + b"".join([
        io(READ, 0, P0, 0, plen(4)), r(MISUSE, 0, B, 0, 1), r(MISUSE, 0, P0, 6, 0),
        io(WRITE, 1, P0, 0, plen(4)), r(MISUSE, 1, P1, 4, 0),
    ]) + mis, b_direct=True))
    # Queue depth 1 and 2: io_uring back-pressure and the per-run callback budget.
    small = b"".join([
        io(WRITE, 0, A, 0, flen(512)), io(WRITE, 1, A, 4, flen(512)), io(READ, 2, A, 0, flen(512)),
        r(SLEEP, 3, b=0), r(SLEEP, 4, b=0), r(SLEEP, 5, b=0), io(READ, 6, P0, 0, plen(3)),
        RUN_POLL, RUN_POLL, r(CANCEL, 1), RUN_1MS, feed(0, 3), RUN_1MS, RUN_1MS,
        io(READ, 7, P1, 0, plen(3)), r(FSYNC, 0, A, 0), r(CANCEL_FILE, target=A), RUN_POLL,
        close_writer(1), r(DRAIN),
    ])
    s["seed-depth1-iouring"] = header(depth=1) + small
    s["seed-depth2-threads"] = header(backend="threads", depth=2, workers=1) + small
    s["seed-depth3-iouring-cancelall"] = header(depth=3, cancel_all=True) + small
    # Out-pipes (taskio writes, the fuzzer reads): small writes, a write
    # larger than the one-page pipe completed by reading, the reader closed
    # (TIO_EPIPE), fsync and close refused while pending.
    s.update(both("outpipe", b"".join([
        io(WRITE, 0, P0, 0, flen(100)), RUN_1MS, drain_out(0, 100), r(WAIT, 0, b=255),
        io(WRITE, 1, P0, 0, flen(16384)), RUN_1MS, drain_out(0, 2048), RUN_1MS,
        r(CLOSE, target=P0, hi=OUT), drain_out(0, 65536), RUN_1MS, drain_out(0, 65536),
        r(WAIT, 1, b=255), drain_out(0, 65536), r(DRAIN),
        close_reader(1), io(WRITE, 2, P1, 0, flen(64)), r(WAIT, 2, b=255), r(DRAIN),
        recreate_out(1), io(WRITE, 3, P1, 0, flen(10)), r(CLOSE, target=P1, hi=OUT),
        r(DRAIN), r(CLOSE, target=P1, hi=OUT), io(WRITE, 4, P1, 0, flen(10)), RUN_1MS,
    ])))
    # Nonblocking out-pipe: a full pipe makes a write wait for readiness (the
    # io_uring backend's poll-and-retry path); cancelled while waiting.
    s.update(both("outpipe-nonblock", b"".join([
        io(WRITE, 0, P0, 0, flen(4096)), r(WAIT, 0, b=255), io(WRITE, 1, P0, 0, flen(100)),
        RUN_1MS, RUN_1MS, drain_out(0, 8192), RUN_1MS, r(WAIT, 1, b=255), drain_out(0, 8192),
        io(WRITE, 2, P0, 0, flen(4096)), r(WAIT, 2, b=255), io(WRITE, 3, P0, 0, flen(512)),
        RUN_1MS, r(CANCEL, 3), RUN_1MS, r(WAIT, 3, b=255), io(WRITE, 4, P0, 0, flen(64)),
        RUN_1MS, r(TIMEOUT, 4, b=20), RUN_1MS, r(WAIT, 4, b=255),
        r(CANCEL_FILE, target=P0, hi=OUT), RUN_1MS, drain_out(0, 65536), r(DRAIN),
    ]), out_nb0=True))
    # tio_file_close: TIO_EBUSY while anything is pending, 0 when idle (then reopened).
    s.update(both("close", b"".join([
        io(WRITE, 0, A, 0, flen(1024)), r(CLOSE, target=A), r(DRAIN), r(CLOSE, target=A),
        io(READ, 1, A, 0, flen(1024)), r(DRAIN), io(READ, 2, P0, 0, plen(4)),
        r(CLOSE, target=P0), recreate_in(0), r(CANCEL, 2), r(DRAIN), r(CLOSE, target=P0),
        recreate_in(0, nonblock=True), feed(0, 9), io(READ, 3, P0, 0, plen(9)), r(DRAIN),
    ])))
    return s


def regressions():
    s = {}
    # threads backend: a write to a blocking pipe that has no room blocks in
    # write(2) after ppoll(2) said POLLOUT, with the cancel signal masked, so
    # tio_cancel never completes it (nor would tio_loop_destroy). Deterministic.
    s["regress-threads-cancel-blocked-pipe-write"] = header(
        backend="threads", cancel_all=True) + io(WRITE, 0, P0, 0, flen(8192)) + RUN_1MS
    # The same for reads, as a race: two reads wait in ppoll on one blocking
    # pipe, a byte arrives, both wake, one read(2) takes it and the other
    # blocks in read(2) where the cancel signal cannot reach it. Fails in a
    # few percent of runs; the replay driver runs regress-* inputs many times.
    body = b""
    for pipe, tasks in ((P0, range(0, 4)), (P1, range(4, 8))):
        body += b"".join(io(READ, t, pipe, 0, plen(100)) for t in tasks)
        body += RUN_POLL + RUN_1MS + feed(pipe - 2, 1) + RUN_1MS + RUN_1MS
    s["regress-threads-cancel-pipe-read-race"] = header(backend="threads", cancel_all=True) + body
    # Fault-injecting build only (tio-fuzz-replay-faults; passes elsewhere):
    # the fault schedule, seeded by these bytes, answers the read's start
    # with BUSY; nothing is in flight, and tio_drain's tio_run(TIO_FOREVER)
    # waits for a completion that cannot come, for ever. Byte 0 = 0x81:
    # threads, heavy fault rates; the length byte 3 picks a hanging seed.
    s["regress-faults-busy-start-drain-hang"] = bytes([0x81, 0]) + io(READ, 0, A, 0, 3) + r(DRAIN)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    inputs = {**seeds(), **regressions()}
    for name, data in sorted(inputs.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(inputs)} inputs in {out}")


if __name__ == "__main__":
    main()
