"""The replication log: every write in version order.

Lab 2. entries[i] has version start + i + 1, so "everything after v" is a slice, not a search.
Each entry carries the epoch of the leader that wrote it: (version, epoch) names one write, and
two logs with the same last (version, epoch) hold the same writes. A log that starts from a
snapshot (start > 0) holds only what came after it.
"""


class Log:
    def __init__(self, start=0, start_epoch=0):
        # the version just before the first entry kept, and its epoch
        self.start, self.start_epoch = start, start_epoch
        # one of each per entry: the write, and when it was written (for the replication delay)
        self.entries, self.written = [], []

    @property
    def version(self):
        """The newest version."""
        return self.start + len(self.entries)

    @property
    def last(self):
        """[version, epoch] of the newest entry."""
        return [self.version, self.epoch_at(self.version)]

    def epoch_at(self, version):
        """The epoch of the entry at version; None if the log does not reach it."""
        if version == self.start:
            return self.start_epoch
        if self.start < version <= self.version:
            return self.entries[version - self.start - 1]["epoch"]

    def append(self, entry, now):
        self.entries.append(entry)
        self.written.append(now)

    def since(self, version, due=None):
        """The entries after version, oldest first; only those written by `due` if given.
        None if the log does not reach back that far (it starts from a later snapshot)."""
        if version < self.start:
            return None
        first, last = min(version - self.start, len(self.entries)), len(self.entries)
        while due is not None and last > first and self.written[last - 1] > due:
            last -= 1
        return self.entries[first:last]

    def due_in(self, version, lag, now):
        """Seconds until the entry after version is `lag` seconds old (0 if there is none)."""
        index = version - self.start
        return max(0.0, self.written[index] + lag - now) if 0 <= index < len(self.entries) else 0.0


def completeness(health):
    """How much of the log a replica holds (its /health), as Raft compares logs: last entry's epoch,
    version."""
    return health.get("last_epoch", -1), health.get("version", -1)
