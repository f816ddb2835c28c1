#!/bin/sh
# release_impact.bench.sh: relm.release.impact for a release touching 50
# CIs of the synthetic 1M-CI CMDB (cmdb_common.sh builds it once): the
# union of their "up" impact grouped by cause, with the business services
# and up to 200 named rows per CI. Baseline: relm.cmdb.impact "up" of the
# same 50 CIs with every row read (the graph walk and the same name
# lookups, ungrouped), same process and graph. CPU seconds. Target: ratio <= 3; the issue asks <= 50 ms for the
# subject (printed as "absolute").
set -eu
. tests/bench/cmdb_common.sh
REPS=${IMPACT_REPS:-20}
cp "$DATA/cmdb.db" "$BENCH_TMP/impact.db"
out=$("$RELM_BIN" --db "$BENCH_TMP/impact.db" run tests/bench/release_impact.lua "$REPS")
set -- $(printf '%s\n' "$out" | awk '$1 == "impact" { print $2, $3, $4 }')
echo "subject $1 $2 relm.release.impact (50 CIs, $3 reached)"
echo "absolute median $(awk -v s="$2" 'BEGIN { printf "%.2f ms (issue: <= 50 ms)", s * 1000 }')"
printf '%s\n' "$out" | grep -E '^(first|facts) '
set -- $(printf '%s\n' "$out" | awk '$1 == "cmdb" { print $2, $3, $4 }')
echo "baseline $1 $2 50 x relm.cmdb.impact, rows read ($3 rows)"
echo "target 3"
rm -f "$BENCH_TMP"/impact.db*
