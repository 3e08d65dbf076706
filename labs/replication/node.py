"""A replicated key-value node: lab 1's node, given a role: a follower, or the leader.

Lab 2. Every write gets the next version. The leader applies it, appends it to its log, ships the log
to its followers and answers once W of them hold it (leader.py); a follower applies the log in version
order (follower.py). The /kv API is lab 1's, with versions; lab 1's workers, delay and log line serve
it. The routes between replicas are answered at once, without a worker.

    python labs/replication/node.py --port 9001 --role leader --replicate-to 9002,9003
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import flags
from labs.plumbing.jsonhttp import MAX_SNAPSHOT, BadRequest, JsonHandler, JsonServer, decode_key, shallow
from labs.replication.follower import Follower
from labs.replication.leader import Leader
from labs.replication.log import Log
from labs.scalability import node as single
from labs.scalability.client import parse_nodes

ENTRY = '{"version": 1, "epoch": 1, "key": "k", "value": 42}'


class Node(JsonServer, single.Node):
    """Lab 1's node (its store, lock and worker slots), with a log of versioned writes and a role."""

    def __init__(self, address, workers, delay, replication_delay=0.3, ack_timeout=1.0, write_quorum=None,
                 epoch=1, ready=True, handler=None):
        super().__init__(*address, workers, delay, handler or Handler)
        self.replication_delay, self.ack_timeout, self.write_quorum = replication_delay, ack_timeout, write_quorum
        # key -> version of its newest write (a deleted key keeps its version); the store is the log applied
        self.log, self.versions, self.writes, self.reads = Log(), {}, 0, 0
        # the newest leader's term we know; not ready: it serves nothing until it holds what the others hold
        self.epoch, self.ready = epoch, ready
        # notified when the log grows, a follower acks, or the role changes
        self.changed = threading.Condition(self.lock)
        self.role = Follower(self)

    def lead(self, epoch, followers):
        """Become the leader of epoch: version writes from our newest on, and ship them to followers."""
        with self.changed:
            self.epoch, self.role = epoch, Leader(self)
            self.changed.notify_all()
        self.role.replicate_to(followers)
        print(f"{time.strftime('%H:%M:%S')} leader of epoch {epoch} from v{self.log.version}", flush=True)

    def follow(self, epoch):
        """A leader of epoch exists. False if its epoch is over; if it is newer, follow it: a leader steps
        down, and nothing is served until that leader finds our log in its own. The caller holds the lock."""
        if epoch > self.epoch:
            if self.role.name == "leader":
                print(f"{time.strftime('%H:%M:%S')} epoch {epoch} began: a follower now", flush=True)
            self.epoch, self.ready, self.role = epoch, False, Follower(self)
            self.changed.notify_all()
        return epoch == self.epoch

    def apply(self, entry):
        """Make one write part of the store and of the log (the caller holds the lock)."""
        self.versions[entry["key"]] = entry["version"]
        if entry.get("deleted"):
            self.store.pop(entry["key"], None)
        else:
            self.store[entry["key"]] = entry["value"]
        self.log.append(entry, time.perf_counter())
        self.writes += 1

    def snapshot(self):
        """Every key's newest write (deleted keys too), the version they add up to and its epoch."""
        with self.lock:
            entries = [{"key": key, "version": version, **({"value": self.store[key]} if key in self.store
                                                             else {"deleted": True})}
                       for key, version in self.versions.items()]
            return {"entries": entries, "version": self.log.version, "last_epoch": self.log.last[1]}

    def install(self, snapshot, epoch, reset=False):
        """Replace the store with a newer snapshot (or any, when a leader resets us): we hold a whole prefix
        of the log now, and serve again. False if the snapshot comes from a leader whose epoch is over."""
        with self.changed:
            if not self.follow(epoch):
                return False
            if reset or snapshot["version"] > self.log.version:
                entries = snapshot["entries"]
                self.store = {e["key"]: e["value"] for e in entries if not e.get("deleted")}
                self.versions = {e["key"]: e["version"] for e in entries}
                self.log = Log(start=snapshot["version"], start_epoch=snapshot["last_epoch"])
            self.ready = True
            return True

    def health(self):
        return {**super().health(), "role": self.role.name, "ready": self.ready, "pid": os.getpid(),
                "epoch": self.epoch, "keys": len(self.store), "version": self.log.version,
                "last_epoch": self.log.last[1], "writes": self.writes, "reads": self.reads,
                "replication_delay": self.replication_delay}


