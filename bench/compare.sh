#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare.sh: taskio against its peers, on one file, interleaved: a
# queue-depth sweep, one table, the targets met or missed, and charts.
#
#   bench/compare.sh [--quick] [--plot] [--rounds N] [--seconds S] ...
#   bench/compare.sh --plot-only DIR      table, targets and charts again, from a saved run
#   bench/compare.sh --pool "DIR..." --out DIR   the same, from the rounds of several saved runs
#
# Workloads (--workloads picks families; --qds the sweep's queue depths):
#   rr     4 KiB O_DIRECT random reads,          QD 1 4 16 32 64 128
#   rw     4 KiB O_DIRECT|O_DSYNC random writes, QD 1 4 16 32 64 128
#   seq    1 MiB O_DIRECT sequential reads, and writes, QD 8
#   jobs   two loops (rings) on two threads, each over its own half of the
#          file, QD 32 each (tio-bench --jobs 2), randread and DSYNC randwrite;
#          fio runs numjobs=2 with the same halves (offset_increment)
#   ceiling  the device ceiling: fio io_uring, numjobs=2, QD 128, randread and
#          DSYNC randwrite, measured in the same run
#   sync   the synchronous caller: QD 1, start then tio_wait, one at a time
#          (tio-bench --sync) against blocking pread/pwrite: 4 KiB random
#          reads, random writes and appends, buffered (a cached file of its
#          own) and O_DIRECT
#
# Each workload runs every engine it concerns, round after round, in an
# order drawn for each round (a shuffle seeded by --order N, the
# workload and the round; meta.tsv records N), so that drift and what a
# run leaves behind (a device's caches and queues, a hot or cold host, a
# host CPU left busy by a run of many threads) fall on the engines at
# random and not on the same ones in every round: a rotation, even one
# reversed every other round, keeps each engine between the same two
# neighbours in every round of a workload (alone, reads at QD 128 with a
# run of the threads backend before each ran 0.90x the batched liburing
# loop, 6 of 8 rounds below; back to back, 1.00x). N is drawn for each
# sweep unless given (the same N repeats a sweep's orders). Each run is
# --seconds long after a warm-up, all on the same scratch file with the
# same offsets (one seed per round):
#
#   tio_uring       taskio io_uring    tio-bench --engine taskio --backend io_uring (defaults)
#   tio_threads     taskio threads     the same on the threads backend, --threads N workers
#   liburing        liburing batch     the floor: a hand-written loop, SINGLE_ISSUER|
#                                      DEFER_TASKRUN, submit-and-wait batches
#   liburing_eager  liburing eager     COOP_TASKRUN, one submit per operation (as fio)
#   libuv           libuv (N thr)      uv_fs_read/write, UV_THREADPOOL_SIZE=N
#   pread           pread              blocking pread/pwrite (QD 1 and sync rows)
#   fio             fio io_uring       fio --ioengine=io_uring, its defaults otherwise
#   fio_taskio      fio on taskio      fio's external engine contrib/fio (libtio-fio.so)
#   ceiling         device ceiling     fio io_uring, numjobs=2, QD 128
# and with --engines all also:
#   tio_uring_sb1, tio_threads_sb1     taskio with tio_loop_config.submit_batch 1
#   liburing_fixed                     liburing with a registered file and fixed buffers
#   tio_uring_again                    taskio io_uring once more (--aa): see below
#
# The noise floor (--aa): taskio io_uring runs twice in every round, as two
# engines of the round, and the report holds the second against the
# first under the targets' bounds. An engine is exactly as fast as itself,
# so every bound it misses there is the machine's noise, not a difference
# of code: what the targets' verdicts can be trusted to, on this machine.
#
# It then prints one table of medians over the rounds (IOPS, ratios of taskio
# io_uring and of taskio threads to each engine, latency percentiles, CPU and
# heap allocations per operation, user-space instructions per operation: perf
# stat -e instructions:u where the machine has counters, else callgrind on a
# fixed number of operations), the performance targets, each ok or MISS, and
# where taskio's user-space instructions go. Everything is kept in the results
# directory (--out): results.jsonl (every run), runs.tsv, summary.tsv (the
# medians), targets.tsv, table.txt, machine.txt, meta.tsv. With --plot,
# gnuplot draws charts from summary.tsv (bench/compare-plot.sh): IOPS
# against queue depth per engine, p50/p99 latency, CPU per operation,
# sequential, two-loop and synchronous results.
#
# Dependencies (fio, libuv1-dev, jq, gnuplot with --plot, valgrind or
# linux-perf; liburing-dev, cmake, gcc) are installed with apt-get when run
# as root and missing; otherwise the command is printed and the peers that
# need them are skipped. It builds tio-bench in build/bench (Release,
# assertions off) unless told --build DIR / --no-build. The defaults (4
# rounds of 1 s runs: on a shared machine a device's speed drifts over
# seconds, and the median of four short runs spread over the whole sweep
# resists one slow spell better than the mean of two long ones) take
# about 16 minutes; --quick about 3.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=4
RUN_SECONDS=1
WARMUP=0.3
SIZE=256M
THREADS=4
QDS="1 4 16 32 64 128"
JOBS_QD=32
SEQ_QD=8
ALL_FAMILIES="rr rw seq jobs ceiling sync"
FAMILIES=$ALL_FAMILIES
ENGINE_LIST=default
AA=0
BUILD=$ROOT/build/bench
DO_BUILD=1
DO_DEPS=1
DO_FIO=1
DO_PLOT=0
PLOT_ONLY=
POOL=
CHARTS=
PLOT_FORMAT=png
INSTR=auto        # auto | perf | callgrind | none
# Instruction counts measure steady state: after a warm-up that takes the
# adaptive policy past its first three probe cycles (8 + 16 + 32 epochs of
# 512 completions, src/common/adapt.c), one whole cycle of 64 epochs, with
# its one probe epoch in the other mode.
INSTR_WARM=28672
INSTR_OPS=32768   # measured operations per instruction count
FILE=
OUT=
FIO_ENGINE=
SEED=1
ORDER=            # seed of the rounds' engine orders (default: drawn per sweep)

