"""Lab 3 with two faults at once: an election that waits until one answering follower holds every
acknowledged write, kills and pauses of two roles together, a repair interrupted by the next fault."""
import contextlib
import os
import signal
import sys
import time
import unittest

from tests.helpers import http, needs, wait_until
from tests.test_lab3_kvstore import Store

POSIX_ONLY = unittest.skipIf(sys.platform == "win32", "SIGSTOP and SIGCONT exist on Linux and macOS only")


def resume(pid):
    """SIGCONT a paused process, if it is still there."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def pids(store):
    return {node["name"]: node["pid"] for node in store.status()["nodes"]}


def whole(store, n=3):
    """A leader and n followers up and ready, none of them catching up."""
    nodes = store.status()["nodes"]
    return sum(1 for node in nodes if node["role"] == "leader" and node["up"] and node.get("ready")) == 1 and \
        sum(1 for node in nodes if node["role"] == "follower" and node["up"] and node.get("ready")) == n


def write_to_every_follower(store):
    """A write that all N followers must ack (X-Write-Quorum: N), sent to the leader: the store is at full strength."""
    leader = store.status()["nodes"][0]
    status, reply, _ = http("PUT", f"http://127.0.0.1:{leader['port']}/kv/full", {"value": 1},
                            {"X-Write-Quorum": "3"})
    return status in (200, 201) and len(reply["acks"]) == 3


@needs("freshness", "failure-detector")
class CompoundFaultsTest(unittest.TestCase):
    def assert_whole_again(self, store, acked):
        """Back to 1 leader + 3 followers, W = N writes accepted again, every acknowledged write still there,
        and no event line said twice."""
        wait_until(lambda: whole(store), 20, "a leader and 3 followers again")
        wait_until(lambda: write_to_every_follower(store), 10, "a write acked by all 3 followers")
        for key, value in acked.items():
            self.assertEqual(store.get(key)[1].get("value"), value, key)
        lines = [(event["kind"], event["text"]) for event in store.status()["events"]]
        self.assertEqual([line for line in lines if lines.count(line) > 1], [])

    @POSIX_ONLY
    def test_the_election_waits_for_the_paused_follower_that_alone_holds_an_acknowledged_write(self):
        store = Store(self, "--write-quorum", 1, "--replication-delay", 0.5, "--dead-after", 4)
        nodes = {node["name"]: node for node in store.status()["nodes"]}
        self.assertEqual(store.put("colour", "blue")[0], 201)  # acked by follower1 after 0.5 s; follower2 at 1 s
        killed = time.monotonic()
        os.kill(nodes["leader"]["pid"], signal.SIGKILL)
        holders = [http("GET", f"http://127.0.0.1:{nodes[f'follower{i}']['port']}/kv/colour")[0] for i in (1, 2, 3)]
        self.assertEqual(holders, [200, 404, 404])
        # follower1 pauses before the registry declares the leader dead (4 s) and resumes before its own
        # silence reaches 4 s: never dead, but silent while the coordinator elects.
        wait_until(lambda: time.monotonic() - killed > 2.5, 5, "2.5 s after the kill")
        os.kill(nodes["follower1"]["pid"], signal.SIGSTOP)
        self.addCleanup(resume, nodes["follower1"]["pid"])
        wait_until(lambda: store.event("refused", "no leader yet: 2 of 3 followers answered"), 10, "a refusal")
        resume(nodes["follower1"]["pid"])
        wait_until(lambda: store.event("promoted", "follower1 promoted"), 10, "follower1 promoted")
        self.assertIsNone(store.event("promoted", "follower[23]"))
        self.assertEqual(store.get("colour")[1]["value"], "blue")
        self.assert_whole_again(store, {"colour": "blue"})

    def test_leader_and_follower_killed_together_come_back_to_full_strength(self):
        store = Store(self)  # W = N = 3
        acked = {f"k{i}": i for i in range(5)}
        for key, value in acked.items():
            self.assertEqual(store.put(key, value)[0], 201)
        before = pids(store)
        os.kill(before["leader"], signal.SIGKILL)
        os.kill(before["follower2"], signal.SIGKILL)
        self.assert_whole_again(store, acked)
        self.assertEqual(store.put("after", 1)[0], 201)  # through the gateway, at W = 3

    def test_the_promoted_leader_killed_while_its_replacement_catches_up_is_replaced_too(self):
        store = Store(self, "--write-quorum", 2)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        os.kill(pids(store)["leader"], signal.SIGKILL)
        wait_until(lambda: store.event("replace", "leader is dead"), 10, "the first repair")
        promoted = store.status()["nodes"][0]
        os.kill(promoted["pid"], signal.SIGKILL)
        wait_until(lambda: store.event("promoted", f"leader dead -> (?!{promoted['name']})"), 10, "a second promotion")
        self.assert_whole_again(store, {"colour": "blue"})

    def test_gateway_and_leader_killed_together_the_new_gateway_learns_the_new_leaders_versions(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        before = pids(store)
        os.kill(before["gateway"], signal.SIGKILL)
        os.kill(before["leader"], signal.SIGKILL)
        self.assert_whole_again(store, {"colour": "blue"})
        wait_until(lambda: store.node("gateway").get("pid") not in (None, before["gateway"]), 10, "a new gateway")
        self.assertIn("knows the leader's versions", (store.logs / "gateway.log").read_text())  # not "could not"

    @POSIX_ONLY
    def test_leader_and_follower_paused_together_are_confirmed_dead_killed_and_replaced(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        before = pids(store)
        for name in ("leader", "follower3"):
            os.kill(before[name], signal.SIGSTOP)
            self.addCleanup(resume, before[name])
        self.assert_whole_again(store, {"colour": "blue"})
        for name in ("leader", "follower3"):
            self.assertTrue(store.event("killed", rf"{name} :\d+ \(pid {before[name]}\) does not answer"), name)

if __name__ == "__main__":
    unittest.main()
