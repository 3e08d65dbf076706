"""The follower's role: apply the leader's log, in version order, right after its own last entry.

Lab 2. A node is given this role until it is told to lead (node.py). A follower holds a prefix of
the log: it takes entries only right after its last one, so "holds v7" means v1 to v7, and two
logs with the same last (version, epoch) hold the same writes. Clients' writes go to the leader.
"""
from labs.plumbing.jsonhttp import BadRequest


class Follower:
    name = "follower"

    def __init__(self, node):
        self.node = node

    def write(self, change, quorum, status):
        raise BadRequest(405, "this node is a follower: it takes writes from its leader only")

    def append(self, entries, after, leader_version):
        """Take a leader's entries, which follow its entry `after` ([version, epoch]), if that is
        our last entry: "ok"; else "mismatch", and the leader looks again. Ready (serving reads)
        once we hold the leader's newest version. The caller holds the node's lock."""
        node = self.node
        if after != node.log.last:
            return "mismatch"
        for entry in entries:
            node.apply(entry)
        node.ready = node.ready or node.log.version >= leader_version
        return "ok"
