#!/usr/bin/env python3
# http_fuzz.py: the HTTP request fuzzer of the torture suite: random and
# mutated raw requests over loopback to `relm serve --listen` (the ASan/UBSan
# build), made from the route table (the served OpenAPI document).
#   python3 tests/torture/http_fuzz.py RELM DIR CASES [SEED]
# Prints "http-fuzz TRIED HELD FAILED 5xx=N": a case held when the server
# answered it (any status) or closed the connection, and is still serving;
# it failed when the server died, a sanitizer reported, or it stopped
# answering. Server errors (5xx) are counted apart and fail the run too:
# bad input must get a 4xx. The cases that failed are in DIR/failed/.
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

RELM, DIR, CASES = sys.argv[1], sys.argv[2], int(sys.argv[3])
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else int(time.time())
WORKERS = int(os.environ.get("HTTP_FUZZ_WORKERS", "6"))
os.makedirs(os.path.join(DIR, "failed"), exist_ok=True)
DB = os.path.join(DIR, "fuzz.db")
for f in (DB, DB + "-wal", DB + "-shm"):
    if os.path.exists(f):
        os.remove(f)

env = dict(os.environ, RELM_DB=DB)
# Settings the attacks need to show: a small body limit, a short header wait.
# Tokens 1..3 are decoys for the cases that revoke "1": the fuzzer's token
# and the liveness check's come after them.
TOKEN, ALIVE = subprocess.run(
    [RELM, "-e", """
        for i = 1, 3 do relm.token.create{user = "admin", name = "decoy" .. i} end
        relm.notify.set { http_header_timeout_seconds = 2, http_max_body_bytes = 65536 }
        relm.cmdb.define_type { name = "server", attributes = {} }
        relm.cmdb.add { type = "server", name = "web01" }
        local r = relm.release.register{title = "Fuzz", impact = "low", urgency = "low"}
        print((relm.token.create{user = "admin", name = "fuzz"}))
        print((relm.token.create{user = "admin", name = "alive"}))"""],
    env=env, check=True, capture_output=True, text=True).stdout.split()

LOG = os.path.join(DIR, "serve.log")
log = open(LOG, "wb")
srv = subprocess.Popen([RELM, "--db", DB, "serve", "--listen", "127.0.0.1:0"],
                       stdout=log, stderr=subprocess.STDOUT, env=env)
port = None
for _ in range(400):
    m = re.search(rb"listening http=[^:\s]+:(\d+)", open(LOG, "rb").read())
    if m:
        port = int(m.group(1))
        break
    if srv.poll() is not None:
        break
    time.sleep(0.05)
if port is None:
    print("http-fuzz: FAILED serve did not listen: " + open(LOG).read()[-500:])
    print("http-fuzz 1 0 1")
    sys.exit(1)


