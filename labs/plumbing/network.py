"""The network between the processes of a run: how one calls another, the run's secret, a partition.

send() makes one call and never raises; a GET or a PUT reuses a connection left open (keep-alive).
A coordinator hands its children a secret (LABS_SECRET) that send() shows: internal routes answer
only this run's processes. While a partition lasts, no process of the run sends across it (across()).
"""
import http.client
import json
import os
import threading

SECRET_HEADER = "X-Run-Secret"
KEEP_IDLE = 32
RESENDABLE = ("GET", "PUT")
IDLE, IDLE_LOCK = [], threading.Lock()
# this process's address, once it listens: the side of a partition it is on
ME = []


def listening(address):
    """The first server a process starts names the process."""
    ME[:] = ME or [address]


def secret():
    """This run's secret, handed by a coordinator to the processes it starts; "" when started by hand."""
    return os.environ.get("LABS_SECRET", "")


def across(node):
    """True while a partition separates this process from node: the coordinator's `partition` writes one
    side's addresses to the file LABS_CUT names (`heal` deletes it). Started by hand: on no side."""
    try:
        with open(os.environ["LABS_CUT"]) as file:
            side = json.load(file)
    except (KeyError, OSError, ValueError):
        return False
    return bool(ME) and (ME[0] in side) != (node in side)


def send(node, method, path, body=None, headers=None, timeout=30):
    """One HTTP request to node ("host:port") with a JSON body; returns (status, reply as a dict). Status 0:
    no answer (refused, timed out, garbled, across a partition). A GET or a PUT reuses an open connection."""
    if across(node):
        return 0, {"error": f"{node} is cut off by the partition"}
    headers = {"Content-Type": "application/json", SECRET_HEADER: secret(), **(headers or {})}
    data = None if body is None else json.dumps(body).encode()
    kept = reuse(node) if method in RESENDABLE else None
    for connection in ([kept] if kept else []) + [http.client.HTTPConnection(node, timeout=timeout)]:
        try:
            if connection.sock:
                connection.sock.settimeout(timeout)
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, ValueError, http.client.HTTPException) as error:
            connection.close()
            # node closed a connection we kept while it was idle: send again on a new one
            if connection is kept and isinstance(error, ConnectionError):
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
    with IDLE_LOCK:
        for index in reversed(range(len(IDLE))):
            if IDLE[index][0] == node:
                return IDLE.pop(index)[1]


def keep(node, connection):
    with IDLE_LOCK:
        IDLE.append((node, connection))
        oldest = IDLE.pop(0)[1] if len(IDLE) > KEEP_IDLE else None
    if oldest:
        oldest.close()
