"""Histories of concurrent clients through each front door, checked per key as Jepsen's checkers do: no answer
carries a version older than one answered or acknowledged before it started, and every version reads back as the
write that made it (a delete's as not found, a write's with its value). Lab 2's coordinator at W = 2, R = 2 and
W = 1, R = 1 (with and without a paused follower), lab 3's gateway at its default W = 3, R = 1. First, what the
rule compares: a replica's not found carries the version of the delete that removed the key."""
import collections
import itertools
import os
import random
import signal
import subprocess
import threading
import time
import unittest

from tests.helpers import free_block, http, logs_folder, needs, resume, start, start_node, wait_printed
from tests.kvstore import Store

KEYS, SECONDS = ("a", "b", "c"), 3.0
CLIENTS = [{"write": 1, "delete": 1}] * 6 + [{"read": 1}] * 4  # each client's kinds of operation, and how often
PAUSE = 0.02  # seconds a client waits between two operations: reads come often, not as fast as they can
# follower k holds a write k x 0.1 s after the leader; the leader's 2 workers wait for W acks
SLOW = ["--delay", 0, "--replication-delay", 0.1]
EXAMPLES = 3  # of each kind of violation, after the counts
METHODS = {"read": "GET", "write": "PUT", "delete": "DELETE"}
Op = collections.namedtuple("Op", "client key kind start end status version value")


