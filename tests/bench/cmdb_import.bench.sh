#!/bin/sh
# cmdb_import.bench.sh: relm.cmdb.import of the two CSV files of the 1M-CI
# CMDB (1,000,000 CIs, 1,197,999 relationships) into a fresh database,
# against the bare C loop inserting the same rows with prepared statements
# in one transaction. Wall seconds of each whole process, and its peak RSS
# (target <= 500 MB). Target ratio <= 1.3.
set -eu
. tests/bench/cmdb_common.sh
ROUNDS=${CMDB_IMPORT_ROUNDS:-2}
cat > "$BENCH_TMP/import.lua" <<LUA
local n = relm.cmdb.import("$DATA/cis.csv", { format = "csv", kind = "cis" })
local m = relm.cmdb.import("$DATA/rels.csv", { format = "csv", kind = "relationships" })
io.stderr:write(("relm imported %d cis %d relationships\n"):format(n, m))
LUA
: > "$BENCH_TMP/relm"; : > "$BENCH_TMP/bare"
i=0
while [ $i -lt "$ROUNDS" ]; do
    for who in bare relm; do
        db=$BENCH_TMP/$who.db
        rm -f "$db" "$db-wal" "$db-shm"
        "$RELM_BIN" --db "$db" -e "$TYPES" >/dev/null
        if [ $who = bare ]; then
            /usr/bin/time -f "%e %M" -o "$BENCH_TMP/t" "$TOOL" import "$db" "$DATA/cis.csv" "$DATA/rels.csv" >&2
        else
            /usr/bin/time -f "%e %M" -o "$BENCH_TMP/t" "$RELM_BIN" --db "$db" run "$BENCH_TMP/import.lua"
        fi
        cat "$BENCH_TMP/t" >> "$BENCH_TMP/$who"
        rm -f "$db" "$db-wal" "$db-shm"
    done
    i=$((i + 1))
done
rss=$(awk '{ if ($2 > m) m = $2 } END { printf "%.0f", m / 1024 }' "$BENCH_TMP/relm")
brss=$(awk '{ if ($2 > m) m = $2 } END { printf "%.0f", m / 1024 }' "$BENCH_TMP/bare")
echo "subject $(awk '{ print $1 }' "$BENCH_TMP/relm" | min_median) relm.cmdb.import cis + relationships (peak RSS $rss MB)"
echo "baseline $(awk '{ print $1 }' "$BENCH_TMP/bare" | min_median) bare C prepared-statement loop, one transaction (peak RSS $brss MB)"
echo "target 1.3"
if [ "$rss" -le 500 ]; then verdict=ok; else verdict=OVER; fi
echo "info: relm peak RSS $rss MB, target <= 500 MB: $verdict"
