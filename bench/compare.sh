#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare.sh: taskio against its peers, on one file, interleaved, one table.
#
#   bench/compare.sh [--rounds N] [--seconds S] [--threads N] [--file PATH] ...
#
# For 4 KiB direct random reads and 4 KiB O_DIRECT|O_DSYNC random writes, each
# at queue depth 1 and 32, it runs every engine it has, round after round
# (A B C ... then B C ... A: interleaved, the order rotated each round so that
# no engine always follows the same one), each run --seconds long after a
# warm-up, all on the same scratch file with the same offsets (same seed):
#
#   taskio io_uring      tio-bench --engine taskio --backend io_uring
#   taskio threads       tio-bench --engine taskio --backend threads --threads N
#   taskio ... sb1       the same with --submit-batch 1 (tio_loop_config.submit_batch:
#                        each start handed to the OS from its call, as fio does)
#   liburing             tio-bench --engine liburing (the floor: a hand-written loop,
#                        SINGLE_ISSUER|DEFER_TASKRUN, submit-and-wait batches)
#   liburing eager       the same with COOP_TASKRUN and one submit per operation
#                        (as fio does): which strategy this machine rewards
#   liburing reg+fixed   tio-bench --engine liburing --fixed (registered file, fixed buffers)
#   libuv                tio-bench --engine libuv --threads N (UV_THREADPOOL_SIZE=N)
#   pread                tio-bench --engine pread (blocking, QD 1 rows only)
#   fio io_uring         fio --ioengine=io_uring, its default options otherwise
#   fio taskio           fio's external taskio engine, when libtio-fio.so is found
#
# then prints one table of medians over the rounds, with IOPS ratios of
# taskio's io_uring backend (and of its threads backend) to each engine, user
# instructions per operation (perf stat -e instructions:u where the machine
# has counters, else callgrind on a fixed number of operations), the issue's
# targets met or missed, and where taskio's user-space instructions go.
#
# Dependencies (fio, libuv1-dev, jq, valgrind or linux-perf; liburing-dev,
# cmake, gcc) are installed with apt-get when run as root and missing;
# otherwise the command is printed and the peers that need them are skipped.
# It builds tio-bench in build/bench (Release, assertions off) unless told
# --build DIR / --no-build. Defaults finish in about 20 minutes.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3
RUN_SECONDS=5
WARMUP=0.5
SIZE=256M
THREADS=4
BUILD=$ROOT/build/bench
DO_BUILD=1
DO_DEPS=1
DO_FIO=1
INSTR=auto        # auto | perf | callgrind | none
INSTR_OPS=20000   # measured operations per instruction count at QD 32 (QD 1: a quarter)
FILE=
OUT=
FIO_ENGINE=
SEED=1

usage() {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --rounds N        rounds of interleaved runs (default $ROUNDS)
  --seconds S       measured seconds per run (default $RUN_SECONDS), after --warmup S (default $WARMUP)
  --threads N       workers of taskio's threads backend and of libuv's pool (default $THREADS)
  --size SIZE       scratch file size (default $SIZE)
  --file PATH       scratch file (default: BUILD/compare.dat)
  --build DIR       build directory (default: build/bench)
  --no-build        use DIR/tio-bench as it is
  --no-deps         install nothing
  --no-fio          leave fio out
  --instr MODE      instructions per op: auto, perf, callgrind or none (default auto)
  --instr-ops N     operations per instruction count (default $INSTR_OPS)
  --fio-engine SO   fio external engine on taskio (default: libtio-fio.so if built)
  --out DIR         results directory (default: BUILD/compare-results)
  --seed N          offset generator seed (default $SEED)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) RUN_SECONDS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
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
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
    esac
    shift
done
case "$ROUNDS$THREADS$INSTR_OPS$SEED" in *[!0-9]*) echo "compare.sh: --rounds, --threads, --instr-ops, --seed take integers" >&2; exit 2 ;; esac
[ "$ROUNDS" -ge 1 ] || { echo "compare.sh: --rounds must be at least 1" >&2; exit 2; }
case "$INSTR" in auto|perf|callgrind|none) ;; *) echo "compare.sh: --instr auto|perf|callgrind|none" >&2; exit 2 ;; esac

