"""Watch writes percolate: one event line per follower's ack, when it lands, read from the leader's log.

Lab 2. While writes are on their way, one thread polls the leader's GET /log for the acks
recorded there; each new one becomes a line with its own time. A write's own line comes when
the leader answers; the acks after it are the write reaching the other followers in the background.
"""
import threading
import time
from contextlib import contextmanager

from labs.plumbing.jsonhttp import send
from labs.replication.display import short

POLL = 0.05  # seconds between two looks at the leader's log
FOLLOW_FOR = 3.0  # seconds a write's acks are awaited after its answer and the replication delays: then "missed"


class Percolation:
    def __init__(self, coordinator):
        self.coordinator, self.lock = coordinator, threading.Lock()
        self.in_flight, self.mark = 0, None  # writes sent but not answered; the log is read after `mark`
        self.shown = {}  # version -> followers whose ack was shown
        self.answered = {}  # version -> when the leader answered it

    @contextmanager
    def writing(self):
        """Around one write: the watching thread runs while any write is in flight or awaits acks."""
        with self.lock:
            self.in_flight += 1
            start = self.mark is None
            if start:
                self.mark = send(self.coordinator.leader.address, "GET", "/health", timeout=1)[1].get("version", 0)
        if start:
            threading.Thread(target=self.watch, daemon=True).start()
        try:
            yield
        finally:
            with self.lock:
                self.in_flight -= 1

    def acknowledged(self, reply, seconds):
        """The leader answered: show the acks it waited for (if not shown yet), then the write itself."""
        version = reply["version"]
        with self.lock:
            self.answered[version] = time.monotonic()
        self.show(reply, reply["acks"], background=False)
        followers = self.coordinator.followers
        self.coordinator.event("write", f"{describe(reply)} v{version} acked by {len(reply['acks'])} of "
                                        f"{len(followers)} (W = {reply['quorum']}) in {seconds * 1000:.0f} ms",
                               {"key": reply["key"], "version": version})

    def show(self, entry, acks, background):
        for address, ms in sorted(acks.items(), key=lambda ack: ack[1]):
            with self.lock:
                shown = self.shown.setdefault(entry["version"], set())
                if address in shown:
                    continue
                shown.add(address)
            node = self.coordinator.by_address(address)
            name = getattr(node, "name", node)
            self.coordinator.event("ack", f"{describe(entry)} v{entry['version']} -> {name} {ms} ms"
                                   + (" (background)" if background else ""),
                                   {"key": entry["key"], "version": entry["version"], "follower": name})

    def watch(self):
        """Poll the leader's log and show new acks, until no write is in flight and every ack came or is late."""
        while True:
            status, log = send(self.coordinator.leader.address, "GET", f"/log?since={self.mark}", timeout=1)
            for entry in log.get("entries", []) if status == 200 else []:
                self.show(entry, entry["acks"], background=entry["version"] in self.answered)
            with self.lock:
                self.forget_done(log.get("entries", []) if status == 200 else [])
                if self.in_flight == 0 and not self.answered or status not in (200, 0):
                    self.mark, self.answered, self.shown = None, {}, {}
                    return
            time.sleep(POLL)

    def forget_done(self, entries):
        """Move the mark past the writes whose acks all came, or are late (said once, as missed)."""
        up = {follower.address for follower in self.coordinator.followers if follower.up}
        for entry in entries:
            answered = self.answered.get(entry["version"], None if self.in_flight else time.monotonic() - FOLLOW_FOR)
            if answered is None:  # still on its way
                return
            late = up - set(entry["acks"])
            if late and time.monotonic() - answered < FOLLOW_FOR + self.coordinator.replication_delay * len(up):
                return
            for address in sorted(late):
                self.coordinator.event("missed", f"{describe(entry)} v{entry['version']}: "
                                                 f"{self.coordinator.by_address(address)} has not acked yet")
            self.mark = entry["version"]
            self.answered.pop(entry["version"], None)
            self.shown.pop(entry["version"], None)


def describe(entry):
    return f"{entry['key']} deleted" if entry.get("deleted") else f"{entry['key']}={short(entry['value'])}"
