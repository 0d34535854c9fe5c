#!/usr/bin/env python3
"""`./scripts/bench`: the performance figures of the release build, printed as tables.

    python3 bench/bench.py <cargo target dir>

1. init: each function's `bootstrap` (and the floor, a minimal `lambda_http` function) started
   BENCH_STARTS times under a local Lambda Runtime API: exec -> first poll of `next`, and the
   first invocation (event handed out -> answer received); medians.
2. per invocation: BENCH_INVOCATIONS invocations of one event per function, one at a time as
   Lambda sends them: the process's CPU per invocation, its resident set (and peak) after.
   Sign-in also 4 at once (AWS_LAMBDA_MAX_CONCURRENCY=4); get-session at 1, 8 and 32 at once.
3. round trips: `portal-local` in front of a delaying proxy (every DynamoDB request waits
   BENCH_DELAY_MS) against the same requests without the proxy, rate limits on:
   round trips = (latency through the proxy - latency without) / delay.
4. load: `portal-local` (engine in another process, limits off, default logging) and the real
   BetterAuth 1.7.5 server (memory adapter, Node.js) under `portal-loadgen`: req/s, p50, p99
   and the API process's CPU per request, side by side.
5. the arm64 zips `scripts/lambda-arm64` built, when BENCH_ARM64_DIR names their folder.

The engine is `portal-local`'s embedded one in a process of its own; its CPU is never counted.
Figures are this machine's; nothing here asserts a time."""
import asyncio
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import hashlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "events")]
import make_event  # noqa: E402
from lambda_runtime import Function  # noqa: E402

target = sys.argv[1]
release = os.path.join(target, "release")
STARTS = int(os.environ.get("BENCH_STARTS", 20))
INVOCATIONS = int(os.environ.get("BENCH_INVOCATIONS", 1000))
SIGN_INS = int(os.environ.get("BENCH_SIGN_INS", INVOCATIONS))
DELAY = float(os.environ.get("BENCH_DELAY_MS", 25)) / 1000
LOAD = int(os.environ.get("BENCH_LOAD_REQUESTS", 5000))
PHASES = set(os.environ.get("BENCH_ONLY", "init,invoke,trips,load,arm64").split(","))
work = tempfile.mkdtemp(prefix="portal-bench-")
children = []
PASSWORD = "bench-password-1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not start")


def spawn(args, log, **env):
    proc = subprocess.Popen(args, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                            env=dict(os.environ, **{k: str(v) for k, v in env.items()}))
    children.append(proc)
    return proc


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values):
    return statistics.median(values) if values else float("nan")


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    sys.stdout.flush()


