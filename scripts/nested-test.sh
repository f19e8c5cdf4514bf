#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A nested build and its tests, as a CTest entry runs them:
#
#   scripts/nested-test.sh SOURCE BUILD [cmake configure options...] -- COMMAND...
#
# configures SOURCE into BUILD with the options, builds it on every core,
# then runs COMMAND in BUILD. What `ctest --build-and-test` does, except
# that its build is serial: CMake resets MAKEFLAGS for the builds it drives
# and does not read CMAKE_BUILD_PARALLEL_LEVEL there (CMake 3.25), which
# made the sanitizer and threads-only builds compile on one core.
set -euo pipefail
src=$1 bin=$2
shift 2
opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    opts+=("$1")
    shift
done
if [ $# -lt 2 ]; then
    echo "usage: $0 SOURCE BUILD [cmake options...] -- COMMAND..." >&2
    exit 2
fi
shift
cmake -S "$src" -B "$bin" "${opts[@]}"
cmake --build "$bin" -j"$(nproc 2>/dev/null || echo 2)"
cd "$bin"
exec "$@"
