"""The replication log: every write in version order, and which follower holds which.

Lab 2. entries[i] has version start + i + 1, so reading "everything after v" is a slice, not a
search. Each entry carries the epoch of the leader that wrote it: (version, epoch) names one write.
The leader keeps, per entry, when it was written and how long each follower took to ack it.
Old entries are trimmed: once every follower holds them, or when there are too many to keep.
"""
KEEP = 1_000  # entries kept even when every follower holds them: the latest acks stay visible
LIMIT = 10_000  # entries kept at most: a follower further behind than that gets a snapshot


class Log:
    def __init__(self, start=0, start_epoch=0):
        self.start, self.start_epoch = start, start_epoch  # the version just before the first entry kept, its epoch
        self.entries, self.written, self.acks = [], [], []  # one of each per entry
        self.acked_upto = {}  # follower -> the newest version whose ack is recorded

    @property
    def version(self):
        """The newest version: every write up to it is here or was trimmed, none missing."""
        return self.start + len(self.entries)

    def epoch_at(self, version):
        """The epoch of the entry at version; None if the log does not reach it (trimmed, or not written yet)."""
        if version == self.start:
            return self.start_epoch
        return self.entries[version - self.start - 1]["epoch"] if self.start < version <= self.version else None

    @property
    def last(self):
        """(version, epoch) of the newest entry: two logs with the same last entry hold the same writes."""
        return [self.version, self.epoch_at(self.version)]

    def append(self, entry, now):
        self.entries.append(entry)
        self.written.append(now)
        self.acks.append({})
        if len(self.entries) >= LIMIT + KEEP:
            self.trim(self.version - LIMIT)

    def since(self, version, due=None, with_acks=False):
        """The entries after version, oldest first; only those written by `due` if given.
        None if the log no longer reaches back that far (trimmed)."""
        if version < self.start:
            return None
        first = min(version - self.start, len(self.entries))
        last = len(self.entries)
        if due is not None:
            while last > first and self.written[last - 1] > due:
                last -= 1
        if with_acks:
            return [dict(entry, acks=dict(acks))
                    for entry, acks in zip(self.entries[first:last], self.acks[first:last])]
        return self.entries[first:last]

    def due_in(self, version, lag, now):
        """Seconds until the entry after version is `lag` seconds old (0 if there is none)."""
        index = version - self.start
        return max(0.0, self.written[index] + lag - now) if 0 <= index < len(self.entries) else 0.0

    def acked(self, follower, version, now):
        """follower holds every entry up to version: note each new ack's time, in ms since the write."""
        for index in range(max(self.acked_upto.get(follower, 0), self.start) - self.start,
                           min(version, self.version) - self.start):
            self.acks[index][follower] = round((now - self.written[index]) * 1000)
        self.acked_upto[follower] = max(version, self.acked_upto.get(follower, 0))

    def acks_of(self, version):
        """{follower: ms} for one entry still in the log."""
        index = version - self.start - 1
        return dict(self.acks[index]) if 0 <= index < len(self.entries) else {}

    def trim(self, held_by_all):
        """Drop the entries every follower holds, but keep the newest KEEP."""
        upto = min(held_by_all, self.version - KEEP)
        if upto - self.start >= KEEP:  # in steps: trimming costs a copy of the list
            drop = upto - self.start
            self.start_epoch = self.entries[drop - 1]["epoch"]
            del self.entries[:drop], self.written[:drop], self.acks[:drop]
            self.start = upto


def completeness(health):
    """How much of the log a replica holds (its /health), as Raft compares logs: last entry's epoch, version."""
    return health.get("last_epoch", -1), health.get("version", -1)
