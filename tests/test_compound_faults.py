"""Lab 3 with two faults at once: an election that waits until one answering follower holds every
acknowledged write, kills of two roles together, a repair interrupted by the next fault, and two
processes paused together, which the coordinator never kills: they may hold acknowledged writes."""
import os
import re
import signal
import sys
import unittest

from tests.helpers import POSIX_ONLY, holds_for, http, needs, output, pause, resume, running, wait_until
from tests.kvstore import Store
from tests.test_partitions import AT_ONCE

def write_to_every_follower(store):
    """A write that all N followers must ack (X-Write-Quorum: N), sent to the leader: the store is at full strength."""
    leader = store.status()["nodes"][0]
    status, reply, _ = http("PUT", f"http://127.0.0.1:{leader['port']}/kv/full", {"value": 1},
                            {"X-Write-Quorum": str(store.followers)})
    return status in (200, 201) and len(reply["acks"]) == store.followers


@needs("freshness", "failure-detector")
class CompoundFaultsTest(unittest.TestCase):
    def assert_whole_again(self, store, acked):
        """Back to 1 leader + 3 followers, W = N writes accepted again, every acknowledged write still there (as
        acknowledged, or newer), no line printed again and again, and no process more than the store's."""
        try:
            wait_until(store.whole, 15, "a leader and 3 followers again")
        except AssertionError as error:
            nodes = [(node["name"], node["role"], node.get("epoch"), node.get("ready")) for node in store.status()["nodes"]]
            raise AssertionError(f"{error}; (name, role, epoch, ready): {nodes}; the coordinator printed:\n"
                                 f"{output(store.process)[-1200:]}") from None
        wait_until(lambda: write_to_every_follower(store), 10, "a write acked by all 3 followers")
        for key, (version, value) in acked.items():
            status, reply, _ = store.get(key)
            self.assertEqual(status, 200, f"{key}: {reply}")
            self.assertGreaterEqual(reply["version"], version, key)
            if reply["version"] == version:
                self.assertEqual(reply["value"], value, key)
        # news that repeats is counted (x10, x100), not printed again: a step tried again may say itself twice
        printed = re.findall(r"^\d\d:\d\d:\d\d (.*)$", output(store.process), re.M)
        self.assertEqual([line for line in printed if printed.count(line) > 2], [])
        if sys.platform != "win32":  # no process more than the store's: a repair cut short stopped what it started
            self.assertEqual(store.children(), set(store.pids().values()))

    def acknowledge(self, store, writes):
        """Write each key through the gateway; returns {key: (version, value)} of the acknowledged writes."""
        acked = {}
        for key, value in writes.items():
            status, reply, _ = store.put(key, value)
            self.assertIn(status, (200, 201), reply)
            acked[key] = (reply["version"], value)
        return acked

    @POSIX_ONLY
    def test_the_election_waits_for_the_paused_follower_that_alone_holds_an_acknowledged_write(self):
        # W = 1; follower k gets each write k replication delays after the leader: at 1, 2 and 3 s
        store = Store(self, "--write-quorum", 1, "--replication-delay", 1)
        before = store.pids()
        acked = self.acknowledge(store, {"colour": "blue"})  # acked by follower1 after 1 s
        os.kill(before["leader"], signal.SIGKILL)
        pause(self, before["follower1"])
        holders = [http("GET", f"http://127.0.0.1:{store.port_of(f'follower{n}')}/kv/colour", timeout=1)[0]
                   for n in (2, 3)]
        self.assertEqual(holders, [404, 404])  # follower1 alone holds it
        # follower1 is silent, so dead to the registry; its process runs, so its vote is missing, not worthless
        wait_until(lambda: store.event("refused", r"no leader: 2 of the 3 votes"), 10, "a refused election")
        holds_for(lambda: not store.event("promoted", ".") and running(before["follower1"]), 2,
                  "no leader while follower1 is paused, and follower1 not killed")
        self.assertIsNone(store.event("replace", "follower1"))
        resume(before["follower1"])
        wait_until(lambda: store.event("promoted", r"follower1 leads epoch 2"), 10, "follower1 promoted")
        self.assertIsNone(store.event("promoted", r"follower[23]"))
        self.assert_whole_again(store, acked)
        self.assertEqual(store.pids()["follower1"], before["follower1"])

    def test_leader_and_follower_killed_together_come_back_to_full_strength(self):
        store = Store(self, *AT_ONCE)  # W = N = 3
        acked = self.acknowledge(store, {f"k{i}": i for i in range(5)})
        before = store.pids()
        os.kill(before["leader"], signal.SIGKILL)
        os.kill(before["follower2"], signal.SIGKILL)
        self.assert_whole_again(store, acked)
        self.assertTrue(store.event("replace", "leader is dead"))
        self.assertTrue(store.event("replace", "follower2 is dead"))
        self.assertEqual(store.put("after", 1)[0], 201)  # through the gateway, at W = 3

    def test_the_promoted_leader_killed_while_its_replacement_catches_up_is_replaced_too(self):
        store = Store(self, *AT_ONCE, "--write-quorum", 2)
        acked = self.acknowledge(store, {"colour": "blue"})
        os.kill(store.pids()["leader"], signal.SIGKILL)
        promoted = wait_until(lambda: store.event("promoted", r"leads epoch 2"), 10, "a new leader")["text"].split()[0]
        wait_until(lambda: store.event("replace", "leader is dead"), 10, "the old leader's replacement starting")
        os.kill(store.pids()[promoted], signal.SIGKILL)
        wait_until(lambda: store.event("promoted", rf"^(?!{promoted} )\S+ leads epoch 3"), 10, "a second promotion")
        self.assert_whole_again(store, acked)
        self.assertNotIn(promoted, store.pids())  # dead, exited: replaced

    def test_gateway_and_leader_killed_together_the_new_gateway_learns_the_new_leaders_versions(self):
        store = Store(self, *AT_ONCE, "--write-quorum", 1)
        acked = self.acknowledge(store, {"colour": "blue", "size": "L"})
        acked.update(self.acknowledge(store, {"colour": "green"}))
        before = store.pids()
        os.kill(before["gateway"], signal.SIGKILL)
        os.kill(before["leader"], signal.SIGKILL)
        self.assert_whole_again(store, acked)
        self.assertNotIn(store.node("gateway").get("pid"), (None, before["gateway"]))  # a new gateway
        status, reply, _ = store.put("colour", "red")  # the new gateway writes to the new leader
        self.assertEqual((status, reply["epoch"]), (200, 2))
        self.assertGreater(reply["version"], acked["colour"][0])

    @POSIX_ONLY
    def test_leader_and_follower_paused_together_are_never_killed_and_no_acknowledged_write_is_lost(self):
        # W = 1; follower k gets each write k replication delays after the leader: at 1, 2 and 3 s
        store = Store(self, "--write-quorum", 1, "--replication-delay", 1)
        acked = self.acknowledge(store, {"colour": "blue", "size": "L"})  # each acked by follower1 after 1 s
        before = store.pids()
        for name in ("leader", "follower1"):
            pause(self, before[name])
        holders = [http("GET", f"http://127.0.0.1:{store.port_of(f'follower{n}')}/kv/size", timeout=1)[0]
                   for n in (2, 3)]
        self.assertEqual(holders, [404, 404])  # the two paused processes alone hold size=L
        # both silent: dead to the registry; follower1's vote is missing, and N - W + 1 = 3 are needed
        wait_until(lambda: store.event("refused", r"no leader: 2 of the 3 votes"), 10, "a refused election")
        holds_for(lambda: not store.event("promoted", ".") and all(running(before[n]) for n in ("leader", "follower1")),
                  2, "no leader elected while the two are paused, and neither killed")
        # the leader resumes first, and the coordinator hears it is back; then follower1. The voters follow epoch 2
        # already: the old leader gathers no more acks, and an election must still take place
        resume(before["leader"])
        wait_until(lambda: store.event("rejoined", r"^leader "), 10, "the coordinator to hear that the leader is back")
        resume(before["follower1"])
        self.assert_whole_again(store, acked)
        self.assertEqual(store.get("size")[1].get("value"), "L")
        acked.update(self.acknowledge(store, {"colour": "green"}))  # the store goes on
        self.assertEqual(store.get("colour")[1]["value"], "green")
        after = store.pids()
        self.assertEqual((after["leader"], after["follower1"]), (before["leader"], before["follower1"]))
        self.assertIsNone(store.event("killed", "."))
        self.assertIsNone(store.event("replace", "."))

if __name__ == "__main__":
    unittest.main()
