#!/bin/sh
# run.sh: the torture suite (docs/internals.md, "Torture"), as SQLite keeps
# its crash and fuzz tests: kill -9 storms, a concurrency run, a CSV and
# workflow fuzzer and an HTTP request fuzzer under ASan/UBSan, the sandbox escape catalogue and the
# audit tamper catalogue. Prints a table "part tried held failed" and
# exits non-zero on any failure. `make torture` runs the short version
# (CI, a few minutes), `make torture LONG=1` (or TORTURE=long) the long one.
#   RELM_BIN=build/relm RELM_ASAN=build/asan/relm SQLEXEC=build/torture/sqlexec \
#     sh tests/torture/run.sh short|long
set -u
mode=${1:-short}
RELM=${RELM_BIN:-build/relm}
ASAN=${RELM_ASAN:-$RELM}
SQLEXEC=${SQLEXEC:-build/torture/sqlexec}
W=${TORTURE_DIR:-build/torture/work}
rm -rf "$W"
mkdir -p "$W"

if [ "$mode" = long ]; then
    IMPORT_ROWS=300000 IMPORT_KILLS=70 STORM_KILLS=100
    NODES=300000 WRITERS=5 COUNT=3000 READERS=3
    FUZZ_CASES=20000 HTTP_FUZZ_CASES=100000
else
    IMPORT_ROWS=20000 IMPORT_KILLS=10 STORM_KILLS=10
    NODES=20000 WRITERS=4 COUNT=250 READERS=2
    FUZZ_CASES=2000 HTTP_FUZZ_CASES=3000
fi

rows=""   # "name tried held failed" lines
status=0
t_start=$(date +%s)

# part NAME LOG: take the table lines of LOG (NAME tried held failed ...)
# and show its FAILED lines.
collect() {
    grep -E ': FAILED' "$2" | sed 's/^/  /'
    got=$(grep -E "^$1[a-z-]* [0-9]+ [0-9]+ [0-9]+" "$2")
    if [ -z "$got" ]; then
        rows="$rows
$1 1 0 1 (no result: the run died; see $2)"
        status=1
        return
    fi
    rows="$rows
$got"
    echo "$got" | awk '$4 != 0 { exit 1 }' || status=1
}

step() { printf '== torture: %s\n' "$*"; }

step "kill -9 storms (import of $IMPORT_ROWS CIs x $IMPORT_KILLS, lifecycle x $STORM_KILLS)"
sh tests/torture/crash.sh "$RELM" "$W/crash" "$IMPORT_ROWS" "$IMPORT_KILLS" "$STORM_KILLS" >"$W/crash.log" 2>&1
collect crash "$W/crash.log"

step "concurrency ($WRITERS writers x $COUNT increments, $READERS readers, CLI processes, $NODES CIs)"
sh tests/torture/concurrency.sh "$RELM" "$W/conc" "$NODES" "$WRITERS" "$COUNT" "$READERS" >"$W/conc.log" 2>&1
grep '^concurrency:' "$W/conc.log" | grep -v FAILED | sed 's/^/  /'
collect concurrency "$W/conc.log"

step "fuzz ($FUZZ_CASES CSV and workflow files, $(basename "$(dirname "$ASAN")")/$(basename "$ASAN"))"
fz=$W/fuzz
mkdir -p "$fz"
"$RELM" --db "$fz/fuzz.db" run tests/torture/setup.lua >/dev/null
first=1 ft=0 fh=0 ff=0
: >"$W/fuzz.log"
while [ "$first" -le "$FUZZ_CASES" ]; do
    rm -f "$fz/fuzz.progress"
    "$ASAN" --db "$fz/fuzz.db" run tests/torture/fuzz.lua "$fz" "$first" "$FUZZ_CASES" "$first" >"$fz/run.out" 2>&1
    cat "$fz/run.out" >>"$W/fuzz.log"
    line=$(grep -E '^fuzz [0-9]+ [0-9]+ [0-9]+' "$fz/run.out")
    if [ -n "$line" ]; then
        set -- $line
        ft=$((ft + $2)) fh=$((fh + $3)) ff=$((ff + $4))
        break
    fi
    # The process died on case N: the cases before it held.
    n=$(cut -d' ' -f1 "$fz/fuzz.progress" 2>/dev/null)
    [ -z "$n" ] && n=$first
    echo "fuzz: FAILED case $n: the engine died ($(cut -d' ' -f3 "$fz/fuzz.progress" 2>/dev/null)):" \
         "$(grep -m1 -E 'ERROR|runtime error|relm:' "$fz/run.out")" >>"$W/fuzz.log"
    ft=$((ft + n - first + 1)) fh=$((fh + n - first)) ff=$((ff + 1))
    first=$((n + 1))
done
grep -v '^fuzz [0-9]' "$W/fuzz.log" >"$W/fuzz.log.tmp"; mv "$W/fuzz.log.tmp" "$W/fuzz.log"
echo "fuzz $ft $fh $ff" >>"$W/fuzz.log"
collect fuzz "$W/fuzz.log"

step "HTTP request fuzz ($HTTP_FUZZ_CASES raw requests to $(basename "$(dirname "$ASAN")")/$(basename "$ASAN") serve --listen)"
mkdir -p "$W/http-fuzz"
python3 tests/torture/http_fuzz.py "$ASAN" "$W/http-fuzz" "$HTTP_FUZZ_CASES" >"$W/http-fuzz.log" 2>&1
collect http-fuzz "$W/http-fuzz.log"

step "sandbox escape catalogue"
rm -f "$W/escapes.db"
TORTURE_PROGRESS=$W/escapes.progress "$ASAN" --db "$W/escapes.db" run tests/torture/escapes.lua >"$W/escapes.log" 2>&1
if ! grep -qE '^escapes [0-9]' "$W/escapes.log"; then
    echo "escapes: FAILED the engine died at '$(cat "$W/escapes.progress" 2>/dev/null)': $(tail -2 "$W/escapes.log")" >>"$W/escapes.log"
fi
collect escapes "$W/escapes.log"

step "audit tamper catalogue"
sh tests/torture/tamper.sh "$RELM" "$SQLEXEC" "$W/tamper" >"$W/tamper.log" 2>&1
collect tamper "$W/tamper.log"

printf '\n%-14s %7s %7s %7s\n' part tried held failed
echo "$rows" | awk 'NF >= 4 { extra = ""; for (i = 5; i <= NF; i++) extra = extra " " $i;
    printf "%-14s %7d %7d %7d%s\n", $1, $2, $3, $4, extra }'
echo "torture ($mode): $(( $(date +%s) - t_start )) s, $([ $status -eq 0 ] && echo "0 failed" || echo "FAILURES")"
exit $status
