"""A local Lambda Runtime API (the /2018-06-01/runtime/invocation/next + /response protocol),
enough to run a `bootstrap` binary as Lambda does: the process long-polls `next`, gets an event
with the invocation headers, and posts its answer. Used by `scripts/lambda-release` (are the
answers right?) and `scripts/bench` (how long, how much CPU and memory?).

HTTP/1.1 with keep-alive, like Lambda's own endpoint, so a function's connection is reused
between invocations; several polls may wait at once (a function run with
AWS_LAMBDA_MAX_CONCURRENCY > 1 keeps that many)."""
import json
import os
import queue
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:portal"


class _Pending:
    __slots__ = ("done", "handed", "answered", "kind", "data")

    def __init__(self):
        self.done = threading.Event()
        self.handed = self.answered = None
        self.kind = self.data = None


class Runtime(ThreadingHTTPServer):
    """One function's Runtime API: hands out queued events, keeps the answers."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.events = queue.Queue()
        self.pending = {}
        self.first_poll = None
        self.init_error = None
        self.polled = threading.Event()
        self.issued = set()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        # A function killed mid-poll (the end of a run) drops its connection: not an error.
        pass

    def submit(self, event):
        """Queues an event; returns its request id (see `wait`)."""
        request_id = str(uuid.uuid4())
        self.issued.add(request_id)
        self.pending[request_id] = _Pending()
        self.events.put((request_id, json.dumps(event).encode()))
        return request_id

    def wait(self, request_id, timeout=30):
        """The answer to a submitted event: (response JSON, seconds from hand-out to answer)."""
        pending = self.pending[request_id]
        deadline = time.monotonic() + timeout
        while not pending.done.wait(0.05):
            if self.init_error is not None:
                raise RuntimeError(f"init error: {self.init_error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer in {timeout} s")
        del self.pending[request_id]
        if pending.kind != "response":
            raise RuntimeError(f"invocation error: {pending.data!r}")
        return json.loads(pending.data), pending.answered - pending.handed

    def invoke(self, event, timeout=30):
        return self.wait(self.submit(event), timeout)[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # peer's delayed ACK hold every answer ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if server.first_poll is None:
            server.first_poll = time.perf_counter()
            server.polled.set()
        request_id, body = server.events.get()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 15000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", ARN)
        self.send_header("Lambda-Runtime-Trace-Id", TRACE)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        pending = server.pending.get(request_id)
        if pending is not None:
            pending.handed = time.perf_counter()
        self.wfile.write(body)
        self.wfile.flush()

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answered = time.perf_counter()
        parts = self.path.split("/")
        kind = parts[-1]
        if kind in ("response", "error") and parts[-2] in self.server.pending:
            pending = self.server.pending[parts[-2]]
            pending.kind, pending.data, pending.answered = kind, data, answered
            pending.done.set()
        else:
            self.server.init_error = data
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def lambda_env(binary, runtime, **extra):
    """The environment Lambda gives a function (256 MB, JSON logs at INFO), plus `extra`."""
    env = dict(os.environ,
               AWS_LAMBDA_RUNTIME_API=runtime.address,
               AWS_LAMBDA_FUNCTION_NAME=binary, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="local",
               AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{binary}",
               AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH="true",
               # What the template's LoggingConfig makes Lambda set.
               AWS_LAMBDA_LOG_LEVEL="INFO", AWS_LAMBDA_LOG_FORMAT="JSON",
               # What the template's Globals give every function (shared/web/src/allocator.rs).
               MIMALLOC_ARENA_EAGER_COMMIT="0", MIMALLOC_PURGE_DELAY="0")
    env.pop("RUST_LOG", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Function:
    """A `bootstrap` binary running under its own Runtime API."""

    def __init__(self, path, log_path, **env):
        self.runtime = Runtime()
        self.log = open(log_path, "a")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([path], env=lambda_env(os.path.basename(path), self.runtime, **env),
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def init_seconds(self, timeout=30):
        """From exec to the first poll of `next`: the function's init."""
        if not self.runtime.polled.wait(timeout):
            raise RuntimeError("the function never polled for an event")
        return self.runtime.first_poll - self.started

    def invoke(self, event, timeout=30):
        return self.runtime.invoke(event, timeout)

    def cpu_seconds(self):
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mib(self):
        """(resident set, its peak) in MiB."""
        fields = dict(line.split(":", 1) for line in open(f"/proc/{self.proc.pid}/status"))
        return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.runtime.shutdown()
        self.runtime.server_close()
        self.log.close()
