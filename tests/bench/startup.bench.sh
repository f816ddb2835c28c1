#!/bin/sh
# startup.bench.sh: start-up to a result: `relm -e 'return 1'` on an existing
# database against `lua5.4 -e ''`, the bare interpreter starting and leaving.
set -eu
db=$BENCH_TMP/startup.db
"$RELM_BIN" --db "$db" -e 'return 1' > /dev/null # exists before timing
"$TIMEIT" "$BENCH_REPS" "$RELM_BIN" --db "$db" -e 'return 1' :: lua5.4 -e '' > "$BENCH_TMP/t"
{ read -r rmin rmed; read -r lmin lmed; } < "$BENCH_TMP/t"
echo "subject $rmin $rmed relm -e 'return 1'"
echo "baseline $lmin $lmed lua5.4 -e ''"
echo "target 3"
