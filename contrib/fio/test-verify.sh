#!/bin/sh
# SPDX-License-Identifier: MIT
# fio data-integrity checks through libtio-fio.so (registered with add_test in
# CMakeLists.txt; ctest runs them as fio.verify*).
#
#   test-verify.sh verify  FIO ENGINE BACKEND direct|buffered 4k|bssplit WORKDIR [SKIP_REASON]
#   test-verify.sh corrupt FIO ENGINE BACKEND direct|buffered 4k|bssplit WORKDIR [SKIP_REASON]
#
# verify:  one fio job: rw=randwrite over a 32 MiB file, every block written
#          once with a crc32c header+checksum (verify=crc32c), then read back
#          and checked (do_verify=1, verify_fatal=1). Passes only if fio exits
#          0, reports no error, and read back as many bytes as it wrote.
# corrupt: the check must be able to fail: write the file through the engine,
#          overwrite a few blocks behind its back, then a verify_only pass
#          through the engine must report verify failures.
#
# Exit 0 pass, 1 fail, 77 skipped (no fio, engine not built, io_uring refused
# by this kernel/container, filesystem refuses O_DIRECT), with the reason.
set -u

[ $# -ge 7 ] || {
    echo "usage: $0 verify|corrupt FIO ENGINE BACKEND direct|buffered 4k|bssplit WORKDIR [SKIP_REASON]" >&2
    exit 2
}
mode=$1 fio=$2 engine=$3 backend=$4 io=$5 bs=$6 work=$7 skip=${8:-}
tag="fio.$mode: backend=$backend $io bs=$bs"

skip() {
    echo "$tag: SKIPPED: $*"
    exit 77
}
fail() {
    echo "$tag: FAIL: $*"
    exit 1
}

[ -z "$skip" ] || skip "$skip"
if [ -z "$fio" ] || ! command -v "$fio" >/dev/null 2>&1; then
    skip "fio is not installed (apt-get install fio)"
fi
if [ -z "$engine" ] || [ ! -f "$engine" ]; then
    skip "the engine ${engine:-libtio-fio.so} was not built"
fi

rm -rf "$work"
mkdir -p "$work" || fail "cannot create $work"
file=$work/data

direct=0
[ "$io" = direct ] && direct=1
case $bs in
4k) bsopt="--bs=4k --iodepth=32" ;;
bssplit) bsopt="--bssplit=4k/40:8k/20:16k/20:64k/20 --iodepth=16" ;;
*) fail "unknown block size case '$bs'" ;;
esac

# One job: the same offsets and seeds on every run (randrepeat, fixed seed),
# so a verify_only pass replays the writes of an earlier one.
# shellcheck disable=SC2086 # $bsopt is several options
run_fio() {
    out=$1
    shift
    "$fio" --name=tio-verify --filename="$file" --size=32m \
        --ioengine=external:"$engine" --tio_backend="$backend" \
        --direct=$direct $bsopt --rw=randwrite --randrepeat=1 --randseed=4242 \
        --verify=crc32c --verify_fatal=1 --exitall_on_error=1 --tio_verbose=1 \
        --output-format=terse,normal "$@" >"$out" 2>&1
}

# Environmental refusals are skips, not failures.
check_env() {
    if grep -q "is not available here" "$1"; then
        cat "$1"
        skip "the $backend backend is not available on this machine (see above)"
    fi
    if [ $direct = 1 ] && grep -q "does not support O_DIRECT" "$1"; then
        cat "$1"
        skip "the filesystem of $work refuses O_DIRECT"
    fi
}

# terse v3: field 5 error, 6 read KiB, 8 read IOPS, 47 write KiB, 49 write IOPS
terse() { grep '^3;fio-' "$1" | tail -n 1 | cut -d';' -f"$2"; }

case $mode in
verify)
    log=$work/fio.log
    run_fio "$log" --do_verify=1
    rc=$?
    check_env "$log"
    cat "$log"
    [ $rc -eq 0 ] || fail "fio exited with $rc"
    grep -qi "verify.*fail\|bad magic\|bad header" "$log" && fail "fio reported a verify failure"
    err=$(terse "$log" 5)
    rkb=$(terse "$log" 6)
    wkb=$(terse "$log" 47)
    [ "$err" = 0 ] || fail "fio job error $err"
    if [ -z "$wkb" ] || [ "$wkb" -le 0 ]; then
        fail "nothing was written"
    fi
    [ "$rkb" = "$wkb" ] || fail "verified $rkb KiB but wrote $wkb KiB"
    # The engine says how it ran: the backend asked for, the open mode asked for.
    grep -q "fio: taskio: job tio-verify runs on the $backend backend" "$log" ||
        fail "the job did not run on the $backend backend"
    grep -q "fio: taskio: opened $file: direct=$direct " "$log" ||
        fail "the engine did not open $file with direct=$direct"
    echo "$tag: PASS: wrote and verified $wkb KiB (write $(terse "$log" 49) IOPS," \
        "verify read $(terse "$log" 8) IOPS)"
    ;;
corrupt)
    log1=$work/fio-write.log log2=$work/fio-verify.log
    run_fio "$log1" --do_verify=0
    rc=$?
    check_env "$log1"
    [ $rc -eq 0 ] || {
        cat "$log1"
        fail "the write pass failed (fio exited with $rc)"
    }
    # Overwrite three 4 KiB blocks (each block was written once, so each
    # holds a verify header) with bytes that are not what fio wrote.
    for blk in 7 2049 6000; do
        dd if=/dev/urandom of="$file" bs=4096 seek=$blk count=1 conv=notrunc 2>/dev/null ||
            fail "dd could not corrupt block $blk"
    done
    sync
    run_fio "$log2" --verify_only=1 --verify_fatal=0
    rc=$?
    cat "$log2"
    [ $rc -ne 0 ] || fail "fio exited 0 after reading corrupted blocks: the verify check cannot fail"
    grep -qi "verify\|bad magic\|crc32c" "$log2" ||
        fail "fio failed (exit $rc) but not with a verify error"
    echo "$tag: PASS: fio's verify pass through the engine caught the corrupted blocks (exit $rc)"
    ;;
*) fail "unknown mode '$mode'" ;;
esac
rm -rf "$work"
exit 0
