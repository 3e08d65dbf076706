"""Lab 2: versions on followers, writes acked by W, 503/504, stale reads never reported, down/up/catch-up, no orphans."""
import os
import signal
import socket
import subprocess
import time
import unittest

from tests.helpers import free_block, free_port, http, output, run, start, wait_healthy, wait_until

NODE = "labs/replication/node.py"
COORDINATOR = "labs/replication/coordinator.py"


class NodeTest(unittest.TestCase):
    """Leader and followers started directly, without a coordinator."""

    def node(self, *args):
        port = free_port()
        start(self, NODE, "--port", port, "--delay", 0, *args)
        wait_healthy(port)
        return f"http://127.0.0.1:{port}", port

    def test_a_follower_keeps_only_newer_versions_so_replays_and_reordering_are_safe(self):
        url, _ = self.node("--role", "follower")
        replicate = lambda *entries: http("PUT", url + "/replicate", {"entries": list(entries)})[1]["applied"]
        self.assertEqual(replicate({"version": 2, "key": "k", "value": "new"}), 1)
        self.assertEqual(replicate({"version": 1, "key": "k", "value": "old"}), 0)  # arrives late: ignored
        self.assertEqual(replicate({"version": 2, "key": "k", "value": "new"}), 0)  # a replay: ignored
        self.assertEqual(http("GET", url + "/kv/k")[1]["value"], "new")
        self.assertEqual(replicate({"version": 3, "key": "k", "deleted": True}, {"version": 2, "key": "k", "value": "x"}), 1)
        self.assertEqual(http("GET", url + "/kv/k")[0], 404)
        self.assertEqual(http("PUT", url + "/kv/k", {"value": 1})[0], 405)  # clients write to the leader only
        self.assertEqual(http("PUT", url + "/replicate", b"not json")[0], 400)
        self.assertEqual(http("GET", url + "/health")[1]["version"], 3)

    def test_the_leader_answers_after_w_acks_and_the_rest_arrive_in_the_background(self):
        followers = [self.node("--role", "follower") for _ in range(2)]
        leader, _ = self.node("--followers", ",".join(str(port) for _, port in followers),
                              "--replication-delay", 0.2)
        started = time.monotonic()
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], len(reply["acked"])), (201, 1, 1))
        self.assertLess(time.monotonic() - started, 0.4)  # follower 2 acks only after 2 x 0.2 s
        self.assertEqual(http("GET", followers[1][0] + "/kv/k")[0], 404)  # not there yet
        wait_until(lambda: http("GET", followers[1][0] + "/kv/k")[0] == 200, 5, "the background write")
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 2})  # no header: every follower acks
        self.assertEqual((status, reply["version"], len(reply["acked"])), (200, 2, 2))
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        log = http("GET", leader + "/log?since=1")[1]["entries"]
        self.assertEqual([(entry["version"], entry["value"]) for entry in log], [(2, 2)])
        self.assertEqual(http("PUT", leader + "/kv/k", {"value": 3}, {"X-Write-Quorum": "3"})[0], 400)

    def test_503_when_too_few_followers_can_ack_and_504_when_acks_are_too_slow(self):
        follower, follower_port = self.node("--role", "follower")
        silent = socket.socket()  # accepts connections, never answers: a hung follower
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        unreachable = free_port()
        leader, _ = self.node("--followers", f"{follower_port},{unreachable}", "--replication-delay", 0.01)
        status, reply, _ = http("PUT", leader + "/kv/k", {"value": 1})
        self.assertEqual(status, 503)
        self.assertIn(f"2 follower acks required, 1 received: 127.0.0.1:{unreachable} unreachable", reply["error"])
        slow, _ = self.node("--followers", f"{follower_port},{silent.getsockname()[1]}",
                            "--replication-delay", 0.01, "--ack-timeout", 0.2)
        status, reply, _ = http("PUT", slow + "/kv/k", {"value": 1})
        self.assertEqual(status, 504)
        self.assertIn("2 follower acks required, 1 received within 0.2 s", reply["error"])
        self.assertEqual(http("PUT", slow + "/kv/k", {"value": 2}, {"X-Write-Quorum": "1"})[0], 200)


