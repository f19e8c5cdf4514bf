set terminal pngcairo size 960,600 font 'sans,10' noenhanced
set output 'docs/perf/sync-latency.png'
set datafile separator '\t'
set datafile missing 'NaN'
set grid
set key outside right top
set logscale x 2
unset logscale x
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xtics nomirror
set title "Synchronous caller, QD 1: p50 latency per operation\n2 CPUs, AMD EPYC, 23.5 GiB RAM, kernel 6.18.44-fc-v1294, virtualised (docker)"
set ylabel 'microseconds (log)'
set logscale y
set yrange [*:*]
set xtics rotate by -20
plot "docs/perf/data/sync-latency.tsv" using 2:xtic(1) title columnheader(2) lc rgb "#d62728","docs/perf/data/sync-latency.tsv" using 3:xtic(1) title columnheader(3) lc rgb "#ff7f0e","docs/perf/data/sync-latency.tsv" using 4:xtic(1) title columnheader(4) lc rgb "#7f7f7f"
