"""Lab 2's log carries each entry's epoch, as Raft's does: a follower whose log is not a prefix of the leader's
(an older leader's entries, at the same versions or beyond) is reset from a snapshot before any ack of it counts;
a delivery must follow the follower's last entry; a new leader copies the most complete follower, by (epoch,
version); a leader that hears of a newer epoch steps down and acknowledges nothing more."""
import argparse
import os
import re
import unittest
from unittest import mock

from labs.plumbing import processes
from tests.helpers import free_block, health, holds_for, http, logs_folder, start, start_node, wait_healthy, wait_until

NODE = "labs/replication/node.py"


def old_entries(count, epoch=1):
    """What a leader of epoch wrote: v1..v<count>, "old" values."""
    return [{"version": v, "epoch": epoch, "key": f"k{v}", "value": "old"} for v in range(1, count + 1)]


class LogMatchingTest(unittest.TestCase):
    def follower(self, port=None):
        """A follower node; returns (port, process)."""
        port = port or free_block(1)
        process = start(self, NODE, "--port", port, "--role", "follower", "--delay", 0)
        wait_healthy(port)
        return port, process

    def hold(self, port, entries):
        """Make entries (their epochs as given) the follower's log, delivered as a leader of the last one's epoch."""
        body = {"entries": entries, "after": [0, 0], "version": len(entries), "epoch": entries[-1]["epoch"]}
        self.assertEqual(http("PUT", f"http://127.0.0.1:{port}/replicate", body)[0], 200)

    def follower_holding(self, entries):
        port, _ = self.follower()
        self.hold(port, entries)
        return port

    def leader_from_snapshot(self, follower, version, last_epoch):
        """A leader of epoch 2 whose store is a snapshot (as lab 2's `up leader` copies one), streaming to follower."""
        port, _ = start_node(self, NODE, "--replicate-to", follower, "--epoch", 2, "--catch-up", "--delay", 0,
                             "--replication-delay", 0)
        snapshot = {"entries": [{"version": v, "key": f"k{v}", "value": "new"} for v in range(1, version + 1)],
                    "version": version, "last_epoch": last_epoch, "epoch": 2}
        self.assertEqual(http("PUT", f"http://127.0.0.1:{port}/snapshot", snapshot)[0], 200)
        return port

    def state(self, port):
        """The follower's last entry (version, epoch) and what a client reads of each of its keys."""
        now = health(port)
        status, listing, _ = http("GET", f"http://127.0.0.1:{port}/kv")
        keys = listing["keys"] if status == 200 else []
        values = {key: http("GET", f"http://127.0.0.1:{port}/kv/{key}")[1].get("value") for key in keys}  # may change
        return now["version"], now["last_epoch"], values

    def assert_acked_by(self, leader, follower, version):
        """A write at W = 1 is acknowledged by follower, which then holds it."""
        status, reply, _ = http("PUT", f"http://127.0.0.1:{leader}/kv/after", {"value": "acked"},
                                {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], reply["epoch"], list(reply["acks"])),
                         (201, version, 2, [f"127.0.0.1:{follower}"]))
        self.assertEqual(http("GET", f"http://127.0.0.1:{follower}/kv/after")[1]["value"], "acked")

    def test_a_follower_with_an_older_epochs_entries_at_the_same_versions_is_reset_before_it_acks(self):
        follower = self.follower_holding(old_entries(3))
        leader = self.leader_from_snapshot(follower, 3, last_epoch=2)  # v3 of epoch 2: another write than ours
        new = {f"k{v}": "new" for v in (1, 2, 3)}
        wait_until(lambda: self.state(follower) == (3, 2, new), 5, "the follower reset to the leader's store")
        self.assertEqual(health(follower)["epoch"], 2)
        self.assert_acked_by(leader, follower, 4)

    def test_a_follower_beyond_the_leaders_log_is_reset_and_its_ack_counts_only_for_the_leaders_entries(self):
        follower = self.follower_holding(old_entries(5))  # v4 and v5 never reached the new leader
        leader = self.leader_from_snapshot(follower, 3, last_epoch=1)
        new = {f"k{v}": "new" for v in (1, 2, 3)}
        wait_until(lambda: self.state(follower) == (3, 1, new), 5, "the follower reset to v3")
        self.assert_acked_by(leader, follower, 4)

    def test_a_leader_still_catching_up_ships_nothing_so_it_resets_nobody_to_its_empty_store(self):
        follower = self.follower_holding(old_entries(3))
        start_node(self, NODE, "--replicate-to", follower, "--epoch", 2, "--catch-up", "--delay", 0,
                   "--replication-delay", 0)
        holds_for(lambda: self.state(follower) == (3, 1, {f"k{v}": "old" for v in (1, 2, 3)}), 1,
                  "the follower keeps v1 to v3")
        self.assertEqual((health(follower)["epoch"], health(follower)["ready"]), (1, True))  # it heard nothing

    def test_a_delivery_that_does_not_follow_the_followers_last_entry_is_refused_with_that_entry(self):
        follower = self.follower_holding(old_entries(3))
        url = f"http://127.0.0.1:{follower}"
        body = {"entries": [{"version": 3, "epoch": 2, "key": "k3", "value": "new"}], "after": [2, 2],
                "version": 3, "epoch": 2}
        status, reply, _ = http("PUT", url + "/replicate", body)
        self.assertEqual((status, reply["version"], reply["last_epoch"], reply["epoch"]), (409, 3, 1, 2))
        self.assertEqual(reply["error"], "my last entry is another: see version and last_epoch")
        # it follows epoch 2 now, and serves nothing until that leader finds its log in its own
        self.assertEqual((health(follower)["version"], health(follower)["ready"]), (3, False))
        self.assertEqual(http("GET", url + "/kv/k3")[0], 503)
        status, reply, _ = http("PUT", url + "/replicate", {"entries": [], "after": [3, 1], "version": 3, "epoch": 1})
        self.assertEqual((status, reply["error"]), (409, "epoch 1 is over: we follow epoch 2"))  # the old leader
        body = {"entries": [{"version": 4, "epoch": 2, "key": "k4", "value": "new"}], "after": [3, 1],
                "version": 4, "epoch": 2}
        self.assertEqual(http("PUT", url + "/replicate", body)[:2],
                         (200, {"version": 4, "last_epoch": 2, "epoch": 2, "node": f"127.0.0.1:{follower}"}))
        self.assertEqual(self.state(follower), (4, 2, {"k1": "old", "k2": "old", "k3": "old", "k4": "new"}))

    def test_a_new_leader_brought_up_copies_the_most_complete_follower_by_epoch_then_version(self):
        from labs.replication.coordinator import Coordinator  # lab 2's `up leader`, in this process
        secret = mock.patch.dict(os.environ, {"LABS_SECRET": ""})  # this test's processes: no secret
        secret.start()
        self.addCleanup(secret.stop)
        base, events = free_block(3), []
        args = argparse.Namespace(followers=2, write_quorum=2, read_quorum=1, base_port=base, delay=0,
                                  replication_delay=0.05, logs=logs_folder(self))
        coordinator = Coordinator(args, show=events.append)
        leader, (follower1, follower2) = coordinator.cluster.leader, coordinator.cluster.followers
        follower1.process, follower2.process = self.follower(base + 1)[1], self.follower(base + 2)[1]
        # follower1: v1..v5 of epoch 1; follower2: v1..v3 of epoch 1, then v4 of epoch 2 (that leader's only write)
        self.hold(base + 1, old_entries(5))
        self.hold(base + 2, old_entries(3) + [{"version": 4, "epoch": 2, "key": "k4", "value": "epoch 2"}])
        self.addCleanup(lambda: leader.process and processes.stop(leader.process))
        coordinator.epoch = 2  # the leader of epoch 2 is gone: `up leader` brings up the leader of epoch 3
        coordinator.bring_up(leader)
        self.assertTrue(any(re.search(rf"caught-up +leader :{base} copied .*\bv4\b.* from follower2: epoch 3", line)
                            for line in events), events)
        self.assertTrue(any(re.search(rf"up +leader :{base} is up, pid \d+, caught up at v4", line) for line in events),
                        events)
        chosen = {"k1": "old", "k2": "old", "k3": "old", "k4": "epoch 2"}
        self.assertEqual(self.state(base), (4, 2, chosen))
        for port in (base + 1, base + 2):  # follower1's v5 was never acknowledged: reset to the leader's log
            wait_until(lambda: self.state(port) == (4, 2, chosen), 5, f"follower :{port} to hold the leader's log")
        status, reply, _ = http("PUT", f"http://127.0.0.1:{base}/kv/k5", {"value": "acked"})
        self.assertEqual((status, reply["version"], reply["epoch"], sorted(reply["acks"])),
                         (201, 5, 3, [f"127.0.0.1:{base + 1}", f"127.0.0.1:{base + 2}"]))

    def test_a_leader_that_hears_of_a_newer_epoch_steps_down_and_its_waiting_write_gets_503(self):
        follower, _ = self.follower()
        leader, _ = start_node(self, NODE, "--replicate-to", follower, "--delay", 0, "--replication-delay", 0.3)
        url = f"http://127.0.0.1:{leader}"
        status, reply, _ = http("PUT", url + "/kv/k", {"value": 1}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], list(reply["acks"])), (201, 1, [f"127.0.0.1:{follower}"]))
        # a leader of epoch 2 reaches the follower, before the next write of epoch 1 does
        newer = {"entries": [], "after": [1, 1], "version": 1, "epoch": 2}
        self.assertEqual(http("PUT", f"http://127.0.0.1:{follower}/replicate", newer)[0], 200)
        status, reply, _ = http("PUT", url + "/kv/k", {"value": 2}, {"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], reply["epoch"], reply["acks"]), (503, 2, 1, {}))
        self.assertTrue(reply["error"].startswith("epoch 1 is over: a newer leader exists"), reply["error"])
        now = health(leader)
        self.assertEqual((now["role"], now["ready"], now["epoch"]), ("follower", False, 2))
        status, reply, _ = http("PUT", url + "/kv/k", {"value": 3})
        self.assertIn(status, (405, 503))  # a follower now, and not ready: it takes no client's write
        self.assertEqual(health(leader)["version"], 2)
        self.assertEqual(http("GET", f"http://127.0.0.1:{follower}/kv/k")[1]["value"], 1)  # v2 never reached it


if __name__ == "__main__":
    unittest.main()
