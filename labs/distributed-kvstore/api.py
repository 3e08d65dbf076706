"""The kvstore coordinator's HTTP API: lab 2's, plus POST /membership, the registry's news, and
GET /members, the registry's view passed on, so lab 2's picture (GET /) shows heartbeats too.
Not lab 2's /kv: clients use the gateway, whose rate limit they must not get around.

Lab 3. Only this run's processes may send news (the registry has the run's secret): an outsider's
"follower1 is dead" would make the coordinator replace a healthy follower.
"""
import time

from labs.plumbing.jsonhttp import BadRequest, send
from labs.replication.api import CoordinatorHandler


class KVStoreHandler(CoordinatorHandler):
    """Lab 2's coordinator API, plus POST /membership: the registry's news (this run's processes only),
    and GET /members: the registry's members with their silence, for the picture in a browser."""

    def do_request(self):
        if (self.command, self.path) == ("GET", "/members"):
            return self.members()
        if self.path.startswith("/kv"):  # lab 2's /kv would skip the gateway's rate limit
            return self.send_json(404, {"error": f"no /kv here: clients use the gateway, "
                                                 f"{self.server.coordinator.gateway.address}"})
        if self.path != "/membership":
            return super().do_request()
        self.start = time.monotonic()
        try:
            self.internal()
            news = self.read_json('{"event": "dead", "member": "follower2", "port": 9103, "role": "follower"}')
            if not all(isinstance(news.get(field), str) for field in ("event", "member", "role")):
                raise BadRequest(400, "news must name an event, a member and its role")
            self.server.coordinator.membership(news)
            self.send_json(200, {"status": "ok"})
        except BadRequest as error:
            self.send_json(error.status, {"error": str(error)})
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request

    def members(self):
        """The registry's GET /members as it answers; the page only ever talks to the coordinator."""
        self.start = time.monotonic()
        status, reply = send(self.server.coordinator.registry.address, "GET", "/members", timeout=1)
        self.send_json(status or 503, reply if status else {"error": f"the registry does not answer: {reply['error']}"})
