"""The kvstore coordinator: lab 2's coordinator, plus a registry, a gateway and self-repair.

Lab 3. Subclasses labs/replication/coordinator.py. Starts the registry, the leader, N followers
and the gateway, and registers each; every put and get goes through the gateway. When the registry
reports a follower dead, it starts a replacement on a new port, runs catchup.py on it, and only then
lets it serve reads. `kill NODE` crashes a node (kill -9) for the demo.

    python labs/distributed-kvstore/coordinator.py --followers 3 --write-quorum 2 --read-quorum 1
"""
import json
import sys
import threading
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication import display  # noqa: E402
from labs.replication.api import CoordinatorHandler, CoordinatorServer  # noqa: E402
from labs.replication.coordinator import Coordinator, Replica, arguments, check, run  # noqa: E402
from labs.replication.prompt import Prompt  # noqa: E402
from labs.scalability import processes  # noqa: E402
from labs.scalability.client import send  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES as BALANCERS  # noqa: E402
from labs.scalability.rate_limiter import STRATEGIES as LIMITERS  # noqa: E402
from catchup import CatchUpFailed, catch_up  # noqa: E402  (catchup.py, beside this file)

HERE = Path(__file__).resolve().parent
GATEWAY_LOG = HERE / "gateway.log"  # the gateway's log, for its own terminal: tail -f labs/distributed-kvstore/gateway.log
display.COLOURS.update({"suspect": "yellow", "dead": "red", "killed": "red", "replace": "yellow",
                        "joined": "green", "rejoined": "green", "recovered": "green", "registered": "green"})


