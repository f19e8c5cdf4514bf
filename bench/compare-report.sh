#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare-report.sh DIR: the report of a bench/compare.sh run, from the
# files it keeps in DIR (meta.tsv, runs.tsv, instr.tsv, machine.txt,
# profile.txt). Prints it, and writes there:
#   table.txt     the table of medians and the targets, as printed
#   summary.tsv   one line per workload and engine: the medians over the rounds
#   targets.tsv   one line per target: workload, what, value, bound, ok|MISS,
#                 and the lowest and highest ratio of one round (rounds run
#                 every engine of a workload back to back, so a round's
#                 ratio compares runs minutes closer than the medians do);
#                 with --aa, for a MISS inside the noise floor, its band's
#                 lower end (floor_band)
#   aa.tsv        the same for the noise floor (a run with --aa): taskio
#                 io_uring against itself under the targets' bounds
# compare.sh calls it after a run and for --plot-only DIR.
set -u -o pipefail

DIR=${1:?usage: compare-report.sh DIR}
for f in meta.tsv runs.tsv; do
    [ -f "$DIR/$f" ] || { echo "compare-report.sh: $DIR/$f missing" >&2; exit 1; }
done
[ -f "$DIR/instr.tsv" ] || : >"$DIR/instr.tsv"
rm -f "$DIR/aa.tsv" # written again when the run measured the noise floor

