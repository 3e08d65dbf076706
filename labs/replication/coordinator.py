"""A coordinator for single-leader replication: starts 1 leader and N followers, writes with
quorum W through the leader, reads from R followers and never reports a stale value.

Lab 2. A prompt (put, get, down, up, status, quorum, wait, quit), the /kv API of a node on --port,
GET /status for `--watch` in a second terminal, and commands from a file with --script.

    python labs/replication/coordinator.py --followers 3 --write-quorum 1 --read-quorum 1
"""
import argparse
import itertools
import json
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication.api import CoordinatorServer  # noqa: E402
from labs.replication.display import event_line, print_line, quorum_line, table, watch  # noqa: E402
from labs.replication.prompt import Prompt  # noqa: E402
from labs.scalability import processes  # noqa: E402
from labs.scalability.client import send  # noqa: E402

PERCOLATION_POLL = 0.05  # seconds between two looks at the leader's log for background acks


class Replica:
    """One row of the static leader/follower map: a name, a role, a port, and its process when it runs."""

    def __init__(self, name, role, port):
        self.name, self.role, self.port = name, role, port
        self.process, self.ready = None, False  # ready: running and caught up, so it may serve

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def up(self):
        return self.ready and self.process.poll() is None

    def __str__(self):
        return f"{self.name} :{self.port}"


