"""The HTTP of lab 3's processes, beside the lesson: the coordinator's API, the registry's, and a node's
routes for a new leader and new followers.

Lab 3, plumbing. KVStoreHandler is lab 2's coordinator API plus POST /membership (the registry's news) and
GET /members (the registry's view, passed on to the picture in a browser); no /kv: clients use the gateway,
whose rate limit they must not get around. RegistryHandler serves registry.py; NodeRoutes is mixed into
node.py's Handler. Internal routes answer only this run's processes: an outsider's "follower1 is dead"
would make the coordinator replace a healthy follower.
"""
import os
import time

from labs.plumbing.colour import cut
from labs.plumbing.jsonhttp import BadRequest, JsonHandler, send
from labs.replication.api import CoordinatorHandler
from labs.replication.routes import ReplicaRoutes


class KVStoreHandler(CoordinatorHandler):
    """Lab 2's coordinator API, plus POST /membership and GET /members; /kv is the gateway's."""

    def do_request(self):
        coordinator = self.server.coordinator
        if (self.command, self.path) == ("GET", "/members"):  # the page only ever talks to the coordinator
            status, reply = send(coordinator.registry.address, "GET", "/members", timeout=1)
            return self.send_json(status or 503, reply if status else {"error": f"the registry does not answer: "
                                                                                f"{reply['error']}"})
        if self.path.startswith("/kv"):
            raise BadRequest(404, f"no /kv here: clients use the gateway, {coordinator.gateway.address}")
        if self.path != "/membership":
            return super().do_request()
        self.internal()
        news = self.read_json('{"event": "dead", "member": "follower2", "port": 9103, "role": "follower"}')
        if not all(isinstance(news.get(field), str) for field in ("event", "member", "role")):
            raise BadRequest(400, "news must name an event, a member and its role")
        coordinator.membership(news)
        self.send_json(200, {"status": "ok"})
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request


class RegistryHandler(JsonHandler):
    """POST /heartbeat and /register, DELETE /members/<name> (this run's processes only); GET /members and
    /health (anyone). A refusal is also one line of the registry's log."""

    EXAMPLE = '{"name": "follower1", "port": 9102, "pid": 1234, "role": "follower"}'

    def do_request(self):
        registry, command, path = self.server, self.command, self.path
        try:
            if (command, path) == ("GET", "/members"):
                return self.send_json(200, members(registry))
            if (command, path) == ("GET", "/health"):
                return self.send_json(200, {"status": "ok", "pid": os.getpid()})
            if (command, path) in (("POST", "/heartbeat"), ("POST", "/register")):
                self.internal()
                registry.heartbeat(*parse_heartbeat(self.read_json(self.EXAMPLE)),
                                   first_event="registered" if path == "/register" else "joined")
            elif command == "DELETE" and path.startswith("/members/"):
                self.internal()
                if not registry.remove(path[len("/members/"):]):
                    raise BadRequest(404, f"no such member: {path[len('/members/'):]}")
            else:
                raise BadRequest(405 if path in ("/heartbeat", "/register", "/members", "/health") else 404,
                                 f"no {command} on {path}")
            self.send_json(200, {"status": "ok"})
        except BadRequest as error:
            print(f"{time.strftime('%H:%M:%S')}  refused    {command} {path[:30]}: {error}"[:80], flush=True)
            raise
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request


def members(registry):
    """What GET /members answers: every member with its silence, and the newest events."""
    now = time.monotonic()
    with registry.lock:
        return {"members": [{"name": m["name"], "role": m["role"], "port": m["port"], "pid": m["pid"],
                             "state": m["state"], "silence": round(now - m["last_heartbeat"], 1),
                             "heartbeats": m["heartbeats"]} for m in registry.members.values()],
                "events": list(registry.events), "suspect_after": registry.suspect_after,
                "dead_after": registry.dead_after}


def parse_heartbeat(body):
    """(name, port, pid, role) from a body like {"name": "follower1", "port": 9102, "pid": 1234, "role": "follower"}."""
    if not (isinstance(body.get("name"), str) and body["name"] and isinstance(body.get("port"), int)
            and isinstance(body.get("pid"), int)):
        raise BadRequest(400, f"body must be like {RegistryHandler.EXAMPLE}")
    return body["name"][:40], body["port"], body["pid"], str(body.get("role", "node"))[:20]


class NodeRoutes:
    """Mixed into node.py's Handler: lab 2's routes between replicas, plus the coordinator's two orders; and the
    gateway's log line, which has no workers to count (lab 1's does): where each request went instead."""

    ROUTES = {**ReplicaRoutes.ROUTES, ("PUT", "/followers"): "put_followers", ("POST", "/promote"): "post_promote"}

    def log_line(self, status):
        if self.server.gateway is None:
            return super().log_line(status)
        print(cut(f"{time.strftime('%H:%M:%S')} {self.command:<6} {self.path[:14]:<14} {status} "
                  f"{(time.perf_counter() - self.start) * 1000:3.0f} ms{self.note}", 80) + "\n", end="", flush=True)

    def put_followers(self):
        """PUT /followers {"followers": [...]}: the leader replicates to these from now on (a repair)."""
        followers = self.read_json('{"followers": ["127.0.0.1:9102", "127.0.0.1:9103"]}').get("followers")
        if not isinstance(followers, list) or not all(isinstance(follower, str) for follower in followers):
            raise BadRequest(400, '"followers" must be a list of "host:port"')
        self.server.set_followers(followers)
        return 200, {"followers": followers, "node": self.server.name}

    def post_promote(self):
        """POST /promote {"epoch": 2, "followers": [...]}: this follower becomes the leader of a new epoch."""
        body = self.read_json('{"epoch": 2, "followers": ["127.0.0.1:9102"]}')
        epoch, followers = body.get("epoch"), body.get("followers")
        if not isinstance(epoch, int) or epoch <= self.server.epoch or not isinstance(followers, list):
            raise BadRequest(400, f'body must be like {{"epoch": {self.server.epoch + 1}, "followers": [...]}}, '
                                  f"with an epoch newer than {self.server.epoch}")
        self.server.promote(epoch, followers)
        return 200, {"epoch": epoch, "version": self.server.log.version, "node": self.server.name}
