"""The routes replicas use between themselves: the HTTP side of leader.py and follower.py.

Lab 2, plumbing of node.py, whose Handler this is mixed into. PUT /replicate and PUT /snapshot carry
the leader's log to a follower; GET /snapshot and GET /log?since=N read a node's. Each is answered at
once (no worker) and only to this run's processes (the coordinator's secret), and every body is
checked whole before anything of it is applied.
"""
from urllib.parse import parse_qs, urlsplit

from labs.plumbing.jsonhttp import MAX_SNAPSHOT, BadRequest

EXAMPLE = '[{"version": 1, "epoch": 1, "key": "k", "value": 42}, {"version": 2, "epoch": 1, "key": "k", ' \
          '"deleted": true}]'


class ReplicaRoutes:
    """Mixed into node.py's Handler: the routes between replicas; every other request goes on to the client API."""

    ROUTES = {("PUT", "/replicate"): "put_replicate", ("GET", "/log"): "get_log",
              ("GET", "/snapshot"): "get_snapshot", ("PUT", "/snapshot"): "put_snapshot"}

    def do_request(self):
        route = self.ROUTES.get((self.command, urlsplit(self.path).path))
        if route is None:
            return super().do_request()
        self.internal()
        self.send_json(*getattr(self, route)())
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request

    def put_replicate(self):
        """A follower takes the leader's entries; 409 if they do not follow our last entry, or that leader's
        epoch is over."""
        body = self.read_json(f'{{"entries": {EXAMPLE}, "after": [0, 0], "version": 2, "epoch": 1}}', MAX_SNAPSHOT)
        entries, version, epoch = check_entries(body.get("entries"), body.get("after")), body.get("version"), \
            body.get("epoch", 1)
        if not isinstance(version, int) or not isinstance(epoch, int):
            raise BadRequest(400, 'body needs "version" and "epoch": the leader\'s newest version and its epoch')
        return self.answer(self.server.append(entries, body["after"], version, epoch), epoch)

    def put_snapshot(self):
        """A follower takes a whole store (the leader resets it, or a catch-up fills it)."""
        body = self.read_json('{"entries": [...], "version": 7, "last_epoch": 1, "epoch": 1}', MAX_SNAPSHOT)
        entries, version, epoch = check_entries(body.get("entries")), body.get("version"), body.get("epoch", 1)
        if not isinstance(version, int) or any(entry["version"] > version for entry in entries) \
                or not isinstance(epoch, int) or not isinstance(body.get("last_epoch"), int):
            raise BadRequest(400, '"version" must be the newest of its entries, "last_epoch" its epoch, "epoch" a '
                                  'number')
        installed = self.server.install({"entries": entries, "version": version, "last_epoch": body["last_epoch"]},
                                        epoch, reset=body.get("reset") is True)
        return self.answer("ok" if installed else "deposed", epoch)

    def answer(self, outcome, epoch):
        """200 with our last entry's version and epoch, or 409 saying why not."""
        server = self.server
        reply = {"version": server.log.version, "last_epoch": server.log.last[1], "epoch": server.epoch,
                 "node": server.name}
        if outcome == "ok":
            return 200, reply
        return 409, dict(reply, error=f"epoch {epoch} is over: a leader of epoch {server.epoch} exists"
                         if outcome == "deposed" else "my last entry is another: see version and last_epoch")

    def get_snapshot(self):
        return 200, self.server.snapshot()

    def get_log(self):
        """GET /log?since=N: every write newer than version N, with the followers that hold it, and when."""
        try:
            since = int(parse_qs(urlsplit(self.path).query).get("since", ["0"])[0])
        except ValueError:
            raise BadRequest(400, "since must be a version number, like /log?since=3")
        with self.server.lock:
            entries = self.server.log.since(since, with_acks=True)
        if entries is None:
            raise BadRequest(410, f"the log starts after v{since}: ask for /snapshot instead")
        return 200, {"entries": entries, "version": self.server.log.version}


def check_entries(entries, after=False):
    """The "entries" of a request, each checked before any is applied: a bad one changes nothing. The log's follow
    `after`, [version, epoch] of the entry before them; a snapshot's (after=False) need no epoch and no order."""
    if not isinstance(entries, list):
        raise BadRequest(400, f'"entries" must be a list like {EXAMPLE}')
    if after is not False and not (isinstance(after, list) and len(after) == 2 and all(type(n) is int for n in after)):
        raise BadRequest(400, '"after" must be [version, epoch] of the entry before the first, like [0, 0]')
    for number, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("version"), int) and entry["version"] > 0
                and isinstance(entry.get("key"), str) and ("value" in entry or entry.get("deleted") is True)
                and (after is False or isinstance(entry.get("epoch"), int))):
            raise BadRequest(400, f"entry {number} must have a version from 1, an epoch (in the log), a key and "
                                  f'a value, or "deleted": true, like {EXAMPLE}')
        if after is not False and entry["version"] != (entries[number - 1]["version"] if number else after[0]) + 1:
            raise BadRequest(400, 'entries must be consecutive versions, oldest first, right after "after"')
    return entries
