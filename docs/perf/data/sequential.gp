set terminal pngcairo size 960,600 font 'sans,10' noenhanced
set output 'docs/perf/sequential.png'
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
set title "1 MiB O_DIRECT sequential read and write, QD 8\n2 CPUs, AMD EPYC, 23.5 GiB RAM, kernel 6.18.44-fc-v1294, virtualised (docker)"
set ylabel 'MiB/s'
plot "docs/perf/data/sequential.tsv" using 2:xtic(1) title columnheader(2) lc rgb "#d62728","docs/perf/data/sequential.tsv" using 3:xtic(1) title columnheader(3) lc rgb "#ff7f0e","docs/perf/data/sequential.tsv" using 4:xtic(1) title columnheader(4) lc rgb "#1f77b4","docs/perf/data/sequential.tsv" using 5:xtic(1) title columnheader(5) lc rgb "#17becf","docs/perf/data/sequential.tsv" using 6:xtic(1) title columnheader(6) lc rgb "#2ca02c","docs/perf/data/sequential.tsv" using 7:xtic(1) title columnheader(7) lc rgb "#9467bd","docs/perf/data/sequential.tsv" using 8:xtic(1) title columnheader(8) lc rgb "#e377c2"
