"""Store: one whole lab 3 kvstore for a test, started by its coordinator on free ports, its prompt on stdin,
stopped when the test ends; and what a test asks of it (the coordinator's status, the registry, the nodes, the logs)."""
import re
import secrets
import subprocess

from tests.helpers import free_block, free_port, http, logs_folder, output, start, wait_printed, wait_until

LAB = "labs/distributed-kvstore"
# fast failure detection: a member silent for 1 s is dead (5 missed heartbeats); writes replicate at once
FAST = ["--delay", 0, "--replication-delay", 0.05, "--heartbeat-interval", 0.2, "--dead-after", 1.0]
# a line of lab 1's log, printed for every request a node answers: "09:20:21 PUT    /replicate     200 ..."
REQUEST = re.compile(r"^\d\d:\d\d:\d\d (GET|PUT|POST|DELETE) +(\S+)", re.M)


class Store:
    """One whole kvstore started by its coordinator with FAST and args, its prompt on stdin; stopped when the test
    ends. The run's secret is ours to know (store.secret): a test can call internal routes as the run's processes do."""

    def __init__(self, test, *args, followers=3):
        self.port, self.gateway_port, self.registry_port = free_port(), free_port(), free_port()
        self.base, self.followers = free_block(followers + 4), followers  # the leader, the followers, replacements
        self.logs = logs_folder(test)
        self.secret = secrets.token_hex(8)
        self.process = start(test, f"{LAB}/coordinator.py", "--followers", followers, "--port", self.port,
                             "--gateway-port", self.gateway_port, "--registry-port", self.registry_port,
                             "--base-port", self.base, "--logs", self.logs, *FAST, *args, stdin=subprocess.PIPE,
                             env={"LABS_SECRET": self.secret})
        self.gateway = f"http://127.0.0.1:{self.gateway_port}"
        self.registry = f"http://127.0.0.1:{self.registry_port}"
        wait_until(self.started, 30, "the whole store to start")

    def started(self):
        """True once the gateway is up; a coordinator that gave up fails the test with its own words."""
        if self.process.poll() is not None:
            raise AssertionError(f"the coordinator ended: {output(self.process)[-600:]}")
        return self.node("gateway").get("up")

    def status(self):
        status, body, _ = http("GET", f"http://127.0.0.1:{self.port}/status")
        return body if status == 200 else {"nodes": [], "events": [], "cut": []}

    def node(self, name):
        return next((node for node in self.status()["nodes"] if node["name"] == name), {})

    def leader(self):
        """The row of the node that leads now (names stay with processes: after an election it is a follower's)."""
        return next((node for node in self.status()["nodes"] if node["role"] == "leader"), {})

    def whole(self):
        """A leader and all N followers up and ready, none of them catching up."""
        ready = [node["role"] for node in self.status()["nodes"] if node["up"] and node.get("ready")]
        return ready.count("leader") == 1 and ready.count("follower") == self.followers

    def pids(self):
        return {node["name"]: node["pid"] for node in self.status()["nodes"]}

    def event(self, kind, pattern):
        """The first event of that kind whose text matches pattern, else None."""
        return next((e for e in self.status()["events"] if e["kind"] == kind and re.search(pattern, e["text"])), None)

    def members(self):
        """What the registry says now, asked by us (an outsider may read it): name -> its row (state, pid, ...)."""
        status, view, _ = http("GET", f"{self.registry}/members", timeout=3)
        return {member["name"]: member for member in view["members"]} if status == 200 else {}

    def command(self, line):
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def printed(self, pattern, deadline=10):
        wait_printed(self.process, pattern, deadline)

    def put(self, key, value, client="test"):
        return http("PUT", f"{self.gateway}/kv/{key}", {"value": value}, {"X-Client-Id": client})

    def get(self, key, client="test"):
        return http("GET", f"{self.gateway}/kv/{key}", headers={"X-Client-Id": client})

    def logged(self, name, pattern, deadline=5):
        """Wait until <logs>/<name>.log has a line matching pattern (a line comes after the answer it tells of)."""
        return wait_until(lambda: re.search(pattern, (self.logs / f"{name}.log").read_text(), re.M), deadline,
                          f"{pattern!r} in {name}.log")

    def insider(self):
        """The header that makes a request one of this run's processes'."""
        return {"X-Run-Secret": self.secret}

    def port_of(self, name):
        return self.base + (0 if name == "leader" else int(name[len("follower"):]))

    def health(self, name):
        """A node's /health, asked directly by us: the test is on no side of a partition."""
        status, body, _ = http("GET", f"http://127.0.0.1:{self.port_of(name)}/health", timeout=3)
        return body if status == 200 else {}

    def children(self):
        """The pids of the coordinator's child processes, as ps lists them (Linux, macOS)."""
        listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
        return {int(pid) for pid, ppid in (line.split() for line in listing.splitlines())
                if int(ppid) == self.process.pid}

    def replicas(self):
        return ["leader", *(f"follower{number}" for number in range(1, self.followers + 1))]

    def log_size(self, name):
        return (self.logs / f"{name}.log").stat().st_size

    def requests_in_log(self, name, since, until):
        """[(method, path)] of the requests a node answered between two sizes of its log."""
        with open(self.logs / f"{name}.log", "rb") as log:
            log.seek(since)
            return REQUEST.findall(log.read(until - since).decode(errors="replace"))