mkdir -p "$BUILD" || exit 1
BUILD=$(cd "$BUILD" && pwd)
FILE=${FILE:-$BUILD/compare.dat}
OUT=${OUT:-$BUILD/compare-results}
rm -rf "$OUT"
mkdir -p "$OUT/runs" "$OUT/instr" || exit 1
RESULTS=$OUT/results.jsonl
INSTR_TSV=$OUT/instr.tsv
: >"$RESULTS"
: >"$INSTR_TSV"

say() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

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
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTIO_ASSERTS=OFF \
        -DTIO_BUILD_TESTS=OFF >"$OUT/build.log" 2>&1 ||
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

# id | label | how to run it (tio-bench arguments, or fio:...) | rows (1, 32 or "1 32")
ENGINES=(
    "tio_uring|taskio io_uring|--engine taskio --backend io_uring|1 32"
    "tio_threads|taskio threads|--engine taskio --backend threads --threads $THREADS|1 32"
    "tio_uring_sb1|taskio io_uring sb1|--engine taskio --backend io_uring --submit-batch 1|1 32"
    "tio_threads_sb1|taskio threads sb1|--engine taskio --backend threads --threads $THREADS --submit-batch 1|1 32"
    "liburing|liburing|--engine liburing|1 32"
    "liburing_eager|liburing eager|--engine liburing --uring-setup coop --uring-submit each|1 32"
    "liburing_fixed|liburing reg+fixed|--engine liburing --fixed|1 32"
    "libuv|libuv ($THREADS thr)|--engine libuv --threads $THREADS|1 32"
    "pread|pread|--engine pread|1"
)
if [ "$DO_FIO" = 1 ] && have fio; then
    ENGINES+=("fio|fio io_uring|fio:io_uring|1 32")
    if [ -n "$FIO_ENGINE" ] && [ -f "$FIO_ENGINE" ]; then
        ENGINES+=("fio_taskio|fio taskio engine|fio:external:$FIO_ENGINE --tio_backend=io_uring|1 32")
    fi
fi

# Drop engines this build or machine lacks (one short probe each).
"$BENCH" --prepare-only --file "$FILE" --size "$SIZE" >"$OUT/prepare.log" 2>&1 ||
    { say "compare.sh: preparing $FILE failed:"; cat "$OUT/prepare.log" >&2; exit 1; }
avail=()
for e in "${ENGINES[@]}"; do
    IFS='|' read -r id label how rows <<<"$e"
    case "$how" in fio:*) avail+=("$e"); continue ;; esac
    qd=${rows%% *}
    # shellcheck disable=SC2086
    if "$BENCH" $how --rw randread --qd "$qd" --ops 64 --warmup-ops 0 --file "$FILE" \
           --size "$SIZE" --json --quiet >"$OUT/probe.$id.log" 2>&1 &&
       tail -n 1 "$OUT/probe.$id.log" | jq -e .iops >/dev/null 2>&1; then
        avail+=("$e")
    else
        say "compare.sh: skipping $label: $(grep -v '^{' "$OUT/probe.$id.log" | tail -1)"
        SKIPPED="${SKIPPED:-}$label: $(grep -v '^{' "$OUT/probe.$id.log" | tail -1)"$'\n'
    fi
done
ENGINES=("${avail[@]}")

# workload id | label | tio-bench arguments | qd | fio arguments
WORKLOADS=(
    "rr1|randread QD1|--rw randread|1|--rw=randread"
    "rr32|randread QD32|--rw randread|32|--rw=randread"
    "rw1|randwrite dsync QD1|--rw randwrite --dsync|1|--rw=randwrite --sync=dsync"
    "rw32|randwrite dsync QD32|--rw randwrite --dsync|32|--rw=randwrite --sync=dsync"
)

engine_runs_at() { # "rows" qd
    case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac
}

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
    IFS='|' read -r _ _ _ wqd _ <<<"$w"
    for e in "${ENGINES[@]}"; do
        IFS='|' read -r _ _ _ rows <<<"$e"
        engine_runs_at "$rows" "$wqd" && nrows=$((nrows + 1))
    done
done
total=$((nrows * ROUNDS))
say "compare.sh: $total runs ($nrows per round, $ROUNDS rounds) of ${RUN_SECONDS} s + ${WARMUP} s warm-up: about $(( (total * (RUN_SECONDS + 1) + 59) / 60 )) min"

warmup_ms=$(awk -v w="$WARMUP" 'BEGIN {printf "%d", w * 1000}')

