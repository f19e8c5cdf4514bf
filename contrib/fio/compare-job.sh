#!/bin/sh
# SPDX-License-Identifier: MIT
# compare-job.sh: run ONE fio job on several ioengines, interleaved, on the
# same file with the same offsets, and print their IOPS side by side.
#
#   contrib/fio/compare-job.sh [options]
#
# Options (defaults in brackets):
#   --rw MODE          randread | randwrite | read | write | randrw   [randread]
#   --bs SIZE          block size, fio syntax                          [4k]
#   --qd N             iodepth                                         [32]
#   --direct 0|1       O_DIRECT                                        [1]
#   --dsync            open with O_DSYNC (fio sync=dsync; taskio TIO_DSYNC)
#   --size SIZE        file size, fio syntax                           [1g]
#   --runtime SEC      measured seconds per run                        [5]
#   --ramp SEC         unmeasured warm-up seconds per run              [1]
#   --rounds N         rounds; each round runs every engine once, in
#                      order (A B C A B C ...); results are medians    [1]
#   --engines LIST     comma-separated; an fio engine name (io_uring,
#                      libaio, psync, ...) runs fio's own engine with its
#                      default options; tio:BACKEND runs libtio-fio.so
#                      with --tio_backend=BACKEND. The first is the
#                      baseline of the ratio column.  [io_uring,tio:io_uring,tio:threads]
#   --tio-threads N    workers of taskio's threads backend (0: taskio's
#                      default, 4)                                     [0]
#   --file PATH        target file, kept afterwards  [./tio-fio-compare.dat,
#                      created, preconditioned, removed at the end]
#   --precondition auto|always|never
#                      write the whole file with real data first (1 MiB
#                      direct writes, no fallocate): auto does it when the
#                      file is missing or shorter than --size. Reads of a
#                      file fio merely laid out hit unwritten extents and
#                      never reach the device: use always for such a file.  [auto]
#   --engine PATH      libtio-fio.so  [$TIO_FIO_ENGINE, else build/linux/libtio-fio.so]
#   --fio PATH         fio binary                                      [fio]
#   --tsv              print only the machine-readable table (below)
#   --keep-json DIR    keep every run's fio JSON output in DIR
#   -- ARGS            anything after -- is passed to every fio run
#
# Output (stdout). Progress lines go to stderr. Default: a header line, then
# one aligned row per engine. With --tsv: exactly one header line and one
# tab-separated row per engine, in --engines order:
#
#   engine  backend  rw  bs  qd  direct  dsync  runs  iops  iops_min  iops_max
#   mib_s  p50_us  p99_us  p999_us  usr_pct  sys_pct  ratio
#
#   engine    "fio:<name>" for fio's engines, "tio" for taskio's
#   backend   the taskio backend, "-" for fio's engines
#   iops      median over the rounds of the job's total IOPS (read+write)
#   iops_min/max  over the rounds
#   mib_s     median bandwidth, MiB/s
#   p50/p99/p999_us  median completion latency percentiles (clat), in
#             microseconds, of the direction with more I/Os
#   usr/sys_pct  median CPU use of the fio job (fio's usr_cpu/sys_cpu)
#   ratio     iops / the first engine's iops (3 decimals)
#
# Exit status: 0, 1 when a run failed (its output is shown), 2 on bad usage.
# Needs fio and python3 (which Debian's fio package depends on).
#
# Example: 4 KiB O_DSYNC random writes at queue depth 1, three rounds:
#   contrib/fio/compare-job.sh --rw randwrite --dsync --qd 1 --rounds 3
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

