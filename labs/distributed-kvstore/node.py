"""A kvstore node: lab 2's replicated node that tells the registry it is alive; or, with --role
gateway, the store's front door (@gateway, gateway.py), as lab 1's node with --load-balance is a
front.

Lab 3. Every --heartbeat-interval seconds a node sends the registry a heartbeat. A follower answers
the coordinator's election: POST /vote (it follows the new epoch from now on, and says how much of
the log it holds) and POST /lead (it leads that epoch). PUT /followers gives a leader new followers.

    python labs/distributed-kvstore/node.py --port 9102 --role follower --name follower1
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

# the repository root, and this folder, for `import labs...` and `import gateway`
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]
from labs.plumbing import flags
from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import BadRequest
from labs.plumbing.network import send
from labs.replication import node as replication
from labs.scalability.client import parse_nodes
from labs.scalability.load_balancer import STRATEGIES as BALANCERS
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS
from gateway import front_door, gateway


class Node(replication.Node):
    """Lab 2's node, which tells the registry it is alive; the gateway when it is given a front
    door."""

    gateway = None

    def send_heartbeats(self, registry, name, interval):
        """Forever: tell the registry we are alive, and in which role. Say so when it starts or
        stops hearing us."""
        heard = None
        while True:
            role = "gateway" if self.gateway else self.role.name
            heartbeat = {"name": name, "port": self.server_port, "pid": os.getpid(), "role": role}
            status, reply = send(registry, "POST", "/heartbeat", heartbeat, timeout=interval)
            if (status == 200) != heard:
                heard = status == 200
                news = "hears our heartbeats" if heard else f"does not hear us: {reply.get('error', status)}"
                print(f"{time.strftime('%H:%M:%S')} registry {ports([registry])} {news}", flush=True)
            time.sleep(interval)


class Handler(replication.Handler):
    """Lab 2's handler, plus the coordinator's election and repair; as the gateway, @gateway serves.
    """

    ROUTES = {**replication.Handler.ROUTES, ("POST", "/vote"): "vote", ("POST", "/lead"): "lead",
              ("PUT", "/followers"): "followers", ("PUT", "/routes"): "routes"}
    INTERNAL = (*replication.Handler.INTERNAL, "/vote", "/lead", "/followers", "/routes")

    @gateway
    def do_request(self):
        super().do_request()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request

    def vote(self):
        """POST /vote {"epoch": 2}: follow epoch 2 from now on (a leader of an older epoch gets no
        more acks from us), and say how much of the log we hold: the most complete voter will lead.
        """
        epoch = self.read_json('{"epoch": 2}', needs=["epoch"])["epoch"]
        with self.server.changed:
            if type(epoch) is not int or not self.server.follow(epoch):
                raise BadRequest(409, f"epoch {epoch} is over: we follow epoch {self.server.epoch}")
        return self.answer("ok", epoch)

    def lead(self):
        """POST /lead {"epoch": 2, "followers": [...]}: lead epoch 2, from our newest version on."""
        body = self.read_json('{"epoch": 2, "followers": ["127.0.0.1:9103"]}', needs=["epoch", "followers"])
        if body["epoch"] != self.server.epoch or not isinstance(body["followers"], list):
            raise BadRequest(409, f"vote for epoch {body['epoch']} first: we follow epoch {self.server.epoch}")
        # the most complete voter holds every acknowledged write: it serves at once
        self.server.ready = True
        self.server.lead(body["epoch"], body["followers"])
        return self.answer("ok", body["epoch"])

    def followers(self):
        """PUT /followers {"followers": [...]}: the leader replicates to these from now on (a
        repair)."""
        followers = self.read_json('{"followers": ["127.0.0.1:9102"]}', needs=["followers"])["followers"]
        if self.server.role.name != "leader" or not all(isinstance(follower, str) for follower in followers):
            raise BadRequest(409, "only the leader takes a list of followers, host:port each")
        self.server.role.replicate_to(followers)
        return 200, {"followers": followers, "node": self.server.name}

    def routes(self):
        """PUT /routes, from the coordinator: where the gateway sends writes and reads from now on.
        """
        body = self.read_json('{"leader": "127.0.0.1:9101", "followers": ["127.0.0.1:9102"], "write_quorum": 1, '
                              '"read_quorum": 1}', needs=["leader", "followers", "write_quorum", "read_quorum"])
        door = self.server.gateway
        if door is None or not isinstance(body["followers"], list):
            raise BadRequest(404, "routes are for the gateway")
        door.leader, door.balancer.nodes = body["leader"], body["followers"]
        door.write_quorum, door.read_quorum = body["write_quorum"], body["read_quorum"]
        print(f"{time.strftime('%H:%M:%S')} writes to {ports([door.leader])} (W = {door.write_quorum}), "
              f"reads from {ports(door.balancer.nodes)} (R = {door.read_quorum})", flush=True)
        return 200, body


def main():
    parser = argparse.ArgumentParser(
        description="A kvstore node: leader, follower or gateway; it sends the registry heartbeats.",
        epilog="examples:\n  python labs/distributed-kvstore/node.py --port 9102 --role follower\n"
               "  python labs/distributed-kvstore/node.py --port 8080 --role gateway",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", "heartbeat-interval", "read-quorum",
              "write-quorum", "limit", "window", port=9101)
    parser.add_argument("--role", choices=["leader", "follower", "gateway"], default="leader", help="(default leader)")
    parser.add_argument("--name", help="member name in the registry (default: role-port)")
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"], help="(default :9200)")
    parser.add_argument("--replicate-to", type=parse_nodes, default=[], help="a leader's followers: ports")
    parser.add_argument("--catch-up", action="store_true", help="serve nothing until caught up")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's term: followers refuse older ones")
    parser.add_argument("--leader", type=parse_nodes, default=["127.0.0.1:9101"], help="the gateway's leader")
    parser.add_argument("--read-from", type=parse_nodes, default=[], help="the followers the gateway reads from")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy to pick a follower to read from (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client")
    args = parser.parse_args()
    if args.workers < 1 or min(args.delay, args.replication_delay, args.write_quorum or 0) < 0 \
            or args.heartbeat_interval <= 0 or args.limit < 1 or args.window <= 0 or args.read_quorum < 1:
        parser.error("--workers, --limit, --read-quorum at least 1; the delays not negative; intervals above 0")
    try:
        node = Node((args.host, args.port), args.workers, args.delay, args.replication_delay,
                    write_quorum=args.write_quorum, epoch=args.epoch, ready=not args.catch_up, handler=Handler)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    if args.role == "gateway":
        node.gateway = front_door(args.leader[0], args.read_from or args.leader, args.load_balance,
                                  args.write_quorum, args.read_quorum)
        node.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window) if args.rate_limit else None
    elif args.role == "leader":
        node.lead(args.epoch, args.replicate_to)
    name = args.name or f"{args.role}-{node.server_port}"
    threading.Thread(target=node.send_heartbeats, args=(args.registry[0], name, args.heartbeat_interval),
                     daemon=True).start()
    print(f"{name} ready on {node.name} ({args.role}, pid {os.getpid()})", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"{name} stopped", flush=True)


if __name__ == "__main__":
    main()
