"""The command-line flags of the labs, each defined once: one name, one meaning, everywhere; and serve().

A script asks for the flags it takes, with its own defaults: add(parser, "port", port=9001). A bad
value (a port out of range, a negative delay, nan) is one clear line and exit code 2, from argparse.
serve() starts a server the same way in every script. The root README lists the flags.
"""
import argparse
import math
from pathlib import Path

from labs.plumbing import boundary


def port(text):
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 1 to 65535")
    return int(text)


def ports(addresses):
    """":9102, :9103" for ["127.0.0.1:9102", "127.0.0.1:9103"]: how a line names nodes on this machine."""
    return ", ".join(":" + address.rpartition(":")[2] for address in addresses) or "nobody"


def at_least(low, kind=float):
    """argparse type: a number (not nan, not infinite) of at least low."""
    def number(text):
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= low):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number from {low:g}")
        return value
    return number


finite = at_least(-math.inf)
FLAGS = {
    "host": dict(default="127.0.0.1", help="address to listen on (default %(default)s)"),
    "port": dict(type=port, help="port to listen on (default %(default)s)"),
    "workers": dict(type=at_least(1, int), default=2, help="requests worked on at once (default %(default)s)"),
    "delay": dict(type=at_least(0), default=0.1, help="seconds of work per request (default %(default)s)"),
    "followers": dict(type=int, default=3, help="N, the number of followers (default %(default)s)"),
    "write-quorum": dict(type=at_least(0, int), help="W, follower acks a write waits for (default: N)"),
    "read-quorum": dict(type=at_least(1, int), default=1, help="R, followers a read asks (default %(default)s)"),
    "base-port": dict(type=port, help="the leader's port; follower k: the k-th after it (default %(default)s)"),
    "replication-delay": dict(type=at_least(0), default=0.3, help="seconds before follower 1 gets a write, "
                                                                   "2x for follower 2, ... (default %(default)s)"),
    "heartbeat-interval": dict(type=at_least(0.01), default=0.5, help="seconds between heartbeats "
                                                                       "(default %(default)s)"),
    "dead-after": dict(type=at_least(0.02), default=3.0, help="seconds of silence before the registry calls a "
                                                              "member dead (default %(default)s)"),
    "gateway-port": dict(type=port, default=8080, help="the gateway's port (default %(default)s)"),
    "registry-port": dict(type=port, default=9200, help="the registry's port (default %(default)s)"),
    "limit": dict(type=at_least(1, int), default=5, help="requests per client per window (default %(default)s)"),
    "window": dict(type=at_least(0.001), default=1.0, help="a rate limit's window in seconds (default %(default)s)"),
    "logs": dict(type=Path, help="folder for each child process's output, <name>.log (default: the lab's logs/)"),
    "script": dict(type=argparse.FileType("r"), help="run the commands in this file, then quit"),
    "watch": dict(action="store_true", help="only watch the coordinator on --port, live"),
}


def add(parser, *names, **defaults):
    """Add the named flags to parser; defaults given by keyword (write_quorum=2) replace ours."""
    for name in names:
        options = dict(FLAGS[name])
        if name.replace("-", "_") in defaults:
            options["default"] = defaults[name.replace("-", "_")]
        parser.add_argument(f"--{name}", **options)


def serve(parser, args, make, ready):
    """make() a server (a port in use: one line, exit code 2), print ready(server), serve until Ctrl-C."""
    boundary.guard()
    try:
        server = make()
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    print(ready(server), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"{server.server_address[0]}:{server.server_port} stopped", flush=True)
