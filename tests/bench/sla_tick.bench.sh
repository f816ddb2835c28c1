#!/bin/sh
# sla_tick.bench.sh: one tick of serve's SLA clock over 100,000 open
# releases on three business calendars (São Paulo and New York office
# hours with holidays, a 24x7 one in Lisbon), their moments spread over
# the next days (sla_tool.c gen). Subject: relm_sla_pass (core/loop/sla.c)
# at successive moments 10 s apart, firing what came due, as serve runs
# it. Baseline: a bare C loop, one prepared statement stepping every open
# release and computing its next moment with the same calendar arithmetic
# (the scan a tick does without the sla_next_at index). CPU seconds.
# Target: ratio <= 1; the issue asks <= 50 ms a tick (printed "absolute").
set -eu
BUILD=${BUILD:-build}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")}
TOOL=$(pwd)/$BUILD/bench/sla_tool
N=${SLA_RELEASES:-100000}
REPS=${SLA_REPS:-50}
mkdir -p "$BUILD/bench"
OBJS=$(find "$BUILD/obj/core" -name '*.o' | sort)
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Icore -I"$BUILD/gen" -o "$TOOL" \
    tests/bench/sla_tool.c $OBJS "$BUILD/obj/gen/migrations.o" \
    $(pkg-config --libs lua5.4 sqlite3 libuv libedit lua5.4-luv libcurl libical libh2o libsodium openssl) -lcsv -lm || exit 1
DB="$BENCH_TMP/sla.db"
rm -f "$DB"*
"$TOOL" gen "$DB" "$N" >/dev/null
scan=$("$TOOL" scan "$DB" 5 2>&1 >/dev/null)
tick=$("$TOOL" tick "$DB" "$REPS" 2>&1 >/dev/null)
set -- $(printf '%s\n' "$tick" | awk '$1 == "tick" { print $2, $3, $4 }')
echo "subject $1 $2 relm_sla_pass over $N open releases ($3 stages fired in $REPS ticks)"
echo "absolute median $(awk -v s="$2" 'BEGIN { printf "%.3f ms (issue: <= 50 ms)", s * 1000 }')"
set -- $(printf '%s\n' "$scan" | awk '$1 == "scan" { print $2, $3, $4 }')
echo "baseline $1 $2 bare C loop stepping the $3 open releases with the same calendar arithmetic"
echo "target 1"
