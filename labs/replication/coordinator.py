"""Single-leader replication: a coordinator starts 1 leader and N followers, sends writes to the
leader with quorum W and reads to R followers, and takes nodes down and brings them back up.

Lab 2. Read start(), write(), read() and bring_up(), top down; writes and reads go through the front
door (freshness.py). Processes (cluster.py), the prompt (prompt.py) and what it shows (display.py)
are plumbing.

    python labs/replication/coordinator.py --followers 3 --write-quorum 1 --read-quorum 1
"""
import argparse
import sys
import time
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import flags
from labs.plumbing.colour import print_line
from labs.plumbing.network import send
from labs.replication.cluster import Cluster, KVHandler, Replica, check
from labs.replication.display import tell_read, tell_write, watch_coordinator
from labs.replication.freshness import FrontDoor
from labs.replication.log import completeness
from labs.replication.prompt import Prompt, run

NODE = Path(__file__).with_name("node.py")
EMPTY = {"entries": [], "version": 0, "last_epoch": 0}


class Coordinator:
    """Every write goes to the leader, which replicates it; reads go to R followers."""

    def __init__(self, args, show=print_line):
        self.args, self.epoch, base = args, 1, args.base_port
        followers = [Replica(f"follower{k}", "follower", base + k)
                     for k in range(1, args.followers + 1)]
        self.cluster = Cluster([Replica("leader", "leader", base)] + followers, args.logs, show)
        self.front_door = FrontDoor(self.cluster.leader.address, [f.address for f in followers],
                                    args.write_quorum, args.read_quorum)

    def command(self, node, *more):
        """node.py's arguments for a node of the map: the run's settings, whatever its role."""
        command = [NODE, "--port", node.port, "--role", node.role, "--delay", self.args.delay,
                   "--replication-delay", self.args.replication_delay, *more]
        if node.role == "leader":
            followers = ",".join(follower.address for follower in self.cluster.followers)
            command += ["--replicate-to", followers, "--epoch", self.epoch]
        return command

    def start(self):
        """Every node of the map, empty: the followers first, so the leader finds them."""
        for node in self.cluster.followers + [self.cluster.leader]:
            self.cluster.launch(node, self.command(node))
            self.cluster.event("up", f"{node} is up, pid {node.process.pid}")

    def write(self, key, value=None, deleted=False):
        """Through the front door to the leader, which answers once W followers hold the write."""
        started = time.perf_counter()
        body = None if deleted else {"value": value}
        status, reply = self.front_door.write("DELETE" if deleted else "PUT", key, body)
        tell_write(self.cluster, key, status, reply, time.perf_counter() - started)
        return status, reply

    def read(self, key):
        """Through the front door: R followers, the others, the leader last; never stale."""
        started = time.perf_counter()
        status, reply, answers = self.front_door.read(key)
        tell_read(self.cluster, key, status, reply, answers, time.perf_counter() - started)
        return status, reply

    def bring_up(self, node):
        """`up NODE`: a new, empty process that serves nothing until caught up. A follower is caught
        up by the leader's stream; a leader, of a new epoch, first copies the snapshot of the most
        complete follower, so that versions only move forward."""
        self.epoch += node.role == "leader"
        self.cluster.launch(node, self.command(node, "--catch-up"))
        self.front_door.epoch = self.epoch
        running = [follower for follower in self.cluster.followers if follower.up]
        source = max(running, default=None, key=lambda f: completeness(self.cluster.health(f)))
        if node.role == "leader":
            status, snapshot = send(source.address, "GET", "/snapshot", timeout=10) if source \
                else (200, EMPTY)
            if status != 200 or send(node.address, "PUT", "/snapshot",
                                     dict(snapshot, epoch=self.epoch), timeout=10)[0] != 200:
                self.cluster.stop(node)
                raise RuntimeError(f"{node} stopped: no snapshot from {source.name}; try again")
            source = source.name if source else "nobody"
            self.cluster.event("caught-up", f"{node} copied v{snapshot.get('version')} from "
                                            f"{source}: epoch {self.epoch}")
        deadline = time.monotonic() + 10
        while not self.cluster.health(node).get("ready") and time.monotonic() < deadline:
            time.sleep(0.05)
        caught = self.cluster.health(node).get("version")
        self.cluster.event("up", f"{node} is up, pid {node.process.pid}, caught up at v{caught}")

    def down(self, node):
        self.cluster.stop(node)
        self.cluster.event("down", f"{node} is down")

    def set_quorums(self, write_quorum, read_quorum):
        self.front_door.write_quorum, self.front_door.read_quorum = write_quorum, read_quorum

    def status(self):
        """GET /status: the quorums, every node with its numbers, the recent events."""
        door = self.front_door
        return {"followers": len(self.cluster.followers), "write_quorum": door.write_quorum,
                "read_quorum": door.read_quorum, "nodes": self.cluster.rows(),
                "events": self.cluster.events.recent()}

    def stop_all(self):
        self.cluster.stop_all()


def main():
    parser = argparse.ArgumentParser(
        description="1 leader, N followers: writes with quorum W, reads with quorum R, none stale.",
        epilog="examples:\n  python labs/replication/coordinator.py --followers 3 "
               "--write-quorum 1\n  python labs/replication/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replication", choices=["single-leader"], default="single-leader")
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port",
              "delay", "replication-delay", "logs", "script", "watch", port=9000, base_port=9001,
              logs=Path(__file__).with_name("logs"))
    args = parser.parse_args()
    if args.watch:
        return watch_coordinator(args.port)
    check(parser, args, [args.port, *range(args.base_port, args.base_port + args.followers + 1)])
    coordinator, last = Coordinator(args), args.base_port + args.followers
    run(parser, args, coordinator, KVHandler, Prompt(coordinator, args.script),
        f"{args.replication}, N = {args.followers}: leader :{args.base_port}, followers "
        f":{args.base_port + 1} to :{last}\ncoordinator API and picture: "
        f"http://{args.host}:{args.port}")


if __name__ == "__main__":
    main()
