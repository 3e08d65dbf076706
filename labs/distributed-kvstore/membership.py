"""A live view of the kvstore's membership: who is alive, suspect or dead, and what just happened.

Workshop step 11's visualizer.py, plus each member's role, the registry's "removed" events and the
members a partition cuts off, redrawn by lab 2's watch(); piped, or with NO_COLOR set, it prints one
plain line per event instead.
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.colour import fit, word
from labs.plumbing.flags import finite, ports
from labs.plumbing.network import send
from labs.replication.display import watch
from labs.scalability.client import parse_nodes

# polls of heartbeat history shown per member, newest on the right
STRIP = 40


def frame(registry, view, strips):
    """One screen: the members, their heartbeat strips as wide as the terminal allows, the newest events.
    strips: name -> its heartbeats at the last poll, and its strip: '|' per poll that saw one, '.' if not."""
    room = max(10, shutil.get_terminal_size().columns - 43)
    fixed = [f"{time.strftime('%H:%M:%S')} registry {ports([registry])}  suspect after "
             f"{view['suspect_after']} s of silence, dead after {view['dead_after']} s", "",
             f"{'member':<10} {'role':<8} {'port':>5} {'state':<7} {'silent':>6}  heartbeats, newest right"]
    for m in sorted(view["members"], key=lambda m: m["name"]):
        last, strip = strips.get(m["name"], (None, " " * STRIP))
        strip = (strip + ("|" if m["heartbeats"] != last else "."))[-STRIP:]
        strips[m["name"]] = m["heartbeats"], strip
        state = word("cut" if m.get("cut") else m["state"], 7)
        fixed.append(f"{m['name']:<10} {m['role']:<8} {m['port']:>5} {state} {m['silence']:>4.1f} s  {strip[-room:]}")
    fixed += ["", "events"]
    return fit(fixed + [line for _, line in events(view)], keep=len(fixed))


def events(view):
    return [(e["id"], f"{e['time']} {word(e['event'], 10)} {e['role']:<8} {e['member']} :{e['port']}")
            for e in view["events"]]


def main():
    parser = argparse.ArgumentParser(
        description="Watch the kvstore's registry: a live table of members and a log of events.",
        epilog="example: python labs/distributed-kvstore/membership.py --registry 9200")
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9200"],
                        help="registry host:port or bare port (default 127.0.0.1:9200)")
    parser.add_argument("--every", type=finite, default=1.0,
                        help="seconds between two polls (default 1: a live member shows | at every poll)")
    args = parser.parse_args()
    if args.every <= 0 or len(args.registry) != 1:
        parser.error("--every must be above 0 and --registry one host:port")
    registry, strips = args.registry[0], {}
    watch(f"the registry on {ports([registry])}", lambda: send(registry, "GET", "/members"),
          lambda view: frame(registry, view, strips), events, args.every)


if __name__ == "__main__":
    main()
