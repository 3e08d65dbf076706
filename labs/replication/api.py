"""The coordinator's HTTP API: the /kv API of a node, plus GET /status for the live watch.

Lab 2. Lab 1's client and curl drive the coordinator as if it were one node; behind it, writes
go through the leader with quorum W and reads to R followers.

    curl -X PUT localhost:9000/kv/colour -d '{"value": "blue"}'
"""
import time
from http.server import ThreadingHTTPServer
from urllib.parse import unquote

from labs.replication.node import BadRequest, Handler, parse_value


class CoordinatorHandler(Handler):
    """The coordinator's HTTP API: /kv like a node, /health and /status."""

    def do_request(self):
        self.start = time.monotonic()
        coordinator, path, method = self.server.coordinator, self.path, self.command
        try:
            if method == "GET" and path in ("/health", "/status"):
                status, body = 200, coordinator.status()
            elif path == "/kv" and method == "GET":
                status, body = coordinator.keys()
            elif not path.startswith("/kv/") or len(path) == 4:
                raise BadRequest(404, f"no such path: {path}")
            elif method == "GET":
                status, body = coordinator.read(unquote(path[4:]))
            elif method == "PUT":
                status, body = coordinator.write(unquote(path[4:]), parse_value(self.read_body()))
            elif method == "DELETE":
                status, body = coordinator.write(unquote(path[4:]), deleted=True)
            else:
                raise BadRequest(405, f"{method} is not allowed on {path}")
        except BadRequest as error:
            status, body = error.status, {"error": str(error)}
        self.send_json(status, body)
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_request

    def log_line(self, status):
        """No line per request: the coordinator's events say what happened."""


class CoordinatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent clients

    def __init__(self, host, port, coordinator):
        super().__init__((host, port), CoordinatorHandler)
        self.coordinator = coordinator
