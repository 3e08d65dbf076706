"""What the freshness rule compares: a replica's not found carries the version of the delete that removed the key,
as a 200 carries its value's version; a DELETE of a key gone answers 404 with it and writes nothing."""
import time
import unittest

from tests.helpers import http, start_node


class TombstoneTest(unittest.TestCase):
    def test_not_found_carries_the_deletes_version_and_a_delete_of_a_key_gone_writes_nothing(self):
        follower, _ = start_node(self, "labs/replication/node.py", "--role", "follower", "--delay", 0)
        leader, _ = start_node(self, "labs/replication/node.py", "--replicate-to", follower, "--delay", 0,
                               "--replication-delay", 0.5)
        kv = f"http://127.0.0.1:{leader}/kv"
        self.assertEqual(http("PUT", kv + "/k", {"value": 1}, {"X-Write-Quorum": "0"})[1]["version"], 1)
        status, reply, _ = http("DELETE", kv + "/k", headers={"X-Write-Quorum": "0"})
        self.assertEqual((status, reply["version"], reply["deleted"]), (200, 2, True))
        self.assertEqual(http("GET", kv + "/k")[:2], (404, {"error": "key not found: k", "key": "k", "version": 2,
                                                             "node": f"127.0.0.1:{leader}"}))
        self.assertEqual(http("GET", kv + "/never")[1]["version"], 0)
        started = time.monotonic()  # the follower holds v2 0.5 s after it was written: the answer waits for it
        status, reply, _ = http("DELETE", kv + "/k", headers={"X-Write-Quorum": "1"})
        self.assertEqual((status, reply["version"], list(reply["acks"])), (404, 2, [f"127.0.0.1:{follower}"]))
        self.assertGreater(time.monotonic() - started, 0.3)
        self.assertEqual(http("GET", f"http://127.0.0.1:{leader}/health")[1]["version"], 2)  # nothing written
        status, reply, _ = http("GET", f"http://127.0.0.1:{follower}/kv/k")
        self.assertEqual((status, reply["version"]), (404, 2))  # the follower's not found: the same delete


if __name__ == "__main__":
    unittest.main()
