#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-compile and link taskio for macOS with zig: the libraries (static
# and shared), tio-bench and the Check programs (conformance, unit_common),
# warnings as errors. Nothing runs: this catches macOS breakage (a Linux-only
# call, a missing declaration, an undefined symbol) on a Linux machine.
#
#   scripts/macos-cross.sh TARGET [CACHE_DIR]   # TARGET: x86_64-macos | aarch64-macos
#
# CACHE_DIR (default build/macos) keeps zig, its caches, Check for each
# target and the build trees, so a second run rebuilds only what changed.
# Exit 0: everything linked; 77: zig could not be obtained (skip); else a
# failure, with the log shown.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

say() { echo "macos-cross: $*" >&2; }

[ $# -ge 1 ] || {
    say "usage: $0 TARGET [CACHE_DIR]"
    exit 2
}
target=$1
cache=${2:-$repo/build/macos}
case $target in
x86_64-macos | aarch64-macos) ;;
*)
    say "TARGET must be x86_64-macos or aarch64-macos"
    exit 2
    ;;
esac
t0=$(date +%s)

rc=0
bin=$(sh "$here/zig.sh" "$cache" "$target") || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

deps=$cache/$target/deps
sh "$here/build-check-macos.sh" "$bin" "$target" "$deps"

tree=$cache/$target/build
log=$cache/$target/build.log
show_log() {
    grep -E "error|warning|undefined" "$log" | head -n 40 >&2 || true
    say "failed: see $log"
    exit 1
}
# Debug: -O0 compiles in half the time, and zig's clang warns the same.
cmake -S "$repo" -B "$tree" \
    -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/zig-macos.cmake" \
    -DTIO_ZIG_BIN="$bin" -DTIO_ZIG_TARGET="$target" -DTIO_MACOS_PREFIX="$deps" \
    -DCMAKE_BUILD_TYPE=Debug -DTIO_WERROR=ON \
    -DTIO_BUILD_CONTRIB=OFF -DTIO_TEST_LIBURING_NEWEST=OFF -DTIO_TEST_DOWNSTREAM=OFF \
    -DTIO_TEST_MACOS=OFF >"$log" 2>&1 || show_log
targets="taskio taskio_static tio-bench conformance unit_common"
# shellcheck disable=SC2086 # one word per target
cmake --build "$tree" -j"$(nproc 2>/dev/null || echo 2)" --target $targets >>"$log" 2>&1 ||
    show_log
for f in libtaskio.dylib tio-bench tests/conformance tests/unit_common; do
    [ -f "$tree/$f" ] || {
        say "$tree/$f was not produced"
        exit 1
    }
done
say "$target: libtaskio.a, libtaskio.dylib, tio-bench, conformance, unit_common linked in $(($(date +%s) - t0)) s"