usage() {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --quick           1 round of 1 s runs, QD 1 32 128, 5000 ops per instruction
                    count: about 3 minutes, for development
  --rounds N        rounds of interleaved runs (default $ROUNDS)
  --seconds S       measured seconds per run (default $RUN_SECONDS), after --warmup S (default $WARMUP)
  --qds "LIST"      the sweep's queue depths (default "$QDS")
  --workloads LIST  families, comma or space separated, of: $FAMILIES (default: all)
  --engines LIST    engine ids, comma or space separated (see above), or "all"
                    (default: every one but the sb1, reg+fixed and again variants)
  --aa              also measure the noise floor: taskio io_uring twice per round
  --threads N       workers of taskio's threads backend and of libuv's pool (default $THREADS)
  --size SIZE       scratch file size (default $SIZE)
  --file PATH       scratch file (default: BUILD/compare.dat; buffered rows use
                    PATH without .dat plus -buffered.dat)
  --build DIR       build directory (default: build/bench)
  --no-build        use DIR/tio-bench as it is
  --no-deps         install nothing
  --no-fio          leave fio out (and with it the device ceiling)
  --instr MODE      instructions per op: auto, perf, callgrind or none (default auto)
  --instr-ops N     operations per instruction count (default $INSTR_OPS)
  --fio-engine SO   fio external engine on taskio (default: libtio-fio.so if built)
  --out DIR         results directory (default: BUILD/compare-results)
  --seed N          offset generator seed (default $SEED)
  --order N         seed of the rounds' engine orders (default: drawn
                    for each sweep; meta.tsv records it)
  --plot            draw the charts after the run (into DIR/charts, or --charts)
  --plot-only DIR   no runs: print the table and targets of the saved run in DIR
                    again and draw its charts
  --charts DIR      where the charts go, with a copy of the run's data (table,
                    summary.tsv, targets.tsv, machine.txt, meta.tsv, runs.tsv,
                    instr.tsv: enough for --plot-only DIR), e.g. docs/perf
  --plot-format F   png (default) or svg
  --pool "DIR..."   no runs: the rounds of several saved runs of the same
                    workloads and engines as one run, in --out DIR (its
                    table, targets and, with --plot, charts); instruction
                    counts: the median of the runs' counts. Each sweep's
                    rounds stay interleaved among themselves only, so
                    pooling trades the verdict of one run for the median
                    of many rounds spread over hours of the device's drift
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) ROUNDS=1; RUN_SECONDS=1; WARMUP=0.3; QDS="1 32 128"; INSTR_OPS=5000 ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) RUN_SECONDS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --qds) QDS=${2//,/ }; shift ;;
    --workloads) FAMILIES=${2//,/ }; shift ;;
    --engines) ENGINE_LIST=${2//,/ }; shift ;;
    --aa) AA=1 ;;
    --threads) THREADS=$2; shift ;;
    --size) SIZE=$2; shift ;;
    --file) FILE=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --no-deps) DO_DEPS=0 ;;
    --no-fio) DO_FIO=0 ;;
    --instr) INSTR=$2; shift ;;
    --instr-ops) INSTR_OPS=$2; shift ;;
    --fio-engine) FIO_ENGINE=$2; shift ;;
    --out) OUT=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --order) ORDER=$2; shift ;;
    --plot) DO_PLOT=1 ;;
    --plot-only) PLOT_ONLY=$2; DO_PLOT=1; shift ;;
    --pool) POOL=$2; shift ;;
    --charts) CHARTS=$2; shift ;;
    --plot-format) PLOT_FORMAT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
    esac
    shift
done
case "$ROUNDS$THREADS$INSTR_OPS$SEED$ORDER${QDS// /}" in *[!0-9]*) echo "compare.sh: --rounds, --threads, --instr-ops, --seed, --order, --qds take integers" >&2; exit 2 ;; esac
[ -n "$ORDER" ] || ORDER=$((RANDOM % 1000))
[ "$ROUNDS" -ge 1 ] || { echo "compare.sh: --rounds must be at least 1" >&2; exit 2; }
case "$INSTR" in auto|perf|callgrind|none) ;; *) echo "compare.sh: --instr auto|perf|callgrind|none" >&2; exit 2 ;; esac
case "$PLOT_FORMAT" in png|svg) ;; *) echo "compare.sh: --plot-format png|svg" >&2; exit 2 ;; esac
for f in $FAMILIES; do
    case " $ALL_FAMILIES " in *" $f "*) ;; *) echo "compare.sh: unknown workload family '$f' ($FAMILIES)" >&2; exit 2 ;; esac
done

say() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
family_on() { case " $FAMILIES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ------------------------------------------------------ report and charts

# The table, the targets and summary.tsv of the run in $1, from its
# meta.tsv, runs.tsv and instr.tsv; printed, and kept in $1.
report() {
    local dir=$1
    bash "$ROOT/bench/compare-report.sh" "$dir" || return 1
}

plot() { # results dir, charts dir
    local dir=$1 charts=$2
    have gnuplot || { say "compare.sh: gnuplot not found (apt-get install gnuplot-nox): no charts"; return 1; }
    bash "$ROOT/bench/compare-plot.sh" "$dir" "$charts" "$PLOT_FORMAT" >&2 || return 1
    # Elsewhere than DIR/charts (a run to commit): the run's data goes with
    # its charts, enough for --plot-only to draw them again from there.
    local c d
    c=$(cd "$charts" && pwd); d=$(cd "$dir" && pwd)
    if [ "$c" != "$d/charts" ] && [ "$c" != "$d" ]; then
        cp "$dir/table.txt" "$dir/summary.tsv" "$dir/targets.tsv" "$dir/machine.txt" \
            "$dir/meta.tsv" "$dir/runs.tsv" "$dir/instr.tsv" "$charts/" 2>/dev/null
        [ -f "$dir/profile.txt" ] && cp "$dir/profile.txt" "$charts/"
        [ -f "$dir/aa.tsv" ] && cp "$dir/aa.tsv" "$charts/"
    fi
    say "compare.sh: charts in $charts"
}

# Whether DIR holds a saved compare.sh run (what --plot-only and --pool read).
saved_run() {
    [ -f "$1/meta.tsv" ] && [ -f "$1/runs.tsv" ] && return 0
    say "compare.sh: $1: no meta.tsv and runs.tsv of a compare.sh run"
    return 1
}

# The rounds of the saved runs in $POOL as the rounds of one run in $OUT:
# round numbers continued from run to run, the first run's meta.tsv (with
# the rounds summed) and machine.txt, each instruction count the median of
# the runs'. Runs of other workloads or engines are refused: a median over
# rounds that measured different things means nothing.
pool() {
    local d first="" rounds=0 n i=0
    local -a each=()
    [ -n "$OUT" ] || { say "compare.sh: --pool needs --out DIR"; return 2; }
    for d in $POOL; do
        saved_run "$d" || return 1
        if [ "$d" -ef "$OUT" ]; then
            say "compare.sh: --out $OUT is one of the pooled runs: it would be overwritten"
            return 2
        fi
        if [ -z "$first" ]; then
            first=$d
        elif ! cmp -s <(grep -E '^[WE]'$'\t' "$first/meta.tsv") <(grep -E '^[WE]'$'\t' "$d/meta.tsv"); then
            say "compare.sh: $d: other workloads or engines than $first: not pooled"
            return 1
        fi
        n=$(awk -F'\t' '$1 == "P" && $2 == "rounds" {print $3}' "$d/meta.tsv")
        each+=("${n:-0}")
    done
    mkdir -p "$OUT" || return 1
    : >"$OUT/runs.tsv"
    for d in $POOL; do
        awk -F'\t' -v OFS='\t' -v off="$rounds" '{$3 += off; print}' "$d/runs.tsv" >>"$OUT/runs.tsv"
        rounds=$((rounds + each[i]))
        i=$((i + 1))
    done
    awk -F'\t' -v OFS='\t' -v r="$rounds" -v pooled="$POOL" '
        $1 == "P" && $2 == "rounds" { $3 = r }
        $1 == "P" && $2 == "order" { next }
        { print }
        END { print "P", "pooled", pooled }' "$first/meta.tsv" >"$OUT/meta.tsv"
    [ -f "$first/machine.txt" ] && cp "$first/machine.txt" "$OUT/"
    for d in $POOL; do
        [ -f "$d/instr.tsv" ] && cat "$d/instr.tsv"
    done | sort -t$'\t' -k1,1 -k2,2 -k3,3n | awk -F'\t' -v OFS='\t' '
        function out() { if (n) print k1, k2, n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
        $1 != k1 || $2 != k2 { out(); k1 = $1; k2 = $2; n = 0 }
        { v[++n] = $3 }
        END { out() }' >"$OUT/instr.tsv"
    say "compare.sh: pooled $rounds rounds of: $POOL"
    report "$OUT" || return 1
    [ "$DO_PLOT" = 1 ] && plot "$OUT" "${CHARTS:-$OUT/charts}"
    return 0
}
if [ -n "$POOL" ]; then
    pool
    exit
fi

if [ -n "$PLOT_ONLY" ]; then
    saved_run "$PLOT_ONLY" || exit 1
    if ! have gnuplot && [ "$DO_DEPS" = 1 ] && [ "$(id -u)" = 0 ] && have apt-get; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null 2>&1
    fi
    report "$PLOT_ONLY" || exit 1
    plot "$PLOT_ONLY" "${CHARTS:-$PLOT_ONLY/charts}"
    exit
fi

mkdir -p "$BUILD" || exit 1
BUILD=$(cd "$BUILD" && pwd)
FILE=${FILE:-$BUILD/compare.dat}
FILE_BUF=${FILE%.dat}-buffered.dat
OUT=${OUT:-$BUILD/compare-results}
rm -rf "$OUT"
mkdir -p "$OUT/runs" "$OUT/instr" || exit 1
RESULTS=$OUT/results.jsonl
INSTR_TSV=$OUT/instr.tsv
: >"$RESULTS"
: >"$INSTR_TSV"
SIZE_BYTES=$(numfmt --from=iec "$SIZE" 2>/dev/null) || { say "compare.sh: --size $SIZE: not a size"; exit 2; }

# ------------------------------------------------------------ dependencies

PERF_EVENT=${COMPARE_PERF_EVENT:-instructions:u} # another event only to test this script
perf_ok() {
    have perf || return 1
    local out
    out=$(perf stat -x, -e "$PERF_EVENT" true 2>&1) || return 1
    case "$out" in *"not supported"*|*"not counted"*|*"<not"*) return 1 ;; esac
    printf '%s\n' "$out" | grep -q "${PERF_EVENT%%:*}" || return 1
}

install_pkgs() { # packages...: apt-get them as root, else say how
    [ $# -gt 0 ] || return 0
    if [ "$DO_DEPS" = 0 ]; then
        say "compare.sh: missing $*; --no-deps given, carrying on without"
    elif [ "$(id -u)" = 0 ] && have apt-get; then
        say "compare.sh: installing $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$OUT/apt.log" 2>&1 ||
            { apt-get update -q >>"$OUT/apt.log" 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$OUT/apt.log" 2>&1; } ||
            say "compare.sh: apt-get install $* failed (see $OUT/apt.log); carrying on"
    else
        say "compare.sh: missing $*; install with: sudo apt-get install -y $*"
    fi
}

need=()
have cmake || need+=(cmake)
have cc || need+=(gcc)
have pkg-config || need+=(pkg-config)
have jq || need+=(jq)
pkg-config --exists liburing 2>/dev/null || need+=(liburing-dev)
pkg-config --exists libuv 2>/dev/null || need+=(libuv1-dev)
[ "$DO_FIO" = 1 ] && ! have fio && need+=(fio)
# contrib/fio builds against the installed fio's Debian source (dpkg-source).
[ "$DO_FIO" = 1 ] && ! have dpkg-source && need+=(dpkg-dev)
[ "$DO_PLOT" = 1 ] && ! have gnuplot && need+=(gnuplot-nox)
install_pkgs "${need[@]}"
have jq || { say "compare.sh: jq is needed to read the results"; exit 1; }

if [ "$INSTR" = auto ] || [ "$INSTR" = perf ]; then
    if ! have perf; then install_pkgs linux-perf; fi
    if perf_ok; then
        INSTR=perf
    elif [ "$INSTR" = perf ]; then
        say "compare.sh: perf stat -e instructions:u does not work here"; exit 1
    else
        INSTR=callgrind
        INSTR_WHY="perf stat -e instructions:u: not supported on this machine (no hardware counters, e.g. a VM without PMU passthrough); counted with valgrind --tool=callgrind instead"
    fi
fi
if [ "$INSTR" = callgrind ] && ! have valgrind; then
    install_pkgs valgrind
    have valgrind || { say "compare.sh: no valgrind: no instruction counts"; INSTR=none; }
fi

# ------------------------------------------------------------------- build

BENCH=$BUILD/tio-bench
if [ "$DO_BUILD" = 1 ]; then
    say "compare.sh: building tio-bench in $BUILD (Release, TIO_ASSERTS=OFF)"
    # TIO_FIO_FETCH: contrib/fio fetches the source of the installed fio
    # (Debian's package, once per build tree) to build its engine against.
    fio_fetch=OFF
    [ "$DO_FIO" = 1 ] && have fio && fio_fetch=ON
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTIO_ASSERTS=OFF \
        -DTIO_BUILD_TESTS=OFF -DTIO_FIO_FETCH=$fio_fetch >"$OUT/build.log" 2>&1 ||
        cmake -S "$ROOT" -B "$BUILD" -DTIO_BUILD_CONTRIB=OFF >>"$OUT/build.log" 2>&1 ||
        { say "compare.sh: configure failed:"; tail -30 "$OUT/build.log" >&2; exit 1; }
    cmake --build "$BUILD" -j"$(nproc)" --target tio-bench >>"$OUT/build.log" 2>&1 ||
        { say "compare.sh: build failed:"; tail -30 "$OUT/build.log" >&2; exit 1; }
    # contrib/fio's engine (libtio-fio.so), where it can be built: fio
    # runs the same job through taskio and through its own io_uring engine.
    targets=$(cmake --build "$BUILD" --target help 2>/dev/null)
    if [ "$DO_FIO" = 1 ] && printf '%s\n' "$targets" | grep -q 'tio-fio'; then
        cmake --build "$BUILD" -j"$(nproc)" --target tio-fio >>"$OUT/build.log" 2>&1 ||
            say "compare.sh: libtio-fio.so did not build (see $OUT/build.log); no fio taskio row"
    fi
fi
[ -x "$BENCH" ] || { say "compare.sh: $BENCH not found (build it, or drop --no-build)"; exit 1; }

if [ -z "$FIO_ENGINE" ] && [ "$DO_FIO" = 1 ]; then
    FIO_ENGINE=$(find "$BUILD" "$ROOT/build/linux" -maxdepth 1 -name 'libtio-fio.so' -type f 2>/dev/null | head -1)
fi

# ----------------------------------------------------------------- engines

# id | label | how to run it (tio-bench arguments, or fio:ENGINE) | kinds of
# workload it runs in (sweep, qd1: the sweep at QD 1 only, jobs, ceiling, sync)
ENGINES=(
    "tio_uring|taskio io_uring|--engine taskio --backend io_uring|sweep jobs sync"
    "tio_threads|taskio threads|--engine taskio --backend threads --threads $THREADS|sweep jobs sync"
    "tio_uring_again|taskio uring again|--engine taskio --backend io_uring|sweep jobs"
    "tio_uring_sb1|taskio io_uring sb1|--engine taskio --backend io_uring --submit-batch 1|sweep"
    "tio_threads_sb1|taskio threads sb1|--engine taskio --backend threads --threads $THREADS --submit-batch 1|sweep"
    "liburing|liburing batch|--engine liburing|sweep jobs"
    "liburing_eager|liburing eager|--engine liburing --uring-setup coop --uring-submit each|sweep jobs"
    "liburing_fixed|liburing reg+fixed|--engine liburing --fixed|sweep"
    "libuv|libuv ($THREADS thr)|--engine libuv --threads $THREADS|sweep"
    "pread|pread|--engine pread|qd1 sync"
)
if [ "$DO_FIO" = 1 ] && have fio; then
    ENGINES+=("fio|fio io_uring|fio:io_uring|sweep jobs")
    if [ -n "$FIO_ENGINE" ] && [ -f "$FIO_ENGINE" ]; then
        ENGINES+=("fio_taskio|fio on taskio|fio:external:$FIO_ENGINE --tio_backend=io_uring|sweep")
    else
        SKIPPED="${SKIPPED:-}fio on taskio: libtio-fio.so not built (contrib/fio)"$'\n'
    fi
    ENGINES+=("ceiling|device ceiling|fio:io_uring|ceiling")
fi

# Keep the engines asked for (--engines).
if [ "$ENGINE_LIST" = default ]; then
    ENGINE_LIST="tio_uring tio_threads liburing liburing_eager libuv pread fio fio_taskio ceiling"
fi
[ "$AA" = 1 ] && ENGINE_LIST="$ENGINE_LIST tio_uring_again"
known=" all tio_uring tio_uring_again tio_threads tio_uring_sb1 tio_threads_sb1 liburing liburing_eager liburing_fixed libuv pread fio fio_taskio ceiling "
for id in $ENGINE_LIST; do
    case "$known" in *" $id "*) ;; *) say "compare.sh: unknown engine id '$id' (--help lists them)"; exit 2 ;; esac
done
picked=()
for e in "${ENGINES[@]}"; do
    IFS='|' read -r id _ <<<"$e"
    case " $ENGINE_LIST " in *" $id "*|*" all "*) picked+=("$e") ;; esac
