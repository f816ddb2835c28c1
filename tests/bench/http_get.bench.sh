#!/bin/sh
# http_get.bench.sh: `GET /api/v1/releases/{id}` with an API token on
# `relm serve --listen` (identify the token, act as its user, route,
# relm.release.get, JSON), driven by wrk (2 threads, 64 connections, a fixed
# duration). Baseline, in the same run and interleaved: the h2o server
# (Debian's h2o, one thread like relm's single loop, access log off) serving
# a static file of the same size. The figure is seconds per request
# (1 / requests per second): ratio <= 2 means relm answers >= 50% of what
# h2o does. p99 (target <= 10 ms) is in the subject's label.
#   HTTP_BENCH_SECONDS=10 HTTP_BENCH_ROUNDS=3 sh tests/bench/run.sh http_get
set -eu
BUILD=${BUILD:-build}
RELM_BIN=${RELM_BIN:-$(pwd)/$BUILD/relm}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")}
SECONDS_EACH=${HTTP_BENCH_SECONDS:-5}
ROUNDS=${HTTP_BENCH_ROUNDS:-3}
CONNS=${HTTP_BENCH_CONNECTIONS:-64}
. tests/bench/http_common.sh
need_tools wrk h2o
trap 'serve_stop; h2o_stop; true' EXIT

db=$BENCH_TMP/get.db
rm -f "$db"*
TOKEN=$("$RELM_BIN" --db "$db" -e '
    local r = relm.release.register{title = "Patch web01", impact = "high", urgency = "high"}
    relm.release.act(r.id, "authorize")
    print((relm.token.create{user = "admin", name = "bench"}))')
serve_start "$db"
URL=$SERVE_URL/api/v1/releases/1
size=$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL" | wc -c)
[ "$size" -gt 100 ] || { echo "GET $URL answered $size bytes"; exit 1; }

# The baseline: the same number of bytes as a static file, from h2o.
h2o_start "$size"

: > "$BENCH_TMP/s" ; : > "$BENCH_TMP/b" ; : > "$BENCH_TMP/p99" ; : > "$BENCH_TMP/scpu" ; : > "$BENCH_TMP/bcpu"
h0=$(cpu_ticks "$H2O_PID")
for r in $(seq "$ROUNDS"); do
    c0=$(cpu_ticks "$SERVE_PID")
    wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency -H "Authorization: Bearer $TOKEN" "$URL" > "$BENCH_TMP/ws$r"
    c1=$(cpu_ticks "$SERVE_PID")
    wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "$H2O_URL" > "$BENCH_TMP/wb$r"
    c2=$(cpu_ticks "$H2O_PID")
    awk -v c="$((c1 - c0))" -v n="$(wrk_requests "$BENCH_TMP/ws$r")" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { print c / hz / n * 1e6 }' >> "$BENCH_TMP/scpu"
    awk -v c="$((c2 - h0))" -v n="$(wrk_requests "$BENCH_TMP/wb$r")" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { print c / hz / n * 1e6 }' >> "$BENCH_TMP/bcpu"
    h0=$c2
    errs=$(wrk_errors "$BENCH_TMP/ws$r")
    [ "$errs" -eq 0 ] || { echo "relm answered $errs requests with an error:"; cat "$BENCH_TMP/ws$r"; exit 1; }
    awk -v r="$(wrk_rps "$BENCH_TMP/ws$r")" 'BEGIN { print 1 / r }' >> "$BENCH_TMP/s"
    awk -v r="$(wrk_rps "$BENCH_TMP/wb$r")" 'BEGIN { print 1 / r }' >> "$BENCH_TMP/b"
    wrk_p99_ms "$BENCH_TMP/ws$r" >> "$BENCH_TMP/p99"
done
set -- $(stats "$BENCH_TMP/s"); smin=$1 smed=$2
set -- $(stats "$BENCH_TMP/b"); bmin=$1 bmed=$2
p99=$(sort -g "$BENCH_TMP/p99" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
# CPU time each server spent per request (median): steadier than req/s
# when other work shares the machine.
scpu=$(sort -g "$BENCH_TMP/scpu" | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }')
bcpu=$(sort -g "$BENCH_TMP/bcpu" | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }')
verdict=$(awk -v p="$p99" 'BEGIN { print (p <= 10 ? "ok" : "OVER") }')
echo "subject $smin $smed relm GET /api/v1/releases/1 ($size bytes, wrk -c$CONNS, $(awk -v t="$smed" 'BEGIN { printf "%d", 1 / t }') req/s, $scpu us CPU/request, p99 $p99 ms, target <= 10 ms: $verdict)"
echo "baseline $bmin $bmed h2o static file of $size bytes ($(awk -v t="$bmed" 'BEGIN { printf "%d", 1 / t }') req/s, $bcpu us CPU/request)"
echo "target 2"
