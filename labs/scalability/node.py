"""A key-value node: an HTTP server that keeps a dict in memory.

Step 01 of the workshop. The node works on at most --workers requests at once, each
taking --delay seconds of simulated work; further requests wait their turn. That is
why one node chokes when many clients arrive together. Run several on different ports.
Lab 1 adds @rate_limited and @load_balancer (--rate-limit, --load-balance) on handle_kv.

    python labs/scalability/node.py --port 8001 --workers 2
"""
import argparse
import json
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.colour import cut
from labs.plumbing import flags
from labs.plumbing.jsonhttp import BadRequest
from labs.scalability.client import parse_nodes
from labs.scalability.load_balancer import STRATEGIES as BALANCERS, load_balancer
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS, rate_limited

# bigger request bodies get 413
MAX_BODY = 1024 * 1024


class Node(ThreadingHTTPServer):
    """The server: one store and one set of worker slots, shared by every request thread."""

    daemon_threads = True
    # the default backlog of 5 drops bursts of concurrent clients
    request_queue_size = 128
    # on Windows, address reuse would let a second node take a port in use
    allow_reuse_address = sys.platform != "win32"
    # --rate-limit's and --load-balance's strategies; None: off
    rate_limiter = balancer = None

    def __init__(self, host, port, workers, delay, handler=None):
        super().__init__((host, port), handler or Handler)
        self.name = f"{host}:{self.server_port}"
        self.workers, self.delay = workers, delay
        self.store = {}
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(workers)
        self.active = self.waiting = 0

    @contextmanager
    def worker_slot(self):
        """Wait for one of the --workers slots; count who is working and who is waiting."""
        with self.lock:
            self.waiting += 1
        self.slots.acquire()
        with self.lock:
            self.waiting -= 1
            self.active += 1
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1
            self.slots.release()

    def health(self):
        return {"status": "ok", "node": self.name, "workers": self.workers,
                "active": self.active, "waiting": self.waiting}


def parse_value(data):
    """The "value" of a JSON body like {"value": 42}; BadRequest if there is none."""
    try:
        body = json.loads(data or b"null")
    except (ValueError, RecursionError):
        raise BadRequest(400, "body is not valid JSON")
    if not isinstance(body, dict) or "value" not in body:
        raise BadRequest(400, 'body must be a JSON object with a "value", like {"value": 42}')
    return body["value"]


class Handler(BaseHTTPRequestHandler):
    # a client that stops sending mid-request does not hold a thread forever
    timeout = 30

    def do_request(self):
        """Every method lands here: /health answers at once, the rest queue for a worker."""
        # note: what a decorator adds to this request's log line
        self.start, self.note = time.perf_counter(), ""
        try:
            if self.path == "/health" and self.command == "GET":
                self.send_json(200, self.server.health())
            else:
                self.handle_kv()
        except BadRequest as error:
            self.send_json(error.status, {"error": str(error)})
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_request

    @rate_limited
    @load_balancer
    def handle_kv(self):
        """Wait for a free worker, do the simulated work, answer."""
        with self.server.worker_slot():
            time.sleep(self.server.delay)
            try:
                status, body = self.route(self.read_body())
            except BadRequest as error:
                status, body = error.status, {"error": str(error)}
        self.send_json(status, body)

    def route(self, data):
        """The key-value API: /kv lists the keys, /kv/<key> reads, writes or deletes one."""
        store, lock, method = self.server.store, self.server.lock, self.command
        if self.path == "/kv":
            if method != "GET":
                raise BadRequest(405, f"{method} is not allowed on /kv")
            with lock:
                return 200, {"keys": sorted(store), "node": self.server.name}
        if not self.path.startswith("/kv/") or len(self.path) == 4:
            raise BadRequest(404, f"no such path: {self.path}")
        key = unquote(self.path[4:])
        if method == "GET":
            with lock:
                if key not in store:
                    raise BadRequest(404, f"key not found: {key}")
                return 200, {"key": key, "value": store[key], "node": self.server.name}
        if method == "PUT":
            value = parse_value(data)
            with lock:
                status = 200 if key in store else 201
                store[key] = value
            return status, {"key": key, "value": value, "node": self.server.name}
        if method == "DELETE":
            with lock:
                if store.pop(key, None) is None:
                    raise BadRequest(404, f"key not found: {key}")
            return 200, {"key": key, "deleted": True, "node": self.server.name}
        raise BadRequest(405, f"{method} is not allowed on /kv/<key>")

    def read_body(self):
        """The raw request body; BadRequest if it is too large to accept."""
        try:
            length = int(self.headers.get("Content-Length", 0))
        except ValueError:
            raise BadRequest(400, "Content-Length is not a number")
        if length > MAX_BODY:
            # read it all anyway, so the client hears our 413 instead of a reset
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
            raise BadRequest(413, f"body larger than {MAX_BODY} bytes")
        return self.rfile.read(length)

    def send_json(self, status, body, headers=None):
        """Answer with a JSON body, then log one line for this request."""
        # the newline keeps curl's output off the shell prompt
        data = json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.log_line(status)

    def log_line(self, status):
        ms = (time.perf_counter() - self.start) * 1000
        server = self.server
        line = (f"{time.strftime('%H:%M:%S')} {self.command:<6} {self.path[:14]:<14} {status} "
                f"{ms:3.0f} ms active {server.active} waiting {server.waiting}{self.note}")
        # one write: lines from parallel requests never run into each other
        print(cut(line, 80) + "\n", end="", flush=True)

    def log_message(self, format, *args):
        """Silence http.server's own line per request: log_line() writes ours."""


def main():
    parser = argparse.ArgumentParser(
        description="A key-value node over HTTP.",
        epilog="example: python labs/scalability/node.py --rate-limit fixed-window --limit 5",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "limit", "window", port=8001)
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="limit each client")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), help="be a front")
    parser.add_argument("--backends", type=parse_nodes, help="the front's nodes: ports")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0:
        parser.error("--workers must be at least 1 and --delay not negative")
    if bool(args.load_balance) != bool(args.backends) or \
            f"{args.host}:{args.port}" in (args.backends or []):
        parser.error("--load-balance goes with --backends, the other nodes: --backends 8001,8002")

    def make():
        node = Node(args.host, args.port, args.workers, args.delay)
        if args.rate_limit:
            node.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window)
        if args.load_balance:
            node.balancer = BALANCERS[args.load_balance](args.backends)
        return node

    def ready(node):
        workers = f"{args.workers} worker{'s' * (args.workers > 1)}"
        work = f"{workers}, {args.delay} s of work per request"
        front = f"a front, {args.load_balance} over {flags.ports(args.backends or [])}"
        limit = f"\nrate limit: {args.limit} requests per {args.window:g} s per client"
        return f"node {node.name} ready: {front if args.load_balance else work}" + \
            limit * bool(args.rate_limit)
    flags.serve(parser, args, make, ready)


if __name__ == "__main__":
    main()
