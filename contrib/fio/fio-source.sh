#!/bin/sh
# SPDX-License-Identifier: MIT
# Prepare the fio source tree that matches the INSTALLED fio, so an external
# ioengine built against it has the installed binary's FIO_IOOPS_VERSION and
# struct layouts.
#
#   contrib/fio/fio-source.sh CACHE_DIR [FIO_BINARY]
#
# Asks dpkg which fio package version is installed (e.g. 3.33-3), fetches that
# exact Debian source package with scripts/debian-source.sh (private apt sources list),
# and runs fio's ./configure so config-host.h exists. Prints the source
# directory on stdout. Cached: a tree that already has config-host.h is reused.
#
# Falls back, for a fio not installed by dpkg, to the version `fio --version`
# prints, looked up in Debian's suite (which may not have it).
#
# Layout note: the libraries configure detects (libaio, rdma, numa, ...) only
# change which members the union at the END of struct io_u has, and which
# prototypes are declared; thread_data, thread_options, fio_file and the
# fields of io_u the engine touches do not depend on them. So configure here
# needs no -dev packages beyond a C compiler.
set -eu

say() { echo "fio-source: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[ $# -ge 1 ] || die "usage: $0 CACHE_DIR [FIO_BINARY]"
cache=$1
fio=${2:-fio}
here=$(cd "$(dirname "$0")" && pwd)

command -v "$fio" >/dev/null 2>&1 || die "fio ($fio) is not installed: apt-get install fio"
fiover=$("$fio" --version 2>/dev/null | sed -n 's/^fio-//p' | head -n 1)
[ -n "$fiover" ] || die "could not read the version from '$fio --version'"

debver=""
if command -v dpkg-query >/dev/null 2>&1; then
    debver=$(dpkg-query -W -f='${Version}' fio 2>/dev/null || true)
fi
if [ -n "$debver" ]; then
    up=${debver#*:}
    up=${up%-*}
    [ "$up" = "$fiover" ] ||
        die "'$fio --version' says $fiover but the installed fio package is $debver: which fio is this?"
    spec="fio=$debver"
else
    say "fio $fiover is not a dpkg-installed package; trying the fio source in Debian (must be $fiover)"
    spec="fio"
fi

srcdir=$(sh "$here/../../scripts/debian-source.sh" "$spec" "$cache")
[ -f "$srcdir/ioengines.h" ] || die "$srcdir has no ioengines.h"
case $srcdir in
*/fio-"$fiover") ;;
*) die "unpacked $srcdir does not match the installed fio $fiover" ;;
esac

if [ ! -f "$srcdir/config-host.h" ]; then
    t0=$(date +%s)
    say "running fio's ./configure in $srcdir"
    # Debian's own flags (debian/rules) minus the GUI and libnbd, which need
    # their -dev packages and change no layout the engine sees.
    (cd "$srcdir" && ./configure --disable-native --prefix=/usr) >"$cache/fio-configure.log" 2>&1 || {
        rm -f "$srcdir/config-host.h"
        die "fio's ./configure failed; see $cache/fio-configure.log"
    }
    say "configured in $(($(date +%s) - t0)) s"
fi
echo "$srcdir"
