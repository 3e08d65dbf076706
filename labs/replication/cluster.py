"""A coordinator's processes: the static map of replicas, starting, asking and stopping them, its events,
and its HTTP face (GET /status for the wall, GET / for the page; lab 2 adds /kv).

Lab 2, not a lesson: what coordinator.py and lab 3's coordinator use. Each child's output goes to
logs/<name>.log; a line from the boundary around students' code also becomes an event.
"""
import os
import secrets
import subprocess
import threading
from pathlib import Path

from labs.plumbing import processes
from labs.plumbing.jsonhttp import JsonHandler, JsonServer
from labs.plumbing.network import send
from labs.replication.display import NUMBERS, Events

PAGE = Path(__file__).parents[1] / "plumbing" / "cluster.html"
# seconds a replica has to answer the coordinator: a paused one costs a status or a look about this much
ASK_TIMEOUT = 1.0


class Replica:
    """One row of the map: a name, a role, a port, and its process once started."""

    def __init__(self, name, role, port):
        self.name, self.role, self.port, self.process = name, role, port, None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def up(self):
        """Started, and its process still runs (running says nothing of answering: it may be paused)."""
        return self.process is not None and self.process.poll() is None

    def __str__(self):
        return f"{self.name} :{self.port}"


class Cluster:
    """The processes of one coordinator: nodes[0] is the leader, the others its followers."""

    def __init__(self, nodes, logs, show):
        self.nodes, self.logs, self.events, self.lock = nodes, logs, Events(show), threading.Lock()
        # ours and our children's: internal routes answer only this run (see jsonhttp)
        os.environ.setdefault("LABS_SECRET", secrets.token_hex(16))

    @property
    def leader(self):
        return self.nodes[0]

    @property
    def followers(self):
        return self.nodes[1:]

    def find(self, name_or_port):
        return next((node for node in self.nodes if name_or_port in (node.name, str(node.port))), None)

    def name_of(self, address):
        return next((node.name for node in self.nodes if node.address == address), address)

    def event(self, kind, text, data=None):
        self.events.add(kind, text, data)

    def news(self, kind, text):
        """An event that may come again and again (a failure said on every try): counted, not repeated."""
        self.events.add(kind, text, counted=True)

    def launch(self, node, command):
        """Start node's process with command; up once it answers as itself, not another program on its port."""
        process = processes.start(*command, log=subprocess.PIPE)
        threading.Thread(target=self.relay, args=(process, node.name), daemon=True).start()
        if not processes.wait_healthy(node.address, process=process):
            processes.stop(process)
            raise RuntimeError(f"{node} did not start (is port {node.port} in use?)")
        node.process = process

    def relay(self, process, name):
        with open(self.logs / f"{name}.log", "w", encoding="utf-8") as log:
            for line in process.stdout:
                text = line.decode(errors="replace")
                log.write(text)
                log.flush()
                # "exercise NAME: FUNCTION ..." -> "FUNCTION ...", "to write: NAME, FUNCTION in FILE; CHECK" ->
                # "write FUNCTION in FILE; CHECK": the function names the exercise, and the line fits 80 columns
                if text.startswith("exercise "):
                    self.news("exercise", text.strip().partition(": ")[2])
                elif text.startswith("to write: "):
                    self.news("exercise", "write " + text.strip().partition(", ")[2])

    def stop(self, node):
        processes.stop(node.process)

    def stop_all(self, others=()):
        """On quit, Ctrl-C, SIGTERM or a closed terminal: no process outlives the coordinator."""
        for node in [*self.nodes, *others]:
            if node.process:
                processes.stop(node.process)
        if self.events.show:
            self.events.show(f"stopped the {len(self.nodes) + len(others)} processes")

    def health(self, node):
        return send(node.address, "GET", "/health", timeout=ASK_TIMEOUT)[1] if node.up else {}

    def rows(self):
        rows = []
        for node in self.nodes:
            health = self.health(node)
            rows.append({"name": node.name, "role": node.role, "port": node.port, "up": node.up,
                         "pid": node.process.pid if node.up else None,
                         **{field: health[field] for field in (*NUMBERS, "ready") if field in health}})
        return rows


class StatusHandler(JsonHandler):
    """A coordinator's HTTP face: GET / (the page), GET /status."""

    def page(self):
        self.send_body(200, PAGE.read_bytes(), "text/html; charset=utf-8", {"Cache-Control": "no-cache"})

    def status(self):
        return 200, self.server.coordinator.status()

    def log_line(self, status):
        """No line per request: the coordinator's terminal is its prompt."""

    ROUTES = {("GET", "/"): page, ("GET", "/status"): status, ("GET", "/health"): status}


class KVHandler(StatusHandler):
    """Lab 2's coordinator: also /kv, as one node has it; behind it, the FrontDoor."""

    def keys(self):
        status, reply = send(self.server.coordinator.front_door.leader, "GET", "/kv")
        return status or 503, reply

    def read(self, key):
        return self.server.coordinator.read(key)

    def write(self, key):
        return self.server.coordinator.write(key, self.read_json('{"value": 42}', needs=["value"])["value"])

    def delete(self, key):
        return self.server.coordinator.write(key, deleted=True)

    ROUTES = {**StatusHandler.ROUTES, ("GET", "/kv"): keys, ("GET", "/kv/"): read, ("PUT", "/kv/"): write,
              ("DELETE", "/kv/"): delete}


class CoordinatorServer(JsonServer):
    def __init__(self, address, handler, coordinator):
        super().__init__(address, handler)
        self.coordinator = coordinator


def check(parser, args, ports):
    """Impossible settings or a port in use: one clear line and exit code 2. W defaults to N."""
    n = args.followers
    args.write_quorum = n if args.write_quorum is None else args.write_quorum
    if n < 1 or not 0 <= args.write_quorum <= n or not 1 <= args.read_quorum <= n:
        parser.error(f"need --followers >= 1, 0 <= --write-quorum <= {n} and 1 <= --read-quorum <= {n}")
    if args.base_port + n > 65535:
        parser.error("--base-port must leave room for the nodes")
    if len(set(ports)) < len(ports):
        parser.error(f"two of these ports are the same: {', '.join(map(str, ports))}")
    taken = [port for port in ports if not processes.port_free(port)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use (is another coordinator still running?)\n")
