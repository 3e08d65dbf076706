"""Load balancing: which node should take the next request? One strategy class per answer.

STRATEGIES maps the --strategy / --load-balance names to classes. A strategy learns from
each request through started() and finished(); measured_by() is the middleware that calls
them around send(node, ...) in the client, and @load_balancer turns node.py into a front.

    python labs/scalability/client.py --strategy least-response-time --nodes 8001,8002,8003
"""
import functools
import http.client
import json
import threading
import time
import urllib.error
import urllib.request

DECAY = 0.3  # weight of the newest latency in a node's average: higher forgets the past faster
UNTRIED_BUSY = 10.0  # score of a node still waiting for its first answer: wait for it, do not pile on
NO_ANSWER = 60.0  # seconds a request without an answer counts as: a dead node looks slowest, not fastest
HOP_HEADERS = {"host", "connection", "content-length", "keep-alive", "transfer-encoding", "date", "server",
               "content-type"}  # headers that describe one connection, not the request: never passed on

# Our nodes are on this machine: never send these requests through an HTTP proxy.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Strategy:
    """Picks a node ("host:port") from self.nodes, a list its owner may replace at any time."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.lock = threading.Lock()

    def pick(self):
        raise NotImplementedError

    def started(self, node):
        """A request to node is on its way."""

    def finished(self, node, seconds):
        """A request to node took seconds."""


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
    """The node with the lowest latency x (requests in flight + 1): fast and not busy ("peak EWMA")."""

    def __init__(self, nodes):
        super().__init__(nodes)
        self.latency = {}  # node -> moving average of its recent response times, in seconds
        self.active = {}  # node -> our requests in flight to it

    def score(self, node):
        active = self.active.get(node, 0)
        if node not in self.latency:
            return 0.0 if active == 0 else UNTRIED_BUSY + active  # try every new node once, first
        return self.latency[node] * (active + 1)

    def pick(self):
        with self.lock:
            nodes = list(self.nodes)
            for gone in set(self.latency) - set(nodes):
                del self.latency[gone]  # a node that comes back later is measured afresh
            return min(nodes, key=self.score)

    def started(self, node):
        with self.lock:
            self.active[node] = self.active.get(node, 0) + 1

    def finished(self, node, seconds):
        with self.lock:
            self.active[node] -= 1
            old = self.latency.get(node, seconds)
            self.latency[node] = old + DECAY * (seconds - old)


STRATEGIES = {"round-robin": RoundRobin, "least-response-time": LeastResponseTime}


def measured_by(strategy):
    """Middleware for send(node, ...) -> (status, ...): strategy learns each request's latency and load."""
    def decorate(send):
        @functools.wraps(send)
        def measured(node, *args, **kwargs):
            strategy.started(node)
            start = time.monotonic()
            result = send(node, *args, **kwargs)
            strategy.finished(node, time.monotonic() - start if result[0] != 0 else NO_ANSWER)
            return result
        return measured
    return decorate


def forward(node, handler, data):
    """Pass handler's request (body: data) to node; returns (status, reply as a dict, headers to pass back)."""
    headers = {name: value for name, value in handler.headers.items() if name.lower() not in HOP_HEADERS}
    request = urllib.request.Request(f"http://{node}{handler.path}", data=data or None, method=handler.command,
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=30) as response:
            status, raw, reply_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, reply_headers = error.code, error.read(), error.headers
    except (OSError, http.client.HTTPException) as error:
        return 0, {"error": f"{node}: {error}"}, {}  # 0: no HTTP answer at all (refused, timed out, garbled)
    try:
        reply = json.loads(raw or b"{}")
    except ValueError:
        return 0, {"error": f"{node} did not answer with JSON"}, {}
    return status, reply, {name: value for name, value in reply_headers.items() if name.lower() not in HOP_HEADERS}


def load_balancer(handle):
    """Decorator for a handler method: with server.balancer set, forward the request to a backend instead."""
    @functools.wraps(handle)
    def wrapper(handler):
        balancer = handler.server.balancer
        if balancer is None:
            return handle(handler)
        data = handler.read_body()  # all of it, within a deadline, before any backend is bothered
        reply = {"error": "the list of backends is empty"}
        for _ in range(len(balancer.nodes)):  # a backend that gives no answer is skipped for the next one
            node = balancer.pick()
            status, reply, headers = measured_by(balancer)(forward)(node, handler, data)
            if status != 0:
                handler.note = f"{handler.note} -> {node}".lstrip()  # after ACCEPT, when rate limited too
                return handler.send_json(status, reply, headers)
        handler.send_json(502, {"error": f"no backend answered; last: {reply['error']}"})
    return wrapper
