#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what taskio needs to build and test on Debian/Ubuntu, if missing.
#
#   scripts/deps.sh [threads-only | windows]
#
# threads-only: skip liburing-dev (for -DTIO_BACKENDS=threads builds).
# windows: what the mingw-w64 cross build and its Wine test run need
# (dpkg-dev unpacks Debian's Check source for the cross-built Check).
# Prints nothing when everything is installed. As root it installs the
# missing packages; otherwise it prints the command to run and exits 1.
set -eu

# libsubunit-dev: check's pkg-config file lists -lsubunit.
pkgs="cmake make gcc pkg-config check libsubunit-dev"
case "${1:-}" in
# clang and its runtimes: the sanitizer builds and the fuzzer.
# fio and dpkg-dev: the fio ioengine builds against fio's Debian source.
# mandoc: docs.man_lint (mandoc -Tlint over man/); clang-format-14: format.check.
# e2fsprogs, xfsprogs, btrfs-progs: the filesystem matrix (tests/fs);
# libfuse3-dev, fuse3: tio-faultfs, the EIO and power-loss tests (tests/fuse).
"") pkgs="$pkgs liburing-dev clang libclang-rt-14-dev fio dpkg-dev python3 mandoc clang-format-14
    e2fsprogs xfsprogs btrfs-progs libfuse3-dev fuse3" ;;
threads-only) ;;
windows) pkgs="cmake make pkg-config gcc-mingw-w64-x86-64 wine wine64 dpkg-dev" ;;
*)
    echo "usage: $0 [threads-only | windows]" >&2
    exit 2
    ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: not a Debian system; make sure these are installed: $pkgs" >&2
    exit 0
fi

missing=""
for p in $pkgs; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

echo "deps.sh: missing build dependencies:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: not root, so not installing them; run:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y$missing" >&2
    exit 1
fi
apt-get update
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
