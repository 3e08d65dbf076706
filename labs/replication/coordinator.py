"""A coordinator for single-leader replication: starts 1 leader and N followers, writes with quorum W
through the leader, reads from R followers, and never answers older than it answered before.

Lab 2. Read write(), read() and bring_up(), top down; starting and stopping the processes (cluster.py),
the prompt (prompt.py: put, get, down, up, status, quorum, wait, quit), the HTTP API (api.py: /kv as a
node has it, /status, a picture at /) and the live views (display.py, percolation.py) are plumbing.

    python labs/replication/coordinator.py --followers 3 --write-quorum 1 --read-quorum 1
"""
import argparse
import itertools
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import flags  # noqa: E402
from labs.plumbing.colour import print_line  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.replication.api import CoordinatorHandler  # noqa: E402
from labs.replication.cluster import READ_TIMEOUT, Cluster, Replica, check  # noqa: E402
from labs.replication.display import said, watch  # noqa: E402
from labs.replication.freshness import Freshness, quorum_read  # noqa: E402
from labs.replication.log import completeness  # noqa: E402
from labs.replication.percolation import Percolation  # noqa: E402
from labs.replication.prompt import Prompt, run  # noqa: E402

NODE = Path(__file__).with_name("node.py")
CATCH_UP_TIMEOUT = 10.0  # seconds a node brought back up may take to catch up


