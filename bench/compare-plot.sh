#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare-plot.sh DIR [CHARTS [png|svg]]: the charts of a
# bench/compare.sh run, drawn with gnuplot from DIR/summary.tsv (the medians
# compare-report.sh writes) into CHARTS (default DIR/charts):
#
#   iops-randread, iops-randwrite      IOPS against queue depth, one line per
#                                      engine, the device ceiling dashed
#   latency-randread, latency-randwrite  p50 and p99 latency against queue depth
#   cpu-randread, cpu-randwrite        CPU time (user + system) per operation
#   sequential                         1 MiB sequential read and write, MiB/s
#   two-loops                          two loops on two threads against fio
#                                      numjobs=2, and the device ceiling
#   sync                               the synchronous caller: IOPS relative to
#                                      pread/pwrite, with the targets (0.90, 0.75)
#   sync-latency                       the same rows: p50 latency per operation
#
# Each chart's data is kept beside it (CHARTS/data/*.tsv). compare.sh --plot
# and --plot-only DIR call it.
set -u -o pipefail

DIR=${1:?usage: compare-plot.sh DIR [CHARTS [png|svg]]}
CHARTS=${2:-$DIR/charts}
FORMAT=${3:-png}
SUMMARY=$DIR/summary.tsv
[ -f "$SUMMARY" ] || { echo "compare-plot.sh: $SUMMARY missing (run compare-report.sh $DIR)" >&2; exit 1; }
command -v gnuplot >/dev/null 2>&1 || { echo "compare-plot.sh: gnuplot not found" >&2; exit 1; }
mkdir -p "$CHARTS/data" || exit 1

case "$FORMAT" in
png)
    if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then
        TERM_LINE="set terminal pngcairo size 960,600 font 'sans,10' noenhanced"
    else
        TERM_LINE="set terminal png size 960,600 noenhanced"
    fi ;;
svg) TERM_LINE="set terminal svg size 960,600 dynamic font 'sans,10' noenhanced" ;;
*) echo "compare-plot.sh: format png or svg" >&2; exit 2 ;;
esac

machine=
if [ -f "$DIR/machine.txt" ]; then
    machine=$(sed -n 's/^machine: *//p' "$DIR/machine.txt" | head -1 | tr -d "'")
fi

# taskio io_uring again (--aa: the noise floor's second run of the same
# engine) is left out of every chart: it would draw taskio's line twice.

# One colour per engine, the same in every chart; taskio's lines thicker.
STYLE_AWK='
function style(e) {
    if (e == "tio_uring") return "lc rgb \"#d62728\" lw 3 pt 7"
    if (e == "tio_threads") return "lc rgb \"#ff7f0e\" lw 3 pt 5"
    if (e == "tio_uring_sb1") return "lc rgb \"#8c564b\" lw 2 pt 6 dt 2"
    if (e == "tio_threads_sb1") return "lc rgb \"#e6a65c\" lw 2 pt 4 dt 2"
    if (e == "liburing") return "lc rgb \"#1f77b4\" lw 2 pt 9"
    if (e == "liburing_eager") return "lc rgb \"#17becf\" lw 2 pt 11"
    if (e == "liburing_fixed") return "lc rgb \"#bcbd22\" lw 2 pt 13"
    if (e == "libuv") return "lc rgb \"#2ca02c\" lw 2 pt 3"
    if (e == "pread") return "lc rgb \"#7f7f7f\" lw 2 pt 2"
    if (e == "fio") return "lc rgb \"#9467bd\" lw 2 pt 8"
    if (e == "fio_taskio") return "lc rgb \"#e377c2\" lw 2 pt 10"
    if (e == "ceiling") return "lc rgb \"#000000\" lw 1"
    return "lw 2"
}'

