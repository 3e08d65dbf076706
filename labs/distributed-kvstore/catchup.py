"""Catch-up: bring a new follower to the leader's data before it serves a single read.

Lab 3, a hook of the coordinator. Lab 2 replayed a returning node the leader's whole log;
a replacement instead gets a snapshot (every key's newest write, one request), joins the
leader's followers, then replays only the writes that came during the copy. Versions make
anything applied twice harmless, so no write acknowledged meanwhile is missed.
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication.node import MAX_BODY  # noqa: E402
from labs.scalability.client import send  # noqa: E402


class CatchUpFailed(Exception):
    """The leader or the new follower did not answer while catching up."""


def call(node, method, path, body=None):
    """send(), but a failed step stops the catch-up with a clear message."""
    status, reply = send(node, method, path, body)
    if status != 200:
        raise CatchUpFailed(f"{method} {path} on {node}: {reply.get('error', status)}")
    return reply


def batches(entries, limit=MAX_BODY // 2):
    """Split entries into lists whose JSON stays well under the body size a node accepts."""
    batch, size = [], 0
    for entry in entries:
        length = len(json.dumps(entry)) + 2
        if batch and size + length > limit:
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += length
    if batch:
        yield batch


def apply(follower, entries):
    """PUT /replicate on follower, in as few requests as the body limit allows; returns how many it applied."""
    return sum(call(follower, "PUT", "/replicate", {"entries": batch})["applied"] for batch in batches(entries))


def catch_up(leader, follower, followers):
    """Copy the leader's data to follower, then make the leader replicate to followers (which include it).
    Returns what it did: keys copied, writes replayed, the versions, seconds taken."""
    started = time.monotonic()
    snapshot = call(leader, "GET", "/snapshot")                                  # 1. one request for every key
    apply(follower, snapshot["entries"])                                          # 2. a few requests to apply them
    call(leader, "PUT", "/followers", {"followers": followers})                   # 3. new writes now reach it too
    during = call(leader, "GET", f"/log?since={snapshot['version']}")["entries"]  # 4. writes during 1-3
    replayed = apply(follower, during)
    return {"keys": len(snapshot["entries"]), "snapshot_version": snapshot["version"], "replayed": replayed,
            "version": max([snapshot["version"]] + [entry["version"] for entry in during]),
            "seconds": time.monotonic() - started}