class Handler(JsonHandler, single.Handler):
    """Lab 1's handler (workers, delay, log line, /kv with versions now), in JSON over kept-open connections
    (JsonHandler); the routes between replicas only for this run's processes."""

    ROUTES = {("PUT", "/replicate"): "replicate", ("GET", "/snapshot"): "snapshot", ("PUT", "/snapshot"): "install"}
    INTERNAL = ("/replicate", "/snapshot")
    # any other path: lab 1's /health, or /kv by a worker
    unrouted = single.Handler.do_request

    def route(self, data):
        """Lab 1's key-value API, with versions: reads anywhere, writes decided by the node's role."""
        server, method, path = self.server, self.command, urlsplit(self.path).path
        if not server.ready:
            raise BadRequest(503, "catching up: this node serves nothing until it holds what the others hold")
        if (method, path) == ("GET", "/kv"):
            with server.lock:
                return 200, {"keys": sorted(server.store), "version": server.log.version, "node": server.name}
        if not path.startswith("/kv/") or len(path) == 4:
            raise BadRequest(404, f"no such path: {path}")
        key = decode_key(path[4:])
        with server.lock:
            server.reads += method == "GET"
            found = key in server.store
            # not found has a version too: that of the delete that removed the key (0: never written)
            reply = {"key": key, "value": server.store[key]} if found else {"error": f"key not found: {key}"}
            reply.update(key=key, version=server.versions.get(key, 0), node=server.name)
        if method == "GET" or (method == "DELETE" and not found):
            return 200 if found else 404, reply
        if method == "PUT":
            change = {"key": key, "value": shallow(single.parse_value(data))}
        elif method == "DELETE":
            change = {"key": key, "deleted": True}
        else:
            raise BadRequest(405, f"{method} is not allowed on /kv/<key>")
        return server.role.write(change, self.write_quorum(), 200 if found else 201)

    def write_quorum(self):
        """W for this write: the X-Write-Quorum header, else the node's --write-quorum (None: every follower)."""
        quorum = self.headers.get("X-Write-Quorum", str(self.server.write_quorum or ""))
        if quorum and not (quorum.isascii() and quorum.isdigit()):
            raise BadRequest(400, "X-Write-Quorum must be a number of followers, from 0")
        return int(quorum) if quorum else None

    def replicate(self):
        """PUT /replicate: a follower takes the leader's entries; 409 if they do not follow its last entry,
        or that leader's epoch is over (the reply says the follower's last entry, and its epoch)."""
        body = self.read_json(f'{{"entries": [{ENTRY}], "after": [0, 0], "version": 1, "epoch": 1}}', MAX_SNAPSHOT,
                              needs=("entries", "after", "version", "epoch"))
        entries, after = checked(body["entries"], body["after"]), body["after"]
        with self.server.changed:
            outcome = self.server.role.append(entries, after, body["version"]) if self.server.follow(body["epoch"]) \
                else "deposed"
        return self.answer(outcome, body["epoch"])

    def snapshot(self):
        """GET /snapshot: every key's newest write, and the epoch we follow."""
        return 200, dict(self.server.snapshot(), epoch=self.server.epoch)

    def install(self):
        """PUT /snapshot: take a whole store (a leader resets us, or a catch-up fills us)."""
        body = self.read_json('{"entries": [...], "version": 7, "last_epoch": 1, "epoch": 1}', MAX_SNAPSHOT,
                              needs=("entries", "version", "last_epoch", "epoch"))
        entries = checked(body["entries"])
        if not all(type(body[field]) is int for field in ("version", "last_epoch", "epoch")) \
                or any(entry["version"] > body["version"] for entry in entries):
            raise BadRequest(400, '"version" must be the newest of the entries, "last_epoch" and "epoch" numbers')
        installed = self.server.install(body, body["epoch"], reset=body.get("reset") is True)
        return self.answer("ok" if installed else "deposed", body["epoch"])

    def answer(self, outcome, epoch):
        """200 with our last entry's version and epoch, or 409 saying why not."""
        server = self.server
        reply = {"version": server.log.version, "last_epoch": server.log.last[1], "epoch": server.epoch,
                 "node": server.name}
        if outcome == "ok":
            return 200, reply
        return 409, dict(reply, error=f"epoch {epoch} is over: we follow epoch {server.epoch}" if outcome == "deposed"
                         else "my last entry is another: see version and last_epoch")


def checked(entries, after=None):
    """The entries of a delivery (after: [version, epoch] of the entry before them) or of a snapshot (no
    after), each checked before any is applied: a bad one changes nothing."""
    if after is not None and not (isinstance(after, list) and len(after) == 2 and all(type(n) is int for n in after)):
        raise BadRequest(400, '"after" must be [version, epoch] of the entry before the first, like [0, 0]')
    for number, entry in enumerate(entries if isinstance(entries, list) else [None]):
        if not (isinstance(entry, dict) and type(entry.get("version")) is int and entry["version"] > 0
                and isinstance(entry.get("key"), str) and ("value" in entry or entry.get("deleted") is True)
                and (after is None or type(entry.get("epoch")) is int
                     and entry["version"] == (entries[number - 1]["version"] if number else after[0]) + 1)):
            raise BadRequest(400, f"entry {number}: a version (the next one), a key and a value (or \"deleted\": "
                                  f"true), and in the log an epoch, like {ENTRY}")
    return entries


def main():
    parser = argparse.ArgumentParser(
        description="A replicated key-value node over HTTP: a leader or one of its followers.",
        epilog="example: python labs/replication/node.py --role leader --replicate-to 9002,9003",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", "write-quorum", port=9001)
    parser.add_argument("--role", choices=["leader", "follower"], default="leader", help="(default leader)")
    parser.add_argument("--replicate-to", type=parse_nodes, default=[], help="a leader's followers: ports")
    parser.add_argument("--ack-timeout", type=flags.finite, default=1.0,
                        help="seconds a leader waits for acks beyond the replication delays (default 1)")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's term: followers refuse older ones")
    parser.add_argument("--catch-up", action="store_true", help="serve nothing until caught up (brought back up)")
    args = parser.parse_args()
    if args.workers < 1 or min(args.delay, args.replication_delay, args.ack_timeout, args.write_quorum or 0) < 0:
        parser.error("--workers must be at least 1, the delays, timeout and --write-quorum not negative")
    if args.role == "follower" and args.replicate_to:
        parser.error("only a leader has --replicate-to")
    try:
        node = Node((args.host, args.port), args.workers, args.delay, args.replication_delay, args.ack_timeout,
                    args.write_quorum, args.epoch, ready=not args.catch_up)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    if args.role == "leader":
        node.lead(args.epoch, args.replicate_to)
    print(f"node :{node.server_port} ready: {args.role}; {args.workers} workers, {args.delay} s of work", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"node {node.name} stopped", flush=True)


if __name__ == "__main__":
    main()
