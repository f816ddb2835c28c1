#!/bin/sh
# run.sh: run every C test and every busted spec (inside the real relm
# binary, one fresh database per spec file) and end with one line:
# "N passed, N failed" (", N skipped" when any were skipped).
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "${RELM_BIN:-$BUILD/relm}")" && pwd)/$(basename "${RELM_BIN:-$BUILD/relm}")
export RELM_BIN="$BIN"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/relm-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export RELM_TEST_TMP="$tmp"
unset RELM_DB RELM_USER
passed=0 failed=0 skipped=0

# C tests print "name: N passed, N failed" as their last line.
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in /*) abs=$t ;; *) abs=$(pwd)/$t ;; esac
    out=$(cd "$tmp" && "$abs" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAILED: $t exited $rc without a summary"; failed=$((failed + 1)); continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { echo "FAILED: $t exited $rc"; failed=$((failed + 1)); }
done

# Busted specs: plainTerminal ends with "N successes / N failures / N errors / N pending".
for spec in $(find tests/spec -name '*_spec.lua' | sort); do
    name=$(echo "$spec" | tr '/' '_')
    out=$("$BIN" --db "$tmp/$name.db" run tests/busted.lua -o plainTerminal "$spec" 2>&1)
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ successe?s? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out"
        echo "FAILED: $spec did not run to the end"; failed=$((failed + 1)); continue
    fi
    set -- $(echo "$line" | sed -E 's#^([0-9]+) [a-z]+ / ([0-9]+) [a-z]+ / ([0-9]+) [a-z]+ / ([0-9]+) pending.*#\1 \2 \3 \4#')
    echo "$spec: $1 passed, $(($2 + $3)) failed, $4 pending"
    if [ $(($2 + $3)) -gt 0 ]; then printf '%s\n' "$out"; fi
    passed=$((passed + $1)); failed=$((failed + $2 + $3)); skipped=$((skipped + $4))
done

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
