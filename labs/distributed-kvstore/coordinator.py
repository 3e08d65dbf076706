"""The kvstore coordinator: it repairs the store, in one loop, until it is whole again.

Lab 3. store.py starts the registry, lab 2's leader and N followers (lab 3's node.py: with heartbeats) and
the gateway, as lab 2's coordinator does; the prompt's put and get go through the gateway. This file holds
the repair: the registry reports a death (membership), and each pass of repair() takes the next step
toward 1 leader and N followers, a gateway and a registry: restart, promote, replace.

    python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 --read-quorum 1
"""
import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import exercises, flags, processes  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.replication.cluster import READ_TIMEOUT, Replica, check  # noqa: E402
from labs.replication.coordinator import STRATEGIES  # noqa: E402
from labs.replication.display import watch  # noqa: E402
from labs.replication.log import completeness  # noqa: E402
from labs.replication.prompt import run  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES as BALANCERS  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS  # noqa: E402
from api import KVStoreHandler  # noqa: E402  (the files beside this one)
from catchup import CatchUpFailed, catch_up  # noqa: E402
from prompt import KVStorePrompt  # noqa: E402
from store import HERE, Store  # noqa: E402

REPAIR_EVERY = 0.2  # seconds between two passes of the repair loop


class KVStore(Store):
    """Lab 2's single leader and followers, behind a gateway, watched by a registry, repairing itself."""

    def __init__(self, args):
        super().__init__(args)
        self.next_port = args.base_port + args.followers + 1  # a replacement gets a port never used before
        self.replaced = {}  # name of a dead follower -> name of its replacement
        self.dead = set()  # nodes found dead, to replace
        self.stopping = False

    def start(self):
        super().start()
        threading.Thread(target=self.repair, daemon=True).start()

    def stop_all(self):
        self.stopping = True
        super().stop_all()

    def membership(self, news):
        """The registry's news. A "dead" node that still answers as itself is kept; one that does not is killed."""
        self.event(news["event"], f"{news['member']} :{news['port']} ({news['role']}), says the registry")
        if news["event"] != "dead" or (node := self.find(news["member"])) not in self.nodes:
            return
        if node.up and self.health(node).get("pid") == node.process.pid:
            return self.event("alive", f"{node} answers: not dead, kept")
        if node.up:
            processes.stop(node.process, grace=0)
            self.event("killed", f"{node} (pid {node.process.pid}) does not answer: killed")
        self.dead.add(node)

    def repair(self):
        """Every REPAIR_EVERY seconds, the most urgent step toward the whole store; a failed one is tried again."""
        while not self.stopping:
            stopped = next((member for member in (self.registry, self.gateway) if not member.up), None)
            if stopped and (stopped is self.registry or self.leader.up):  # a new gateway learns from the leader
                self.restart(stopped)
            elif self.leader in self.dead:
                self.promote()
            elif self.dead and self.leader.up:  # a replacement catches up from the leader
                self.replace(next(iter(self.dead)))
            else:  # whole: a later failure is news again; a gateway that missed a change (paused) hears it now
                self.said.clear()
                self.tell_gateway()
            time.sleep(REPAIR_EVERY)

    def promote(self):
        """W of the N followers hold each acknowledged write: once N - W + 1 answer (or all that run: an exited one
        holds nothing), one of them holds them all. The most complete, as Raft compares logs, leads a new epoch."""
        running = [follower for follower in self.followers if follower.up]
        needed = max(1, min(self.args.followers - self.write_quorum + 1, len(running)))
        heard = {f: health for f in running if (health := self.health(f)).get("pid") == f.process.pid}  # as itself
        if len(heard) < needed:
            return self.once("refused", f"no leader yet: {len(heard)} of {needed} followers answered; no writes")
        chosen, self.epoch = max(heard, key=lambda follower: completeness(heard[follower])), self.epoch + 1
        status, reply = send(chosen.address, "POST", "/promote", {"epoch": self.epoch, "followers": [
            follower.address for follower in running if follower is not chosen]}, timeout=READ_TIMEOUT)
        if status != 200:
            return self.once("refused", f"no new leader: {chosen.name}: {reply.get('error', status)}")
        with self.lock:
            dead, index = self.leader, self.nodes.index(chosen)
            self.nodes[0], self.nodes[index] = chosen, dead
            chosen.role, dead.role = "leader", "follower"
        self.tell_gateway()  # writes go to the new leader from now on
        self.event("promoted", f"leader dead -> {chosen.name} promoted (epoch {self.epoch}, "
                               f"v{heard[chosen]['version']})")

    def replace(self, dead):
        """A follower on the next free port takes a dead one's place: started, caught up, then in the map."""
        self.next_port = next(port for port in range(self.next_port, 65536) if processes.port_free(port)) + 1
        new = Replica(f"follower{self.args.followers + len(self.replaced) + 1}", "follower", self.next_port - 1)
        self.event("replace", f"{dead.name} is dead: {new} takes its place")
        try:
            self.launch(new, "--catch-up")
            done = catch_up(self.leader.address, new.address, self.routes()["followers"] + [new.address])
        except (RuntimeError, CatchUpFailed) as error:
            processes.stop(new.process) if new.process else None
            return self.once("refused", f"{new.name} not added, tried again: {error}")
        self.event("caught-up", f"{new.name}: snapshot {done['keys']} keys (v{done['snapshot_version']}) + "
                                f"{done['replayed']} writes = v{done['version']}, {done['seconds'] * 1000:.0f} ms")
        with self.lock:
            self.nodes[self.nodes.index(dead)] = new
            self.replaced[dead.name] = new.name
            self.dead.discard(dead)
        self.register(new)
        self.tell_gateway()
        send(self.registry.address, "DELETE", f"/members/{dead.name}", timeout=READ_TIMEOUT)
        self.event("up", f"{new} serves reads, in place of {dead.name}")


def main():
    parser = argparse.ArgumentParser(
        description="The kvstore: registry, gateway, a leader, N followers, repaired when one dies.",
        epilog="examples:\n  python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2\n"
               "  python labs/distributed-kvstore/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replication", choices=sorted(STRATEGIES), default="single-leader",
                        help="replication strategy, as in lab 2 (default single-leader)")
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port", "delay",
              "replication-delay", "heartbeat-interval", "dead-after", "gateway-port", "registry-port", "limit",
              "window", "logs", "script", "watch", port=9100, base_port=9101, logs=HERE / "logs")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for reads (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client's requests")
    args = parser.parse_args()
    if args.watch:
        return watch(f"127.0.0.1:{args.port}")
    if args.heartbeat_interval <= 0 or args.dead_after <= 2 * args.heartbeat_interval or args.limit < 1 \
            or args.window <= 0:
        parser.error("need --heartbeat-interval > 0, --dead-after > 2 heartbeat intervals, --limit >= 1 "
                     "and --window > 0")
    check(parser, args, [args.port, args.gateway_port, args.registry_port,
                         *range(args.base_port, args.base_port + args.followers + 1)])
    store = KVStore(args)
    for line in exercises.missing_block(store.exercises()):
        print(line, flush=True)  # the students' edition: what this store runs on, not written yet
    run(parser, args, store, KVStoreHandler, f"kvstore: {args.replication}, on your labs 1 and 2; clients use the "
        f"gateway :{args.gateway_port}\nregistry :{args.registry_port}; coordinator API and picture: "
        f"http://127.0.0.1:{args.port}" + (f"\nthe gateway limits each client to {args.limit} requests per "
        f"{args.window:g} s ({args.rate_limit})" if args.rate_limit else ""), KVStorePrompt(store, args.script))


if __name__ == "__main__":
    main()
