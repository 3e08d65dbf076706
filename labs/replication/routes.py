"""The routes between replicas, the HTTP side of node.py: every body checked whole before it is used.

Lab 2, not a lesson. PUT /replicate carries the leader's entries to a follower, PUT /snapshot a whole
store (a reset by the leader, or a catch-up), GET /snapshot reads one. A bad body changes nothing: 400.
Each answers with the node's last entry, [version, epoch], and the epoch it follows (409: not taken).
"""
from labs.plumbing.jsonhttp import MAX_SNAPSHOT, BadRequest

ENTRY = '{"version": 1, "epoch": 1, "key": "k", "value": 42}'
DELIVERY = f'{{"entries": [{ENTRY}], "after": [0, 0], "version": 1, "epoch": 1}}'
SNAPSHOT = '{"entries": [...], "version": 7, "last_epoch": 1, "epoch": 1}'


def replicate(handler):
    """PUT /replicate: 409 if the entries do not follow our last entry, or their leader's epoch is over."""
    body = checked(handler.read_json(DELIVERY, MAX_SNAPSHOT, needs=("entries", "after", "version", "epoch")))
    outcome = handler.server.replicate(body["entries"], body["after"], body["version"], body["epoch"])
    return answer(handler.server, outcome, body["epoch"])


def snapshot(handler):
    """GET /snapshot: every key's newest write, and the epoch we follow."""
    return 200, dict(handler.server.snapshot(), epoch=handler.server.epoch)


def install(handler):
    """PUT /snapshot: a whole store, installed unless its leader's epoch is over."""
    body = checked(handler.read_json(SNAPSHOT, MAX_SNAPSHOT, needs=("entries", "version", "last_epoch", "epoch")))
    installed = handler.server.install(body, body["epoch"], reset=body.get("reset") is True)
    return answer(handler.server, "ok" if installed else "deposed", body["epoch"])


def answer(node, outcome, epoch):
    """200 with our last entry's version and epoch, or 409 saying why not."""
    reply = {"version": node.log.version, "last_epoch": node.log.last[1], "epoch": node.epoch, "node": node.name}
    if outcome == "ok":
        return 200, reply
    return 409, dict(reply, error=f"epoch {epoch} is over: we follow epoch {node.epoch}" if outcome == "deposed"
                     else "my last entry is another: see version and last_epoch")


def checked(body):
    """A delivery (its entries follow "after", [version, epoch] of the entry before them) or a snapshot, every
    entry checked before any is applied: a bad one changes nothing."""
    after, entries = body.get("after", [0, 0]), body["entries"]
    if not (isinstance(entries, list) and isinstance(after, list) and len(after) == 2 and all(
            type(number) is int for number in [*after, body["version"], body["epoch"], body.get("last_epoch", 0)])):
        raise BadRequest(400, f"a list of entries, and numbers for the versions and epochs, like {DELIVERY}")
    for number, entry in enumerate(entries):
        if not (isinstance(entry, dict) and type(entry.get("version")) is int and 0 < entry["version"] <= body["version"]
                and isinstance(entry.get("key"), str) and ("value" in entry or entry.get("deleted") is True)
                and ("after" not in body or type(entry.get("epoch")) is int
                     and entry["version"] == (entries[number - 1]["version"] if number else after[0]) + 1)):
            raise BadRequest(400, f'entry {number} must be like {ENTRY} (or "deleted": true), the next version')
    return body
