"""The HTTP side of registry.py and node.py (lab 3, not a lesson), each body checked first. The registry's:
POST /register and /heartbeat, DELETE /members/<name> (this run's processes only), GET /members and /health
(anyone). A node's, from the coordinator: POST /vote and /lead (an election), PUT /followers (a repair),
PUT /routes (the gateway's routes).
"""
import os

from labs.plumbing.colour import log
from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import BadRequest
from labs.replication.routes import answer

MEMBER = '{"name": "follower1", "port": 9102, "pid": 1234, "role": "follower"}'
ROUTES = ('{"epoch": 2, "leader": "127.0.0.1:9101", "followers": ["127.0.0.1:9102"], "write_quorum": 1, '
          '"read_quorum": 1}')


def member(handler):
    body = handler.read_json(MEMBER, needs=["name", "port", "pid", "role"])
    if not (isinstance(body["name"], str) and body["name"] and type(body["port"]) is int
            and type(body["pid"]) is int and isinstance(body["role"], str)):
        raise BadRequest(400, f"body must be like {MEMBER}")
    return body["name"][:40], body["port"], body["pid"], body["role"][:20]


def register(handler):
    handler.server.register(*member(handler))
    return 200, {"status": "ok"}


def heartbeat(handler):
    name, _, pid, role = member(handler)
    if not handler.server.heartbeat(name, pid, role):
        raise BadRequest(404, "not a member: the coordinator registers the processes it starts")
    return 200, {"status": "ok"}


def remove(handler, name):
    if not handler.server.remove(name):
        raise BadRequest(404, f"no such member: {name}")
    return 200, {"status": "ok"}


def members(handler):
    return 200, handler.server.view()


def health(handler):
    return 200, {"status": "ok", "pid": os.getpid()}


def vote(handler):
    """POST /vote {"epoch": 2}: follow epoch 2 from now on; say how much of the log we hold."""
    epoch = handler.read_json('{"epoch": 2}', needs=["epoch"])["epoch"]
    with handler.server.changed:
        if type(epoch) is not int or not handler.server.follow(epoch):
            raise BadRequest(409, f"epoch {epoch} is over: we follow epoch {handler.server.epoch}")
    return answer(handler.server, "ok", epoch)


def lead(handler):
    """POST /lead {"epoch": 2, "followers": [...]}: lead epoch 2, once we voted for it."""
    body = handler.read_json('{"epoch": 2, "followers": ["127.0.0.1:9103"]}', needs=["epoch", "followers"])
    if body["epoch"] != handler.server.epoch or not isinstance(body["followers"], list):
        raise BadRequest(409, f"vote for epoch {body['epoch']} first: we follow {handler.server.epoch}")
    handler.server.promoted(body["epoch"], body["followers"])
    return answer(handler.server, "ok", body["epoch"])


def followers(handler):
    """PUT /followers {"followers": [...]}: the leader replicates to these from now on (a repair)."""
    listed = handler.read_json('{"followers": ["127.0.0.1:9102"]}', needs=["followers"])["followers"]
    if handler.server.role.name != "leader" or not all(isinstance(follower, str) for follower in listed):
        raise BadRequest(409, "only the leader takes a list of followers, host:port each")
    handler.server.role.replicate_to(listed)
    return 200, {"followers": listed, "node": handler.server.name}


def routes(handler):
    """PUT /routes, from the coordinator: where the gateway sends writes and reads from now on."""
    body = handler.read_json(ROUTES, needs=["epoch", "leader", "followers", "write_quorum", "read_quorum"])
    door = handler.server.gateway
    if door is None or not isinstance(body["followers"], list) or type(body["epoch"]) is not int:
        raise BadRequest(404, "routes are for the gateway")
    door.epoch, door.leader, door.balancer.nodes = body["epoch"], body["leader"], body["followers"]
    door.write_quorum, door.read_quorum = body["write_quorum"], body["read_quorum"]
    log(f"writes to {ports([door.leader])} (W = {door.write_quorum}), reads from "
        f"{ports(door.balancer.nodes)} (R = {door.read_quorum})")
    return 200, body
