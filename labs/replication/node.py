"""A replicated key-value node: lab 1's node, given a role: a follower, or the leader.

Lab 2. The leader gives each write the next version, keeps it in its log and ships the log to its
followers (leader.py); a follower applies the log in version order (follower.py). The /kv API is
lab 1's, with versions, served by lab 1's workers; the routes between replicas (routes.py) answer
at once.

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
from labs.plumbing.colour import log
from labs.plumbing.jsonhttp import BadRequest, JsonHandler, JsonServer, decode_key, shallow
from labs.replication import routes
from labs.replication.follower import Follower
from labs.replication.leader import Leader
from labs.replication.log import Log
from labs.scalability import node as single
from labs.scalability.client import parse_nodes


class Node(JsonServer, single.Node):
    """Lab 1's node (store, lock, worker slots), with a log of versioned writes and a role."""

    def __init__(self, address, workers, delay, replication_delay=0.3, write_quorum=None, epoch=1,
                 ready=True, handler=None):
        super().__init__(*address, workers, delay, handler or Handler)
        self.replication_delay, self.write_quorum = replication_delay, write_quorum
        # every write, in order; key -> version of its newest write (a deleted key keeps it)
        self.log, self.versions, self.writes, self.reads = Log(), {}, 0, 0
        # the newest leader's epoch we know; not ready: serve nothing until caught up
        self.epoch, self.ready = epoch, ready
        # notified when the log grows, a follower acks, or the role changes
        self.changed = threading.Condition(self.lock)
        self.role = Follower(self)

    def lead(self, epoch, followers):
        """Lead epoch: version writes from our newest on, and ship them to followers."""
        with self.changed:
            self.epoch, self.role = epoch, Leader(self)
            self.changed.notify_all()
        self.role.replicate_to(followers)
        log(f"leader of epoch {epoch} from v{self.log.version}")

    def follow(self, epoch):
        """A leader of epoch exists: False if that epoch is over. A newer one: follow it (a leader
        steps down), serving nothing until it finds our log in its own. The caller holds the
        lock."""
        if epoch > self.epoch:
            if self.role.name == "leader":
                log(f"epoch {epoch} began: a follower now")
            self.epoch, self.ready, self.role = epoch, False, Follower(self)
            self.changed.notify_all()
        return epoch == self.epoch

    def replicate(self, entries, after, leader_version, epoch):
        """A leader sends the entries after its entry `after`: our role takes them, or "deposed"."""
        with self.changed:
            if not self.follow(epoch):
                return "deposed"
            return self.role.append(entries, after, leader_version)

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
            entries = [{"key": key, "version": version} for key, version in self.versions.items()]
            for entry in entries:
                entry.update({"value": self.store[entry["key"]]} if entry["key"] in self.store
                             else {"deleted": True})
            return {"entries": entries, "version": self.log.version, "last_epoch": self.log.last[1]}

    def install(self, snapshot, epoch, reset=False):
        """Take a newer snapshot (any, if the leader resets us): we hold a whole prefix of the log
        now, and serve. False if its leader's epoch is over."""
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
    """Lab 1's handler (workers, delay, log line, /kv with versions), in JSON: JsonHandler."""

    ROUTES = {("PUT", "/replicate"): routes.replicate, ("GET", "/snapshot"): routes.snapshot,
              ("PUT", "/snapshot"): routes.install}
    INTERNAL = ("/replicate", "/snapshot")
    # any other path: lab 1's /health, or /kv by a worker
    unrouted = single.Handler.do_request

    def route(self, data):
        """Lab 1's key-value API, with versions: reads anywhere; the node's role decides a write."""
        server, method, path = self.server, self.command, urlsplit(self.path).path
        # the newest epoch the client knows (X-Epoch): a leader cut off while another was elected
        # steps down before it answers, and serves nothing until caught up
        epoch = self.headers.get("X-Epoch", "")
        if epoch.isascii() and epoch.isdigit():
            with server.changed:
                server.follow(int(epoch))
        if not server.ready:
            raise BadRequest(503, "catching up: serving nothing until it holds what others hold")
        if (method, path) == ("GET", "/kv"):
            with server.lock:
                keys = sorted(server.store)
            return 200, {"keys": keys, "version": server.log.version, "node": server.name}
        if not path.startswith("/kv/") or len(path) == 4:
            raise BadRequest(404, f"no such path: {path}")
        key = decode_key(path[4:])
        with server.lock:
            server.reads += method == "GET"
            found = key in server.store
            # not found has a version too: the delete's that removed the key (0: never written)
            reply = {"value": server.store[key]} if found else {"error": f"key not found: {key}"}
            reply.update(key=key, version=server.versions.get(key, 0), node=server.name)
        if method == "GET" or (method == "DELETE" and not found):
            return 200 if found else 404, reply
        if method not in ("PUT", "DELETE"):
            raise BadRequest(405, f"{method} is not allowed on /kv/<key>")
        change = {"key": key, "value": shallow(single.parse_value(data))} if method == "PUT" else \
            {"key": key, "deleted": True}
        return server.role.write(change, self.write_quorum(), 200 if found else 201)

    def write_quorum(self):
        """W: the X-Write-Quorum header, else the node's --write-quorum (None: every follower)."""
        quorum = self.headers.get("X-Write-Quorum", str(self.server.write_quorum or ""))
        if quorum and not (quorum.isascii() and quorum.isdigit()):
            raise BadRequest(400, "X-Write-Quorum must be a number of followers, from 0")
        return int(quorum) if quorum else None


def main():
    parser = argparse.ArgumentParser(
        description="A replicated key-value node over HTTP: a leader or one of its followers.",
        epilog="example: python labs/replication/node.py --role leader --replicate-to 9002,9003")
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", "write-quorum",
              port=9001)
    parser.add_argument("--role", choices=["leader", "follower"], default="leader")
    parser.add_argument("--replicate-to", type=parse_nodes, default=[], help="its followers: ports")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's epoch (default 1)")
    parser.add_argument("--catch-up", action="store_true", help="serve nothing until caught up")
    args = parser.parse_args()

    def make():
        node = Node((args.host, args.port), args.workers, args.delay, args.replication_delay,
                    args.write_quorum, args.epoch, ready=not args.catch_up)
        if args.role == "leader":
            node.lead(args.epoch, args.replicate_to)
        return node
    flags.serve(parser, args, make, lambda node: f"node :{node.server_port} ready: {args.role}")


if __name__ == "__main__":
    main()
