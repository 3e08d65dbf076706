"""The follower's side of a replicated node: take the leader's log in version order, or a snapshot.

Lab 2. node.py's Node is lab 1's node plus this. A follower holds a prefix of the log: it applies
only the next version, so "holds v7" means v1 to v7. It follows the leader of the newest epoch it
knows, and refuses one whose epoch is over: a leader that was deposed while it was away.
"""
from labs.replication.log import Log


class Follower:
    """Mixed into node.py's Node, which holds the store, the log, the lock and the `changed` condition."""

    def append(self, entries, leader_version, epoch):
        """Take a leader's entries in version order: skip those held, apply the next. Returns "ok", "gap"
        (one is missing before them) or "deposed" (that leader's epoch is over: a newer leader exists).
        Caught up (ready) once we hold the leader's newest version."""
        with self.changed:
            if epoch < self.epoch:
                return "deposed"
            self.epoch = epoch
            for entry in entries:
                if entry["version"] > self.log.version + 1:
                    return "gap"
                if entry["version"] == self.log.version + 1:
                    self.apply(entry)
            self.ready = self.ready or self.log.version >= leader_version
            return "ok"

    def snapshot(self):
        """Every key's newest write (deleted keys too), and the version they add up to."""
        with self.lock:
            entries = [{"key": key, "version": version, **({"value": self.store[key]} if key in self.store
                                                             else {"deleted": True})}
                       for key, version in self.versions.items()]
            return {"entries": entries, "version": self.log.version}

    def install(self, snapshot, epoch):
        """Replace the store with a newer snapshot; either way, we hold a whole prefix now: ready.
        False if the snapshot comes from a leader whose epoch is over."""
        with self.changed:
            if epoch < self.epoch:
                return False
            self.epoch = epoch
            if snapshot["version"] > self.log.version:
                self.store = {e["key"]: e["value"] for e in snapshot["entries"] if not e.get("deleted")}
                self.versions = {e["key"]: e["version"] for e in snapshot["entries"]}
                self.log = Log(start=snapshot["version"])
            self.ready = True
            return True
