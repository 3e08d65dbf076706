"""Rate limiting: how many requests may one client send? One strategy class per answer.

FixedWindow admits at most `limit` requests per client in each window of `window` seconds.
@rate_limited puts it in front of node.py's handler: a request over the limit gets HTTP 429
with Retry-After and the IETF draft RateLimit headers, and the node logs ACCEPT or REJECT.

    python labs/scalability/node.py --port 8001 --rate-limit fixed-window --limit 5 --window 1
"""
import contextlib
import functools
import math
import threading
import time

from labs.plumbing.colour import paint
from labs.plumbing.jsonhttp import BadRequest

FORGET_AFTER = 1000  # clients counted before the counts of windows that are over are dropped


class FixedWindow:
    """At most `limit` requests per client in each window of `window` seconds; every window starts from zero."""

    name = "fixed-window"

    def __init__(self, limit, window, clock=time.monotonic):
        self.limit, self.window = limit, window
        self.clock = clock  # monotonic: a wall clock set back by NTP would reopen a closed window
        self.lock = threading.Lock()
        self.counts = {}  # client -> (number of its current window, requests admitted in that window)
        self.forgotten = None  # the window in which old counts were last dropped

    def allow(self, client):
        """May client send one more request now? Returns (allowed, remaining, seconds until the next window)."""
        now = self.clock()
        with self.lock:  # check and count in one step: 50 threads at once still admit only `limit`
            self.forget_old_windows(int(now // self.window))
            # ---- BEGIN students' TODO (fixed-window): count this request in the client's window ----
            # Set three names, which the return line below uses:
            # 1. current: the number of the window `now` is in: 0 for [0, window), 1 for [window, 2 * window), ...
            # 2. count: the requests admitted for client in window `current` so far. self.counts[client] holds
            #    (its window, its count) from its last request; a count from an older window starts again from 0.
            # 3. allowed: True if count < self.limit; then count this request too. Store (current, count) back.
            current = int(now // self.window)
            window, count = self.counts.get(client, (current, 0))
            if window != current:
                count = 0
            allowed = count < self.limit
            if allowed:
                count += 1
            self.counts[client] = (current, count)
            # ---- END students' TODO ----
        return allowed, self.limit - count, (current + 1) * self.window - now

    def forget_old_windows(self, current):
        """Memory stays bounded however many clients come and go: once more than FORGET_AFTER clients are
        counted, the counts of windows that are over are dropped (at most once per window)."""
        if len(self.counts) > FORGET_AFTER and current != self.forgotten:
            self.counts = {client: (window, count) for client, (window, count) in self.counts.items()
                           if window >= current}
            self.forgotten = current


STRATEGIES = {"fixed-window": FixedWindow}


def client_id(handler):
    """Who is asking: the X-Client-Id header, else the client's address."""
    return handler.headers.get("X-Client-Id") or handler.client_address[0]


def drain(handler):
    """Read the body we will not use, so the client hears our answer instead of a reset connection."""
    with contextlib.suppress(BadRequest):
        handler.read_body()


def rate_limited(handle):
    """Decorator for a handler method: with server.rate_limiter set, answer 429 to a client over its limit."""
    @functools.wraps(handle)
    def wrapper(handler):
        limiter = handler.server.rate_limiter
        if limiter is None:
            return handle(handler)
        client = client_id(handler)
        allowed, remaining, reset = limiter.allow(client)
        if allowed:
            handler.note = f"{paint('ACCEPT', 'green')} {client[:12]}"
            return handle(handler)
        handler.note = f"{paint('REJECT', 'red')} {client[:12]}"
        seconds = max(1, math.ceil(reset))  # whole seconds, and never "retry in 0 s"
        drain(handler)
        handler.send_json(429, {"error": f"limit {limiter.limit} per {limiter.window:g} s per client: "
                                         f"retry in {seconds} s"},
                          {"Retry-After": str(seconds),
                           "RateLimit-Policy": f'"{limiter.name}";q={limiter.limit};w={limiter.window:g}',
                           "RateLimit": f'"{limiter.name}";r={remaining};t={seconds}'})
    return wrapper
