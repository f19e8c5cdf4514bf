#!/bin/sh
# SPDX-License-Identifier: MIT
# examples/wal.c across simulated power cuts, on a tio-faultfs mount with
# --lazy --crash-on-close (run under fusemount.sh, which sets TIO_TEST_DIR):
#
#   walcrash.sh EXAMPLE_WAL WALCHECK BACKEND dsync|fsync ROUNDS
#
# Each round runs the WAL twice: once to the end (it exits 0 only once every
# record was acknowledged) and once killed with SIGKILL at a random moment.
# Each close of the log, the kill's included, is a crash: every write that
# was not made durable is discarded. Then tio-walcheck reads the log: after
# the full run every acknowledged record must be there; after the kill the
# log must be an intact prefix.
set -eu
wal=$1
check=$2
backend=$3
mode=$4
rounds=$5
dir=$TIO_TEST_DIR
writers=4
records=50
total=$((writers * records))
flag=
[ "$mode" = fsync ] && flag=--fsync
verified=0
r=0
while [ $r -lt "$rounds" ]; do
    log="$dir/wal-$r.log"
    # shellcheck disable=SC2086 # $flag: no word, or one
    "$wal" --backend "$backend" $flag --writers $writers --records $records "$log" >/dev/null
    out=$("$check" "$log" $total)
    echo "round $r, full run, crash at close: $out"
    verified=$((verified + total))

    # shellcheck disable=SC2086
    "$wal" --backend "$backend" $flag --writers $writers --records 100000 "$log" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((10 + $(od -An -N1 -tu1 /dev/urandom | tr -d ' ') % 30))"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    echo "round $r, killed: $("$check" "$log")"
    r=$((r + 1))
done
crashes=$(sed -n 's/^crashes //p' "$dir/.faultfs")
echo "walcrash[$backend, $mode]: $rounds rounds, $crashes crashes simulated, $verified acknowledged records verified after a crash, none lost"