rw=randread bs=4k qd=32 direct=1 dsync=0 size=1g runtime=5 ramp=1 rounds=1
engines="io_uring,tio:io_uring,tio:threads"
tio_threads=0
file="" engine=${TIO_FIO_ENGINE:-$repo/build/linux/libtio-fio.so} fio=fio
tsv=0 keep_json="" precondition=auto

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}
need() { [ $# -ge 2 ] || usage; }

while [ $# -gt 0 ]; do
    case $1 in
    --rw) need "$@"; rw=$2; shift 2 ;;
    --bs) need "$@"; bs=$2; shift 2 ;;
    --qd) need "$@"; qd=$2; shift 2 ;;
    --direct) need "$@"; direct=$2; shift 2 ;;
    --dsync) dsync=1; shift ;;
    --size) need "$@"; size=$2; shift 2 ;;
    --runtime) need "$@"; runtime=$2; shift 2 ;;
    --ramp) need "$@"; ramp=$2; shift 2 ;;
    --rounds) need "$@"; rounds=$2; shift 2 ;;
    --engines) need "$@"; engines=$2; shift 2 ;;
    --tio-threads) need "$@"; tio_threads=$2; shift 2 ;;
    --file) need "$@"; file=$2; shift 2 ;;
    --engine) need "$@"; engine=$2; shift 2 ;;
    --fio) need "$@"; fio=$2; shift 2 ;;
    --tsv) tsv=1; shift ;;
    --keep-json) need "$@"; keep_json=$2; shift 2 ;;
    --precondition) need "$@"; precondition=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "compare-job: unknown option '$1'" >&2; usage ;;
    esac
done
# What is left in "$@" goes to every fio run.

say() { echo "compare-job: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

case $rw in randread | randwrite | read | write | randrw) ;; *) usage ;; esac
case $direct in 0 | 1) ;; *) usage ;; esac
case $precondition in auto | always | never) ;; *) usage ;; esac
command -v "$fio" >/dev/null 2>&1 || die "fio not found (apt-get install fio)"
command -v python3 >/dev/null 2>&1 || die "python3 not found (it parses fio's JSON output)"
case ",$engines," in
*,tio:*) [ -f "$engine" ] || die "taskio's fio engine $engine is missing (build it, or --engine PATH)" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tio-fio-compare.XXXXXX")
scratch=0
if [ -z "$file" ]; then
    file=$(pwd)/tio-fio-compare.dat
    scratch=1
fi
cleanup() {
    rm -rf "$tmp"
    [ $scratch = 0 ] || rm -f "$file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sync_opt=""
[ $dsync = 0 ] || sync_opt="--sync=dsync"

# Precondition: real data in every block, so reads reach the device and
# writes do not convert unwritten extents. fio's own layout fallocates (ext4
# then answers reads of those blocks with zeros without any I/O).
if [ "$precondition" = auto ]; then
    precondition=never
    want=$(python3 -c '
import sys
s = sys.argv[1].lower().rstrip("b").rstrip("i")
m = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
print(int(float(s[:-1]) * m[s[-1]]) if s and s[-1] in m else int(s))' "$size") ||
        die "cannot parse --size $size (use e.g. 512m, 1g, or bytes)"
    have=$(stat -c %s "$file" 2>/dev/null || echo 0)
    [ "$have" -ge "$want" ] || precondition=always
fi
if [ "$precondition" = always ]; then
    say "preconditioning $file ($size of real data)"
    t0=$(date +%s)
    "$fio" --name=precondition --filename="$file" --size="$size" --rw=write --bs=1m \
        --iodepth=1 --ioengine=psync --direct=1 --fallocate=none --end_fsync=1 \
        >"$tmp/precondition.log" 2>&1 || {
        cat "$tmp/precondition.log" >&2
        die "preconditioning $file failed"
    }
    say "preconditioned in $(($(date +%s) - t0)) s"
fi

runs=$tmp/runs.tsv
: >"$runs"
oldifs=$IFS
round=1
while [ "$round" -le "$rounds" ]; do
    IFS=,
    for e in $engines; do
        IFS=$oldifs
        case $e in
        tio:*)
            backend=${e#tio:}
            set -- --ioengine=external:"$engine" --tio_backend="$backend" \
                --tio_threads="$tio_threads" "$@"
            ;;
        *)
            backend=-
            set -- --ioengine="$e" "$@"
            ;;
        esac
        json=$tmp/$round-$(echo "$e" | tr ':/' '__').json
        # Same job for every engine: same file, offsets (fixed seed), depth.
        # shellcheck disable=SC2086
        if ! "$fio" --name=compare --filename="$file" --size="$size" --rw="$rw" \
            --bs="$bs" --iodepth="$qd" --direct="$direct" $sync_opt \
            --randrepeat=1 --randseed=1234 --norandommap --time_based \
            --runtime="$runtime" --ramp_time="$ramp" --group_reporting \
            --output-format=json --output="$json" "$@" >"$tmp/err" 2>&1; then
            cat "$tmp/err" "$json" >&2 2>/dev/null || true
            die "fio failed for engine $e (round $round)"
        fi
        # Drop this engine's options again.
        case $e in tio:*) shift 3 ;; *) shift 1 ;; esac
        [ -z "$keep_json" ] || { mkdir -p "$keep_json" && cp "$json" "$keep_json/"; }
        python3 - "$json" "$e" "$backend" "$round" >>"$runs" <<'EOF'
