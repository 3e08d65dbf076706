"""Start, watch and stop child processes: what demos, benchmarks and coordinators share.

Whoever starts a process stops it (stop(): terminate, then kill). A child also goes when its parent
dies, however it dies (kill -9 too): start() runs it through lifeline.py, which exits as soon as its
stdin, a pipe from the parent, closes. stop_on_signals(): SIGTERM or a closed terminal exits normally.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from labs.plumbing.network import send

LIFELINE = Path(__file__).with_name("lifeline.py")


def start(script, *args, quiet=True, log=None):
    """Run `python -u script args` as a child that goes when we go (its stdin is our pipe, see lifeline.py);
    its output goes to log (a file, or subprocess.PIPE) if given, else is dropped when quiet (not its errors)."""
    return subprocess.Popen([sys.executable, "-u", str(LIFELINE), str(script), *map(str, args)],
                            stdin=subprocess.PIPE, stdout=log or (subprocess.DEVNULL if quiet else None),
                            stderr=subprocess.STDOUT if log else None)


def output(child):
    """All that a child started with log=subprocess.PIPE printed, once it ended. Line by line, so that Ctrl-C
    stops the wait; not communicate(): closing the child's stdin (its lifeline) would stop it at once."""
    lines = [line.decode() for line in child.stdout]
    child.wait()
    return "".join(lines)


def port_free(port):
    """True if nothing listens on 127.0.0.1:port (checked with the same address reuse rule as our servers)."""
    with socket.socket() as sock:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_healthy(node, deadline=10, process=None):
    """Poll GET /health on node ("host:port") until it answers 200, with the pid of process if it says one
    (not another program on its port); False after deadline seconds, or at once when process exits."""
    end = time.monotonic() + deadline
    while (got := send(node, "GET", "/health", timeout=1))[0] != 200 or \
            process and got[1].get("pid", process.pid) != process.pid:
        if time.monotonic() > end or process and process.poll() is not None:
            return False
        time.sleep(0.05)
    return True


def stop(process, grace=3):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin:
        process.stdin.close()


def run_script(main):
    """Run a demo's or bench's main(): Ctrl-C or SIGTERM end it with one line, not a traceback."""
    stop_on_signals()
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\ninterrupted")


def stop_on_signals():
    """Make SIGTERM (and SIGHUP, a closed terminal, where it exists) exit like Ctrl-C does."""
    def leave(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, leave)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, leave)
