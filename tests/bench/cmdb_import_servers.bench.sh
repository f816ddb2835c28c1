#!/bin/sh
# cmdb_import_servers.bench.sh: 100,000 servers with 11 columns (7 standard
# fields, 4 typed attributes: enum, integer, number, string) through
# relm.cmdb.import into a fresh database, against the sqlite3 shell's
# `.import --csv` of the same file into a fresh database (a table of TEXT
# columns, no validation, no index). CPU seconds (user + system) of each
# whole process, rounds interleaved (wall medians printed as info). Target
# ratio <= 2. CMDB_SERVERS sets the row count.
set -eu
. tests/bench/cmdb_common.sh
N=${CMDB_SERVERS:-100000}
ROUNDS=${CMDB_IMPORT_ROUNDS:-5}
command -v sqlite3 >/dev/null || { echo "sqlite3 (the shell) is missing: make deps" >&2; exit 1; }
CSV=$(pwd)/$BUILD/bench/servers$N.csv
if [ ! -s "$CSV" ] || [ "$TOOL" -nt "$CSV" ]; then
    "$TOOL" servers "$CSV" "$N" || exit 1
fi
SERVER='relm.cmdb.define_type{ name = "server", attributes = {
    os = { kind = "enum", values = { "linux", "bsd", "windows" } },
    cpu = "integer", ram_gb = "number", ip = "string" } }'
echo "relm.cmdb.import(\"$CSV\")" > "$BENCH_TMP/import.lua"
: > "$BENCH_TMP/relm"; : > "$BENCH_TMP/shell"
i=0
while [ $i -lt "$ROUNDS" ]; do
    for who in shell relm; do
        db=$BENCH_TMP/$who.db
        rm -f "$db" "$db-wal" "$db-shm"
        if [ $who = shell ]; then
            /usr/bin/time -f "%e %U %S %M" -o "$BENCH_TMP/t" sqlite3 "$db" ".import --csv $CSV servers"
        else
            "$RELM_BIN" --db "$db" -e "$SERVER" >/dev/null
            /usr/bin/time -f "%e %U %S %M" -o "$BENCH_TMP/t" "$RELM_BIN" --db "$db" run "$BENCH_TMP/import.lua"
        fi
        cat "$BENCH_TMP/t" >> "$BENCH_TMP/$who"
        rm -f "$db" "$db-wal" "$db-shm"
    done
    i=$((i + 1))
done
echo "subject $(awk '{ print $2 + $3 }' "$BENCH_TMP/relm" | min_median) relm.cmdb.import of $N servers, 11 columns"
echo "baseline $(awk '{ print $2 + $3 }' "$BENCH_TMP/shell" | min_median) sqlite3 shell .import --csv of the same file"
echo "target 2"
echo "info: wall s (min median): relm $(awk '{ print $1 }' "$BENCH_TMP/relm" | min_median), sqlite3 .import $(awk '{ print $1 }' "$BENCH_TMP/shell" | min_median)"
