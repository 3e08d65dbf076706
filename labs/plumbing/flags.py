"""The command-line flags of the labs, each defined once: one name, one meaning, everywhere.

A script asks for the flags it takes, with its own defaults: add(parser, "port", port=9001).
The root README lists them. Also the types they share: a port, a finite number.
"""
import argparse
import math
from pathlib import Path


def port(text):
    """argparse type: a port from 1 to 65535, else one clear error line."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port from 1 to 65535")
    return int(text)


def ports(addresses):
    """":9102, :9103" for ["127.0.0.1:9102", "127.0.0.1:9103"]: how a line names nodes on this machine."""
    return ", ".join(":" + address.rpartition(":")[2] for address in addresses) or "nobody"


def finite(text):
    """argparse type: a number, but not nan or infinity (they pass every comparison, then break the run)."""
    if not math.isfinite(float(text)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return float(text)


FLAGS = {
    "host": dict(default="127.0.0.1", help="address to listen on (default %(default)s)"),
    "port": dict(type=port, help="port to listen on (default %(default)s)"),
    "workers": dict(type=int, default=2, help="requests worked on at once (default %(default)s)"),
    "delay": dict(type=finite, default=0.1, help="seconds of simulated work per request (default %(default)s)"),
    "followers": dict(type=int, default=3, help="N, the number of followers (default %(default)s)"),
    "write-quorum": dict(type=int, help="W, follower acks a write waits for (default: N, all of them)"),
    "read-quorum": dict(type=int, default=1, help="R, followers a read asks (default %(default)s)"),
    "base-port": dict(type=port, help="the leader's port; follower k gets the k-th after it (default %(default)s)"),
    "replication-delay": dict(type=finite, default=0.3, help="seconds before follower 1 gets a write, 2x for "
                                                            "follower 2, ... (default %(default)s)"),
    "heartbeat-interval": dict(type=finite, default=0.5, help="seconds between two heartbeats (default %(default)s)"),
    "dead-after": dict(type=finite, default=3.0, help="seconds of silence before the registry declares a member "
                                                     "dead (default %(default)s)"),
    "gateway-port": dict(type=port, default=8080, help="the gateway's port (default %(default)s)"),
    "registry-port": dict(type=port, default=9200, help="the registry's port (default %(default)s)"),
    "limit": dict(type=int, default=5, help="requests per client per window (default %(default)s)"),
    "window": dict(type=finite, default=1.0, help="rate limit window in seconds (default %(default)s)"),
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