# matrix FAMILY COLUMN OUT: queue depth against engine, one column per engine
# (NaN where it did not run), header row of labels; prints the plot clauses.
matrix() {
    awk -F'\t' -v fam="$1" -v col="$2" -v out="$3" "$STYLE_AWK"'
    NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    $h["family"] == fam && $h["engine"] != "tio_uring_again" {
        q = $h["qd"] + 0; e = $h["engine"]
        if (!(q in seenq)) { seenq[q] = 1; nq++; qs[nq] = q }
        if (!(e in seene)) { seene[e] = 1; ne++; es[ne] = e; lab[e] = $h["engine_label"] }
        v[q, e] = $h[col]
    }
    END {
        if (nq == 0) exit 1
        for (i = 2; i <= nq; i++) { t = qs[i]; for (j = i - 1; j >= 1 && qs[j] > t; j--) qs[j + 1] = qs[j]; qs[j + 1] = t }
        printf "qd" > out
        for (j = 1; j <= ne; j++) printf "\t%s", lab[es[j]] > out
        printf "\n" > out
        for (i = 1; i <= nq; i++) {
            printf "%s", qs[i] > out
            for (j = 1; j <= ne; j++) { x = v[qs[i], es[j]]; printf "\t%s", (x == "" || x == "NA") ? "NaN" : x > out }
            printf "\n" > out
        }
        xt = ""
        for (i = 1; i <= nq; i++) xt = xt (i > 1 ? ", " : "") "\"" qs[i] "\" " qs[i]
        print "XTICS " xt
        printf "XRANGE [%g:%g]\n", qs[1] / 1.25, qs[nq] * 1.25
        for (j = 1; j <= ne; j++)
            printf "PLOT \"%s\" using 1:%d title columnheader(%d) with linespoints %s\n", out, j + 1, j + 1, style(es[j])
    }' "$SUMMARY"
}

# bars OUT COLUMN ROW-FAMILIES...: one cluster per workload of those
# families, one bar per engine; prints the plot clauses.
bars() {
    local out=$1 col=$2
    shift 2
    awk -F'\t' -v fams=" $* " -v col="$col" -v out="$out" "$STYLE_AWK"'
    NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    index(fams, " " $h["family"] " ") && $h["engine"] != "tio_uring_again" {
        w = $h["wl"]; e = $h["engine"]; l = $h["label"]
        # Two loops: the ceiling joins the cluster of its workload.
        if ($h["family"] ~ /^(j2|ceil)r[rw]$/) {
            w = substr($h["family"], length($h["family"]) - 1); sub(/ 2x QD[0-9]+$/, "", l)
        }
        if (e == "ceiling") lab[e] = "device ceiling (2 jobs, QD " $h["qd"] ")"
        if (!(w in seenw)) { seenw[w] = 1; nw++; ws[nw] = w; wl[w] = l }
        if (!(e in seene)) { seene[e] = 1; ne++; es[ne] = e; if (!(e in lab)) lab[e] = $h["engine_label"] }
        v[w, e] = $h[col]
    }
    END {
        if (nw == 0) exit 1
        printf "workload" > out
        for (j = 1; j <= ne; j++) printf "\t%s", lab[es[j]] > out
        printf "\n" > out
        for (i = 1; i <= nw; i++) {
            printf "%s", wl[ws[i]] > out
            for (j = 1; j <= ne; j++) { x = v[ws[i], es[j]]; printf "\t%s", (x == "" || x == "NA") ? "NaN" : x > out }
            printf "\n" > out
        }
        for (j = 1; j <= ne; j++) {
            s = style(es[j]); sub(/ pt [0-9]+/, "", s); sub(/ lw [0-9]+/, "", s); sub(/ dt [0-9]+/, "", s)
            printf "PLOT \"%s\" using %d:xtic(1) title columnheader(%d) %s\n", out, j + 1, j + 1, s
        }
    }' "$SUMMARY"
}

plot_lines() { # clauses: join the PLOT lines with commas
    printf '%s\n' "$1" | sed -n 's/^PLOT //p' | paste -sd, -
}

# The device ceiling of a family, from its ceiling row.
ceiling_of() {
    awk -F'\t' -v fam="$1" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
        $h["family"] == fam && $h["engine"] == "ceiling" { print $h["iops"]; exit }' "$SUMMARY"
}

made=()
gp() { # name [width], then gnuplot commands on stdin
    local name=$1 f=$CHARTS/$1.$FORMAT term=$TERM_LINE
    [ $# -gt 1 ] && term=${term/size 960,/size $2,}
    { echo "$term"; echo "set output '$f'"; cat; } >"$CHARTS/data/$name.gp"
    if gnuplot "$CHARTS/data/$name.gp" 2>"$CHARTS/data/$name.err"; then
        made+=("$f")
        rm -f "$CHARTS/data/$name.err"
    else
        echo "compare-plot.sh: $name failed: $(head -3 "$CHARTS/data/$name.err")" >&2
    fi
}

COMMON="set datafile separator '\t'
set datafile missing 'NaN'
set grid
set key outside right top
set logscale x 2"

for fam in rr rw; do
    case $fam in
    rr) name=randread; what="4 KiB O_DIRECT random reads" ;;
    rw) name=randwrite; what="4 KiB O_DIRECT|O_DSYNC random writes" ;;
    esac
    cl=$(matrix "$fam" iops "$CHARTS/data/iops-$name.tsv") || continue
    xt=$(printf '%s\n' "$cl" | sed -n 's/^XTICS //p')
    xr=$(printf '%s\n' "$cl" | sed -n 's/^XRANGE //p')
    ceil=$(ceiling_of "ceil$fam")
    extra=
    [ -n "$ceil" ] && extra=", $ceil title 'device ceiling (fio 2 jobs, QD 128)' with lines lc rgb '#000000' dt 2 lw 1"
    gp "iops-$name" <<EOF
