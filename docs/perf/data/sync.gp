set terminal pngcairo size 960,600 font 'sans,10' noenhanced
set output 'docs/perf/sync.png'
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
set title "Synchronous caller, QD 1 (start, then tio_wait): IOPS relative to pread/pwrite\n2 CPUs, AMD EPYC, 23.5 GiB RAM, kernel 6.18.44-fc-v1294, virtualised (docker)"
set ylabel 'IOPS / pread IOPS'
set xtics rotate by -20
plot "docs/perf/data/sync.tsv" using 2:xtic(1) title columnheader(2) lc rgb '#d62728',      '' using 3 title columnheader(3) lc rgb '#ff7f0e',      0.90 with lines dt 2 lc rgb '#d62728' title 'io_uring target 0.90',      0.75 with lines dt 2 lc rgb '#ff7f0e' title 'threads target 0.75'
