"""The gateway: where every client request lands. Lab 1's rate limiter and load balancer, unchanged.

Lab 3. @gateway is lab 1's @rate_limited around a router: a write goes to the leader, which
replicates it with quorum W (lab 2); a read goes to R live followers, the first one picked by
lab 1's strategy, and a reply older than the newest acknowledged write is refused for a fresh one.
The kvstore node.py carries @gateway on handle_kv; this script runs that node as the gateway.

    python labs/distributed-kvstore/gateway.py --port 8080 --leader 9101 --followers 9102,9103,9104
"""
import argparse
import functools
import sys
import threading
from pathlib import Path
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.scalability.load_balancer import STRATEGIES as BALANCERS, forward, measured_by, request_body  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS, rate_limited  # noqa: E402
from labs.scalability.client import parse_nodes, send  # noqa: E402
from labs.replication.node import BadRequest, parse_value  # noqa: E402

GRADUATE = Path(__file__).with_name("graduate.txt").read_bytes()  # the same bytes as workshop step 23 serves


class Gateway:
    """Where requests go: writes to the leader, reads to followers; remembers each key's newest acked version."""

    def __init__(self, leader, followers, strategy, write_quorum, read_quorum):
        self.leader, self.write_quorum, self.read_quorum = leader, write_quorum, read_quorum
        self.balancer = BALANCERS[strategy](list(followers))  # PUT /followers replaces balancer.nodes
        self.newest = {}  # key -> (version, deleted) of its newest acknowledged write: no read goes below it
        self.lock = threading.Lock()

    def write(self, handler, data):
        """Lab 2's write path: the leader applies it and answers once W followers hold it.
        Returns (status, reply, where it went)."""
        body = {"value": parse_value(data)} if handler.command == "PUT" else None
        status, reply = send(self.leader, handler.command, handler.path, body,
                             {"X-Write-Quorum": str(self.write_quorum)})
        if status == 0:
            return 503, {"error": f"the leader does not answer: {reply['error']}"}, "-> leader: no answer"
        if status not in (200, 201):
            return status, reply, "-> leader"
        with self.lock:
            if reply["version"] > self.newest.get(reply["key"], (0, False))[0]:
                self.newest[reply["key"]] = (reply["version"], handler.command == "DELETE")
        return status, reply, f"-> leader v{reply['version']}"

    def read(self, handler, key):
        """Ask R followers, the first picked by the strategy; never answer below the newest acked write."""
        followers = list(self.balancer.nodes)
        if len(followers) < self.read_quorum:
            return 503, {"error": f"R = {self.read_quorum} followers required, {len(followers)} serving reads"}, ""
        first = self.balancer.pick()
        asked = [first] + [node for node in followers if node != first][:self.read_quorum - 1]
        replies = [(node, *measured_by(self.balancer)(forward)(node, handler, b"")[:2]) for node in asked]
        fresh = [(node, status, reply) for node, status, reply in replies if self.is_fresh(key, status, reply)]
        if not fresh:  # the followers asked lag behind (or gave no answer): the leader holds every acked write
            status, reply, _ = forward(self.leader, handler, b"")
            return status or 503, reply, f"stale or no answer from {', '.join(asked)}: asked the leader"
        node, status, reply = max(fresh, key=lambda answer: answer[2].get("version", 0))
        return status, reply, f"-> {', '.join(asked)}"

    def is_fresh(self, key, status, reply):
        """A reply at least as new as the newest acknowledged write of key (not found is fresh after a delete)."""
        version, deleted = self.newest.get(key, (0, False))
        if status == 200:
            return reply["version"] >= version
        return status == 404 and (deleted or version == 0)


def gateway(handle):
    """Decorator for the node's handler: with server.gateway set, rate limit (lab 1), then route the request."""
    @rate_limited
    @functools.wraps(handle)
    def wrapper(handler):
        router = handler.server.gateway
        if router is None:
            return handle(handler)
        if handler.path == "/graduate":
            return send_text(handler, GRADUATE)
        data = request_body(handler)
        try:
            if handler.command == "GET" and handler.path.startswith("/kv/"):
                status, reply, where = router.read(handler, unquote(handler.path[4:]))
            elif handler.command in ("PUT", "DELETE") and handler.path.startswith("/kv/"):
                status, reply, where = router.write(handler, data)
            else:  # GET /kv, and paths or methods the leader will refuse with the right error
                status, reply, where = *forward(router.leader, handler, data)[:2], "-> leader"
        except BadRequest as error:
            status, reply, where = error.status, {"error": str(error)}, ""
        handler.note = f"{handler.note} {where}".strip()  # after lab 1's ACCEPT, when rate limited
        handler.send_json(status, reply)
    return wrapper


def send_text(handler, data):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    handler.log_line(200)


def main():
    import node  # node.py imports this file for @gateway: import it only when we run as the gateway
    parser = argparse.ArgumentParser(
        description="The kvstore's gateway: rate limiting, then writes to the leader and reads to followers.",
        epilog="example: python labs/distributed-kvstore/gateway.py --port 8080 --leader 9101 "
               "--followers 9102,9103,9104 --rate-limit fixed-window --limit 5 --window 1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--leader", type=parse_nodes, default=["127.0.0.1:9101"], help="the leader (default 9101)")
    parser.add_argument("--followers", type=parse_nodes, default=[], help="followers that serve reads")
    parser.add_argument("--write-quorum", type=int, help="W, follower acks a write waits for (default all)")
    parser.add_argument("--read-quorum", type=int, default=1, help="R, followers a read asks (default 1)")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="strategy that picks the follower for a read (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="limit each client's requests")
    parser.add_argument("--limit", type=int, default=5, help="requests per client per window (default 5)")
    parser.add_argument("--window", type=float, default=1.0, help="rate limit window in seconds (default 1)")
    node.add_membership_flags(parser)
    args = parser.parse_args()
    write_quorum = len(args.followers) if args.write_quorum is None else args.write_quorum
    if len(args.leader) != 1 or not 0 <= write_quorum <= len(args.followers) or args.read_quorum < 1:
        parser.error("need one --leader, 0 <= --write-quorum <= followers and --read-quorum >= 1")
    if args.limit < 1 or args.window <= 0 or args.heartbeat_interval <= 0:
        parser.error("--limit must be at least 1, --window and --heartbeat-interval above 0")
    try:
        server = node.Node(args.host, args.port, workers=1, delay=0, role="gateway", handler=node.Handler)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    server.gateway = Gateway(args.leader[0], args.followers, args.load_balance, write_quorum, args.read_quorum)
    if args.rate_limit:
        server.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window)
    print(f"gateway: writes to {args.leader[0]} (W = {write_quorum}), reads from R = {args.read_quorum} of "
          f"{', '.join(args.followers) or 'no followers'} by {args.load_balance}"
          f"{f', rate limit {args.limit} per {args.window:g} s per client' if args.rate_limit else ''}", flush=True)
    node.serve(server, args)


if __name__ == "__main__":
    main()
