"""A replicated store's front door, and the freshness rule: no read ever goes back in time.

Lab 2. FrontDoor sends a write to the leader with quorum W and remembers the version acknowledged; a
read asks R followers, the first picked by lab 1's strategy. An answer older than the newest version
acknowledged or reported is stale, never reported: the others are asked, the leader last. Lab 2's
coordinator and lab 3's gateway each serve their clients through a FrontDoor.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from labs.plumbing.network import send
from labs.scalability.load_balancer import STRATEGIES, measured_by

# seconds a replica has to answer a read: a paused one costs a read about this much
READ_TIMEOUT = 1.0


class Freshness:
    """Each key's newest version acknowledged or reported: what no read may go below."""

    def __init__(self):
        self.newest, self.lock = {}, threading.Lock()

    def remember(self, key, version):
        with self.lock:
            self.newest[key] = max(version, self.newest.get(key, 0))

    def version(self, key):
        return self.newest.get(key, 0)

    def is_fresh(self, key, status, reply):
        """May a replica's answer (status, reply) be reported?"""
        newest = self.version(key)
        # ---- BEGIN students' TODO (freshness): may this replica's answer be reported? ----
        # Clients were told about version `newest` of this key already (a write acknowledged, or a
        # read reported); reporting anything older would send a client back in time. A replica that
        # answered 200 (the value) or 404 (not found) says in reply["version"] which write of the
        # key it holds: for a not found, the delete that removed the key (0: never written). Any
        # other status (0: no answer, 503: catching up) says nothing about the key. Return True if
        # the answer may be reported, else False.
        return status in (200, 404) and reply["version"] >= newest
        # ---- END students' TODO ----


def quorum_read(key, replicas, quorum, ask, freshness):
    """Ask the first `quorum` replicas at once, then one more while no answer is fresh; report the
    newest fresh one and remember it. ask(replica) -> (status, reply). Returns (the answer reported
    or None, every answer), each as (replica, status, reply)."""
    def answer(replica):
        return (replica, *ask(replica))

    with ThreadPoolExecutor(quorum) as pool:
        answers = list(pool.map(answer, replicas[:quorum]))
    fresh = [one for one in answers if freshness.is_fresh(key, one[1], one[2])]
    for replica in replicas[quorum:] if not fresh else []:
        answers.append(answer(replica))
        if freshness.is_fresh(key, *answers[-1][1:]):
            fresh = [answers[-1]]
            break
    reported = max(fresh, key=lambda one: one[2].get("version", 0), default=None)
    if reported:
        freshness.remember(key, reported[2].get("version", 0))
    return reported, answers


class FrontDoor:
    """Where a replicated store's clients come in: writes to the leader, reads to R followers."""

    def __init__(self, leader, followers, write_quorum, read_quorum, strategy="round-robin"):
        self.leader, self.write_quorum, self.read_quorum = leader, write_quorum, read_quorum
        # the newest leader's epoch we know: each read tells it (a replica of an older one follows)
        self.epoch = 1
        # lab 1's strategy picks the follower a read asks first
        self.balancer, self.freshness = STRATEGIES[strategy](list(followers)), Freshness()

    def write(self, method, key, body=None):
        """To the leader, which answers once W followers hold the write; remember its version."""
        status, reply = send(self.leader, method, f"/kv/{quote(key, safe='')}", body,
                             {"X-Write-Quorum": str(self.write_quorum)})
        if status in (200, 201, 404):
            self.freshness.remember(key, reply["version"])
        return (status, reply) if status else (503, {"error": "the leader does not answer"})

    def read(self, key):
        """R followers, the first picked by lab 1's strategy, then the others, the leader last.
        Returns (status, the reply reported, every answer as (replica, status, reply))."""
        followers, path = list(self.balancer.nodes), f"/kv/{quote(key, safe='')}"
        if len(followers) < self.read_quorum:
            return 503, {"error": f"R = {self.read_quorum}, {len(followers)} followers serve"}, []
        first = self.balancer.pick()
        order = [first] + [node for node in followers if node != first] + [self.leader]
        # lab 1's middleware: the strategy hears how long each follower took
        ask = measured_by(self.balancer)(send)
        reported, answers = quorum_read(key, order, self.read_quorum, lambda node: ask(
            node, "GET", path, headers={"X-Epoch": str(self.epoch)}, timeout=READ_TIMEOUT),
            self.freshness)
        if reported:
            return reported[1], reported[2], answers
        said = list(dict.fromkeys(f"v{reply['version']}" for _, status, reply in answers
                                  if status in (200, 404)))
        why = f"is_fresh said no to {', '.join(said)}" if said else "no replica had an answer"
        return 503, {"error": f"no answer as new as v{self.freshness.version(key)}: {why}"}, answers
