"""The coordinator's HTTP API: the /kv API of a node, plus GET /status for the live watch and
GET / for the picture in a browser (labs/plumbing/cluster.html, which polls /status).

Lab 2. Lab 1's client and curl drive the coordinator as if it were one node; behind it, writes
go through the leader with quorum W and reads to R followers.

    curl -X PUT localhost:9000/kv/colour -d '{"value": "blue"}'
"""
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from labs.plumbing.jsonhttp import BadRequest, JsonHandler, JsonServer, decode_key

VIEW = Path(__file__).parents[1] / "plumbing" / "cluster.html"  # the cluster as a picture, for a projector


class CoordinatorHandler(JsonHandler):
    """/kv like a node, /health and /status (indented with ?pretty), / the picture."""

    def do_request(self):
        coordinator, method, url = self.server.coordinator, self.command, urlsplit(self.path)
        if method == "GET" and url.path == "/":
            return self.send_file(VIEW, "text/html; charset=utf-8")
        if method == "GET" and url.path in ("/health", "/status"):
            return self.send_json(200, coordinator.status(), pretty="pretty" in parse_qs(url.query, True))
        if url.path == "/kv" and method == "GET":
            status, body = coordinator.keys()
        elif not url.path.startswith("/kv/") or len(url.path) == 4:
            raise BadRequest(404, f"no such path: {url.path}")
        elif method == "GET":
            status, body = coordinator.read(decode_key(url.path[4:]))
        elif method == "PUT":
            value = self.read_json('{"value": 42}', needs=["value"])["value"]
            status, body = coordinator.write(decode_key(url.path[4:]), value)
        elif method == "DELETE":
            status, body = coordinator.write(decode_key(url.path[4:]), deleted=True)
        else:
            raise BadRequest(405, f"{method} is not allowed on {url.path}")
        self.send_json(status, body)
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request


class CoordinatorServer(JsonServer):
    def __init__(self, address, handler, coordinator):
        super().__init__(address, handler)
        self.coordinator = coordinator
