"""Catch-up: bring a new follower to the leader's data before it serves a single read.

Lab 3, the last step of a repair. The new follower starts empty: it gets a snapshot of the leader
(every key's newest write, in one request), joins the leader's followers, and the leader's stream
(lab 2) sends it the writes after the snapshot, in version order. Only once it holds the leader's
newest version does the coordinator let it serve reads. No write acknowledged meanwhile is missed.
"""
import time

from labs.plumbing.flags import ports
from labs.plumbing.network import send

# seconds between two looks at the new follower's version
POLL = 0.02
# seconds one call may take (a snapshot of 100,000 keys: half a second): a paused leader fails it
STEP_TIMEOUT = 5


class CatchUpFailed(Exception):
    """The leader or the new follower did not answer while catching up."""


def call(node, method, path, body=None):
    """send(), but a failed step stops the catch-up with a clear message."""
    status, reply = send(node, method, path, body, timeout=STEP_TIMEOUT)
    if status != 200:
        raise CatchUpFailed(f"{method} {path} on {ports([node])}: {reply.get('error', status)}")
    return reply


def catch_up(leader, follower, followers, deadline=10):
    """Copy the leader's data to follower, then make the leader replicate to followers (which
    include it); return once follower holds every write the leader held when it joined: keys,
    versions, seconds."""
    started = time.perf_counter()
    # 1. every key's newest write, at vS, and the leader's epoch
    snapshot = call(leader, "GET", "/snapshot")
    # 2. the follower holds v1..vS
    call(follower, "PUT", "/snapshot", snapshot)
    # 3. the leader's stream sends it what came after
    call(leader, "PUT", "/followers", {"followers": followers})
    target = call(leader, "GET", "/health")["version"]
    # 4. wait until it holds all of it
    while call(follower, "GET", "/health")["version"] < target:
        if time.perf_counter() - started > deadline:
            raise CatchUpFailed(f"{ports([follower])} did not reach v{target} within {deadline} s")
        time.sleep(POLL)
    return {"keys": len(snapshot["entries"]), "snapshot_version": snapshot["version"],
            "version": target, "replayed": target - snapshot["version"],
            "seconds": time.perf_counter() - started}
