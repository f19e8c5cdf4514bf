#!/bin/sh
# SPDX-License-Identifier: MIT
# downstream.pkgconfig_{shared,static}: build consumer.c as a Makefile user
# would, with pkg-config against an installed taskio, and run it.
#
#   tests/downstream/pkgconfig.sh shared|static PREFIX LIBDIR WORKDIR [CC]
#
# shared: cc $(pkg-config --cflags --libs taskio); the program must load
#         libtaskio.so.0 from PREFIX.
# static: cc -static $(pkg-config --static --cflags --libs taskio): a fully
#         static program, so taskio.pc's Libs.private and Requires.private
#         must name every library libtaskio.a needs.
set -eu

[ $# -ge 4 ] || {
    echo "usage: $0 shared|static PREFIX LIBDIR WORKDIR [CC]" >&2
    exit 2
}
mode=$1
prefix=$2
libdir=$3
work=$4
cc=${5:-cc}
here=$(cd "$(dirname "$0")" && pwd)

export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
echo "pkg-config taskio: $(pkg-config --modversion taskio) from $(pkg-config --variable=prefix taskio)"
[ "$(pkg-config --variable=prefix taskio)" = "$prefix" ] || {
    echo "taskio.pc's prefix is not $prefix" >&2
    exit 1
}

flags="-std=c11 -Wall -Wextra -Wpedantic -Werror"
case $mode in
shared)
    libs=$(pkg-config --cflags --libs taskio)
    echo "$cc $flags consumer.c $libs -Wl,-rpath,$libdir"
    # shellcheck disable=SC2086 # words from pkg-config
    "$cc" $flags -o consumer "$here/consumer.c" $libs -Wl,-rpath,"$libdir"
    ldd ./consumer | grep "libtaskio\.so\.0 => $libdir/libtaskio\.so\.0" || {
        echo "consumer does not load $libdir/libtaskio.so.0:" >&2
        ldd ./consumer >&2
        exit 1
    }
    ;;
static)
    libs=$(pkg-config --static --cflags --libs taskio)
    echo "$cc -static $flags consumer.c $libs"
    # shellcheck disable=SC2086 # words from pkg-config
    "$cc" -static $flags -o consumer "$here/consumer.c" $libs
    if ldd ./consumer >/dev/null 2>&1; then
        echo "consumer is not a static program:" >&2
        ldd ./consumer >&2
        exit 1
    fi
    ;;
*)
    echo "mode must be shared or static, not $mode" >&2
    exit 2
    ;;
esac
./consumer
