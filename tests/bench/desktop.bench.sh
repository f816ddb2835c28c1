#!/bin/sh
# desktop.bench.sh: relm.desktop() for a user in 3 groups on a database of
# 100,000 releases and 500,000 activities (generated in bulk by
# desktop_tool.c, kept in $BUILD/bench/desktop100k): every item with its
# situation and delay, sorted, with the counts. Baseline: the same three
# SQL queries (releases, activities, approvals; taken from relm.desktop)
# stepped by a bare C program that reads every column. CPU seconds.
# Target: ratio <= 3; the issue asks <= 20 ms for the subject (printed as
# "absolute").
set -eu
BUILD=${BUILD:-build}
RELM_BIN=${RELM_BIN:-$(pwd)/$BUILD/relm}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")}
TOOL=$(pwd)/$BUILD/bench/desktop_tool
DATA=$(pwd)/$BUILD/bench/desktop100k
REPS=${DESKTOP_REPS:-20}
USER_NAME=${DESKTOP_USER:-u0001}
mkdir -p "$BUILD/bench" "$DATA"
if [ ! -x "$TOOL" ] || [ tests/bench/desktop_tool.c -nt "$TOOL" ]; then
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -o "$TOOL" tests/bench/desktop_tool.c \
        $(pkg-config --cflags --libs sqlite3) || exit 1
    rm -f "$DATA"/desk.db*
fi
if [ ! -s "$DATA/desk.db" ]; then
    "$RELM_BIN" --db "$DATA/desk.db" -e 'return 1' >/dev/null
    "$TOOL" gen "$DATA/desk.db" || { rm -f "$DATA"/desk.db*; exit 1; }
fi
BENCH_TMP="$BENCH_TMP" "$RELM_BIN" --db "$DATA/desk.db" -e '
    local dir = os.getenv("BENCH_TMP")
    for _, k in ipairs({ "releases", "activities", "approvals" }) do
        local f = assert(io.open(dir .. "/" .. k .. ".sql", "w"))
        f:write(relm.desktop._sql[k])
        f:close()
    end' >/dev/null
out=$("$RELM_BIN" --db "$DATA/desk.db" run tests/bench/desktop_query.lua "$USER_NAME" "$REPS")
set -- $(printf '%s\n' "$out" | awk '$1 == "desktop" { print $2, $3, $4 }')
echo "subject $1 $2 relm.desktop() for $USER_NAME ($3 items)"
echo "absolute median $(awk -v s="$2" 'BEGIN { printf "%.2f ms (issue: <= 20 ms)", s * 1000 }')"
printf '%s\n' "$out" | grep -E '^(counts|page|facts) '
set -- $("$TOOL" query "$DATA/desk.db" "$USER_NAME" "$REPS" "$BENCH_TMP/releases.sql" "$BENCH_TMP/activities.sql" "$BENCH_TMP/approvals.sql")
echo "baseline $2 $3 bare C stepping the same queries ($4 rows)"
echo "target 3"
