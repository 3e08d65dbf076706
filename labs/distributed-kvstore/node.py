"""A kvstore node: lab 2's replicated node that tells the registry it is alive; or, with --role
gateway, the store's front door (@gateway, gateway.py), as lab 1's node with --load-balance is a
front.

Lab 3. Every --heartbeat-interval seconds a node sends the registry a heartbeat. A follower answers
the coordinator's election (routes.py): a vote (it follows the new epoch from then on) and, if
chosen, the order to lead.

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
from labs.plumbing.colour import log
from labs.plumbing.flags import ports
from labs.plumbing.network import send
from labs.replication import node as replication
from labs.scalability.client import parse_nodes
from labs.scalability.load_balancer import STRATEGIES as BALANCERS
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS
import routes
from gateway import front_door, gateway


class Node(replication.Node):
    """Lab 2's node, which tells the registry it is alive; the gateway when given a front door."""

    gateway = None

    def send_heartbeats(self, registry, name, interval):
        """Forever: tell the registry we are alive, and in which role; say when it starts or stops
        hearing us."""
        heard = None
        while True:
            time.sleep(interval)
            heartbeat = {"name": name, "port": self.server_port, "pid": os.getpid(),
                         "role": self.health()["role"]}
            status, reply = send(registry, "POST", "/heartbeat", heartbeat, timeout=interval)
            if (status == 200) != heard:
                heard = status == 200
                news = "hears us" if heard else f"does not hear us: {reply.get('error')}"
                log(f"registry {ports([registry])} {news}")

    def health(self):
        return dict(super().health(), role="gateway") if self.gateway else super().health()

    def promoted(self, epoch, followers):
        """The coordinator chose us, the most complete of the voters: we hold every acknowledged
        write, so we serve at once, and lead epoch."""
        self.ready = True
        self.lead(epoch, followers)


class Handler(replication.Handler):
    """Lab 2's handler, with the coordinator's election and repair; as the gateway, @gateway."""

    ROUTES = {**replication.Handler.ROUTES, ("POST", "/vote"): routes.vote,
              ("POST", "/lead"): routes.lead, ("PUT", "/followers"): routes.followers,
              ("PUT", "/routes"): routes.routes}
    INTERNAL = (*replication.Handler.INTERNAL, "/vote", "/lead", "/followers", "/routes")

    @gateway
    def do_request(self):
        super().do_request()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request


def main():
    parser = argparse.ArgumentParser(
        description="A kvstore node: leader, follower or gateway; it sends heartbeats.",
        epilog="examples:\n  python labs/distributed-kvstore/node.py --port 9102 --role follower\n"
               "  python labs/distributed-kvstore/node.py --port 8080 --role gateway",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", "heartbeat-interval",
              "read-quorum", "write-quorum", "limit", "window", port=9101)
    parser.add_argument("--role", choices=["leader", "follower", "gateway"], default="leader")
    parser.add_argument("--name", help="member name in the registry (default: role-port)")
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"])
    parser.add_argument("--replicate-to", type=parse_nodes, default=[], help="its followers: ports")
    parser.add_argument("--catch-up", action="store_true", help="serve nothing until caught up")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's epoch (default 1)")
    parser.add_argument("--leader", type=parse_nodes, default=["127.0.0.1:9101"])
    parser.add_argument("--read-from", type=parse_nodes, default=[], help="the gateway's followers")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="how the gateway picks a follower to read from (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway's limit")
    args = parser.parse_args()

    def make():
        node = Node((args.host, args.port), args.workers, args.delay, args.replication_delay,
                    args.write_quorum, args.epoch, ready=not args.catch_up, handler=Handler)
        if args.role == "gateway":
            node.gateway = front_door(args.leader[0], args.read_from or args.leader,
                                      args.load_balance, args.write_quorum, args.read_quorum)
            if args.rate_limit:
                node.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window)
        elif args.role == "leader":
            node.lead(args.epoch, args.replicate_to)
        name = args.name or f"{args.role}-{node.server_port}"
        beats = (args.registry[0], name, args.heartbeat_interval)
        threading.Thread(target=node.send_heartbeats, args=beats, daemon=True).start()
        return node
    flags.serve(parser, args, make, lambda node: f"{args.name or args.role} ready on {node.name} "
                                                 f"({args.role}, pid {os.getpid()})")


if __name__ == "__main__":
    main()
