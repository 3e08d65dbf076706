"""The kvstore's membership registry: heartbeats in; alive, suspect, dead; news to the coordinator.

Starts from workshop step 11's registry.py and adds: each member's role
(leader, follower, gateway), registration by the coordinator before the first heartbeat,
DELETE /members/<name> for a replaced member, --notify: every event is POSTed to the
coordinator's /membership, so it hears at once when a follower dies; and a registry that was
not running (paused) starts its members' silence clocks again instead of declaring them dead.

    python labs/distributed-kvstore/registry.py --port 9200 --notify 9100
"""
import argparse
import itertools
import sys
import threading
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.exercises import explain  # noqa: E402
from labs.plumbing.flags import finite, parse_nodes, port  # noqa: E402
from labs.plumbing.jsonhttp import JsonServer, send  # noqa: E402
from api import RegistryHandler  # noqa: E402  (api.py, beside this file: the registry's HTTP)

CHECK_EVERY = 0.2  # seconds between two looks at every member's silence
KEEP_EVENTS = 50  # GET /members returns this many of the newest events


class Registry(JsonServer):
    """Who is in the cluster, judged only by how long each member has been silent."""

    def __init__(self, address, suspect_after, dead_after, notify=None):
        super().__init__(address, RegistryHandler)
        self.suspect_after, self.dead_after, self.notify = suspect_after, dead_after, notify
        self.members = {}  # name -> {"name", "role", "port", "pid", "state", "last_heartbeat", "heartbeats"}
        self.events, self.event_ids = deque(maxlen=KEEP_EVENTS), itertools.count(1)
        self.lock = threading.Lock()
        self.unwritten = False  # the students' edition, before the failure detector is written
        self.checked = time.monotonic()  # when check() last looked at every member's silence

    def heartbeat(self, name, port, pid, role, first_event="joined"):
        """A member says it is alive: it joins, rejoins after being dead, or recovers from suspicion."""
        with self.lock:
            member = self.members.get(name)
            if member is None:
                member = self.members[name] = {"name": name, "heartbeats": 0}
                event = first_event
            else:
                event = {"dead": "rejoined", "suspect": "recovered"}.get(member["state"])
            member.update(port=port, pid=pid, role=role, state="alive", last_heartbeat=time.monotonic())
            member["heartbeats"] += 1
            if event:
                self.record(event, member)

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
        # `silence` is how many seconds ago the member's last heartbeat arrived. A short silence means nothing;
        # a longer one, from self.suspect_after seconds, may be a slow member: "suspect" warns, nobody acts;
        # from self.dead_after seconds the member is "dead", and the coordinator replaces it. Return the word
        # that fits the silence: "alive", "suspect" or "dead" (a silence of exactly a threshold reaches it).
        if silence >= self.dead_after:
            return "dead"
        if silence >= self.suspect_after:
            return "suspect"
        return "alive"
        # ---- END students' TODO ----

    def check(self):
        """Turn each member's silence into its state; record every change as an event. After a gap longer than
        suspect_after we were not running (paused): that silence is ours, so each alive member's clock restarts."""
        now = time.monotonic()
        with self.lock:
            if now - self.checked > self.suspect_after:
                print(f"{time.strftime('%H:%M:%S')}  paused {now - self.checked:.1f} s: clocks restart", flush=True)
                for member in [member for member in self.members.values() if member["state"] == "alive"]:
                    member["last_heartbeat"] = now
            self.checked = now
            for member in self.members.values():
                state = self.state_after(now - member["last_heartbeat"])
                if state != member["state"]:
                    member["state"] = state
                    self.record(state, member, now - member["last_heartbeat"])

    def record(self, event, member, silence=None):
        """Keep one event, print it as one line (a state with the silence it came from), tell the coordinator.
        The caller holds the lock."""
        news = {"id": next(self.event_ids), "time": time.strftime("%H:%M:%S"), "event": event,
                "member": member["name"], "role": member["role"], "port": member["port"]}
        self.events.append(news)
        print(f"{time.strftime('%H:%M:%S')}  {event:<10} {member['role']:<9} {member['name']:<12} "
              f":{member['port']:<5} pid {member['pid']}" + ("" if silence is None else f" silent {silence:.1f} s")
              + "\n", end="", flush=True)
        if self.notify:  # in a thread of its own: a slow coordinator must not hold up the heartbeats
            threading.Thread(target=send, args=(self.notify, "POST", "/membership", news),
                             kwargs={"timeout": 2}, daemon=True).start()

    def watch_forever(self):
        """The failure detector: notice silences even when nobody asks for /members."""
        while True:
            try:
                self.check()
            except NotImplementedError as error:  # the students' edition: say once what to write, keep serving
                if not self.unwritten:
                    print(explain(error), flush=True)
                self.unwritten = True
            time.sleep(CHECK_EVERY)


def main():
    parser = argparse.ArgumentParser(
        description="The kvstore's membership registry: heartbeats in, alive/suspect/dead out.",
        epilog="example: python labs/distributed-kvstore/registry.py --port 9200 --notify 9100",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=9200, help="port to listen on (default 9200)")
    parser.add_argument("--suspect-after", type=finite, default=2.0,
                        help="seconds of silence before a member is suspect (default 2)")
    parser.add_argument("--dead-after", type=finite, default=4.0,
                        help="seconds of silence before a member is dead (default 4)")
    parser.add_argument("--notify", type=parse_nodes, default=[],
                        help="coordinator host:port or bare port to tell of every event (default: nobody)")
    args = parser.parse_args()
    if not 0 < args.suspect_after < args.dead_after or len(args.notify) > 1:
        parser.error("need 0 < --suspect-after < --dead-after, and at most one --notify host:port")
    try:
        registry = Registry((args.host, args.port), args.suspect_after, args.dead_after, (args.notify or [None])[0])
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