done
ENGINES=("${picked[@]}")

# Drop engines this build or machine lacks (one short probe each).
"$BENCH" --prepare-only --file "$FILE" --size "$SIZE" >"$OUT/prepare.log" 2>&1 ||
    { say "compare.sh: preparing $FILE failed:"; cat "$OUT/prepare.log" >&2; exit 1; }
if family_on sync; then
    "$BENCH" --prepare-only --no-direct --file "$FILE_BUF" --size "$SIZE" >>"$OUT/prepare.log" 2>&1 ||
        { say "compare.sh: preparing $FILE_BUF failed:"; cat "$OUT/prepare.log" >&2; exit 1; }
fi
avail=()
for e in "${ENGINES[@]}"; do
    IFS='|' read -r id label how _ <<<"$e"
    case "$how" in fio:*) avail+=("$e"); continue ;; esac
    # shellcheck disable=SC2086
    if "$BENCH" $how --rw randread --qd 1 --ops 64 --warmup-ops 0 --file "$FILE" \
           --size "$SIZE" --json --quiet >"$OUT/probe.$id.log" 2>&1 &&
       tail -n 1 "$OUT/probe.$id.log" | jq -e .iops >/dev/null 2>&1; then
        avail+=("$e")
    else
        say "compare.sh: skipping $label: $(grep -v '^{' "$OUT/probe.$id.log" | tail -1)"
        SKIPPED="${SKIPPED:-}$label: $(grep -v '^{' "$OUT/probe.$id.log" | tail -1)"$'\n'
    fi