def record(url, seconds=SECONDS):
    """The CLIENTS, each a thread doing one operation on one of KEYS after the other through url, for seconds.
    Returns every operation: client, key, kind, start and end (seconds), status, version and value."""
    history, began = [], time.monotonic()

    def client(number, kinds):
        pick, count = random.Random(number), itertools.count(1)
        while time.monotonic() - began < seconds:
            time.sleep(pick.uniform(0, 2 * PAUSE))  # the clients out of step with each other
            key, kind = pick.choice(KEYS), pick.choices(list(kinds), list(kinds.values()))[0]
            value, start = f"c{number}-{next(count)}", time.monotonic() - began
            status, reply, _ = http(METHODS[kind], f"{url}/kv/{key}", {"value": value} if kind == "write" else None)
            reply = reply if isinstance(reply, dict) else {}
            history.append(Op(number, key, kind, start, time.monotonic() - began, status, reply.get("version"),
                              reply.get("value") if kind == "read" else value if kind == "write" else None))

    threads = [threading.Thread(target=client, args=(number, kinds)) for number, kinds in enumerate(CLIENTS, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(history, key=lambda op: op.start)


def show(op):
    """c3 read 1.20-1.31 s "c5-7" v4, or c1 delete 0.10-0.52 s not found v3."""
    said = "not found" if op.status == 404 else "" if op.value is None else f'"{op.value}"'
    version = "no version" if op.version is None else f"v{op.version}"
    return f"c{op.client} {op.kind} {op.start:.2f}-{op.end:.2f} s {said} {version}".replace("  ", " ")


def reads_back(op, maker):
    """True if an answer shows what made its version: not found for a delete of its key (or for v0, never
    written), the value for a write of its key."""
    if op.status == 404:
        return op.version == 0 or (maker.kind, maker.key) == ("delete", op.key)
    return maker is not None and (maker.kind, maker.key, maker.value) == ("write", op.key, op.value)


def check(history):
    """Per key, every answer (200, 201, 404) against what ended before it started, and against the write that
    made its version. Returns the report (counts first, then the first few examples) and the violations."""
    answers = [op for op in history if op.status in (200, 201, 404)]
    made = {op.version: op for op in history if op.kind != "read" and op.status != 404 and op.version is not None}
    found = {"stale": [], "wrong": [], "unversioned": [], "unseen": []}
    for op in answers:
        if op.version is None:
            found["unversioned"].append(f"{op.key}: {show(op)}")
            continue
        before = [other for other in answers if other.key == op.key and other.end < op.start and other.version]
        newest = max(before, key=lambda other: other.version, default=None)
        if newest and op.version < newest.version:
            found["stale"].append(f"{op.key}: {show(op)} < {show(newest)}")
        maker = made.get(op.version)
        if maker is op:  # a write, or a delete that deleted: what made its version
            continue
        if maker is None and op.version:
            found["unseen"].append(f"{op.key}: {show(op)}")
        elif not reads_back(op, maker):
            found["wrong"].append(f"{op.key}: {show(op)}, but {show(maker) if maker else 'v0 is no write'}")
    count = collections.Counter((op.kind, op.status) for op in answers)
    lines = [f"{len(history)} operations by {len(CLIENTS)} clients on {len(KEYS)} keys in {SECONDS} s",
             f"  answered: {count['read', 200]} reads of a value, {count['read', 404]} not found; "
             f"{count['write', 200] + count['write', 201]} writes,",
             f"  {count['delete', 200]} deletes, {count['delete', 404]} of a key gone; "
             f"{len(history) - len(answers)} refused or unanswered",
             f"{len(found['stale']):>6} stale: older than an answer that ended before it started",
             f"{len(found['wrong']):>6} wrong: a version read back as another write, or a delete as a value",
             f"{len(found['unversioned']):>6} answered without the version of what they show",
             f"{len(found['unseen']):>6} of a version no client saw written (not counted: its answer was lost)"]
    for kind in ("stale", "wrong", "unversioned"):
        lines += [f"  {kind}  {example}" for example in found[kind][:EXAMPLES]]
    return "\n".join(lines), sum(len(found[kind]) for kind in ("stale", "wrong", "unversioned"))


class TombstoneTest(unittest.TestCase):
    def test_not_found_carries_the_deletes_version_and_a_delete_of_a_key_gone_writes_nothing(self):
        follower, _ = start_node(self, "labs/replication/node.py", "--role", "follower", "--delay", 0)
        leader, _ = start_node(self, "labs/replication/node.py", "--replicate-to", follower, "--delay", 0,
                               "--replication-delay", 0.2)
        kv = f"http://127.0.0.1:{leader}/kv"
        self.assertEqual(http("PUT", kv + "/k", {"value": 1})[1]["version"], 1)
        status, reply, _ = http("DELETE", kv + "/k")
        self.assertEqual((status, reply["version"], reply["deleted"], list(reply["acks"])),
                         (200, 2, True, [f"127.0.0.1:{follower}"]))
        self.assertEqual(http("GET", kv + "/k")[:2], (404, {"error": "key not found: k", "key": "k", "version": 2,
                                                             "node": f"127.0.0.1:{leader}"}))
        status, reply, _ = http("GET", f"http://127.0.0.1:{follower}/kv/k")
        self.assertEqual((status, reply["version"]), (404, 2))  # the follower's not found: the same delete
        self.assertEqual(http("GET", kv + "/never")[1]["version"], 0)  # never written: v0
        status, reply, _ = http("DELETE", kv + "/k")
        self.assertEqual((status, reply["version"]), (404, 2))  # the delete that removed it
        self.assertNotIn("acks", reply)  # nothing to replicate: nothing was written
        self.assertEqual(http("DELETE", kv + "/never")[0], 404)
        for port in (leader, follower):
            self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health")[1]["version"], 2)
        self.assertEqual(http("GET", kv)[1]["keys"], [])


@needs("freshness")
class HistoryTest(unittest.TestCase):
    def assert_history_holds(self, title, url):
        history = record(url)
        report, violations = check(history)
        print(f"\n{title}\n{report}", flush=True)
        self.assertEqual(violations, 0, report)
        kinds = collections.Counter(op.kind for op in history if op.status in (200, 201, 404))
        self.assertGreaterEqual(min(kinds[kind] for kind in METHODS), 5, report)  # each kind was exercised

    def lab2(self, write_quorum, read_quorum):
        """Lab 2's coordinator with 3 followers; returns its URL."""
        port = free_block(5)
        process = start(self, "labs/replication/coordinator.py", "--port", port, "--base-port", port + 1,
                        "--write-quorum", write_quorum, "--read-quorum", read_quorum, "--logs", logs_folder(self),
                        *SLOW, stdin=subprocess.PIPE)
        wait_printed(process, "commands:")
        return f"http://127.0.0.1:{port}"

    def test_lab2_at_w2_r2_reads_never_go_back_in_time(self):
        self.assert_history_holds("lab 2, W = 2, R = 2", self.lab2(2, 2))

    def test_lab2_at_w1_r1_reads_never_go_back_in_time(self):
        self.assert_history_holds("lab 2, W = 1, R = 1", self.lab2(1, 1))

    @unittest.skipIf(os.name == "nt", "Windows cannot pause a process (SIGSTOP)")
    def test_lab2_at_w1_r1_with_follower1_paused_then_resumed(self):
        url = self.lab2(1, 1)
        pid = next(node["pid"] for node in http("GET", url + "/status")[1]["nodes"] if node["name"] == "follower1")
        self.addCleanup(resume, pid)
        for at, sig in ((0.8, signal.SIGSTOP), (2.2, signal.SIGCONT)):
            threading.Timer(at, os.kill, (pid, sig)).start()
        self.assert_history_holds("lab 2, W = 1, R = 1, follower1 paused 0.8-2.2 s", url)

    def test_lab3_gateway_at_its_default_w3_r1_reads_never_go_back_in_time(self):
        store = Store(self, *SLOW, "--dead-after", 10)  # no repair during the history
        self.assert_history_holds("lab 3's gateway, W = 3, R = 1", store.gateway)


if __name__ == "__main__":
    unittest.main()