class Coordinator:
    """Single leader: every write goes to the leader, which replicates it; reads go to R followers."""

    node_script = Path(__file__).with_name("node.py")  # the program every node runs

    def __init__(self, followers=3, write_quorum=None, read_quorum=1, base_port=9001, delay=0.1,
                 replication_delay=0.3, show=print_line):
        self.nodes = [Replica("leader", "leader", base_port)] + \
                     [Replica(f"follower{i}", "follower", base_port + i) for i in range(1, followers + 1)]
        self.write_quorum = followers if write_quorum is None else write_quorum
        self.read_quorum, self.delay, self.replication_delay = read_quorum, delay, replication_delay
        self.show = show  # prints one event line; None keeps events for GET /status only
        self.newest = {}  # key -> (version, deleted) of its newest acknowledged write: what no read may go below
        self.events, self.event_ids, self.lock = deque(maxlen=200), itertools.count(1), threading.Lock()
        self.turn = itertools.count()  # reads start at the next follower each time, round robin

    @property
    def leader(self):
        return self.nodes[0]

    @property
    def followers(self):
        return self.nodes[1:]

    def find(self, name_or_port):
        return next((node for node in self.nodes if name_or_port in (node.name, str(node.port))), None)

    def event(self, kind, text):
        """Record one event for GET /status and show it as one line."""
        event = {"id": next(self.event_ids), "time": time.strftime("%H:%M:%S"), "kind": kind, "text": text}
        with self.lock:
            self.events.append(event)
        if self.show:
            self.show(event_line(event))

    def refuse(self, status, text):
        self.event("refused", text)
        return status, {"error": text}

    # Starting and stopping nodes

    def node_command(self, node):
        """The node.py arguments for one node of the map."""
        args = [self.node_script, "--port", node.port, "--role", node.role, "--delay", self.delay]
        if node.role == "leader":
            args += ["--followers", ",".join(f.address for f in self.followers),
                     "--replication-delay", self.replication_delay]
        return args

    def start(self):
        """Start every node of the map; lab 3 starts more."""
        self.start_nodes(self.nodes)

    def start_nodes(self, nodes):
        """Start the nodes' processes together, wait until each answers, catch it up, mark it up."""
        for node in nodes:
            node.process = processes.start(*self.node_command(node))
        for node in nodes:
            if not processes.wait_healthy(node.address) or node.process.poll() is not None:
                raise RuntimeError(f"{node} did not start (is port {node.port} in use?)")
            self.catch_up(node)
            node.ready = True
            self.event("up", f"{node} is up, pid {node.process.pid}")
            if node.role == "leader":  # writes it was shipping when it stopped never arrived: send them now
                for follower in (follower for follower in self.followers if follower.up):
                    self.catch_up(follower)

    def stop_node(self, node):
        node.ready = False
        processes.stop(node.process)
        self.event("down", f"{node} is down")

    def stop_all(self):
        """On quit, Ctrl-C, SIGTERM or a closed terminal: no node process outlives the coordinator."""
        for node in self.nodes:
            node.ready = False
            if node.process:
                processes.stop(node.process)
        print(f"stopped the {len(self.nodes)} node processes", flush=True)

    def catch_up(self, node):
        """A new process starts empty: replay to it the writes the others hold. Versions make
        replays harmless. A follower learns from the leader; a returning leader from the followers."""
        sources = [source for source in ([self.leader] if node.role == "follower" else self.followers) if source.up]
        applied = 0
        for source in sources:
            status, log = send(source.address, "GET", "/log?since=0")
            if status == 200 and log["entries"]:
                applied += send(node.address, "PUT", "/replicate", {"entries": log["entries"]})[1].get("applied", 0)
        if applied:
            self.event("caught-up", f"{node} applied {applied} writes from the log of "
                                    f"{', '.join(source.name for source in sources)}, in version order")

    # The write path

    def write(self, key, value=None, deleted=False):
        """Send a write to the leader with quorum W; remember its version once acknowledged."""
        alive = [follower for follower in self.followers if follower.up]
        if not self.leader.up:
            return self.refuse(503, f"write {key}: the leader is down, so no write is accepted until it is back up")
        if len(alive) < self.write_quorum:
            return self.refuse(503, f"write {key}: W = {self.write_quorum} follower acks required, "
                                    f"only {len(alive)} followers up")
        started = time.monotonic()
        status, reply = self.send_write(key, value, deleted)
        ms = (time.monotonic() - started) * 1000
        if status not in (200, 201):
            return self.refuse(status or 503, f"write {key}: {reply.get('error', 'no answer from the leader')}")
        what = f"{key} deleted" if deleted else f"{key}={json.dumps(value)}"
        version = reply["version"]
        with self.lock:
            if version > self.newest.get(key, (0, False))[0]:
                self.newest[key] = (version, deleted)
        for address, ack_ms in reply["acks"].items():
            self.event("ack", f"{what} v{version}  leader -> {self.by_address(address)}  {ack_ms} ms")
        self.event("write", f"{what} v{version}  acknowledged by {len(reply['acked'])} of {len(self.followers)} "
                            f"followers (W = {self.write_quorum}) in {ms:.0f} ms")
        pending = [f.address for f in self.followers if f.address not in reply["acks"]]
        if pending:
            threading.Thread(target=self.follow_percolation, args=(what, version, pending), daemon=True).start()
        return status, reply

    def send_write(self, key, value, deleted):
        """The write itself: to the leader, asking for W follower acks."""
        return send(self.leader.address, "DELETE" if deleted else "PUT", f"/kv/{quote(key)}",
                    None if deleted else {"value": value}, {"X-Write-Quorum": str(self.write_quorum)})

    def follow_percolation(self, what, version, pending):
        """Report the acks that arrive after the answer: the write percolating in the background."""
        deadline = time.monotonic() + self.replication_delay * len(self.followers) + 3
        while pending and time.monotonic() < deadline and self.leader.up:
            status, log = send(self.leader.address, "GET", f"/log?since={version - 1}")
            acks = next((entry["acks"] for entry in log.get("entries", []) if entry["version"] == version), {})
            for address in [address for address in pending if address in acks]:
                pending.remove(address)
                if acks[address] is None:
                    self.event("missed", f"{what} v{version}  leader -> {self.by_address(address)}  unreachable: "
                                         f"it catches up when it is back up")
                else:
                    self.event("ack", f"{what} v{version}  leader -> {self.by_address(address)}  "
                                      f"{acks[address]} ms, in the background")
            time.sleep(PERCOLATION_POLL)

    def by_address(self, address):
        return next((node for node in self.nodes if node.address == address), address)

    # The read path

    def read(self, key):
        """Ask R followers; answer with the newest version, never one older than the newest acknowledged write."""
        alive = [follower for follower in self.followers if follower.up]
        if len(alive) < self.read_quorum:
            return self.refuse(503, f"read {key}: R = {self.read_quorum} followers required, only {len(alive)} up")
        first = next(self.turn) % len(alive)
        asked = (alive[first:] + alive[:first])[:self.read_quorum]
        started = time.monotonic()
        with ThreadPoolExecutor(len(asked)) as pool:
            replies = list(pool.map(lambda node: (node, *send(node.address, "GET", f"/kv/{quote(key)}")), asked))
        newest = self.newest.get(key, (0, False))[0]
        fresh = [answer for answer in replies if self.is_fresh(key, answer)]
        for node, status, reply in (answer for answer in replies if answer not in fresh):
            if status in (200, 404):
                self.event("stale", f"{key}  {node} answered {self.describe(status, reply)}, older than the "
                                    f"acknowledged v{newest}: not reported")
            else:
                self.event("missed", f"{key}  {node} did not answer: {reply.get('error', status)}")
        for node in [node for node in alive if node not in asked] + [self.leader]:
            if fresh or not node.up:
                continue
            answer = (node, *send(node.address, "GET", f"/kv/{quote(key)}"))
            if self.is_fresh(key, answer):
                fresh.append(answer)
                self.event("read", f"{key}  asked {node} instead: it is fresh")
        if not fresh:
            return self.refuse(503, f"read {key}: no replica that is up holds v{newest}, the newest acknowledged write")
        node, status, reply = max(fresh, key=lambda answer: answer[2].get("version", 0))
        served_by = ", ".join(str(node) for node, _, _ in fresh)
        self.event("read", f"{key}  {self.describe(status, reply)}  from {served_by} (R = {self.read_quorum}) "
                           f"in {(time.monotonic() - started) * 1000:.0f} ms")
        return status, dict(reply, node="coordinator", served_by=[node.name for node, _, _ in fresh])

    def is_fresh(self, key, answer):
        """A reply at least as new as the newest acknowledged write of key (not found is fresh after a delete)."""
        _, status, reply = answer
        version, deleted = self.newest.get(key, (0, False))
        if status == 200:
            return reply["version"] >= version
        return status == 404 and (deleted or version == 0)

    @staticmethod
    def describe(status, reply):
        if status == 200:
            return f"{json.dumps(reply['value'])} v{reply['version']}"
        return "not found" if status == 404 else f"no answer ({reply.get('error', status)})"

    def keys(self):
        """GET /kv: the keys, from the leader, or from a follower while the leader is down."""
        node = next((node for node in self.nodes if node.up), None)
        return send(node.address, "GET", "/kv") if node else (503, {"error": "every node is down"})

    def status(self):
        """GET /status: the settings, every node with its numbers, the recent events."""
        nodes = []
        for node in self.nodes:
            row = {"name": node.name, "role": node.role, "port": node.port, "up": node.up,
                   "pid": node.process.pid if node.up else None}
            code, health = send(node.address, "GET", "/health") if node.up else (0, {})
            if code == 200:
                row.update({field: health[field] for field in ("keys", "version", "writes", "reads")})
            nodes.append(row)
        with self.lock:
            events = list(self.events)
        return {"followers": len(self.followers), "write_quorum": self.write_quorum, "read_quorum": self.read_quorum,
                "replication_delay": self.replication_delay, "nodes": nodes, "events": events}


