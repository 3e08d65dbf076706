"""The follower's side of a replicated node: take the leader's log in version order, or a snapshot.

Lab 2. node.py's Node is lab 1's node plus this. A follower holds a prefix of the log, taking entries only
right after its last one: "holds v7" means v1 to v7, and two logs with the same last (version, epoch) hold the
same writes. It follows the newest epoch it knows, and refuses a leader deposed while it was away.
"""
from labs.replication.log import Log


class Follower:
    """Mixed into node.py's Node, which holds the store, the log, the lock and the `changed` condition."""

    def append(self, entries, after, leader_version, epoch):
        """Take a leader's entries, which follow its entry `after` ([version, epoch]): only if that is our
        last entry. Returns "ok", "mismatch" (our last entry is another: the leader looks again) or "deposed"
        (that leader's epoch is over: a newer leader exists). Caught up (ready) once we hold its newest version."""
        with self.changed:
            if epoch < self.epoch:
                return "deposed"
            self.epoch = epoch
            if after != self.log.last:
                return "mismatch"
            for entry in entries:
                self.apply(entry)
            self.ready = self.ready or self.log.version >= leader_version
            return "ok"

    def snapshot(self):
        """Every key's newest write (deleted keys too), the version they add up to and its epoch."""
        with self.lock:
            entries = [{"key": key, "version": version, **({"value": self.store[key]} if key in self.store
                                                             else {"deleted": True})}
                       for key, version in self.versions.items()]
            version, last_epoch = self.log.last
            return {"entries": entries, "version": version, "last_epoch": last_epoch}

    def install(self, snapshot, epoch, reset=False):
        """Replace the store with a newer snapshot, or any when the leader resets us (we hold what its log does not):
        we hold a whole prefix now, ready. False if the snapshot comes from a leader whose epoch is over."""
        with self.changed:
            if epoch < self.epoch:
                return False
            self.epoch = epoch
            if reset or snapshot["version"] > self.log.version:
                self.store = {e["key"]: e["value"] for e in snapshot["entries"] if not e.get("deleted")}
                self.versions = {e["key"]: e["version"] for e in snapshot["entries"]}
                self.log = Log(start=snapshot["version"], start_epoch=snapshot["last_epoch"])
            self.ready = True
            return True
