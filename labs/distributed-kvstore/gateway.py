"""The gateway: the store's front door. Lab 1's rate limiter and load balancer, lab 2's front door.

Lab 3. @gateway on a node's do_request makes that node the gateway (node.py --role gateway), as lab
1's @load_balancer makes a node a front. It serves the client API only: lab 1's @rate_limited first,
then lab 2's FrontDoor: a write goes to the leader, acknowledged once W followers hold it; a read
asks R followers, the first one picked by lab 1's strategy, and never answers older than what it
acknowledged or reported before. The coordinator tells it where the leader and the followers are
(PUT /routes).
"""
import functools
from pathlib import Path
from urllib.parse import urlsplit

from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import BadRequest, decode_key
from labs.plumbing.network import send
from labs.replication.freshness import FrontDoor
from labs.scalability.rate_limiter import rate_limited

# the same bytes as workshop step 23 serves
GRADUATE = Path(__file__).with_name("graduate.txt").read_bytes()


def front_door(leader, followers, strategy, write_quorum, read_quorum):
    """Lab 2's front door, reads balanced by lab 1's strategy. A new gateway first learns every
    key's newest version from the leader: no read after a restart goes below a write acknowledged
    before."""
    door = FrontDoor(leader, followers, write_quorum, read_quorum, strategy)
    status, snapshot = send(leader, "GET", "/snapshot", timeout=10)
    if status == 200:
        door.epoch = snapshot["epoch"]
        for entry in snapshot["entries"]:
            door.freshness.remember(entry["key"], entry["version"])
    return door


def gateway(do_request):
    """Decorator for a node's do_request: with server.gateway set (a front door), the node serves
    the client API; its /health and the coordinator's PUT /routes go on to the node; nothing else is
    served."""
    @functools.wraps(do_request)
    def wrapper(handler):
        path = urlsplit(handler.path).path
        its_own = path == "/health" or (handler.command, path) == ("PUT", "/routes")
        if handler.server.gateway is None or its_own:
            return do_request(handler)
        if path not in ("/kv", "/graduate") and not path.startswith("/kv/"):
            raise BadRequest(404, f"no {path} here: the store's API is /kv, /kv/<key>, /graduate")
        serve(handler)
    return wrapper


@rate_limited
def serve(handler):
    """The client API, once lab 1's rate limiter let the request through; the log line says where it
    went."""
    door, method, path = handler.server.gateway, handler.command, urlsplit(handler.path).path
    if (method, path) == ("GET", "/graduate"):
        handler.send_body(200, GRADUATE, "text/plain; charset=utf-8")
        return handler.log_line(200)
    if (method, path) == ("GET", "/kv"):
        (status, reply), where = send(door.leader, "GET", "/kv"), "-> leader"
    elif path == "/kv" or method not in ("GET", "PUT", "DELETE"):
        raise BadRequest(405, f"{method} is not allowed on {path}")
    elif method == "GET":
        status, reply, answers = door.read(decode_key(path[4:]))
        skipped = ["stale" if said in (200, 404) else "silent"
                   for _, said, other in answers if other is not reply]
        where = f"-> {ports([reply['node']])}" if "node" in reply else "no fresh answer"
        where += f" ({', '.join(skipped)})" if skipped else ""
    else:
        body = handler.read_json('{"value": 42}', needs=["value"]) if method == "PUT" else None
        status, reply = door.write(method, decode_key(path[4:]), body)
        where = f"-> leader v{reply['version']}" if status in (200, 201) else "-> leader"
    handler.note += f" {where}"
    handler.send_json(status or 503, reply)
