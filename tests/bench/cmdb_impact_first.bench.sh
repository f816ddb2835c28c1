#!/bin/sh
# cmdb_impact_first.bench.sh: the first relm.cmdb.impact "up" from the
# shared root of the 1M-CI CMDB in a fresh process (adjacency build + BFS,
# reaches every CI) against the bare C loop building its adjacency from
# the same table and walking it. CPU seconds. Target <= 2.
set -eu
. tests/bench/cmdb_common.sh
ROUNDS=${CMDB_ROUNDS:-3}
: > "$BENCH_TMP/relm" ; : > "$BENCH_TMP/bare"
i=0
while [ $i -lt "$ROUNDS" ]; do
    "$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" first root | awk '{ print $1 }' >> "$BENCH_TMP/relm"
    "$TOOL" impact "$DATA/cmdb.db" root 1 | awk '$1 == "first" { print $2 }' >> "$BENCH_TMP/bare"
    i=$((i + 1))
done
echo "subject $(min_median < "$BENCH_TMP/relm") first relm.cmdb.impact('root') (build + BFS, 999999 CIs)"
echo "baseline $(min_median < "$BENCH_TMP/bare") bare C adjacency build + BFS"
echo "target 2"
