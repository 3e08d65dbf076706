"""The freshness rule: a read through the front door never goes back in time.

Lab 2. The front door (here the coordinator) remembers each key's newest version it acknowledged or answered.
quorum_read() asks R replicas at once; an answer below that version is stale and never reported: the other
replicas (the leader last) are asked, one by one. The newest fresh answer is reported, and remembered.
"""
import threading
from concurrent.futures import ThreadPoolExecutor


class Freshness:
    """Each key's newest version acknowledged or answered: what no read may go below."""

    def __init__(self):
        self.newest = {}  # key -> version
        self.lock = threading.Lock()

    def remember(self, key, version):
        """A write of key was acknowledged at version, or a read answered with it."""
        with self.lock:
            self.newest[key] = max(version, self.newest.get(key, 0))

    def version(self, key):
        return self.newest.get(key, 0)

    def is_fresh(self, key, status, reply):
        """A replica's answer no older than the newest version of key acknowledged or answered."""
        newest = self.version(key)
        # ---- BEGIN students' TODO (freshness): may this replica's answer be reported? ----
        # Clients have been told about version `newest` of this key already (a write acknowledged, or a read
        # answered); reporting anything older would send a client back in time. A replica that answered 200 (the
        # value) or 404 (not found) says in reply["version"] which write of the key it holds: for a not found,
        # the delete that removed the key (0 if it was never written). Any other status (0: no answer, 503:
        # still catching up) says nothing about the key. Return True if the answer may be reported, else False.
        return status in (200, 404) and reply["version"] >= newest
        # ---- END students' TODO ----


def quorum_read(key, replicas, quorum, ask, freshness):
    """Ask the first `quorum` replicas at once; while no answer is fresh, ask the next one. The newest fresh
    answer is reported: remember it, so that no later read goes below it. ask(replica) returns (status, reply).
    Returns (the answer reported, or None if none was fresh; every answer), each as (replica, status, reply)."""
    def answer(replica):
        return (replica, *ask(replica))

    if quorum == 1:
        answers = [answer(replicas[0])]  # one replica: asked from this thread, no other to wait for
    else:
        with ThreadPoolExecutor(quorum) as pool:
            answers = list(pool.map(answer, replicas[:quorum]))
    fresh = [(replica, status, reply) for replica, status, reply in answers if freshness.is_fresh(key, status, reply)]
    for replica in replicas[quorum:]:
        if fresh:
            break
        answers.append(answer(replica))
        fresh = [answers[-1]] if freshness.is_fresh(key, *answers[-1][1:]) else []
    reported = max(fresh, key=lambda one: one[2]["version"], default=None)
    if reported:
        freshness.remember(key, reported[2]["version"])
    return reported, answers
