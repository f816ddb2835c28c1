#!/bin/sh
# http_mixed.bench.sh: mixed load on `relm serve --listen` for 60 s with
# 200 connections (wrk, one connection per thread; tests/bench/http_mixed.lua):
# 70% reads, 30% actions (execute / fail, half with a possibly stale
# If-Match) on 1,000 releases. Then the checks (the script fails when one
# does not hold): 0 server errors (5xx), 0 lost updates (every write
# answered 2xx is in the history with the version it was told; every
# release's version agrees with its history; nothing beyond the 2xx and the
# writes in flight at the end was written, so no 412 changed anything), and
# memory flat after warm-up (serve's RSS from /proc every 3 s: at most 10%
# growth from the end of the first 15 s to the end). Baseline (no target:
# the issue sets none): h2o serving a static file of a release's size to
# the same 200 connections.
#   MIXED_SECONDS=20 sh tests/bench/run.sh http_mixed
set -eu
BUILD=${BUILD:-build}
RELM_BIN=${RELM_BIN:-$(pwd)/$BUILD/relm}
BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")}
DURATION=${MIXED_SECONDS:-60}
CONNS=${MIXED_CONNECTIONS:-200}
export RELEASES=${MIXED_RELEASES:-1000}
WARMUP=15
. tests/bench/http_common.sh
need_tools wrk h2o
sampler=
trap 'serve_stop; h2o_stop; [ -n "$sampler" ] && kill $sampler 2>/dev/null; true' EXIT

db=$BENCH_TMP/mixed.db
rm -f "$db"*
# Low impact and urgency: priority 4, no CAB approval on the way.
TOKEN=$("$RELM_BIN" --db "$db" -e '
    relm.tx(function()
        for _ = 1, tonumber(os.getenv("RELEASES")) do
            local r = relm.release.register{title = "Load", impact = "low", urgency = "low"}
            relm.release.act(r.id, "authorize")
        end
    end)
    print((relm.token.create{user = "admin", name = "bench"}))')
export TOKEN
mark=$("$RELM_BIN" --db "$db" -e 'print(relm.sql("SELECT max(id) AS m FROM occurrences")[1].m)')
serve_start "$db"

# serve's resident set every 3 s: "SECONDS KB"
( t=0; while kill -0 "$SERVE_PID" 2>/dev/null; do
      echo "$t $(awk '/^VmRSS:/ { print $2 }' /proc/"$SERVE_PID"/status 2>/dev/null)"
      sleep 3; t=$((t + 3))
  done ) > "$BENCH_TMP/rss" &
sampler=$!
export MIXED_LOG=$BENCH_TMP/log
wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" --latency -s tests/bench/http_mixed.lua \
    "$SERVE_URL" > "$BENCH_TMP/wrk.out"
kill $sampler 2>/dev/null; sampler=
size=$(curl -sf -H "Authorization: Bearer $TOKEN" "$SERVE_URL/api/v1/releases/1" | wc -c)
serve_stop

rc=0
"$RELM_BIN" --db "$db" run tests/bench/http_mixed_check.lua "$mark" "$MIXED_LOG".* > "$BENCH_TMP/check" 2>&1 || rc=$?
cat "$BENCH_TMP/check"
[ "$rc" -eq 0 ] || exit "$rc"
cat "$BENCH_TMP/rss" | tr '\n' ' ' | sed 's/^/check rss (s KB): /; s/$/\n/'
awk -v w="$WARMUP" '$1 >= w && warm == "" { warm = $2 } $2 != "" { last = $2 }
    END { g = warm > 0 ? (last - warm) / warm * 100 : 999
          printf "check memory after warm-up: %d KB at %d s, %d KB at the end (%+.1f%%)\n", warm, w, last, g
          exit g > 10 }' "$BENCH_TMP/rss" > "$BENCH_TMP/memory" || rc=1
cat "$BENCH_TMP/memory" >> "$BENCH_TMP/check"
cat "$BENCH_TMP/memory"
[ "$rc" -eq 0 ] || { echo "http_mixed: serve's memory grew more than 10% after warm-up"; exit 1; }

h2o_start "$size"
wrk -t2 -c"$CONNS" -d10s "$H2O_URL" > "$BENCH_TMP/h2o.out"
h2o_stop
rps=$(wrk_rps "$BENCH_TMP/wrk.out")
p99=$(wrk_p99_ms "$BENCH_TMP/wrk.out")
t=$(awk -v r="$rps" 'BEGIN { print 1 / r }')
b=$(awk -v r="$(wrk_rps "$BENCH_TMP/h2o.out")" 'BEGIN { print 1 / r }')
# The checks in one line for `make bench`: writes 2xx/412/4xx, 5xx, lost, RSS.
summary=$(awk '{ gsub(/[,;:]/, "") }
    /^check writes/ { w = $6 " 2xx, " $8 " 412, " $11 " other 4xx, 5xx " $NF }
    /^check history/ { l = $9 " lost" } /^check memory/ { m = "RSS " $5 " -> " $10 " KB " $NF }
    END { print w "; " l "; " m }' "$BENCH_TMP/check")
echo "subject $t $t relm 70% GET release / 30% actions, $RELEASES releases, ${DURATION} s, $CONNS connections ($rps req/s, p99 $p99 ms; writes $summary)"
echo "baseline $b $b h2o static file of $size bytes, $CONNS connections"
