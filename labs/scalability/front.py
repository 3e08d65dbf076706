"""A front's mechanics (lab 1, not a lesson): forward() passes a request on to the backend that
@load_balancer picked and tallies the answer; answers_itself() serves the front's own routes:
its page (GET /, labs/plumbing/front.html), the tally the page draws (GET /status), a favicon.
"""
import json
import threading
import time
from collections import defaultdict
from pathlib import Path

from labs.plumbing.jsonhttp import BadRequest
from labs.plumbing.network import send

PAGE = Path(__file__).parents[1] / "plumbing" / "front.html"
# backend -> its answers, for the page
TALLY = defaultdict(lambda: {"served": 0, "rejected": 0, "no_answer": 0, "in_flight": 0, "ms": 0.0})
LOCK = threading.Lock()


def read_json(handler):
    """The request's body, parsed (None if it has none), to pass on; 400 if it is not JSON."""
    data = handler.read_body()
    try:
        return json.loads(data) if data else None
    except (ValueError, RecursionError):
        raise BadRequest(400, "body is not valid JSON")


def forward(node, handler, body):
    """Send handler's request with body to node ("host:port"); returns (status, reply).
    Status 0: no answer. The tally counts it, for the page."""
    with LOCK:
        TALLY[node]["in_flight"] += 1
    started = time.perf_counter()
    client = handler.headers["X-Client-Id"]
    status, reply = send(node, handler.command, handler.path, body,
                         {} if client is None else {"X-Client-Id": client})
    ms = (time.perf_counter() - started) * 1000
    with LOCK:
        TALLY[node]["in_flight"] -= 1
        TALLY[node]["no_answer" if status == 0 else "rejected" if status == 429 else "served"] += 1
        TALLY[node]["ms"] += ms
    return status, reply


def answers_itself(handler):
    """Answer the front's own routes (never forwarded, never counted); True if this was one."""
    path = handler.path.partition("?")[0]
    if (handler.command, path) == ("GET", "/"):
        send_bytes(handler, 200, PAGE.read_bytes(), "text/html; charset=utf-8")
        # the page's load is one line; its polls of /status would drown the log
        handler.log_line(200)
    elif (handler.command, path) == ("GET", "/status"):
        with LOCK:
            backends = [{"node": node, **TALLY[node]} for node in handler.server.balancer.nodes]
        for counts in backends:
            answered = counts["served"] + counts["rejected"] + counts["no_answer"]
            counts["latency_ms"] = round(counts.pop("ms") / answered) if answered else None
        status = {"strategy": handler.server.balancer.name, "backends": backends}
        send_bytes(handler, 200, json.dumps(status).encode(), "application/json")
    elif path == "/favicon.ico":
        send_bytes(handler, 204, b"", "image/x-icon")
    else:
        return False
    return True


def send_bytes(handler, status, data, content_type):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-cache")
    handler.end_headers()
    handler.wfile.write(data)
