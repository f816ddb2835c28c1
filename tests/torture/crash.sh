#!/bin/sh
# crash.sh: kill -9 storms. (1) During a CSV import of ROWS CIs, killed at
# a random moment, KILLS times, each on a fresh copy of the database: after
# each kill the file is intact, the audit verifies and the CI count is 0 or
# ROWS (an import is one transaction). (2) During a release lifecycle
# storm, killed KILLS times on one database that carries on: after each
# kill the file is intact, the audit verifies and every release agrees
# with its last occurrence. Prints "crash-import ..." and "crash-storm ..."
# table lines (tried held failed).
#   sh tests/torture/crash.sh RELM WORKDIR ROWS KILLS [STORM_KILLS]
set -u
RELM=$1 W=$2 ROWS=$3 KILLS=$4 STORM_KILLS=${5:-$4}
mkdir -p "$W"
base=$W/crash-base.db
rm -f "$base" "$base"-wal "$base"-shm
"$RELM" --db "$base" run tests/torture/setup.lua >/dev/null || { echo "crash: setup failed"; exit 1; }
csv=$W/crash.csv
awk -v n="$ROWS" 'BEGIN { print "name,type,n,note"; for (i = 1; i <= n; i++) printf "node-%07d,node,%d,\"note %d, with a comma\"\n", i, i, i }' > "$csv"

# A random number of milliseconds below $1 (awk: no $RANDOM in sh).
rnd() { awk -v m="$1" -v s="$(od -An -N4 -tu4 /dev/urandom)" 'BEGIN { srand(s); printf "%d", rand() * m }'; }
# Sleep $1 milliseconds.
msleep() { sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"; }
now_ms() { date +%s%3N; }
# kill -9 process $1 after $2 milliseconds and count the try.
kill_after() {
    msleep "$2"
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    tried=$((tried + 1))
}
# After kill $i: check.lua (arguments $2...) on $db counts the round held or
# failed; a failed round keeps its database as crash-$1-fail-$i.db.
verdict() {
    name=$1
    shift
    if out=$("$RELM" --db "$db" run tests/torture/check.lua "$@" 2>&1); then
        held=$((held + 1))
    else
        failed=$((failed + 1))
        echo "crash-$name: FAILED after kill $i: $out"
        cp "$db" "$W/crash-$name-fail-$i.db" 2>/dev/null
    fi
}

# How long one import takes here, to spread the kills over it.
db=$W/crash.db
rm -f "$db" "$db"-wal "$db"-shm; cp "$base" "$db"
t0=$(now_ms)
"$RELM" --db "$db" -e "relm.cmdb.import('$csv', {format = 'csv', kind = 'cis'})" >/dev/null
span=$(( $(now_ms) - t0 ))
[ "$span" -lt 50 ] && span=50

tried=0 held=0 failed=0
i=0
while [ "$i" -lt "$KILLS" ]; do
    i=$((i + 1))
    rm -f "$db" "$db"-wal "$db"-shm; cp "$base" "$db"
    "$RELM" --db "$db" -e "relm.cmdb.import('$csv', {format = 'csv', kind = 'cis'})" >/dev/null 2>&1 &
    kill_after $! "$(rnd $((span + span / 5)))"
    verdict import "0,$ROWS"
done
echo "crash-import $tried $held $failed (one import: $span ms)"
f1=$failed

tried=0 held=0 failed=0
db=$W/storm.db
rm -f "$db" "$db"-wal "$db"-shm; cp "$base" "$db"
i=0
while [ "$i" -lt "$STORM_KILLS" ]; do
    i=$((i + 1))
    "$RELM" --db "$db" run tests/torture/storm.lua 1000000 "$i" >/dev/null 2>"$W/storm.err" &
    kill_after $! "$((100 + $(rnd 400)))"
    if [ -s "$W/storm.err" ]; then
        failed=$((failed + 1))
        echo "crash-storm: FAILED: the storm itself failed: $(head -3 "$W/storm.err")"
    else
        verdict storm
    fi
done
n=$("$RELM" --db "$db" -e 'print(relm.sql("SELECT count(*) AS n FROM occurrences")[1].n)')
echo "crash-storm $tried $held $failed ($n occurrences)"
[ "$f1" -eq 0 ] && [ "$failed" -eq 0 ]