$COMMON
set title "$what: IOPS against queue depth\n$machine"
set xlabel 'queue depth (operations in flight)'
set ylabel 'IOPS'
set xtics ($xt)
set xrange $xr
set yrange [0:*]
plot $(plot_lines "$cl")$extra
EOF
    cl50=$(matrix "$fam" p50_us "$CHARTS/data/p50-$name.tsv")
    cl99=$(matrix "$fam" p99_us "$CHARTS/data/p99-$name.tsv")
    gp "latency-$name" 1280 <<EOF
$COMMON
set multiplot layout 1,2 title "$what: latency (submitting call to completion)\n$machine"
set xlabel 'queue depth'
set ylabel 'microseconds (log)'
set logscale y
set xtics ($xt)
set xrange $xr
set key inside left top font ',8'
set title 'p50'
plot $(plot_lines "$cl50")
set title 'p99'
unset key
plot $(plot_lines "$cl99")
unset multiplot
EOF
    clc=$(matrix "$fam" cpu_ns "$CHARTS/data/cpu-$name.tsv")
    gp "cpu-$name" <<EOF
$COMMON
set title "$what: CPU time per operation (user + system, every thread)\n$machine"
set xlabel 'queue depth'
set ylabel 'ns per operation (log)'
set logscale y
set xtics ($xt)
set xrange $xr
plot $(plot_lines "$clc")
EOF
done

BARS="$COMMON
unset logscale x
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xtics nomirror"

if cl=$(bars "$CHARTS/data/sequential.tsv" mib_s sr sw); then
    gp sequential <<EOF
$BARS
set title "1 MiB O_DIRECT sequential read and write, QD 8\n$machine"
set ylabel 'MiB/s'
plot $(plot_lines "$cl")
EOF
fi

if cl=$(bars "$CHARTS/data/two-loops.tsv" iops j2rr j2rw ceilrr ceilrw); then
    gp two-loops <<EOF
$BARS
set title "Two loops on two threads, QD $(awk -F'\t' 'NR > 1 && $3 ~ /^j2/ {print $4; exit}' "$SUMMARY") each, each over its own half of the file (fio: numjobs=2)\n$machine"
set ylabel 'IOPS (both loops)'
plot $(plot_lines "$cl")
EOF
fi

# Sync rows relative to pread/pwrite (the targets' measure).
awk -F'\t' -v out="$CHARTS/data/sync.tsv" '
NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
$h["family"] == "sync" {
    w = $h["wl"]; if (!(w in seen)) { seen[w] = 1; n++; ws[n] = w; wl[w] = $h["label"] }
    v[w, $h["engine"]] = $h["iops"]
}
function r(a, b) { return (a != "" && b > 0) ? sprintf("%.3f", a / b) : "NaN" }
END {
    if (n == 0) exit 1
    printf "workload\ttaskio io_uring / pread\ttaskio threads / pread\n" > out
    for (i = 1; i <= n; i++) {
        w = ws[i]; sub(/^sync /, "", wl[w])
        printf "%s\t%s\t%s\n", wl[w], r(v[w, "tio_uring"], v[w, "pread"]), r(v[w, "tio_threads"], v[w, "pread"]) > out
    }
}' "$SUMMARY" && gp sync <<EOF
$BARS
set title "Synchronous caller, QD 1 (start, then tio_wait): IOPS relative to pread/pwrite\n$machine"
set ylabel 'IOPS / pread IOPS'
set xtics rotate by -20
plot "$CHARTS/data/sync.tsv" using 2:xtic(1) title columnheader(2) lc rgb '#d62728', \
     '' using 3 title columnheader(3) lc rgb '#ff7f0e', \
     0.90 with lines dt 2 lc rgb '#d62728' title 'io_uring target 0.90', \
     0.75 with lines dt 2 lc rgb '#ff7f0e' title 'threads target 0.75'
EOF

if cl=$(bars "$CHARTS/data/sync-latency.tsv" p50_us sync); then
    gp sync-latency <<EOF
$BARS
set title "Synchronous caller, QD 1: p50 latency per operation\n$machine"
set ylabel 'microseconds (log)'
set logscale y
set yrange [*:*]
set xtics rotate by -20
plot $(plot_lines "$cl")
EOF
fi

printf '%s\n' "${made[@]}"
