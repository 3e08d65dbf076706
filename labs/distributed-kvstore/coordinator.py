"""The kvstore coordinator: it repairs the store, in one loop, until it is whole again.

Lab 3. store.py starts the registry, lab 2's leader and N followers (lab 3's node.py: with
heartbeats) and the gateway, and runs the prompt's commands; this file holds the repair. Each pass
of repair() hears what the registry says, then takes the next step toward a registry, a gateway, 1
leader and N followers: restart, elect, replace. A process that still runs is never killed: silent,
it may be paused or cut off, and hold acknowledged writes. Only the protocol fences it: epochs, the
election's quorum, W acks.

    python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 --read-quorum 1
"""
import argparse
import sys
import threading
import time
from pathlib import Path

# the repository root, and this folder, for `import labs...` and `import store`
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]
from labs.plumbing import flags
from labs.replication.cluster import StatusHandler, check
from labs.replication.display import watch_coordinator
from labs.replication.log import completeness
from labs.replication.prompt import run
from labs.scalability.load_balancer import STRATEGIES as BALANCERS
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS
from catchup import CatchUpFailed, catch_up
from prompt import KVStorePrompt
from store import HERE, Store

# seconds between two passes of the repair loop
REPAIR_EVERY = 0.2


class Coordinator:
    """Repairs a Store, in a thread of its own, until the coordinator stops."""

    def __init__(self, store):
        self.store, self.stopping = store, False

    def start(self):
        self.store.start()
        threading.Thread(target=self.repair, daemon=True).start()

    def repair(self):
        """Every REPAIR_EVERY seconds, the most urgent step toward the whole store; a failed step is
        tried again on the next pass. Silent nodes whose process runs are kept: they may come back.
        """
        store = self.store
        while not self.stopping:
            dead, cluster = store.dead(), store.cluster
            stopped = next((member for member in (store.registry, store.gateway) if not member.up), None)
            exited = [node for node in dead if not node.up]
            if stopped:
                store.restart(stopped)
            elif cluster.leader in dead:
                self.elect()
            elif exited:
                self.replace(exited[0])
            else:
                for node in dead:
                    cluster.news("kept", f"{node.name} is silent, but its process runs: kept")
                store.tell_gateway()
            time.sleep(REPAIR_EVERY)

    def elect(self):
        """A new leader needs the votes of N - W + 1 followers: every acknowledged write is on W of
        the N, so that many include one that holds it. A follower whose process exited holds nothing
        and is not waited for; one that runs may hold acknowledged writes, so its vote counts as
        missing. Each voter follows the new epoch from then on: an old leader that still runs gets
        fewer than W acks, and acknowledges nothing more. The most complete voter (newest epoch,
        then version, as Raft compares logs) leads."""
        store = self.store
        followers, epoch = store.cluster.followers, store.epoch + 1
        running = [follower for follower in followers if follower.up]
        needed = max(1, min(len(followers) - store.write_quorum + 1, len(running)))
        votes = {follower: vote for follower in running
                 if (vote := store.ask(follower, "POST", "/vote", {"epoch": epoch})) is not None}
        if len(votes) < needed:
            return store.cluster.news("refused", f"no leader: {len(votes)} of the {needed} votes it needs "
                                                 f"(N - W + 1); no writes until then")
        chosen = max(votes, key=lambda follower: completeness(votes[follower]))
        others = [node.address for node in store.cluster.nodes if node is not chosen]
        if store.ask(chosen, "POST", "/lead", {"epoch": epoch, "followers": others}) is None:
            return store.cluster.news("refused", f"no leader: {chosen.name} did not take epoch {epoch}")
        store.promoted(chosen, epoch)

    def replace(self, dead):
        """A follower whose process exited holds nothing: a new one, on a port never used before,
        takes its place. It serves reads, and the leader counts its acks, once it is caught up
        (catchup.py)."""
        store, new = self.store, self.store.new_follower()
        if store.ask(store.cluster.leader, "GET", "/health") is None:
            return store.cluster.news("refused", f"{dead.name} is dead: its replacement waits for the leader")
        store.cluster.event("replace", f"{dead.name} is dead: {new} takes its place")
        try:
            store.launch(new, "--catch-up")
            followers = [new.address if node is dead else node.address for node in store.cluster.followers]
            done = catch_up(store.cluster.leader.address, new.address, followers)
        except (RuntimeError, CatchUpFailed) as error:
            if new.process:
                store.cluster.stop(new)
            return store.cluster.news("refused", f"{new.name} not added, tried again: {error}")
        store.cluster.event("caught-up", f"{new.name}: snapshot {done['keys']} keys (v{done['snapshot_version']})"
                                         f" + {done['replayed']} writes = v{done['version']}, "
                                         f"{done['seconds'] * 1000:.0f} ms")
        store.replaced(dead, new)

    def status(self):
        return self.store.status()

    def stop_all(self):
        self.stopping = True
        self.store.stop_all()


def main():
    parser = argparse.ArgumentParser(
        description="The kvstore: registry, gateway, a leader, N followers, repaired when one dies.",
        epilog="examples:\n  python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2\n"
               "  python labs/distributed-kvstore/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port", "delay",
              "replication-delay", "heartbeat-interval", "dead-after", "gateway-port", "registry-port", "limit",
              "window", "logs", "script", "watch", port=9100, base_port=9101, logs=HERE / "logs")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for reads (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client")
    args = parser.parse_args()
    if args.watch:
        return watch_coordinator(args.port)
    if args.heartbeat_interval <= 0 or args.dead_after <= 2 * args.heartbeat_interval or args.limit < 1 \
            or args.window <= 0:
        parser.error("need --heartbeat-interval > 0, --dead-after > 2 heartbeat intervals, --limit >= 1 "
                     "and --window > 0")
    check(parser, args, [args.port, args.gateway_port, args.registry_port,
                         *range(args.base_port, args.base_port + args.followers + 1)])
    store = Store(args)
    limit = f"; the gateway allows {args.limit} requests per {args.window:g} s per client" if args.rate_limit else ""
    todo = f"\nnot written yet: {', '.join(store.not_written())} (make check)" if store.not_written() else ""
    run(parser, args, Coordinator(store), StatusHandler, KVStorePrompt(store, args.script),
        f"kvstore on your labs 1 and 2: clients use the gateway :{args.gateway_port}{limit}\nregistry "
        f":{args.registry_port}; coordinator API and picture: http://127.0.0.1:{args.port}{todo}")


if __name__ == "__main__":
    main()
