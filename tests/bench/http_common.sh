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

# h2o_start SIZE: Debian's h2o (one thread, like relm's single loop,
# access log off) serving a static file of SIZE bytes on a free loopback
# port; sets H2O_PID and H2O_URL (the file's address).
h2o_start() {
    mkdir -p "$BENCH_TMP/www"
    head -c "$1" /dev/zero | tr '\0' x > "$BENCH_TMP/www/release.json"
    hport=$(free_port)
    cat > "$BENCH_TMP/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $hport
num-threads: 1
user: $(id -un)
access-log: /dev/null
hosts:
  default:
    paths:
      /:
        file.dir: $BENCH_TMP/www
CONF
    h2o -c "$BENCH_TMP/h2o.conf" > "$BENCH_TMP/h2o.log" 2>&1 &
    H2O_PID=$!
    H2O_URL=http://127.0.0.1:$hport/release.json
    i=0
    until curl -sf -o /dev/null "$H2O_URL"; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { cat "$BENCH_TMP/h2o.log"; return 1; }
        sleep 0.05
    done
}

h2o_stop() {
    [ -n "${H2O_PID:-}" ] && kill "$H2O_PID" 2>/dev/null && wait "$H2O_PID" 2>/dev/null
    H2O_PID=
}

need_tools() {
    for tool in "$@"; do
        command -v "$tool" > /dev/null ||
            { echo "$tool is missing (Debian package $tool; make deps)"; return 1; }
    done
}

# min and median of the numbers in file $1
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)] }'; }

# A free loopback port (the kernel's pick, released at once).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: user + system CPU time the process has used, in clock
# ticks (/proc/PID/stat fields 14 and 15). On a shared machine CPU time
# per request is steadier than requests per second.
cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }

# wrk_requests FILE: how many requests wrk completed.
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }

# wrk_rps FILE / wrk_p99_ms FILE: from a `wrk --latency` report.
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
          print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$1"
}
wrk_errors() {
    awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { n += 1 } END { print n + 0 }' "$1"
}
