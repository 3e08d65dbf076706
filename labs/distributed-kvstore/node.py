"""A kvstore node: lab 2's replicated node, plus heartbeats, a changeable follower set and snapshots.

Lab 3. Imports labs/replication/node.py and adds only what the fault-tolerant store needs:
a heartbeat to the registry every --heartbeat-interval seconds, PUT /followers (the leader's
follower set, or the gateway's readers, changes when a dead follower is replaced), GET
/snapshot (the whole store in one answer, for catch-up) and @gateway on handle_kv.

    python labs/distributed-kvstore/node.py --port 9102 --role follower --name follower1 --registry 9200
"""
import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication import node as replication  # noqa: E402
from labs.scalability import node as scalability  # noqa: E402
from labs.scalability.client import parse_nodes, send  # noqa: E402
from gateway import gateway  # noqa: E402  (gateway.py, beside this file)


class Node(replication.Node):
    """Lab 2's node, which also tells the registry it is alive and may run as the gateway."""

    gateway = rate_limiter = None  # set when this node runs as the gateway (gateway.py); None: leader or follower

    def send_heartbeats(self, registry, name, interval):
        """Forever: tell the registry we are alive. Say so only when it starts or stops hearing us."""
        heartbeat = {"name": name, "port": self.server_port, "pid": os.getpid(), "role": self.role}
        heard = None
        while True:
            status, reply = send(registry, "POST", "/heartbeat", heartbeat, timeout=interval)
            if (status == 200) != heard:
                heard = status == 200
                news = "hears our heartbeats" if heard else f"does not answer: {reply.get('error', status)}"
                print(f"{time.strftime('%H:%M:%S')}  registry {registry} {news}", flush=True)
            time.sleep(interval)

    def snapshot(self):
        """Every key's newest write (deleted keys too), as entries PUT /replicate takes, and the version."""
        with self.lock:
            entries = [{"key": key, "version": version, **({"value": self.store[key]} if key in self.store
                                                              else {"deleted": True})}
                       for key, version in self.versions.items()]
            return {"entries": entries, "version": self.version, "node": self.name}


class Handler(replication.Handler):
    INSTANT = {**replication.Handler.INSTANT, ("PUT", "/followers"): "put_followers",
               ("GET", "/snapshot"): "get_snapshot"}
    note = ""  # what @gateway adds to the log line: ACCEPT/REJECT, where the request went
    log_line = scalability.Handler.log_line  # lab 1's log line, the one that ends with the note

    @gateway
    def handle_kv(self):
        """A leader or follower serves as in lab 2; the gateway routes the request instead."""
        super().handle_kv()

    def get_snapshot(self):
        return 200, self.server.snapshot()

    def put_followers(self):
        """PUT /followers {"followers": ["127.0.0.1:9102", ...]}: the leader replicates to these from now on;
        the gateway reads from them."""
        try:
            followers = json.loads(self.read_body())["followers"]
            assert isinstance(followers, list) and all(isinstance(f, str) for f in followers)
        except (ValueError, TypeError, KeyError, AssertionError):
            raise replication.BadRequest(400, 'body must be {"followers": ["127.0.0.1:9102", ...]}')
        self.server.followers = followers
        if self.server.gateway:
            self.server.gateway.balancer.nodes = followers
        print(f"{time.strftime('%H:%M:%S')}  followers now {', '.join(followers) or 'none'}", flush=True)
        return 200, {"followers": followers, "node": self.server.name}


def add_membership_flags(parser):
    """The flags every kvstore process that sends heartbeats takes."""
    parser.add_argument("--name", help="member name in the registry (default: role-port)")
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"],
                        help="registry host:port or bare port (default 127.0.0.1:9200)")
    parser.add_argument("--heartbeat-interval", type=float, default=0.5,
                        help="seconds between two heartbeats (default 0.5)")


def serve(node, args):
    """Send heartbeats in the background and serve until Ctrl-C."""
    name = args.name or f"{node.role}-{node.server_port}"
    threading.Thread(target=node.send_heartbeats, args=(args.registry[0], name, args.heartbeat_interval),
                     daemon=True).start()
    print(f"{name} ready on {node.name} ({node.role}, pid {os.getpid()}), a heartbeat every "
          f"{args.heartbeat_interval} s to {args.registry[0]}", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"{name} stopped", flush=True)


def main():
    parser = argparse.ArgumentParser(
        description="A kvstore node: a leader or a follower that sends heartbeats to the registry.",
        epilog="example: python labs/distributed-kvstore/node.py --port 9102 --role follower --name follower1 "
               "--registry 9200",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9101, help="port to listen on (default 9101)")
    parser.add_argument("--workers", type=int, default=2, help="requests worked on at once (default 2)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of simulated work per request (default 0.1)")
    parser.add_argument("--role", choices=["leader", "follower"], default="leader", help="(default leader)")
    parser.add_argument("--followers", type=parse_nodes, default=[],
                        help="the leader's followers, host:port list or bare ports")
    parser.add_argument("--replication-delay", type=float, default=0.3,
                        help="seconds before the first follower gets a write, one more per next follower (default 0.3)")
    add_membership_flags(parser)
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0 or args.replication_delay < 0 or args.heartbeat_interval <= 0:
        parser.error("--workers must be at least 1, the delays not negative and --heartbeat-interval above 0")
    try:
        node = Node(args.host, args.port, args.workers, args.delay, args.role, args.followers,
                    args.replication_delay, handler=Handler)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    serve(node, args)


if __name__ == "__main__":
    main()
