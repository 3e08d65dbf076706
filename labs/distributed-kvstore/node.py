"""A kvstore node: lab 2's replicated node, plus heartbeats to the registry and @gateway.

Lab 3. As a leader or a follower it is lab 2's node that also tells the registry, every
--heartbeat-interval seconds, that it is alive; a leader's followers can change (PUT /followers)
when a dead one is replaced. As --role gateway the same node carries @gateway (gateway.py) and
serves the client API only, as lab 1's node with --load-balance is a front.

    python labs/distributed-kvstore/node.py --port 9102 --role follower --name follower1
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import flags  # noqa: E402
from labs.plumbing.flags import parse_nodes, ports  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.replication import node as replication  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES as BALANCERS  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS  # noqa: E402
from api import NodeRoutes  # noqa: E402  (api.py, beside this file)
from gateway import Gateway, gateway  # noqa: E402  (gateway.py, beside this file)


class Node(replication.Node):
    """Lab 2's node, which also tells the registry it is alive, and may be the gateway."""

    gateway = None  # a Gateway when this node runs as the gateway (--role gateway)

    def send_heartbeats(self, registry, name, interval):
        """Forever: tell the registry we are alive, and in which role. Say so when it starts or stops hearing us."""
        heard = None
        while True:
            heartbeat = {"name": name, "port": self.server_port, "pid": os.getpid(), "role": self.role}
            status, reply = send(registry, "POST", "/heartbeat", heartbeat, timeout=interval)
            if (status == 200) != heard:
                heard = status == 200
                news = "hears our heartbeats" if heard else f"does not answer: {reply.get('error', status)}"
                print(f"{time.strftime('%H:%M:%S')} registry {registry} {news}", flush=True)
            time.sleep(interval)

    def set_followers(self, followers):
        """The leader replicates to these from now on: streams start for new ones, stop for the others."""
        with self.lock:
            gone = [follower for follower in self.held if follower not in followers]
            for follower in gone:
                del self.held[follower]
                self.unreachable.discard(follower)
            new = [follower for follower in followers if follower not in self.held]
        for follower in new:
            self.add_follower(follower, followers.index(follower) + 1)
        print(f"{time.strftime('%H:%M:%S')} followers now {', '.join(followers) or 'none'}", flush=True)

    def promote(self, epoch, followers):
        """A follower becomes the leader of a new epoch: it versions writes from its own newest version on."""
        with self.lock:
            self.role, self.epoch = "leader", epoch
        print(f"{time.strftime('%H:%M:%S')} promoted: leader of epoch {epoch} from v{self.log.version}", flush=True)
        self.set_followers(followers)


class Handler(NodeRoutes, replication.Handler):
    """Lab 2's handler with the coordinator's orders (api.py); as the gateway (@gateway), the client API only."""

    @gateway
    def do_request(self):
        super().do_request()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request


def main():
    parser = argparse.ArgumentParser(
        description="A kvstore node: leader, follower or gateway; it sends the registry heartbeats.",
        epilog="examples:\n  python labs/distributed-kvstore/node.py --port 9102 --role follower\n"
               "  python labs/distributed-kvstore/node.py --port 8080 --role gateway\n"
               "      --leader 9101 --read-from 9102,9103",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "host", "port", "workers", "delay", "replication-delay", "registry", "heartbeat-interval",
              "read-quorum", "write-quorum", "limit", "window", port=9101)
    parser.add_argument("--role", choices=["leader", "follower", "gateway"], default="leader", help="(default leader)")
    parser.add_argument("--name", help="member name in the registry (default: role-port)")
    parser.add_argument("--replicate-to", type=parse_nodes, default=[], help="a leader's followers, host:port or ports")
    parser.add_argument("--catch-up", action="store_true", help="start empty and serve nothing until caught up")
    parser.add_argument("--epoch", type=int, default=1, help="a leader's term: followers refuse older ones")
    parser.add_argument("--leader", type=parse_nodes, default=["127.0.0.1:9101"], help="the gateway's leader")
    parser.add_argument("--read-from", type=parse_nodes, default=[], help="the followers the gateway reads from")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for picking a follower to read from (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client's requests")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0 or args.replication_delay < 0 or args.heartbeat_interval <= 0:
        parser.error("--workers must be at least 1, the delays not negative and --heartbeat-interval above 0")
    if args.limit < 1 or args.window <= 0 or args.read_quorum < 1 or (args.write_quorum or 0) < 0:
        parser.error("--limit and --read-quorum must be at least 1, --window above 0, --write-quorum not negative")
    try:
        node = Node((args.host, args.port), Handler, args.workers, args.delay, args.role, args.replicate_to,
                    args.replication_delay, ready=not args.catch_up, epoch=args.epoch)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    if args.role == "gateway":
        write_quorum = len(args.read_from) if args.write_quorum is None else args.write_quorum
        node.gateway = Gateway(args.leader[0], args.read_from, args.load_balance, write_quorum, args.read_quorum)
        node.rate_limiter = LIMITERS[args.rate_limit](args.limit, args.window) if args.rate_limit else None
        learned = node.gateway.learn_versions()
        print(f"gateway: writes to {ports(args.leader)}, reads from {ports(args.read_from)}\n"
              f"gateway: {'knows' if learned else 'could not learn'} the leader's versions", flush=True)
    name = args.name or f"{args.role}-{node.server_port}"
    threading.Thread(target=node.send_heartbeats, args=(args.registry, name, args.heartbeat_interval),
                     daemon=True).start()
    print(f"{name} ready on {node.name} ({args.role}, pid {os.getpid()})", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"{name} stopped", flush=True)


if __name__ == "__main__":
    main()
