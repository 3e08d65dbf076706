"""The leader's role: version each write, ship the log to each follower, wait for W acks.

Lab 2. One thread per follower ships it the log in version order, follower k k replication delays
behind, or a snapshot when the log cannot give it what it lacks (or it holds an older leader's
writes). An ack counts only for entries of our log. A newer epoch ends ours: the node steps down.
"""
import threading
import time

from labs.plumbing.flags import ports
from labs.plumbing.network import send

# seconds: before an unreachable follower is tried again; for acks beyond the replication delays
RETRY, ACK_TIMEOUT = 0.2, 1.0
# seconds a follower has to take a delivery (a paused one must not hold its stream long), a snapshot
SHIP_TIMEOUT, SNAPSHOT_TIMEOUT = 1.0, 10.0
# what a follower holds of our log when its last entry is not in it: a snapshot resets it
DIVERGED = -1


class Leader:
    name = "leader"

    def __init__(self, node):
        # follower -> the newest version of our log it holds (None: not known yet)
        self.node, self.held, self.unreachable = node, {}, set()

    def write(self, change, quorum, status):
        """Give a write the next version and our epoch, apply it, and answer once `quorum` followers
        (W; None: all) hold it: 503 if too few can, 504 if too slow. Either way it stays; it is only
        not acknowledged."""
        node = self.node
        quorum = len(self.held) if quorum is None else quorum
        if quorum > len(self.held):
            return 503, {"error": f"W = {quorum} acks needed, and only {len(self.held)} followers"}
        with node.changed:
            entry = dict(change, version=node.log.version + 1, epoch=node.epoch)
            node.apply(entry)
            node.changed.notify_all()
        acks, unreachable = self.wait_for_acks(entry["version"], quorum)
        reply = dict(entry, node=node.name, quorum=quorum, acks=acks)
        if len(acks) >= quorum:
            return status, reply
        if node.role is not self:
            return 503, dict(reply, error=f"epoch {entry['epoch']} is over: a newer leader exists")
        why = f"{ports(unreachable)} unreachable" if unreachable else f"over {ACK_TIMEOUT} s late"
        error = f"W = {quorum} acks needed, {len(acks)} came: {why}"
        return (503 if unreachable else 504), dict(reply, error=error)

    def wait_for_acks(self, version, quorum):
        """Until `quorum` followers hold version, too many are unreachable, time is up, or we no
        longer lead. Returns ({follower: ms after the write}, the followers unreachable)."""
        node, acks, started = self.node, {}, time.perf_counter()
        deadline = time.monotonic() + node.replication_delay * len(self.held) + ACK_TIMEOUT
        with node.changed:
            while True:
                for follower, held in self.held.items():
                    if held is not None and held >= version and follower not in acks:
                        acks[follower] = round((time.perf_counter() - started) * 1000)
                unreachable = [follower for follower in self.unreachable if follower not in acks]
                if len(acks) >= quorum or len(self.held) - len(unreachable) < quorum \
                        or time.monotonic() > deadline or node.role is not self:
                    return acks, unreachable
                node.changed.wait(deadline - time.monotonic())

    def replicate_to(self, followers):
        """Ship the log to these followers from now on: a stream starts for each new one (follower
        k, k replication delays behind), and stops for one no longer listed."""
        with self.node.lock:
            for follower in [follower for follower in self.held if follower not in followers]:
                del self.held[follower]
                self.unreachable.discard(follower)
            new = [follower for follower in followers if follower not in self.held]
            self.held.update(dict.fromkeys(new))
        for follower in new:
            distance = followers.index(follower) + 1
            threading.Thread(target=self.stream, args=(follower, distance), daemon=True).start()

    def lacks(self, follower):
        """It may lack writes: we do not know what it holds, or it holds less (never while we catch
        up)."""
        held = self.held.get(follower, 0)
        return self.node.ready and (held is None or held < self.node.log.version)

    def stream(self, follower, distance):
        """Ship one follower what it lacks, in version order, each write `distance` replication
        delays after it was written; a snapshot if the log cannot give it what it lacks."""
        node, lag = self.node, self.node.replication_delay * distance
        while node.role is self and follower in self.held:
            with node.changed:
                lacks = node.changed.wait_for(lambda: self.lacks(follower), RETRY)
                if not lacks or follower not in self.held:
                    continue
                held, now, log = self.held[follower], time.perf_counter(), node.log
                body = {"version": log.version, "epoch": node.epoch}
                if held is None:
                    # we do not know yet what it holds: an empty delivery asks
                    path, body = "/replicate", dict(body, entries=[], after=log.last)
                elif held == DIVERGED or log.since(held) is None:
                    path, body = "/snapshot", {"epoch": node.epoch, "reset": True}
                elif log.due_in(held, lag, now) > 0:
                    node.changed.wait(log.due_in(held, lag, now))
                    continue
                else:
                    entries, after = log.since(held, due=now - lag), [held, log.epoch_at(held)]
                    path, body = "/replicate", dict(body, entries=entries, after=after)
            if path == "/snapshot":
                body.update(node.snapshot())
            timeout = SNAPSHOT_TIMEOUT if path == "/snapshot" else SHIP_TIMEOUT
            self.delivered(follower, *send(follower, "PUT", path, body, timeout=timeout))

    def delivered(self, follower, status, reply):
        """A follower's answer: its last entry now (it holds our log up to there if that entry is
        ours), a newer epoch (we step down), or nothing (unreachable)."""
        node = self.node
        with node.changed:
            if status == 409 and reply.get("epoch", 0) > node.epoch:
                node.follow(reply["epoch"])
            elif status in (200, 409) and follower in self.held:
                version = reply["version"]
                ours = node.log.epoch_at(version) == reply["last_epoch"]
                self.held[follower] = version if ours else DIVERGED
                self.unreachable.discard(follower)
            elif follower in self.held:
                self.unreachable.add(follower)
            node.changed.notify_all()
        if status not in (200, 409):
            time.sleep(RETRY)
