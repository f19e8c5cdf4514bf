#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a Windows executable under Wine, quietly, with its exit code preserved.
# Used as CMAKE_CROSSCOMPILING_EMULATOR by cmake/mingw-w64.cmake:
#
#   cmake/wine-run.sh prog.exe [args...]
#
# WINEPREFIX defaults to <repo>/build/windows/wineprefix; it is created on first
# use (about 10 s; no Mono/Gecko: there is no network to download them from,
# and nothing here needs them). Concurrent runs (ctest -j) share it safely.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

export WINEDEBUG=-all
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
: "${WINEPREFIX:=$repo/build/windows/wineprefix}"
export WINEPREFIX

if ! command -v wine >/dev/null 2>&1; then
    echo "wine-run.sh: wine not found (apt-get install wine)" >&2
    exit 127
fi
if [ $# -eq 0 ]; then
    echo "usage: $0 program.exe [args...]" >&2
    exit 2
fi

mkdir -p "$(dirname "$WINEPREFIX")"
(
    # One run at a time sets things up; the others wait here. Every Wine
    # command below gets 9>&-: a wineserver that inherited the lock's fd
    # would hold the lock for as long as it lives.
    if command -v flock >/dev/null 2>&1; then
        flock 9
    fi
    # system.reg is written last by wineboot: its presence means a usable prefix.
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        echo "wine-run.sh: creating Wine prefix $WINEPREFIX" >&2
        if ! wine wineboot --init </dev/null >/dev/null 2>&1 9>&-; then
            echo "wine-run.sh: wineboot --init failed for $WINEPREFIX" >&2
            exit 1
        fi
        # A new prefix says Windows 7; report what taskio targets. Quietly
        # best effort: the tests do not depend on it.
        wine winecfg -v win10 </dev/null >/dev/null 2>&1 9>&- || true
        # wineboot returns before the server has flushed the registry.
        wineserver -w 9>&-
    fi
    # Keep one wineserver, and Wine's service processes (services.exe,
    # winedevice, ...), running between runs, detached from our stdout and
    # stderr. Started by the program itself they would hold ctest's output
    # pipes open, and ctest would wait for them to shut down after every test
    # (2.5 s each, or 30 s). The server exits by itself TIO_WINE_PERSIST
    # seconds (default 30) after the last program ends.
    # wineserver exits 0 when it started a new server, non-zero when one runs.
    if wineserver -p"${TIO_WINE_PERSIST:-30}" </dev/null >/dev/null 2>&1 9>&-; then
        wine wineboot </dev/null >/dev/null 2>&1 9>&- || true
    fi
) 9>"$WINEPREFIX.lock"

# wine passes the program's exit code through (modulo 256, as for any process).
exec wine "$@"
