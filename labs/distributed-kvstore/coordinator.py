"""The kvstore coordinator: lab 2's coordinator, plus a registry, a gateway and self-repair.

Lab 3. Starts the registry, lab 2's leader and N followers (lab 3's node.py: with heartbeats) and
the gateway. Every put and get at the prompt goes through the gateway, like any client's. When the
registry reports a follower dead, repair() replaces it; a crashed gateway or registry is restarted.

    python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 --read-quorum 1
"""
import argparse
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import exercises, flags, processes  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.replication.coordinator import Coordinator, check  # noqa: E402
from labs.replication.percolation import short  # noqa: E402
from labs.replication.display import watch  # noqa: E402
from labs.replication.prompt import run  # noqa: E402
from labs.replication.replica import Replica  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES as BALANCERS  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS  # noqa: E402
from api import KVStoreHandler  # noqa: E402  (api.py, beside this file)
from catchup import CatchUpFailed, catch_up  # noqa: E402  (catchup.py, beside this file)
from prompt import KVStorePrompt  # noqa: E402  (prompt.py, beside this file)

HERE = Path(__file__).resolve().parent
SUPERVISE_EVERY = 0.5  # seconds between two looks at the gateway's and the registry's processes


class KVStore(Coordinator):
    """Lab 2's single leader and followers, behind a gateway, watched by a registry, repairing itself."""

    def __init__(self, args):
        super().__init__(args.followers, args.write_quorum, args.read_quorum, args.base_port, args.delay,
                         args.replication_delay, logs=args.logs)
        self.args = args
        self.registry = Replica("registry", "registry", args.registry_port)
        self.gateway = Replica("gateway", "gateway", args.gateway_port)
        self.next_port = args.base_port + args.followers + 1  # a replacement gets a port never used before
        self.next_number = args.followers + 1
        self.replaced = {}  # name of a dead follower -> name of its replacement
        self.repairing = threading.Lock()  # one repair at a time: each changes the follower lists in turn
        self.stopping = False

    # Starting: the registry first (the others send it heartbeats), then lab 2's nodes, then the gateway

    def command(self, member):
        """The command line of any member: the registry's, or lab 3's node.py as leader, follower or gateway."""
        if member is self.registry:
            return [HERE / "registry.py", "--port", member.port, "--notify", self.args.port,
                    "--suspect-after", self.args.dead_after / 2, "--dead-after", self.args.dead_after]
        heartbeats = ["--name", member.name, "--registry", self.registry.address,
                      "--heartbeat-interval", self.args.heartbeat_interval]
        if member is self.gateway:
            limits = ["--rate-limit", self.args.rate_limit, "--limit", self.args.limit, "--window", self.args.window]
            return [HERE / "node.py", "--port", member.port, "--role", "gateway", *heartbeats,
                    "--leader", self.leader.address, "--read-from", self.readers(), "--write-quorum",
                    self.write_quorum, "--read-quorum", self.read_quorum, "--load-balance", self.args.load_balance,
                    *(limits if self.args.rate_limit else [])]
        return [HERE / "node.py", *super().command(member)[1:], *heartbeats]  # lab 2's command, lab 3's node

    def start(self):
        self.start_member(self.registry)
        super().start()
        for node in self.nodes:
            self.register(node)
        self.start_member(self.gateway)
        threading.Thread(target=self.supervise, daemon=True).start()

    def start_member(self, member):
        """Start the registry or the gateway as lab 2 starts a node, and register it."""
        self.launch(member)
        self.event("up", f"{member} is up, pid {member.process.pid}")
        if member is not self.registry:
            self.register(member)

    def register(self, member):
        """Tell the registry about a process we started: it is a member before its first heartbeat."""
        send(self.registry.address, "POST", "/register",
             {"name": member.name, "port": member.port, "pid": member.process.pid, "role": member.role})

    def stop_all(self):
        self.stopping = True
        for member in (self.gateway, self.registry):
            if member.process:
                processes.stop(member.process)
        print("stopped the gateway and the registry", flush=True)
        super().stop_all()

    # Every put and get goes through the gateway, like any client's

    def write(self, key, value=None, deleted=False):
        status, reply = send(self.gateway.address, "DELETE" if deleted else "PUT", f"/kv/{quote(key, safe='')}",
                             None if deleted else {"value": value})
        if status not in (200, 201):
            return self.refuse(status or 503, f"write {key}: {reply.get('error', 'the gateway does not answer')}")
        what = f"{key} deleted" if deleted else f"{key}={short(value)}"
        self.event("write", f"{what} v{reply['version']} acked by {len(reply['acks'])} of {len(self.followers)} "
                            f"(W = {self.write_quorum}), via the gateway", {"key": key, "version": reply["version"]})
        return status, reply

    def read(self, key):
        status, reply = send(self.gateway.address, "GET", f"/kv/{quote(key, safe='')}")
        if status not in (200, 404):
            return self.refuse(status or 503, f"read {key}: {reply.get('error', 'the gateway does not answer')}")
        served_by = self.by_address(reply.get("node", "?"))
        why = " (followers behind or silent)" if served_by is self.leader else ""
        self.event("read", f"{key} = {self.describe(status, reply)} from {getattr(served_by, 'name', served_by)}"
                           f"{why}, via the gateway", {"key": key, "served_by": [getattr(served_by, "name", "?")]})
        return status, reply

    # Self-repair: the registry's news, a replacement, catch-up

    def membership(self, news):
        """The registry reports an event; a dead leader or follower is replaced."""
        self.event(news["event"], f"{news['member']} :{news['port']} ({news['role']}), says the registry")
        dead = self.find(news["member"])
        if news["event"] == "dead" and dead in self.nodes:
            threading.Thread(target=self.repair, args=(dead,), daemon=True).start()

    def repair(self, dead):
        """A dead leader first hands its role to a follower (promote). Then: retire the dead node, start a new
        follower on a new port, catch it up, and only then let it serve reads."""
        with self.repairing:
            if dead not in self.nodes or dead is self.leader and not self.promote(dead):
                return  # already replaced, or no follower could take over
            new = self.retire(dead)
            self.event("replace", f"{dead.name} is dead: {new} takes its place")
            try:
                self.launch(new, "--catch-up")
                done = catch_up(self.leader.address, new.address, [f.address for f in self.followers if f.up])
            except (RuntimeError, CatchUpFailed) as error:
                processes.stop(new.process) if new.process else None
                self.nodes.remove(new)
                return self.event("refused", f"one follower short: {error}")
            self.event("caught-up", f"{new.name}: snapshot {done['keys']} keys (v{done['snapshot_version']}) + "
                                    f"{done['replayed']} writes = v{done['version']}, {done['seconds'] * 1000:.0f} ms")
            self.register(new)
            self.tell_gateway()
            send(self.registry.address, "DELETE", f"/members/{dead.name}")
            self.event("up", f"{new} serves reads, in place of {dead.name}")

    def promote(self, dead):
        """The follower that holds the most writes leads a new epoch. Followers keep a prefix of the log, so it
        holds every write that W >= 1 followers acknowledged; followers refuse the old leader's epoch from now on."""
        dead.process.kill()  # it may be paused rather than gone: it must not come back as a leader
        versions = {follower: self.health(follower).get("version", -1) for follower in self.followers if follower.up}
        chosen = max(versions, key=versions.get, default=None)
        others = [follower.address for follower in versions if follower is not chosen]
        status, reply = send(chosen.address, "POST", "/promote", {"epoch": self.epoch + 1, "followers": others}) \
            if chosen else (0, {"error": "no follower is up"})
        if status != 200:
            self.event("refused", f"no new leader: {reply.get('error', status)}; no writes until one is up")
            return False
        with self.lock:
            self.epoch += 1
            index = self.nodes.index(chosen)
            self.nodes[0], self.nodes[index] = chosen, dead
            chosen.role, dead.role = "leader", "follower"
        self.tell_gateway()  # writes go to the new leader from now on
        self.event("promoted", f"leader dead -> {chosen.name} promoted (epoch {self.epoch}, v{versions[chosen]})")
        return True

    def retire(self, dead):
        """Out of the map, of the leader's followers and of the gateway's readers; a new member in its place."""
        dead.process.kill()  # it may be frozen rather than gone: make sure
        dead.process.wait()
        new = Replica(f"follower{self.next_number}", "follower", self.next_port)
        with self.lock:
            self.nodes[self.nodes.index(dead)] = new
            self.replaced[dead.name] = new.name
            self.next_number, self.next_port = self.next_number + 1, self.next_port + 1
        send(self.leader.address, "PUT", "/followers", {"followers": [f.address for f in self.followers if f.up]})
        self.tell_gateway()
        return new

    def readers(self):
        return ",".join(f.address for f in self.followers if f.up) or self.leader.address

    def tell_gateway(self):
        """The gateway writes to the leader and reads from the followers that are up and caught up."""
        send(self.gateway.address, "PUT", "/readers",
             {"leader": self.leader.address, "followers": [f.address for f in self.followers if f.up]})

    # Supervision: the gateway and the registry are restarted on their own port when they die

    def supervise(self):
        """Every half second: a gateway or registry that exited starts again on its own port. A new registry
        is told every member, even one that died meanwhile: its silence will say so."""
        while not self.stopping:
            for member in (self.registry, self.gateway):
                if not member.up and not self.stopping:
                    self.event("dead", f"{member} exited (code {member.process.returncode}): restarting it")
                    try:
                        self.start_member(member)
                    except RuntimeError as error:
                        self.event("refused", str(error))
                    if member is self.registry:
                        for node in [node for node in self.nodes + [self.gateway] if node.process]:
                            self.register(node)
            time.sleep(SUPERVISE_EVERY)

    def status(self):
        status = super().status()
        status["nodes"] += [{"name": m.name, "role": m.role, "port": m.port, "up": m.up,
                             "pid": m.process.pid if m.up else None} for m in (self.gateway, self.registry)]
        return dict(status, stale_check="the gateway")


