"""The kvstore's processes: lab 2's coordinator, with a registry and a gateway; every put and get through it.

Lab 3, plumbing of coordinator.py (which holds the lesson: the repair). Starts the registry first (the
others send it heartbeats), then lab 2's leader and followers (lab 3's node.py: with heartbeats), then
the gateway; registers each member with the registry; tells the gateway where writes and reads go; stops
them all. The prompt's put and get go through the gateway, like any client's.
"""
from pathlib import Path
from urllib.parse import quote

from labs.plumbing import processes
from labs.plumbing.jsonhttp import send
from labs.replication.cluster import READ_TIMEOUT, Replica
from labs.replication.coordinator import Coordinator
from labs.replication.display import said, short

HERE = Path(__file__).resolve().parent


class Store(Coordinator):
    """Lab 2's single leader and followers, behind a gateway, watched by a registry."""

    def __init__(self, args):
        super().__init__(args.followers, args.write_quorum, args.read_quorum, args.base_port, args.delay,
                         args.replication_delay, logs=args.logs)
        self.args = args
        self.registry = Replica("registry", "registry", args.registry_port)
        self.gateway = Replica("gateway", "gateway", args.gateway_port)
        self.told = None  # the routes the gateway last acknowledged
        self.said = set()  # failures said since the store was last whole: see once()

    def exercises(self):
        """The students' exercises this store runs on: the fixed window (at the gateway, if limited), the freshness
        rule, the failure detector."""
        return ["fixed-window"] * bool(self.args.rate_limit) + ["freshness", "failure-detector"]

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
                    "--leader", self.leader.address, "--read-from", ",".join(self.routes()["followers"]) or
                    self.leader.address, "--write-quorum", self.write_quorum, "--read-quorum", self.read_quorum,
                    "--load-balance", self.args.load_balance, *(limits if self.args.rate_limit else [])]
        return [HERE / "node.py", *super().command(member)[1:], *heartbeats]  # lab 2's command, lab 3's node

    def start(self):
        """The registry, lab 2's nodes, each registered, then the gateway."""
        self.start_member(self.registry)
        super().start()
        for node in self.nodes:
            self.register(node)
        self.start_member(self.gateway)

    def start_member(self, member):
        """Start the registry or the gateway as lab 2 starts a node; register it, or tell a new registry everyone."""
        self.launch(member)
        self.event("up", f"{member} is up, pid {member.process.pid}")
        for node in [n for n in self.nodes + [self.gateway] if n.process] if member is self.registry else [member]:
            self.register(node)

    def register(self, member):
        """Tell the registry about a process we started: it is a member before its first heartbeat."""
        send(self.registry.address, "POST", "/register",
             {"name": member.name, "port": member.port, "pid": member.process.pid, "role": member.role},
             timeout=READ_TIMEOUT)

    def once(self, kind, text):
        """An event a failed step would repeat on every pass: said once until the store is whole again."""
        if text not in self.said:
            self.said.add(text)
            self.event(kind, text)

    def restart(self, member):
        """The gateway or the registry, on its own port again (a supervisor's job)."""
        self.once("dead", f"{member} stopped (killed or crashed): restarting it")
        processes.stop(member.process)  # and its pipe
        try:
            self.start_member(member)
        except RuntimeError as error:
            self.once("refused", str(error))

    def stop_all(self):
        for member in (self.gateway, self.registry):
            if member.process:
                processes.stop(member.process)
        print("stopped the gateway and the registry", flush=True)
        super().stop_all()

    def routes(self):
        """Where the gateway sends writes (the leader) and reads (the followers that run), with W and R."""
        return {"leader": self.leader.address, "followers": [f.address for f in self.followers if f.up],
                "write_quorum": self.write_quorum, "read_quorum": self.read_quorum}

    def tell_gateway(self):
        """The gateway hears of a change of routes or quorums, again on later passes until it answers."""
        routes = self.routes()
        if self.told != routes and send(self.gateway.address, "PUT", "/readers", routes, timeout=READ_TIMEOUT)[0] == 200:
            if self.told and (self.told["write_quorum"], self.told["read_quorum"]) != (self.write_quorum,
                                                                                         self.read_quorum):
                self.event("quorum", f"the gateway writes with W = {self.write_quorum}, reads with "
                                     f"R = {self.read_quorum} from now on")
            self.told = routes

    def write(self, key, value=None, deleted=False):
        status, reply = send(self.gateway.address, "DELETE" if deleted else "PUT", f"/kv/{quote(key, safe='')}",
                             None if deleted else {"value": value})
        if status == 501:  # an exercise this store runs on is not written yet: the prompt says which, in a line
            raise NotImplementedError(reply["error"])
        if status not in (200, 201):
            return self.refuse(status or 503, f"write {key}: {reply.get('error', 'the gateway does not answer')}")
        what = f"{key} deleted" if deleted else f"{key}={short(value)}"
        self.event("write", f"{what} v{reply['version']} acked by {len(reply['acks'])} of {len(self.followers)} "
                            f"(W = {self.write_quorum}), via the gateway", {"key": key, "version": reply["version"]})
        return status, reply

    def read(self, key):
        status, reply = send(self.gateway.address, "GET", f"/kv/{quote(key, safe='')}")
        if status == 501:
            raise NotImplementedError(reply["error"])
        if status not in (200, 404):
            return self.refuse(status or 503, f"read {key}: {reply.get('error', 'the gateway does not answer')}")
        served_by = self.by_address(reply.get("node", "?"))
        why = " (followers behind or silent)" if served_by is self.leader else ""
        self.event("read", f"{key} = {said(status, reply)} from {getattr(served_by, 'name', served_by)}"
                           f"{why}, via the gateway", {"key": key, "served_by": [getattr(served_by, "name", "?")]})
        return status, reply

    def status(self):
        status = super().status()
        status["nodes"] += [{"name": m.name, "role": m.role, "port": m.port, "up": m.up,
                             "pid": m.process.pid if m.up else None} for m in (self.gateway, self.registry)]
        return dict(status, stale_check="the gateway")
