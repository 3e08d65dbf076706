"""Lab 2: a follower keeps the log's prefix, writes acked by W, 503/504, internal routes, catch-up,
stale reads never reported, down/up through the coordinator, a leader killed and brought up under
writes, a paused follower, slow clients, no orphans."""
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from tests.helpers import (assert_cut_off, closed, free_block, free_port, http, listen_on, logs_folder, needs, output,
                           run, start, Trickle, wait_healthy, wait_printed, wait_until)

NODE = "labs/replication/node.py"
COORDINATOR = "labs/replication/coordinator.py"


def resume(pid):
    """SIGCONT a paused process, if it is still there, so that it can be stopped."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def entry(version, key="k", value=None, deleted=False, epoch=1):
    return {"version": version, "epoch": epoch, "key": key, **({"deleted": True} if deleted else {"value": value})}


class NodeTest(unittest.TestCase):
    """Leader and followers started directly, without a coordinator (and so without a secret)."""

    def node(self, *args, env=None):
        port = free_port()
        start(self, NODE, "--port", port, "--delay", 0, *args, env=env)
        wait_healthy(port)
        return f"http://127.0.0.1:{port}", port

    def replicate(self, url, *entries, version=None, headers=None, after=None):
        """PUT /replicate as the leader would: entries after [version, epoch] of the entry before the first
        (epoch 1); returns (status, the version the follower holds)."""
        version = max([e["version"] for e in entries], default=0) if version is None else version
        after = after or [entries[0]["version"] - 1, 1 if entries[0]["version"] > 1 else 0]
        status, reply, _ = http("PUT", url + "/replicate", {"entries": list(entries), "after": after,
                                                           "version": version}, headers)
        return status, reply.get("version")

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
        self.assertEqual(self.replicate(url, entry(3, value="other"), after=[2, 2]), (409, 2))  # v2 of epoch 1 here
        self.assertEqual(self.state(url), (200, "new", 2))
        self.assertEqual(self.replicate(url, entry(4, value="after a gap")), (409, 2))  # v3 is missing
        self.assertEqual(self.state(url), (200, "new", 2))
        self.assertEqual(self.replicate(url, entry(3, deleted=True), entry(4, key="other", value=1)), (200, 4))
        self.assertEqual(self.state(url), (404, None, 4))
        self.assertEqual(http("PUT", url + "/kv/k", {"value": 1})[0], 405)  # clients write to the leader only

    def test_a_malformed_replicate_changes_nothing_and_later_entries_still_apply(self):
        url, _ = self.node("--role", "follower")
        self.assertEqual(self.replicate(url, entry(1, value="kept")), (200, 1))
        after = [1, 1]
        bad = [b"not json", {"entries": [{"version": 999, "key": "k"}]},  # no value, no "version" of the leader
               {"entries": [{"version": 2, "epoch": 1, "key": "k"}], "after": after, "version": 2},  # no value
               {"entries": [{"version": 2, "key": "k", "value": 1}], "after": after, "version": 2},  # no epoch
               {"entries": [entry(2, value="x"), {"version": 3, "key": "k"}], "after": after, "version": 3},
               {"entries": [entry(2, value="x"), entry(4, value="y")], "after": after, "version": 4},  # a gap
               {"entries": [entry(3, value="x")], "after": after, "version": 3},  # not right after v1
               {"entries": [entry(2, value="x")], "version": 2},  # after what?
               {"entries": [entry(2, value="x")], "after": after}, {"entries": "v2", "after": after, "version": 2},
               [entry(2, value="x")]]
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
        body = {"entries": [entry(1, value="v")], "after": [0, 0], "version": 1}
        for headers in (None, {"X-Run-Secret": "guess"}):
            with self.subTest(headers=headers):
                status, reply, _ = http("PUT", url + "/replicate", body, headers)
                self.assertEqual(status, 403)
                self.assertIn("internal route", reply["error"])
                self.assertEqual(http("GET", url + "/snapshot", headers=headers)[0], 403)
                self.assertEqual(http("GET", url + "/log?since=0", headers=headers)[0], 403)
                self.assertEqual(self.state(url), (404, None, 0))
        status, reply, _ = http("PUT", url + "/replicate", body, {"X-Run-Secret": "s3cret"})
        self.assertEqual((status, reply["version"]), (200, 1))
        self.assertEqual(self.state(url), (200, "v", 1))  # the client API stays open to anyone

    def test_a_node_started_to_catch_up_serves_nothing_until_it_holds_the_leaders_newest_version(self):
        streamed, _ = self.node("--role", "follower", "--catch-up")
        self.assertEqual(http("GET", streamed + "/kv/k")[0], 503)
        self.assertEqual(self.replicate(streamed, entry(1, value="a"), version=2), (200, 1))
        status, reply, _ = http("GET", streamed + "/kv/k")
        self.assertEqual(status, 503)
        self.assertIn("catching up", reply["error"])
        self.assertFalse(http("GET", streamed + "/health")[1]["ready"])
        self.assertEqual(self.replicate(streamed, entry(2, value="b"), version=2), (200, 2))
        self.assertEqual(self.state(streamed), (200, "b", 2))
        copied, _ = self.node("--role", "follower", "--catch-up")
        self.assertEqual(http("GET", copied + "/kv")[0], 503)
        snapshot = http("GET", streamed + "/snapshot")[1]
        self.assertEqual(snapshot, {"entries": [{"version": 2, "key": "k", "value": "b"}], "version": 2,
                                    "last_epoch": 1})
        self.assertEqual(http("PUT", copied + "/snapshot", snapshot)[0], 200)
        self.assertEqual(self.state(copied), (200, "b", 2))
        self.assertEqual(http("GET", copied + "/log?since=0")[0], 410)  # before the snapshot: ask for one
        self.assertEqual(http("GET", copied + "/log?since=2")[1]["entries"], [])

    def test_the_leader_answers_after_w_acks_and_the_rest_arrive_in_the_background(self):
        followers = [self.node("--role", "follower") for _ in range(2)]
        addresses = [f"127.0.0.1:{port}" for _, port in followers]
        leader, _ = self.node("--replicate-to", ",".join(addresses), "--replication-delay", 0.4)
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], reply["quorum"], list(reply["acks"])), (201, 1, 1, addresses[:1]))
        self.assertEqual(http("GET", followers[1][0] + "/kv/k")[0], 404)  # follower 2 gets it at 2 x 0.4 s
        wait_until(lambda: http("GET", followers[1][0] + "/kv/k")[0] == 200, 5, "the background write")
        self.assertGreaterEqual(time.monotonic() - started, 0.8)
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 2})  # no header: every follower acks
        self.assertEqual((status, reply["version"], sorted(reply["acks"])), (200, 2, sorted(addresses)))
        self.assertGreaterEqual(time.monotonic() - started, 0.8)
        self.assertGreaterEqual(reply["acks"][addresses[1]], 800)  # ms from the write to follower 2's ack
        log = http("GET", leader + "/log?since=1")[1]["entries"]
        self.assertEqual([(e["version"], e["value"], sorted(e["acks"])) for e in log], [(2, 2, sorted(addresses))])
        for quorum, refusal in (("3", (503, "X-Write-Quorum 3: only 2 followers now")),
                                ("x", (400, "X-Write-Quorum must be a number of followers, from 0"))):
            status, reply, _ = http("PUT", leader + "/kv/k", {"value": 3}, {"X-Write-Quorum": quorum})
            self.assertEqual((status, reply["error"]), refusal)
        self.assertEqual(http("GET", leader + "/health")[1]["version"], 2)  # a refused write is not written

    def test_503_when_too_few_followers_can_ack_and_504_when_acks_are_too_slow(self):
        follower_ports = [self.node("--role", "follower")[1] for _ in range(2)]  # one per leader: each has a log
        silent = socket.socket()  # accepts connections, never answers: a hung follower
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        unreachable = free_port()
        leader, _ = self.node("--replicate-to", f"{follower_ports[0]},{unreachable}", "--replication-delay", 0.01)
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1})
        self.assertEqual(status, 503)  # the follower's ack may come before or after the refused connection
        self.assertRegex(reply["error"], rf"^2 follower acks required, [01] received: 127\.0\.0\.1:{unreachable} "
                                         r"unreachable$")
        # A hung follower is unreachable only once a delivery times out (1 s): until then, acks are late.
        slow, _ = self.node("--replicate-to", f"{follower_ports[1]},{silent.getsockname()[1]}",
                            "--replication-delay", 0.01, "--ack-timeout", 0.3)
        status, reply, _ = http("PUT", slow + "/kv/k", {"value": 1})
        self.assertEqual(status, 504)
        self.assertIn("2 follower acks required, 1 received within 0.3 s", reply["error"])
        self.assertEqual(list(reply["acks"]), [f"127.0.0.1:{follower_ports[1]}"])
        self.assertEqual(http("PUT", slow + "/kv/k", {"value": 2}, {"X-Write-Quorum": "1"})[0], 200)

    def test_clients_that_trickle_their_body_do_not_stall_the_leader(self):
        _, follower = self.node("--role", "follower")
        leader, port = self.node("--workers", 1, "--replicate-to", follower, "--replication-delay", 0)
        slow = [Trickle(port) for _ in range(2)]
        wait_until(lambda: all(client.sent >= 2 for client in slow), 5, "both slow clients to be mid-body")
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1})
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual((status, list(reply["acks"])), (201, [f"127.0.0.1:{follower}"]))  # acknowledged
        self.assertTrue(all(client.is_alive() for client in slow))  # served while both were still sending
        assert_cut_off(self, slow)


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
    def test_a_stale_follower_is_caught_and_the_coordinator_answers_with_the_newest_version(self):
        port = self.coordinator("--write-quorum", 1, "--read-quorum", 1, "--replication-delay", 0.8)
        self.assertIn("R + W = 1 + 1 <= N = 2: a read can miss the newest write", output(self.process))
        status, reply, _ = http("PUT", self.url + "/kv/colour", {"value": "blue"})
        self.assertEqual((status, reply["version"], list(reply["acks"])), (201, 1, ["follower1"]))
        answers = [http("GET", self.url + "/kv/colour")[1] for _ in range(2)]  # round robin: both followers asked
        self.assertEqual([(answer["value"], answer["version"]) for answer in answers], [("blue", 1)] * 2)
        wait_printed(self.process, r"stale +colour: follower2 said not found v0 < v1: not reported", 5)
        self.assertEqual(http("GET", f"http://127.0.0.1:{port + 3}/kv/colour")[0], 404)  # it really is behind
        wait_printed(self.process, r"ack +colour=\"blue\" v1 -> follower1 \d+ ms\n", 5)
        wait_printed(self.process, r"ack +colour=\"blue\" v1 -> follower2 \d+ ms \(background\)", 5)  # later

    def test_a_follower_down_fails_a_write_needing_all_and_the_follower_catches_up_when_up(self):
        port = self.coordinator("--replication-delay", 0.05)
        self.assertIn("R + W = 1 + 2 > N = 2", output(self.process))
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[0], 201)
        self.command("down follower2", f"follower2 :{port + 3} is down")
        status, reply, _ = http("PUT", self.url + "/kv/b", {"value": 2})
        self.assertEqual((status, reply["error"]), (503, "write b: W = 2 acks required, only 1 followers up"))
        self.command("quorum 1 1", r"R \+ W = 1 \+ 1 <= N = 2")
        self.assertEqual(http("PUT", self.url + "/kv/b", {"value": 2})[0], 201)
        self.assertFalse(self.nodes()["follower2"]["up"])
        self.command(f"up {port + 3}", rf"follower2 :{port + 3} is up, pid \d+, caught up at v2")
        follower2 = f"http://127.0.0.1:{port + 3}"
        self.assertEqual([http("GET", f"{follower2}/kv/{key}")[1]["value"] for key in "ab"], [1, 2])
        self.assertEqual((self.nodes()["follower2"]["version"], self.nodes()["follower2"]["ready"]), (2, True))

    @needs("freshness")
    def test_with_the_leader_down_writes_get_503_and_reads_go_on(self):
        port = self.coordinator("--replication-delay", 0.05)
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[0], 201)
        self.command("down leader", f"leader :{port + 1} is down")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 2})
        self.assertEqual(status, 503)
        self.assertIn("the leader is down", reply["error"])
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], 1)
        self.command("up leader", rf"leader :{port + 1} is up, pid \d+, caught up at v1")
        self.assertRegex(output(self.process), rf"leader :{port + 1} copied 1 keys \(v1\) from follower\d: epoch 2")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 3})
        self.assertEqual((status, reply["version"]), (200, 2))  # the returning leader caught up: versions go on
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], 3)

    def test_quit_and_sigterm_leave_no_node_process_behind_and_logs_go_to_the_logs_folder(self):
        for stop in ("quit", "sigterm") if os.name != "nt" else ("quit",):  # Windows cannot catch a SIGTERM
            with self.subTest(stop=stop):
                port = self.coordinator("--replication-delay", 0.01)
                self.assertEqual(len([node for node in self.nodes().values() if node["up"]]), 3)
                if stop == "quit":
                    self.process.stdin.write(b"quit\n")
                    self.process.stdin.flush()
                else:
                    self.process.send_signal(signal.SIGTERM)
                self.assertEqual(self.process.wait(10), 0)
                self.assertIn("stopped the 3 node processes", output(self.process))
                for node_port in range(port + 1, port + 4):  # nothing answers there any more
                    self.assertEqual(http("GET", f"http://127.0.0.1:{node_port}/health", timeout=2)[0], 0)
                self.assertEqual(sorted(path.name for path in self.logs.iterdir()),
                                 ["follower1.log", "follower2.log", "leader.log"])
                self.assertIn(f"node :{port + 1} ready: leader", (self.logs / "leader.log").read_text())

    @needs("freshness")
    def test_no_acknowledged_write_is_lost_when_the_leader_is_killed_and_brought_up_twice(self):
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
        for _ in range(2):
            before = len(acked)
            wait_until(lambda: len(acked) >= before + 5, 10, "writes acknowledged")
            leader = self.nodes()["leader"]["pid"]
            os.kill(leader, getattr(signal, "SIGKILL", signal.SIGTERM))  # kill -9; Windows: TerminateProcess
            wait_until(lambda: not self.nodes()["leader"]["up"], 5, "the coordinator to see the leader gone")
            self.command("up leader", r"leader\b.* is up, pid \d+, caught up")
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
            self.assertLess(time.monotonic() - started, 2.5)
            self.assertEqual((status, reply["value"]), (200, 1))
        missed = [e["text"] for e in http("GET", self.url + "/status")[1]["events"] if e["kind"] == "missed"]
        self.assertTrue(any("follower1" in text for text in missed), missed)

    @unittest.skipIf(sys.platform == "win32", "the lifeline works on Windows too, but kill() is tested on POSIX")
    def test_a_coordinator_killed_with_sigkill_leaves_no_node_process_behind(self):
        port = self.coordinator("--replication-delay", 0.01)
        self.assertEqual(len([node for node in self.nodes().values() if node["up"]]), 3)
        self.process.kill()
        wait_until(lambda: closed(range(port + 1, port + 4)), 5, "every node port to close")

    def test_impossible_settings_are_one_clear_line_and_exit_code_2(self):
        base = free_block(4)
        self.addCleanup(listen_on(base + 1).close)  # follower1's port, taken
        logs = logs_folder(self)
        cases = [(["--followers", 2, "--write-quorum", 3], "0 <= --write-quorum <= 2"),
                 (["--followers", 2, "--read-quorum", 3], "1 <= --read-quorum <= 2"),
                 (["--replication", "multi-leader"], "invalid choice: 'multi-leader'"),
                 (["--port", base + 3, "--base-port", base, "--followers", 2], f"port {base + 1} is in use")]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(COORDINATOR, *args, "--logs", logs)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)
                self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    unittest.main()
