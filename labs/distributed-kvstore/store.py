"""The kvstore's processes (lab 3, not a lesson): what coordinator.py repairs. Store starts the registry,
lab 2's leader and followers (node.py) and the gateway, registers them, tells the gateway its routes,
restarts a gateway or registry that exited, runs put, get, partition and heal, and stops them all.
"""
import argparse
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

from labs.plumbing import flags, processes
from labs.plumbing.colour import print_line
from labs.plumbing.exercises import missing
from labs.plumbing.network import send
from labs.replication.cluster import ASK_TIMEOUT, Cluster, Replica, StatusHandler, check
from labs.replication.display import tell_read, tell_write, watch_coordinator
from labs.replication.prompt import run
from labs.scalability.load_balancer import STRATEGIES as BALANCERS
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS
from prompt import KVStorePrompt

HERE = Path(__file__).resolve().parent


class Store:
    """The processes of one store, in lab 2's map (nodes[0] the leader), plus a gateway and a registry."""

    def __init__(self, args):
        self.args, self.epoch, self.cut, self.told, self.view = args, 1, [], None, {}
        followers = [Replica(f"follower{k}", "follower", args.base_port + k) for k in range(1, args.followers + 1)]
        self.cluster = Cluster([Replica("leader", "leader", args.base_port), *followers], args.logs, print_line)
        self.registry = Replica("registry", "registry", args.registry_port)
        self.gateway = Replica("gateway", "gateway", args.gateway_port)
        self.write_quorum, self.read_quorum = args.write_quorum, args.read_quorum
        # a replaced follower's name -> its successor's; the registry's events shown; when a process exited
        self.successors, self.seen, self.exited = {}, 0, {}
        self.next_port = args.base_port + args.followers + 1
        # the partition's sides, for every process of this run: see across() in labs/plumbing/network.py
        self.cut_file = Path(args.logs).resolve() / "partition.json"
        os.environ["LABS_CUT"] = str(self.cut_file)

    def command(self, member, *more):
        args = self.args
        if member is self.registry:
            return [HERE / "registry.py", "--port", member.port, "--suspect-after", args.dead_after / 2,
                    "--dead-after", args.dead_after]
        command = [HERE / "node.py", "--port", member.port, "--role", member.role, "--name", member.name,
                   "--registry", self.registry.address, "--heartbeat-interval", args.heartbeat_interval,
                   "--delay", args.delay, "--replication-delay", args.replication_delay, "--write-quorum",
                   self.write_quorum, *more]
        if member is self.gateway:
            command += ["--leader", self.cluster.leader.address, "--read-from", ",".join(self.routes()["followers"]),
                        "--read-quorum", self.read_quorum, "--load-balance", args.load_balance]
            if args.rate_limit:
                command += ["--rate-limit", args.rate_limit, "--limit", args.limit, "--window", args.window]
        elif member.role == "leader":
            command += ["--replicate-to", ",".join(f.address for f in self.cluster.followers), "--epoch", self.epoch]
        return command

    def start(self):
        """The registry, lab 2's nodes (the followers first, so the leader finds them), then the gateway."""
        self.cut_file.unlink(missing_ok=True)
        for member in [self.registry, *self.cluster.followers, self.cluster.leader, self.gateway]:
            self.launch(member)

    def launch(self, member, *more):
        """Start and register a member; a new registry hears of every member started (an exited one goes dead)."""
        self.cluster.launch(member, self.command(member, *more))
        self.cluster.event("up", f"{member} is up, pid {member.process.pid}")
        started = [n for n in [*self.cluster.nodes, self.gateway] if n.process]
        for other in started if member is self.registry else [member]:
            send(self.registry.address, "POST", "/register", {"name": other.name, "port": other.port,
                                                             "pid": other.process.pid, "role": other.role})

    def restart(self, member):
        """The gateway or the registry, again on its port; a new gateway learns the versions from a leader first."""
        self.cluster.news("dead", f"{member} stopped (killed or crashed): restarting it")
        # a new registry numbers its events from 1
        self.seen = 0 if member is self.registry else self.seen
        if member is self.gateway and self.ask(self.cluster.leader, "GET", "/health") is None:
            return self.cluster.news("refused", "the gateway waits for a leader that answers")
        self.cluster.stop(member)
        try:
            self.launch(member)
        except RuntimeError as error:
            self.cluster.news("refused", str(error))

    def ask(self, node, method, path, body=None):
        status, reply = send(node.address, method, path, body, timeout=ASK_TIMEOUT)
        return reply if status == 200 else None

    def dead(self):
        """The nodes the registry says are dead; its new events, shown as news. None dead while it is silent."""
        view = self.ask(self.registry, "GET", "/members")
        if view is None:
            return []
        self.view, events = view, view["events"]
        for e in [e for e in events if e["id"] > self.seen]:
            self.cluster.news(e["event"], f"{e['member']} :{e['port']} ({e['role']}), says the registry")
        self.seen = events[-1]["id"] if events else self.seen
        states, now = {member["name"]: member["state"] for member in view["members"]}, time.monotonic()
        for node in self.cluster.nodes:
            # exited long ago, yet not dead to the registry: the failure detector keeps it (counted news)
            gone = self.exited.setdefault(node.name, now) if not node.up else self.exited.pop(node.name, None)
            if gone and now - gone > 3 * self.args.dead_after and states.get(node.name) not in (None, "dead"):
                self.cluster.news("exercise", f"{node.name} exited, registry: {states[node.name]}; "
                                              "failure-detector decides")
        return [node for node in self.cluster.nodes if states.get(node.name) == "dead"]

    def leader_lost(self, dead):
        """The leader is dead to the registry and silent to us too (exited, paused, cut off), or answers as a
        follower (it heard of a newer epoch). A leader that answers leads on, back from a cut or a pause."""
        health = self.ask(self.cluster.leader, "GET", "/health")
        return health["role"] == "follower" if health else self.cluster.leader in dead

    def routes(self):
        return {"epoch": self.epoch, "leader": self.cluster.leader.address, "write_quorum": self.write_quorum,
                "followers": [f.address for f in self.cluster.followers if f.up], "read_quorum": self.read_quorum}

    def tell_gateway(self):
        """The gateway hears of a change of routes or quorums; again on later passes, until it answers."""
        routes = self.routes()
        if routes != self.told and self.ask(self.gateway, "PUT", "/routes", routes) is not None:
            self.told = routes

    def promoted(self, chosen, epoch):
        with self.cluster.lock:
            old, index = self.cluster.leader, self.cluster.nodes.index(chosen)
            self.cluster.nodes[0], self.cluster.nodes[index] = chosen, old
            chosen.role, old.role, self.epoch = "leader", "follower", epoch
        self.tell_gateway()
        self.cluster.event("promoted", f"{chosen.name} leads epoch {epoch}" +
                           f"; {old.name} is a follower now" * old.up)

    def new_follower(self):
        """A new follower's place in the map: the next name, and a port nobody listens on, not used before."""
        port = next(port for port in range(self.next_port, 65536) if processes.port_free(port))
        return Replica(f"follower{self.args.followers + len(self.successors) + 1}", "follower", port)

    def replaced(self, dead, new):
        with self.cluster.lock:
            self.cluster.nodes[self.cluster.nodes.index(dead)] = new
            self.successors[dead.name], self.next_port = new.name, new.port + 1
        self.ask(self.registry, "DELETE", f"/members/{dead.name}")
        self.tell_gateway()
        self.cluster.event("up", f"{new} serves reads, in place of {dead.name}")

    def write(self, key, value):
        started = time.perf_counter()
        status, reply = send(self.gateway.address, "PUT", f"/kv/{quote(key, safe='')}", {"value": value})
        tell_write(self.cluster, key, status, reply, time.perf_counter() - started)

    def read(self, key):
        """The prompt's get, as any client's (the gateway's log says which replica answered, which were stale)."""
        started = time.perf_counter()
        status, reply = send(self.gateway.address, "GET", f"/kv/{quote(key, safe='')}")
        tell_read(self.cluster, key, status, reply, [], time.perf_counter() - started)

    def set_quorums(self, write_quorum, read_quorum):
        """W and R from now on: for the gateway (told on the next pass of the repair) and for elections."""
        self.write_quorum, self.read_quorum = write_quorum, read_quorum

    def down(self, member):
        self.cluster.stop(member)
        self.cluster.event("down", f"{member} is down")

    def partition(self, names):
        self.cut, new = names, self.cut_file.with_suffix(".new")
        new.write_text(json.dumps([self.cluster.find(name).address for name in names]))
        os.replace(new, self.cut_file)
        self.cluster.event("partition", f"{', '.join(names)} cut off from all the others")
        leader, followers, w = self.cluster.leader, self.cluster.followers, self.write_quorum
        beside = sum(1 for follower in followers if (follower.name in names) == (leader.name in names))
        others, needed = len(followers) - beside, len(followers) - w + 1
        self.cluster.event("partition", f"the leader's side {'can' if beside >= w else 'cannot'} write: "
                                        f"W = {w}, {beside} follower{'s' * (beside != 1)} there")
        # the coordinator elects, on its side: the side of the nodes not named
        why = f"N - W + 1 = {needed} votes, it has {others}" if leader.name in names else "the coordinator is not there"
        can = "can" if leader.name in names and others >= needed else "cannot"
        self.cluster.event("partition", f"the other side {can} elect: {why}")

    def heal(self):
        self.cut = []
        self.cut_file.unlink(missing_ok=True)
        self.cluster.event("heal", "the cut is gone: every process reaches every other again")

    def status(self):
        rows = [dict(row, cut=row["name"] in self.cut) for row in self.cluster.rows()]
        rows += [{"name": m.name, "role": m.role, "port": m.port, "up": m.up, "pid": m.process.pid if m.up else None}
                 for m in (self.gateway, self.registry)]
        return {"followers": len(self.cluster.followers), "write_quorum": self.write_quorum,
                "read_quorum": self.read_quorum, "nodes": rows, "events": self.cluster.events.recent(),
                "members": self.view, "cut": self.cut}

    def stop_all(self):
        self.cluster.stop_all(others=[self.gateway, self.registry])
        self.cut_file.unlink(missing_ok=True)