STRATEGIES = {"single-leader": Coordinator}


def arguments(description, examples, port, base_port):
    """The coordinator's flags, with example commands for --help; lab 3's coordinator adds its own."""
    parser = argparse.ArgumentParser(description=description, epilog="examples:\n  " + "\n  ".join(examples),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replication", choices=sorted(STRATEGIES), default="single-leader",
                        help="replication strategy (default single-leader)")
    parser.add_argument("--followers", type=int, default=3, help="N, the number of followers (default 3)")
    parser.add_argument("--write-quorum", type=int, help="W, follower acks a write waits for (default N)")
    parser.add_argument("--read-quorum", type=int, default=1, help="R, followers a read asks (default 1)")
    parser.add_argument("--host", default="127.0.0.1", help="address of the coordinator's API (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=port, help=f"port of the coordinator's API (default {port})")
    parser.add_argument("--base-port", type=int, default=base_port,
                        help=f"the leader's port, followers next (default {base_port})")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per node request (default 0.1)")
    parser.add_argument("--replication-delay", type=float, default=0.3,
                        help="seconds before follower 1 gets a write, 2x for follower 2, ... (default 0.3)")
    parser.add_argument("--script", type=argparse.FileType("r"), help="run the commands in this file, then quit")
    parser.add_argument("--watch", action="store_true", help="only watch the coordinator on --port, live")
    return parser


def check(parser, args, *more_ports):
    """Impossible settings or a port in use: one clear line and exit code 2. W defaults to N."""
    n = args.followers
    args.write_quorum = n if args.write_quorum is None else args.write_quorum
    if n < 1 or not 0 <= args.write_quorum <= n or not 1 <= args.read_quorum <= n:
        parser.error(f"need --followers >= 1, 0 <= --write-quorum <= {n} and 1 <= --read-quorum <= {n}")
    if args.delay < 0 or args.replication_delay < 0 or not 0 < args.base_port <= 65535 - n:
        parser.error("the delays must not be negative and --base-port must leave room for the nodes")
    ports = [args.port, *more_ports, *range(args.base_port, args.base_port + n + 1)]
    if len(set(ports)) < len(ports):
        parser.error(f"two of these ports are the same: {', '.join(map(str, ports))}")
    taken = [port for port in ports if not processes.port_free(port)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use (is another coordinator still running?)\n")


def run(coordinator, server, banner, prompt):
    """Serve the API, start the processes, show the table, run the prompt; stop every process however it ends."""
    processes.stop_on_signals()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        coordinator.start()
        status = coordinator.status()
        print("\n".join([banner, quorum_line(status), *table(status)]), flush=True)
        prompt.cmdloop()
    except KeyboardInterrupt:
        print()
    except RuntimeError as error:
        print(error, flush=True)
    finally:
        coordinator.stop_all()
        server.server_close()


def main():
    parser = arguments("Start 1 leader and N followers; write with quorum W, read with quorum R, never report a "
                       "stale value.", ["python labs/replication/coordinator.py --followers 3 --write-quorum 1 "
                                        "--read-quorum 1", "python labs/replication/coordinator.py --watch"],
                       port=9000, base_port=9001)
    args = parser.parse_args()
    if args.watch:
        return watch(f"127.0.0.1:{args.port}")
    check(parser, args)
    coordinator = STRATEGIES[args.replication](args.followers, args.write_quorum, args.read_quorum, args.base_port,
                                               args.delay, args.replication_delay)
    try:
        server = CoordinatorServer(args.host, args.port, coordinator)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    run(coordinator, server, f"{args.replication}: {coordinator.leader} replicates to "
                             f"{', '.join(map(str, coordinator.followers))}; coordinator API on "
                             f"http://{args.host}:{args.port}", Prompt(coordinator, args.script))


if __name__ == "__main__":
    main()
