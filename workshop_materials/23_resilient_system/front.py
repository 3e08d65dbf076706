"""The front door of a resilient system: health checks, round robin, retries.

Step 23 of the workshop, built on step 01's request handler. The front asks every node's
/health twice a second and sends each request to the next healthy node, round robin. When
a node fails mid-request the front tries another, so the client never notices.

    python workshop_materials/23_resilient_system/front.py --port 8100 --nodes 8101,8102,8103
"""
import argparse
import http.client
import itertools
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "01_nodes"))
from client import opener, parse_nodes  # noqa: E402  (found through the line above)
from node import BadRequest, Handler  # noqa: E402

GRADUATE = Path(__file__).with_name("graduate.txt")
NODE_TIMEOUT = 5  # seconds a node may take to answer before we try another one
HEALTH_TIMEOUT = 1  # a health check is instant on a live node


def say(text):
    """One timestamped line, written at once: print's separate newline would let threads interleave."""
    print(f"{time.strftime('%H:%M:%S')}  {text}\n", end="", flush=True)


def forward(node, method, path, data, timeout):
    """One request to node ("host:port"); returns (status, body bytes). Status 0: no answer at all."""
    request = urllib.request.Request(f"http://{node}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, cut short
        return 0, str(error).encode()


class Front(ThreadingHTTPServer):
    """The nodes behind the front, and which of them are healthy right now."""

    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent clients

    def __init__(self, host, port, nodes, check_every):
        super().__init__((host, port), FrontHandler)
        self.nodes, self.check_every = nodes, check_every
        self.healthy = []
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def check_health(self):
        """Ask every node's /health; say which nodes went down or came back."""
        healthy = [node for node in self.nodes if forward(node, "GET", "/health", None, HEALTH_TIMEOUT)[0] == 200]
        with self.lock:
            for node in self.nodes:
                if (node in healthy) != (node in self.healthy):
                    say(f"{node} {'is healthy' if node in healthy else 'fails its health check'}")
            self.healthy = healthy

    def check_forever(self):
        while True:
            time.sleep(self.check_every)
            self.check_health()

    def in_turn(self):
        """The healthy nodes, starting with the one whose turn it is: round robin, then the fallbacks."""
        with self.lock:
            healthy = list(self.healthy)
            first = next(self.turn) % len(healthy) if healthy else 0
        return healthy[first:] + healthy[:first]

    def mark_down(self, node):
        """A node that failed a request is skipped until a health check sees it well again."""
        with self.lock:
            if node in self.healthy:
                self.healthy.remove(node)
                say(f"{node} failed a request: skipped until its health check passes")


class FrontHandler(Handler):
    """Step 01's handler (body limit, JSON errors, one log line), answering for the nodes behind the front."""

    def do_request(self):
        self.start, self.served_by, self.failed = time.monotonic(), "front", []
        if self.path == "/graduate" and self.command == "GET":
            self.send_bytes(200, GRADUATE.read_bytes(), "text/plain; charset=utf-8")
        elif self.path == "/health" and self.command == "GET":
            self.send_json(200, {"status": "ok", "nodes": self.server.nodes, "healthy": self.server.healthy})
        else:
            self.forward_to_a_node()
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_request  # step 01's names point at its own method

    def forward_to_a_node(self):
        """Try the healthy nodes in turn until one answers. Sending a key-value request again is
        safe: a PUT sets the same value twice, a GET reads twice, a repeated DELETE finds nothing."""
        try:
            data = self.read_body()
        except BadRequest as error:
            return self.send_json(error.status, {"error": str(error)})
        for node in self.server.in_turn():
            status, body = forward(node, self.command, self.path, data or None, NODE_TIMEOUT)
            if status:
                self.served_by = node
                return self.send_bytes(status, body, "application/json")
            self.failed.append(node)
            self.server.mark_down(node)
        self.send_json(503, {"error": "no healthy node to serve this request"})

    def send_bytes(self, status, data, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log_line(status)

    def log_line(self, status):
        ms = (time.monotonic() - self.start) * 1000
        retried = f"  (retried: {', '.join(self.failed)} failed)" if self.failed else ""
        say(f"{self.command:<6} {self.path:<20} {status}  {ms:6.0f} ms  {self.served_by}{retried}")


def main():
    parser = argparse.ArgumentParser(
        description="A front that balances requests over healthy nodes and retries on failure.",
        epilog="example: python workshop_materials/23_resilient_system/front.py --port 8100 --nodes 8101,8102,8103",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on (default 8100)")
    parser.add_argument("--nodes", type=parse_nodes, default=parse_nodes("8101,8102,8103"),
                        help="host:port list or bare ports (default 8101,8102,8103)")
    parser.add_argument("--check-every", type=float, default=0.5,
                        help="seconds between two health checks of every node (default 0.5)")
    args = parser.parse_args()
    if not args.nodes or args.check_every <= 0:
        parser.error("--nodes needs at least one node and --check-every must be above 0")
    try:
        front = Front(args.host, args.port, args.nodes, args.check_every)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    front.check_health()
    threading.Thread(target=front.check_forever, daemon=True).start()
    say(f"front ready on {args.host}:{front.server_port}, over {', '.join(args.nodes)}")
    try:
        front.serve_forever()
    except KeyboardInterrupt:
        say("front stopped")


if __name__ == "__main__":
    main()
