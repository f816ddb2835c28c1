#!/bin/sh
# cmdb_import.bench.sh: relm.cmdb.import of the two CSV files of the
# synthetic CMDB (by default 100,000 CIs and 119,799 relationships; with
# BENCH=large the 1M-CI CMDB, 1,000,000 CIs and 1,197,999 relationships)
# into a fresh database, against the C loop a skilled engineer writes:
# one transaction, prepared statements, a 256 MB page cache, relationship
# indexes built after the load (cmdb_tool import). CPU seconds (user +
# system) of each whole process, rounds interleaved: on a shared machine
# wall time mostly measures the other tenants (wall medians are printed as
# info). relm's peak RSS target: <= 500 MB. Target ratio <= 1.2.
set -eu
. tests/bench/cmdb_common.sh
if [ "${BENCH:-}" = large ]; then
    SET=$DATA ROUNDS=${CMDB_IMPORT_ROUNDS:-3}
else
    SET=$(pwd)/$BUILD/bench/cmdb100k ROUNDS=${CMDB_IMPORT_ROUNDS:-5}
    mkdir -p "$SET"
    if [ ! -s "$SET/rels.csv" ] || [ "$TOOL" -nt "$SET/rels.csv" ]; then
        "$TOOL" gen "$SET" 10 >&2 || exit 1
    fi
fi
cat > "$BENCH_TMP/import.lua" <<LUA
local n = relm.cmdb.import("$SET/cis.csv", { format = "csv", kind = "cis" })
local m = relm.cmdb.import("$SET/rels.csv", { format = "csv", kind = "relationships" })
io.stderr:write(("relm imported %d cis %d relationships\n"):format(n, m))
LUA
: > "$BENCH_TMP/relm"; : > "$BENCH_TMP/tuned"
i=0
while [ $i -lt "$ROUNDS" ]; do
    for who in tuned relm; do
        db=$BENCH_TMP/$who.db
        rm -f "$db" "$db-wal" "$db-shm"
        "$RELM_BIN" --db "$db" -e "$TYPES" >/dev/null
        if [ $who = tuned ]; then
            /usr/bin/time -f "%e %U %S %M" -o "$BENCH_TMP/t" "$TOOL" import "$db" "$SET/cis.csv" "$SET/rels.csv" >&2
        else
            /usr/bin/time -f "%e %U %S %M" -o "$BENCH_TMP/t" "$RELM_BIN" --db "$db" run "$BENCH_TMP/import.lua"
        fi
        cat "$BENCH_TMP/t" >> "$BENCH_TMP/$who"
        rm -f "$db" "$db-wal" "$db-shm"
    done
    i=$((i + 1))
done
what=$(wc -l < "$SET/cis.csv")
rss=$(awk '{ if ($4 > m) m = $4 } END { printf "%.0f", m / 1024 }' "$BENCH_TMP/relm")
brss=$(awk '{ if ($4 > m) m = $4 } END { printf "%.0f", m / 1024 }' "$BENCH_TMP/tuned")
echo "subject $(awk '{ print $2 + $3 }' "$BENCH_TMP/relm" | min_median) relm.cmdb.import $((what - 1)) cis + relationships (peak RSS $rss MB)"
echo "baseline $(awk '{ print $2 + $3 }' "$BENCH_TMP/tuned" | min_median) tuned C loop: one transaction, prepared statements, 256 MB cache, relationship indexes after (peak RSS $brss MB)"
echo "target 1.2"
if [ "$rss" -le 500 ]; then verdict=ok; else verdict=OVER; fi
echo "info: wall s (min median): relm $(awk '{ print $1 }' "$BENCH_TMP/relm" | min_median), tuned loop $(awk '{ print $1 }' "$BENCH_TMP/tuned" | min_median)"
echo "info: relm peak RSS $rss MB, target <= 500 MB: $verdict"
