#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a command on a fresh tio-faultfs mount:
#
#   fusemount.sh FAULTFS WORKDIR "FAULTFS OPTIONS" COMMAND [ARG...]
#
# The backing directory and the mount point are made under WORKDIR; the
# command runs with TIO_TEST_DIR set to the mount point and TIO_FUSE_BACKING
# to the backing directory. The mount is made in a private mount namespace
# (unshare -m), so it dies with the last process in it whatever ends the
# run; the trap unmounts and removes the rest on the ordinary ends. Exit 77
# (CTest's visible skip) with the reason where this is not root or the
# kernel has no FUSE.
set -eu

skip() {
    echo "SKIP: fuse: $*"
    exit 77
}

if [ "${1:-}" != --inside ]; then
    [ $# -ge 4 ] || {
        echo "usage: $0 FAULTFS WORKDIR \"OPTIONS\" COMMAND [ARG...]" >&2
        exit 2
    }
    [ "$(id -u)" -eq 0 ] || skip "not root: cannot mount in a private namespace"
    [ -c /dev/fuse ] || skip "no /dev/fuse"
    grep -qw fuse /proc/filesystems || modprobe fuse >/dev/null 2>&1 || true
    grep -qw fuse /proc/filesystems || skip "the kernel has no FUSE"
    command -v unshare >/dev/null 2>&1 || skip "unshare not installed"
    unshare -m true 2>/dev/null || skip "unshare -m refused: no private mount namespace"
    exec unshare -m --propagation private sh "$0" --inside "$@"
fi

shift
faultfs=$1
work=$2
opts=$3
shift 3
base="$work/fuse.$$"
mnt="$base/mnt"
backing="$base/backing"
pid=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
    rc=$?
    trap - EXIT INT TERM HUP
    if mountpoint -q "$mnt" 2>/dev/null; then
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$base"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$mnt" "$backing"
# shellcheck disable=SC2086 # one word per option
"$faultfs" "$backing" "$mnt" $opts &
pid=$!
i=0
until mountpoint -q "$mnt"; do
    i=$((i + 1))
    kill -0 "$pid" 2>/dev/null || skip "tio-faultfs did not mount (see above)"
    [ $i -lt 500 ] || skip "tio-faultfs did not mount within 5 s"
    sleep 0.01
done
echo "fusemount: tio-faultfs $opts on $mnt, backing $backing"
set +e
TIO_TEST_DIR=$mnt TIO_FUSE_BACKING=$backing "$@"
rc=$?
set -e
tr '\n' ' ' <"$mnt/.faultfs" | sed 's/^/fusemount: faultfs counters: /; s/ $/\n/'
exit $rc
