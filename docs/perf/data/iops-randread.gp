set terminal pngcairo size 960,600 font 'sans,10' noenhanced
set output 'docs/perf/iops-randread.png'
set datafile separator '\t'
set datafile missing 'NaN'
set grid
set key outside right top
set logscale x 2
set title "4 KiB O_DIRECT random reads: IOPS against queue depth\n2 CPUs, AMD EPYC, 23.5 GiB RAM, kernel 6.18.44-fc-v1294, virtualised (docker)"
set xlabel 'queue depth (operations in flight)'
set ylabel 'IOPS'
set xtics ("1" 1, "4" 4, "16" 16, "32" 32, "64" 64, "128" 128)
set xrange [0.8:160]
set yrange [0:*]
plot "docs/perf/data/iops-randread.tsv" using 1:2 title columnheader(2) with linespoints lc rgb "#d62728" lw 3 pt 7,"docs/perf/data/iops-randread.tsv" using 1:3 title columnheader(3) with linespoints lc rgb "#ff7f0e" lw 3 pt 5,"docs/perf/data/iops-randread.tsv" using 1:4 title columnheader(4) with linespoints lc rgb "#1f77b4" lw 2 pt 9,"docs/perf/data/iops-randread.tsv" using 1:5 title columnheader(5) with linespoints lc rgb "#17becf" lw 2 pt 11,"docs/perf/data/iops-randread.tsv" using 1:6 title columnheader(6) with linespoints lc rgb "#2ca02c" lw 2 pt 3,"docs/perf/data/iops-randread.tsv" using 1:7 title columnheader(7) with linespoints lc rgb "#7f7f7f" lw 2 pt 2,"docs/perf/data/iops-randread.tsv" using 1:8 title columnheader(8) with linespoints lc rgb "#9467bd" lw 2 pt 8,"docs/perf/data/iops-randread.tsv" using 1:9 title columnheader(9) with linespoints lc rgb "#e377c2" lw 2 pt 10, 154587.9 title 'device ceiling (fio 2 jobs, QD 128)' with lines lc rgb '#000000' dt 2 lw 1
