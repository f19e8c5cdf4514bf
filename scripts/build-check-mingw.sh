#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-build the Check unit-test library for x86_64-w64-mingw32 from Debian's
# source package (bookworm: Check 0.15.2, the version the Linux build uses) and
# install it into a prefix for the Windows build of taskio to link against.
#
#   scripts/build-check-mingw.sh [PREFIX]      # default: build/windows/deps
#
# Cached: when PREFIX already has lib/libcheck.a and include/check.h it does
# nothing. The source is fetched by scripts/debian-source.sh into
# $TIO_MINGW_CACHE (default build/windows/cache), with a private apt sources
# list and lists directory; /etc/apt is never touched. The mirror is the one
# this machine's apt already uses for Debian (override with
# TIO_DEBIAN_MIRROR=http://host/debian).
#
# Needs: cmake, make, gcc-mingw-w64-x86-64, wine (for the final check), and
# dpkg-dev (for dpkg-source; installed here when missing and running as root).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
toolchain=$repo/cmake/mingw-w64.cmake

prefix=${1:-$repo/build/windows/deps}
case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
cache=${TIO_MINGW_CACHE:-$repo/build/windows/cache}

say() { echo "build-check-mingw: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}
now() { date +%s; }

if [ -f "$prefix/lib/libcheck.a" ] && [ -f "$prefix/include/check.h" ]; then
    say "Check for mingw-w64 already installed in $prefix (delete it to rebuild)"
    exit 0
fi

# ------------------------------------------------------------ prerequisites
for tool in cmake make x86_64-w64-mingw32-gcc apt-get; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found; on Debian: apt-get install cmake make gcc-mingw-w64-x86-64 wine"
done
[ -f "$toolchain" ] || die "toolchain file $toolchain is missing"

# ------------------------------------------------------------ fetch source
# Debian's source package through a private apt sources list (dpkg-dev
# installed there when missing): the fetch shared with contrib/fio.
srcdir=$(sh "$here/debian-source.sh" check "$cache") ||
    die "could not fetch the Check source package"
case $srcdir in
*/check-0.15.2) ;;
*) say "warning: expected check-0.15.2, got $(basename "$srcdir")" ;;
esac

# ------------------------------------------------------------ build, install
t0=$(now)
builddir=$cache/check-build
rm -rf "$builddir"
jobs=$(nproc 2>/dev/null || echo 2)
say "building $(basename "$srcdir") for x86_64-w64-mingw32 into $prefix"
# BUILD_TESTING=OFF: Check's own suite (it would need fork and run under Wine).
# TIO_MINGW_PREFIX empty: nothing to find there while building Check itself.
cmake -S "$srcdir" -B "$builddir" \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DTIO_MINGW_PREFIX= \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_TESTING=OFF \
    -DCHECK_ENABLE_GCOV=OFF >"$cache/check-configure.log" 2>&1 ||
    die "configuring Check failed; see $cache/check-configure.log"
cmake --build "$builddir" -j"$jobs" >"$cache/check-build.log" 2>&1 ||
    die "building Check failed; see $cache/check-build.log"
cmake --install "$builddir" >"$cache/check-install.log" 2>&1 ||
    die "installing Check failed; see $cache/check-install.log"
if [ ! -f "$prefix/lib/libcheck.a" ] || [ ! -f "$prefix/include/check.h" ]; then
    die "install did not produce $prefix/lib/libcheck.a and include/check.h"
fi
say "built and installed in $(($(now) - t0)) s"

# ------------------------------------------------------------ verify under Wine
if ! command -v wine >/dev/null 2>&1; then
    say "wine not installed: skipping the run check (apt-get install wine)"
    exit 0
fi
t0=$(now)
vdir=$cache/verify
mkdir -p "$vdir"
cat >"$vdir/check_smoke.c" <<'EOF'
#include <check.h>
#include <stdlib.h>

START_TEST(test_ints) { ck_assert_int_eq(2 + 2, 4); }
END_TEST

START_TEST(test_strs) { ck_assert_str_eq("tio", "tio"); }
END_TEST

int main(void)
{
    Suite *s = suite_create("smoke");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ints);
    tcase_add_test(tc, test_strs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
EOF
# Check 0.15.2 finds mingw's pthread.h and uses winpthreads' mutexes (its
# no-pthread fallback, lib/pthread_mutex.c, is missing from the release), so
# users link libwinpthread too: the static one, so no DLL is needed at run time.
winpthread=$(x86_64-w64-mingw32-gcc -print-file-name=libwinpthread.a)
x86_64-w64-mingw32-gcc -O1 -o "$vdir/check_smoke.exe" "$vdir/check_smoke.c" \
    -I"$prefix/include" "$prefix/lib/libcheck.a" "$winpthread" ||
    die "linking a Check test against $prefix/lib/libcheck.a failed"
if ! out=$(sh "$repo/cmake/wine-run.sh" "$vdir/check_smoke.exe" 2>&1); then
    echo "$out" >&2
    die "the Check smoke test failed under Wine"
fi
echo "$out" >&2
case $out in
*"100%: Checks: 2, Failures: 0, Errors: 0"*) ;;
*) die "unexpected output from the Check smoke test under Wine" ;;
esac
say "smoke test passed under Wine in $(($(now) - t0)) s"
