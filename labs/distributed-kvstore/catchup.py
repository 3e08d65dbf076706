"""Catch-up: bring a new follower to the leader's data before it serves a single read.

Lab 3, the coordinator's last step of a repair. The new follower starts empty: it gets a snapshot
of the leader (every key's newest write, in one request), joins the leader's followers, and the
leader's stream (lab 2) sends it the writes after the snapshot, in version order. Only once it holds
the leader's newest version does it serve reads. No write acknowledged meanwhile can be missed.
"""
import time

from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import send

POLL = 0.02  # seconds between two looks at the new follower's version
STEP_TIMEOUT = 5  # seconds one call may take (a snapshot of 100,000 keys: half a second): a paused leader fails it


class CatchUpFailed(Exception):
    """The leader or the new follower did not answer while catching up."""


def call(node, method, path, body=None):
    """send(), but a failed step stops the catch-up with a clear message."""
    status, reply = send(node, method, path, body, timeout=STEP_TIMEOUT)
    if status != 200:
        raise CatchUpFailed(f"{method} {path} on {ports([node])}: {reply.get('error', status)}")
    return reply


def catch_up(leader, follower, followers, deadline=10):
    """Copy the leader's data to follower, then make the leader replicate to followers (which include it);
    return once follower holds every write the leader held when it joined: keys, versions, seconds."""
    started = time.perf_counter()
    snapshot = call(leader, "GET", "/snapshot")                         # 1. every key's newest write, at vS
    call(follower, "PUT", "/snapshot", snapshot)                        # 2. the follower holds v1..vS
    joined = call(leader, "PUT", "/followers", {"followers": followers})  # 3. the stream sends it what came after
    target = call(leader, "GET", "/health")["version"]
    while call(follower, "GET", "/health")["version"] < target:         # 4. wait until it holds all of it
        if time.perf_counter() - started > deadline:
            raise CatchUpFailed(f"{follower} did not reach v{target} within {deadline} s")
        time.sleep(POLL)
    return {"keys": len(snapshot["entries"]), "snapshot_version": snapshot["version"], "version": target,
            "replayed": target - snapshot["version"], "followers": joined["followers"],
            "seconds": time.perf_counter() - started}
