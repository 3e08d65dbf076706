"""Lab 3, the kvstore survives its leader and its registry: a follower is elected (epoch 2), no acknowledged
write is lost, no read is stale, writes resume through the gateway; a deposed leader acknowledges nothing;
a big snapshot installs; a registry restarted learns the members again and the repairs go on."""
import os
import signal
import time
import unittest

from tests.helpers import POSIX_ONLY, free_port, http, needs, output, resume, start, start_node, wait_until
from tests.kvstore import LAB, Store

class EpochTest(unittest.TestCase):
    """Lab 3's nodes, started by hand: a follower that follows a newer epoch refuses the old leader."""

    def node(self, *args):
        return start_node(self, f"{LAB}/node.py", "--delay", 0, "--registry", free_port(), *args)[0]

    def test_a_leader_whose_epoch_is_over_acknowledges_nothing_and_steps_down(self):
        follower = self.node("--role", "follower")
        leader = self.node("--role", "leader", "--replicate-to", follower, "--replication-delay", 0)
        self.assertEqual(http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "old"})[0], 201)
        status, reply, _ = http("POST", f"http://127.0.0.1:{follower}/vote", {"epoch": 2})  # an election
        self.assertEqual((status, reply["epoch"], reply["version"]), (200, 2, 1))
        status, reply, _ = http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "deposed"})
        self.assertEqual(status, 503, reply)  # no follower acknowledged it
        self.assertIn("epoch 1 is over", reply["error"])
        health = http("GET", f"http://127.0.0.1:{follower}/health")[1]
        self.assertEqual((health["version"], health["epoch"]), (1, 2))  # the deposed leader's write never came
        health = http("GET", f"http://127.0.0.1:{leader}/health")[1]
        self.assertEqual((health["role"], health["epoch"]), ("follower", 2))
        status, reply, _ = http("PUT", f"http://127.0.0.1:{leader}/kv/k", {"value": "again"})
        self.assertEqual(status, 503, reply)  # a follower now, not ready until the new leader matches its log
        status, reply, _ = http("POST", f"http://127.0.0.1:{follower}/vote", {"epoch": 1})  # an older election
        self.assertEqual(status, 409, reply)
        self.assertIn("we follow epoch 2", reply["error"])


class BigSnapshotTest(unittest.TestCase):
    def test_a_snapshot_over_a_clients_1_mib_limit_installs_and_a_client_body_that_size_does_not(self):
        follower, _ = start_node(self, f"{LAB}/node.py", "--role", "follower", "--delay", 0,
                                 "--registry", free_port())
        entries = [{"key": f"key-{i}", "version": i + 1, "value": "x" * 40} for i in range(30_000)]  # about 2 MiB
        status, reply, _ = http("PUT", f"http://127.0.0.1:{follower}/snapshot",
                                {"entries": entries, "version": 30_000, "last_epoch": 1, "epoch": 1}, timeout=30)
        self.assertEqual((status, reply["version"]), (200, 30_000))
        health = http("GET", f"http://127.0.0.1:{follower}/health")[1]
        self.assertEqual((health["keys"], health["version"]), (30_000, 30_000))
        self.assertEqual(http("GET", f"http://127.0.0.1:{follower}/kv/key-29999")[1]["version"], 30_000)
        status, reply, _ = http("PUT", f"http://127.0.0.1:{follower}/kv/k", {"value": "x" * 2_000_000})
        self.assertEqual(status, 413, reply)


