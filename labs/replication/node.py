"""A replicated key-value node: lab 1's node plus versions, a leader and its followers.

Lab 2. The leader gives every write the next version, appends it to its log and answers once
W followers hold it. One thread per follower ships it the log in version order, follower k
--replication-delay x k seconds after each write; a follower keeps the log's prefix only, so
"holds v7" means "holds v1 to v7". One that fell behind the log gets a snapshot first.

    python labs/replication/node.py --port 9001 --role leader --replicate-to 9002,9003
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import flags  # noqa: E402
from labs.plumbing.jsonhttp import BadRequest, JsonHandler, JsonServer, decode_key, shallow  # noqa: E402
from labs.replication.follower import Follower  # noqa: E402
from labs.replication.leader import Leader  # noqa: E402
from labs.replication.log import Log  # noqa: E402
from labs.replication.routes import ReplicaRoutes  # noqa: E402
from labs.scalability import node as single  # noqa: E402  (lab 1's node: the one this one replicates)


class Node(single.Node, JsonServer, Leader, Follower):
    """Lab 1's node, hardened by the plumbing (JsonServer), with a role: a leader writes the log (leader.py), a
    follower applies it (follower.py)."""

    def __init__(self, address, handler, workers, delay, role="leader", followers=(), replication_delay=0.3,
                 ack_timeout=1.0, ready=True, epoch=1):
        super().__init__(*address, workers, delay)
        self.handler = handler  # what serves each request: finish_request()
        self.role, self.ready = role, ready  # not ready: started to catch up, so it serves no client yet
        self.epoch = epoch  # the term of the newest leader we know: a leader of an older one is refused
        self.replication_delay, self.ack_timeout = replication_delay, ack_timeout
        self.log = Log()  # every write, version after version; the store is the log applied
        self.versions = {}  # key -> version of its newest write; a deleted key keeps its version
        self.changed = threading.Condition(self.lock)  # notified when the log grows or a follower acks
        self.held = {}  # follower -> the newest version it holds, None until it has told us
        self.unreachable = set()  # followers whose last delivery failed
        self.writes = self.reads = 0
        for distance, follower in enumerate(followers, 1):
            self.add_follower(follower, distance)

    def finish_request(self, request, client_address):
        """socketserver's hook for a server's requests: served by self.handler, not by lab 1's Handler."""
        self.handler(request, client_address, self)

    def health(self):  # with the settings it runs with: lab 1's workers, and the delays
        return {**super().health(), "role": self.role, "ready": self.ready, "pid": os.getpid(), "epoch": self.epoch,
                "keys": len(self.store), "version": self.log.version, "last_epoch": self.log.last[1],
                "writes": self.writes, "reads": self.reads, "delay": self.delay,
                "replication_delay": self.replication_delay, "ack_timeout": self.ack_timeout}

    def apply(self, entry):
        """Make one write part of the store (the caller holds the lock)."""
        self.versions[entry["key"]] = entry["version"]
        if entry.get("deleted"):
            self.store.pop(entry["key"], None)
        else:
            self.store[entry["key"]] = entry["value"]
        self.log.append(entry, time.perf_counter())
        self.writes += 1


