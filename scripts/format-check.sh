#!/bin/sh
# SPDX-License-Identifier: MIT
# `make format-check`: how many lines clang-format, with the repository's
# .clang-format, would change in each C file under src/, include/, tests/,
# examples/, bench/ and contrib/.
# Prints one line per file that would change and a total; exits 1 if any
# would, 0 if none. CLANG_FORMAT names the program (default: clang-format-14,
# else clang-format).
set -eu
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null 2>&1; then
            cf=$c
            break
        fi
    done
fi
if [ -z "$cf" ]; then
    echo "format-check: clang-format not found (apt-get install clang-format-14): skipped" >&2
    exit 77 # CTest's visible skip (format.check)
fi
sources=$(find src include tests examples bench contrib -name '*.[ch]' | LC_ALL=C sort)
# One process for the common case, a formatted tree (half a second); the
# per-file counts only when something would change.
# shellcheck disable=SC2086
if "$cf" --style=file --dry-run --Werror $sources >/dev/null 2>&1; then
    echo "format-check: every file is formatted"
    exit 0
fi
total=0
files=0
for f in $sources; do
    # Lines of the file that the formatted text does not keep as they are.
    n=$("$cf" --style=file "$f" | diff "$f" - | grep -c '^<' || true)
    if [ "$n" -gt 0 ]; then
        printf '%6d  %s\n' "$n" "$f"
        total=$((total + n))
        files=$((files + 1))
    fi
done
if [ "$files" -gt 0 ]; then
    echo "format-check: $total lines in $files files would change ($cf --style=file -i FILE formats one)"
    exit 1
fi
echo "format-check: every file is formatted"
