"""Lab 2: a follower keeps a prefix of the log, internal routes need the run's secret, a node brought back
catches up before it serves, the leader answers after W acks (503 unreachable, 504 too slow), slow clients;
then through the coordinator: stale reads never reported, down and up, the leader stopped twice under writes,
a paused follower, no process left behind, impossible settings, the --watch view."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from labs.plumbing.jsonhttp import BODY_DEADLINE
from tests.helpers import (assert_cut_off, closed, free_block, free_port, holds_for, http, listen_on, logs_folder,
                           needs, output, resume, run, start, Trickle, wait_healthy, wait_printed, wait_until)

NODE = "labs/replication/node.py"
COORDINATOR = "labs/replication/coordinator.py"


def gone(pid):
    """True if no process pid runs (a zombie, ended but not yet reaped by its new parent, has gone too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def entry(version, key="k", value=None, deleted=False, epoch=1):
    return {"version": version, "epoch": epoch, "key": key, **({"deleted": True} if deleted else {"value": value})}


class SlowFollower(ThreadingHTTPServer):
    """A follower that answers every delivery at once, but takes its entries only `hold` seconds after they first
    reach it: never unreachable, its ack late. What it holds: .last, [version, epoch]. Stopped when the test ends."""

    daemon_threads = True

    def __init__(self, test, hold):
        super().__init__(("127.0.0.1", free_port()), SlowFollowerHandler)
        self.hold, self.last, self.first_seen, self.lock = hold, [0, 0], {}, threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()
        test.addCleanup(self.server_close)
        test.addCleanup(self.shutdown)

    def handle_error(self, request, client_address):
        """The leader hangs up on its kept-open connection when it stops: no news."""


class SlowFollowerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        body, server = json.loads(self.rfile.read(int(self.headers["Content-Length"]))), self.server
        time.sleep(0.05)
        with server.lock:
            entries = body.get("entries") or []
            seen = server.first_seen.setdefault(entries[-1]["version"], time.monotonic()) if entries else None
            if body.get("after") == server.last and entries and time.monotonic() - seen > server.hold:
                server.last = [entries[-1]["version"], entries[-1]["epoch"]]
            version, last_epoch = server.last
        data = json.dumps({"version": version, "last_epoch": last_epoch, "epoch": body.get("epoch", 1)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        """Quiet."""


class NodeTest(unittest.TestCase):
    """Leader and followers started directly, without a coordinator (and so without a secret)."""

    def node(self, *args, env=None):
        port = free_port()
        start(self, NODE, "--port", port, "--delay", 0, *args, env=env)
        wait_healthy(port)
        return f"http://127.0.0.1:{port}", port

    def replicate(self, url, *entries, version=None, headers=None, after=None, epoch=1):
        """PUT /replicate as a leader of epoch would: entries after [version, epoch] of the entry before the
        first (v0 has epoch 0); returns (status, the version the follower says it holds)."""
        version = max([e["version"] for e in entries], default=0) if version is None else version
        after = after or [entries[0]["version"] - 1, 1 if entries[0]["version"] > 1 else 0]
        status, reply, _ = http("PUT", url + "/replicate", {"entries": list(entries), "after": after,
                                                           "version": version, "epoch": epoch}, headers)
        return status, reply.get("version") if isinstance(reply, dict) else reply

    def state(self, url, key="k"):
        """What a client sees of key on url, and the newest version the node holds."""
        status, reply, _ = http("GET", f"{url}/kv/{key}")
        return status, reply.get("value"), http("GET", url + "/health")[1]["version"]

    def test_a_follower_keeps_a_prefix_of_the_log_so_replays_and_late_entries_are_safe(self):
        url, _ = self.node("--role", "follower")
        self.assertEqual(self.replicate(url, entry(1, value="old")), (200, 1))
        self.assertEqual(self.replicate(url, entry(1, value="old"), entry(2, value="new")), (409, 1))  # not after v1
        self.assertEqual(self.replicate(url, entry(2, value="new")), (200, 2))
        self.assertEqual(self.replicate(url, entry(2, value="new")), (409, 2))  # a replay: refused, changes nothing
        self.assertEqual(self.replicate(url, entry(1, value="late")), (409, 2))  # arrives late: refused
        self.assertEqual(self.replicate(url, entry(3, value="other"), after=[2, 2]), (409, 2))  # v2 is epoch 1's
        self.assertEqual(self.state(url), (200, "new", 2))
        self.assertEqual(self.replicate(url, entry(4, value="after a gap")), (409, 2))  # v3 is missing
        self.assertEqual(self.state(url), (200, "new", 2))
        status, reply, _ = http("PUT", url + "/replicate", {"entries": [entry(4, value="x")], "after": [3, 1],
                                                           "version": 4, "epoch": 1})
        self.assertEqual((status, reply["version"], reply["last_epoch"], reply["error"]),
                         (409, 2, 1, "my last entry is another: see version and last_epoch"))
        self.assertEqual(self.replicate(url, entry(3, deleted=True), entry(4, key="other", value=1)), (200, 4))
        self.assertEqual(self.state(url), (404, None, 4))
        status, reply, _ = http("PUT", url + "/kv/k", {"value": 1})  # clients write to the leader only
        self.assertEqual((status, reply["error"]),
                         (405, "this node is a follower: it takes writes from its leader only"))
        self.assertEqual(self.state(url), (404, None, 4))

    def test_a_malformed_replicate_changes_nothing_and_later_entries_still_apply(self):
        url, _ = self.node("--role", "follower")
        self.assertEqual(self.replicate(url, entry(1, value="kept")), (200, 1))
        after = [1, 1]

        def delivery(*entries, **changes):
            return {"entries": list(entries), "after": after, "version": 3, "epoch": 1, **changes}
        bad = [b"not json", [entry(2, value="x")], {"entries": [{"version": 999, "key": "k"}]},
               delivery({"version": 2, "epoch": 1, "key": "k"}),  # no value
               delivery({"version": 2, "key": "k", "value": 1}),  # no epoch
               delivery(entry(2, value="x"), {"version": 3, "key": "k"}),  # the second has no value
               delivery(entry(2, value="x"), entry(4, value="y")),  # a gap
               delivery(entry(3, value="x")),  # not right after v1
               delivery(entry(2, key=7, value="x")),  # a key that is not a string
               delivery(entry(2, value="x"), version=1),  # beyond the leader's newest version
               delivery(entry(2, value="x"), epoch="1"), delivery(entry(2, value="x"), version=None),
               delivery(entry(2, value="x"), after=[1]), delivery(entry(2, value="x"), after="v1"),
               delivery(entries="v2"), {"entries": [entry(2, value="x")], "version": 2, "epoch": 1},  # after what?
               {"entries": [entry(2, value="x")], "after": after, "epoch": 1}]  # no version of the leader
        for body in bad:
            with self.subTest(body=body):
                status, reply, _ = http("PUT", url + "/replicate", body)
                self.assertEqual(status, 400)
                self.assertIn("error", reply)
                self.assertEqual(self.state(url), (200, "kept", 1))
        self.assertEqual(self.replicate(url, entry(3, value="after a gap")), (409, 1))
        self.assertEqual(self.state(url), (200, "kept", 1))
        self.assertEqual(self.replicate(url, entry(2, value="next"), entry(3, key="k2", value=2)), (200, 3))
        self.assertEqual(self.state(url), (200, "next", 3))

    def test_internal_routes_refuse_a_caller_without_the_run_secret(self):
        url, _ = self.node("--role", "follower", env={"LABS_SECRET": "s3cret"})
        body = {"entries": [entry(1, value="v")], "after": [0, 0], "version": 1, "epoch": 1}
        snapshot = {"entries": [{"version": 1, "key": "k", "value": "evil"}], "version": 1, "last_epoch": 1,
                    "epoch": 1}
        for headers in (None, {"X-Run-Secret": "guess"}):
            with self.subTest(headers=headers):
                for method, path, sent in (("PUT", "/replicate", body), ("GET", "/snapshot", None),
                                           ("PUT", "/snapshot", snapshot)):
                    status, reply, _ = http(method, url + path, sent, headers)
                    self.assertEqual((status, reply["error"]),
                                     (403, "internal route: only the processes of this run may call it"))
                self.assertEqual(self.state(url), (404, None, 0))
        status, reply, _ = http("PUT", url + "/replicate", body, {"X-Run-Secret": "s3cret"})
        self.assertEqual((status, reply["version"]), (200, 1))
        self.assertEqual(self.state(url), (200, "v", 1))  # the client API stays open to anyone
        self.assertEqual(http("GET", url + "/health")[0], 200)

    def test_a_node_started_to_catch_up_serves_nothing_until_it_holds_the_leaders_newest_version(self):
        streamed, _ = self.node("--role", "follower", "--catch-up")
        status, reply, _ = http("GET", streamed + "/kv/k")
        self.assertEqual(status, 503)
        self.assertTrue(reply["error"].startswith("catching up"), reply)
        self.assertEqual(self.replicate(streamed, entry(1, value="a"), version=2), (200, 1))  # the leader is at v2
        self.assertEqual(http("GET", streamed + "/kv/k")[0], 503)
        self.assertEqual(http("GET", streamed + "/kv")[0], 503)
        self.assertFalse(http("GET", streamed + "/health")[1]["ready"])  # /health answers all along
        self.assertEqual(self.replicate(streamed, entry(2, value="b"), version=2), (200, 2))
        self.assertEqual(self.state(streamed), (200, "b", 2))
        self.assertTrue(http("GET", streamed + "/health")[1]["ready"])
        copied, _ = self.node("--role", "follower", "--catch-up")
        self.assertEqual(http("GET", copied + "/kv")[0], 503)
        snapshot = http("GET", streamed + "/snapshot")[1]
        self.assertEqual(snapshot, {"entries": [{"version": 2, "key": "k", "value": "b"}], "version": 2,
                                    "last_epoch": 1, "epoch": 1})
        self.assertEqual(http("PUT", copied + "/snapshot", snapshot)[0], 200)
        self.assertEqual(self.state(copied), (200, "b", 2))
        self.assertEqual(http("GET", copied + "/kv")[1]["keys"], ["k"])
        self.assertEqual(self.replicate(copied, entry(3, value="c")), (200, 3))  # the stream goes on from v2
        self.assertEqual(self.state(copied), (200, "c", 3))

    def test_the_leader_answers_after_w_acks_and_the_rest_arrive_in_the_background(self):
        followers = [self.node("--role", "follower") for _ in range(2)]
        addresses = [f"127.0.0.1:{port}" for _, port in followers]
        leader, port = self.node("--replicate-to", ",".join(addresses), "--replication-delay", 0.4)
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], reply["epoch"], reply["quorum"], reply["node"]),
                         (201, 1, 1, 1, f"127.0.0.1:{port}"))
        self.assertEqual(list(reply["acks"]), addresses[:1])  # follower 1 only
        self.assertGreaterEqual(reply["acks"][addresses[0]], 300)  # ms: follower 1 gets a write 0.4 s after it
        self.assertEqual(http("GET", followers[1][0] + "/kv/k")[0], 404)  # follower 2 gets it at 2 x 0.4 s
        wait_until(lambda: http("GET", followers[1][0] + "/kv/k")[0] == 200, 5, "the background write")
        self.assertGreaterEqual(time.monotonic() - started, 0.7)
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 2})  # no header, no --write-quorum: all of them
        self.assertEqual((status, reply["version"], reply["quorum"], sorted(reply["acks"])), (200, 2, 2, addresses))
        self.assertGreaterEqual(time.monotonic() - started, 0.7)
        self.assertGreaterEqual(reply["acks"][addresses[1]], 700)  # ms from the write to follower 2's ack
        self.assertLess(reply["acks"][addresses[0]], reply["acks"][addresses[1]])
        status, reply, _ = http("DELETE", leader + "/kv/k", headers={"X-Write-Quorum": "0"})
        self.assertEqual((status, reply["version"], reply["deleted"], reply["acks"]), (200, 3, True, {}))
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 3}, {"X-Write-Quorum": "x"})
        self.assertEqual((status, reply["error"]), (400, "X-Write-Quorum must be a number of followers, from 0"))
        self.assertEqual(http("GET", leader + "/health")[1]["version"], 3)  # a refused request writes nothing
        for url, _ in followers:
            wait_until(lambda: self.state(url) == (404, None, 3), 5, "the delete on every follower")
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 4}, {"X-Write-Quorum": "3"})
        self.assertEqual(status, 503)  # 3 acks can never come from 2 followers: no use waiting, nothing late
        self.assertTrue(reply["error"].startswith("W = 3 acks needed"), reply["error"])
        self.assertNotRegex(reply["error"], "late|slow")

    def test_503_when_too_few_followers_can_ack_and_504_when_acks_are_too_slow(self):
        follower = self.node("--role", "follower")[1]
        unreachable = free_port()  # nobody listens there
        leader, _ = self.node("--replicate-to", f"{follower},{unreachable}", "--replication-delay", 0.01)
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1})
        self.assertEqual((status, reply["quorum"], reply["version"]), (503, 2, 1))
        self.assertRegex(reply["error"], rf"^W = 2 acks needed, [01] came: :{unreachable} unreachable$")
        self.assertEqual(http("GET", leader + "/kv/k")[1]["value"], 1)  # it stays where it landed: not acknowledged
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 2}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, list(reply["acks"])), (200, [f"127.0.0.1:{follower}"]))
        # A follower that answers at once but takes a write only 3 s after it reached it: its ack is too late.
        late, prompt = SlowFollower(self, 3), self.node("--role", "follower")[1]
        slow, _ = self.node("--replicate-to", f"{prompt},127.0.0.1:{late.server_port}", "--replication-delay", 0.01)
        started = time.monotonic()
        status, reply, _ = http("PUT", slow + "/kv/k", {"value": 1})
        self.assertLess(time.monotonic() - started, 2.5)  # about 1 s beyond the replication delays, not 3
        self.assertEqual((status, list(reply["acks"])), (504, [f"127.0.0.1:{prompt}"]))
        self.assertRegex(reply["error"], r"^W = 2 acks needed, 1 came: .*\b1(\.0)? s\b")
        self.assertNotIn("unreachable", reply["error"])
        wait_until(lambda: late.last == [1, 1], 10, "the slow follower to take v1 after all")
        self.assertEqual(http("PUT", slow + "/kv/k", {"value": 2}, {"X-Write-Quorum": "1"})[0], 200)

    def test_trickling_clients_get_408_within_about_2_s_and_the_leader_keeps_serving(self):
        _, follower = self.node("--role", "follower")
        leader, port = self.node("--workers", 3, "--replicate-to", follower, "--replication-delay", 0)
        slow = [Trickle(port) for _ in range(2)]
        wait_until(lambda: all(client.sent >= 2 for client in slow), 5, "both slow clients to be mid-body")
        started = time.monotonic()
        self.assertEqual(http("GET", leader + "/health")[0], 200)
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1})
        self.assertLess(time.monotonic() - started, BODY_DEADLINE)  # before the slow clients are cut off
        self.assertEqual((status, list(reply["acks"])), (201, [f"127.0.0.1:{follower}"]))  # acknowledged
        self.assertTrue(all(client.is_alive() for client in slow))  # served while both were still sending
        assert_cut_off(self, slow)
        self.assertEqual([client.status for client in slow], [408, 408])
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 2})
        self.assertEqual((status, reply["version"]), (200, 2))  # the trickles wrote nothing


