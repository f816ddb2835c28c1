# http_common.sh: what the HTTP benchmarks share (sourced): start
# `relm serve --listen` on a free loopback port, read its port from the
# log, stop it; wrk's "Requests/sec" and p99 from its --latency output.
# Needs: RELM_BIN, BENCH_TMP. Sets SERVE_PID and SERVE_URL.

# serve_start DB: serve --listen 127.0.0.1:0 on DB, logging to DB.log.
serve_start() {
    "$RELM_BIN" --db "$1" serve --listen 127.0.0.1:0 > "$1.log" 2>&1 < /dev/null &
    SERVE_PID=$!
    i=0
    while ! grep -q 'listening http=' "$1.log" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 200 ] || ! kill -0 "$SERVE_PID" 2>/dev/null; then
            echo "serve did not listen:"; cat "$1.log"; return 1
        fi
        sleep 0.05
    done
    SERVE_URL=http://$(sed -n 's/.*listening http=\([^ ]*\).*/\1/p' "$1.log" | head -1)
}

serve_stop() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=
}

# A free loopback port (the kernel's pick, released at once).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wrk_rps FILE / wrk_p99_ms FILE: from a `wrk --latency` report.
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
          print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$1"
}
wrk_errors() {
    awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { n += 1 } END { print n + 0 }' "$1"
}
