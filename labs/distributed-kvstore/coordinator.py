"""The kvstore coordinator: it repairs the store, in one loop, until it is whole again.

Lab 3. store.py starts the processes and runs the prompt; here each pass of repair() hears the
registry and takes the next step: restart, elect, replace. A silent process that still runs (paused
or cut off) is never killed: epochs, the election's quorum and W acks fence it.

    python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 --read-quorum 1
"""
import sys
import threading
import time
from pathlib import Path

# the repository root, and this folder, for `import labs...` and `import store`
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]
from labs.replication.log import completeness
from catchup import CatchUpFailed, catch_up
from store import main

# seconds between two passes of the repair loop
REPAIR_EVERY = 0.2


class Coordinator:
    """Repairs a Store in a thread of its own; its last pass ends before the processes stop."""

    def __init__(self, store):
        # unfinished: an election failed, and its voters follow an epoch that has no leader yet
        self.store, self.stopping, self.unfinished = store, False, False
        # offered: the newest epoch offered to a node (unanswered, it may have been taken all the same)
        self.offered, self.repairing = 1, threading.Thread(target=self.repair, daemon=True)

    def start(self):
        self.store.start()
        self.repairing.start()

    def repair(self):
        """Every REPAIR_EVERY seconds, the most urgent step; a failed one is tried again. A leader
        lost (dead and silent, or stepped down: it heard of a newer epoch) calls for an election,
        and a failed election for another, until one is won. A silent node that runs is kept."""
        store = self.store
        while not self.stopping:
            dead, cluster = store.dead(), store.cluster
            exited = [node for node in dead if not node.up]
            if not store.registry.up:
                store.restart(store.registry)
            elif self.unfinished or store.leader_lost(dead):
                self.elect()
            elif not store.gateway.up:
                store.restart(store.gateway)
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
        followers, epoch = store.cluster.followers, max(store.epoch, self.offered) + 1
        running = [follower for follower in followers if follower.up]
        needed = max(1, min(len(followers) - store.write_quorum + 1, len(running)))
        votes = {follower: vote for follower in running
                 if (vote := store.ask(follower, "POST", "/vote", {"epoch": epoch})) is not None}
        self.unfinished = True
        if len(votes) < needed:
            return store.cluster.news("refused", f"no leader: {len(votes)} of the {needed} votes "
                                                 f"needed (N - W + 1)")
        chosen = max(votes, key=lambda follower: completeness(votes[follower]))
        others = [node.address for node in store.cluster.nodes if node is not chosen]
        self.offered = epoch
        if store.ask(chosen, "POST", "/lead", {"epoch": epoch, "followers": others}) is None:
            return store.cluster.news("refused", f"no leader: {chosen.name} did not take epoch "
                                                 f"{epoch}")
        store.promoted(chosen, epoch)
        self.unfinished = False

    def replace(self, dead):
        """A follower whose process exited holds nothing: a new one, on a port never used before,
        takes its place. It serves reads, and the leader counts its acks, once it is caught up
        (catchup.py)."""
        store, new = self.store, self.store.new_follower()
        if store.ask(store.cluster.leader, "GET", "/health") is None:
            return store.cluster.news("refused", f"{dead.name} is dead: its successor waits for "
                                                 f"the leader")
        store.cluster.event("replace", f"{dead.name} is dead: {new} takes its place")
        try:
            store.launch(new, "--catch-up")
            followers = [(new if f is dead else f).address for f in store.cluster.followers]
            done = catch_up(store.cluster.leader.address, new.address, followers)
        except (RuntimeError, CatchUpFailed) as error:
            if new.process:
                store.cluster.stop(new)
            return store.cluster.news("refused", f"{new.name} not added, tried again: {error}")
        snapshot = f"snapshot {done['keys']} keys (v{done['snapshot_version']})"
        store.cluster.event("caught-up", f"{new.name}: {snapshot} + {done['replayed']} writes = "
                                         f"v{done['version']}, {done['seconds'] * 1000:.0f} ms")
        store.replaced(dead, new)

    def status(self):
        return self.store.status()

    def stop_all(self):
        self.stopping = True
        if self.repairing.is_alive():
            self.repairing.join(timeout=30)
        self.store.stop_all()


if __name__ == "__main__":
    main(Coordinator)