class CoordinatorTest(unittest.TestCase):
    """A real coordinator and its node processes, driven by its HTTP API and its prompt on stdin."""

    def coordinator(self, *args, followers=2):
        port = free_block(followers + 2)
        process = start(self, COORDINATOR, "--port", port, "--base-port", port + 1, "--followers", followers,
                        "--delay", 0.01, *args, stdin=subprocess.PIPE)
        wait_healthy(port, 20)
        wait_until(lambda: "commands:" in output(process), 10, "the prompt")  # the table and quorum line came first
        self.url, self.process = f"http://127.0.0.1:{port}", process
        return port

    def command(self, line, expect):
        """Type a command at the prompt and wait until the coordinator prints what it should, once more."""
        seen = output(self.process).count(expect)
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()
        wait_until(lambda: output(self.process).count(expect) > seen, 10, repr(expect))

    def nodes(self):
        return {node["name"]: node for node in http("GET", self.url + "/status")[1]["nodes"]}

    def test_a_stale_follower_is_caught_and_the_coordinator_answers_with_the_newest_version(self):
        port = self.coordinator("--write-quorum", 1, "--read-quorum", 1, "--replication-delay", 1)
        self.assertIn("R + W = 1 + 1 = 2 <= N = 2: a read may miss the newest write",
                      output(self.process))
        status, reply, _ = http("PUT", self.url + "/kv/colour", {"value": "blue"})
        self.assertEqual((status, reply["acked"]), (201, [f"127.0.0.1:{port + 2}"]))  # follower 2 gets it at 2 s
        answers = [http("GET", self.url + "/kv/colour")[1] for _ in range(2)]  # round robin: both followers asked
        self.assertEqual([answer["value"] for answer in answers], ["blue", "blue"])
        self.assertRegex(output(self.process), rf"stale +colour  follower2 :{port + 3} answered not found, "
                                               r"older than the acknowledged v1: not reported")
        self.assertEqual(http("GET", f"http://127.0.0.1:{port + 3}/kv/colour")[0], 404)  # it really is behind

    def test_a_follower_down_fails_a_write_needing_all_and_the_follower_catches_up_when_up(self):
        port = self.coordinator("--replication-delay", 0.05)
        self.assertIn("R + W = 1 + 2 = 3 > N = 2", output(self.process))
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[0], 201)
        self.command("down follower2", "follower2 :%d is down" % (port + 3))
        status, reply, _ = http("PUT", self.url + "/kv/b", {"value": 2})
        self.assertEqual((status, reply["error"]), (503, "write b: W = 2 follower acks required, only 1 followers up"))
        self.command("quorum 1 1", "R + W = 1 + 1 = 2 <= N = 2")
        self.assertEqual(http("PUT", self.url + "/kv/b", {"value": 2})[0], 201)
        self.assertFalse(self.nodes()["follower2"]["up"])
        self.command(f"up {port + 3}", "follower2 :%d is up" % (port + 3))
        self.assertIn("applied 2 writes from the log of leader", output(self.process))
        follower2 = f"http://127.0.0.1:{port + 3}"
        self.assertEqual([http("GET", f"{follower2}/kv/{key}")[1]["value"] for key in "ab"], [1, 2])
        self.assertEqual(self.nodes()["follower2"]["version"], 2)

    def test_with_the_leader_down_writes_get_503_and_reads_go_on(self):
        self.coordinator("--replication-delay", 0.05)
        http("PUT", self.url + "/kv/a", {"value": 1})
        self.command("down leader", "is down")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 2})
        self.assertEqual(status, 503)
        self.assertIn("the leader is down", reply["error"])
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], 1)
        self.command("up leader", "leader")
        wait_until(lambda: self.nodes()["leader"]["up"], what="the leader up")
        status, reply, _ = http("PUT", self.url + "/kv/a", {"value": 3})
        self.assertEqual((status, reply["version"]), (200, 2))  # the returning leader caught up: versions go on

    def test_quit_and_sigterm_leave_no_node_process_behind(self):
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
                for node_port in range(port + 1, port + 4):  # nothing answers there any more
                    self.assertEqual(http("GET", f"http://127.0.0.1:{node_port}/health", timeout=2)[0], 0)

    def test_impossible_settings_are_one_clear_line_and_exit_code_2(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        base = busy.getsockname()[1] - 1
        cases = [(["--followers", 2, "--write-quorum", 3], "0 <= --write-quorum <= 2"),
                 (["--followers", 2, "--read-quorum", 3], "1 <= --read-quorum <= 2"),
                 (["--replication", "multi-leader"], "invalid choice: 'multi-leader'"),
                 (["--port", free_port(), "--base-port", base], f"port {base + 1} is in use")]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(COORDINATOR, *args)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)
                self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    unittest.main()
