"""What every test needs: free ports, real processes that always stop, HTTP calls, polling.

Tests start the project's scripts as real processes on ports chosen at run time, poll
instead of sleeping, and stop every process with addCleanup, even when the test fails.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from labs.plumbing.exercises import missing
from labs.plumbing.processes import port_free

ROOT = Path(__file__).resolve().parent.parent
# A suite started in the background (`make test &`) has Ctrl-C ignored, and the scripts it starts would inherit
# that: a Python handler instead is reset for each child, which then takes Ctrl-C as a terminal gives it.
signal.signal(signal.SIGINT, signal.default_int_handler)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never a proxy


SLICE = 250  # ports each test process keeps to itself, in 12000-31999: below the ports a system gives outgoing
# connections (Linux 32768-60999; macOS, Windows 49152-65535), so none takes ours between our look and a node's bind
claimed = None  # the socket listening on our slice's first port: that claims the slice, until this process ends
next_port = None


def claim_slice():
    """Listen on the first port of a slice nobody listens on: no other test process (of this suite or of one
    beside it) hands out its ports, and the slice is free again when this process ends, however it ends."""
    for first in range(12000, 32000, SLICE):
        try:
            return listen_on(first)
        except OSError:
            pass
    raise RuntimeError("every slice of test ports is taken")


def listen_on(port):
    """A socket listening on port, bound as our servers bind (past TIME_WAIT); OSError if one listens there."""
    sock = socket.socket()
    if os.name != "nt":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        raise


def free_port():
    """A port nobody listens on right now, from this process's slice."""
    return free_block(1)


def free_block(size):
    """The first of size consecutive ports of this process's slice that are all free right now."""
    global claimed, next_port
    if claimed is None:
        claimed = claim_slice()
        next_port = claimed.getsockname()[1] + 1
    start, end = claimed.getsockname()[1] + 1, claimed.getsockname()[1] + SLICE
    for _ in range(SLICE):
        first = next_port if next_port + size <= end else start  # on to the next ports, from the start when used up
        next_port = first + size
        if all(port_free(port) for port in range(first, first + size)):  # as our servers bind: past TIME_WAIT
            return first
    raise RuntimeError(f"no {size} free ports in a row in {start}-{end - 1}")


def needs(*exercises):
    """Skip a test (or a class of them) while one of these exercises is not written: the students' edition."""
    unwritten = missing(exercises)
    return unittest.skipIf(unwritten, f"needs the exercise {', '.join(unwritten)}, not written yet")


def http(method, url, body=None, headers=None, timeout=10):
    """One request; returns (status, parsed JSON or raw text, headers). Status 0: no answer."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw, head = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, head = error.code, error.read(), error.headers
    except (OSError, HTTPException):  # refused, timed out, or cut off mid-answer
        return 0, None, {}
    try:
        return status, json.loads(raw), head
    except ValueError:
        return status, raw, head


POSIX_ONLY = unittest.skipIf(sys.platform == "win32", "SIGSTOP and SIGCONT exist on Linux and macOS only")


def pause(test, pid):
    """SIGSTOP a process; it resumes when the test ends, whatever happens."""
    os.kill(pid, signal.SIGSTOP)
    test.addCleanup(resume, pid)


def resume(pid):
    """SIGCONT a paused process, if it is still there, so that it can be stopped."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def running(pid):
    """True if process pid exists (a paused one too)."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def health(port):
    """A node's /health reply ({} if it does not answer 200)."""
    status, body, _ = http("GET", f"http://127.0.0.1:{port}/health")
    return body if status == 200 else {}


def wait_until(check, deadline=10, what="condition"):
    """Poll check() until it returns something true; fail the test after deadline seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline} s waiting for {what}")


def holds_for(check, seconds, what="condition"):
    """Poll check() for seconds and fail the test the first time it is false: something that must not happen."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not check():
            raise AssertionError(f"no longer true after {seconds - (end - time.monotonic()):.1f} s: {what}")
        time.sleep(0.1)


def wait_healthy(port, deadline=10):
    wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200,
               deadline, f"/health on port {port}")