done
ENGINES=("${avail[@]}")

# -------------------------------------------------------------- workloads

# id | label | family | qd | kinds | tio-bench arguments | fio arguments
WORKLOADS=()
half=$((SIZE_BYTES / 2))
fio_jobs="--numjobs=2 --group_reporting --size=$half --offset_increment=$half"
for fam in rr rw; do
    family_on "$fam" || continue
    for qd in $QDS; do
        kinds=sweep; [ "$qd" = 1 ] && kinds="sweep qd1"
        if [ "$fam" = rr ]; then
            WORKLOADS+=("rr$qd|randread QD$qd|rr|$qd|$kinds|--rw randread|--rw=randread --bs=4k")
        else
            WORKLOADS+=("rw$qd|randwrite dsync QD$qd|rw|$qd|$kinds|--rw randwrite --dsync|--rw=randwrite --bs=4k --sync=dsync")
        fi
    done
done
if family_on seq; then
    WORKLOADS+=("sr$SEQ_QD|read 1M QD$SEQ_QD|sr|$SEQ_QD|sweep|--rw read --bs 1m|--rw=read --bs=1m")
    WORKLOADS+=("sw$SEQ_QD|write 1M QD$SEQ_QD|sw|$SEQ_QD|sweep|--rw write --bs 1m|--rw=write --bs=1m")
fi
if family_on jobs; then
    WORKLOADS+=("j2rr$JOBS_QD|randread 2x QD$JOBS_QD|j2rr|$JOBS_QD|jobs|--rw randread --jobs 2|--rw=randread --bs=4k $fio_jobs")
    WORKLOADS+=("j2rw$JOBS_QD|randwrite dsync 2x QD$JOBS_QD|j2rw|$JOBS_QD|jobs|--rw randwrite --dsync --jobs 2|--rw=randwrite --bs=4k --sync=dsync $fio_jobs")
fi
if family_on ceiling; then
    WORKLOADS+=("ceilrr|randread 2x QD128|ceilrr|128|ceiling||--rw=randread --bs=4k $fio_jobs")
    WORKLOADS+=("ceilrw|randwrite dsync 2x QD128|ceilrw|128|ceiling||--rw=randwrite --bs=4k --sync=dsync $fio_jobs")
fi
if family_on sync; then
    # Direct first: the buffered writes leave dirty pages to write back.
    WORKLOADS+=("s_rr_d|sync randread direct|sync|1|sync|--rw randread --sync|")
    WORKLOADS+=("s_rw_d|sync randwrite direct|sync|1|sync|--rw randwrite --sync|")
    WORKLOADS+=("s_ap_d|sync append direct|sync|1|sync|--rw append --sync|")
    WORKLOADS+=("s_rr_b|sync randread buffered|sync|1|sync|--rw randread --no-direct --sync|")
    WORKLOADS+=("s_rw_b|sync randwrite buffered|sync|1|sync|--rw randwrite --no-direct --sync|")
    WORKLOADS+=("s_ap_b|sync append buffered|sync|1|sync|--rw append --no-direct --sync|")
fi

engine_runs_in() { # engine-kinds workload-kinds
    local k
    for k in $1; do
        case " $2 " in *" $k "*) return 0 ;; esac
    done
    return 1
}

