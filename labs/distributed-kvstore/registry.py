"""The kvstore's membership registry: heartbeats in; alive, suspect, dead out.

Starts from workshop step 11's registry.py and adds: each member's role; members registered by the
coordinator, and only those (a heartbeat from anyone else, or from a member removed, is refused:
nobody is counted twice); DELETE /members/<name> for a member replaced; and a registry that was not
running (paused) starts the silence clocks again instead of declaring everybody dead.

    python labs/distributed-kvstore/registry.py --port 9200
"""
import argparse
import itertools
import sys
import threading
import time
from collections import deque
from pathlib import Path

# the repository root, and this folder, for `import labs...` and `import routes`
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]
from labs.plumbing.colour import log
from labs.plumbing import flags
from labs.plumbing.jsonhttp import JsonHandler, JsonServer
from labs.plumbing.network import across
import routes

# seconds between two looks at every member's silence; events GET /members returns
CHECK_EVERY, KEEP_EVENTS = 0.2, 50
STATES = ("alive", "suspect", "dead")


class Registry(JsonServer):
    """Who is in the cluster, judged only by how long each member has been silent."""

    def __init__(self, address, suspect_after, dead_after):
        super().__init__(address, Handler)
        self.suspect_after, self.dead_after = suspect_after, dead_after
        # name -> {"name", "role", "port", "pid", "state", "last_heartbeat", "heartbeats"}
        self.members, self.events, self.ids = {}, deque(maxlen=KEEP_EVENTS), itertools.count(1)
        # when check() last looked at every member's silence
        self.lock, self.checked = threading.Lock(), time.monotonic()

    def register(self, name, port, pid, role):
        """The coordinator started a member: it is alive from now on, before its first heartbeat."""
        with self.lock:
            member = self.members[name] = {"name": name, "port": port, "pid": pid, "role": role,
                                           "state": "alive", "last_heartbeat": time.monotonic(),
                                           "heartbeats": 0}
            self.record("joined", member)

    def heartbeat(self, name, pid, role):
        """A member says it is alive: it recovers from suspicion, or rejoins. False if no member has
        that name and pid: the coordinator registers members, so a removed one stays removed."""
        with self.lock:
            member = self.members.get(name)
            if member is None or member["pid"] != pid:
                return False
            event = {"dead": "rejoined", "suspect": "recovered"}.get(member["state"])
            member.update(role=role, state="alive", last_heartbeat=time.monotonic())
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

    def state_after(self, silence):
        """alive, suspect or dead: only the silence decides."""
        # ---- BEGIN students' TODO (failure-detector): from a member's silence to a verdict ----
        # `silence` is how many seconds ago the member's last heartbeat arrived. A short silence
        # means nothing; a longer one, from self.suspect_after seconds, may be a slow member:
        # "suspect" warns, nobody acts; from self.dead_after seconds the member is "dead", and the
        # coordinator repairs the store. Return the word that fits: "alive", "suspect" or "dead" (a
        # silence of exactly a threshold reaches it).
        if silence >= self.dead_after:
            return "dead"
        if silence >= self.suspect_after:
            return "suspect"
        return "alive"
        # ---- END students' TODO ----

    def check(self):
        """Turn each member's silence into its state (None: no verdict, it stays); record each
        change. After a gap longer than suspect_after, we were paused: clocks start again."""
        now = time.monotonic()
        with self.lock:
            if now - self.checked > max(self.suspect_after, 5 * CHECK_EVERY):
                log(f"paused {now - self.checked:.1f} s: the clocks start again")
                for member in [m for m in self.members.values() if m["state"] == "alive"]:
                    member["last_heartbeat"] = now
            self.checked = now
            for member in self.members.values():
                state = self.state_after(now - member["last_heartbeat"])
                if state not in (None, member["state"]):
                    member["state"] = state
                    self.record(state, member, now - member["last_heartbeat"])

    def record(self, event, member, silence=None):
        """Keep one event, and print it as one line. The caller holds the lock."""
        self.events.append({"id": next(self.ids), "time": time.strftime("%H:%M:%S"), "event": event,
                            "member": member["name"], **{k: member[k] for k in ("role", "port")}})
        log(f" {event:<10} {member['role']:<9} {member['name']:<12} :{member['port']:<5} "
            f"pid {member['pid']}" + ("" if silence is None else f" silent {silence:.1f} s"))

    def view(self):
        """GET /members: every member, its silence, whether it is cut off; the newest events."""
        now = time.monotonic()
        with self.lock:
            members = [dict(m, silence=round(now - m["last_heartbeat"], 1),
                            cut=across(f"127.0.0.1:{m['port']}")) for m in self.members.values()]
            return {"members": members, "events": list(self.events), "dead_after": self.dead_after,
                    "suspect_after": self.suspect_after}

    def watch_forever(self):
        """The failure detector: notice silences even when nobody asks for /members."""
        while True:
            self.check()
            time.sleep(CHECK_EVERY)


class Handler(JsonHandler):
    INTERNAL = ("/register", "/heartbeat", "/members/")
    ROUTES = {("POST", "/register"): routes.register, ("POST", "/heartbeat"): routes.heartbeat,
              ("DELETE", "/members/"): routes.remove, ("GET", "/members"): routes.members,
              ("GET", "/health"): routes.health}

    def log_line(self, status):
        """No line per request: heartbeats, twice a second per member, would drown the events."""


def main():
    parser = argparse.ArgumentParser(
        description="The kvstore's membership registry: heartbeats in, alive/suspect/dead out.",
        epilog="example: python labs/distributed-kvstore/registry.py --port 9200")
    flags.add(parser, "host", "port", "dead-after", port=9200, dead_after=4.0)
    parser.add_argument("--suspect-after", type=flags.finite, default=2.0,
                        help="seconds of silence before a member is suspect (default 2)")
    args = parser.parse_args()
    if not 0 < args.suspect_after < args.dead_after:
        parser.error("need 0 < --suspect-after < --dead-after")

    def make():
        registry = Registry((args.host, args.port), args.suspect_after, args.dead_after)
        threading.Thread(target=registry.watch_forever, daemon=True).start()
        return registry
    flags.serve(parser, args, make, lambda registry: f"registry :{registry.server_port} ready: "
                f"suspect after {args.suspect_after} s, dead after {args.dead_after} s")


if __name__ == "__main__":
    main()
