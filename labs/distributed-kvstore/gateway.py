"""The gateway: the store's front door. Lab 1's rate limiter and load balancer, lab 2's freshness rule.

Lab 3. @gateway on a node's do_request makes that node the gateway (node.py --role gateway), as
lab 1's @load_balancer makes a node a front. It serves the client API only: rate limit per client;
a write goes to the leader, acknowledged once W followers hold it; a read asks R followers, the first
one picked by lab 1's strategy, and never answers older than what it acknowledged or answered before.
"""
import functools
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from labs.plumbing.colour import cut
from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import BadRequest, decode_key, send
from labs.replication.freshness import Freshness, quorum_read
from labs.scalability.load_balancer import STRATEGIES as BALANCERS, measured_by
from labs.scalability.rate_limiter import rate_limited

GRADUATE = Path(__file__).with_name("graduate.txt").read_bytes()  # the same bytes as workshop step 23 serves
READ_TIMEOUT = 1.0  # seconds a replica has to answer a read: a paused one costs a read about this much


class Gateway:
    """Where requests go: writes to the leader, reads to followers; each key's newest version answered."""

    def __init__(self, leader, followers, strategy, write_quorum, read_quorum):
        self.leader, self.write_quorum, self.read_quorum = leader, write_quorum, read_quorum
        self.balancer = BALANCERS[strategy](list(followers))  # its nodes: the followers that serve reads
        self.freshness = Freshness()

    def learn_versions(self):
        """A new gateway knows no version yet: take the leader's, so no read goes below them."""
        status, snapshot = send(self.leader, "GET", "/snapshot", timeout=10)
        for entry in snapshot.get("entries", []) if status == 200 else []:
            self.freshness.remember(entry["key"], entry["version"])
        return status == 200

    def write(self, method, key, body=None):
        """Lab 2's write path: the leader versions it and answers once W followers hold it."""
        status, reply = send(self.leader, method, f"/kv/{quote(key, safe='')}", body,
                             {"X-Write-Quorum": str(self.write_quorum)})
        if status == 0:
            return 503, {"error": f"the leader does not answer: {reply['error']}"}, "-> leader: no answer"
        if status in (200, 201, 404):  # 404: a DELETE of a key deleted already, by the delete of that version
            self.freshness.remember(key, reply["version"])
            return status, reply, f"-> leader v{reply['version']}"
        return status, reply, "-> leader"

    def read(self, key):
        """Lab 2's quorum read, the first follower picked by lab 1's strategy, the leader last."""
        followers = list(self.balancer.nodes)
        if len(followers) < self.read_quorum:
            return 503, {"error": f"R = {self.read_quorum} followers required, {len(followers)} serve reads"}, ""
        first = self.balancer.pick()
        order = [first] + [node for node in followers if node != first] + [self.leader]
        ask = measured_by(self.balancer)(send)  # the strategy learns each follower's latency
        answer, answers = quorum_read(key, order, self.read_quorum,
                                      lambda node: ask(node, "GET", f"/kv/{quote(key, safe='')}", timeout=READ_TIMEOUT),
                                      self.freshness)
        if answer is None:
            newest = self.freshness.version(key)
            return 503, {"error": f"no replica answered with v{newest} or newer"}, "no fresh answer"
        served, status, reply = answer
        skipped = [f"{ports([node])} {'stale' if said in (200, 404) else 'silent'}"
                   for node, said, other in answers if other.get("version") != reply["version"]]
        return status, reply, f"-> {ports([served])}" + (f" ({', '.join(skipped)})" if skipped else "")


def gateway(handle):
    """Decorator for a node's do_request: with server.gateway set, serve the client API only."""
    @functools.wraps(handle)
    def wrapper(handler):
        if handler.server.gateway is None:
            return handle(handler)
        path = urlsplit(handler.path).path
        if (handler.command, path) == ("GET", "/health"):
            handler.send_json(200, handler.server.health())
        elif (handler.command, path) == ("PUT", "/readers"):
            handler.internal()
            handler.send_json(200, set_readers(handler))
        elif handler.from_this_run():  # the coordinator's own commands: never rate limited
            route(handler)
        else:
            rate_limited(route)(handler)
    return wrapper


def route(handler):
    """/graduate, or a read or a write of /kv, sent where it belongs; the log line says where."""
    router, method, path = handler.server.gateway, handler.command, urlsplit(handler.path).path
    if (method, path) == ("GET", "/graduate"):
        return send_text(handler, GRADUATE)
    if (method, path) == ("GET", "/kv"):
        status, reply = send(router.leader, "GET", "/kv")
        status, where = (status, "-> leader") if status else (503, "-> leader: no answer")
    elif not path.startswith("/kv/") or len(path) == 4:
        raise BadRequest(404, f"no such path: {path} (the store's API: /kv, /kv/<key>, /graduate)")
    elif method == "GET":
        status, reply, where = router.read(decode_key(path[4:]))
    elif method == "PUT":
        value = handler.read_json('{"value": 42}', needs=["value"])["value"]
        status, reply, where = router.write("PUT", decode_key(path[4:]), {"value": value})
    elif method == "DELETE":
        status, reply, where = router.write("DELETE", decode_key(path[4:]))
    else:
        raise BadRequest(405, f"{method} is not allowed on /kv/<key>")
    handler.note += f" {where}"  # after lab 1's ACCEPT, when rate limited
    handler.send_json(status, reply)


def set_readers(handler):
    """PUT /readers, from the coordinator: where writes go (the leader) and reads (the followers), and with which
    quorums W and R, from now on."""
    body = handler.read_json('{"leader": "127.0.0.1:9101", "followers": ["127.0.0.1:9102"], "write_quorum": 1, '
                             '"read_quorum": 1}', needs=["leader", "followers", "write_quorum", "read_quorum"])
    leader, followers, w, r = (body[field] for field in ("leader", "followers", "write_quorum", "read_quorum"))
    if not isinstance(leader, str) or not isinstance(followers, list) or not all(isinstance(f, str) for f in followers) \
            or type(w) is not int or type(r) is not int or w < 0 or r < 1:
        raise BadRequest(400, '"leader": "host:port", "followers": a list of them, "write_quorum" and "read_quorum"')
    router = handler.server.gateway
    router.leader, router.balancer.nodes, router.write_quorum, router.read_quorum = leader, followers, w, r
    print(cut(f"{time.strftime('%H:%M:%S')} writes to {ports([leader])} (W = {w}), reads from {ports(followers)} "
              f"(R = {r})", 80), flush=True)
    return dict(body, node=handler.server.name)


def send_text(handler, data):
    handler.send_body(200, data, "text/plain; charset=utf-8")
    handler.log_line(200)
