#!/bin/sh
# cmdb_impact_1k.bench.sh: an impact reaching about a thousand CIs (one
# cluster: its servers, their components, apps and services), every row
# read (name and via path), against the absolute budget of 5 ms given for
# it (the "baseline" line is that budget, not a measurement). CPU seconds.
# The recursive CTE for the same query is printed for comparison.
set -eu
. tests/bench/cmdb_common.sh
REPS=${CMDB_REPS:-20}
set -- $("$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" rows cluster-0001 "$REPS")
echo "subject $1 $2 relm.cmdb.impact('cluster-0001') + reading all $3 rows"
echo "baseline 0.005 0.005 budget of 5 ms (absolute target)"
echo "target 1"
set -- $("$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" cte cluster-0001 "$REPS")
echo "info: recursive CTE, same query: min $1 s, median $2 s, $3 CIs"