class KVStore(Coordinator):
    """Lab 2's single leader and followers, behind a gateway, watched by a registry, repairing itself."""

    node_script = HERE / "node.py"

    def __init__(self, args):
        super().__init__(args.followers, args.write_quorum, args.read_quorum, args.base_port, args.delay,
                         args.replication_delay)
        self.args = args
        self.registry = Replica("registry", "registry", args.registry_port)
        self.gateway = Replica("gateway", "gateway", args.gateway_port)
        self.next_port = args.base_port + args.followers + 1  # a replacement gets a port never used before
        self.next_number = args.followers + 1
        self.replaced = {}  # name of a dead follower -> name of its replacement
        self.repairing = threading.Lock()  # one replacement at a time: each sets the follower lists in turn

    # Starting: registry first (nodes send it heartbeats), then lab 2's nodes, then the gateway in front

    def start(self):
        interval, dead_after = self.args.heartbeat_interval, self.args.dead_after
        self.start_service(self.registry, HERE / "registry.py", "--notify", self.args.port,
                           "--suspect-after", dead_after / 2, "--dead-after", dead_after)
        self.start_nodes(self.nodes)
        limits = ["--rate-limit", self.args.rate_limit, "--limit", self.args.limit, "--window", self.args.window] \
            if self.args.rate_limit else []
        self.start_service(self.gateway, HERE / "gateway.py", "--leader", self.leader.address,
                           "--followers", self.serving(), "--write-quorum", self.write_quorum,
                           "--read-quorum", self.read_quorum, "--load-balance", self.args.load_balance, *limits,
                           "--registry", self.registry.address, "--heartbeat-interval", interval, "--name", "gateway",
                           log=open(GATEWAY_LOG, "w"))
        self.register(self.gateway)

    def start_service(self, service, script, *args, log=None):
        service.process = processes.start(script, "--port", service.port, *args, log=log)
        if not processes.wait_healthy(service.address) or service.process.poll() is not None:
            raise RuntimeError(f"{service} did not start (is port {service.port} in use?)")
        service.ready = True
        self.event("up", f"{service} is up, pid {service.process.pid}")

    def node_command(self, node):
        return [*super().node_command(node), "--name", node.name, "--registry", self.registry.address,
                "--heartbeat-interval", self.args.heartbeat_interval]

    def start_nodes(self, nodes):
        super().start_nodes(nodes)
        for node in nodes:
            self.register(node)

    def register(self, node):
        """Tell the registry about a process we started: it is a member before its first heartbeat."""
        send(self.registry.address, "POST", "/register",
             {"name": node.name, "port": node.port, "pid": node.process.pid, "role": node.role})

    def stop_all(self):
        for service in (self.gateway, self.registry):
            if service.process:
                processes.stop(service.process)
        print("stopped the gateway and the registry", flush=True)
        super().stop_all()

    # Every put and get goes through the gateway, like any client's

    def send_write(self, key, value, deleted):
        status, reply = send(self.gateway.address, "DELETE" if deleted else "PUT", f"/kv/{quote(key)}",
                             None if deleted else {"value": value}, {"X-Client-Id": "coordinator"})
        return (status, reply) if status else (503, {"error": f"the gateway does not answer ({reply['error']})"})

    def read(self, key):
        status, reply = send(self.gateway.address, "GET", f"/kv/{quote(key)}", headers={"X-Client-Id": "coordinator"})
        if status == 0:
            return self.refuse(503, f"read {key}: the gateway does not answer ({reply['error']})")
        if status not in (200, 404):
            return self.refuse(status, f"read {key}: {reply.get('error', status)}")
        served_by = self.by_address(reply.get("node", "?"))
        why = " (the follower asked was behind, or down: the gateway asked the leader)" if served_by is self.leader else ""
        self.event("read", f"{key}  {self.describe(status, reply)}  through the gateway, from {served_by}{why}")
        return status, reply

    # Self-repair: the registry's news, a replacement, catch-up

    def membership(self, news):
        """The registry reports an event; a dead follower gets a replacement."""
        self.event(news["event"], f"{news['member']} :{news['port']} ({news['role']}), says the registry")
        follower = self.find(news["member"])
        if news["event"] == "dead" and follower in self.followers:
            threading.Thread(target=self.replace_one_at_a_time, args=(follower,), daemon=True).start()
        elif news["event"] == "dead":
            again = "`up leader` restarts it" if news["role"] == "leader" else "quit and start the store again"
            self.event("dead", f"{news['member']} is not replaced automatically: {again}")

    def replace_one_at_a_time(self, dead):
        with self.repairing:
            self.replace(dead)

    def replace(self, dead):
        """Retire the dead follower, start a new one on a new port, catch it up, then let it serve reads."""
        with self.lock:
            if dead not in self.nodes:
                return  # already replaced
            self.nodes.remove(dead)
            new = Replica(f"follower{self.next_number}", "follower", self.next_port)
            self.nodes.append(new)
            self.replaced[dead.name] = new.name
            self.next_number, self.next_port = self.next_number + 1, self.next_port + 1
        processes.stop(dead.process)  # it may be frozen rather than gone: make sure
        self.tell_followers()  # no more reads for it, no more writes shipped to it
        self.event("replace", f"{dead} is dead: starting {new} to take its place")
        try:
            self.start_nodes([new])  # lab 2's start, with our catch_up below
        except RuntimeError as error:  # the store stays one follower short, and says so
            if new.process:
                processes.stop(new.process)
            with self.lock:
                self.nodes.remove(new)
            return self.event("refused", f"replacement failed: {error}")
        self.tell_followers()
        send(self.registry.address, "DELETE", f"/members/{dead.name}")
        self.event("up", f"{new} serves reads now, in place of {dead}")

    def catch_up(self, node):
        """A follower gets the leader's snapshot and the writes during the copy (catchup.py)."""
        if node.role != "follower" or not self.leader.up:
            return super().catch_up(node)
        followers = [f.address for f in self.followers if f.up or f is node]
        try:
            done = catch_up(self.leader.address, node.address, followers)
        except CatchUpFailed as error:
            raise RuntimeError(f"{node} could not catch up: {error}")
        if done["keys"] or done["replayed"]:
            self.event("caught-up", f"{node}: snapshot of {done['keys']} keys (v{done['snapshot_version']}), "
                                    f"{done['replayed']} writes during the copy, now at v{done['version']}, "
                                    f"in {done['seconds'] * 1000:.0f} ms")

    def service(self, name_or_port):
        """The gateway or the registry, by name or port; None if it is neither."""
        return next((s for s in (self.gateway, self.registry) if name_or_port in (s.name, str(s.port))), None)

    def serving(self):
        """The followers that may serve reads: up and caught up."""
        return ",".join(f.address for f in self.followers if f.up)

    def tell_followers(self):
        """The leader ships writes to, and the gateway reads from, the followers that are up."""
        followers = [f.address for f in self.followers if f.up]
        for node in (self.leader, self.gateway):
            if node.up:
                send(node.address, "PUT", "/followers", {"followers": followers})

    def status(self):
        status = super().status()
        status["nodes"] += [{"name": s.name, "role": s.role, "port": s.port, "up": s.up,
                             "pid": s.process.pid if s.up else None} for s in (self.gateway, self.registry)]
        return dict(status, stale_check="the gateway")