def main():
    parser = argparse.ArgumentParser(
        description="Start the whole kvstore: registry, gateway, 1 leader and N followers; repair it when a "
                    "follower dies.",
        epilog="examples:\n  python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 "
               "--read-quorum 1\n  python labs/distributed-kvstore/coordinator.py --watch",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "followers", "write-quorum", "read-quorum", "host", "port", "base-port", "delay",
              "replication-delay", "heartbeat-interval", "dead-after", "gateway-port", "registry-port", "limit",
              "window", "logs", "script", "watch", port=9100, base_port=9101, logs=HERE / "logs")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for reads (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client's requests")
    args = parser.parse_args()
    if args.watch:
        return watch(f"127.0.0.1:{args.port}")
    if args.heartbeat_interval <= 0 or args.dead_after <= 2 * args.heartbeat_interval or args.limit < 1 \
            or args.window <= 0:
        parser.error("need --heartbeat-interval > 0, --dead-after > 2 heartbeat intervals, --limit >= 1 "
                     "and --window > 0")
    check(parser, args, [args.port, args.gateway_port, args.registry_port,
                         *range(args.base_port, args.base_port + args.followers + 1)])
    exercises.require("failure-detector")  # the students' edition: no crash is noticed until it is written
    store = KVStore(args)
    run(parser, args, store, KVStoreHandler, f"kvstore: clients use the gateway, http://127.0.0.1:{args.gateway_port}"
        f"\nregistry :{args.registry_port}; coordinator API and picture: http://127.0.0.1:{args.port}",
        KVStorePrompt(store, args.script))


if __name__ == "__main__":
    main()
