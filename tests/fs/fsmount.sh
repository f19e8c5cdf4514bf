#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a command with TIO_TEST_DIR on a freshly made filesystem:
#
#   fsmount.sh FS WORKDIR COMMAND [ARG...]
#
# FS is ext4, xfs or btrfs (a sparse image on a loop device), tmpfs, or
# sector4k (ext4 on a loop device with 4096-byte logical sectors,
# losetup --sector-size 4096). The image is a sparse file on a tmpfs mounted
# under WORKDIR in the namespace: memory-backed, removed once the loop device
# holds it, and with no host-disk flushes behind the loop device.
#
# Nothing outlives the run, whatever ends it: the mount is made in a private
# mount namespace (unshare -m), so it dies with the last process in it, and
# the loop device is detached while mounted (LOOP_CLR_FD on a busy device
# sets autoclear: the kernel frees it when that mount goes). The trap covers
# the ordinary ends. Exit 77 (CTest's visible skip) with the reason printed
# where this is not root, or the kernel or the tools lack the filesystem.
set -eu

skip() {
    echo "SKIP: fs $fs: $*"
    exit 77
}

if [ "${1:-}" != --inside ]; then
    [ $# -ge 3 ] || {
        echo "usage: $0 ext4|xfs|btrfs|tmpfs|sector4k WORKDIR COMMAND [ARG...]" >&2
        exit 2
    }
    fs=$1
    [ "$(id -u)" -eq 0 ] || skip "not root: cannot make loop devices or mount"
    kfs=$fs
    case $fs in
    ext4 | sector4k) kfs=ext4 mkfs=mkfs.ext4 ;;
    xfs) mkfs=mkfs.xfs ;;
    btrfs) mkfs=mkfs.btrfs ;;
    tmpfs) mkfs= ;;
    *)
        echo "$0: unknown filesystem '$fs'" >&2
        exit 2
        ;;
    esac
    if [ -n "$mkfs" ]; then
        command -v "$mkfs" >/dev/null 2>&1 || skip "$mkfs not installed (scripts/deps.sh installs it)"
        command -v losetup >/dev/null 2>&1 || skip "losetup not installed"
        [ -e /dev/loop-control ] || skip "no /dev/loop-control: no loop devices here"
    fi
    if ! grep -qw "$kfs" /proc/filesystems; then
        modprobe "$kfs" >/dev/null 2>&1 || true
        grep -qw "$kfs" /proc/filesystems || skip "the kernel has no $kfs"
    fi
    command -v unshare >/dev/null 2>&1 || skip "unshare not installed"
    unshare -m true 2>/dev/null || skip "unshare -m refused: no private mount namespace"
    exec unshare -m --propagation private sh "$0" --inside "$@"
fi

# ---------------------------------------------------------------- inside
shift
fs=$1
work=$2
shift 2
mkdir -p "$work"
mnt="$work/mnt.$fs.$$"
store="$work/store.$fs.$$"
img="$store/img"
dev=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
    rc=$?
    trap - EXIT INT TERM HUP
    if mountpoint -q "$mnt" 2>/dev/null; then
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
    if [ -n "$dev" ]; then
        losetup -d "$dev" 2>/dev/null || true
    fi
    rm -f "$img"
    if mountpoint -q "$store" 2>/dev/null; then
        umount "$store" 2>/dev/null || umount -l "$store" 2>/dev/null || true
    fi
    rmdir "$mnt" "$store" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$mnt"

# Sizes in MiB: the least each mkfs accepts, rounded up (xfs wants 300; btrfs,
# below 1 GiB, runs out of data chunks for the conformance suite's few MiB).
# Sparse: only what is written takes memory.
case $fs in
ext4 | sector4k) mb=64 ;;
xfs) mb=300 ;;
btrfs) mb=1024 ;;
*) mb=64 ;;
esac
# make torture asks for bigger ones.
mb=${TIO_FS_IMAGE_MB:-$mb}

if [ "$fs" = tmpfs ]; then
    mount -t tmpfs -o "size=${mb}m" tmpfs "$mnt" || skip "cannot mount a tmpfs"
else
    # The image is memory-backed (a tmpfs in this namespace, under WORKDIR):
    # what is tested is the filesystem and taskio, not the host's disk,
    # whose flushes behind a loop device made btrfs' DSYNC writes ten
    # times slower.
    mkdir -p "$store"
    mount -t tmpfs -o "size=$((mb + 64))m" tmpfs "$store" || skip "cannot mount a tmpfs for the image"
    truncate -s "${mb}M" "$img"
    if [ "$fs" = sector4k ]; then
        dev=$(losetup -f --show --sector-size 4096 "$img" 2>/dev/null) ||
            skip "losetup --sector-size 4096 refused"
        mkfs.ext4 -q -F "$dev" >/dev/null
    else
        case $fs in
        ext4) mkfs.ext4 -q -F "$img" >/dev/null ;;
        xfs) mkfs.xfs -q -f "$img" >/dev/null ;;
        btrfs) mkfs.btrfs -q -f "$img" >/dev/null ;;
        esac
        dev=$(losetup -f --show "$img" 2>/dev/null) || skip "no free loop device"
    fi
    mount "$dev" "$mnt" || skip "cannot mount $fs from $dev"
    losetup -d "$dev" # autoclear: freed with the mount
    dev=
    rm -f "$img"
fi
echo "fsmount: $fs on $mnt ($(findmnt -n -o SOURCE,FSTYPE,OPTIONS "$mnt" 2>/dev/null || echo mounted))"
set +e
TIO_TEST_DIR=$mnt "$@"
rc=$?
set -e
exit $rc
