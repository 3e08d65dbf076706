"""Rate limiting: how many requests may one client send? One strategy class per answer.

FixedWindow admits at most `limit` requests per client in each window of `window` seconds.
@rate_limited puts it in front of a node's handler: a request over the limit gets HTTP 429
with Retry-After, and the node's log line says ACCEPT or REJECT, and for which client.

    python labs/scalability/node.py --port 8001 --rate-limit fixed-window --limit 5 --window 1
"""
import functools
import math
import threading
import time

from labs.plumbing.colour import paint


class FixedWindow:
    """At most `limit` requests per client in each window of `window` seconds; each window starts from zero."""

    name = "fixed-window"

    def __init__(self, limit, window, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock  # monotonic: NTP never sets it back
        self.lock = threading.Lock()
        self.current = None  # the number of the window that self.counts are for
        self.counts = {}  # client -> requests admitted in that window

    def allow(self, client):
        """May client send one more request now? Returns (allowed, remaining, seconds until the next window)."""
        with self.lock:  # one request at a time: 50 threads at once must not all read the same count
            now = self.clock()
            current = int(now // self.window)  # windows are numbered: 0 is [0, window), 1 is [window, 2 window)
            # ---- BEGIN students' TODO (fixed-window): count this request in its client's window ----
            # Counts belong to one window: once `current` is a newer window than self.current, every client
            # starts again from zero (and memory holds one window's clients, not every client ever seen).
            # Then the client's `count` in this window decides: below self.limit, the request is `allowed`
            # and counts too, so the next request of that client sees it.
            if current != self.current:
                self.current, self.counts = current, {}
            count = self.counts.get(client, 0)
            allowed = count < self.limit
            if allowed:
                count += 1
                self.counts[client] = count
            # ---- END students' TODO ----
        return allowed, self.limit - count, (current + 1) * self.window - now


STRATEGIES = {FixedWindow.name: FixedWindow}


def rate_limited(handle):
    """Decorator for a handler method: with server.rate_limiter set, a client over its limit gets 429."""
    @functools.wraps(handle)
    def wrapper(handler):
        limiter = handler.server.rate_limiter
        if limiter is None:
            return handle(handler)
        client = handler.headers.get("X-Client-Id") or handler.client_address[0]  # who asks: trusted as told
        allowed, remaining, reset = limiter.allow(client)
        handler.note += f" {paint('ACCEPT', 'green') if allowed else paint('REJECT', 'red')} {client[:12]}"
        if allowed:
            return handle(handler)
        handler.read_body()  # unused, but read: the client hears our 429, not a connection reset
        seconds = max(1, math.ceil(reset))  # whole seconds, never "retry in 0 s"
        policy = f'"{limiter.name}";q={limiter.limit};w={limiter.window:g}'  # the IETF draft RateLimit headers
        handler.send_json(429, {"error": f"limit {limiter.limit} per {limiter.window:g} s: retry in {seconds} s",
                                "node": handler.server.name},  # who said no, as every answer of a node says
                          {"Retry-After": str(seconds), "RateLimit-Policy": policy,
                           "RateLimit": f'"{limiter.name}";r={remaining};t={seconds}'})
    return wrapper
