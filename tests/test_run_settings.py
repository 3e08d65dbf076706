"""Every node a coordinator starts, restarts, replaces or promotes runs with the run's settings: its command line
carries them, and its /health says the replication delay it uses. A failover keeps the replication delay, and
so the write latency."""
import os
import signal
import statistics
import subprocess
import time
import unittest

from tests.helpers import free_block, free_port, health, http, logs_folder, needs, start, wait_printed, wait_until
from tests.kvstore import Store

RUN = {"--delay": "0.02", "--replication-delay": "0.05"}  # as the run was started


def settings(pid, names=tuple(RUN)):
    """The values of the flags names on the command line of process pid (None: not there)."""
    words = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True).stdout.split()
    return {name: words[words.index(name) + 1] if name in words[:-1] else None for name in names}


@unittest.skipIf(os.name == "nt", "reads command lines with ps")
class Lab2SettingsTest(unittest.TestCase):
    def test_every_node_and_a_restarted_leader_run_with_the_runs_settings(self):
        port, base = free_port(), free_block(4)
        coordinator = start(self, "labs/replication/coordinator.py", "--followers", 3, "--write-quorum", 2,
                            "--port", port, "--base-port", base, "--logs", logs_folder(self), "--delay", 0.02,
                            "--replication-delay", 0.05, stdin=subprocess.PIPE)
        wait_printed(coordinator, "commands:")
        nodes = http("GET", f"http://127.0.0.1:{port}/status")[1]["nodes"]
        self.assertEqual([node["name"] for node in nodes if node["up"]],
                         ["leader", "follower1", "follower2", "follower3"])
        for node in nodes:
            with self.subTest(node=node["name"]):
                self.assertEqual(settings(node["pid"]), RUN)
                self.assertEqual(health(node["port"])["replication_delay"], 0.05)
        coordinator.stdin.write(b"down leader\nup leader\n")
        coordinator.stdin.flush()
        wait_printed(coordinator, rf"leader :{base} is up, pid \d+, caught up", 20)
        leader = http("GET", f"http://127.0.0.1:{port}/status")[1]["nodes"][0]
        self.assertNotEqual(leader["pid"], nodes[0]["pid"])
        self.assertEqual(settings(leader["pid"]), RUN)
        self.assertEqual(health(base)["replication_delay"], 0.05)
        status, reply, _ = http("PUT", f"http://127.0.0.1:{port}/kv/k", {"value": 1})
        self.assertEqual((status, reply["quorum"]), (201, 2))  # the run's W, after the restart too


@unittest.skipIf(os.name == "nt", "reads command lines with ps")
@needs("failure-detector")
class FailoverSettingsTest(unittest.TestCase):
    def write_latency(self, store, count=15):
        """The median seconds of count sequential writes through the gateway (W = 1)."""
        seconds = []
        for number in range(count):
            started = time.monotonic()
            self.assertIn(store.put("latency", number)[0], (200, 201))
            seconds.append(time.monotonic() - started)
        return statistics.median(seconds)

    def test_the_promoted_leader_keeps_the_runs_replication_delay_and_writes_stay_as_fast(self):
        store = Store(self, "--write-quorum", 1, "--delay", 0.02, "--replication-delay", 0.05)
        before = self.write_latency(store)
        os.kill(store.node("leader")["pid"], signal.SIGKILL)
        wait_until(lambda: store.event("up", r"serves reads, in place of leader"), 20, "the store repaired")
        nodes = store.status()["nodes"]
        leader, replacement = nodes[0], next(node for node in nodes if node["name"] == "follower4")
        self.assertNotEqual(leader["name"], "leader")
        self.assertEqual(health(leader["port"])["replication_delay"], 0.05)
        self.assertEqual(health(leader["port"])["role"], "leader")
        for node in (leader, replacement):
            with self.subTest(node=node["name"]):
                self.assertEqual(settings(node["pid"]), RUN)
        after = self.write_latency(store)
        self.assertLess(after, 2 * before + 0.15, f"p50 {before * 1000:.0f} ms before, {after * 1000:.0f} ms after")


if __name__ == "__main__":
    unittest.main()