# meta.tsv: what the report needs to be made again from the saved run.
{
    printf 'P\trounds\t%s\nP\tseconds\t%s\nP\twarmup\t%s\nP\tthreads\t%s\nP\tinstr\t%s\n' \
        "$ROUNDS" "$RUN_SECONDS" "$WARMUP" "$THREADS" "$INSTR"
    printf 'P\torder\t%s\n' "$ORDER"
    printf 'P\tcommand\tbench/compare.sh --rounds %s --seconds %s --warmup %s --qds "%s" --threads %s --size %s --order %s%s\n' \
        "$ROUNDS" "$RUN_SECONDS" "$WARMUP" "$QDS" "$THREADS" "$SIZE" "$ORDER" \
        "$( [ "$FAMILIES" = "$ALL_FAMILIES" ] || printf ' --workloads "%s"' "$FAMILIES")$( [ "$AA" = 0 ] || printf ' --aa')"
    printf 'P\tinstr_ops\t%s\n' "$INSTR_OPS"
    [ -n "${INSTR_WHY:-}" ] && printf 'P\tnote\t%s\n' "$INSTR_WHY"
    [ -n "${SKIPPED:-}" ] && printf '%s' "$SKIPPED" | while IFS= read -r l; do printf 'P\tskipped\t%s\n' "$l"; done
    for w in "${WORKLOADS[@]}"; do
        IFS='|' read -r wid wlabel wfam wqd wkinds _ <<<"$w"
        printf 'W\t%s\t%s\t%s\t%s\t%s\n' "$wid" "$wlabel" "$wfam" "$wqd" "$wkinds"
    done
    for e in "${ENGINES[@]}"; do
        IFS='|' read -r id label _ kinds <<<"$e"
        printf 'E\t%s\t%s\t%s\n' "$id" "$label" "$kinds"
    done
} >"$OUT/meta.tsv"

# ------------------------------------------------------------- machine

MACHINE=$OUT/machine.txt
{
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
    [ -n "$cpu" ] || cpu=$(uname -m)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
    src=$(df --output=source "$FILE" 2>/dev/null | tail -1)
    fstype=$(df --output=fstype "$FILE" 2>/dev/null | tail -1)
    dev=$(basename "$src" 2>/dev/null)
    sched=
    for d in "$dev" "${dev%%[0-9]*}" "${dev%p[0-9]*}"; do
        if [ -n "$d" ] && [ -r "/sys/block/$d/queue/scheduler" ]; then
            sched=$(sed 's/.*\[\(.*\)\].*/\1/' "/sys/block/$d/queue/scheduler"); break
        fi
    done
    virt=$(systemd-detect-virt 2>/dev/null || true)
    echo "machine:  $(nproc) CPUs, $cpu, $mem RAM, kernel $(uname -r)${virt:+, virtualised ($virt)}"
    echo "file:     $FILE, $SIZE, on $fstype ($src${sched:+, I/O scheduler $sched})"
    echo "software: $(cc --version 2>/dev/null | head -1), liburing $(pkg-config --modversion liburing 2>/dev/null || echo -), libuv $(pkg-config --modversion libuv 2>/dev/null || echo -), $(fio --version 2>/dev/null || echo 'no fio')"
    echo "build:    $BENCH (build type $(grep -s '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" | cut -d= -f2), TIO_ASSERTS $(grep -s '^TIO_ASSERTS' "$BUILD/CMakeCache.txt" | cut -d= -f2))"
} >"$MACHINE"
cat "$MACHINE" >&2

# -------------------------------------------------------------- runs

nrows=0
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r _ _ _ _ wkinds _ <<<"$w"
    for e in "${ENGINES[@]}"; do
        IFS='|' read -r _ _ _ kinds <<<"$e"
        engine_runs_in "$kinds" "$wkinds" && nrows=$((nrows + 1))
    done
done
total=$((nrows * ROUNDS))
say "compare.sh: $total runs ($nrows per round, $ROUNDS rounds) of ${RUN_SECONDS} s + ${WARMUP} s warm-up: about $(awk -v n="$total" -v s="$RUN_SECONDS" -v w="$WARMUP" 'BEGIN {printf "%.0f", n * (s + w + 0.4) / 60 + 0.5}') min"

warmup_ms=$(awk -v w="$WARMUP" 'BEGIN {printf "%d", w * 1000}')

