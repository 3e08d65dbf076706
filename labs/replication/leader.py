"""The leader's side of a replicated node: version each write, stream the log to each follower, wait for W acks.

Lab 2. node.py's Node is lab 1's node plus this: one thread per follower ships it the log in version
order, each write `distance` replication delays after it was written (follower k at distance k), or a
snapshot when it lacks more than the log still holds or holds what the log does not (an older leader's
entries: it diverged). An ack counts only for entries of our log. A write waits for acks, not for work.
"""
import threading
import time

from labs.plumbing.jsonhttp import send

RETRY = 0.2  # seconds before a stream tries an unreachable follower again
SHIP_TIMEOUT = 1.0  # seconds a follower has to answer: a paused one must not hold the stream for long
SNAPSHOT_TIMEOUT = 10.0  # seconds to send and apply a whole snapshot
DIVERGED = -1  # what a follower holds of our log when its last entry is not in it: a snapshot resets it


class Leader:
    """Mixed into node.py's Node, which holds the log, the lock and the `changed` condition."""

    def lead(self, write):
        """Give a write the next version and our epoch, and apply it here; the streams ship it. Returns the entry."""
        with self.changed:
            entry = dict(write, version=self.log.version + 1, epoch=self.epoch)
            self.apply(entry)
            self.changed.notify_all()
            return entry

    def wait_for_acks(self, version, quorum):
        """Wait until `quorum` followers hold version, or too many are unreachable, or time runs out.
        Returns (followers that hold it, followers unreachable)."""
        deadline = time.monotonic() + self.replication_delay * len(self.held) + self.ack_timeout
        with self.changed:
            while True:
                acked = [f for f, held in self.held.items() if held is not None and held >= version]
                missed = [f for f in self.unreachable if f not in acked]
                left = deadline - time.monotonic()
                if len(acked) >= quorum or len(self.held) - len(missed) < quorum or left <= 0:
                    return acked, missed
                self.changed.wait(left)

    def add_follower(self, follower, distance):
        """Start shipping the log to follower, `distance` replication delays behind the leader."""
        with self.lock:
            self.held[follower] = None
        threading.Thread(target=self.stream, args=(follower, distance), daemon=True).start()

    def lacks(self, follower):
        """True if follower may lack writes: we do not know what it holds, or it holds less (never while we
        catch up ourselves: our log is not the store's yet)."""
        held = self.held.get(follower, 0)
        return self.ready and (held is None or held < self.log.version)

    def stream(self, follower, distance):
        """One thread per follower: ship it what it lacks, in version order, each write `distance`
        replication delays after it was written; a snapshot if it lacks more than the log still holds."""
        lag = self.replication_delay * distance
        while follower in self.held:
            with self.changed:
                if not self.changed.wait_for(lambda: self.lacks(follower), RETRY):
                    continue
                held, now, newest = self.held.get(follower, 0), time.perf_counter(), self.log.version
                if held is None:  # we do not know yet what it holds: an empty delivery asks
                    path, body = "/replicate", {"entries": [], "after": self.log.last, "version": newest,
                                                "epoch": self.epoch}
                elif held == DIVERGED or self.log.since(held) is None:  # or it lacks what the log no longer holds
                    path, body = "/snapshot", None
                elif self.log.due_in(held, lag, now) > 0:  # the next write is not due yet
                    self.changed.wait(self.log.due_in(held, lag, now))
                    continue
                else:  # the entries after its last one, which it must hold from our log: (held, its epoch)
                    path, body = "/replicate", {"entries": self.log.since(held, due=now - lag),
                                                "after": [held, self.log.epoch_at(held)], "version": newest,
                                                "epoch": self.epoch}
            if path == "/snapshot":  # a reset: the follower drops what it holds, even if it holds more
                body = dict(self.snapshot(), epoch=self.epoch, reset=True)
            timeout = SNAPSHOT_TIMEOUT if path == "/snapshot" else SHIP_TIMEOUT
            status, reply = send(follower, "PUT", path, body, timeout=timeout)
            self.delivered(follower, status, reply)

    def delivered(self, follower, status, reply):
        """Record a follower's answer: its last entry now (409: not the one we thought), that a newer leader exists
        (we are deposed), or that it could not be reached. It holds our log up to its last entry if that is ours."""
        with self.changed:
            if follower not in self.held:
                return
            if status == 409 and reply.get("epoch", 0) > self.epoch:  # our epoch is over: acknowledge nothing more
                self.role, self.held = "deposed", {}
                self.unreachable.clear()
            elif status in (200, 409):
                version = reply["version"]
                self.held[follower] = held = version if self.log.epoch_at(version) == reply["last_epoch"] else DIVERGED
                self.unreachable.discard(follower)
                self.log.acked(follower, held, time.perf_counter())
                self.log.trim(min(held or 0 for held in self.held.values()))
            else:
                self.unreachable.add(follower)
            self.changed.notify_all()
        if status not in (200, 409):
            time.sleep(RETRY)
