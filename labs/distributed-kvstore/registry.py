"""The kvstore's membership registry: heartbeats in; alive, suspect, dead out.

Starts from workshop step 11's registry.py and adds: each member's role (leader, follower, gateway);
members registered by the coordinator, and only those (a heartbeat from anyone else, or from a
member removed, is refused: nobody is counted twice); DELETE /members/<name> for a member replaced;
and a registry that was not running (paused) starts its members' silence clocks again instead of
declaring them dead. GET /members says too which members are across a partition.

    python labs/distributed-kvstore/registry.py --port 9200
"""
import argparse
import itertools
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.boundary import exercise
from labs.plumbing.flags import finite, port
from labs.plumbing.jsonhttp import BadRequest, JsonHandler, JsonServer
from labs.plumbing.network import across

# seconds between two looks at every member's silence
CHECK_EVERY = 0.2
# GET /members returns this many of the newest events
KEEP_EVENTS = 50
STATES = ("alive", "suspect", "dead")


class Registry(JsonServer):
    """Who is in the cluster, judged only by how long each member has been silent."""

    def __init__(self, address, suspect_after, dead_after):
        super().__init__(address, Handler)
        self.suspect_after, self.dead_after = suspect_after, dead_after
        # name -> {"name", "role", "port", "pid", "state", "last_heartbeat", "heartbeats"}
        self.members, self.events, self.ids = {}, deque(maxlen=KEEP_EVENTS), itertools.count(1)
        self.lock = threading.Lock()
        # when check() last looked at every member's silence
        self.checked = time.monotonic()

    def register(self, name, port, pid, role):
        """The coordinator started a member: it is alive from now on, before its first heartbeat."""
        with self.lock:
            member = self.members[name] = {"name": name, "heartbeats": 0}
            member.update(port=port, pid=pid, role=role, state="alive", last_heartbeat=time.monotonic())
            self.record("joined", member)

    def heartbeat(self, name, port, pid, role):
        """A member says it is alive: it recovers from suspicion, or rejoins after being dead. False
        if no member has that name: the coordinator registers members, so a removed one stays
        removed."""
        with self.lock:
            member = self.members.get(name)
            if member is None or member["pid"] != pid:
                return False
            event = {"dead": "rejoined", "suspect": "recovered"}.get(member["state"])
            member.update(port=port, role=role, state="alive", last_heartbeat=time.monotonic())
            member["heartbeats"] += 1
            if event:
                self.record(event, member)
            return True

    def remove(self, name):
        """Forget a member (the coordinator replaced it); False if there is none of that name."""
        with self.lock:
            member = self.members.pop(name, None)
            if member:
                self.record("removed", member)
        return member is not None

    @exercise("failure-detector", valid=lambda answer: answer in STATES, safe=None)
    def state_after(self, silence):
        """alive, suspect or dead: only the silence decides."""
        # ---- BEGIN students' TODO (failure-detector): from a member's silence to a verdict ----
        # `silence` is how many seconds ago the member's last heartbeat arrived. A short silence
        # means nothing; a longer one, from self.suspect_after seconds, may be a slow member:
        # "suspect" warns, nobody acts; from self.dead_after seconds the member is "dead", and the
        # coordinator repairs the store. Return the word that fits the silence: "alive", "suspect"
        # or "dead" (a silence of exactly a threshold reaches it).
        if silence >= self.dead_after:
            return "dead"
        if silence >= self.suspect_after:
            return "suspect"
        return "alive"
        # ---- END students' TODO ----

    def check(self):
        """Turn each member's silence into its state (None from state_after: no verdict, the state
        stays); record every change. After a gap longer than suspect_after we were not running
        (paused): that silence is ours, so each alive member's clock starts again."""
        now = time.monotonic()
        with self.lock:
            if now - self.checked > self.suspect_after:
                print(f"{time.strftime('%H:%M:%S')} paused {now - self.checked:.1f} s: clocks restart", flush=True)
                for member in [member for member in self.members.values() if member["state"] == "alive"]:
                    member["last_heartbeat"] = now
            self.checked = now
            for member in self.members.values():
                state = self.state_after(now - member["last_heartbeat"])
                if state not in (None, member["state"]):
                    member["state"] = state
                    self.record(state, member, now - member["last_heartbeat"])

    def record(self, event, member, silence=None):
        """Keep one event and print it as one line (a state with the silence it came from). The
        caller holds the lock."""
        self.events.append({"id": next(self.ids), "time": time.strftime("%H:%M:%S"), "event": event,
                            "member": member["name"], "role": member["role"], "port": member["port"]})
        print(f"{time.strftime('%H:%M:%S')}  {event:<10} {member['role']:<9} {member['name']:<12} "
              f":{member['port']:<5} pid {member['pid']}" + ("" if silence is None else f" silent {silence:.1f} s")
              + "\n", end="", flush=True)

    def view(self):
        """What GET /members answers: every member with its silence, and the newest events."""
        now = time.monotonic()
        with self.lock:
            return {"members": [{"name": m["name"], "role": m["role"], "port": m["port"], "pid": m["pid"],
                                 "state": m["state"], "silence": round(now - m["last_heartbeat"], 1),
                                 "heartbeats": m["heartbeats"], "cut": across(f"127.0.0.1:{m['port']}")}
                                for m in self.members.values()],
                    "events": list(self.events), "suspect_after": self.suspect_after, "dead_after": self.dead_after}

    def watch_forever(self):
        """The failure detector: notice silences even when nobody asks for /members."""
        while True:
            self.check()
            time.sleep(CHECK_EVERY)


