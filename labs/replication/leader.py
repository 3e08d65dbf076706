"""The leader's role: give each write the next version, ship the log to each follower, answer after W acks.

Lab 2. A node told to lead is given this role (node.py). One thread per follower ships it the log in
version order, each write `distance` replication delays after it was written (follower k at distance
k), or a snapshot when the follower lacks what the log still holds or holds what the log does not (an
older leader's writes). An ack counts only for entries of our log. A follower that answers with a
newer epoch ends ours: the node steps down, and every write still waiting is refused.
"""
import threading
import time

from labs.plumbing.flags import ports
from labs.plumbing.network import send

# seconds before a stream tries an unreachable follower again
RETRY = 0.2
# seconds a follower has to answer a delivery: a paused one must not hold the stream for long
SHIP_TIMEOUT = 1.0
SNAPSHOT_TIMEOUT = 10.0
# what a follower holds of our log when its last entry is not in it: a snapshot resets it
DIVERGED = -1


class Leader:
    name = "leader"

    def __init__(self, node):
        self.node = node
        # follower -> the newest version of our log it holds (None: not known yet)
        self.held, self.unreachable = {}, set()

    def write(self, change, quorum, status):
        """Give a write the next version and our epoch, apply it here, and answer once `quorum` followers
        (W; None: all of them) hold it: 503 if too few can be reached, 504 if their acks come too slowly.
        Either way the write stays where it landed; it is only not acknowledged."""
        node = self.node
        quorum = len(self.held) if quorum is None else quorum
        with node.changed:
            entry = dict(change, version=node.log.version + 1, epoch=node.epoch)
            node.apply(entry)
            node.changed.notify_all()
        acks, unreachable = self.wait_for_acks(entry["version"], quorum)
        reply = dict(entry, node=node.name, quorum=quorum, acks=acks)
        if len(acks) >= quorum:
            return status, reply
        if node.role is not self:
            return 503, dict(reply, error=f"epoch {entry['epoch']} is over: a newer leader exists; not acknowledged")
        why = f"{ports(unreachable)} unreachable" if unreachable else f"too slow (over {node.ack_timeout} s)"
        return 503 if unreachable else 504, dict(reply, error=f"W = {quorum} acks needed, {len(acks)} came: {why}")

    def wait_for_acks(self, version, quorum):
        """Wait until `quorum` followers hold version, or too many are unreachable, or time runs out, or we are
        no longer the leader. Returns ({follower: ms after the write}, the followers unreachable)."""
        node, acks, started = self.node, {}, time.perf_counter()
        deadline = time.monotonic() + node.replication_delay * len(self.held) + node.ack_timeout
        with node.changed:
            while True:
                for follower, held in self.held.items():
                    if held is not None and held >= version and follower not in acks:
                        acks[follower] = round((time.perf_counter() - started) * 1000)
                unreachable = [follower for follower in self.unreachable if follower not in acks]
                left = deadline - time.monotonic()
                if len(acks) >= quorum or len(self.held) - len(unreachable) < quorum or left <= 0 \
                        or node.role is not self:
                    return acks, unreachable
                node.changed.wait(left)

    def replicate_to(self, followers):
        """Ship the log to these followers from now on, follower k k replication delays behind:
        a stream starts for each new one, and stops for one no longer listed."""
        with self.node.lock:
            for follower in [follower for follower in self.held if follower not in followers]:
                del self.held[follower]
                self.unreachable.discard(follower)
            new = [follower for follower in followers if follower not in self.held]
            self.held.update(dict.fromkeys(new))
        for follower in new:
            threading.Thread(target=self.stream, args=(follower, followers.index(follower) + 1), daemon=True).start()

    def streaming(self, follower):
        return self.node.role is self and follower in self.held

    def lacks(self, follower):
        """True if follower may lack writes: we do not know what it holds, or it holds less (never while we
        catch up ourselves: our log is not the store's yet)."""
        held = self.held.get(follower, 0)
        return self.node.ready and (held is None or held < self.node.log.version)

    def stream(self, follower, distance):
        """One thread per follower: ship it what it lacks, in version order, each write `distance`
        replication delays after it was written; a snapshot if the log cannot give it what it lacks."""
        node, lag = self.node, self.node.replication_delay * distance
        while self.streaming(follower):
            with node.changed:
                if not node.changed.wait_for(lambda: self.lacks(follower), RETRY) or not self.streaming(follower):
                    continue
                held, now, log = self.held[follower], time.perf_counter(), node.log
                message = {"version": log.version, "epoch": node.epoch}
                if held is None:
                    # we do not know yet what it holds: an empty delivery asks
                    path, body = "/replicate", dict(message, entries=[], after=log.last)
                elif held == DIVERGED or log.since(held) is None:
                    path, body = "/snapshot", dict(epoch=node.epoch, reset=True)
                elif log.due_in(held, lag, now) > 0:
                    node.changed.wait(log.due_in(held, lag, now))
                    continue
                else:
                    path, body = "/replicate", dict(message, entries=log.since(held, due=now - lag),
                                                    after=[held, log.epoch_at(held)])
            if path == "/snapshot":
                # a reset: the follower drops what it holds, even if it holds more
                body.update(node.snapshot())
            timeout = SNAPSHOT_TIMEOUT if path == "/snapshot" else SHIP_TIMEOUT
            self.delivered(follower, *send(follower, "PUT", path, body, timeout=timeout))

    def delivered(self, follower, status, reply):
        """Record a follower's answer: its last entry now (it holds our log up to there if that entry is ours),
        that a newer leader exists (we step down), or that it could not be reached."""
        node = self.node
        with node.changed:
            if status == 409 and reply.get("epoch", 0) > node.epoch:
                node.follow(reply["epoch"])
            elif status in (200, 409) and follower in self.held:
                version = reply["version"]
                self.held[follower] = version if node.log.epoch_at(version) == reply["last_epoch"] else DIVERGED
                self.unreachable.discard(follower)
            elif follower in self.held:
                self.unreachable.add(follower)
            node.changed.notify_all()
        if status not in (200, 409):
            time.sleep(RETRY)