def main(Coordinator):
    parser = argparse.ArgumentParser(
        description="The kvstore: registry, gateway, a leader, N followers, repaired when one dies.",
        epilog="examples:\n  python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2\n"
               "  python labs/distributed-kvstore/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port", "delay",
              "replication-delay", "heartbeat-interval", "dead-after", "gateway-port", "registry-port", "limit",
              "window", "logs", "script", "watch", port=9100, base_port=9101, logs=HERE / "logs")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for reads (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client")
    args = parser.parse_args()
    if args.watch:
        return watch_coordinator(args.port)
    if args.dead_after <= 2 * args.heartbeat_interval:
        parser.error("--dead-after must be more than 2 heartbeat intervals")
    check(parser, args, [args.port, args.gateway_port, args.registry_port,
                         *range(args.base_port, args.base_port + args.followers + 1)])
    store = Store(args)
    unwritten = missing(["freshness", "failure-detector"] + ["fixed-window"] * bool(args.rate_limit))
    limit = f"\nthe gateway allows each client {args.limit} requests per {args.window:g} s" * bool(args.rate_limit)
    todo = f"\nnot written yet: {', '.join(unwritten)} (make check)" * bool(unwritten)
    run(parser, args, Coordinator(store), StatusHandler, KVStorePrompt(store, args.script),
        f"kvstore on your labs 1 and 2: clients use the gateway :{args.gateway_port}{limit}\n"
        f"registry :{args.registry_port}; coordinator API and picture: http://127.0.0.1:{args.port}{todo}")
