"""A replicated key-value node: the 01 node plus versions, a leader and its followers.

Lab 2. Starts from workshop_materials/01_nodes/node.py and adds only replication: the leader
versions every write, logs it and ships it to each follower after --replication-delay; a
follower keeps a write only if it is newer than what it holds. coordinator.py starts these.

    python labs/replication/node.py --port 9001 --role leader --followers 9002,9003
"""
import argparse
import json
import os
import queue
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.scalability.client import parse_nodes, send  # noqa: E402  (found through the line above)

MAX_BODY = 1024 * 1024  # bigger request bodies get 413


class Node(ThreadingHTTPServer):
    """The server: one store and one set of worker slots, shared by every request thread."""

    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent clients

    def __init__(self, host, port, workers, delay, role="leader", followers=(), replication_delay=0.3,
                 ack_timeout=1.0, handler=None):
        super().__init__((host, port), handler or Handler)
        self.name = f"{host}:{self.server_port}"
        self.workers, self.delay = workers, delay
        self.store = {}
        self.lock = threading.RLock()  # apply() runs inside lead()'s lock
        self.slots = threading.Semaphore(workers)
        self.active = self.waiting = 0
        self.role, self.followers = role, list(followers)  # a plain list: it may change at run time
        self.replication_delay, self.ack_timeout = replication_delay, ack_timeout
        self.versions = {}  # key -> version of its newest write; a deleted key keeps its version
        self.version = 0  # the newest version applied here; the leader counts new writes from it
        self.log = []  # every write applied here: what a node coming back needs to catch up
        self.acks = {}  # version -> {follower: ms, or None when it could not be reached}
        self.writes = self.reads = 0

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
                "active": self.active, "waiting": self.waiting, "role": self.role, "pid": os.getpid(),
                "keys": len(self.store), "version": self.version, "writes": self.writes, "reads": self.reads}

    def apply(self, entries):
        """Keep each write unless a newer version of its key is already here: replays and
        out-of-order arrivals change nothing. Returns how many were applied."""
        applied = 0
        with self.lock:
            for entry in sorted(entries, key=lambda entry: entry["version"]):
                key = entry["key"]
                if entry["version"] <= self.versions.get(key, 0):
                    continue
                self.versions[key] = entry["version"]
                if entry.get("deleted"):
                    self.store.pop(key, None)
                else:
                    self.store[key] = entry["value"]
                self.version = max(self.version, entry["version"])
                self.log.append(entry)
                self.writes += 1
                applied += 1
        return applied

    def lead(self, write, quorum):
        """The leader's write path: give the write the next version, apply it, replicate it.
        Returns (entry, followers that acked in time, followers that could not be reached)."""
        with self.lock:  # one version per write, applied in version order
            entry = dict(write, version=self.version + 1)
            self.apply([entry])
            self.acks[entry["version"]] = {}
        acked, missed = self.replicate(entry, quorum)
        return entry, acked, missed

    def replicate(self, entry, quorum):
        """Ship entry to every follower, each in its own thread, and wait until `quorum` of them
        acked, or too many were unreachable, or time ran out. The others carry on in the background."""
        followers, answers, started = list(self.followers), queue.Queue(), time.monotonic()
        for distance, follower in enumerate(followers, 1):
            threading.Thread(target=self.ship, args=(entry, follower, distance, started, answers),
                             daemon=True).start()
        acked, missed = [], []
        deadline = started + self.replication_delay * len(followers) + self.ack_timeout
        while len(acked) < quorum <= len(followers) - len(missed):
            try:
                follower, ok = answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            (acked if ok else missed).append(follower)
        return acked, missed

    def ship(self, entry, follower, distance, started, answers):
        """Deliver one write to one follower; record how long its ack took."""
        # Follower k waits k delays: followers at growing distances, so you can watch a write percolate.
        time.sleep(self.replication_delay * distance)
        status, _ = send(follower, "PUT", "/replicate", {"entries": [entry]})
        ms = round((time.monotonic() - started) * 1000)
        with self.lock:
            self.acks[entry["version"]][follower] = ms if status == 200 else None
        answers.put((follower, status == 200))

    def entries_since(self, version):
        """The writes applied here with a newer version, oldest first, each with its acks so far."""
        with self.lock:
            return [dict(entry, acks=dict(self.acks.get(entry["version"], {})))
                    for entry in sorted(self.log, key=lambda entry: entry["version"]) if entry["version"] > version]


