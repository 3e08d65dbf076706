"""A live view of the kvstore's membership: who is alive, suspect or dead, and what just happened.

Starts from workshop step 11's visualizer.py and adds each member's role
(leader, follower, gateway) and the registry's "registered" and "removed" events.
Piped, or with NO_COLOR set, it prints one plain line per event instead.

    python labs/distributed-kvstore/membership.py --registry 9200
"""
import argparse
import shutil
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.colour import CLEAR_BELOW, CLEAR_LINE, HOME, colour_on, cut, fit, word  # noqa: E402
from labs.plumbing.flags import finite, parse_nodes, ports  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402

STRIP = 40  # polls of heartbeat history shown per member, newest on the right


class Strips:
    """Per member, one character per poll: '|' if a heartbeat arrived since the last poll, '.' if not."""

    def __init__(self):
        self.counts, self.strips = {}, {}

    def update(self, members):
        for member in members:
            name = member["name"]
            strip = self.strips.setdefault(name, deque(" " * STRIP, maxlen=STRIP))
            strip.append("|" if member["heartbeats"] != self.counts.get(name) else ".")
            self.counts[name] = member["heartbeats"]

    def __getitem__(self, name):
        return "".join(self.strips[name])


def frame(registry, view, strips):
    """One screen: the members, their heartbeat strips as wide as the terminal allows, then the newest events
    that fit below."""
    room = max(10, shutil.get_terminal_size().columns - 42)
    fixed = [f"{time.strftime('%H:%M:%S')} registry {ports([registry])}  suspect after "
             f"{view['suspect_after']} s of silence, dead after {view['dead_after']} s", "",
             f"{'member':<10} {'role':<8} {'port':>5} {'state':<7} {'silent':>6}  heartbeats, newest right"]
    for m in sorted(view["members"], key=lambda m: m["name"]):
        fixed.append(f"{m['name']:<10} {m['role']:<8} {m['port']:>5} {word(m['state'], 7)} {m['silence']:>4.1f} s  "
                     f"{strips[m['name']][-room:]}")
    fixed += ["", "events"]
    events = [f"{e['time']} {word(e['event'], 10)} {e['role']:<8} {e['member']}" for e in view["events"]]
    return fit(fixed + events, keep=len(fixed))


def main():
    parser = argparse.ArgumentParser(
        description="Watch the kvstore's registry: a live table of members and a log of events.",
        epilog="example: python labs/distributed-kvstore/membership.py --registry 9200",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"],
                        help="registry host:port or bare port (default 127.0.0.1:9200)")
    parser.add_argument("--every", type=finite, default=1.0,
                        help="seconds between two polls (default 1: longer than a heartbeat interval, so a live "
                             "member shows | at every poll)")
    args = parser.parse_args()
    if args.every <= 0 or len(args.registry) != 1:
        parser.error("--every must be above 0 and --registry one host:port")
    registry, strips, seen, trouble = args.registry[0], Strips(), 0, None
    live = colour_on()  # a terminal that understands the codes we redraw with
    try:
        while True:
            status, view = send(registry, "GET", "/members")
            if status != 200:
                problem = cut(f"registry {registry} does not answer, trying again: {view.get('error', status)}", 80)
                if live:
                    print(HOME + problem + CLEAR_LINE + "\n" + CLEAR_BELOW, end="", flush=True)
                elif problem != trouble:
                    print(problem, flush=True)
                trouble = problem
            else:
                trouble = None
                strips.update(view["members"])
                if live:
                    print(HOME + "\n".join(line + CLEAR_LINE for line in frame(registry, view, strips))
                          + CLEAR_BELOW, end="", flush=True)
                else:
                    newest = view["events"][-1]["id"] if view["events"] else 0
                    seen = 0 if newest < seen else seen  # a restarted registry counts from 1 again
                    for e in view["events"]:
                        if e["id"] > seen:
                            print(f"{e['time']}  {e['event']:<10} {e['role']:<9} {e['member']:<12} port {e['port']}",
                                  flush=True)
                    seen = newest
            time.sleep(args.every)
    except KeyboardInterrupt:
        print()


if __name__ == "__main__":
    main()