class Coordinator(Cluster):
    """Single leader: every write goes to the leader, which replicates it; reads go to R followers."""

    def __init__(self, followers=3, write_quorum=None, read_quorum=1, base_port=9001, delay=0.1,
                 replication_delay=0.3, show=print_line, logs=None):
        super().__init__([Replica("leader", "leader", base_port)] + [Replica(f"follower{i}", "follower", base_port + i)
                                                                      for i in range(1, followers + 1)], logs, show)
        self.write_quorum = followers if write_quorum is None else write_quorum
        self.read_quorum, self.delay, self.replication_delay = read_quorum, delay, replication_delay
        self.freshness = Freshness()  # each key's newest version acknowledged or answered: no read goes below it
        self.percolation = Percolation(self)  # reports each follower's ack as it lands
        self.turn = itertools.count()  # reads start at the next follower each time, round robin
        self.epoch = 1  # a leader's term: each leader started begins a new one; followers refuse older ones

    def command(self, node):
        """The node.py arguments for one node of the map: the run's settings for all (a follower may lead one day)."""
        args = [NODE, "--port", node.port, "--role", node.role, "--delay", self.delay,
                "--replication-delay", self.replication_delay]
        if node.role == "leader":
            args += ["--replicate-to", ",".join(f.address for f in self.followers), "--epoch", self.epoch]
        return args

    def start(self):
        """Start every node of the map, empty and ready: the followers first, so the leader finds them."""
        for node in self.followers + [self.leader]:
            self.launch(node)
            self.event("up", f"{node} is up, pid {node.process.pid}")

    def write(self, key, value=None, deleted=False):
        """Send a write to the leader with quorum W; remember its version once acknowledged."""
        alive = [follower for follower in self.followers if follower.up]
        if not self.leader.up:
            return self.refuse(503, f"write {key}: the leader is down: no writes until it is up")
        if len(alive) < self.write_quorum:
            return self.refuse(503, f"write {key}: W = {self.write_quorum} acks required, "
                                    f"only {len(alive)} followers up")
        started = time.perf_counter()
        with self.percolation.writing():  # the acks show as they land
            status, reply = send(self.leader.address, "DELETE" if deleted else "PUT", f"/kv/{quote(key, safe='')}",
                                 None if deleted else {"value": value}, {"X-Write-Quorum": str(self.write_quorum)})
            if status not in (200, 201, 404):
                return self.refuse(status or 503, f"write {key}: {reply.get('error', 'no answer from the leader')}")
            self.freshness.remember(key, reply["version"])
            if status == 404:  # deleted already: nothing written, and W followers hold the delete that did it
                self.event("write", f"{key} not found v{reply['version']}: deleted already", {"key": key})
            else:
                self.percolation.acknowledged(reply, time.perf_counter() - started)
        return status, dict(reply, acks={self.by_address(a).name: ms for a, ms in reply["acks"].items()})

    def read(self, key):
        """Ask R followers; answer with the newest version, never one older than a version acknowledged or answered."""
        alive = [follower for follower in self.followers if follower.up]
        if len(alive) < self.read_quorum:
            return self.refuse(503, f"read {key}: R = {self.read_quorum} followers required, only {len(alive)} up")
        first = next(self.turn) % len(alive)
        order = alive[first:] + alive[:first] + [self.leader]  # the leader last: it holds every acknowledged write
        started = time.perf_counter()
        answer, answers = quorum_read(key, order, self.read_quorum, lambda node: send(
            node.address, "GET", f"/kv/{quote(key, safe='')}", timeout=READ_TIMEOUT) if node.up else (0, {}),
            self.freshness)
        newest = answer[2]["version"] if answer else self.freshness.version(key)
        for node, status, reply in answers:
            if status in (200, 404) and reply["version"] < newest:
                self.event("stale", f"{key}: {node.name} said {said(status, reply)} < v{newest}: not reported",
                           {"key": key, "node": node.name})
            elif status not in (200, 404) and node.up:
                self.event("missed", f"{key}: {node.name} did not answer ({str(reply.get('error', status))[:28]})")
        if answer is None:
            return self.refuse(503, f"read {key}: no replica up holds v{newest} or newer")
        served_by = [node.name for node, _, reply in answers if reply.get("version") == newest]
        self.event("read", f"{key} = {said(*answer[1:])} from {', '.join(served_by)}, "
                           f"{(time.perf_counter() - started) * 1000:.0f} ms", {"key": key})
        return answer[1], dict(answer[2], node="coordinator", served_by=served_by)

    def bring_up(self, node):
        """`up NODE`: a new, empty process that serves nothing until it caught up. A follower is caught up
        by its leader's stream; a leader, of a new epoch, copies the snapshot of the most complete follower."""
        if node.role == "leader":
            self.epoch += 1
        self.launch(node, "--catch-up")
        if node.role == "leader":
            source = max((f for f in self.followers if f.up), default=None, key=lambda f: completeness(self.health(f)))
            snapshot = send(source.address, "GET", "/snapshot")[1] if source else {"entries": [], "version": 0}
            send(node.address, "PUT", "/snapshot", dict(snapshot, epoch=self.epoch), timeout=CATCH_UP_TIMEOUT)
            self.event("caught-up", f"{node} copied {len(snapshot['entries'])} keys (v{snapshot['version']}) from "
                                    f"{source.name if source else 'nobody'}: epoch {self.epoch}")
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while not self.health(node).get("ready") and time.monotonic() < deadline:
            time.sleep(0.05)
        health = self.health(node)
        self.event("up", f"{node} is up, pid {node.process.pid}, " + (f"caught up at v{health['version']}" if
                   health.get("ready") else "not caught up: it serves nothing yet"))

    def status(self):
        """GET /status: the quorums, the leader's own replication delay, every node, the recent events."""
        return dict(super().status(), write_quorum=self.write_quorum, read_quorum=self.read_quorum,
                    replication_delay=self.health(self.leader).get("replication_delay", self.replication_delay))


STRATEGIES = {"single-leader": Coordinator}


def main():
    parser = argparse.ArgumentParser(
        description="1 leader, N followers: writes with quorum W, reads with quorum R, none stale.",
        epilog="examples:\n  python labs/replication/coordinator.py --followers 3 --write-quorum 1\n"
               "  python labs/replication/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replication", choices=sorted(STRATEGIES), default="single-leader",
                        help="replication strategy (default single-leader)")
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port", "delay",
              "replication-delay", "logs", "script", "watch", port=9000, base_port=9001,
              logs=Path(__file__).with_name("logs"))
    args = parser.parse_args()
    if args.watch:
        return watch(f"127.0.0.1:{args.port}")
    check(parser, args, [args.port, *range(args.base_port, args.base_port + args.followers + 1)])
    coordinator = STRATEGIES[args.replication](args.followers, args.write_quorum, args.read_quorum, args.base_port,
                                               args.delay, args.replication_delay, logs=args.logs)
    run(parser, args, coordinator, CoordinatorHandler, f"{args.replication}, N = {args.followers}: leader "
        f":{args.base_port}, followers :{args.base_port + 1} to :{args.base_port + args.followers}\n"
        f"coordinator API and picture: http://{args.host}:{args.port}", Prompt(coordinator, args.script))


if __name__ == "__main__":
    main()
