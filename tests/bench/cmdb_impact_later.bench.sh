#!/bin/sh
# cmdb_impact_later.bench.sh: relm.cmdb.impact "up" from the shared root of
# the 1M-CI CMDB once the adjacency is built (reaches every CI; rows are
# built when read, so this is the walk and the answer's arrays) against the
# bare C BFS over its own adjacency. CPU seconds. Target <= 3.
set -eu
. tests/bench/cmdb_common.sh
REPS=${CMDB_REPS:-20}
set -- $("$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" later root "$REPS")
echo "subject $1 $2 relm.cmdb.impact('root') again ($3 CIs)"
set -- $("$TOOL" impact "$DATA/cmdb.db" root "$REPS" | awk '$1 == "bfs" { print $2, $3 }')
echo "baseline $1 $2 bare C BFS"
echo "target 3"