class Handler(ReplicaRoutes, JsonHandler, single.Handler):
    """Lab 1's handler, hardened by the plumbing (JsonHandler: bodies within a deadline, refusals in JSON, keep-alive),
    with the routes between replicas (routes.py); here, the client API with versions."""

    log_line = single.Handler.log_line  # lab 1's line per request (JsonHandler's own is silent)

    def handle_kv(self):
        """Lab 1's worker and delay; a leader's write then waits for its W acks without holding the worker."""
        data = self.read_body()
        with self.server.worker_slot():
            time.sleep(self.server.delay)
            status, body = self.route(data)
        if self.command in ("PUT", "DELETE"):
            status, body = self.replicated(status, body)
        self.send_json(status, body)

    def route(self, data):
        """The key-value API of lab 1, with versions: reads anywhere, writes on the leader only."""
        server, method, path = self.server, self.command, urlsplit(self.path).path
        if not server.ready:
            raise BadRequest(503, "catching up: this node serves nothing until it holds what the others hold")
        if path == "/kv" and method == "GET":
            with server.lock:
                return 200, {"keys": sorted(server.store), "version": server.log.version, "node": server.name}
        if not path.startswith("/kv/") or len(path) == 4:
            raise BadRequest(404 if method == "GET" else 405, f"no {method} on {path}")
        key = decode_key(path[4:])
        with server.lock:  # not found carries its version too: the delete that removed the key (0: never written)
            if method == "GET":
                server.reads += 1
            status, held = (200, {"key": key, "value": server.store[key]}) if key in server.store else \
                (404, {"error": f"key not found: {key}", "key": key})
            held.update(version=server.versions.get(key, 0), node=server.name)
        if method == "GET":
            return status, held
        if method not in ("PUT", "DELETE"):
            raise BadRequest(405, f"{method} is not allowed on /kv/<key>")
        if server.role != "leader":
            raise BadRequest(405, "this node is a follower: it takes writes from its leader only")
        self.quorum = self.write_quorum()
        if method == "DELETE":  # a key gone already: nothing written, answered once W followers hold that delete
            return (200, server.lead({"key": key, "deleted": True})) if status == 200 else (status, held)
        value = shallow(single.parse_value(data))  # lab 1's, and no deeper than a replica can parse again
        return (200 if status == 200 else 201), server.lead({"key": key, "value": value})

    def write_quorum(self):
        """How many followers must ack before the leader answers: the X-Write-Quorum header, else all."""
        followers = len(self.server.held)
        quorum = self.headers.get("X-Write-Quorum", str(followers))
        if not (quorum.isascii() and quorum.isdigit()):
            raise BadRequest(400, "X-Write-Quorum must be a number of followers, from 0")
        if int(quorum) > followers:
            raise BadRequest(503, f"X-Write-Quorum {quorum}: only {followers} followers now")
        return int(quorum)

    def replicated(self, status, entry):
        """The answer to a write, once W followers hold it: 503 if too few could be reached, 504 if
        their acks came too slowly. Either way the write stays where it landed; it is only not acknowledged."""
        acked, missed = self.server.wait_for_acks(entry["version"], self.quorum)
        acks = self.server.log.acks_of(entry["version"])
        body = dict(entry, node=self.server.name, quorum=self.quorum, acks={f: acks[f] for f in acked if f in acks})
        if len(acked) >= self.quorum:
            return status, body
        if len(self.server.held) - len(missed) < self.quorum:
            return 503, dict(body, error=f"{self.quorum} follower acks required, {len(acked)} received: "
                                         f"{', '.join(sorted(missed))} unreachable")
        return 504, dict(body, error=f"{self.quorum} follower acks required, {len(acked)} received "
                                     f"within {self.server.ack_timeout} s after the replication delays")


def main():
    parser = argparse.ArgumentParser(
        description="A replicated key-value node over HTTP: a leader or one of its followers.",
        epilog="example: python labs/replication/node.py --role leader --replicate-to 9002,9003",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", port=9001)
    parser.add_argument("--role", choices=["leader", "follower"], default="leader", help="(default leader)")
    parser.add_argument("--replicate-to", type=flags.parse_nodes, default=[],
                        help="a leader's followers, host:port list or bare ports")
    parser.add_argument("--ack-timeout", type=flags.finite, default=1.0, help="seconds a leader waits for acks "
                        "beyond the replication delays (default 1)")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's term: followers refuse older ones (default 1)")
    parser.add_argument("--catch-up", action="store_true",
                        help="start empty but not ready: serve nothing until caught up (a node brought back up)")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0 or args.replication_delay < 0 or args.ack_timeout < 0:
        parser.error("--workers must be at least 1 and the delays and timeout not negative")
    if args.role == "follower" and args.replicate_to:
        parser.error("only a leader has --replicate-to")
    try:
        node = Node((args.host, args.port), Handler, args.workers, args.delay, args.role, args.replicate_to,
                    args.replication_delay, args.ack_timeout, ready=not args.catch_up, epoch=args.epoch)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    followers = f" of {flags.ports(node.held)}" if node.held else ""
    print(f"node :{node.server_port} ready: {node.role}{followers}; {args.workers} workers, {args.delay} s of work",
          flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"node {node.name} stopped", flush=True)


if __name__ == "__main__":
    main()
