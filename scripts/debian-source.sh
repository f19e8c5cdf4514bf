#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetch and unpack a Debian source package through a PRIVATE apt sources
# list and lists directory (/etc/apt is never touched). Used by
# scripts/build-check-mingw.sh (Check) and contrib/fio/fio-source.sh (fio).
#
#   scripts/debian-source.sh PACKAGE[=VERSION] CACHE_DIR
#
# Unpacks into CACHE_DIR/src/PACKAGE-UPSTREAMVERSION (dpkg-source applies
# Debian's patches) and prints that directory on stdout; progress goes to
# stderr. Cached: when a matching directory already exists it only prints it.
#
# Environment:
#   TIO_DEBIAN_MIRROR  mirror URL (default: the one this machine's apt uses
#                      for the suite, else http://deb.debian.org/debian)
#   TIO_DEBIAN_SUITE   suite (default: bookworm)
#
# Needs apt-get and dpkg-source (package dpkg-dev; installed here when
# missing and running as root).
set -eu

say() { echo "debian-source: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

[ $# -eq 2 ] || die "usage: $0 PACKAGE[=VERSION] CACHE_DIR"
spec=$1
cache=$2
case $cache in
/*) ;;
*) cache=$(pwd)/$cache ;;
esac
pkg=${spec%%=*}
version=""
[ "$pkg" = "$spec" ] || version=${spec#*=}
suite=${TIO_DEBIAN_SUITE:-bookworm}

# Upstream version: strip the epoch and the Debian revision.
upstream=""
if [ -n "$version" ]; then
    upstream=${version#*:}
    upstream=${upstream%-*}
fi

find_unpacked() {
    if [ -n "$upstream" ]; then
        [ -d "$cache/src/$pkg-$upstream" ] && echo "$cache/src/$pkg-$upstream"
    else
        find "$cache/src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" 2>/dev/null | head -n 1
    fi
    return 0
}

# The unpacked directory is named after the upstream version only: a stamp
# records the exact Debian version, so a new Debian revision is refetched.
stamp=.debian-source-version
srcdir=$(find_unpacked)
if [ -n "$srcdir" ]; then
    if [ -z "$version" ] || [ "$(cat "$srcdir/$stamp" 2>/dev/null)" = "$version" ]; then
        echo "$srcdir"
        exit 0
    fi
    say "$srcdir is not Debian's $version: fetching again"
    rm -rf "$srcdir"
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found (not a Debian system?)"
if ! command -v dpkg-source >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing dpkg-dev (for dpkg-source)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y dpkg-dev >&2 ||
            die "apt-get install dpkg-dev failed (run 'apt-get update' first?)"
    else
        die "dpkg-source not found and not root; run: sudo apt-get install dpkg-dev"
    fi
fi

# The Debian mirror this machine's apt uses (one-line or deb822 sources).
find_mirror() {
    {
        [ -f /etc/apt/sources.list ] && cat /etc/apt/sources.list
        for f in /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] && cat "$f"
        done
    } 2>/dev/null | awk -v s="$suite" '
        $1 == "deb" || $1 == "deb-src" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == s) { print $i; exit }
        }'
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822 stanzas: a URI whose stanza lists the plain suite.
        awk -v s="$suite" '
            /^[ \t]*$/ { if (ok && uri != "") { print uri; exit } ok = 0; uri = ""; next }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
            END { if (ok && uri != "") print uri }' "$f"
    done
}
mirror=${TIO_DEBIAN_MIRROR:-$(find_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

t0=$(date +%s)
mkdir -p "$cache/lists/partial" "$cache/apt-cache/archives/partial" "$cache/src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opt=""
[ -f "$keyring" ] && opt="[signed-by=$keyring] "
echo "deb-src $opt$mirror $suite main" >"$cache/sources.list"
set -- -o "Dir::Etc::SourceList=$cache/sources.list" \
    -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$cache/lists" \
    -o "Dir::Cache=$cache/apt-cache"
# As root, apt would download as _apt, who cannot write into our cache
# directory (it warns and falls back to root anyway).
[ "$(id -u)" -eq 0 ] && set -- "$@" -o APT::Sandbox::User=root
say "fetching the $spec source package from $mirror ($suite)"
apt-get -q "$@" --error-on=any update >&2 ||
    die "apt-get update with $cache/sources.list failed (mirror $mirror)"
(cd "$cache/src" && apt-get -q "$@" source "$spec" >&2) ||
    die "apt-get source $spec failed (is $spec in $suite?)"
srcdir=$(find_unpacked)
[ -n "$srcdir" ] || die "no $pkg-${upstream:-*} directory was unpacked in $cache/src"
[ -z "$version" ] || echo "$version" >"$srcdir/$stamp"
say "source fetched in $(($(date +%s) - t0)) s: $srcdir"
echo "$srcdir"
