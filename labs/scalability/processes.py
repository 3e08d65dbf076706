"""Start, watch and stop node processes: what demos, benchmarks and coordinators share.

Whoever starts a process stops it: stop() asks politely (terminate), then insists
(kill). stop_on_signals() turns SIGTERM and a closed terminal into a normal exit,
so the `finally:` that stops the children runs then too.
"""
import os
import signal
import socket
import subprocess
import sys
import time

from labs.scalability.client import send


def start(script, *args, quiet=True, log=None):
    """Run `python -u script args`; its output goes to the log file if given, else is dropped when quiet,
    else shown as it comes."""
    return subprocess.Popen([sys.executable, "-u", str(script), *map(str, args)],
                            stdout=log or (subprocess.DEVNULL if quiet else None), stderr=subprocess.STDOUT if log else None)


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


def wait_healthy(node, deadline=10):
    """Poll GET /health on node ("host:port") until it answers 200; False after deadline seconds."""
    end = time.monotonic() + deadline
    while send(node, "GET", "/health")[0] != 200:
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def stop(process, grace=3):
    """Stop a child: terminate(), then kill() if it is still there after grace seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_on_signals():
    """Make SIGTERM (and SIGHUP, a closed terminal, where it exists) exit like Ctrl-C does."""
    def leave(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, leave)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, leave)
