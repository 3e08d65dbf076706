"""The coordinator's map: each replica's name, role, port and process; starting, stopping, the status.

Lab 2, plumbing of coordinator.py (which holds the lesson: writes with W, reads with R, a node brought
back up) and of lab 3's coordinator. A Replica per row of the static map, launch() to start one (up
once it answers as itself), stop_all() when the coordinator ends, the events it prints, GET /status.
"""
import os
import secrets
import threading
from contextlib import nullcontext

from labs.plumbing import processes
from labs.plumbing.colour import print_line
from labs.plumbing.jsonhttp import send
from labs.replication.display import Events

READ_TIMEOUT = 1.0  # seconds a replica has to answer: a paused one costs a read or a look about this much


class Replica:
    """One row of the static map: a name, a role, a port, and its process when it runs."""

    def __init__(self, name, role, port):
        self.name, self.role, self.port, self.process = name, role, port, None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def up(self):
        """Started, and not exited since."""
        return self.process is not None and self.process.poll() is None

    def __str__(self):
        return f"{self.name} :{self.port}"


class Cluster:
    """The replicas of one coordinator: nodes[0] is the leader, the others its followers."""

    def __init__(self, nodes, logs=None, show=print_line):
        self.nodes, self.logs = nodes, logs  # logs: a folder for each node's output, <name>.log; None: dropped
        self.events, self.lock = Events(show), threading.Lock()
        os.environ.setdefault("LABS_SECRET", secrets.token_hex(16))  # ours and our children's: see jsonhttp

    @property
    def leader(self):
        return self.nodes[0]

    @property
    def followers(self):
        return self.nodes[1:]

    def find(self, name_or_port):
        return next((node for node in self.nodes if name_or_port in (node.name, str(node.port))), None)

    def by_address(self, address):
        return next((node for node in self.nodes if node.address == address), address)

    def event(self, kind, text, data=None):
        """One event line; data (the key, the nodes) is for the browser view."""
        self.events.add(kind, text, data)

    def refuse(self, status, text):
        self.event("refused", text)
        return status, {"error": text}

    def launch(self, node, *more):
        """Start node's process with self.command(node) (it inherits this run's secret), its output in the logs
        folder if there is one; up once it answers with its own pid (not another program on its port)."""
        with open(self.logs / f"{node.name}.log", "w") if self.logs else nullcontext() as log:
            process = processes.start(*self.command(node), *more, log=log)
        if not processes.wait_healthy(node.address, process=process):
            processes.stop(process)
            raise RuntimeError(f"{node} did not start (is port {node.port} in use?)")
        node.process = process  # from now on it counts as up

    def stop_node(self, node):
        processes.stop(node.process)
        self.event("down", f"{node} is down")

    def stop_all(self):
        """On quit, Ctrl-C, SIGTERM or a closed terminal: no node process outlives the coordinator."""
        for node in self.nodes:
            if node.process:
                processes.stop(node.process)
        print(f"stopped the {len(self.nodes)} node processes", flush=True)

    def health(self, node):
        return send(node.address, "GET", "/health", timeout=READ_TIMEOUT)[1] if node.up else {}

    def keys(self):
        """GET /kv: the keys, from the leader, or from a follower while the leader is down."""
        node = next((node for node in self.nodes if node.up), None)
        if node is None:
            return 503, {"error": "every node is down"}
        return send(node.address, "GET", "/kv", timeout=READ_TIMEOUT)

    def status(self):
        """GET /status: every node with its numbers, and the recent events."""
        nodes = []
        for node in self.nodes:
            row = {"name": node.name, "role": node.role, "port": node.port, "up": node.up,
                   "pid": node.process.pid if node.up else None}
            health = self.health(node)
            row.update({field: health[field] for field in ("keys", "version", "epoch", "writes", "reads", "ready")
                        if field in health})
            nodes.append(row)
        return {"followers": len(self.followers), "nodes": nodes, "events": self.events.recent()}


def check(parser, args, ports):
    """Impossible settings or a port in use: one clear line and exit code 2. W defaults to N."""
    n = args.followers
    args.write_quorum = n if args.write_quorum is None else args.write_quorum
    if n < 1 or not 0 <= args.write_quorum <= n or not 1 <= args.read_quorum <= n:
        parser.error(f"need --followers >= 1, 0 <= --write-quorum <= {n} and 1 <= --read-quorum <= {n}")
    if args.delay < 0 or args.replication_delay < 0 or args.base_port + n > 65535:
        parser.error("the delays must not be negative and --base-port must leave room for the nodes")
    if len(set(ports)) < len(ports):
        parser.error(f"two of these ports are the same: {', '.join(map(str, ports))}")
    taken = [port for port in ports if not processes.port_free(port)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use (is another coordinator still running?)\n")
