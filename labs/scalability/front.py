"""A front's mechanics and its page: passing a request on to a backend, and what a browser sees.

Lab 1, not a lesson. @load_balancer (load_balancer.py) decides where a request goes; forward()
sends it there and brings the answer back, and the tally counts what each backend answered.
answers_itself() serves what belongs to the front: GET / (labs/plumbing/front.html, a bar chart
for the projector), GET /status (the tally it draws, twice a second) and a browser's favicon.
"""
import json
import threading
import time
from pathlib import Path

from labs.plumbing.jsonhttp import BadRequest
from labs.plumbing.network import send

PAGE = Path(__file__).parents[1] / "plumbing" / "front.html"
TALLY, LOCK = {}, threading.Lock()


def row(node):
    return TALLY.setdefault(node, {"node": node, "served": 0, "rejected": 0, "no_answer": 0,
                                   "in_flight": 0, "ms": 0.0})


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
        row(node)["in_flight"] += 1
    started = time.perf_counter()
    client = {"X-Client-Id": handler.headers["X-Client-Id"]} if "X-Client-Id" in handler.headers else {}
    status, reply = send(node, handler.command, handler.path, body, client)
    ms = (time.perf_counter() - started) * 1000
    with LOCK:
        counts = row(node)
        counts["in_flight"] -= 1
        counts["no_answer" if status == 0 else "rejected" if status == 429 else "served"] += 1
        counts["ms"] += ms
    return status, reply


def answers_itself(handler):
    """Answer the front's own routes (never forwarded, never counted); True if this request was one."""
    path = handler.path.partition("?")[0]
    if (handler.command, path) == ("GET", "/"):
        send_bytes(handler, 200, PAGE.read_bytes(), "text/html; charset=utf-8")
        # the page's load is one line; its polls of /status would drown the log
        handler.log_line(200)
    elif (handler.command, path) == ("GET", "/status"):
        with LOCK:
            backends = [dict(row(node)) for node in handler.server.balancer.nodes]
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
