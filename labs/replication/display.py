"""What the coordinator looks like on a wall: the node table, one line per event, a live watch.

Lab 2. table() and event_line() turn the coordinator's GET /status into text; watch() polls it
from a second terminal and redraws in place, or prints plain new events when piped.

    python labs/replication/coordinator.py --watch
"""
import itertools
import json
import threading
import time
from collections import deque

from labs.plumbing.colour import CLEAR_BELOW, CLEAR_LINE, HOME, colour_on, cut, fit, paint, word
from labs.plumbing.flags import ports
from labs.plumbing.jsonhttp import send

COLUMNS = f"{'node':<10} {'role':<8} {'port':>5} {'pid':>7} {'state':<5} {'keys':>6} {'version':>8} " \
          f"{'epoch':>5} {'writes':>6} {'reads':>6}"


class Events:
    """The coordinator's events: the newest KEEP for GET /status, each shown as one line as it happens."""

    KEEP = 200

    def __init__(self, show):
        self.show = show  # prints one line; None: events are kept for GET /status only
        self.events, self.ids, self.lock = deque(maxlen=self.KEEP), itertools.count(1), threading.Lock()

    def add(self, kind, text, data=None):
        """Keep one event and show its line; data: fields for drawings, like the browser view's (key, version)."""
        event = {**(data or {}), "id": next(self.ids), "time": time.strftime("%H:%M:%S"), "kind": kind, "text": text}
        with self.lock:
            self.events.append(event)
        if self.show:
            self.show(event_line(event))

    def recent(self):
        with self.lock:
            return list(self.events)


def table(status):
    """The node table: role, port, up or DOWN, keys, newest version, epoch, writes applied, reads served."""
    lines = [paint(COLUMNS, "bold")]
    for node in status["nodes"]:
        state = word("late" if node.get("ready") is False else "up" if node["up"] else "DOWN", 5)  # late: catching up
        keys, version, epoch, writes, reads = (node.get(field, "-") for field in
                                               ("keys", "version", "epoch", "writes", "reads"))
        version = f"v{version}" if version != "-" else version
        lines.append(f"{node['name']:<10} {node['role']:<8} {node['port']:>5} {node['pid'] or '-':>7} {state} "
                     f"{keys:>6} {version:>8} {epoch:>5} {writes:>6} {reads:>6}")
    return lines


def quorum_line(status):
    """Whether every read quorum meets every write quorum, in words."""
    n, w, r = status["followers"], status["write_quorum"], status["read_quorum"]
    if r + w > n:
        return f"R + W = {r} + {w} > N = {n}: every read meets a follower that holds the newest write"
    return (f"R + W = {r} + {w} <= N = {n}: a read can miss the newest write; "
            f"{status.get('stale_check', 'the coordinator')} checks")


def said(status, reply):
    """A replica's answer in an event line: "blue" v3, not found v4, or no answer (and why)."""
    if status in (200, 404):
        return f"{short(reply['value']) if status == 200 else 'not found'} v{reply['version']}"
    return f"no answer ({reply.get('error', status)})"


def short(value, width=20):
    """A value as JSON, cut to width characters: event lines fit a terminal."""
    text = json.dumps(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def event_line(event):
    """One event: time, what happened (coloured, padded first so columns stay aligned), the details."""
    return cut(f"{event['time']} {word(event['kind'], 10)} {event['text']}", 80)  # a long key must not wrap


def frame(coordinator, status):
    """One screen of the watch: heading, quorum, node table, then as many of the newest events as fit."""
    fixed = [f"{time.strftime('%H:%M:%S')} coordinator {ports([coordinator])}  N = {status['followers']}, "
             f"W = {status['write_quorum']}, R = {status['read_quorum']}, delay {status['replication_delay']} s",
             quorum_line(status), "", *table(status), "", "events"]
    return fit(fixed + [event_line(event) for event in status["events"]], keep=len(fixed))


def watch(coordinator, every=0.5):
    """Poll the coordinator's GET /status and redraw; piped, print each new event once instead."""
    live = colour_on()  # a terminal that understands the codes we redraw with
    seen, trouble = 0, None
    try:
        while True:
            status, view = send(coordinator, "GET", "/status")
            if status != 200:
                problem = cut(f"coordinator {coordinator} does not answer, trying again: "
                              f"{view.get('error', status)}", 80)
                if live or problem != trouble:
                    print((HOME + CLEAR_BELOW if live else "") + problem, flush=True)
                trouble = problem
            elif live:
                trouble = None
                print(HOME + "\n".join(line + CLEAR_LINE for line in frame(coordinator, view)) + CLEAR_BELOW,
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
