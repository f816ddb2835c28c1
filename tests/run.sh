#!/bin/sh
# run.sh: run every C test and every busted spec (inside the real relm
# binary, one fresh database per spec file) and end with one line:
# "N passed, N failed" (", N skipped" when any were skipped).
#
# Spec files run $RELM_TEST_JOBS at a time (default 2); their results are
# printed in file order as they finish. A spec file that crashes, hangs
# past $RELM_TEST_TIMEOUT seconds (default 300) or exits non-zero without
# reporting a failure counts as one failure.
#
#   sh tests/run.sh                      everything
#   sh tests/run.sh tests/spec/cmdb      only the specs under these paths
set -u

# One spec file (called back through xargs as `run.sh --one OUTDIR SPEC`):
# run it, keep its output and exit status in OUTDIR/<name>.out and .rc for
# the parent to read.
if [ "${1:-}" = "--one" ]; then
    out=$2 spec=$3
    name=$(echo "$spec" | tr '/' '_')
    mkdir -p "$RELM_TEST_TMP/$name"
    RELM_TEST_TMP=$RELM_TEST_TMP/$name timeout -k 5 "$RELM_TEST_TIMEOUT" \
        "$RELM_BIN" --db "$RELM_TEST_TMP/$name/test.db" run tests/busted.lua \
        -o plainTerminal "$spec" > "$out/$name.out" 2>&1
    echo $? > "$out/$name.rc.tmp" && mv "$out/$name.rc.tmp" "$out/$name.rc"
    exit 0
fi

BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "${RELM_BIN:-$BUILD/relm}")" && pwd)/$(basename "${RELM_BIN:-$BUILD/relm}")
export RELM_BIN="$BIN"
export RELM_TEST_TIMEOUT="${RELM_TEST_TIMEOUT:-300}"
jobs=${RELM_TEST_JOBS:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/relm-test.XXXXXX")
pool=
trap 'rm -rf "$tmp"' EXIT
trap '[ -n "$pool" ] && kill "$pool" 2>/dev/null; exit 130' INT TERM
export RELM_TEST_TMP="$tmp"
unset RELM_DB RELM_USER RELM_SYNC
# The specs expect English: the tester's own language must not leak in
# (the i18n specs set LANG, LC_ALL or LANGUAGE themselves).
unset LC_ALL LC_MESSAGES LANGUAGE
export LANG=C.UTF-8
passed=0 failed=0 skipped=0

# C tests print "name: N passed, N failed" as their last line.
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in /*) abs=$t ;; *) abs=$(pwd)/$t ;; esac
    out=$(cd "$tmp" && TMPDIR="$tmp" "$abs" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAILED: $t exited $rc without a summary"; failed=$((failed + 1)); continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { echo "FAILED: $t exited $rc"; failed=$((failed + 1)); }
done

# Busted specs, $jobs at a time in the background.
if [ $# -gt 0 ]; then roots="$*"; else roots=tests/spec; fi
specs=$(find $roots -name '*_spec.lua' | sort)
mkdir -p "$tmp/out"
printf '%s\n' $specs | xargs -P "$jobs" -n 1 sh tests/run.sh --one "$tmp/out" \
    2>/dev/null &
pool=$!

# plainTerminal ends with "N successes / N failures / N errors / N pending".
for spec in $specs; do
    name=$(echo "$spec" | tr '/' '_')
    while [ ! -e "$tmp/out/$name.rc" ]; do
        if ! kill -0 "$pool" 2>/dev/null && [ ! -e "$tmp/out/$name.rc" ]; then
            echo "FAILED: $spec was never run"; failed=$((failed + 1)); continue 2
        fi
        sleep 0.05
    done
    rc=$(cat "$tmp/out/$name.rc")
    out=$(cat "$tmp/out/$name.out")
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ successe?s? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out"
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "FAILED: $spec timed out after ${RELM_TEST_TIMEOUT}s"
        else
            echo "FAILED: $spec did not run to the end (exit status $rc)"
        fi
        failed=$((failed + 1)); continue
    fi
    set -- $(echo "$line" | sed -E 's#^([0-9]+) [a-z]+ / ([0-9]+) [a-z]+ / ([0-9]+) [a-z]+ / ([0-9]+) pending.*#\1 \2 \3 \4#')
    f=$(($2 + $3))
    echo "$spec: $1 passed, $f failed, $4 pending"
    if [ "$f" -gt 0 ]; then
        printf '%s\n' "$out"
    elif [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out"
        echo "FAILED: $spec exited $rc after its summary"; f=1
    fi
    passed=$((passed + $1)); failed=$((failed + f)); skipped=$((skipped + $4))
done
wait "$pool" 2>/dev/null

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