run_fio() { # how wl-fio-args qd seconds out.json
    local engine=${1#fio:} fargs=$2 qd=$3 secs=$4 out=$5
    # --size first: the workload's own (numjobs: each job's half) wins.
    # shellcheck disable=SC2086
    fio --name=compare --filename="$FILE" --ioengine=$engine --direct=1 --size="$SIZE" $fargs \
        --iodepth="$qd" --time_based --runtime="$(awk -v s="$secs" 'BEGIN {printf "%d", s * 1000}')ms" \
        --ramp_time="${warmup_ms}ms" --lat_percentiles=1 --output-format=json >"$out" 2>"$out.err"
}

# fio's JSON, in tio-bench's fields (with numjobs, group_reporting's sums:
# job_runtime adds up every job's, and usr_cpu/sys_cpu are shares of it).
fio_to_json() { # rwkey file
    jq -c --arg rw "$1" '.jobs[0] as $j | $j[$rw] as $d |
        ($j.job_runtime * 1e6 / ($d.total_ios | if . == 0 then 1 else . end)) as $ns |
        {engine: "fio", backend: "io_uring", iops: $d.iops, mib_s: ($d.bw_bytes / 1048576),
         p50_us: ($d.lat_ns.percentile["50.000000"] / 1000),
         p99_us: ($d.lat_ns.percentile["99.000000"] / 1000),
         p999_us: ($d.lat_ns.percentile["99.900000"] / 1000),
         cpu_user_ns_per_op: ($j.usr_cpu / 100 * $ns), cpu_sys_ns_per_op: ($j.sys_cpu / 100 * $ns),
         cpu_ns_per_op: (($j.usr_cpu + $j.sys_cpu) / 100 * $ns), allocs_per_op: null,
         errors: $j.error}' "$2"
}

# PERM: 0..$1-1 in an order drawn from the seed $2 (Fisher-Yates on the
# C standard's example rand, so that a seed gives the same orders anywhere).
shuffle() {
    local i j t s=$(($2 & 0x7fffffff))
    PERM=()
    for ((i = 0; i < $1; i++)); do PERM[i]=$i; done
    for ((i = $1 - 1; i > 0; i--)); do
        s=$(((s * 1103515245 + 12345) & 0x7fffffff))
        j=$(((s >> 16) % (i + 1)))
        t=${PERM[i]}
        PERM[i]=${PERM[j]}
        PERM[j]=$t
    done
}

n=0
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r wid wlabel _ wqd wkinds wargs wfio <<<"$w"
    wfile=$FILE
    case " $wargs " in *" --no-direct "*) wfile=$FILE_BUF ;; esac
    runnable=()
    for e in "${ENGINES[@]}"; do
        IFS='|' read -r _ _ _ kinds <<<"$e"
        engine_runs_in "$kinds" "$wkinds" && runnable+=("$e")
    done
    for ((r = 0; r < ROUNDS; r++)); do
        seed=$((SEED + r)) # one seed per round, the same for every engine in it
        m=${#runnable[@]}
        # n, the runs so far, tells the workload apart (and the round, as r)
        shuffle "$m" "$((ORDER * 7919 + n * 104729 + r))"
        for ((k = 0; k < m; k++)); do
            e=${runnable[${PERM[k]}]}
            IFS='|' read -r id label how _ <<<"$e"
            n=$((n + 1))
            log=$OUT/runs/$wid.$id.$r
            case "$how" in
            fio:*)
                rwkey="read"; case "$wfio" in *write*) rwkey="write" ;; esac
                if run_fio "$how" "$wfio" "$wqd" "$RUN_SECONDS" "$log.json"; then
                    line=$(fio_to_json "$rwkey" "$log.json")
                else
                    line=
                fi ;;
            *)
                # shellcheck disable=SC2086
                "$BENCH" $how $wargs --qd "$wqd" --seconds "$RUN_SECONDS" --warmup "$WARMUP" \
                    --seed "$seed" --file "$wfile" --size "$SIZE" --json --quiet >"$log.out" 2>&1
                line=$(tail -n 1 "$log.out") ;;
            esac
            if printf '%s' "$line" | jq -e .iops >/dev/null 2>&1; then
                printf '%s\n' "$line" | jq -c --arg wl "$wid" --arg id "$id" --argjson round "$r" \
                    '. + {wl: $wl, id: $id, round: $round}' >>"$RESULTS"
                printf '[%3d/%d] %-26s round %d  %-18s %9.0f IOPS\n' "$n" "$total" "$wlabel" \
                    "$((r + 1))" "$label" "$(printf '%s' "$line" | jq .iops)" >&2
            else
                printf '[%3d/%d] %-26s round %d  %-18s FAILED (%s)\n' "$n" "$total" "$wlabel" \
                    "$((r + 1))" "$label" "$log.*" >&2
            fi
        done
    done
done

# ------------------------------------------------ instructions per operation

# callgrind names a function once and then by number, "(N)": awk's name for
# either form (fn=, cfn=).
# shellcheck disable=SC2016
CG_NAME_OF='
function name_of(s,   id, rest) {
    if (match(s, /^\([0-9]+\)/)) {
        id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 1); sub(/^ /, "", rest)
        if (rest != "") names[id] = rest
        return names[id]
    }
    return s
}'

instr_count() { # id how wargs qd ops -> prints instructions per op, or nothing
    local id=$1 how=$2 wargs=$3 qd=$4 ops=$5 wl=$6 warm
    warm=$INSTR_WARM
    local base="$how $wargs --qd $qd --warmup-ops $warm --seed $SEED --file $FILE --size $SIZE --json --quiet"
    local f=$OUT/instr/$wl.$id
    if [ "$INSTR" = perf ]; then
        # Two runs, N and 2N operations, same warm-up: the difference is N
        # operations of steady state, whatever setup and teardown cost.
        local i1 i2
        # shellcheck disable=SC2086
        perf stat -x, -e "$PERF_EVENT" -o "$f.perf1" -- "$BENCH" $base --ops "$ops" >"$f.out1" 2>&1 || return
        # shellcheck disable=SC2086
        perf stat -x, -e "$PERF_EVENT" -o "$f.perf2" -- "$BENCH" $base --ops $((2 * ops)) >"$f.out2" 2>&1 || return
        i1=$(awk -F, -v ev="${PERF_EVENT%%:*}" 'index($3, ev) == 1 {print $1; exit}' "$f.perf1")
        i2=$(awk -F, -v ev="${PERF_EVENT%%:*}" 'index($3, ev) == 1 {print $1; exit}' "$f.perf2")
        case "$i1$i2" in ''|*[!0-9.]*) return ;; esac
        awk -v a="$i1" -v b="$i2" -v n="$ops" 'BEGIN {printf "%.0f\n", (b - a) / n}'
    else
        # tio-bench zeroes callgrind's counters when its window starts and
        # dumps them when it ends (out.1): N operations, every thread.
        # shellcheck disable=SC2086
        valgrind --tool=callgrind --callgrind-out-file="$f.cg" "$BENCH" $base --ops "$ops" \
            >"$f.out" 2>"$f.err" || return
        if [ -f "$f.cg.1" ]; then
            awk -v n="$ops" '/^(summary|totals):/ {printf "%.0f\n", $2 / n; exit}' "$f.cg.1"
        else
            # A build without <valgrind/callgrind.h>: two runs, the difference.
            local i1 i2
            i1=$(awk '/^(summary|totals):/ {print $2; exit}' "$f.cg")
            # shellcheck disable=SC2086
            valgrind --tool=callgrind --callgrind-out-file="$f.cg2" "$BENCH" $base \
                --ops $((2 * ops)) >"$f.out2" 2>"$f.err2" || return
            i2=$(awk '/^(summary|totals):/ {print $2; exit}' "$f.cg2")
            awk -v a="$i1" -v b="$i2" -v n="$ops" 'BEGIN {printf "%.0f\n", (b - a) / n}'
        fi
    fi
}

