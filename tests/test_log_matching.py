"""Lab 2's log carries each entry's epoch: a follower that holds entries the leader's log does not (an
older leader's, at the same versions or beyond) is reset from a snapshot before any ack of it counts."""
import unittest

from tests.helpers import holds_for, http, start_node, wait_until

NODE = "labs/replication/node.py"


def old_entries(count):
    """What a leader of epoch 1 wrote: v1..v<count>, "old" values."""
    return [{"version": v, "epoch": 1, "key": f"k{v}", "value": "old"} for v in range(1, count + 1)]


class LogMatchingTest(unittest.TestCase):
    def follower_holding(self, entries):
        port, _ = start_node(self, NODE, "--role", "follower", "--delay", 0)
        body = {"entries": entries, "after": [0, 0], "version": len(entries), "epoch": 1}
        self.assertEqual(http("PUT", f"http://127.0.0.1:{port}/replicate", body)[0], 200)
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
        health = http("GET", f"http://127.0.0.1:{port}/health")[1]
        keys = http("GET", f"http://127.0.0.1:{port}/kv")[1]["keys"]
        values = {key: http("GET", f"http://127.0.0.1:{port}/kv/{key}")[1].get("value") for key in keys}  # may change
        return health["version"], health["last_epoch"], values

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
        self.assert_acked_by(leader, follower, 4)

    def test_a_follower_beyond_the_leaders_log_is_reset_and_its_ack_counts_only_for_the_leaders_entries(self):
        follower = self.follower_holding(old_entries(5))  # v4 and v5 never reached the new leader
        leader = self.leader_from_snapshot(follower, 3, last_epoch=1)
        new = {f"k{v}": "new" for v in (1, 2, 3)}
        wait_until(lambda: self.state(follower) == (3, 1, new), 5, "the follower reset to v3")
        self.assert_acked_by(leader, follower, 4)

    def test_a_leader_still_catching_up_ships_nothing_so_it_resets_nobody_to_its_empty_store(self):
        follower = self.follower_holding(old_entries(3))
        start_node(self, NODE, "--replicate-to", follower, "--epoch", 2, "--catch-up", "--delay", 0)
        holds_for(lambda: self.state(follower)[:2] == (3, 1), 1, "the follower keeps v1 to v3")

    def test_a_delivery_that_does_not_follow_the_followers_last_entry_is_refused_with_that_entry(self):
        follower = self.follower_holding(old_entries(3))
        body = {"entries": [{"version": 3, "epoch": 2, "key": "k3", "value": "new"}], "after": [2, 2],
                "version": 3, "epoch": 2}
        status, reply, _ = http("PUT", f"http://127.0.0.1:{follower}/replicate", body)
        self.assertEqual((status, reply["version"], reply["last_epoch"]), (409, 3, 1))
        self.assertEqual(self.state(follower), (3, 1, {f"k{v}": "old" for v in (1, 2, 3)}))

    def test_a_new_leader_copies_the_follower_whose_last_entry_is_newest_by_epoch_then_version(self):
        from labs.replication.log import completeness  # what lab 2's bring_up and lab 3's promote compare
        followers = [{"last_epoch": 1, "version": 9}, {"last_epoch": 2, "version": 5}, {}]
        self.assertEqual(max(followers, key=completeness), {"last_epoch": 2, "version": 5})


if __name__ == "__main__":
    unittest.main()
