"""Every node a coordinator starts, restarts, replaces or promotes runs with the run's settings, and
says so in /health: a failover keeps the replication delay, and so the write latency."""
import os
import signal
import statistics
import subprocess
import time
import unittest

from tests.helpers import free_block, free_port, http, logs_folder, needs, start, wait_printed, wait_until
from tests.test_lab3_kvstore import Store

SETTINGS = {"delay": 0.02, "replication_delay": 0.05, "workers": 2, "ack_timeout": 1.0}


def health(port):
    return http("GET", f"http://127.0.0.1:{port}/health")[1]


def settings(port):
    return {name: health(port).get(name) for name in SETTINGS}


class Lab2SettingsTest(unittest.TestCase):
    def test_every_node_and_a_restarted_leader_run_with_the_runs_settings(self):
        port, base = free_port(), free_block(4)
        coordinator = start(self, "labs/replication/coordinator.py", "--followers", 3, "--port", port,
                            "--base-port", base, "--logs", logs_folder(self), "--delay", 0.02,
                            "--replication-delay", 0.05, stdin=subprocess.PIPE)
        status = wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/status")[1], 30, "the coordinator")
        wait_until(lambda: all(node["up"] for node in http("GET", f"http://127.0.0.1:{port}/status")[1]["nodes"]),
                   30, "every node")
        self.assertEqual([settings(node["port"]) for node in status["nodes"]], [SETTINGS] * 4)
        coordinator.stdin.write(b"down leader\nup leader\n")
        coordinator.stdin.flush()
        wait_printed(coordinator, rf"leader :{base} is up, pid \d+, caught up", 20)
        self.assertEqual(settings(base), SETTINGS)
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/status")[1]["replication_delay"], 0.05)


@needs("failure-detector")
class FailoverSettingsTest(unittest.TestCase):
    def write_latency(self, store, count=20):
        """The median seconds of count sequential writes through the gateway (W = 1)."""
        seconds = []
        for number in range(count):
            started = time.monotonic()
            self.assertIn(store.put("latency", number)[0], (200, 201))
            seconds.append(time.monotonic() - started)
        return statistics.median(seconds)

    def test_the_promoted_leader_keeps_the_runs_replication_delay_and_writes_stay_as_fast(self):
        store = Store(self, "--write-quorum", 1, "--replication-delay", 0.05)
        before = self.write_latency(store)
        os.kill(store.node("leader")["pid"], signal.SIGKILL)
        wait_until(lambda: store.event("up", r"serves reads, in place of leader"), 15, "the store repaired")
        leader = store.status()["nodes"][0]
        self.assertNotEqual(leader["name"], "leader")
        self.assertEqual(health(leader["port"])["replication_delay"], 0.05)
        self.assertEqual(store.status()["replication_delay"], 0.05)  # the leader's own value, on the status
        after = self.write_latency(store)
        self.assertLess(after, 2 * before + 0.02, f"p50 {before * 1000:.0f} ms before, {after * 1000:.0f} ms after")


if __name__ == "__main__":
    unittest.main()
