"""Load balancing: which node should take the next request? One strategy class per answer.

STRATEGIES maps the --strategy and --load-balance names to classes. measured_by() is the middleware
that tells a strategy how each request went; @load_balancer makes node.py a front that forwards
each request to the node its strategy picks (front.py does the sending).

    python labs/scalability/client.py --strategy least-response-time --nodes 8001,8002,8003
"""
import functools
import threading
import time

from labs.scalability import front

# weight of the newest response time in a node's average: higher forgets the past faster
DECAY = 0.3
# seconds without an answer from a node after which it is tried again, as if new
RETRY = 2.0
# seconds a request without an answer counts as: a dead node looks slowest
NO_ANSWER = 60.0


class Strategy:
    """Picks a node ("host:port") from self.nodes, a list its owner may replace at any time."""

    def __init__(self, nodes):
        self.nodes, self.lock = nodes, threading.Lock()

    def started(self, node):
        """A request to node is on its way."""

    def finished(self, node, seconds):
        """A request to node took seconds (NO_ANSWER: it got none)."""


class RoundRobin(Strategy):
    """Each node in turn, whatever it is doing: fair to the nodes, blind to their speed."""

    name, count = "round-robin", 0

    def pick(self):
        with self.lock:
            # one look at the list: its owner may replace it
            nodes, count = self.nodes, self.count
            self.count += 1
        return nodes[count % len(nodes)]


class LeastResponseTime(Strategy):
    """The node that should answer soonest: the moving average of its response times x (its requests
    in flight + 1); on a tie, fewer in flight. A node not heard from yet, or not for RETRY seconds
    (it failed, or was slower), is tried first, one request at a time: a node back gets work."""

    name = "least-response-time"

    def __init__(self, nodes):
        super().__init__(nodes)
        # per node: seconds, when last heard from, requests in flight
        self.average, self.heard, self.active = {}, {}, {}

    def known(self, node, now):
        """Its average still says how it is doing."""
        return now - self.heard.get(node, -RETRY) < RETRY

    def score(self, node, now):
        active = self.active.get(node, 0)
        if active == 0 and not self.known(node, now):
            return 0.0
        # never answered yet: slow, not dead
        return self.average.get(node, RETRY) * (active + 1)

    def pick(self):
        with self.lock:
            now = time.monotonic()
            return min(self.nodes,
                       key=lambda node: (self.score(node, now), self.active.get(node, 0)))

    def started(self, node):
        with self.lock:
            self.active[node] = self.active.get(node, 0) + 1

    def finished(self, node, seconds):
        with self.lock:
            now = time.monotonic()
            # after a silence, the average starts afresh
            old = self.average[node] if self.known(node, now) else seconds
            self.average[node], self.heard[node] = old + DECAY * (seconds - old), now
            self.active[node] -= 1


STRATEGIES = {strategy.name: strategy for strategy in (RoundRobin, LeastResponseTime)}


def measured_by(strategy):
    """Middleware for send(node, ...) -> (status, ...): the strategy hears how long each took."""
    def decorate(send):
        @functools.wraps(send)
        def measured(node, *args, **kwargs):
            strategy.started(node)
            # fine-grained everywhere (monotonic ticks every 16 ms on Windows)
            started = time.perf_counter()
            result = send(node, *args, **kwargs)
            strategy.finished(node, time.perf_counter() - started if result[0] else NO_ANSWER)
            return result
        return measured
    return decorate


def load_balancer(handle):
    """Decorator for a handler method: with server.balancer set, the node is a front: it forwards
    the request to the node its strategy picks, or to the next pick if that one gives no answer."""
    @functools.wraps(handle)
    def wrapper(handler):
        balancer = handler.server.balancer
        if balancer is None:
            return handle(handler)
        if front.answers_itself(handler):
            return
        body = front.read_json(handler)
        for _ in balancer.nodes:
            node = balancer.pick()
            status, reply = measured_by(balancer)(front.forward)(node, handler, body)
            # 0: no answer at all
            if status:
                handler.note += f" -> :{node.rpartition(':')[2]}"
                return handler.send_json(status, reply)
        handler.send_json(502, {"error": "no backend answered"})
    return wrapper