import json, sys
path, eng, backend, rnd = sys.argv[1:5]
with open(path) as f:
    text = f.read()
# fio may print notes before the JSON object.
doc = json.loads(text[text.index("{"):])
job = doc["jobs"][0]
if job.get("error", 0):
    sys.exit("fio reported error %d for %s" % (job["error"], eng))
rd, wr = job["read"], job["write"]
iops = rd["iops"] + wr["iops"]
mib = (rd["bw_bytes"] + wr["bw_bytes"]) / 1048576.0
main = rd if rd["total_ios"] >= wr["total_ios"] else wr
pct = main["clat_ns"].get("percentile", {})
def p(key):
    return pct.get(key, 0) / 1000.0
name = "tio" if eng.startswith("tio:") else "fio:" + eng
print("\t".join([name, backend, rnd, "%.1f" % iops, "%.1f" % mib,
                 "%.1f" % p("50.000000"), "%.1f" % p("99.000000"), "%.1f" % p("99.900000"),
                 "%.1f" % job["usr_cpu"], "%.1f" % job["sys_cpu"]]))
EOF
        say "round $round/$rounds $e: $(tail -n 1 "$runs" | cut -f4) IOPS"
        IFS=,
    done
    IFS=$oldifs
    round=$((round + 1))
done

python3 - "$runs" "$tsv" "$engines" "$rw" "$bs" "$qd" "$direct" "$dsync" "$size" \
    "$runtime" "$rounds" "$file" <<'EOF'
import statistics, sys
runs, tsv, engines, rw, bs, qd, direct, dsync, size, runtime, rounds, path = sys.argv[1:13]
rows = {}
for line in open(runs):
    f = line.rstrip("\n").split("\t")
    key = f[0] if f[0] != "tio" else "tio:" + f[1]
    rows.setdefault(key, []).append(f)
med = lambda xs: statistics.median(xs)
out = []
for e in engines.split(","):
    key = e if e.startswith("tio:") else "fio:" + e
    rs = rows[key]
    col = lambda i: [float(r[i]) for r in rs]
    iops = col(3)
    out.append([rs[0][0], rs[0][1], rw, bs, qd, direct, dsync, str(len(rs)),
                "%.0f" % med(iops), "%.0f" % min(iops), "%.0f" % max(iops),
                "%.1f" % med(col(4)), "%.1f" % med(col(5)), "%.1f" % med(col(6)),
                "%.1f" % med(col(7)), "%.1f" % med(col(8)), "%.1f" % med(col(9))])
base = float(out[0][8]) or 1.0
for o in out:
    o.append("%.3f" % (float(o[8]) / base))
hdr = ["engine", "backend", "rw", "bs", "qd", "direct", "dsync", "runs", "iops", "iops_min",
       "iops_max", "mib_s", "p50_us", "p99_us", "p999_us", "usr_pct", "sys_pct", "ratio"]
if tsv == "1":
    print("\t".join(hdr))
    for o in out:
        print("\t".join(o))
else:
    print("fio job: rw=%s bs=%s iodepth=%s direct=%s dsync=%s size=%s runtime=%ss rounds=%s file=%s"
          % (rw, bs, qd, direct, dsync, size, runtime, rounds, path))
    cols = [0, 1, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    names = ["engine", "backend", "IOPS(med)", "min", "max", "MiB/s", "p50_us", "p99_us",
             "p99.9_us", "usr%", "sys%", "vs_" + out[0][0] + ("/" + out[0][1] if out[0][1] != "-" else "")]
    table = [names] + [[o[c] for c in cols] for o in out]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for r in table:
        print("  ".join(v.ljust(widths[i]) if i < 2 else v.rjust(widths[i]) for i, v in enumerate(r)))
EOF
