"""Load balancing: which node should take the next request? One strategy class per answer.

STRATEGIES maps the --strategy / --load-balance names to classes. A strategy learns from
each request through started() and finished(); measured_by() is the middleware that calls
them around send(node, ...) in the client, and @load_balancer turns node.py into a front,
which shows what each backend got: GET /status (a Tally), and GET / draws it in a browser.

    python labs/scalability/client.py --strategy least-response-time --nodes 8001,8002,8003
"""
import functools
import http.client
import json
import threading
import time
from pathlib import Path

from labs.plumbing.jsonhttp import exchange, ports

DECAY = 0.3  # weight of the newest latency in a node's average: higher forgets the past faster
UNTRIED_BUSY = 10.0  # score of a node still waiting for its first answer: wait for it, do not pile on
SLOWER = 1.5  # a request this many times slower than a node's fastest was queued: the node was full
NO_ANSWER = 60.0  # seconds a request without an answer counts as: a dead node looks slowest, not fastest
HOP_HEADERS = {"host", "connection", "content-length", "keep-alive", "transfer-encoding", "date", "server",
               "content-type"}  # headers that describe one connection, not the request: never passed on

VIEW = Path(__file__).parents[1] / "plumbing" / "front.html"  # the front's bar chart, for a projector


class Strategy:
    """Picks a node ("host:port") from self.nodes, a list its owner may replace at any time."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.lock = threading.Lock()

    def pick(self):
        raise NotImplementedError

    def started(self, node):
        """A request to node is on its way; returns how many are in flight to it now, this one included."""

    def finished(self, node, seconds, at_once=None):
        """A request to node took seconds; at_once is what started() returned for it."""


class RoundRobin(Strategy):
    """Each node in turn, whatever it is doing: fair to the nodes, blind to their speed."""

    def __init__(self, nodes):
        super().__init__(nodes)
        self.count = 0

    def pick(self):
        with self.lock:
            count, nodes = self.count, self.nodes  # one look at the list: its owner may replace it
            self.count += 1
            return nodes[count % len(nodes)]


class LeastResponseTime(Strategy):
    """The node that would answer soonest: its latency, times how busy it is. Busy means requests in flight + 1
    over the most it has answered at once without slowing down (its capacity, learned: a node with 4 workers
    takes 4 at once at full speed). A node with room left scores just its latency."""

    def __init__(self, nodes):
        super().__init__(nodes)
        self.latency = {}  # node -> moving average of its recent response times, in seconds
        self.fastest = {}  # node -> its fastest response time: what "without slowing down" is measured against
        self.capacity = {}  # node -> the most requests it answered at once without slowing down
        self.active = {}  # node -> our requests in flight to it

    def score(self, node):
        active = self.active.get(node, 0)
        if node not in self.latency:
            return 0.0 if active == 0 else UNTRIED_BUSY + active  # try every new node once, first
        return self.latency[node] * max(1.0, (active + 1) / self.capacity[node])

    def pick(self):
        with self.lock:
            nodes = list(self.nodes)
            for gone in set(self.latency) - set(nodes):
                del self.latency[gone]  # a node that comes back later is measured afresh
            return min(nodes, key=lambda node: (self.score(node), self.active.get(node, 0)))

    def started(self, node):
        with self.lock:
            self.active[node] = self.active.get(node, 0) + 1
            return self.active[node]

    def finished(self, node, seconds, at_once=1):
        with self.lock:
            self.active[node] -= 1
            self.fastest[node] = min(seconds, self.fastest.get(node, seconds))
            capacity = self.capacity.get(node, 1)
            if seconds <= SLOWER * self.fastest[node]:  # answered at full speed with at_once in flight
                self.capacity[node] = max(capacity, at_once)
            else:  # it queued: it cannot take at_once at a time
                self.capacity[node] = max(1, min(capacity, at_once - 1))
            seconds *= min(1.0, self.capacity[node] / at_once)  # waiting in its queue is not its latency
            old = self.latency.get(node, seconds)
            self.latency[node] = old + DECAY * (seconds - old)


STRATEGIES = {"round-robin": RoundRobin, "least-response-time": LeastResponseTime}


def measured_by(strategy):
    """Middleware for send(node, ...) -> (status, ...): strategy learns each request's latency and load."""
    def decorate(send):
        @functools.wraps(send)
        def measured(node, *args, **kwargs):
            at_once = strategy.started(node)
            start = time.monotonic()
            result = send(node, *args, **kwargs)
            strategy.finished(node, time.monotonic() - start if result[0] != 0 else NO_ANSWER, at_once)
            return result
        return measured
    return decorate


