#!/usr/bin/env python3
"""Sign-in and get-session latency and CPU against a running portal-local.

    python3 bench/auth.py <port> <pid> [sign-ins] [get-sessions] [concurrency]

Sequential requests over one keep-alive connection. CPU is the server process's user +
system time (/proc/<pid>/stat) divided by the request count; portal-local runs the
embedded DynamoDB engine in the same process, so the figure includes the store's work.
Memory is the server's resident set (VmRSS) and its peak (VmHWM) after each phase; the last
phase signs in `concurrency` clients at once (one connection each)."""
import http.client
import json
import os
import statistics
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
n_sign_in = int(sys.argv[3]) if len(sys.argv) > 3 else 100
n_session = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
concurrency = int(sys.argv[5]) if len(sys.argv) > 5 else 4
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


conn = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None, headers=None):
    headers = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        headers["content-type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    res = conn.getresponse()
    data = res.read()
    return res.status, res.getheader("set-cookie"), data


email = f"bench-{int(time.time())}@example.org"
status, _, _ = call("POST", "/api/auth/sign-up/email", {"name": "Bench", "email": email, "password": "bench-password-1"})
assert status == 200, status


def measure(label, n, fn):
    fn()  # warm
    latencies = []
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    for _ in range(n):
        start = time.perf_counter()
        fn()
        latencies.append((time.perf_counter() - start) * 1000)
    wall = time.perf_counter() - t0
    cpu = (cpu_seconds() - cpu0) * 1000 / n
    q = statistics.quantiles(latencies, n=100)
    print(f"{label:12} n={n:5}  p50={q[49]:7.2f} ms  p95={q[94]:7.2f} ms  p99={q[98]:7.2f} ms  "
          f"mean={statistics.mean(latencies):7.2f} ms  server CPU={cpu:6.2f} ms/req  {n / wall:7.1f} req/s")


cookie = {}


def sign_in():
    status, set_cookie, _ = call("POST", "/api/auth/sign-in/email", {"email": email, "password": "bench-password-1"})
    assert status == 200, status
    cookie["value"] = set_cookie.split(";")[0]


def get_session():
    status, _, body = call("GET", "/api/auth/get-session", headers={"cookie": cookie["value"]})
    assert status == 200 and body != b"null", (status, body[:80])


def memory(label):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    mib = lambda name: int(fields[name].split()[0]) / 1024
    print(f"{label:34} RSS={mib('VmRSS'):7.1f} MiB  peak={mib('VmHWM'):7.1f} MiB")


memory("server at start")
measure("sign-in", n_sign_in, sign_in)
memory(f"after {n_sign_in} sequential sign-ins")
measure("get-session", n_session, get_session)
memory(f"after {n_session} get-sessions")


def sign_in_many(count):
    own = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(count):
        own.request("POST", "/api/auth/sign-in/email",
                    body=json.dumps({"email": email, "password": "bench-password-1"}),
                    headers={"content-type": "application/json"})
        res = own.getresponse()
        res.read()
        assert res.status == 200, res.status


import threading
threads = [threading.Thread(target=sign_in_many, args=(n_sign_in // concurrency,)) for _ in range(concurrency)]
t0 = time.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - t0
print(f"sign-in x{concurrency:<3} n={n_sign_in // concurrency * concurrency:5}  {n_sign_in // concurrency * concurrency / wall:7.1f} req/s")
memory(f"after {n_sign_in} sign-ins, {concurrency} at once")
