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
    """At most `limit` requests per client in each window of `window` seconds, each from zero."""

    name = "fixed-window"

    def __init__(self, limit, window, clock=time.monotonic):
        # monotonic: NTP never sets it back
        self.limit, self.window, self.clock = limit, window, clock
        self.lock = threading.Lock()
        # the number of the window that self.counts are for; client -> requests admitted in it
        self.current, self.counts = None, {}

    def allow(self, client):
        """May client send one more request now? (allowed, remaining, seconds to the next window)"""
        # one request at a time: 50 threads at once must not all read the same count
        with self.lock:
            now = self.clock()
            # windows are numbered: 0 is [0, window), 1 is [window, 2 window), ...
            current = int(now // self.window)
            # ---- BEGIN students' TODO (fixed-window): count this request in its window ----
            # Counts belong to one window: once `current` is a newer window than self.current, every
            # client starts again from zero (and memory holds one window's clients, not every client
            # ever seen). Then the client's `count` in this window decides: below self.limit, the
            # request is `allowed` and counts too, so the next request of that client sees it.
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
    """Decorator for a handler method: with server.rate_limiter set, a client over its limit gets
    429."""
    @functools.wraps(handle)
    def wrapper(handler):
        limiter = handler.server.rate_limiter
        if limiter is None:
            return handle(handler)
        # who asks: trusted as told
        client = handler.headers.get("X-Client-Id") or handler.client_address[0]
        allowed, remaining, reset = limiter.allow(client)
        verdict = paint("ACCEPT", "green") if allowed else paint("REJECT", "red")
        handler.note += f" {verdict} {client[:12]}"
        if allowed:
            return handle(handler)
        # unused, but read: the client hears our 429, not a connection reset
        handler.read_body()
        # whole seconds, never "retry in 0 s"
        seconds = max(1, math.ceil(reset))
        policy = f'"{limiter.name}";q={limiter.limit};w={limiter.window:g}'
        error = f"limit {limiter.limit} per {limiter.window:g} s: retry in {seconds} s"
        handler.send_json(429, {"error": error, "node": handler.server.name},
                          {"Retry-After": str(seconds), "RateLimit-Policy": policy,
                           "RateLimit": f'"{limiter.name}";r={remaining};t={seconds}'})
    return wrapper