class KVStoreHandler(CoordinatorHandler):
    """Lab 2's coordinator API, plus POST /membership: the registry's news."""

    def do_request(self):
        if self.path == "/membership" and self.command == "POST":
            self.server.coordinator.membership(json.loads(self.read_body()))
            return self.send_json(200, {"status": "ok"})
        super().do_request()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_request


class KVStorePrompt(Prompt):
    PROMPT = "kvstore> "
    intro = "commands: put KEY VALUE, get KEY, kill NODE, down NODE, up NODE, status, wait SECONDS, help, quit"

    def node(self, arg):
        """Lab 2's lookup, which also says what became of a replaced follower, and of gateway and registry."""
        name = arg.strip()
        if name in self.coordinator.replaced:
            return print(f"{name} was declared dead and replaced by {self.coordinator.replaced[name]}", flush=True)
        if self.coordinator.service(name):
            return print(f"{name} starts and stops with the store; `kill {name}` crashes it", flush=True)
        return super().node(arg)

    def do_kill(self, arg):
        """kill NODE: crash that node's process (kill -9): no goodbye, the registry only notices the silence."""
        if not arg.strip():
            return print("usage: kill NODE, like kill follower2 (also: kill gateway, kill registry)", flush=True)
        node = self.coordinator.service(arg.strip()) or self.node(arg)
        if node and node.process and node.process.poll() is None:
            node.process.kill()
            self.coordinator.event("killed", f"{node} (pid {node.process.pid}) crashed: kill -9")
        elif node:
            print(f"{node} is not running", flush=True)

    def do_quorum(self, arg):
        """quorum: W and R are the gateway's settings here; restart with --write-quorum and --read-quorum."""
        print(self.do_quorum.__doc__.split(": ", 1)[1], flush=True)


def main():
    parser = arguments("Start the whole kvstore: registry, gateway, 1 leader and N followers; repair it when a "
                       "follower dies.", ["python labs/distributed-kvstore/coordinator.py --followers 3 "
                                          "--write-quorum 2 --read-quorum 1", "python labs/distributed-kvstore/"
                                          "coordinator.py --watch"], port=9100, base_port=9101)
    parser.add_argument("--gateway-port", type=int, default=8080, help="the gateway's port (default 8080)")
    parser.add_argument("--registry-port", type=int, default=9200, help="the registry's port (default 9200)")
    parser.add_argument("--heartbeat-interval", type=float, default=0.5, help="seconds between heartbeats (default 0.5)")
    parser.add_argument("--dead-after", type=float, default=3.0,
                        help="seconds of silence before the registry declares a member dead (default 3)")
    parser.add_argument("--load-balance", choices=sorted(BALANCERS), default="round-robin",
                        help="the gateway's strategy for reads (default round-robin)")
    parser.add_argument("--rate-limit", choices=sorted(LIMITERS), help="the gateway limits each client's requests")
    parser.add_argument("--limit", type=int, default=5, help="requests per client per window (default 5)")
    parser.add_argument("--window", type=float, default=1.0, help="rate limit window in seconds (default 1)")
    args = parser.parse_args()
    if args.watch:
        return display.watch(f"127.0.0.1:{args.port}")
    if args.heartbeat_interval <= 0 or args.dead_after <= 2 * args.heartbeat_interval or args.limit < 1 \
            or args.window <= 0:
        parser.error("need --heartbeat-interval > 0, --dead-after > 2 heartbeat intervals, --limit >= 1 "
                     "and --window > 0")
    check(parser, args, args.gateway_port, args.registry_port)
    store = KVStore(args)
    try:
        server = CoordinatorServer(args.host, args.port, store)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    server.RequestHandlerClass = KVStoreHandler
    run(store, server, f"kvstore: clients talk to the gateway on http://127.0.0.1:{args.gateway_port}; registry on "
                       f":{args.registry_port}; coordinator API on :{args.port}", KVStorePrompt(store, args.script))


if __name__ == "__main__":
    main()
