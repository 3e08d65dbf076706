"""What a coordinator shows: one line per event, the node table, the wall.

Lab 2, not a lesson. A line that repeats is shown again only with its count (x10, x100, ...), so no
terminal floods. watch() redraws a view in place (the wall, lab 3's membership), or, piped, prints
each new event once.
"""
import itertools
import json
import math
import threading
import time
from collections import deque

from labs.plumbing.colour import CLEAR_BELOW, CLEAR_LINE, HOME, colour_on, cut, fit, paint, word
from labs.plumbing.network import send

ROW = "{:<10} {:<8} {:>5} {:>7} {} {:>6} {:>8} {:>5} {:>6} {:>6}"  # word() pads the state: colour takes no room
NUMBERS = ("keys", "version", "epoch", "writes", "reads")


class Events:
    """The newest KEEP events (for GET /status), each shown as one line as it happens."""

    KEEP, QUIET = 200, 10.0

    def __init__(self, show):
        self.show, self.events, self.counts, self.last = show, deque(maxlen=self.KEEP), {}, {}
        self.ids, self.lock = itertools.count(1), threading.Lock()

    def add(self, kind, text, data=None, counted=False):
        """Keep one event and show it; data: fields for the page's drawings; counted: news that may repeat."""
        with self.lock:
            now, key = time.monotonic(), (kind, text)
            # news back after QUIET seconds without it is new again
            fresh, self.last[key] = now - self.last.get(key, -math.inf) > self.QUIET, now
            count = self.counts[key] = self.counts[key] + 1 if counted and not fresh else 1
            event = {**(data or {}), "id": next(self.ids), "time": time.strftime("%H:%M:%S"), "kind": kind,
                     "text": text, "count": count}
            if counted and self.events and (self.events[-1]["kind"], self.events[-1]["text"]) == (kind, text):
                self.events.pop()
            self.events.append(event)
        if self.show and math.log10(count).is_integer():
            self.show(event_line(event))

    def recent(self):
        with self.lock:
            return list(self.events)


def event_line(event):
    """One event: time, what happened (coloured, padded first so columns stay aligned), the details."""
    count = f" (x{event['count']})" if event.get("count", 1) > 1 else ""
    return cut(f"{event['time']} {word(event['kind'], 10)} {event['text']}", 80 - len(count)) + count


def table(status):
    """The node table: role, port, state, keys, newest version, epoch, writes applied, reads served."""
    lines = [paint(ROW.format("node", "role", "port", "pid", "state", *NUMBERS), "bold")]
    for node in status["nodes"]:
        # late: catching up; cut: across the partition; ?: running, but no answer (paused)
        state = "DOWN" if not node["up"] else "cut" if node.get("cut") else "?" if "version" not in node \
            and node["role"] in ("leader", "follower") else "late" if node.get("ready") is False else "up"
        numbers = [node.get(field, "-") for field in NUMBERS]
        numbers[1] = f"v{numbers[1]}" if numbers[1] != "-" else "-"
        lines.append(ROW.format(node["name"], node["role"], node["port"], node["pid"] or "-", word(state, 5), *numbers))
    return lines


def quorum_line(status):
    n, w, r = status["followers"], status["write_quorum"], status["read_quorum"]
    if r + w > n:
        return f"R + W = {r} + {w} > N = {n}: every read meets a follower that holds the newest write"
    return f"R + W = {r} + {w} <= N = {n}: a read can miss the newest write; is_fresh checks it"


def said(status, reply):
    """A replica's answer (200 or 404) in an event line: "blue" v3, or not found v4."""
    return f"{short(reply['value']) if status == 200 else 'not found'} v{reply['version']}"


def short(value, width=20):
    text = json.dumps(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def frame(status, port):
    """One screen of the wall: heading, quorum, node table, then as many of the newest events as fit."""
    fixed = [f"{time.strftime('%H:%M:%S')} coordinator :{port}  N = {status['followers']}, "
             f"W = {status['write_quorum']}, R = {status['read_quorum']}", quorum_line(status)]
    if status.get("cut"):
        fixed.append(paint(f"partition: {', '.join(status['cut'])} | all the others", "yellow"))
    fixed += ["", *table(status), "", "events"]
    return fit(fixed + [event_line(event) for event in status["events"]], keep=len(fixed))


def watch(name, fetch, frame, events, every=0.5):
    """Poll fetch() -> (status, view) and redraw frame(view) in place; piped (or NO_COLOR), print each new
    event of events(view), [(id, line)], once. When it stops answering, say so once, and wait for it."""
    live, seen, silent = colour_on(), 0, False
    problem = cut(f"{name} does not answer: waiting for it (Ctrl-C leaves)", 80)
    try:
        while True:
            status, view = fetch()
            if status != 200:
                if not silent:
                    print((HOME + CLEAR_BELOW if live else "") + problem, flush=True)
            elif live:
                print(HOME + "\n".join(line + CLEAR_LINE for line in frame(view)) + CLEAR_BELOW, end="", flush=True)
            else:
                items = events(view)
                # a new coordinator (or registry) counts from 1 again
                seen = 0 if items and items[-1][0] < seen else seen
                print("".join(f"{line}\n" for number, line in items if number > seen), end="", flush=True)
                seen = items[-1][0] if items else seen
            silent = status != 200
            time.sleep(every)
    except KeyboardInterrupt:
        print()


def shown(events):
    """(id, line) of the events a terminal shows: the first of each, and a repeat only at x10, x100, ..."""
    return [(event["id"], event_line(event)) for event in events if math.log10(event["count"]).is_integer()]


def watch_coordinator(port):
    watch(f"the coordinator on :{port}", lambda: send(f"127.0.0.1:{port}", "GET", "/status"),
          lambda status: frame(status, port), lambda status: shown(status["events"]))


def tell_write(cluster, key, status, reply, seconds):
    """The event lines of a write: each ack the leader waited for, then the write, or why it was refused."""
    what = f"{key} deleted" if reply.get("deleted") else f"{key}={short(reply.get('value'))}"
    if status == 404:
        return cluster.event("write", f"{key}: not found v{reply['version']}: deleted already", {"key": key})
    if status not in (200, 201):
        return cluster.event("refused", f"write {key}: {reply.get('error', status)}")
    version = reply["version"]
    for follower, ms in sorted(reply["acks"].items(), key=lambda ack: ack[1]):
        name = cluster.name_of(follower)
        cluster.event("ack", f"{what} v{version} -> {name} {ms} ms", {"key": key, "version": version,
                                                                      "follower": name})
    cluster.event("write", f"{what} v{version} acked by {len(reply['acks'])} of {len(cluster.followers)} "
                           f"(W = {reply['quorum']}) in {seconds * 1000:.0f} ms", {"key": key, "version": version})


def tell_read(cluster, key, status, reply, answers, seconds):
    """The event lines of a read: the refusal (it says why), or each answer not reported, then the read."""
    if status not in (200, 404):
        return cluster.event("refused", f"read {key}: {reply['error']}")
    newest = reply["version"]
    for node, said_status, answer in answers:
        name = cluster.name_of(node)
        if said_status in (200, 404) and answer["version"] < newest:
            cluster.event("stale", f"{key}: {name} said {said(said_status, answer)} < v{newest}: not reported",
                          {"key": key, "node": name})
        elif said_status not in (200, 404):
            cluster.event("missed", f"{key}: {name} did not answer ({str(answer.get('error', said_status))[:28]})")
    name = cluster.name_of(reply["node"])
    cluster.event("read", f"{key} = {said(status, reply)} from {name}, {seconds * 1000:.0f} ms",
                  {"key": key, "served_by": [name]})
