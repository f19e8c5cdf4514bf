#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages' checks (CTest docs.man_lint and docs.man_coverage).
#
#   scripts/man-lint.sh lint [MANDIR]              every man/*.3 and man/*.7 passes
#                                                  mandoc -Tlint with no message of
#                                                  level WARNING or above, and every
#                                                  .Xr to a taskio page names one
#   scripts/man-lint.sh coverage HEADER [MANDIR]   every TIO_API function in HEADER
#                                                  is named (.Nm) by a page
#
# lint exits 77 (a visible skip under CTest) when mandoc is not installed.
# A page may document a family: every .Nm line of its NAME section is a name
# it documents (the install links the other names to it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
what=${1:-lint}

# The pages of a directory, as "$@".
pages() {
    set --
    for page in "$dir"/*.3 "$dir"/*.7; do
        [ -e "$page" ] && set -- "$@" "$page"
    done
    [ $# -gt 0 ] || { echo "man-lint: no pages in $dir" >&2; exit 1; }
    printf '%s\n' "$@"
}

# awk: the names the pages document, from the .Nm lines of each NAME section.
names_awk='FNR == 1 { in_name = 0 }
/^\.Sh / { in_name = ($0 == ".Sh NAME"); next }
in_name && /^\.Nm [A-Za-z0-9_]/ { known[$2] = 1 }'

case "$what" in
lint)
    dir=$(cd "${2:-$here/../man}" && pwd)
    if ! command -v mandoc >/dev/null 2>&1; then
        echo "man-lint: mandoc is not installed (apt-get install mandoc): skipped"
        exit 77
    fi
    list=$(pages)
    # shellcheck disable=SC2086 # one word per page (no spaces in man/)
    set -- $list
    bad=0
    # .Xr tio_* / taskio: a page must name it (references are checked after
    # every page was read, hence the two passes over the files).
    if ! awk "$names_awk"'
        /^\.Xr (tio_[A-Za-z0-9_]*|taskio) / { ref[FILENAME ": .Xr " $2] = $2 }
        END { for (r in ref) if (!(ref[r] in known)) { print "man-lint: " r ": no page names it"; bad = 1 }
              exit bad }' "$@"; then
        bad=1
    fi
    if ! out=$(mandoc -Tlint -Wwarning "$@" 2>&1) || [ -n "$out" ]; then
        printf '%s\n' "$out"
        echo "man-lint: mandoc -Tlint reports the above"
        bad=1
    fi
    [ "$bad" -eq 0 ] || exit 1
    echo "man-lint: $# pages clean"
    ;;
coverage)
    header=$2
    dir=$(cd "${3:-$here/../man}" && pwd)
    list=$(pages)
    pending=""
    # shellcheck disable=SC2086
    awk -v pending="$pending" -v header="$header" "$names_awk"'
        END {
            n = split(pending, p, " ")
            for (i = 1; i <= n; i++) later_ok[p[i]] = 1
            while ((getline line < header) > 0) {
                if (line !~ /^TIO_API /) continue
                sub(/\(.*/, "", line)
                fn = line; sub(/.*[ *]/, "", fn)
                if (fn in known) continue
                if (fn in later_ok) later = later " " fn
                else missing = missing " " fn
            }
            if (later != "") print "man-lint: engine operations without a page yet:" later
            if (missing != "") {
                print "man-lint: public functions without a man page (add man/<name>.3, or a .Nm"
                print "line to the page of its family):" missing
                exit 1
            }
            print "man-lint: every other public function has a page"
        }' $list
    ;;
*)
    echo "usage: $0 lint [MANDIR] | coverage HEADER [MANDIR]" >&2
    exit 2
    ;;
esac