# Counted for the 4 KiB workloads at QD 1 and 32 only (the target compares
# taskio io_uring with the liburing floor), for the engines tio-bench runs.
INSTR_ENGINES="tio_uring tio_threads tio_uring_sb1 tio_uring_run liburing liburing_eager"
if [ "$INSTR" != none ]; then
    say "compare.sh: user-space instructions per operation with $INSTR (${INSTR_OPS} operations after $INSTR_WARM of warm-up)"
    for w in "${WORKLOADS[@]}"; do
        IFS='|' read -r wid wlabel wfam wqd _ wargs _ <<<"$w"
        case "$wfam:$wqd" in rr:1|rr:32|rw:1|rw:32) ;; *) continue ;; esac
        ops=$INSTR_OPS
        # The adaptive policy hands each start over at once where that is
        # faster, as submit_batch 1 does: its path is counted too, even
        # when the sweep does not run it.
        # So is its other mode, a run's starts handed over together in the
        # enter that waits (TIO_SUBMIT_IN_RUN): the two bound the default.
        sb1="tio_uring_sb1|taskio io_uring sb1|--engine taskio --backend io_uring --submit-batch 1|"
        byrun="tio_uring_run|taskio io_uring by runs|--engine taskio --backend io_uring --submit-batch run|"
        case " ${ENGINES[*]} " in *"tio_uring_sb1|"*) sb1= ;; esac
        case " ${ENGINES[*]} " in *"tio_uring|"*) ;; *) sb1='' byrun='' ;; esac
        for e in "${ENGINES[@]}" ${sb1:+"$sb1"} ${byrun:+"$byrun"}; do
            IFS='|' read -r id label how _ <<<"$e"
            case " $INSTR_ENGINES " in *" $id "*) ;; *) continue ;; esac
            v=$(instr_count "$id" "$how" "$wargs" "$wqd" "$ops" "$wid")
            if [ -n "$v" ]; then
                printf '%s\t%s\t%s\n' "$wid" "$id" "$v" >>"$INSTR_TSV"
                # Which mode the default ran in while counted: its enters
                # that only submit (io_uring_submit), per 100 operations.
                # 100 when each start is handed over at once; by runs, a
                # run's starts go in the io_uring_submit_and_wait that
                # waits, and only hand-overs between callbacks count.
                if [ "$id" = tio_uring ] && [ -f "$OUT/instr/$wid.$id.cg.1" ]; then
                    awk -v n="$ops" -v wl="$wid" "$CG_NAME_OF"'
                    /^fn=/ { name_of(substr($0, 4)); next }
                    /^cfn=/ { callee = name_of(substr($0, 5)); next }
                    /^calls=/ { if (callee == "io_uring_submit") c += substr($1, 7) + 0; next }
                    END { printf "%s\ttio_uring_submits_pct\t%.0f\n", wl, 100 * c / n }' \
                        "$OUT/instr/$wid.$id.cg.1" >>"$INSTR_TSV"
                fi
                printf '  %-21s %-20s %8s instructions/op\n' "$wlabel" "$label" "$v" >&2
            else
                printf '  %-21s %-20s failed (%s)\n' "$wlabel" "$label" "$OUT/instr/$wid.$id.*" >&2
            fi
        done
    done
fi

# One line per run: wl id round iops p50 p99 p999 cpu usr sys allocs mib_s
jq -r '[.wl, .id, .round, .iops, .p50_us, .p99_us, .p999_us, .cpu_ns_per_op,
        .cpu_user_ns_per_op, .cpu_sys_ns_per_op, (.allocs_per_op // "NA"), (.mib_s // "NA")] | @tsv' \
    "$RESULTS" >"$OUT/runs.tsv"

PROFILE=$OUT/profile.txt
: >"$PROFILE"
if [ "$INSTR" = callgrind ]; then
    for id in tio_uring liburing; do
        f=$OUT/instr/rr32.$id.cg.1
        [ -f "$f" ] || continue
        echo "user-space instructions per op by function (self), randread QD32, $id (callgrind window):"
        # Self cost per function: cost lines after fn=, not the inclusive
        # line that follows each calls=.
        awk -v n="$INSTR_OPS" "$CG_NAME_OF"'
        /^fn=/ { cur = name_of(substr($0, 4)); next }
        /^cfn=/ { name_of(substr($0, 5)); next }
        /^calls=/ { skip = 1; next }
        /^[0-9+*-]/ { if (skip) { skip = 0; next } self[cur] += $2; total += $2; next }
        END {
            for (f in self) if (self[f] / n >= 1) printf "%10.1f  %s\n", self[f] / n, f
            printf "%10.1f  TOTAL\n", total / n
        }' "$f" | sort -rn | head -25
        echo
    done >"$PROFILE"
fi

# ------------------------------------------------------------------ report

report "$OUT" || exit 1
if [ "$DO_PLOT" = 1 ]; then
    plot "$OUT" "${CHARTS:-$OUT/charts}"
fi