def wait_printed(process, pattern, deadline=30):
    """Wait until process has printed a line matching the regular expression pattern (it may print after it
    answered); fail at once, with what it printed, if it ends first."""
    end = time.monotonic() + deadline
    while not re.search(pattern, output(process)):
        if process.poll() is not None or time.monotonic() > end:
            why = "it ended" if process.poll() is not None else f"{deadline} s passed"
            raise AssertionError(f"{why} before it printed {pattern!r}; it printed:\n{output(process)[-800:]}")
        time.sleep(0.05)


def closed(ports):
    """True if none of ports answers HTTP any more."""
    return all(http("GET", f"http://127.0.0.1:{port}/health", timeout=1)[0] == 0 for port in ports)


def raw_request(port, data, timeout=10):
    """Send bytes exactly as given (no client library tidies them up) and read until the server hangs up.
    Returns (status, headers with lower-case names, body bytes); status 0: it hung up without an answer."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        try:
            for chunk in iter(lambda: sock.recv(65536), b""):
                answer += chunk
        except OSError:  # a reset after the answer (our bytes left unread), or no answer in time
            pass
    return parse_answer(answer)


def parse_answer(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1]) if status_line.startswith("HTTP/") else 0
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def assert_cut_off(test, clients):
    """Each trickling client got 408 (or was hung up on) within about the body deadline."""
    from labs.plumbing.jsonhttp import BODY_DEADLINE
    for client in clients:
        client.join(BODY_DEADLINE + 5)
        test.assertIn(client.status, (408, 0))  # 0: the server hung up
        test.assertLess(client.seconds, BODY_DEADLINE + 2)


class Trickle(threading.Thread):
    """A slow client: a PUT announcing a 100-byte body, then one byte every `every` seconds, until the server
    answers or hangs up. Afterwards: .status (0: it hung up without an answer) and .seconds it took."""

    def __init__(self, port, every=0.5, give_up=20):
        super().__init__(daemon=True)
        self.port, self.every, self.give_up = port, every, give_up
        self.sent, self.status, self.seconds = 0, None, None
        self.start()

    def run(self):
        started, answer = time.monotonic(), b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.every) as sock:
            sock.sendall(b"PUT /kv/slow HTTP/1.0\r\nContent-Length: 100\r\n\r\n")
            while time.monotonic() - started < self.give_up:
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    if not answer:  # no answer yet: one more byte
                        try:
                            sock.sendall(b"x")
                        except OSError:
                            break
                        self.sent += 1
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                answer += chunk
        self.status, self.seconds = parse_answer(answer)[0], time.monotonic() - started


def stop(process):
    """terminate(), then kill() if it does not go within a few seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        if stream:
            stream.close()


def start(test, script, *args, stdin=None, env=None):
    """Start `python script args` from the repository root; stopped when the test ends.

    env adds to (a value of None: removes from) our environment. Its output goes to a
    temporary file: read it with output(process)."""
    log, process_output = output_file(test)
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    process = subprocess.Popen([sys.executable, "-u", str(ROOT / script), *map(str, args)], cwd=ROOT,
                               stdin=stdin, stdout=log, stderr=subprocess.STDOUT,
                               env={name: value for name, value in environment.items() if value is not None})
    os.close(log)
    process.output = process_output
    test.addCleanup(stop, process)
    return process


def logs_folder(test):
    """A fresh folder for a coordinator's --logs, removed when the test ends (after its processes stop)."""
    folder = Path(tempfile.mkdtemp(prefix="labs-logs-"))
    test.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    return folder


def start_node(test, script, *args):
    """A node (any script taking --port) on a free port, answering /health; returns (port, process)."""
    port = free_port()
    process = start(test, script, "--port", port, *args)
    wait_healthy(port)
    return port, process


def output_file(test):
    """A file for a process's output (an OS handle and its path), removed when the test ends.

    The test reads it by its path: reading through the process's own handle would share one
    file offset with the process, and a seek(0) there would make it write over its first lines."""
    handle, path = tempfile.mkstemp(prefix="labs-output-")
    test.addCleanup(os.remove, path)
    return handle, Path(path)


def output(process):
    """Everything the process has printed so far."""
    return process.output.read_text(errors="replace")


def run(script, *args, timeout=60, input=None):
    """Run a script to the end; returns the CompletedProcess with its text output."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], cwd=ROOT, input=input,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