run_fio() { # how wl-fio-args qd seconds out.json
    local engine=${1#fio:} fargs=$2 qd=$3 secs=$4 out=$5
    # shellcheck disable=SC2086
    fio --name=compare --filename="$FILE" --ioengine=$engine --direct=1 $fargs --bs=4k \
        --iodepth="$qd" --size="$SIZE" --time_based --runtime="$secs" \
        --ramp_time="${warmup_ms}ms" --lat_percentiles=1 --output-format=json >"$out" 2>"$out.err"
}

# fio's JSON, in tio-bench's fields.
fio_to_json() { # rwkey file
    jq -c --arg rw "$1" '.jobs[0] as $j | $j[$rw] as $d |
        ($j.job_runtime * 1e6 / ($d.total_ios | if . == 0 then 1 else . end)) as $ns |
        {engine: "fio", backend: "io_uring", iops: $d.iops,
         p50_us: ($d.lat_ns.percentile["50.000000"] / 1000),
         p99_us: ($d.lat_ns.percentile["99.000000"] / 1000),
         p999_us: ($d.lat_ns.percentile["99.900000"] / 1000),
         cpu_user_ns_per_op: ($j.usr_cpu / 100 * $ns), cpu_sys_ns_per_op: ($j.sys_cpu / 100 * $ns),
         cpu_ns_per_op: (($j.usr_cpu + $j.sys_cpu) / 100 * $ns), allocs_per_op: null,
         errors: $j.error}' "$2"
}

n=0
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r wid wlabel wargs wqd wfio <<<"$w"
    runnable=()
    for e in "${ENGINES[@]}"; do
        IFS='|' read -r _ _ _ rows <<<"$e"
        engine_runs_at "$rows" "$wqd" && runnable+=("$e")
    done
    for ((r = 0; r < ROUNDS; r++)); do
        seed=$((SEED + r)) # one seed per round, the same for every engine in it
        m=${#runnable[@]}
        for ((k = 0; k < m; k++)); do
            e=${runnable[$(((k + r) % m))]}
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
                    --seed "$seed" --file "$FILE" --size "$SIZE" --json --quiet >"$log.out" 2>&1
                line=$(tail -n 1 "$log.out") ;;
            esac
            if printf '%s' "$line" | jq -e .iops >/dev/null 2>&1; then
                printf '%s\n' "$line" | jq -c --arg wl "$wid" --arg id "$id" --argjson round "$r" \
                    '. + {wl: $wl, id: $id, round: $round}' >>"$RESULTS"
                printf '[%3d/%d] %-21s round %d  %-20s %9.0f IOPS\n' "$n" "$total" "$wlabel" \
                    "$((r + 1))" "$label" "$(printf '%s' "$line" | jq .iops)" >&2
            else
                printf '[%3d/%d] %-21s round %d  %-20s FAILED (%s)\n' "$n" "$total" "$wlabel" \
                    "$((r + 1))" "$label" "$log.*" >&2
            fi
        done
    done
done

# ------------------------------------------------ instructions per operation

instr_count() { # id how wargs qd ops -> prints instructions per op, or nothing
    local id=$1 how=$2 wargs=$3 qd=$4 ops=$5 wl=$6 warm
    warm=$((qd * 64))
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

if [ "$INSTR" != none ]; then
    say "compare.sh: user-space instructions per operation with $INSTR (${INSTR_OPS} operations at QD 32, $((INSTR_OPS / 4)) at QD 1)"
    for w in "${WORKLOADS[@]}"; do
        IFS='|' read -r wid wlabel wargs wqd _ <<<"$w"
        ops=$INSTR_OPS
        [ "$wqd" = 1 ] && ops=$((INSTR_OPS / 4))
        for e in "${ENGINES[@]}"; do
            IFS='|' read -r id label how rows <<<"$e"
            engine_runs_at "$rows" "$wqd" || continue
            case "$how" in fio:*) continue ;; esac # fio: its own harness, not comparable
            v=$(instr_count "$id" "$how" "$wargs" "$wqd" "$ops" "$wid")
            if [ -n "$v" ]; then
                printf '%s\t%s\t%s\n' "$wid" "$id" "$v" >>"$INSTR_TSV"
                printf '  %-21s %-20s %8s instructions/op\n' "$wlabel" "$label" "$v" >&2
            else
                printf '  %-21s %-20s failed (%s)\n' "$wlabel" "$label" "$OUT/instr/$wid.$id.*" >&2
            fi
        done
    done
fi

# ------------------------------------------------------------------ table

# One line per run: wl id round iops p50 p99 p999 cpu usr sys allocs
jq -r '[.wl, .id, .round, .iops, .p50_us, .p99_us, .p999_us, .cpu_ns_per_op,
        .cpu_user_ns_per_op, .cpu_sys_ns_per_op, (.allocs_per_op // "NA")] | @tsv' \
    "$RESULTS" >"$OUT/runs.tsv"

{
    for w in "${WORKLOADS[@]}"; do IFS='|' read -r wid wlabel _ _ _ <<<"$w"; printf 'W\t%s\t%s\n' "$wid" "$wlabel"; done
    for e in "${ENGINES[@]}"; do IFS='|' read -r id label _ rows <<<"$e"; printf 'E\t%s\t%s\t%s\n' "$id" "$label" "$rows"; done
} >"$OUT/meta.tsv"

TABLE=$OUT/table.txt
awk -F'\t' -v rounds="$ROUNDS" -v secs="$RUN_SECONDS" -v warm="$WARMUP" -v threads="$THREADS" \
    -v instr="$INSTR" -v out="$OUT" '
function median(key, col,   n, i, j, t, v) {
    n = cnt[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) v[i] = val[key, i, col]
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function spread(key,   n, i, lo, hi, m) {
    n = cnt[key]; if (n < 2) return ""
    lo = hi = val[key, 1, 4]
    for (i = 2; i <= n; i++) { if (val[key, i, 4] < lo) lo = val[key, i, 4]; if (val[key, i, 4] > hi) hi = val[key, i, 4] }
    m = median(key, 4); return m > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / m) : ""
}
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "" }
# "name r ok|MISS" for taskio IOPS a (default) and a1 (submit_batch 1) against b.
function target(name, a, a1, b, min,   s) {
    if (a == "" || b == "" || b <= 0) return ""
    s = sprintf("  %s %.3f %s", name, a / b, a / b >= min ? "ok  " : "MISS")
    if (a1 != "") s = s sprintf(" (sb1 %.3f %s)", a1 / b, a1 / b >= min ? "ok" : "MISS")
    return s
}
FILENAME ~ /meta.tsv$/ {
    if ($1 == "W") { nw++; wid[nw] = $2; wlab[$2] = $3 }
    else { ne++; eid[ne] = $2; elab[$2] = $3; erows[$2] = " " $4 " " }
    next
}
FILENAME ~ /instr.tsv$/ { ins[$1, $2] = $3; next }
{
    key = $1 SUBSEP $2; cnt[key]++
    for (c = 4; c <= 11; c++) val[key, cnt[key], c] = $c
}
END {
    printf "taskio vs peers: medians of %d interleaved rounds, %s s per run after %s s warm-up;\n", rounds, secs, warm
    printf "4 KiB blocks, O_DIRECT (writes: O_DIRECT|O_DSYNC), same file and offsets (seed) for every tio-bench engine.\n"
    printf "uring/x, thr/x: IOPS of taskio io_uring, of taskio threads, divided by this engine'"'"'s.\n"
    printf "sb1: tio_loop_config.submit_batch 1 (each start handed to the OS in its call); else the default 0\n"
    printf "(a run'"'"'s starts handed over in its one wait). Targets: default, then (sb1).\n"
    printf "spread: (max - min) / median of IOPS over the rounds. cpu: user+system ns per op (all threads).\n"
    printf "fio rows: fio'"'"'s own offsets (its random map) and clock; its cpu from usr_cpu/sys_cpu.\n"
    printf "instr/op: user-space instructions per op (%s)%s.\n\n", instr == "none" ? "not measured" : instr,
        instr == "callgrind" ? ", harness included (~100 per op, the same for every engine)" : ""
    printf "%-21s %-20s %9s %6s %7s %7s %8s %8s %9s %7s %7s %8s %8s\n", "workload", "engine", "IOPS", "spread",
        "uring/x", "thr/x", "p50 us", "p99 us", "p99.9 us", "cpu ns", "usr ns", "allocs", "instr/op"
    for (i = 1; i <= nw; i++) {
        w = wid[i]; first = 1
        u = median(w SUBSEP "tio_uring", 4); t = median(w SUBSEP "tio_threads", 4)
        for (j = 1; j <= ne; j++) {
            e = eid[j]; key = w SUBSEP e
            qd = w ~ /32$/ ? "32" : "1"
            if (index(erows[e], " " qd " ") == 0) continue
            if (cnt[key] == 0) { printf "%-21s %-20s %9s\n", first ? wlab[w] : "", elab[e], "failed"; first = 0; continue }
            iops = median(key, 4)
            al = median(key, 11); als = (al == "" || al == "NA") ? "-" : sprintf("%.3f", al)
            if (cnt[key] && val[key, 1, 11] == "NA") als = "-"
            printf "%-21s %-20s %9.0f %6s %7s %7s %8.1f %8.1f %9.1f %7.0f %7.0f %8s %8s\n",
                first ? wlab[w] : "", elab[e], iops, spread(key),
                e == "tio_uring" ? "1.00" : ratio(u, iops), e == "tio_threads" ? "1.00" : ratio(t, iops),
                median(key, 5), median(key, 6), median(key, 7), median(key, 8), median(key, 9), als,
                ((w, e) in ins) ? ins[w, e] : "-"
            first = 0
        }
        printf "\n"
    }
    # The targets of issue 4.
    printf "targets (issue 4):\n"
    for (i = 1; i <= nw; i++) {
        w = wid[i]; u = median(w SUBSEP "tio_uring", 4); t = median(w SUBSEP "tio_threads", 4)
        u1 = median(w SUBSEP "tio_uring_sb1", 4); t1 = median(w SUBSEP "tio_threads_sb1", 4)
        f = median(w SUBSEP "fio", 4); l = median(w SUBSEP "liburing", 4); v = median(w SUBSEP "libuv", 4)
        line = sprintf("  %-21s", wlab[w])
        line = line target("uring/fio", u, u1, f, 1.00)
        line = line target("uring/liburing", u, u1, l, 0.97)
        if (w ~ /32$/) line = line target("uring/libuv", u, u1, v, 2)
        line = line target("threads/libuv", t, t1, v, 1)
        if (w ~ /32$/ && ((w, "tio_uring") in ins) && ((w, "liburing") in ins)) {
            d = ins[w, "tio_uring"] - ins[w, "liburing"]
            line = line sprintf("  instr/op liburing%+d %s", d, d <= 250 ? "ok" : "MISS")
        }
        print line
    }
    zero = "ok"; which = ""
    for (k in cnt) {
        split(k, kk, SUBSEP)
        if (kk[2] !~ /^tio_/) continue
        a = median(k, 11)
        if (a != "" && a != "NA" && a > 0) { zero = "MISS"; which = which " " kk[1] "/" kk[2] "=" a }
    }
    printf "  zero heap allocations per op in steady state, every taskio backend: %s%s\n", zero, which
}' "$OUT/meta.tsv" "$INSTR_TSV" "$OUT/runs.tsv" >"$TABLE"

# --------------------------------------------------- where taskio spends them

PROFILE=$OUT/profile.txt
: >"$PROFILE"
if [ "$INSTR" = callgrind ]; then
    for id in tio_uring liburing; do
        f=$OUT/instr/rr32.$id.cg.1
        [ -f "$f" ] || continue
        echo "user-space instructions per op by function (self), randread QD32, $id (callgrind window):"
        # Self cost per function: cost lines after fn=, not the inclusive
        # line that follows each calls=.
        awk -v n="$INSTR_OPS" '
        function name_of(s,   id, rest) {
            if (match(s, /^\([0-9]+\)/)) {
                id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 1); sub(/^ /, "", rest)
                if (rest != "") names[id] = rest
                return names[id]
            }
            return s
        }
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

echo
echo "== bench/compare.sh =="
cat "$MACHINE"
echo "command:  bench/compare.sh --rounds $ROUNDS --seconds $RUN_SECONDS --warmup $WARMUP --threads $THREADS --size $SIZE"
[ -n "${INSTR_WHY:-}" ] && echo "note:     $INSTR_WHY"
[ -n "${SKIPPED:-}" ] && printf 'skipped:  %s' "$SKIPPED"
echo
cat "$TABLE"
if [ -s "$PROFILE" ]; then
    echo
    cat "$PROFILE"
fi
echo "results: $OUT (results.jsonl: every run; runs/: their output; instr/: the counts)"
