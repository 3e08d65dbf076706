"""Lab 3, the kvstore survives its leader: epochs refuse a deposed leader, a follower is promoted,
no acknowledged write is lost, no read is stale, the store is back to N followers."""
import os
import signal
import sys
import threading
import time
import unittest

from tests.helpers import http, needs, start_node, wait_until
from tests.test_lab3_kvstore import Store

NODE = "labs/replication/node.py"


class EpochTest(unittest.TestCase):
    """Lab 2's nodes, started by hand: a follower that knows a newer epoch refuses the old leader."""

    def test_a_leader_whose_epoch_is_over_acknowledges_nothing_and_steps_down(self):
        follower, _ = start_node(self, NODE, "--role", "follower", "--delay", 0)
        leader, _ = start_node(self, NODE, "--replicate-to", follower, "--delay", 0, "--replication-delay", 0)
        self.assertEqual(http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "old"})[0], 201)
        newer = {"entries": [], "after": [1, 1], "version": 1, "epoch": 2}  # a promoted leader's first message
        self.assertEqual(http("PUT", f"http://127.0.0.1:{follower}/replicate", newer)[0], 200)
        status, reply, _ = http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "deposed"})
        self.assertEqual(status, 503, reply)  # no follower acknowledged it
        self.assertEqual(http("GET", f"http://127.0.0.1:{follower}/kv/k")[1]["value"], "old")
        health = wait_until(lambda: http("GET", f"http://127.0.0.1:{leader}/health")[1], 5, "health")
        self.assertEqual(health["role"], "deposed")
        self.assertEqual(http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "again"})[0], 405)
        stale = {"entries": [{"version": 2, "epoch": 1, "key": "k", "value": "x"}], "after": [1, 1], "version": 2,
                 "epoch": 1}
        status, reply, _ = http("PUT", f"http://127.0.0.1:{follower}/replicate", stale)
        self.assertEqual((status, reply["epoch"]), (409, 2))


class BigSnapshotTest(unittest.TestCase):
    def test_a_snapshot_over_a_clients_1_mib_limit_installs_and_a_client_body_that_size_does_not(self):
        follower, _ = start_node(self, NODE, "--role", "follower", "--delay", 0)
        entries = [{"key": f"key-{i}", "version": i + 1, "value": "x" * 40} for i in range(30_000)]  # about 2 MiB
        status, reply, _ = http("PUT", f"http://127.0.0.1:{follower}/snapshot",
                                {"entries": entries, "version": 30_000, "last_epoch": 1}, timeout=30)
        self.assertEqual((status, reply["version"]), (200, 30_000))
        self.assertEqual(http("GET", f"http://127.0.0.1:{follower}/health")[1]["keys"], 30_000)
        self.assertEqual(http("PUT", f"http://127.0.0.1:{follower}/kv/k", {"value": "x" * 2_000_000})[0], 413)


@needs("freshness", "failure-detector")
class FailoverTest(unittest.TestCase):
    def writers(self, store, keys, stop):
        """One writer per key through the gateway; each read right after an ack must see it.
        Returns (acked: key -> (version, value), stale reads, refused writes)."""
        acked, stale, refused, lock = {}, [], [0], threading.Lock()

        def writer(key):
            count = 0
            while not stop.is_set():
                count += 1
                status, reply, _ = store.put(key, f"{key}-{count}")
                if status not in (200, 201):
                    with lock:
                        refused[0] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    acked[key] = (reply["version"], f"{key}-{count}")
                status, read, _ = store.get(key)
                if status != 200 or read["version"] < reply["version"]:
                    stale.append((key, reply["version"], status, read))

        threads = [threading.Thread(target=writer, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        self.addCleanup(stop.set)
        return threads, acked, stale, refused

    def assert_back_to_n_followers(self, store, n=3):
        def whole():
            nodes = store.status()["nodes"]
            return sum(1 for node in nodes if node["role"] == "follower" and node["up"] and node.get("ready")) == n \
                and sum(1 for node in nodes if node["role"] == "leader" and node["up"]) == 1
        wait_until(whole, 15, f"a leader and {n} followers again")

    def test_kill_9_of_the_leader_under_writes_loses_no_acknowledged_write_and_writes_resume(self):
        store = Store(self, "--write-quorum", 1, "--read-quorum", 1)
        stop = threading.Event()
        threads, acked, stale, refused = self.writers(store, [f"k{i}" for i in range(3)], stop)
        wait_until(lambda: len(acked) == 3, 10, "writes under way")
        store.command("kill leader")
        killed = time.monotonic()
        wait_until(lambda: any(e["kind"] == "promoted" for e in store.status()["events"]), 10, "a promotion")
        versions = {key: version for key, (version, _) in acked.items()}
        wait_until(lambda: any(acked[key][0] > versions[key] for key in versions), 10, "a write on the new leader")
        resumed = time.monotonic() - killed
        stop.set()
        for thread in threads:
            thread.join()
        self.assertEqual(stale, [])
        self.assertLess(resumed, 1.2 + 5)  # dead-after, plus generous room for a loaded machine
        for key, (version, value) in acked.items():
            status, read, _ = store.get(key)
            self.assertEqual((status, read["value"]), (200, value), key)
        self.assert_back_to_n_followers(store)
        events = store.status()["events"]
        self.assertTrue(any("promoted (epoch 2" in e["text"] for e in events), events[-10:])

    @unittest.skipIf(sys.platform == "win32", "SIGSTOP and SIGCONT exist on Linux and macOS only")
    def test_a_paused_leader_is_deposed_and_nothing_it_accepts_after_is_ever_read(self):
        store = Store(self, "--write-quorum", 1, "--read-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        old = store.node("leader")
        os.kill(old["pid"], signal.SIGSTOP)
        self.addCleanup(lambda: os.kill(old["pid"], signal.SIGCONT) if pid_alive(old["pid"]) else None)
        wait_until(lambda: any(e["kind"] == "promoted" for e in store.status()["events"]), 10, "a promotion")
        if pid_alive(old["pid"]):
            os.kill(old["pid"], signal.SIGCONT)
        status, _, _ = http("PUT", f"http://127.0.0.1:{old['port']}/kv/colour", {"value": "zombie"}, timeout=3)
        self.assertNotIn(status, (200, 201))  # the deposed leader acknowledges nothing
        self.assertEqual(store.put("colour", "green")[0], 200)  # the new leader does
        self.assert_back_to_n_followers(store)
        for _ in range(6):
            self.assertEqual(store.get("colour")[1]["value"], "green")


@needs("failure-detector")
class SupervisionTest(unittest.TestCase):
    def test_a_killed_registry_is_restarted_and_a_follower_killed_meanwhile_is_still_replaced(self):
        store = Store(self, "--write-quorum", 1)
        store.command("kill registry")
        store.command("kill follower1")  # dies while nobody listens for heartbeats
        wait_until(lambda: sum(1 for e in store.status()["events"] if e["kind"] == "up" and
                               e["text"].startswith("registry")) == 2, 10, "the registry restarted")
        wait_until(lambda: store.node("follower4").get("up"), 15, "a replacement for follower1")
        self.assertEqual(store.node("follower1"), {})
        self.assertIn(store.put("after", 1)[0], (200, 201))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
