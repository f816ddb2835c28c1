#!/bin/sh
# run.sh: `make bench`: run every scenario in tests/bench and print one line
# each: the measured times of the subject and of its baseline (measured in
# the same run) and their ratio against the scenario's target.
#
# A scenario is a file tests/bench/<name>.bench.sh (run with sh) or
# <name>.bench.lua (run inside relm on a fresh database); see README.md.
#   sh tests/bench/run.sh [NAME...]     only the scenarios named
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "${RELM_BIN:-$BUILD/relm}")" && pwd)/$(basename "${RELM_BIN:-$BUILD/relm}")
export RELM_BIN="$BIN"
export TIMEIT="${TIMEIT:-$(pwd)/$BUILD/bench/timeit}"
export BENCH_REPS="${BENCH_REPS:-200}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
unset RELM_DB RELM_USER RELM_SYNC
errors=0

for f in tests/bench/*.bench.sh tests/bench/*.bench.lua; do
    [ -e "$f" ] || continue
    name=$(basename "$f"); name=${name%.bench.*}
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    export BENCH_TMP="$tmp/$name"
    mkdir -p "$BENCH_TMP"
    case $f in
        *.sh) out=$(nice sh "$f" 2>&1) ;;
        *) out=$(nice "$BIN" --db "$BENCH_TMP/bench.db" run "$f" 2>&1) ;;
    esac
    rc=$?
    # The result lines: "subject MIN MEDIAN LABEL", "baseline MIN MEDIAN
    # LABEL" (seconds) and "target MAX_RATIO"; lines "info: TEXT" are shown
    # under the result.
    line=$(printf '%s\n' "$out" | awk -v name="$name" '
        $1 == "subject"  { sm = $2; sd = $3; $1 = $2 = $3 = ""; sl = substr($0, 4) }
        $1 == "baseline" { bm = $2; bd = $3; $1 = $2 = $3 = ""; bl = substr($0, 4) }
        $1 == "target"   { tg = $2 }
        END {
            if (sd == "" || bd == "" || bd + 0 <= 0) exit 1
            r = sd / bd; rm = sm / bm
            verdict = tg == "" ? "" : (r <= tg ? sprintf(", target <= %s: ok", tg) \
                                               : sprintf(", target <= %s: OVER", tg))
            printf "%-12s %s: %.2f ms (min %.2f) | %s: %.2f ms (min %.2f) | ratio %.2f (min %.2f)%s\n",
                   name ":", sl, sd * 1000, sm * 1000, bl, bd * 1000, bm * 1000, r, rm, verdict
        }')
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
        printf '%s\n' "$out"
        echo "$name: FAILED (exit status $rc, or no subject/baseline lines)"
        errors=$((errors + 1))
        continue
    fi
    echo "$line"
    printf '%s\n' "$out" | sed -n 's/^info: /             /p'
done
[ "$errors" -eq 0 ]
