#!/bin/sh
# release.bench.sh: release throughput. Subject: a relm script registering
# N releases (default 10,000) and taking each through the standard workflow
# to closure with relm.release.act (permission, guard, one transaction and
# one hash-chained occurrence per step, its outbox event). Baseline: a bare
# C program doing the same row writes (release_baseline.c: releases,
# occurrences, outbox events, the approval round). Both time their loop
# only.
#   RELEASE_BENCH_N=1000 RELEASE_BENCH_WORKFLOW=standard sh tests/bench/run.sh release
set -eu
N=${RELEASE_BENCH_N:-10000}
WF=${RELEASE_BENCH_WORKFLOW:-standard}
ROUNDS=${RELEASE_BENCH_ROUNDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base="$BENCH_TMP/release_baseline"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$root/core" $(pkg-config --cflags sqlite3) \
    -o "$base" "$here/release_baseline.c" "$root/core/base/sha256.c" $(pkg-config --libs sqlite3)
s_times="" b_times="" steps=0
i=0
while [ "$i" -lt "$ROUNDS" ]; do
    i=$((i + 1))
    rm -f "$BENCH_TMP"/s.db* "$BENCH_TMP"/b.db*
    out=$("$RELM_BIN" --db "$BENCH_TMP/s.db" run "$here/release_walk.lua" "$N" "$WF")
    set -- $(printf '%s\n' "$out" | awk '$1 == "walk" { print $3, $4 }')
    steps=$1; s_times="$s_times $2"
    "$RELM_BIN" --db "$BENCH_TMP/b.db" -e 'return 1' > /dev/null
    out=$("$base" "$BENCH_TMP/b.db" "$N" "$steps")
    b_times="$b_times $(printf '%s\n' "$out" | awk '$1 == "baseline_walk" { print $4 }')"
done
minmed() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)] }'; }
set -- $(minmed "$s_times"); smin=$1 smed=$2
set -- $(minmed "$b_times"); bmin=$1 bmed=$2
writes=$((N * (steps + 1)))
rate=$(awk -v w="$writes" -v n="$N" -v s="$steps" -v t="$smed" 'BEGIN { printf "%d transitions/s, %d writes/s", n * s / t, w / t }')
echo "subject $smin $smed $N releases x $steps steps of '$WF' via relm.release.act ($rate)"
echo "baseline $bmin $bmed bare C, same row writes"
echo "target 3"
