"""HTTP with JSON bodies: the calls and the server pieces every process here uses.

send() makes one call and never raises; a GET or a PUT reuses a connection left open (keep-alive).
JsonServer and JsonHandler answer in JSON, refusals too: a body too large (413), too slow (408), without
a length (411) or with two (400), a key not in UTF-8 (400), a method nobody serves (501). Internal routes
take calls only from this run's processes: a coordinator gives them a secret (LABS_SECRET) and send() shows it.
"""
import errno
import hmac
import http.client
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from labs.plumbing.exercises import explain

MAX_BODY = 1024 * 1024  # bigger request bodies get 413
MAX_DEPTH = 100  # lists and objects in a value nest this deep at most: see shallow()
MAX_SNAPSHOT = 256 * 1024 * 1024  # a whole store's snapshot, sent between the processes of one run
BODY_DEADLINE = 2.0  # seconds to send a whole body (1 MiB takes milliseconds here): a trickle is cut off
SECRET_HEADER = "X-Run-Secret"
KEEP_IDLE = 32  # connections left open for the next requests, to any node; beyond, the oldest one is closed
IDLE, IDLE_LOCK = [], threading.Lock()  # (node, connection) left open, the oldest first
RESENDABLE = ("GET", "PUT")  # sent twice, they leave the store as sent once: safe to send again


def secret():
    """This run's secret, handed by a coordinator to the processes it starts; "" when started by hand."""
    return os.environ.get("LABS_SECRET", "")


def send(node, method, path, body=None, headers=None, timeout=30):
    """One HTTP request to node ("host:port") with a JSON body; returns (status, reply as a dict). Status 0: no
    HTTP answer at all (refused, timed out, garbled). A GET or a PUT goes on a connection an earlier one left
    open, if any (keep-alive: no new connection, no new thread in node), on a new one if node has closed it
    since. (http.client, unlike urllib, never sends to a proxy.)"""
    headers = {"Content-Type": "application/json", **({SECRET_HEADER: secret()} if secret() else {}),
               **(headers or {})}
    data = None if body is None else json.dumps(body).encode()
    kept = reuse(node) if method in RESENDABLE else None  # only what may be sent twice
    for connection in ([kept] if kept else []) + [http.client.HTTPConnection(node, timeout=timeout)]:
        try:
            if connection.sock:
                connection.sock.settimeout(timeout)
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, ValueError, http.client.HTTPException) as error:
            connection.close()
            if connection is kept and isinstance(error, ConnectionError):  # node closed it while it was idle
                continue
            return 0, {"error": str(error) or type(error).__name__}
        if method in RESENDABLE and not response.will_close:
            keep(node, connection)
        else:
            connection.close()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {"error": f"HTTP {response.status}, not JSON"}


def reuse(node):
    """The newest connection to node left open by an earlier request, or None."""
    with IDLE_LOCK:
        for index in reversed(range(len(IDLE))):
            if IDLE[index][0] == node:
                return IDLE.pop(index)[1]


def keep(node, connection):
    """Leave connection open for the next request to node; beyond KEEP_IDLE, close the oldest (its node may be gone)."""
    with IDLE_LOCK:
        IDLE.append((node, connection))
        oldest = IDLE.pop(0)[1] if len(IDLE) > KEEP_IDLE else None
    if oldest:
        oldest.close()


def shallow(value):
    """value, if its lists and objects nest at most MAX_DEPTH deep; else BadRequest (400): every replica that
    stores a value parses it again, and Python's json recurses."""
    level = [value]
    for _ in range(MAX_DEPTH):  # one level at a time: no recursion of our own
        level = [inner for item in level if isinstance(item, (list, dict))
                 for inner in (item.values() if isinstance(item, dict) else item)]
    if level:
        raise BadRequest(400, f"the value nests lists and objects more than {MAX_DEPTH} deep")
    return value


def decode_key(text):
    """A key from a URL path: percent-decoded as strict UTF-8, so two byte strings never name one key."""
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(400, "the key is not valid UTF-8 once percent-decoded")