def exchange(data, timeout=3.0):
    """Send data, half-close, read the answer. Returns bytes read, or None
    when the connection could not be made (the server is gone)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None
    out = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    finally:
        s.close()
    return out


openapi = json.loads(exchange(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n").split(b"\r\n\r\n", 1)[1])
ROUTES = [(m.upper(), p) for p, item in openapi["paths"].items() for m in item
          if m in ("get", "post", "put", "patch", "delete")]
QUERY = {p: [q["name"] for q in item.get(m, {}).get("parameters", []) if q.get("in") == "query"]
         for p, item in openapi["paths"].items() for m in item if isinstance(item.get(m), dict)}

NASTY = ["", "0", "1", "-1", "99999999999999999999", "1e308", "NaN", "'", "' OR '1'='1", "1;DROP TABLE releases",
         "%00", "%", "%zz", "%2e%2e", "..", "../../etc/passwd", "%c0%ae", "%ff%fe", "\u00e9", "%e9", "{id}",
         "a" * 5000, "%0d%0aX-Injected:%201", "REL-2026-000001", "web01", "*", "null", "true", "[]", "{}"]
JSON_VALUES = [None, True, False, 0, -1, 2 ** 63, 1.5, "", "x", "'; --", "\u0000", "\udcff", [], {}, [1, [2]],
               {"a": {"b": {}}}, "x" * 3000]
FIELDS = ["title", "impact", "urgency", "workflow", "note", "kind", "target", "decision", "dry_run", "name",
          "user", "password", "expires", "type", "attributes", "from", "to", "version", "text", "limit"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PRI", "G\x00T", "get", ""]


def fill(path, rnd):
    return re.sub(r"\{[^}]+\}", lambda _: rnd.choice(NASTY + ["1", "1", "REL-2026-000001", "web01"]), path)


def body_for(rnd):
    k = rnd.random()
    if k < 0.5:
        obj = {rnd.choice(FIELDS): rnd.choice(JSON_VALUES) for _ in range(rnd.randint(0, 6))}
        try:
            return json.dumps(obj).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            return b"{}"
    if k < 0.7:
        return b"{" * rnd.randint(1, 5000)
    if k < 0.8:
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
    if k < 0.9:
        return b'{"title": "' + b"\xff\xfe\x00" * rnd.randint(1, 50) + b'"}'
    return b"[" * 200 + b"]" * 199


def valid(rnd):
    """A well-formed request to a route of the table, parameters nasty."""
    method, path = rnd.choice(ROUTES)
    target = fill(path, rnd)
    qs = QUERY.get(path, [])
    if qs and rnd.random() < 0.6:
        target += "?" + "&".join(f"{rnd.choice(qs)}={rnd.choice(NASTY)}" for _ in range(rnd.randint(1, 4)))
    body = body_for(rnd) if method in ("POST", "PUT", "PATCH") else b""
    headers = ["Host: 127.0.0.1", "Connection: close"]
    r = rnd.random()
    if r < 0.8:
        headers.append("Authorization: Bearer " + TOKEN)
    elif r < 0.9:
        headers.append("Authorization: " + rnd.choice(["Bearer", "Bearer ", "Basic YTpi", "Bearer " + "x" * 900,
                                                        "Bearer relm_\x00"]))
    else:
        headers.append("Cookie: relm_session=" + rnd.choice(NASTY))
    if rnd.random() < 0.3:
        headers.append('If-Match: "v' + rnd.choice(NASTY) + '"')
    if rnd.random() < 0.1:
        headers.append("Last-Event-ID: " + rnd.choice(NASTY))
    if body:
        headers.append("Content-Type: application/json")
        headers.append("Content-Length: %d" % len(body))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    return head.encode("utf-8", "surrogatepass") + body


def mutate(data, rnd):
    data = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.random()
        pos = rnd.randint(0, len(data)) if data else 0
        if op < 0.3 and data:
            data[min(pos, len(data) - 1)] = rnd.getrandbits(8)
        elif op < 0.5:
            data[pos:pos] = rnd.choice([b"\x00", b"\r\n", b"\r", b"\n", b":", b" ", b"%", b"\xff", b"\r\n\r\n",
                                        b"Transfer-Encoding: chunked\r\n", b"Content-Length: 99999999\r\n",
                                        b"Content-Length: -1\r\n", b"Expect: 100-continue\r\n",
                                        b"X-A: " + b"a" * 9000 + b"\r\n"])
        elif op < 0.7 and data:
            del data[pos:pos + rnd.randint(1, 40)]
        elif op < 0.8:
            data = data[:pos]
        elif op < 0.9 and data:
            chunk = data[pos:pos + rnd.randint(1, 200)]
            data[pos:pos] = chunk * rnd.randint(1, 20)
        else:
            data[pos:pos] = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 64)))
    return bytes(data)


def chunked(rnd):
    body = body_for(rnd)
    method, path = rnd.choice([r for r in ROUTES if r[0] in ("POST", "PATCH")] or ROUTES)
    head = (f"{method} {fill(path, rnd)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    sizes = [b"%x" % len(body), rnd.choice([b"ffffffffffffffff", b"-5", b"zz", b"0", b"%x" % (len(body) + 7)])]
    return head + rnd.choice(sizes) + b"\r\n" + body + b"\r\n0\r\n\r\n"


def case(n):
    rnd = random.Random(SEED * 1000003 + n)
    k = rnd.random()
    if k < 0.45:
        return valid(rnd)
    if k < 0.85:
        return mutate(valid(rnd), rnd)
    if k < 0.92:
        return chunked(rnd)
    if k < 0.96:
        # HTTP/2 by prior knowledge, then garbage frames
        return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 400)))
    return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 2000)))


lock = threading.Lock()
state = {"next": 0, "held": 0, "failed": 0, "server": 0, "dead": False}


def alive():
    if srv.poll() is not None:
        return False
    got = exchange(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                   + ALIVE.encode() + b"\r\n\r\n", timeout=10)
    return got is not None and got.startswith(b"HTTP/1.1 200")


def keep(n, data, why):
    with open(os.path.join(DIR, "failed", "case%d.bin" % n), "wb") as f:
        f.write(data)
    print("http-fuzz: FAILED case %d (seed %d): %s" % (n, SEED, why), flush=True)


def worker():
    while True:
        with lock:
            n = state["next"]
            if n >= CASES or state["dead"]:
                return
            state["next"] += 1
        data = case(n)
        got = exchange(data)
        status = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", got or b"")
        if got is None or srv.poll() is not None:
            with lock:
                state["failed"] += 1
                state["dead"] = True
            keep(n, data, "the server died")
            return
        if status and status.group(1).startswith(b"5"):
            with lock:
                state["server"] += 1
                state["failed"] += 1
            keep(n, data, "answered " + status.group(1).decode())
            continue
        if n % 500 == 499 and not alive():
            with lock:
                state["failed"] += 1
                state["dead"] = True
            keep(n, data, "the server stopped answering")
            return
        with lock:
            state["held"] += 1


threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok_end = alive()
if srv.poll() is None:
    srv.send_signal(signal.SIGTERM)
    try:
        srv.wait(30)
    except subprocess.TimeoutExpired:
        srv.kill()
log.close()
text = open(LOG, "rb").read().decode("utf-8", "replace")
reports = re.findall(r"(ERROR: AddressSanitizer[^\n]*|runtime error[^\n]*|LeakSanitizer[^\n]*)", text)
failed = state["failed"]
if not ok_end and not state["dead"]:
    failed += 1
    print("http-fuzz: FAILED the server did not answer after the run", flush=True)
for r in reports[:5]:
    print("http-fuzz: FAILED sanitizer: " + r, flush=True)
if reports:
    failed += 1
tried = state["held"] + state["failed"]
print("http-fuzz %d %d %d 5xx=%d seed=%d" % (tried, state["held"], failed, state["server"], SEED))
sys.exit(1 if failed else 0)
