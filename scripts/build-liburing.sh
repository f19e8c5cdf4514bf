#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the newest liburing Debian ships (its source package in sid, by
# default) into a private prefix, so the io_uring backend can be built and
# tested against it as well as against bookworm's liburing-dev (2.3).
#
#   scripts/build-liburing.sh PREFIX [CACHE_DIR]
#
# PREFIX gets include/, lib/ (liburing.so.2 and liburing.a) and
# lib/pkgconfig/liburing.pc; nothing outside PREFIX and CACHE_DIR (default
# PREFIX.cache) is written. The last line on stdout is the liburing version
# built, e.g. 2.15. Cached: when PREFIX already holds a build it prints its
# version and does nothing else (delete PREFIX to rebuild, e.g. after sid
# moved on).
#
# The source is fetched by scripts/debian-source.sh through a private apt
# sources list; /etc/apt is never touched.
#
# Environment:
#   TIO_LIBURING_SUITE   Debian suite to take the source from (default: sid)
#   TIO_DEBIAN_MIRROR    mirror URL (see scripts/debian-source.sh)
set -eu

here=$(cd "$(dirname "$0")" && pwd)

say() { echo "build-liburing: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: $0 PREFIX [CACHE_DIR]"
fi
prefix=$1
case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
cache=${2:-$prefix.cache}
case $cache in
/*) ;;
*) cache=$(pwd)/$cache ;;
esac
suite=${TIO_LIBURING_SUITE:-sid}
stamp=$prefix/.tio-liburing-version

if [ -f "$stamp" ] && [ -f "$prefix/lib/pkgconfig/liburing.pc" ]; then
    version=$(cat "$stamp")
    say "liburing $version already built in $prefix (delete it to rebuild)"
    echo "$version"
    exit 0
fi

for tool in make cc; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; on Debian: apt-get install make gcc"
done

# ------------------------------------------------------------ fetch source
srcdir=$(TIO_DEBIAN_SUITE=$suite sh "$here/debian-source.sh" liburing "$cache") ||
    die "could not fetch the liburing source package from $suite"
version=${srcdir##*/liburing-}
say "liburing $version from Debian $suite: $srcdir"

# ------------------------------------------------------------ build, install
# liburing builds in its source tree: build a copy, so the unpacked source
# stays pristine and a failed build leaves nothing half-done in PREFIX.
t0=$(date +%s)
builddir=$cache/build
rm -rf "$builddir" "$prefix"
cp -R "$srcdir" "$builddir"
jobs=$(nproc 2>/dev/null || echo 2)
log=$cache/build.log
(
    cd "$builddir"
    ./configure --prefix="$prefix" --libdir="$prefix/lib" --libdevdir="$prefix/lib" \
        --includedir="$prefix/include" --mandir="$prefix/share/man"
    # The library only: liburing's own tests and examples are not needed.
    make -C src -j"$jobs"
    make install
) >"$log" 2>&1 || die "building liburing $version failed; see $log"
if [ ! -f "$prefix/lib/pkgconfig/liburing.pc" ] || [ ! -f "$prefix/include/liburing.h" ]; then
    die "install did not produce $prefix/lib/pkgconfig/liburing.pc and include/liburing.h"
fi
echo "$version" >"$stamp"
say "built and installed in $prefix in $(($(date +%s) - t0)) s"
echo "$version"
