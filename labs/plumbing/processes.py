"""Start, watch and stop child processes: what demos, benchmarks and coordinators share.

Whoever starts a process stops it: stop() asks politely (terminate), then insists (kill).
A child also goes when its parent dies, however it dies (kill -9 too): start() gives it a
pipe as stdin, and exit_with_parent(), called by every server, exits when that pipe closes.
stop_on_signals() turns SIGTERM and a closed terminal into a normal exit, so `finally:` runs.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from labs.plumbing.jsonhttp import send

LIFELINE = "LABS_LIFELINE"  # set in the environment of the children start() starts


def start(script, *args, quiet=True, log=None, env=None):
    """Run `python -u script args`; its output goes to the log file if given, else is dropped when quiet,
    else shown as it comes."""
    return subprocess.Popen([sys.executable, "-u", str(script), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=log or (subprocess.DEVNULL if quiet else None),
                            stderr=subprocess.STDOUT if log else None,
                            env={**os.environ, **(env or {}), LIFELINE: "1"})


def exit_with_parent():
    """In a child that start() started: exit as soon as the parent's end of our stdin closes."""
    if os.environ.pop(LIFELINE, None):
        stdin = sys.stdin.fileno()

        def watch():
            while os.read(stdin, 4096):  # the raw descriptor: no lock that exiting would wait for
                pass
            os._exit(0)  # end of file: the parent has gone
        threading.Thread(target=watch, daemon=True).start()


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
    """Poll GET /health on node ("host:port") until it answers 200, with the pid of process if given (not another
    program on its port); False after deadline seconds, or at once when process exits (its port taken, a bad flag)."""
    end = time.monotonic() + deadline
    while (got := send(node, "GET", "/health", timeout=1))[0] != 200 or process and got[1].get("pid") != process.pid:
        if time.monotonic() > end or process and process.poll() is not None:
            return False
        time.sleep(0.05)
    return True


def rss_mb(pid):
    """The resident memory of process pid in MB, for the benches; None where we cannot tell (Windows)."""
    try:
        output = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True).stdout
        return int(output.strip()) / 1024
    except (OSError, ValueError):
        return None


def stop(process, grace=3):
    """Stop a child: terminate(), then kill() if it is still there after grace seconds."""
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
    """Run a demo's, bench's or tour's main(): it goes when its parent goes, and Ctrl-C or SIGTERM end it
    with one line (its own `finally:` stops its children first), not a traceback."""
    exit_with_parent()
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
