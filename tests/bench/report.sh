#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench.report: bench/compare-report.sh's verdicts on a made-up sweep whose
# every ratio is known: medians, ok and MISS against each bound, the range
# of single rounds, the noise floor (--aa) and a miss inside it, the
# instruction budget, and a report without the twin (no aa.tsv, no mark).
# Usage: report.sh SOURCE_DIR. Skipped (77) without awk.
set -u -o pipefail
SRC=${1:?usage: report.sh SOURCE_DIR}
command -v awk >/dev/null 2>&1 || { echo "bench.report: no awk: skipped"; exit 77; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tab() { local IFS=$'\t'; printf '%s\n' "$*"; }

{
    tab P rounds 3
    tab P seconds 1
    tab P warmup 0.3
    tab P threads 4
    tab P instr callgrind
    tab P command "bench/compare.sh --rounds 3 --aa (made up)"
    tab W rr1 "randread QD1" rr 1 "sweep qd1"
    tab W rr32 "randread QD32" rr 32 sweep
    tab W rr128 "randread QD128" rr 128 sweep
    tab W j2rr32 "randread 2x QD32" j2rr 32 jobs
    tab W ceilrr "randread 2x QD128" ceilrr 128 ceiling
    tab W s_rr_d "sync randread direct" sync 1 sync
    tab E tio_uring "taskio io_uring" "sweep jobs sync"
    tab E tio_threads "taskio threads" "sweep jobs sync"
    tab E tio_uring_again "taskio uring again" "sweep jobs"
    tab E liburing "liburing batch" "sweep jobs"
    tab E liburing_eager "liburing eager" "sweep jobs"
    tab E libuv "libuv (4 thr)" sweep
    tab E pread pread "qd1 sync"
    tab E fio "fio io_uring" "sweep jobs"
    tab E ceiling "device ceiling" ceiling
} >"$DIR/meta.tsv"

# run WORKLOAD ENGINE "IOPS of rounds 0 1 2" P99: one runs.tsv line per round
# (p50 10 us, p99.9 3 x p99, 1000 ns of CPU, no allocation).
run() {
    local r=0 i
    for i in $3; do
        tab "$1" "$2" "$r" "$i" 10 "$4" $(($4 * 3)) 1000 100 900 0 "$i"
        r=$((r + 1))
    done
}
{
    run rr1 tio_uring "100 102 98" 10
    run rr1 tio_uring_again "101 99 100" 10
    run rr1 tio_threads "50 50 50" 10
    run rr1 liburing "95 96 97" 10
    run rr1 liburing_eager "103 101 102" 10
    run rr1 libuv "49 51 50" 10
    run rr1 pread "100 100 100" 10
    run rr1 fio "90 92 91" 10
    run rr32 tio_uring "95 95 95" 20
    run rr32 tio_uring_again "90 90 90" 20
    run rr32 tio_threads "40 40 40" 20
    run rr32 liburing "97 97 97" 20
    run rr32 liburing_eager "96 96 96" 20
    run rr32 libuv "50 50 50" 20
    run rr32 fio "100 100 100" 15
    run rr128 tio_uring "200 200 200" 30
    run rr128 tio_uring_again "200 200 200" 30
    run rr128 tio_threads "80 80 80" 30
    run rr128 liburing "200 200 200" 30
    run rr128 liburing_eager "199 199 199" 30
    run rr128 libuv "80 80 80" 30
    run rr128 fio "190 190 190" 30
    run j2rr32 tio_uring "150 150 150" 20
    run j2rr32 tio_uring_again "150 150 150" 20
    run j2rr32 fio "160 160 160" 20
    run ceilrr ceiling "205 205 205" 40
    run s_rr_d tio_uring "100 100 100" 10
    run s_rr_d tio_threads "70 70 70" 10
    run s_rr_d pread "100 100 100" 10
} >"$DIR/runs.tsv"
{
    tab rr1 tio_uring 600
    tab rr1 liburing 300
    tab rr32 tio_uring 480
    tab rr32 liburing 240
} >"$DIR/instr.tsv"

# expect FILE WORKLOAD WHAT "VALUE STATUS NOISE": that target's line.
expect() {
    local got
    got=$(awk -F'\t' -v w="$2" -v what="$3" '$1 == w && $2 == what {print $3, $5, $8}' "$DIR/$1")
    [ "$got" = "$4" ] || fail "$1: $2 \"$3\": got \"$got\", expected \"$4\""
}
summary() { # the table's count line of the targets, then of the noise floor
    grep -E '^  [0-9]+ ok, [0-9]+ MISS' "$DIR/table.txt"
}

bash "$SRC/bench/compare-report.sh" "$DIR" >"$DIR/report.out" 2>&1 ||
    { cat "$DIR/report.out"; fail "compare-report.sh failed"; exit 1; }
expect targets.tsv rr1 "io_uring / fio io_uring" "1.0989 ok "
expect targets.tsv rr1 "io_uring / better of liburing batch, eager" "0.980392 ok "
expect targets.tsv rr32 "io_uring / fio io_uring" "0.95 MISS 0.947368"
expect targets.tsv rr32 "io_uring / better of liburing batch, eager" "0.979381 ok "
expect targets.tsv rr128 "io_uring / device ceiling" "0.97561 ok "
expect targets.tsv j2rr32 "two loops, io_uring / fio numjobs=2" "0.9375 MISS "
expect targets.tsv rr32 "p99, io_uring / fio io_uring" "1.33333 MISS "
expect targets.tsv rr32 "threads / libuv (same workers)" "0.8 MISS "
expect targets.tsv s_rr_d "sync io_uring / pread" "1 ok "
expect targets.tsv s_rr_d "sync threads / pread" "0.7 MISS "
expect targets.tsv rr1 "instr/op, io_uring - liburing floor" "300 MISS "
expect targets.tsv rr32 "instr/op, io_uring - liburing floor" "240 ok "
expect aa.tsv rr32 "again / io_uring, the fio bound" "0.947368 MISS "
expect aa.tsv rr32 "again / io_uring, the liburing bound" "0.947368 MISS "
expect aa.tsv j2rr32 "two loops, again / io_uring" "1 ok "
# Per round, the better liburing loop made 103, 102 and 102 against 100,
# 102 and 98: 0.96-1.01, the bound inside.
grep -q "better of liburing batch, eager .*rounds 0.96-1.01, bound inside" "$DIR/table.txt" ||
    fail "rr1's liburing line lacks the range of its rounds"
lines=$(summary | tr '\n' '|')
[ "$lines" = "  14 ok, 6 MISS; 1 MISS inside the noise floor|  9 ok, 2 MISS: the same code, so each MISS is the machine's noise|" ] ||
    fail "summary lines: $lines"
[ "$(($(wc -l <"$DIR/aa.tsv") - 1))" = 11 ] || fail "aa.tsv: $(wc -l <"$DIR/aa.tsv") lines, expected 12"

# The same sweep without the twin: no noise floor, and the old aa.tsv goes.
grep -v tio_uring_again "$DIR/meta.tsv" >"$DIR/m" && mv "$DIR/m" "$DIR/meta.tsv"
grep -v tio_uring_again "$DIR/runs.tsv" >"$DIR/r" && mv "$DIR/r" "$DIR/runs.tsv"
bash "$SRC/bench/compare-report.sh" "$DIR" >"$DIR/report.out" 2>&1 || fail "compare-report.sh failed without the twin"
[ ! -e "$DIR/aa.tsv" ] || fail "aa.tsv left from the run with the twin"
expect targets.tsv rr32 "io_uring / fio io_uring" "0.95 MISS "
lines=$(summary | tr '\n' '|')
[ "$lines" = "  14 ok, 6 MISS|" ] || fail "summary without the twin: $lines"
grep -q "noise floor" "$DIR/table.txt" && fail "a noise floor in a report without the twin"

if [ "$fails" -ne 0 ]; then
    echo "bench.report: $fails failed"
    exit 1
fi
echo "bench.report: every verdict as expected"
