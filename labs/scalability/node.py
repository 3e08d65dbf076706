"""A key-value node: an HTTP server that keeps a dict in memory.

Step 01 of the workshop. The node works on at most --workers requests at once, each
taking --delay seconds of simulated work; further requests wait their turn. That is
why one node chokes when many clients arrive together. Run several on different ports.
Lab 1 adds two decorators on handle_kv: --rate-limit and --load-balance (a front).

    python labs/scalability/node.py --port 8001 --workers 2
"""
import argparse
import json
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.colour import cut  # noqa: E402
from labs.plumbing.jsonhttp import (BadRequest, JsonHandler, JsonServer, decode_key, parse_nodes, port,  # noqa: E402
                                    ports)
from labs.plumbing.processes import exit_with_parent  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES as BALANCERS, load_balancer  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS, rate_limited  # noqa: E402


class Node(JsonServer):
    """The server: one store and one set of worker slots, shared by every request thread."""

    balancer = rate_limiter = None  # strategies from --load-balance and --rate-limit; None: feature off

    def __init__(self, address, handler, workers, delay):
        super().__init__(address, handler)
        self.name = f"{address[0]}:{self.server_port}"
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
    except ValueError:
        raise BadRequest(400, "body is not valid JSON")
    if not isinstance(body, dict) or "value" not in body:
        raise BadRequest(400, 'body must be a JSON object with a "value", like {"value": 42}')
    return body["value"]


class Handler(JsonHandler):
    note = ""  # what the decorators add to this request's log line: ACCEPT/REJECT, the backend

    def do_request(self):
        """Every method lands here: /health answers at once, the rest queue for a worker."""
        self.start = time.monotonic()
        try:
            if self.path == "/health" and self.command == "GET":
                self.send_json(200, self.server.health())
            else:
                self.handle_kv()
        except BadRequest as error:
            self.send_json(error.status, {"error": str(error)})
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request

    @rate_limited
    @load_balancer
    def handle_kv(self):
        """Read the request, wait for a free worker, do the simulated work, answer."""
        data = self.read_body()  # before taking a worker: a client that sends slowly holds none
        with self.server.worker_slot():
            time.sleep(self.server.delay)
            status, body = self.route(data)
        self.send_json(status, body)

    def route(self, data):
        """The key-value API: /kv lists the keys, /kv/<key> reads, writes or deletes one."""
        store, lock, method = self.server.store, self.server.lock, self.command
        path = urlsplit(self.path).path  # a ?query is not part of the key
        if path == "/kv":
            if method != "GET":
                raise BadRequest(405, f"{method} is not allowed on /kv")
            with lock:
                return 200, {"keys": sorted(store), "node": self.server.name}
        if not path.startswith("/kv/") or len(path) == 4:
            raise BadRequest(404, f"no such path: {path}")
        key = decode_key(path[4:])
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

    def log_line(self, status):
        ms = (time.monotonic() - self.start) * 1000
        server = self.server
        line = f"{time.strftime('%H:%M:%S')} {self.command:<6} {self.path[:14]:<14} {status} {ms:5.0f}ms " \
               f"a{server.active} w{server.waiting} {self.note}"
        print(cut(line, 80).rstrip() + "\n", end="", flush=True)  # one write: parallel lines never run together


def main():
    parser = argparse.ArgumentParser(
        description="A key-value node over HTTP.",
        epilog="examples:\n  python labs/scalability/node.py --port 8001 --workers 2\n"
               "  python labs/scalability/node.py --port 8001 --rate-limit fixed-window --limit 5 --window 1\n"
               "  python labs/scalability/node.py --port 8000 --load-balance round-robin --backends 8001,8002,8003",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8001, help="port to listen on (default 8001)")
    parser.add_argument("--workers", type=int, default=2, help="requests worked on at once (default 2)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of simulated work per request (default 0.1)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="limit each client's requests")
    parser.add_argument("--limit", type=int, default=5, help="requests per client per window (default 5)")
    parser.add_argument("--window", type=float, default=1.0, help="rate limit window in seconds (default 1)")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS),
                        help="be a front: forward every request to one of --backends")
    parser.add_argument("--backends", type=parse_nodes, help="host:port list or bare ports, for --load-balance")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0:
        parser.error("--workers must be at least 1 and --delay not negative")
    if args.limit < 1 or args.window <= 0:
        parser.error("--limit must be at least 1 and --window more than 0")
    if bool(args.load_balance) != bool(args.backends):
        parser.error("--load-balance and --backends go together: --load-balance round-robin --backends 8001,8002")
    if args.load_balance and f"{args.host}:{args.port}" in args.backends:
        parser.error(f"--backends must not list this front's own port {args.port}: it would forward to itself forever")
    try:
        node = Node((args.host, args.port), Handler, args.workers, args.delay)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    exit_with_parent()
    print(f"node {node.name} ready: {args.workers} workers, {args.delay} s of work per request", flush=True)
    if args.rate_limit:
        node.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window)
        print(f"rate limit {args.rate_limit}: {args.limit} requests per {args.window:g} s per client", flush=True)
    if args.load_balance:
        node.balancer = BALANCERS[args.load_balance](args.backends)
        print(f"front: {args.load_balance} over {ports(args.backends)} "
              "(it only forwards: no work of its own)", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"node {node.name} stopped", flush=True)


if __name__ == "__main__":
    main()