class BadRequest(Exception):
    """A request we refuse, with its HTTP status and a message for people."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class JsonServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent clients
    allow_reuse_address = sys.platform != "win32"  # on Windows, reuse lets a second server take a port in use
    full = False  # True once this server said it reached the open-file limit

    def get_request(self):
        """accept(); at the open-file limit one line (once), and a pause: socketserver drops the error, calls again."""
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
    protocol_version = "HTTP/1.1"  # a connection may carry one request after another (keep-alive)
    disable_nagle_algorithm = True  # else a small answer waits ~40 ms on a connection kept open
    timeout = 30  # a client that stops sending mid-request, or stays idle, does not hold a thread forever

    def handle_one_request(self):
        """http.server's, and a BadRequest answered in JSON; so is an exercise not written yet (501, what to do)."""
        try:
            super().handle_one_request()
        except BadRequest as error:
            self.send_json(error.status, {"error": str(error)})
        except NotImplementedError as error:
            self.send_error(501, explain(error))
            self.log_line(501)

    def parse_request(self):
        """http.server's parsing, and a path in plain ASCII: other characters must come percent-encoded.
        A request with a body closes its connection after the answer, unless read_body() read all of it."""
        self.start, self.note = time.perf_counter(), ""  # this request's own, for its log line (lab 1's log_line)
        if not super().parse_request():
            return False
        if not self.path.isascii():
            self.send_error(400, "the path must be ASCII: percent-encode other characters")
            return False
        self.closes = self.close_connection  # as the client asked
        if self.headers.get_all("Content-Length", ["0"]) != ["0"] or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # a body left unread (or of two lengths) would be taken for the next request
        return True

    def read_body(self, limit=MAX_BODY):
        """The raw request body, all of it within BODY_DEADLINE seconds; BadRequest (400, 408, 411, 413) if not.
        A body over limit is read and dropped as it comes, never kept, so the client hears our 413."""
        length = ",".join(self.headers.get_all("Content-Length", [])) or None  # two of them read "12,60"
        if length is None:
            if self.command in ("PUT", "POST", "PATCH"):
                raise BadRequest(411, "a request with a body needs a Content-Length header")
            return b""
        if not (length.isascii() and length.isdigit()) or "Transfer-Encoding" in self.headers:  # where does it end?
            raise BadRequest(400, "Content-Length must be a whole number of bytes")
        left, chunks, deadline = int(length), [], time.monotonic() + BODY_DEADLINE
        too_large, ended = left > limit, False
        while left > 0 and not ended and time.monotonic() < deadline:
            self.connection.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.rfile.read1(min(left, 65536))
            except socket.timeout:
                continue  # the loop's deadline answers
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
        self.close_connection = self.closes  # all of it read: the connection may carry the next request
        return b"".join(chunks)

    def read_json(self, example, limit=MAX_BODY, needs=()):
        """The body as a JSON object with the fields in needs; BadRequest naming an example body if it is not."""
        try:
            body = json.loads(self.read_body(limit) or b"null")
        except (ValueError, RecursionError):  # RecursionError: nested too deep for Python's json
            body = None
        if not isinstance(body, dict) or not all(field in body for field in needs):
            raise BadRequest(400, f"body must be a JSON object like {example}")
        return body

    def from_this_run(self):
        """True if the caller showed this run's secret (always, when there is none: started by hand)."""
        return hmac.compare_digest(self.headers.get(SECRET_HEADER, "").encode(), secret().encode())  # any bytes

    def internal(self):
        """Guard of an internal route: 403 for callers that are not processes of this run."""
        if not self.from_this_run():
            raise BadRequest(403, "internal route: only the processes of this run may call it")

    def send_json(self, status, body, headers=None, pretty=False, log=True):
        """Answer in JSON (indented if pretty), then log one line (not log: a view polling would drown the log)."""
        data = json.dumps(body, indent=2 if pretty else None).encode() + b"\n"  # \n: curl's output ends its line
        self.send_body(status, data, "application/json", headers)
        if log:
            self.log_line(status)

    def send_file(self, path, content_type):
        """Answer with a file's bytes as they are (a page for a browser), then log one line."""
        self.send_body(200, Path(path).read_bytes(), content_type, {"Cache-Control": "no-cache"})
        self.log_line(200)

    def send_body(self, status, data, content_type, headers=None):
        """The status line, the headers and the body: what send_json() and send_file() share."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:  # the connection closes after this answer: the client must not keep it
            self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has headers only
            self.wfile.write(data)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a request line too long: 414, no such method: 501), in JSON too."""
        self.close_connection = True
        self.send_json(code, {"error": message or self.responses.get(code, ("error",))[0]}, log=False)

    def log_line(self, status):
        """One line per request answered; a server that wants one says how it looks."""

    def log_message(self, format, *args):
        """Silence http.server's own line per request: log_line() writes ours."""