def forward(node, handler, data):
    """Pass handler's request (body: data) to node; returns (status, reply as a dict, headers to pass back)."""
    headers = {name: value for name, value in handler.headers.items() if name.lower() not in HOP_HEADERS}
    try:
        status, raw, reply_headers = exchange(node, handler.command, handler.path, data or None,
                                              {**headers, "Content-Type": "application/json"})
    except (OSError, http.client.HTTPException) as error:
        return 0, {"error": f"{node}: {error}"}, {}  # 0: no HTTP answer at all (refused, timed out, garbled)
    try:
        reply = json.loads(raw or b"{}")
    except ValueError:
        return 0, {"error": f"{node} did not answer with JSON"}, {}
    return status, reply, {name: value for name, value in reply_headers.items() if name.lower() not in HOP_HEADERS}


class Tally:
    """What each backend of a front got: answers, 429s among them, no answers, in flight, latency."""

    def __init__(self):
        self.rows, self.lock = {}, threading.Lock()

    def row(self, node):
        return self.rows.setdefault(node, {"node": node, "served": 0, "rejected": 0, "no_answer": 0,
                                           "in_flight": 0, "latency_ms": None})

    def started(self, node):
        with self.lock:
            self.row(node)["in_flight"] += 1
        return time.monotonic()

    def finished(self, node, started, status):
        ms = (time.monotonic() - started) * 1000
        with self.lock:
            row = self.row(node)
            row["in_flight"] -= 1
            row["no_answer" if status == 0 else "rejected" if status == 429 else "served"] += 1
            old = row["latency_ms"] if row["latency_ms"] is not None else ms  # a moving average, as DECAY says
            row["latency_ms"] = round(old + DECAY * (ms - old))

    def status(self, balancer):
        """GET /status on a front: its strategy and one row per backend."""
        name = next((name for name, kind in STRATEGIES.items() if type(balancer) is kind), type(balancer).__name__)
        with self.lock:
            return {"strategy": name, "backends": [dict(self.row(node)) for node in list(balancer.nodes)]}


def load_balancer(handle):
    """Decorator for a handler method: with server.balancer set, forward the request to a backend instead.
    The front also shows itself: GET / is a page for a browser, GET /status the Tally it draws."""
    tally = Tally()  # one front per process
    @functools.wraps(handle)
    def wrapper(handler):
        balancer = handler.server.balancer
        if balancer is None:
            return handle(handler)
        if (handler.command, handler.path.partition("?")[0]) == ("GET", "/"):
            return handler.send_file(VIEW, "text/html; charset=utf-8")
        if (handler.command, handler.path) == ("GET", "/status"):
            return handler.send_json(200, tally.status(balancer), log=False)  # polled: no line each time
        data = handler.read_body()  # all of it, within a deadline, before any backend is bothered
        reply = {"error": "the list of backends is empty"}
        for _ in range(len(balancer.nodes)):  # a backend that gives no answer is skipped for the next one
            node = balancer.pick()
            started = tally.started(node)
            status, reply, headers = measured_by(balancer)(forward)(node, handler, data)
            tally.finished(node, started, status)
            if status != 0:
                handler.note = f"{handler.note} -> {ports([node])}".lstrip()  # after ACCEPT, when rate limited
                return handler.send_json(status, reply, headers)
        handler.send_json(502, {"error": f"no backend answered; last: {reply['error']}"})
    return wrapper
