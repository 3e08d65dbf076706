"""HTTP with JSON bodies, the server side: one way to answer, one way to route.

JsonHandler answers in JSON, refusals too, and routes by ROUTES: (method, path) -> a function of the
handler that answers (status, body); a path ending in / passes the rest on (/kv/ -> the key).
Paths in INTERNAL answer only this run's processes (the secret a coordinator hands its children).
"""
import errno
import hmac
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from labs.plumbing import network

MAX_BODY = 1024 * 1024
MAX_DEPTH = 100
MAX_SNAPSHOT = 256 * 1024 * 1024
BODY_DEADLINE = 2.0


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def shallow(value):
    """value, if it nests at most MAX_DEPTH deep; else 400: every replica parses it again, and json recurses."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [inner for item in level if isinstance(item, (list, dict))
                 for inner in (item.values() if isinstance(item, dict) else item)]
    if level:
        raise BadRequest(400, f"the value nests lists and objects more than {MAX_DEPTH} deep")
    return value


def decode_key(text):
    """A key from a URL path, percent-decoded as strict UTF-8: two byte strings never name one key."""
    if not text:
        raise BadRequest(404, "no key: the path is /kv/<key>")
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(400, "the key is not valid UTF-8 once percent-decoded")


class JsonServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    # on Windows, address reuse would let a second server take a port in use
    allow_reuse_address = sys.platform != "win32"
    full = False

    def server_activate(self):
        """Listen; the first server a process starts gives the process its address (for a partition)."""
        super().server_activate()
        network.listening(f"127.0.0.1:{self.server_port}")

    def get_request(self):
        """accept(); at the open-file limit, one line (once) and a pause before socketserver tries again."""
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in (errno.EMFILE, errno.ENFILE) and not self.full:
                self.full = True
                print(f"{time.strftime('%H:%M:%S')} too many open files: ulimit -n 1024 raises the limit", flush=True)
            time.sleep(0.05)
            raise

    def handle_error(self, request, client_address):
        """A client that hangs up mid-answer is no news; anything else is one line, not a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            print(f"error answering {client_address[0]}: {sys.exc_info()[1]!r}", file=sys.stderr, flush=True)


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # else a small answer waits ~40 ms on a connection kept open
    disable_nagle_algorithm = True
    timeout = 30
    ROUTES = {}
    INTERNAL = ()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except BadRequest as error:
            self.send_json(error.status, {"error": str(error)})

    def parse_request(self):
        """http.server's, and a path in ASCII. A body left unread closes the connection after the answer."""
        self.start, self.note = time.perf_counter(), ""
        if not super().parse_request():
            return False
        if not self.path.isascii():
            self.send_error(400, "the path must be ASCII: percent-encode other characters")
            return False
        self.closes = self.close_connection
        if self.headers.get_all("Content-Length", ["0"]) != ["0"] or "Transfer-Encoding" in self.headers:
            self.close_connection = True
        return True

    def do_request(self):
        path = urlsplit(self.path).path
        head, _, rest = path[1:].partition("/")
        # "/kv/k": the route "/kv/" with "k"; "/kv/" and "/kv": the route "/kv"
        route = (self.command, f"/{head}/") if rest else (self.command, path.rstrip("/") or "/")
        answers = self.ROUTES.get(route)
        if answers is None:
            return self.unrouted()
        if route[1] in self.INTERNAL and not self.from_this_run():
            raise BadRequest(403, "internal route: only the processes of this run may call it")
        answer = answers(self, *([decode_key(rest)] if rest else []))
        if answer:
            self.send_json(*answer)
    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = do_OPTIONS = do_request

    def unrouted(self):
        """A path ROUTES does not name: 405 if it names it with another method, else 404."""
        path = urlsplit(self.path).path
        known = any(path == route or route.endswith("/") and len(route) > 1 and path.startswith(route)
                    for _, route in self.ROUTES)
        raise BadRequest(405 if known else 404, f"no {self.command} {path} here")

    def from_this_run(self):
        """True if the caller showed this run's secret (always, when there is none: started by hand)."""
        return hmac.compare_digest(self.headers.get(network.SECRET_HEADER, "").encode(), network.secret().encode())

    def read_body(self, limit=MAX_BODY):
        """The raw body, all of it within BODY_DEADLINE seconds; else 400, 408, 411, or 413 (read, dropped)."""
        length = ",".join(self.headers.get_all("Content-Length", [])) or None
        if length is None:
            if self.command in ("PUT", "POST", "PATCH"):
                raise BadRequest(411, "a request with a body needs a Content-Length header")
            return b""
        if not (length.isascii() and length.isdigit()) or "Transfer-Encoding" in self.headers:
            raise BadRequest(400, "Content-Length must be a whole number of bytes")
        left, chunks, deadline = int(length), [], time.monotonic() + BODY_DEADLINE
        too_large, ended = left > limit, False
        while left > 0 and not ended and time.monotonic() < deadline:
            self.connection.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.rfile.read1(min(left, 65536))
            except socket.timeout:
                continue
            ended, left = not chunk, left - len(chunk)
            if not too_large:
                chunks.append(chunk)
        if too_large:
            raise BadRequest(413, f"body larger than {limit} bytes")
        if ended:
            raise BadRequest(400, "the body is shorter than its Content-Length")
        if left > 0:
            raise BadRequest(408, f"the body did not arrive within {BODY_DEADLINE:g} s")
        self.connection.settimeout(self.timeout)
        self.close_connection = self.closes
        return b"".join(chunks)

    def read_json(self, example, limit=MAX_BODY, needs=()):
        """The body as a JSON object with the fields in needs; BadRequest naming an example if not."""
        try:
            body = json.loads(self.read_body(limit) or b"null")
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict) or not all(field in body for field in needs):
            raise BadRequest(400, f"body must be a JSON object like {example}")
        return body

    def send_json(self, status, body, headers=None):
        """Answer in JSON, then log one line (log_line: each server says how its line looks)."""
        self.send_body(status, json.dumps(body).encode() + b"\n", "application/json", headers)
        self.log_line(status)

    def send_body(self, status, data, content_type, headers=None):
        self.send_response(status)
        headers = {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})}
        if self.close_connection:
            headers["Connection"] = "close"
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a request line too long: 414, no such method: 501), in JSON too."""
        self.close_connection = True
        self.start, self.note = getattr(self, "start", time.perf_counter()), ""
        # refused before its request line was read: no method or path to log
        self.command, self.path = self.command or "-", getattr(self, "path", "-")
        self.send_json(code, {"error": message or self.responses.get(code, ("error",))[0]})

    def log_message(self, format, *args):
        """Silence http.server's own line per request: log_line() writes ours."""
