"""A live view of the kvstore's membership: who is alive, suspect or dead, and what just happened.

Starts from workshop_materials/11_membership/visualizer.py and adds each member's role
(leader, follower, gateway) and the registry's "registered" and "removed" events.
Piped, or with NO_COLOR set, it prints one plain line per event instead.

    python labs/distributed-kvstore/membership.py --registry 9200
"""
import argparse
import os
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.jsonhttp import parse_nodes, send  # noqa: E402

STRIP = 40  # polls of heartbeat history shown per member, newest on the right
SHOW_EVENTS = 10
COLOURS = {"alive": "\033[32m", "joined": "\033[32m", "rejoined": "\033[32m", "recovered": "\033[32m",
           "registered": "\033[32m", "suspect": "\033[33m", "dead": "\033[31m", "removed": "\033[31m"}
RESET, CLEAR_LINE, HOME, CLEAR_BELOW = "\033[0m", "\033[K", "\033[H", "\033[J"


def paint(word, width):
    """word padded to width, in its state's colour."""
    return f"{COLOURS.get(word, '')}{word:<{width}}{RESET}"


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
    """The lines of one screen: the table of members, then the newest events."""
    lines = [f"membership of {registry}   {time.strftime('%H:%M:%S')}   suspect after {view['suspect_after']} s "
             f"of silence, dead after {view['dead_after']} s", "",
             f"{'member':<12} {'role':<9} {'port':>5} {'pid':>7}  {'state':<8} {'silent':>7}  heartbeats (newest right)"]
    for m in sorted(view["members"], key=lambda m: m["name"]):
        lines.append(f"{m['name']:<12} {m['role']:<9} {m['port']:>5} {m['pid']:>7}  {paint(m['state'], 8)} "
                     f"{m['silence']:>5.1f} s  {strips[m['name']]}")
    lines += ["", "events"]
    lines += [f"{e['time']}  {paint(e['event'], 10)}  {e['role']:<9} {e['member']}" for e in view["events"][-SHOW_EVENTS:]]
    return lines


def main():
    parser = argparse.ArgumentParser(
        description="Watch the kvstore's registry: a live table of members and a log of events.",
        epilog="example: python labs/distributed-kvstore/membership.py --registry 9200",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"],
                        help="registry host:port or bare port (default 127.0.0.1:9200)")
    parser.add_argument("--every", type=float, default=1.0,
                        help="seconds between two polls (default 1: longer than a heartbeat interval, so a live "
                             "member shows | at every poll)")
    args = parser.parse_args()
    if args.every <= 0 or len(args.registry) != 1:
        parser.error("--every must be above 0 and --registry one host:port")
    registry, strips, seen, trouble = args.registry[0], Strips(), 0, None
    live = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if live and os.name == "nt":
        os.system("")  # lets the classic Windows console understand the ANSI codes we draw with
    try:
        while True:
            status, view = send(registry, "GET", "/members")
            if status != 200:
                problem = f"registry {registry} does not answer ({view.get('error', status)}); trying again"
                if live:
                    print(HOME + problem + CLEAR_LINE + "\n" + CLEAR_BELOW, end="", flush=True)
                elif problem != trouble:
                    print(problem, flush=True)
                trouble = problem
            else:
                trouble = None
                strips.update(view["members"])
                if live:
                    print(HOME + "".join(line + CLEAR_LINE + "\n" for line in frame(registry, view, strips))
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
