#!/bin/sh
# cmdb_impact_cte.bench.sh: relm.cmdb.impact "up" from the shared root of
# the 1M-CI CMDB (adjacency built) against what a user would try without
# it: the same query as a SQLite recursive CTE through relm.sql (UNION, so
# cycle-safe). CPU seconds; the CTE runs twice only (it takes seconds).
set -eu
. tests/bench/cmdb_common.sh
set -- $("$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" later root 5)
echo "subject $1 $2 relm.cmdb.impact('root') ($3 CIs)"
set -- $("$RELM_BIN" --db "$DATA/cmdb.db" run "$IMPACT_LUA" cte root 2)
echo "baseline $1 $2 WITH RECURSIVE ... UNION ($3 CIs)"
echo "target 1"