@needs("freshness", "failure-detector")
class FailoverTest(unittest.TestCase):
    def test_kill_9_of_the_leader_under_writes_loses_no_acknowledged_write_and_writes_resume(self):
        store = Store(self, "--write-quorum", 1, "--read-quorum", 1)
        client = start(self, f"{LAB}/client.py", "--gateway", store.gateway_port, "--seconds", 7)
        wait_until(lambda: store.node("leader").get("version", 0) >= 20, 10, "writes under way")
        store.command("kill leader")
        killed = time.monotonic()
        promoted = wait_until(lambda: store.event("promoted", r"^follower\d leads epoch 2$"),
                              10, "a follower elected")
        # writes resume through the gateway: acknowledged by the new leader, in epoch 2
        resumed = wait_until(lambda: (lambda answer: answer[0] in (200, 201) and answer[1])(
            store.put("after", "resumed")), 10, "a write through the gateway")
        self.assertLess(time.monotonic() - killed, 1.0 + 6)  # dead-after, plus generous room for a loaded machine
        new_leader = promoted["text"].split()[0]
        leader = store.leader()
        self.assertEqual((leader["name"], leader["epoch"]), (new_leader, 2))
        self.assertEqual((resumed["epoch"], resumed["node"]), (2, f"127.0.0.1:{leader['port']}"))
        self.assertEqual(store.get("after")[1]["value"], "resumed")
        client.wait(30)
        report = output(client)
        self.assertEqual(client.returncode, 0, report)
        self.assertRegex(report, r"\n([1-9]\d*) writes acknowledged")
        self.assertIn("\n     0 acknowledged writes lost", report)
        self.assertIn("\n     0 stale reads", report)
        wait_until(store.whole, 15, "a leader and 3 followers again")  # the old leader's slot refilled
        self.assertTrue(store.event("replace", r"^leader is dead: follower4 :\d+ takes its place$"))

    @POSIX_ONLY
    def test_a_paused_leader_is_deposed_and_nothing_it_accepts_after_is_ever_read(self):
        store = Store(self, "--write-quorum", 1, "--read-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        old = store.node("leader")
        os.kill(old["pid"], signal.SIGSTOP)
        self.addCleanup(resume, old["pid"])
        wait_until(lambda: store.event("promoted", r"leads epoch 2"), 10, "a follower elected")
        resume(old["pid"])
        status, reply, _ = http("PUT", f"http://127.0.0.1:{old['port']}/kv/colour", {"value": "zombie"}, timeout=5)
        self.assertNotIn(status, (200, 201), reply)  # the deposed leader acknowledges nothing
        self.assertEqual(store.put("colour", "green")[0], 200)  # the new leader does
        self.assertEqual(store.pids()["leader"], old["pid"])  # kept, under its name, in a follower's place
        self.assertEqual(store.node("leader")["role"], "follower")
        wait_until(store.whole, 15, "a leader and 3 followers again, the old leader among them")
        for _ in range(6):
            self.assertEqual(store.get("colour")[1]["value"], "green")


@needs("failure-detector")
class SupervisionTest(unittest.TestCase):
    def test_a_killed_registry_is_restarted_learns_the_members_again_and_a_follower_killed_meanwhile_is_replaced(self):
        store = Store(self, "--write-quorum", 1)
        first = store.pids()["registry"]
        store.command("kill registry\nkill follower1")  # follower1 dies while nobody listens for heartbeats
        wait_until(lambda: store.pids().get("registry") not in (None, first), 10, "the registry restarted")
        self.assertTrue(store.event("dead", rf"^registry :{store.registry_port} stopped \(killed or crashed\): "
                                            r"restarting it$"))
        running = {"leader", "follower2", "follower3", "gateway"}
        wait_until(lambda: all(store.members().get(name, {}).get("state") == "alive" for name in running), 5,
                   "the new registry to know every member that runs")
        members = store.members()
        pids = store.pids()
        self.assertEqual({name: members[name]["pid"] for name in running}, {name: pids[name] for name in running})
        wait_until(lambda: store.event("up", r"^follower4 :\d+ serves reads, in place of follower1$"), 15,
                   "a replacement for follower1")
        self.assertEqual(store.node("follower1"), {})
        self.assertIn(store.put("after", 1)[0], (200, 201))


if __name__ == "__main__":
    unittest.main()