awk -F'\t' -v out="$DIR" '
function median(key, col,   n, i, j, t, v) {
    n = cnt[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) v[i] = val[key, i, col]
    if (v[1] == "NA") return "NA"
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function spread(key,   n, i, lo, hi, m) {
    n = cnt[key]; if (n < 2) return "-"
    lo = hi = val[key, 1, 4]
    for (i = 2; i <= n; i++) { if (val[key, i, 4] < lo) lo = val[key, i, 4]; if (val[key, i, 4] > hi) hi = val[key, i, 4] }
    m = median(key, 4); return m > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / m) : "-"
}
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
function iops(w, e) { return median(w SUBSEP e, 4) }
function num(x, fmt) { return (x == "" || x == "NA") ? "-" : sprintf(fmt, x) }
# One target line: status, workload, what, the value against its bound,
# and (ratios measured per round: rounds_of set rlo/rhi first) the range
# of the ratios of single rounds, marked "bound inside" when some round passed
# and some failed: a verdict the next run may well reverse. With --aa, a MISS
# no further from 1 than taskio from itself at the same workload (floor_band)
# is marked "inside the noise floor": it still counts as a MISS.
# ge: 1 when value >= bound passes, 0 when value <= bound does.
function target(w, what, v, bound, ge,   ok, st, rs, fl) {
    rs = fl = ""
    if (v == "") {
        st = "-"; vs = "not measured"
    } else {
        ok = ge ? v >= bound : v <= bound
        st = ok ? "ok" : "MISS"; nok += ok; nmiss += !ok
        vs = sprintf(bound >= 10 ? "%.0f %s %.0f" : "%.3f %s %.2f", v, ge ? ">=" : "<=", bound)
        if (rlo != "") {
            rs = sprintf("rounds %.2f-%.2f", rlo, rhi)
            if (rlo < bound && rhi > bound) { rs = rs ", bound inside"; ninside += !ok }
        }
        if (!ok && !in_floor && rwl != "" && floor_band(rwl, rcol) && (ge ? v >= fband : v <= 1 / fband)) {
            rs = rs (rs == "" ? "" : ", ") sprintf("inside the noise floor (%.3f)", fband)
            fl = fband; nfloor++
        }
    }
    printf "  %-4s  %-27s %-44s %-16s %s\n", st, w == "" ? "" : wlab[w], what, vs, rs >> table
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, what, v, bound, st, rlo, rhi, fl >> tfile
    rlo = rhi = rwl = rcol = ""
}
# With --aa: how far taskio io_uring landed from itself at workload w, in
# column col of the medians (IOPS or p99), as the lower end of a band
# around 1 (a ratio r or 1 / r, whichever is below 1; 1 / fband is its
# upper end). A target missed by no more than that is a miss the same code
# made against itself in this run. False without the twin at w.
function floor_band(w, col,   r) {
    if (!("tio_uring_again" in elab) || cnt[w, "tio_uring_again"] + 0 == 0) return 0
    r = rel(median(w SUBSEP "tio_uring_again", col), median(w SUBSEP "tio_uring", col))
    if (r == "" || r <= 0) return 0
    fband = r < 1 ? r : 1 / r
    return 1
}
# The range of the ratio a/b of one round, over the rounds both were measured
# in (column col of runs.tsv; b2: a second engine of workload wb, the
# better of the two per round). Sets rlo and rhi ("" without two rounds).
function rounds_of(wa, ea, wb, eb, col, b2,   r, a, b, x, n) {
    rlo = rhi = ""; n = 0; rwl = wa; rcol = col
    for (r = 0; r < nround; r++) {
        if (!((wa, ea, r) in rv) || !((wb, eb, r) in rv)) continue
        a = rv[wa, ea, r, col]; b = rv[wb, eb, r, col]
        if (b2 != "" && ((wb, b2, r) in rv) && rv[wb, b2, r, col] > b) b = rv[wb, b2, r, col]
        if (a == "NA" || b == "NA" || b <= 0) continue
        x = a / b; n++
        if (rlo == "" || x < rlo) rlo = x
        if (rhi == "" || x > rhi) rhi = x
    }
    if (n < 2) rlo = rhi = ""
}
function rel(a, b) { return (a != "" && b != "" && a != "NA" && b != "NA" && b > 0) ? a / b : "" }
FILENAME ~ /meta.tsv$/ {
    if ($1 == "P") { if ($2 == "skipped") skipped = skipped "\n          " $3; else par[$2] = $3 }
    else if ($1 == "W") { nw++; wid[nw] = $2; wlab[$2] = $3; wfam[$2] = $4; wqd[$2] = $5; wkinds[$2] = " " $6 " "
                          famqd[$4, $5] = $2 }
    else if ($1 == "E") { ne++; eid[ne] = $2; elab[$2] = $3; ekinds[$2] = $4 }
    next
}
FILENAME ~ /instr.tsv$/ { ins[$1, $2] = $3; next }
{
    key = $1 SUBSEP $2; cnt[key]++
    for (c = 4; c <= 12; c++) val[key, cnt[key], c] = $c
    rv[$1, $2, $3] = 1
    for (c = 4; c <= 12; c++) rv[$1, $2, $3, c] = $c
    if ($3 + 1 > nround) nround = $3 + 1
}
function runs_in(e, w,   n, k, i) {
    n = split(ekinds[e], k, " ")
    for (i = 1; i <= n; i++) if (index(wkinds[w], " " k[i] " ")) return 1
    return 0
}
END {
    table = out "/table.txt"; tfile = out "/targets.tsv"; summary = out "/summary.tsv"
    printf "" > table
    printf "workload\twhat\tvalue\tbound\tstatus\tround_lo\tround_hi\tnoise_floor\n" > tfile
    printf "wl\tlabel\tfamily\tqd\tengine\tengine_label\truns\tiops\tmib_s\tspread\tp50_us\tp99_us\tp999_us\tcpu_ns\tusr_ns\tsys_ns\tallocs\tinstr\n" > summary
    printf "taskio vs peers: medians of %s interleaved rounds, %s s per run after %s s warm-up.\n", par["rounds"], par["seconds"], par["warmup"] >> table
    if (par["pooled"] != "")
        printf "Pooled (compare.sh --pool; instruction counts: the median of the runs): %s.\n", par["pooled"] >> table
    printf "4 KiB random: O_DIRECT reads, O_DIRECT|O_DSYNC writes; 1 MiB sequential: O_DIRECT. 2x: two loops\n" >> table
    printf "(rings, fio jobs) on two threads, each over its own half of the file. sync: QD 1, start then\n" >> table
    printf "tio_wait (pread: blocking pread/pwrite); buffered: a cached file. Every tio-bench engine: the same\n" >> table
    printf "file and offsets (seed); fio: its own offsets and clock, its cpu from usr_cpu/sys_cpu.\n" >> table
    printf "uring/x, thr/x: IOPS of taskio io_uring, of taskio threads, divided by this engine'"'"'s (device\n" >> table
    printf "ceiling rows: taskio io_uring at QD 128). spread: (max - min) / median of IOPS over the rounds.\n" >> table
    printf "cpu: user+system ns per op (all threads). instr/op: user-space instructions per op (%s)%s.\n\n",
        par["instr"] == "none" ? "not measured" : par["instr"],
        par["instr"] == "callgrind" ? ", harness included (~100 per op, the same for every engine)" : "" >> table
    printf "%-27s %-18s %9s %8s %6s %7s %7s %8s %8s %9s %7s %7s %7s %8s\n", "workload", "engine", "IOPS", "MiB/s",
        "spread", "uring/x", "thr/x", "p50 us", "p99 us", "p99.9 us", "cpu ns", "usr ns", "allocs", "instr/op" >> table
    for (i = 1; i <= nw; i++) {
        w = wid[i]; first = 1
        uw = w
        if (wfam[w] == "ceilrr") uw = famqd["rr", 128]
        if (wfam[w] == "ceilrw") uw = famqd["rw", 128]
        u = uw == "" ? "" : iops(uw, "tio_uring"); t = iops(w, "tio_threads")
        for (j = 1; j <= ne; j++) {
            e = eid[j]; key = w SUBSEP e
            if (!runs_in(e, w)) continue
            if (cnt[key] == 0) { printf "%-27s %-18s %9s\n", first ? wlab[w] : "", elab[e], "failed" >> table; first = 0; continue }
            io = median(key, 4)
            al = median(key, 11)
            printf "%-27s %-18s %9.0f %8s %6s %7s %7s %8.1f %8.1f %9.1f %7.0f %7.0f %7s %8s\n",
                first ? wlab[w] : "", elab[e], io, num(median(key, 12), "%.1f"), spread(key),
                e == "tio_uring" ? "1.00" : ratio(u, io), e == "tio_threads" ? "1.00" : ratio(t, io),
                median(key, 5), median(key, 6), median(key, 7), median(key, 8), median(key, 9),
                num(al, "%.3f"), ((w, e) in ins) ? ins[w, e] : "-" >> table
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f\t%s\t%s\n",
                w, wlab[w], wfam[w], wqd[w], e, elab[e], cnt[key], io, median(key, 12), spread(key),
                median(key, 5), median(key, 6), median(key, 7), median(key, 8), median(key, 9),
                median(key, 10), al, ((w, e) in ins) ? ins[w, e] : "NA" >> summary
            first = 0
        }
        printf "\n" >> table
    }

    printf "targets (taskio in its default configuration):\n" >> table
    for (i = 1; i <= nw; i++) {
        w = wid[i]; f = wfam[w]; q = wqd[w]
        if (f != "rr" && f != "rw" && f != "sr" && f != "sw") continue
        u = iops(w, "tio_uring")
        if (f == "sr" || f == "sw" || q == 1 || q == 32 || q == 128) {
            rounds_of(w, "tio_uring", w, "fio", 4)
            target(w, "io_uring / fio io_uring", rel(u, iops(w, "fio")), 1.00, 1)
            l = iops(w, "liburing"); le = iops(w, "liburing_eager")
            if (le != "" && (l == "" || le > l)) l = le
            rounds_of(w, "tio_uring", w, "liburing", 4, "liburing_eager")
            target(w, "io_uring / better of liburing batch, eager", rel(u, l), 0.97, 1)
        }
        if (q == 128 && (f == "rr" || f == "rw")) {
            c = famqd[f == "rr" ? "ceilrr" : "ceilrw", 128]
            if (c != "") rounds_of(w, "tio_uring", c, "ceiling", 4)
            target(w, "io_uring / device ceiling", c == "" ? "" : rel(u, iops(c, "ceiling")), 0.95, 1)
            # Not a target: the two jobs of the ceiling keep twice QD 128
            # in flight, and where the device gains from that depth (DSYNC
            # writes here) no one loop at QD 128 reaches it: what fio
            # itself reaches at this depth says how far below it lies.
            if (c != "" && iops(w, "fio") != "")
                printf "  info  %-27s %-44s %.3f\n", wlab[w], "fio io_uring / device ceiling (same QD)",
                    rel(iops(w, "fio"), iops(c, "ceiling")) >> table
        }
    }
    for (i = 1; i <= nw; i++) {
        w = wid[i]; if (wfam[w] != "j2rr" && wfam[w] != "j2rw") continue
        rounds_of(w, "tio_uring", w, "fio", 4)
        target(w, "two loops, io_uring / fio numjobs=2", rel(iops(w, "tio_uring"), iops(w, "fio")), 0.95, 1)
    }
    for (i = 1; i <= nw; i++) {
        w = wid[i]; if (index(wkinds[w], " sweep ") == 0 && index(wkinds[w], " jobs ") == 0) continue
        rounds_of(w, "tio_uring", w, "fio", 6)
        target(w, "p99, io_uring / fio io_uring", rel(median(w SUBSEP "tio_uring", 6), median(w SUBSEP "fio", 6)), 1.10, 0)
    }
    for (i = 1; i <= nw; i++) {
        w = wid[i]; if (index(wkinds[w], " sweep ") == 0) continue
        rounds_of(w, "tio_threads", w, "libuv", 4)
        target(w, "threads / libuv (same workers)", rel(iops(w, "tio_threads"), iops(w, "libuv")), 1.00, 1)
    }
    for (i = 1; i <= nw; i++) {
        w = wid[i]; if (wfam[w] != "sync") continue
        p = iops(w, "pread")
        rounds_of(w, "tio_uring", w, "pread", 4)
        target(w, "sync io_uring / pread", rel(iops(w, "tio_uring"), p), 0.90, 1)
        rounds_of(w, "tio_threads", w, "pread", 4)
        target(w, "sync threads / pread", rel(iops(w, "tio_threads"), p), 0.75, 1)
    }
    for (i = 1; i <= nw; i++) {
        w = wid[i]
        if (((w, "tio_uring") in ins) && ((w, "liburing") in ins))
            target(w, "instr/op, io_uring - liburing floor", ins[w, "tio_uring"] - ins[w, "liburing"], 250, 0)
        # Not a target: the path of one start handed over at once, which
        # the adaptive policy takes where it measures it faster, against
        # the liburing loop that submits the same way.
        if (((w, "tio_uring_sb1") in ins) && ((w, "liburing_eager") in ins))
            printf "  info  %-27s %-44s %.0f (%s - %s)\n", wlab[w], "instr/op, io_uring sb1 - liburing eager",
                ins[w, "tio_uring_sb1"] - ins[w, "liburing_eager"], ins[w, "tio_uring_sb1"], ins[w, "liburing_eager"] >> table
        # The other mode of the default, and which of the two it ran in.
        if (((w, "tio_uring_run") in ins) && ((w, "liburing") in ins))
            printf "  info  %-27s %-44s %.0f (%s - %s)\n", wlab[w], "instr/op, io_uring by runs - liburing batch",
                ins[w, "tio_uring_run"] - ins[w, "liburing"], ins[w, "tio_uring_run"], ins[w, "liburing"] >> table
        if ((w, "tio_uring_submits_pct") in ins)
            printf "  info  %-27s %-44s %s\n", wlab[w], "io_uring default: submit-only enters/100 ops",
                ins[w, "tio_uring_submits_pct"] >> table
    }
    worst = ""; wv = 0; any = 0
    for (k in cnt) {
        split(k, kk, SUBSEP)
        if (kk[2] !~ /^tio_/) continue
        a = median(k, 11)
        if (a == "" || a == "NA") continue
        any = 1
        if (a > wv) { wv = a; worst = wlab[kk[1]] " " elab[kk[2]] }
    }
    target("", "heap allocations/op, every taskio run" (worst != "" ? " (most: " worst ")" : ""), any ? wv : "", 0, 0)
    printf "  %d ok, %d MISS", nok, nmiss >> table
    if (ninside) printf " (%d with the bound inside the range of the rounds'"'"' ratios)", ninside >> table
    if (nfloor) printf "; %d MISS inside the noise floor", nfloor >> table
    printf "\n" >> table
    noise_floor()
}
# With --aa: taskio io_uring against itself (tio_uring_again, the same
# build as another engine of each round), under the bounds of the targets
# that hold it against a peer. Its misses are the noise (aa.tsv).
function noise_floor(   i, w, f, q, r) {
    if (!("tio_uring_again" in elab)) return
    tfile = out "/aa.tsv"
    printf "workload\twhat\tvalue\tbound\tstatus\tround_lo\tround_hi\tnoise_floor\n" > tfile
    nok = nmiss = ninside = 0; in_floor = 1
    printf "\nthe noise floor: taskio io_uring against itself (run twice in every round), under the targets'"'"' bounds:\n" >> table
    for (i = 1; i <= nw; i++) {
        w = wid[i]; f = wfam[w]; q = wqd[w]
        if (cnt[w, "tio_uring_again"] + 0 == 0 || cnt[w, "tio_uring"] + 0 == 0) continue
        r = rel(iops(w, "tio_uring_again"), iops(w, "tio_uring"))
        rounds_of(w, "tio_uring_again", w, "tio_uring", 4)
        if (f == "j2rr" || f == "j2rw") {
            target(w, "two loops, again / io_uring", r, 0.95, 1)
        } else if (f == "sr" || f == "sw" || q == 1 || q == 32 || q == 128) {
            target(w, "again / io_uring, the fio bound", r, 1.00, 1)
            rounds_of(w, "tio_uring_again", w, "tio_uring", 4) # target() spent the range
            target(w, "again / io_uring, the liburing bound", r, 0.97, 1)
        }
        rounds_of(w, "tio_uring_again", w, "tio_uring", 6)
        target(w, "p99, again / io_uring", rel(median(w SUBSEP "tio_uring_again", 6), median(w SUBSEP "tio_uring", 6)), 1.10, 0)
    }
    printf "  %d ok, %d MISS: the same code, so each MISS is the machine'"'"'s noise\n", nok, nmiss >> table
}' "$DIR/meta.tsv" "$DIR/instr.tsv" "$DIR/runs.tsv" || exit 1

command=$(awk -F'\t' '$1 == "P" && $2 == "command" {print $3}' "$DIR/meta.tsv")
note=$(awk -F'\t' '$1 == "P" && $2 == "note" {print $3}' "$DIR/meta.tsv")
skipped=$(awk -F'\t' '$1 == "P" && $2 == "skipped" {print $3}' "$DIR/meta.tsv")
echo
echo "== bench/compare.sh =="
[ -f "$DIR/machine.txt" ] && cat "$DIR/machine.txt"
echo "command:  $command"
[ -n "$note" ] && echo "note:     $note"
[ -n "$skipped" ] && printf '%s\n' "$skipped" | sed 's/^/skipped:  /'
echo
cat "$DIR/table.txt"
if [ -s "$DIR/profile.txt" ]; then
    echo
    cat "$DIR/profile.txt"
fi
echo "results: $DIR (results.jsonl: every run; summary.tsv: the medians; targets.tsv; runs/: each run's output)"