class CoordinatorTest(unittest.TestCase):
    """A real coordinator and its node processes, driven by its HTTP API and its prompt on stdin."""

    def coordinator(self, *args, followers=2):
        port = free_block(followers + 2)
        self.logs = logs_folder(self)
        process = start(self, COORDINATOR, "--port", port, "--base-port", port + 1, "--followers", followers,
                        "--delay", 0.01, "--logs", self.logs, *args, stdin=subprocess.PIPE)
        wait_printed(process, "commands:")  # the prompt: the table and quorum line came first
        self.url, self.process = f"http://127.0.0.1:{port}", process
        return port

    def command(self, line, expect):
        """Type a command at the prompt and wait until the coordinator prints what it should, once more."""
        seen = len(re.findall(expect, output(self.process)))
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()
        wait_until(lambda: len(re.findall(expect, output(self.process))) > seen, 15, repr(expect))

    def nodes(self):
        return {node["name"]: node for node in http("GET", self.url + "/status")[1]["nodes"]}

    @needs("freshness")
    def test_a_stale_follower_is_caught_and_the_read_answers_the_newest_version(self):
        port = self.coordinator("--write-quorum", 1, "--read-quorum", 1, "--replication-delay", 1.0)
        self.assertIn("R + W = 1 + 1 <= N = 2: a read can miss the newest write", output(self.process))
        status, reply, _ = http("PUT", self.url + "/kv/colour", {"value": "blue"})
        self.assertEqual((status, reply["version"], list(reply["acks"])), (201, 1, [f"127.0.0.1:{port + 2}"]))
        answers = [http("GET", self.url + "/kv/colour")[1] for _ in range(2)]  # round robin: each asked first once
        self.assertEqual([(answer["value"], answer["version"], answer["node"]) for answer in answers],
                         [("blue", 1, f"127.0.0.1:{port + 2}")] * 2)  # follower1's answer, both times
        self.assertEqual(http("GET", f"http://127.0.0.1:{port + 3}/kv/colour")[0], 404)  # follower2 is behind
        wait_printed(self.process, r"stale +colour: follower2 said not found v0 < v1: not reported", 5)
        wait_printed(self.process, r"ack +colour=\"blue\" v1 -> follower1 \d+ ms\n", 5)
        wait_printed(self.process, r"write +colour=\"blue\" v1 acked by 1 of 2 \(W = 1\) in \d+ ms\n", 5)
        wait_printed(self.process, r"read +colour = \"blue\" v1 from follower1, \d+ ms\n", 5)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port + 3}/kv/colour")[0] == 200, 5, "follower2 at v1")

    def test_a_follower_down_fails_a_write_needing_all_and_the_follower_catches_up_when_up(self):
        port = self.coordinator("--replication-delay", 0.05)
        self.assertIn("R + W = 1 + 2 > N = 2", output(self.process))
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[0], 201)
        self.command("down follower2", f"down +follower2 :{port + 3} is down")
        status, reply, _ = http("PUT", self.url + "/kv/b", {"value": 2})
        self.assertEqual(status, 503)
        self.assertRegex(reply["error"], rf"^W = 2 acks needed, [01] came: :{port + 3} unreachable$")
        wait_printed(self.process, rf"refused +write b: W = 2 acks needed, [01] came: :{port + 3} unreachable", 5)
        self.command("quorum 1 1", r"R \+ W = 1 \+ 1 <= N = 2")
        status, reply, _ = http("PUT", self.url + "/kv/b", {"value": 3})
        self.assertEqual((status, reply["version"]), (200, 3))  # the refused write stayed: v2, not acknowledged
        self.assertFalse(self.nodes()["follower2"]["up"])
        self.command(f"up {port + 3}", rf"up +follower2 :{port + 3} is up, pid \d+, caught up at v3")
        follower2 = f"http://127.0.0.1:{port + 3}"
        self.assertEqual([http("GET", f"{follower2}/kv/{key}")[1]["value"] for key in "ab"], [1, 3])
        self.assertEqual((self.nodes()["follower2"]["version"], self.nodes()["follower2"]["ready"]), (3, True))

    @needs("freshness")
    def test_with_the_leader_down_writes_get_503_and_reads_go_on(self):
        port = self.coordinator("--replication-delay", 0.05)
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[0], 201)
        self.command("down leader", f"leader :{port + 1} is down")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 2})
        self.assertEqual((status, reply["error"]), (503, "the leader does not answer"))
        wait_printed(self.process, r"refused +write a: the leader does not answer", 5)
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], 1)
        status, reply, _ = http("GET", self.url + "/kv")  # the keys, from a follower; or a refusal, in JSON
        self.assertIn(status, (200, 503), "GET /kv must answer while the leader is down")
        self.assertEqual(reply["keys"] if status == 200 else list(reply), ["a"] if status == 200 else ["error"])
        self.command("up leader", rf"leader :{port + 1} is up, pid \d+, caught up at v1")
        self.assertRegex(output(self.process), rf"caught-up +leader :{port + 1} copied .*\bv1\b.* from "
                                               r"follower\d: epoch 2")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 3})
        self.assertEqual((status, reply["version"], reply["epoch"]), (200, 2, 2))  # versions go on, in epoch 2
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], 3)
        self.assertEqual([node["epoch"] for node in self.nodes().values()], [2, 2, 2])

    def test_quit_and_sigterm_leave_no_process_behind_and_logs_go_to_the_logs_folder(self):
        for stop in ("quit", "sigterm") if os.name != "nt" else ("quit",):  # Windows cannot catch a SIGTERM
            with self.subTest(stop=stop):
                port = self.coordinator("--replication-delay", 0.01)
                pids = [node["pid"] for node in self.nodes().values() if node["up"]]
                self.assertEqual(len(pids), 3)
                if stop == "quit":
                    self.process.stdin.write(b"quit\n")
                    self.process.stdin.flush()
                else:
                    self.process.send_signal(signal.SIGTERM)
                self.assertEqual(self.process.wait(10), 0)
                self.assertTrue(output(self.process).endswith("stopped the 3 processes\n"), output(self.process)[-200:])
                self.assertTrue(closed(range(port, port + 4)))  # nothing answers there any more
                for pid in pids:  # and no process of theirs is left
                    wait_until(lambda: gone(pid), 5, f"pid {pid} to end")
                self.assertEqual(sorted(path.name for path in self.logs.iterdir()),
                                 ["follower1.log", "follower2.log", "leader.log"])
                self.assertIn(f"node :{port + 1} ready: leader", (self.logs / "leader.log").read_text())
                self.assertIn(f"node :{port + 2} ready: follower", (self.logs / "follower1.log").read_text())

    @needs("freshness")
    def test_no_acknowledged_write_is_lost_when_the_leader_is_stopped_and_brought_up_twice(self):
        port = self.coordinator("--write-quorum", 2, "--replication-delay", 0.01)
        acked, stale, stopping = [], [], threading.Event()

        def writer():
            """PUT k = 1, 2, 3, ..., each acknowledged one read back at once; once asked to stop, it ends on an
            acknowledged write (or gives up after 100 more)."""
            after_stop = 0
            for value in range(1, 100_000):
                ok = http("PUT", self.url + "/kv/k", {"value": value}, timeout=5)[0] in (200, 201)
                if ok:
                    acked.append(value)
                    status, reply, _ = http("GET", self.url + "/kv/k", timeout=5)
                    if status != 200 or reply["value"] < value:
                        stale.append((value, status, reply))
                after_stop += stopping.is_set()
                if stopping.is_set() and (ok or after_stop > 100):
                    return
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(stopping.set)
        for how in ("down", "kill -9"):
            before = len(acked)
            wait_until(lambda: len(acked) >= before + 5, 10, "writes acknowledged")
            leader = self.nodes()["leader"]["pid"]
            if how == "down":
                self.command("down leader", rf"leader :{port + 1} is down")
            else:
                os.kill(leader, getattr(signal, "SIGKILL", signal.SIGTERM))  # a crash; Windows: TerminateProcess
                wait_until(lambda: not self.nodes()["leader"]["up"], 5, "the coordinator to see the leader gone")
            self.command("up leader", r"leader\b.* is up, pid \d+, caught up at v\d+")
            self.assertNotEqual(self.nodes()["leader"]["pid"], leader)
        before = len(acked)
        wait_until(lambda: len(acked) >= before + 5, 10, "writes acknowledged by the new leader")
        stopping.set()
        thread.join(10)
        self.assertEqual(stale, [])  # no read right after an ack missed it
        last = acked[-1]  # the writer's last write, acknowledged
        for _ in range(4):  # round robin: each follower serves some
            status, reply, _ = http("GET", self.url + "/kv/k")
            self.assertEqual((status, reply["value"]), (200, last))
        for follower in (port + 2, port + 3):
            url = f"http://127.0.0.1:{follower}/kv/k"
            wait_until(lambda: http("GET", url)[1].get("value") == last, 5, f"{last} on :{follower}")
        self.assertEqual(self.nodes()["leader"]["epoch"], 3)

    @needs("freshness")
    @unittest.skipIf(sys.platform == "win32", "no SIGSTOP on Windows")
    def test_a_paused_follower_costs_a_read_about_a_second_and_the_read_succeeds(self):
        self.coordinator("--read-quorum", 1, "--replication-delay", 0.01)
        self.assertEqual(http("PUT", self.url + "/kv/k", {"value": 1})[0], 201)  # W = 2: both hold it
        paused = self.nodes()["follower1"]["pid"]
        os.kill(paused, signal.SIGSTOP)
        self.addCleanup(resume, paused)
        for _ in range(4):  # round robin: two of them ask follower1 first
            started = time.monotonic()
            status, reply, _ = http("GET", self.url + "/kv/k")
            self.assertLess(time.monotonic() - started, 4)  # about 1 s, READ_TIMEOUT
            self.assertEqual((status, reply["value"]), (200, 1))
        missed = [e["text"] for e in http("GET", self.url + "/status", timeout=15)[1]["events"]
                  if e["kind"] == "missed"]
        self.assertTrue(any(text.startswith("k: follower1 did not answer") for text in missed), missed)

    @unittest.skipIf(sys.platform == "win32", "the lifeline works on Windows too, but kill() is tested on POSIX")
    def test_a_coordinator_killed_with_sigkill_leaves_no_node_process_behind(self):
        port = self.coordinator("--replication-delay", 0.01)
        self.assertEqual(len([node for node in self.nodes().values() if node["up"]]), 3)
        self.process.kill()
        wait_until(lambda: closed(range(port + 1, port + 4)), 5, "every node port to close")

    def test_impossible_settings_are_one_line_and_exit_code_2(self):
        base = free_block(4)
        self.addCleanup(listen_on(base + 1).close)  # follower1's port, taken
        logs = logs_folder(self)
        cases = [(["--followers", 2, "--write-quorum", 3], "0 <= --write-quorum <= 2"),
                 (["--followers", 2, "--read-quorum", 3], "1 <= --read-quorum <= 2"),
                 (["--followers", 0], "need --followers >= 1"),
                 (["--delay", -1], "argument --delay: '-1'"),
                 (["--replication-delay", "nan"], "argument --replication-delay: 'nan'"),
                 (["--replication", "multi-leader"], "invalid choice: 'multi-leader'"),
                 (["--port", base, "--base-port", base, "--followers", 1], "two of these ports are the same"),
                 (["--port", base + 3, "--base-port", base, "--followers", 2], f"port {base + 1} is in use")]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(COORDINATOR, *args, "--logs", logs)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stdout, "")  # nothing started
                errors = [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]
                self.assertEqual(len(errors), 1, result.stderr)
                self.assertIn(message, errors[0])
                self.assertNotIn("Traceback", result.stderr)

    def test_the_watch_view_piped_prints_events_then_one_line_when_the_coordinator_stops_answering(self):
        port = self.coordinator("--replication-delay", 0.01)
        watch = start(self, COORDINATOR, "--watch", "--port", port)
        wait_printed(watch, rf"up +leader :{port + 1} is up, pid \d+\n", 10)  # the events so far
        self.assertEqual(http("PUT", self.url + "/kv/colour", {"value": "blue"})[0], 201)
        wait_printed(watch, r"write +colour=\"blue\" v1 acked by 2 of 2 \(W = 2\) in \d+ ms\n", 10)
        self.assertEqual(len(re.findall(r" up +leader ", output(watch))), 1)  # each event once
        self.assertNotIn("\033", output(watch))  # piped: plain lines, no redrawing
        self.process.stdin.write(b"quit\n")
        self.process.stdin.flush()
        self.assertEqual(self.process.wait(10), 0)
        said = f"the coordinator on :{port} does not answer: waiting for it (Ctrl-C leaves)\n"
        wait_printed(watch, re.escape(said), 10)
        printed = output(watch)
        holds_for(lambda: output(watch) == printed, 2, "the view to stay quiet")
        self.assertEqual(printed.count("does not answer"), 1)
        self.assertTrue(printed.endswith(said))
        self.assertIsNone(watch.poll())  # it waits for a coordinator to come back


if __name__ == "__main__":
    unittest.main()
