"""A front's mechanics: passing a request on to a backend, and the front's own page.

Lab 1. @load_balancer (load_balancer.py) decides where a request goes; forward() sends it there
and brings the answer back, and the Tally counts what each backend got. answers_itself() serves
what belongs to the front: GET / (labs/plumbing/front.html, a bar chart for a browser on the
projector), GET /status (the Tally it draws, twice a second) and a browser's /favicon.ico.
"""
import http.client
import json
import threading
import time
from pathlib import Path

PAGE = Path(__file__).parents[1] / "plumbing" / "front.html"
HOP = {"host", "connection", "keep-alive", "content-length", "transfer-encoding", "content-type", "date",
       "server"}  # headers about one connection or one body, not the request: never passed on


class Tally:
    """Per backend: answers, the 429s among them, requests without an answer, in flight, a latency average."""

    def __init__(self):
        self.rows, self.lock = {}, threading.Lock()

    def row(self, node):
        return self.rows.setdefault(node, {"node": node, "served": 0, "rejected": 0, "no_answer": 0,
                                           "in_flight": 0, "latency_ms": None})

    def started(self, node):
        with self.lock:
            self.row(node)["in_flight"] += 1

    def finished(self, node, status, ms):
        with self.lock:
            row = self.row(node)
            row["in_flight"] -= 1
            row["no_answer" if status == 0 else "rejected" if status == 429 else "served"] += 1
            old = ms if row["latency_ms"] is None else row["latency_ms"]
            row["latency_ms"] = round(old + 0.3 * (ms - old))

    def status(self, balancer):
        with self.lock:
            return {"strategy": balancer.name, "backends": [dict(self.row(node)) for node in list(balancer.nodes)]}


TALLY = Tally()  # one front per process


def forward(node, handler, data):
    """Send handler's request, its body data, to node ("host:port"); returns (status, reply as a dict,
    headers to pass back). Status 0: no answer (refused, timed out, not JSON)."""
    TALLY.started(node)
    started, connection = time.perf_counter(), http.client.HTTPConnection(node, timeout=30)  # never a proxy
    try:
        headers = {name: value for name, value in handler.headers.items() if name.lower() not in HOP}
        connection.request(handler.command, handler.path, data or None, headers)
        response = connection.getresponse()
        status, reply = response.status, json.loads(response.read() or b"{}")
        headers = {name: value for name, value in response.getheaders() if name.lower() not in HOP}
    except (OSError, ValueError, http.client.HTTPException) as error:
        status, reply, headers = 0, {"error": f"{node}: {error}"}, {}
    finally:
        connection.close()
    TALLY.finished(node, status, (time.perf_counter() - started) * 1000)
    return status, reply, headers


def answers_itself(handler):
    """Answer the front's own routes (never forwarded, never counted); True if this request was one."""
    path = handler.path.partition("?")[0]
    if (handler.command, path) == ("GET", "/"):
        send(handler, 200, PAGE.read_bytes(), "text/html; charset=utf-8")
        handler.log_line(200)  # the page's load is one line; its polls of /status would drown the log
    elif (handler.command, path) == ("GET", "/status"):
        send(handler, 200, json.dumps(TALLY.status(handler.server.balancer)).encode(), "application/json")
    elif path == "/favicon.ico":
        send(handler, 204, b"", "image/x-icon")
    else:
        return False
    return True


def send(handler, status, data, content_type):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-cache")
    handler.end_headers()
    handler.wfile.write(data)
