#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Check unit-test library for macOS with zig, from Debian's
# source package (the same Check 0.15.2 the Linux and mingw builds use), so
# the conformance programs can be linked for macOS.
#
#   scripts/build-check-macos.sh ZIG_BIN TARGET PREFIX
#
# ZIG_BIN: the wrappers of scripts/zig.sh; TARGET: x86_64-macos or
# aarch64-macos. Installs PREFIX/lib/libcheck.a, PREFIX/include/check*.h and
# PREFIX/lib/pkgconfig/check.pc. Cached: does nothing when they exist.
#
# The source is fetched by scripts/debian-source.sh into $TIO_CHECK_SOURCE_CACHE
# (default build/windows/cache, shared with scripts/build-check-mingw.sh).
# Only the static library is built; Check's configure checks are answered
# by cmake/check-macos-cache.cmake.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

say() { echo "build-check-macos: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[ $# -eq 3 ] || die "usage: $0 ZIG_BIN TARGET PREFIX"
bin=$1
target=$2
prefix=$3
case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
if [ -f "$prefix/lib/libcheck.a" ] && [ -f "$prefix/lib/pkgconfig/check.pc" ]; then
    exit 0
fi
cache=${TIO_CHECK_SOURCE_CACHE:-$repo/build/windows/cache}

srcdir=$(sh "$here/debian-source.sh" check "$cache") ||
    die "could not fetch the Check source package"

t0=$(date +%s)
work=$prefix.build
rm -rf "$work" "$prefix"
# zig's macOS headers have no frameworks; Check's lib/clock_gettime.c
# includes <CoreServices/CoreServices.h> on macOS and uses none of it.
mkdir -p "$work/stub/CoreServices"
echo "/* empty: see scripts/build-check-macos.sh */" >"$work/stub/CoreServices/CoreServices.h"
say "building $(basename "$srcdir") for $target into $prefix"
cmake -C "$repo/cmake/check-macos-cache.cmake" -S "$srcdir" -B "$work" \
    -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/zig-macos.cmake" \
    -DTIO_ZIG_BIN="$bin" -DTIO_ZIG_TARGET="$target" -DTIO_MACOS_PREFIX= \
    -DCMAKE_C_FLAGS="-I$work/stub" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF -DCHECK_ENABLE_GCOV=OFF >"$work/configure.log" 2>&1 ||
    die "configuring Check failed; see $work/configure.log"
cmake --build "$work" --target check -j"$(nproc 2>/dev/null || echo 2)" >"$work/build.log" 2>&1 ||
    die "building Check failed; see $work/build.log"

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$work/src/libcheck.a" "$prefix/lib/"
cp "$work/src/check.h" "$work/check_stdint.h" "$prefix/include/"
# Check's own check.pc names Debian's -lcheck_pic; this one the library built.
cat >"$prefix/lib/pkgconfig/check.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: Check
Description: A unit test framework for C (built for $target with zig)
Version: $(basename "$srcdir" | sed 's/^check-//')
Libs: -L\${libdir} -lcheck -lm
Cflags: -I\${includedir}
EOF
say "built in $(($(date +%s) - t0)) s"
