#!/bin/sh
# concurrency.sh: WRITERS processes each doing COUNT increments of one
# counter inside relm.tx (and rewriting a random CI's note), READERS
# processes scanning the CIs, and a stream of short `relm -e` processes,
# all on one database holding NODES CIs, for as long as the writers take.
# CONC_NICE1=N runs writer 1 niced N more than the rest: SQLite's lock is
# not fair, and without the writer queue (docs/internals.md) a slow writer
# lost every race for its whole busy timeout (with N=10 on the long run:
# writers 1 and 2 failed on `busy` at their first increment). Fairness
# costs time then: the whole run waits for the niced writer's turns.
# Held when: the counter equals WRITERS x COUNT (no lost update), no
# process reported an error (no busy error), the WAL stayed under 64 MB
# (sampled every 0.1 s) and the database checks out (check.lua). Prints
# "concurrency <tried> <held> <failed>" (one try per property) and the
# figures: operations, seconds, largest WAL.
#   sh tests/torture/concurrency.sh RELM WORKDIR NODES WRITERS COUNT READERS
set -u
RELM=$1 W=$2 NODES=$3 WRITERS=$4 COUNT=$5 READERS=$6
WAL_LIMIT=$((64 * 1024 * 1024))
mkdir -p "$W"
db=$W/conc.db
rm -f "$db" "$db"-wal "$db"-shm "$W"/conc-*.err "$W/conc.stop"
"$RELM" --db "$db" run tests/torture/setup.lua >/dev/null || { echo "concurrency: setup failed"; exit 1; }
csv=$W/conc.csv
awk -v n="$NODES" 'BEGIN { print "name,type,n,note"; for (i = 1; i <= n; i++) printf "node-%07d,node,%d,note %d\n", i, i, i }' > "$csv"
"$RELM" --db "$db" -e "relm.cmdb.import('$csv', {format = 'csv', kind = 'cis'}); relm.cmdb.add{type = 'node', name = 'ctr', n = 0}" >/dev/null ||
    { echo "concurrency: import failed"; exit 1; }

start=$(date +%s)
pids=""
i=0
while [ "$i" -lt "$WRITERS" ]; do
    i=$((i + 1))
    nice=0
    [ "$i" -eq 1 ] && nice=${CONC_NICE1:-0}
    nice -n "$nice" "$RELM" --db "$db" run tests/torture/writer.lua "$COUNT" "$NODES" "$i" 2>"$W/conc-writer-$i.err" &
    pids="$pids $!"
done
i=0
rpids=""
while [ "$i" -lt "$READERS" ]; do
    i=$((i + 1))
    "$RELM" --db "$db" run tests/torture/reader.lua "$W/conc.stop" >"$W/conc-reader-$i.out" 2>"$W/conc-reader-$i.err" &
    rpids="$rpids $!"
done
# Short CLI processes, one after another, until told to stop.
(
    n=0
    while [ ! -f "$W/conc.stop" ]; do
        n=$((n + 1))
        "$RELM" --db "$db" -e 'assert(relm.cmdb.get("ctr").n >= 0)' >/dev/null 2>>"$W/conc-cli.err" ||
            echo "cli run $n failed" >>"$W/conc-cli.err"
    done
    echo "$n" >"$W/conc-cli.count"
) &
clipid=$!
# The WAL sampler.
(
    max=0
    while [ ! -f "$W/conc.stop" ]; do
        s=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
        [ "$s" -gt "$max" ] && max=$s
        echo "$max" >"$W/conc-wal.max"
        sleep 0.1
    done
) &
walpid=$!

wfail=0
for p in $pids; do
    wait "$p" || wfail=$((wfail + 1))
done
touch "$W/conc.stop"
wait "$clipid" "$walpid" 2>/dev/null
for p in $rpids; do
    wait "$p" || wfail=$((wfail + 1))
done
rm -f "$W/conc.stop"
secs=$(( $(date +%s) - start ))

tried=0 held=0 failed=0
prop() { # prop NAME OK DETAIL
    tried=$((tried + 1))
    if [ "$2" = 1 ]; then held=$((held + 1)); else failed=$((failed + 1)); echo "concurrency: FAILED $1: $3"; fi
}
want=$((WRITERS * COUNT))
got=$("$RELM" --db "$db" -e 'print(relm.cmdb.get("ctr").n)' 2>&1)
[ "$got" = "$want" ] && ok=1 || ok=0
prop "no lost update" $ok "counter $got, expected $want"
errs=$(cat "$W"/conc-*.err 2>/dev/null)
[ -z "$errs" ] && [ "$wfail" -eq 0 ] && ok=1 || ok=0
prop "no busy error, no failed process" $ok "$(echo "$errs" | head -5)"
maxwal=$(cat "$W/conc-wal.max" 2>/dev/null || echo 0)
[ "$maxwal" -lt "$WAL_LIMIT" ] && ok=1 || ok=0
prop "WAL under 64 MB" $ok "largest WAL $maxwal bytes"
out=$("$RELM" --db "$db" run tests/torture/check.lua 2>&1) && ok=1 || ok=0
prop "database checks out" $ok "$out"
reads=0
for f in "$W"/conc-reader-*.out; do
    r=$(cat "$f" 2>/dev/null); reads=$((reads + ${r:-0}))
done
echo "concurrency: $want increments by $WRITERS writers, $reads reads by $READERS readers," \
     "$(cat "$W/conc-cli.count" 2>/dev/null) CLI processes, $NODES CIs, ${secs} s;" \
     "largest WAL $((maxwal / 1024)) KB"
echo "concurrency $tried $held $failed"
[ "$failed" -eq 0 ]