class Handler(JsonHandler):
    """POST /register and /heartbeat, DELETE /members/<name>: this run's processes only. GET
    /members and /health: anyone."""

    INTERNAL = ("/register", "/heartbeat", "/members/")
    EXAMPLE = '{"name": "follower1", "port": 9102, "pid": 1234, "role": "follower"}'

    def member(self):
        """(name, port, pid, role) from a body like EXAMPLE."""
        body = self.read_json(self.EXAMPLE, needs=["name", "port", "pid", "role"])
        if not (isinstance(body["name"], str) and body["name"] and type(body["port"]) is int
                and type(body["pid"]) is int and isinstance(body["role"], str)):
            raise BadRequest(400, f"body must be like {self.EXAMPLE}")
        return body["name"][:40], body["port"], body["pid"], body["role"][:20]

    def register(self):
        self.server.register(*self.member())
        return 200, {"status": "ok"}

    def heartbeat(self):
        if not self.server.heartbeat(*self.member()):
            raise BadRequest(404, "not a member: the coordinator registers the processes it starts")
        return 200, {"status": "ok"}

    def remove(self, name):
        if not self.server.remove(name):
            raise BadRequest(404, f"no such member: {name}")
        return 200, {"status": "ok"}

    def members(self):
        return 200, self.server.view()

    def health(self):
        return 200, {"status": "ok", "pid": os.getpid()}

    def log_line(self, status):
        """No line per request: a heartbeat twice a second per member would drown the events."""

    ROUTES = {("POST", "/register"): register, ("POST", "/heartbeat"): heartbeat, ("DELETE", "/members/"): remove,
              ("GET", "/members"): members, ("GET", "/health"): health}


def main():
    parser = argparse.ArgumentParser(
        description="The kvstore's membership registry: heartbeats in, alive/suspect/dead out.",
        epilog="example: python labs/distributed-kvstore/registry.py --port 9200",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=9200, help="port to listen on (default 9200)")
    parser.add_argument("--suspect-after", type=finite, default=2.0, help="seconds of silence (default 2)")
    parser.add_argument("--dead-after", type=finite, default=4.0, help="seconds of silence (default 4)")
    args = parser.parse_args()
    if not 0 < args.suspect_after < args.dead_after:
        parser.error("need 0 < --suspect-after < --dead-after")
    try:
        registry = Registry((args.host, args.port), args.suspect_after, args.dead_after)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    threading.Thread(target=registry.watch_forever, daemon=True).start()
    print(f"registry {args.host}:{registry.server_port} ready: suspect after {args.suspect_after} s "
          f"of silence, dead after {args.dead_after} s", flush=True)
    try:
        registry.serve_forever()
    except KeyboardInterrupt:
        print("registry stopped", flush=True)


if __name__ == "__main__":
    main()
