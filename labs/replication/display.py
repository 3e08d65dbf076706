"""What the coordinator looks like on a wall: the node table, one line per event, a live watch.

Lab 2. table() and event_line() turn the coordinator's GET /status into text; watch() polls it
from a second terminal and redraws in place, or prints plain new events when piped.

    python labs/replication/coordinator.py --watch
"""
import os
import sys
import time

from labs.scalability.client import send
from labs.scalability.colour import paint

COLOURS = {"up": "green", "ack": "green", "write": "green", "read": "green", "caught-up": "green",
           "down": "red", "missed": "red", "refused": "red", "stale": "yellow"}
COLUMNS = f"{'node':<10} {'role':<9} {'port':>5} {'pid':>7}  {'state':<5} {'keys':>5} {'version':>8} " \
          f"{'writes':>7} {'reads':>6}"
SHOW_EVENTS = 14
CLEAR_LINE, HOME, CLEAR_BELOW = "\033[K", "\033[H", "\033[J"


def print_line(line):
    """Print one line in one write: lines from parallel threads never run into each other."""
    print(line + "\n", end="", flush=True)


def table(status):
    """The node table: role, port, up or DOWN, keys, newest version, writes applied, reads served."""
    lines = [paint(COLUMNS, "bold")]
    for node in status["nodes"]:
        state = paint(f"{'up':<5}", "green") if node["up"] else paint(f"{'DOWN':<5}", "red")
        numbers = [node.get(field, "-") for field in ("keys", "version", "writes", "reads")]
        if node["up"] and "version" in node:
            numbers[1] = f"v{numbers[1]}"
        lines.append(f"{node['name']:<10} {node['role']:<9} {node['port']:>5} {node['pid'] or '-':>7}  {state} "
                     f"{numbers[0]:>5} {numbers[1]:>8} {numbers[2]:>7} {numbers[3]:>6}")
    return lines


def quorum_line(status):
    """Whether every read quorum meets every write quorum, in words."""
    n, w, r = status["followers"], status["write_quorum"], status["read_quorum"]
    if r + w > n:
        return f"R + W = {r} + {w} = {r + w} > N = {n}: every read asks a follower that holds the newest write"
    return (f"R + W = {r} + {w} = {r + w} <= N = {n}: a read may miss the newest write; "
            f"{status.get('stale_check', 'the coordinator')} catches stale replies and asks a fresh replica")


def event_line(event):
    """One event: time, what happened (coloured, padded first so columns stay aligned), the details."""
    kind = paint(f"{event['kind']:<9}", COLOURS.get(event["kind"], "dim"))
    return f"{event['time']}  {kind}  {event['text']}"


def frame(coordinator, status):
    """One screen of the watch: heading, quorum, node table, newest events."""
    return [f"coordinator {coordinator}   {time.strftime('%H:%M:%S')}   N = {status['followers']} followers, "
            f"W = {status['write_quorum']}, R = {status['read_quorum']}, "
            f"replication delay {status['replication_delay']} s", quorum_line(status), "", *table(status),
            "", "events", *(event_line(event) for event in status["events"][-SHOW_EVENTS:])]


def watch(coordinator, every=0.5):
    """Poll the coordinator's GET /status and redraw; piped, print each new event once instead."""
    live = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if live and os.name == "nt":
        os.system("")  # lets the classic Windows console understand the ANSI codes we draw with
    seen, trouble = 0, None
    try:
        while True:
            status, view = send(coordinator, "GET", "/status")
            if status != 200:
                problem = f"coordinator {coordinator} does not answer ({view.get('error', status)}); trying again"
                if live or problem != trouble:
                    print((HOME + CLEAR_BELOW if live else "") + problem, flush=True)
                trouble = problem
            elif live:
                trouble = None
                print(HOME + "".join(line + CLEAR_LINE + "\n" for line in frame(coordinator, view)) + CLEAR_BELOW,
                      end="", flush=True)
            else:
                trouble = None
                seen = 0 if view["events"] and view["events"][-1]["id"] < seen else seen  # a new coordinator
                for event in view["events"]:
                    if event["id"] > seen:
                        print(event_line(event), flush=True)
                seen = view["events"][-1]["id"] if view["events"] else seen
            time.sleep(every)
    except KeyboardInterrupt:
        print()