class Client:
    """One keep-alive connection to an HTTP server."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, cookie=None, headers=None):
        headers = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            headers["content-type"] = "application/json"
        headers.setdefault("origin", f"http://127.0.0.1:{self.port}")
        if cookie:
            headers["cookie"] = cookie
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        data = res.read()
        elapsed = time.perf_counter() - started
        cookies = [v for k, v in res.getheaders() if k.lower() == "set-cookie"]
        return res.status, data, cookies, elapsed


def session_cookie(cookies):
    return next(c.split(";", 1)[0] for c in cookies if "session_token=" in c)


def signed_up(port, what):
    """Waits for the server on `port`, signs the bench user up there; the client and cookie."""
    wait_http(f"http://127.0.0.1:{port}/api/auth/ok", what)
    client = Client(port)
    status, data, _, _ = client.call("POST", "/api/auth/sign-up/email",
                                     {"name": "Bench", "email": "bench@example.org", "password": PASSWORD})
    assert status == 200, (status, data)
    return client, sign_in(client, "bench@example.org")


def sign_in(client, email):
    status, data, cookies, _ = client.call("POST", "/api/auth/sign-in/email", {"email": email, "password": PASSWORD})
    assert status == 200, (status, data)
    return session_cookie(cookies)


# ---------------------------------------------------------------------------------------
# The store: an embedded engine in its own process (portal-local, whose API goes unused but
# for creating the people the benchmark signs in as).
engine_port, host_port = free_port(), free_port()
ENGINE = f"http://127.0.0.1:{engine_port}"
spawn([f"{release}/portal-local", "--memory", "--port", str(host_port), "--dynamodb-port", str(engine_port)],
      "engine.log", PORTAL_BASE_URL=f"http://127.0.0.1:{host_port}", PORTAL_ADMIN_EMAIL="admin@example.org", PORTAL_ADMIN_PASSWORD=PASSWORD,
      PORTAL_RATE_LIMIT="off", PORTAL_MAIL_DIR=os.path.join(work, "mail"), RUST_LOG="warn",
      PORTAL_SEND_VERIFICATION_ON_SIGN_UP="false")
host, user_cookie = signed_up(host_port, "the engine")
admin_cookie = sign_in(host, "admin@example.org")

STORE_ENV = dict(PORTAL_ENV="development", TABLE_NAME="portal", AWS_ENDPOINT_URL_DYNAMODB=ENGINE,
                 AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_REGION="eu-west-1",
                 PORTAL_MAIL_DIR=os.path.join(work, "mail"), PORTAL_SEND_VERIFICATION_ON_SIGN_UP="false",
                 # What `cargo run` (.cargo/config.toml) and the template give every process.
                 MIMALLOC_ARENA_EAGER_COMMIT="0", MIMALLOC_PURGE_DELAY="0")


def event(method, path, body=None, cookie=None):
    headers = {"host": "portal.example.org", "user-agent": "bench/1", "x-forwarded-proto": "https",
               "origin": "http://localhost:3000"}
    if body is not None:
        headers["content-type"] = "application/json"
    return make_event.v2(method, path, "", headers, None if body is None else json.dumps(body),
                         [cookie] if cookie else [])


FUNCTIONS = {
    "floor (lambda_http hello)": ("portal-floor", event("GET", "/")),
    "auth": ("portal-auth", event("GET", "/api/auth/get-session", cookie=user_cookie)),
    "user": ("portal-user", event("GET", "/api/user/me", cookie=user_cookie)),
    "admin": ("portal-admin-api", event("GET", "/api/admin/users", cookie=admin_cookie)),
    "integrations": ("portal-integrations", event("GET", "/api/integrations", cookie=user_cookie)),
    "monitoring": ("portal-monitoring", event("GET", "/api/health")),
}


def check(answer, what):
    if answer.get("statusCode") != 200:
        sys.exit(f"{what}: {answer}")
    return answer


# 1. init ------------------------------------------------------------------------------
def phase_init():
    rows = []
    for label, (binary, ev) in FUNCTIONS.items():
        inits, firsts = [], []
        for _ in range(STARTS):
            f = Function(f"{release}/{binary}", os.path.join(work, binary + ".log"), **STORE_ENV)
            try:
                inits.append(f.init_seconds() * 1000)
                answer, seconds = f.runtime.wait(f.runtime.submit(ev))
                check(answer, label)
                firsts.append(seconds * 1000)
            finally:
                f.stop()
        rows.append([label, f"{median(inits):.2f}", f"{min(inits):.2f}–{max(inits):.2f}",
                     f"{median(firsts):.2f}", f"{os.path.getsize(f'{release}/{binary}') / 2**20:.1f}"])
    table(f"Init under a Lambda Runtime API emulator (x86-64 release, {STARTS} starts each)",
          ["function", "init median (ms)", "init range (ms)", "first invocation median (ms)", "binary (MiB)"], rows)


# 2. per invocation ---------------------------------------------------------------------
def per_invocation(binary, make_events, n, concurrency=1, **env):
    """Runs n events (make_events(i) gives the i-th) with `concurrency` in flight; returns
    (CPU ms per invocation, invocations per second, RSS MiB, peak MiB)."""
    extra = dict(STORE_ENV, PORTAL_RATE_LIMIT="off", **env)
    if concurrency > 1:
        extra["AWS_LAMBDA_MAX_CONCURRENCY"] = concurrency
    f = Function(f"{release}/{binary}", os.path.join(work, binary + ".log"), **extra)
    try:
        f.init_seconds()
        check(f.invoke(make_events(0)), binary)  # warm
        cpu0, t0 = f.cpu_seconds(), time.perf_counter()
        in_flight = []
        for i in range(n):
            in_flight.append(f.runtime.submit(make_events(i)))
            if len(in_flight) >= concurrency:
                check(f.runtime.wait(in_flight.pop(0))[0], binary)
        for request_id in in_flight:
            check(f.runtime.wait(request_id)[0], binary)
        wall = time.perf_counter() - t0
        cpu = (f.cpu_seconds() - cpu0) * 1000 / n
        rss, peak = f.memory_mib()
        return cpu, n / wall, rss, peak
    finally:
        f.stop()


def phase_invoke():
    sign_in_event = event("POST", "/api/auth/sign-in/email", {"email": "bench@example.org", "password": PASSWORD})
    cases = [
        ("floor: hello", "portal-floor", event("GET", "/"), INVOCATIONS, 1),
        ("auth: GET /api/auth/ok", "portal-auth", event("GET", "/api/auth/ok"), INVOCATIONS, 1),
        ("auth: get-session", "portal-auth", FUNCTIONS["auth"][1], INVOCATIONS, 1),
        ("user: GET /api/user/me", "portal-user", FUNCTIONS["user"][1], INVOCATIONS, 1),
        ("admin: GET /api/admin/users", "portal-admin-api", FUNCTIONS["admin"][1], INVOCATIONS, 1),
        ("admin: GET /api/admin/stats", "portal-admin-api", event("GET", "/api/admin/stats", cookie=admin_cookie), INVOCATIONS, 1),
        ("auth: sign-in", "portal-auth", sign_in_event, SIGN_INS, 1),
        ("auth: sign-in, 4 at once", "portal-auth", sign_in_event, SIGN_INS, 4),
        ("auth: get-session, 8 at once", "portal-auth", FUNCTIONS["auth"][1], INVOCATIONS, 8),
        ("auth: get-session, 32 at once", "portal-auth", FUNCTIONS["auth"][1], INVOCATIONS, 32),
    ]
    rows = []
    floor_cpu = None
    for label, binary, ev, n, concurrency in cases:
        cpu, rate, rss, peak = per_invocation(binary, lambda i, ev=ev: ev, n, concurrency)
        floor_cpu = floor_cpu or cpu
        rows.append([label, n, concurrency, f"{cpu:.3f}", f"{cpu / floor_cpu:.2f}", f"{rate:.0f}", f"{rss:.1f}", f"{peak:.1f}"])
    table("Per invocation under the emulator (limits off; store in another process)",
          ["case", "invocations", "at once (AWS_LAMBDA_MAX_CONCURRENCY)", "CPU ms / invocation", "× floor",
           "invocations/s", "RSS after (MiB)", "peak RSS (MiB)"], rows)


# 3. round trips -------------------------------------------------------------------------
def phase_trips():
    class DelayingProxy:
        """TCP proxy to the engine that holds every request (the first bytes sent after the last
        answer) for `delay` seconds: a round trip to a far DynamoDB."""

        def __init__(self, upstream_port, delay):
            self.port = free_port()
            self.upstream_port, self.delay = upstream_port, delay
            self.loop = asyncio.new_event_loop()
            ready = threading.Event()
            threading.Thread(target=self._run, args=(ready,), daemon=True).start()
            ready.wait()

        def _run(self, ready):
            asyncio.set_event_loop(self.loop)

            async def serve():
                await asyncio.start_server(self._connection, "127.0.0.1", self.port)
                ready.set()
                await asyncio.Event().wait()
            self.loop.run_until_complete(serve())

        async def _connection(self, reader, writer):
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            state = {"answered": True}

            async def requests():
                while data := await reader.read(65536):
                    if state["answered"]:
                        state["answered"] = False
                        await asyncio.sleep(self.delay)
                    up_writer.write(data)
                    await up_writer.drain()
                up_writer.close()

            async def answers():
                while data := await up_reader.read(65536):
                    state["answered"] = True
                    writer.write(data)
                    await writer.drain()
                writer.close()
            await asyncio.gather(requests(), answers(), return_exceptions=True)


    proxy = DelayingProxy(engine_port, DELAY)
    # Limits on, at their defaults except the per-credential and per-address rules, which a few
    # dozen sign-ins from one address would exhaust: raised, still counted the same way.
    limits = dict(PORTAL_RATE_LIMIT_CREDENTIALS="10000/10", PORTAL_RATE_LIMIT_AUTH="10000/10", RUST_LOG="warn")
    apis = {}
    for name, endpoint in [("direct", ENGINE), ("delayed", f"http://127.0.0.1:{proxy.port}")]:
        port = free_port()
        spawn([f"{release}/portal-local", "--port", str(port), "--dynamodb-endpoint", endpoint],
              f"api-{name}.log", **dict(STORE_ENV, AWS_ENDPOINT_URL_DYNAMODB=endpoint,
                                        PORTAL_BASE_URL=f"http://127.0.0.1:{port}", **limits))
        wait_http(f"http://127.0.0.1:{port}/api/health", f"portal-local ({name})")
        apis[name] = Client(port)

    counter = [0]


    def fresh_email():
        counter[0] += 1
        return f"rt-{counter[0]}@example.org"


    endpoints = [
        ("GET /api/auth/get-session", lambda: ("GET", "/api/auth/get-session", None, user_cookie)),
        ("GET /api/user/me", lambda: ("GET", "/api/user/me", None, user_cookie)),
        ("GET /api/user/sessions", lambda: ("GET", "/api/user/sessions", None, user_cookie)),
        ("GET /api/admin/users", lambda: ("GET", "/api/admin/users", None, admin_cookie)),
        ("GET /api/admin/sessions", lambda: ("GET", "/api/admin/sessions", None, admin_cookie)),
        ("PATCH /api/user/me", lambda: ("PATCH", "/api/user/me", {"name": f"Bench {counter[0]}"}, user_cookie)),
        ("POST /api/auth/sign-in/email",
         lambda: ("POST", "/api/auth/sign-in/email", {"email": "bench@example.org", "password": PASSWORD}, None)),
        ("POST /api/auth/sign-up/email",
         lambda: ("POST", "/api/auth/sign-up/email", {"name": "RT", "email": fresh_email(), "password": PASSWORD}, None)),
    ]
    rows = []
    for label, make in endpoints:
        latency = {}
        for name, client in apis.items():
            samples = []
            for _ in range(7):
                method, path, body, cookie = make()
                status, data, _, elapsed = client.call(method, path, body, cookie)
                assert status == 200, (label, name, status, data[:200])
                counter[0] += 1
                samples.append(elapsed * 1000)
            latency[name] = median(samples[1:])
        extra = latency["delayed"] - latency["direct"]
        rows.append([label, f"{latency['direct']:.1f}", f"{latency['delayed']:.1f}", round(extra / (DELAY * 1000))])
    table(f"Sequential DynamoDB round trips (each request to the engine delayed {DELAY * 1000:.0f} ms; limits on)",
          ["endpoint", "median without delay (ms)", f"median with delay (ms)", "sequential round trips"], rows)


# 4. load ----------------------------------------------------------------------------------
def phase_load():
    def load(port, pid, label, path, method="GET", body=None, cookie=None, n=LOAD, concurrency=8):
        args = [f"{release}/portal-loadgen", f"http://127.0.0.1:{port}{path}", "-X", method,
                "-n", str(n), "-c", str(concurrency), "-H", f"origin: http://127.0.0.1:{port}"]
        if cookie:
            args += ["-H", f"cookie: {cookie}"]
        if body is not None:
            args += ["-d", json.dumps(body)]
        cpu0 = cpu_seconds(pid)
        out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        cpu = (cpu_seconds(pid) - cpu0) * 1000 / n
        if out["errors"]:
            sys.exit(f"{label}: {out['errors']} errors, first: {out['first_error']}")
        return {"rps": out["rps"], "p50": out["p50_ms"], "p99": out["p99_ms"], "cpu": cpu}


    port = free_port()
    ours = spawn([f"{release}/portal-local", "--port", str(port), "--dynamodb-endpoint", ENGINE], "api-load.log",
                 **dict(STORE_ENV, PORTAL_RATE_LIMIT="off", PORTAL_BASE_URL=f"http://127.0.0.1:{port}"))
    wait_http(f"http://127.0.0.1:{port}/api/health", "portal-local (load)")
    ours_client = Client(port)
    ours_cookie = sign_in(ours_client, "bench@example.org")

    node_port = free_port()
    reference = spawn(["node", os.path.join(ROOT, "tests", "e2e", "reference-server.mjs"), str(node_port)],
                      "betterauth.log", NODE_ENV="production")
    _, theirs_cookie = signed_up(node_port, "BetterAuth")

    sign_in_body = {"email": "bench@example.org", "password": PASSWORD}
    workloads = [
        ("GET /api/auth/ok", dict(path="/api/auth/ok")),
        ("GET /api/auth/get-session", dict(path="/api/auth/get-session", cookie="@")),
        ("POST /api/auth/sign-in/email", dict(path="/api/auth/sign-in/email", method="POST", body=sign_in_body,
                                              n=max(LOAD // 25, 40), concurrency=4)),
    ]
    rows = []
    for label, spec in workloads:
        results = []
        for port_, pid, cookie in [(port, ours.pid, ours_cookie), (node_port, reference.pid, theirs_cookie)]:
            s = dict(spec)
            if s.get("cookie") == "@":
                s["cookie"] = cookie
            load(port_, pid, label, **dict(s, n=min(200, s.get("n", LOAD))))  # warm (JIT, pools)
            results.append(load(port_, pid, label, **s))
        a, b = results
        rows.append([label, s.get("concurrency", 8), f"{a['rps']:.0f}", f"{b['rps']:.0f}", f"{a['rps'] / b['rps']:.2f}",
                     f"{a['p50']:.2f} / {a['p99']:.2f}", f"{b['p50']:.2f} / {b['p99']:.2f}",
                     f"{a['cpu']:.3f}", f"{b['cpu']:.3f}", f"{a['cpu'] / b['cpu']:.3f}"])
    # The floor of a get-session: the same read, nothing else (bench/src/bin/session_floor.rs).
    token = urllib.parse.unquote(ours_cookie.split("=", 1)[1]).rsplit(".", 1)[0]
    floor_port = free_port()
    floor = spawn([f"{release}/portal-session-floor", "--port", str(floor_port), "--dynamodb-endpoint", ENGINE,
                   "--session-id", hashlib.sha256(token.encode()).hexdigest()[:32], "--user-id", token[:32]],
                  "session-floor.log", **STORE_ENV)
    wait_http(f"http://127.0.0.1:{floor_port}/api/auth/get-session", "the get-session floor")
    load(floor_port, floor.pid, "floor", path="/api/auth/get-session", n=200)
    f = load(floor_port, floor.pid, "floor", path="/api/auth/get-session")
    portal_get_session = next(r for r in rows if r[0] == "GET /api/auth/get-session")
    rows.append(["floor: get-session's one read, as JSON", 8, f"{f['rps']:.0f}", "–", "–",
                 f"{f['p50']:.2f} / {f['p99']:.2f}", "–", f"{f['cpu']:.3f}", "–",
                 f"Portal's get-session: {float(portal_get_session[7]) / f['cpu']:.2f}× the floor"])
    for label, path in [("GET /api/user/me", "/api/user/me")]:
        load(port, ours.pid, label, path=path, cookie=ours_cookie, n=200)
        a = load(port, ours.pid, label, path=path, cookie=ours_cookie)
        rows.append([label, 8, f"{a['rps']:.0f}", "–", "–", f"{a['p50']:.2f} / {a['p99']:.2f}", "–", f"{a['cpu']:.3f}", "–", "–"])
    rss = {}
    for name, proc in [("Portal", ours), ("BetterAuth", reference)]:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{proc.pid}/status"))
        rss[name] = int(fields["VmRSS"].split()[0]) / 1024
    rows.append(["resident memory after these (MiB)", "", f"{rss['Portal']:.1f}", f"{rss['BetterAuth']:.1f}",
                 "", "", "", "", "", ""])
    table("Under load: portal-local (engine in another process, limits off) vs BetterAuth 1.7.5 (Node.js "
          f"{subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}, memory adapter)",
          ["endpoint", "connections", "Portal req/s", "BetterAuth req/s", "req/s ratio", "Portal p50 / p99 (ms)",
           "BetterAuth p50 / p99 (ms)", "Portal CPU ms/req", "BetterAuth CPU ms/req", "CPU ratio"], rows)


# 5. arm64 zips ----------------------------------------------------------------------------
def phase_arm64():
    arm64 = os.environ.get("BENCH_ARM64_DIR")
    if arm64:
        rows = []
        for binary in ["portal-auth", "portal-user", "portal-admin-api", "portal-integrations", "portal-monitoring"]:
            size = os.path.getsize(os.path.join(arm64, binary, "bootstrap.zip"))
            rows.append([binary, f"{size / 2**20:.2f}", size])
        table("`cargo lambda build --release --arm64` zips", ["function", "MiB", "bytes"], rows)

try:
    for name, phase in [("init", phase_init), ("invoke", phase_invoke), ("trips", phase_trips),
                        ("load", phase_load), ("arm64", phase_arm64)]:
        if name in PHASES:
            phase()
finally:
    for proc in children:
        proc.kill()
    shutil.rmtree(work, ignore_errors=True)