class BadRequest(Exception):
    """A request we refuse, with its HTTP status and a message for people."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def parse_value(data):
    """The "value" of a JSON body like {"value": 42}; BadRequest if there is none."""
    try:
        body = json.loads(data or b"null")
    except ValueError:
        raise BadRequest(400, "body is not valid JSON")
    if not isinstance(body, dict) or "value" not in body:
        raise BadRequest(400, 'body must be a JSON object with a "value", like {"value": 42}')
    return body["value"]


class Handler(BaseHTTPRequestHandler):
    timeout = 30  # a client that stops sending mid-request does not hold a thread forever

    # Node to node traffic answers at once, without queueing for a worker: its cost is the replication delay.
    INSTANT = {("GET", "/health"): "get_health", ("PUT", "/replicate"): "put_replicate", ("GET", "/log"): "get_log"}

    def do_request(self):
        """Every method lands here: INSTANT routes answer at once, the rest queue for a worker."""
        self.start = time.monotonic()
        route = self.INSTANT.get((self.command, urlsplit(self.path).path))
        if route:
            try:
                status, body = getattr(self, route)()
            except BadRequest as error:
                status, body = error.status, {"error": str(error)}
            self.send_json(status, body)
        else:
            self.handle_kv()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_request

    def get_health(self):
        return 200, self.server.health()

    def put_replicate(self):
        """A follower receives writes: from its leader, or a whole log when it catches up."""
        try:
            entries = json.loads(self.read_body())["entries"]
            applied = self.server.apply(entries)
        except (ValueError, TypeError, KeyError):
            raise BadRequest(400, 'body must be {"entries": [{"version": 1, "key": "k", "value": 42}, ...]}')
        return 200, {"applied": applied, "version": self.server.version, "node": self.server.name}

    def get_log(self):
        """GET /log?since=N: every write newer than version N, in version order."""
        try:
            since = int(parse_qs(urlsplit(self.path).query).get("since", ["0"])[0])
        except ValueError:
            raise BadRequest(400, "since must be a version number, like /log?since=3")
        return 200, {"entries": self.server.entries_since(since), "version": self.server.version}

    def write_quorum(self):
        """How many followers must ack before the leader answers: the X-Write-Quorum header, else all."""
        followers = len(self.server.followers)
        try:
            quorum = int(self.headers.get("X-Write-Quorum", followers))
        except ValueError:
            raise BadRequest(400, "X-Write-Quorum is not a number")
        if not 0 <= quorum <= followers:
            raise BadRequest(400, f"X-Write-Quorum must be between 0 and {followers}, the number of followers")
        return quorum

    def replicated_write(self, status, write):
        """Replicate a write from the leader and answer: 503 if too few followers could be reached
        to ack it, 504 if their acks came too slowly. Either way it stays applied where it landed."""
        quorum = self.write_quorum()
        entry, acked, missed = self.server.lead(write, quorum)
        body = {**{k: entry[k] for k in ("key", "value", "deleted") if k in entry}, "version": entry["version"],
                "node": self.server.name, "quorum": quorum, "acked": acked}
        if len(acked) >= quorum:
            return status, dict(body, acks={f: self.server.acks[entry["version"]][f] for f in acked})
        if len(self.server.followers) - len(missed) < quorum:
            return 503, dict(body, error=f"{quorum} follower acks required, {len(acked)} received: "
                                         f"{', '.join(missed)} unreachable")
        return 504, dict(body, error=f"{quorum} follower acks required, {len(acked)} received "
                                     f"within {self.server.ack_timeout} s after the replication delays")

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
        if method in ("PUT", "DELETE") and self.server.role == "follower":
            raise BadRequest(405, "this node is a follower: it takes writes from its leader only")
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
                self.server.reads += 1
                if key not in store:
                    raise BadRequest(404, f"key not found: {key}")
                return 200, {"key": key, "value": store[key], "version": self.server.versions[key],
                             "node": self.server.name}
        if method == "PUT":
            value = parse_value(data)
            with lock:
                status = 200 if key in store else 201
            return self.replicated_write(status, {"key": key, "value": value})
        if method == "DELETE":
            with lock:
                if key not in store:
                    raise BadRequest(404, f"key not found: {key}")
            return self.replicated_write(200, {"key": key, "deleted": True})
        raise BadRequest(405, f"{method} is not allowed on /kv/<key>")

    def read_body(self):
        """The raw request body; BadRequest if it is too large to accept."""
        try:
            length = int(self.headers.get("Content-Length", 0))
        except ValueError:
            raise BadRequest(400, "Content-Length is not a number")
        if length > MAX_BODY:
            while length > 0:  # read it all anyway, so the client hears our 413 instead of a reset
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
            raise BadRequest(413, f"body larger than {MAX_BODY} bytes")
        return self.rfile.read(length)

    def send_json(self, status, body, headers=None):
        """Answer with a JSON body, then log one line for this request."""
        data = json.dumps(body).encode() + b"\n"  # the newline keeps curl's output off the shell prompt
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.log_line(status)

    def log_line(self, status):
        ms = (time.monotonic() - self.start) * 1000
        server = self.server
        print(f"{time.strftime('%H:%M:%S')}  {self.client_address[0]:<15} {self.command:<6} {self.path:<20} "
              f"{status}  {ms:6.0f} ms  active {server.active} waiting {server.waiting}\n",
              end="", flush=True)  # one write: lines from parallel requests never run into each other

    def log_message(self, format, *args):
        """Silence http.server's own line per request: log_line() writes ours."""


def main():
    parser = argparse.ArgumentParser(
        description="A replicated key-value node over HTTP: a leader or one of its followers.",
        epilog="example: python labs/replication/node.py --port 9001 --role leader --followers 9002,9003",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9001, help="port to listen on (default 9001)")
    parser.add_argument("--workers", type=int, default=2, help="requests worked on at once (default 2)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of simulated work per request (default 0.1)")
    parser.add_argument("--role", choices=["leader", "follower"], default="leader", help="(default leader)")
    parser.add_argument("--followers", type=parse_nodes, default=[],
                        help="the leader's followers, host:port list or bare ports")
    parser.add_argument("--replication-delay", type=float, default=0.3,
                        help="seconds before the first follower gets a write, one more per next follower (default 0.3)")
    parser.add_argument("--ack-timeout", type=float, default=1.0,
                        help="seconds the leader waits for acks beyond the replication delays (default 1)")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0 or args.replication_delay < 0 or args.ack_timeout < 0:
        parser.error("--workers must be at least 1 and the delays and timeout not negative")
    if args.role == "follower" and args.followers:
        parser.error("only a leader has --followers")
    try:
        node = Node(args.host, args.port, args.workers, args.delay, args.role, args.followers,
                    args.replication_delay, args.ack_timeout)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    followers = f" of {', '.join(node.followers) or 'no followers'}" if node.role == "leader" else ""
    print(f"node {node.name} ready: {node.role}{followers}, {args.workers} workers, "
          f"{args.delay} s of work per request", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"node {node.name} stopped", flush=True)


if __name__ == "__main__":
    main()
