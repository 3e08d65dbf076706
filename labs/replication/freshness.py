"""The front door of a replicated store, and the freshness rule that keeps its reads from going back in time.

Lab 2. FrontDoor sends each write to the leader with W, and remembers the version it acknowledged;
each read asks R followers at once, the first one picked by lab 1's strategy. An answer older than
the newest version acknowledged or reported is stale and never reported: the other replicas are
asked, the leader last, and the newest fresh answer is reported, and remembered. Lab 2's coordinator
and lab 3's gateway each serve their clients through one FrontDoor.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from labs.plumbing.boundary import exercise
from labs.plumbing.network import send
from labs.scalability.load_balancer import STRATEGIES, measured_by

# seconds a replica has to answer a read: a paused one costs a read about this much
READ_TIMEOUT = 1.0


class Freshness:
    """Each key's newest version acknowledged or reported: what no read may go below."""

    def __init__(self):
        self.newest, self.lock = {}, threading.Lock()

    def remember(self, key, version):
        """A write of key was acknowledged at version, or a read reported it."""
        with self.lock:
            self.newest[key] = max(version, self.newest.get(key, 0))

    def version(self, key):
        return self.newest.get(key, 0)

    @exercise("freshness", valid=lambda answer: type(answer) is bool, safe=False)
    def is_fresh(self, key, status, reply):
        """May a replica's answer (status, reply) be reported? Never if older than what was acknowledged."""
        newest = self.version(key)
        # ---- BEGIN students' TODO (freshness): may this replica's answer be reported? ----
        # Clients have been told about version `newest` of this key already (a write acknowledged, or a read
        # reported); reporting anything older would send a client back in time. A replica that answered 200
        # (the value) or 404 (not found) says in reply["version"] which write of the key it holds: for a not
        # found, the delete that removed the key (0 if it was never written). Any other status (0: no answer,
        # 503: catching up) says nothing about the key. Return True if the answer may be reported, else False.
        return status in (200, 404) and reply["version"] >= newest
        # ---- END students' TODO ----


def quorum_read(key, replicas, quorum, ask, freshness):
    """Ask the first `quorum` replicas at once; while no answer is fresh, ask the next one. The newest fresh
    answer is reported: remember it. ask(replica) returns (status, reply). Returns (the answer reported, or
    None if none was fresh; every answer), each as (replica, status, reply)."""
    def answer(replica):
        return (replica, *ask(replica))

    with ThreadPoolExecutor(quorum) as pool:
        answers = list(pool.map(answer, replicas[:quorum]))
    fresh = [one for one in answers if freshness.is_fresh(key, one[1], one[2])]
    for replica in replicas[quorum:]:
        if fresh:
            break
        answers.append(answer(replica))
        fresh = [answers[-1]] if freshness.is_fresh(key, *answers[-1][1:]) else []
    reported = max(fresh, key=lambda one: one[2].get("version", 0), default=None)
    if reported:
        freshness.remember(key, reported[2].get("version", 0))
    return reported, answers


class FrontDoor:
    """Where a replicated store's clients come in: writes to the leader, reads to followers."""

    def __init__(self, leader, followers, write_quorum, read_quorum, strategy="round-robin"):
        self.leader, self.write_quorum, self.read_quorum = leader, write_quorum, read_quorum
        # lab 1's strategy: which follower a read asks first
        self.balancer = STRATEGIES[strategy](list(followers))
        self.freshness = Freshness()

    def write(self, method, key, body=None):
        """To the leader, which answers once W followers hold the write; remember the version acknowledged."""
        status, reply = send(self.leader, method, f"/kv/{quote(key, safe='')}", body,
                             {"X-Write-Quorum": str(self.write_quorum)})
        if status == 0:
            return 503, {"error": "the leader does not answer"}
        if status in (200, 201, 404) and "version" in reply:
            self.freshness.remember(key, reply["version"])
        return status, reply

    def read(self, key):
        """Ask R followers, the first picked by lab 1's strategy, then the others, the leader last; report the
        newest fresh answer. Returns (status, reply, every answer as (replica, status, reply))."""
        followers = list(self.balancer.nodes)
        if len(followers) < self.read_quorum:
            return 503, {"error": f"R = {self.read_quorum} followers needed, {len(followers)} serve reads"}, []
        first = self.balancer.pick()
        order = [first] + [node for node in followers if node != first] + [self.leader]
        # the strategy learns each follower's latency
        ask = measured_by(self.balancer)(send)
        path = f"/kv/{quote(key, safe='')}"
        answer, answers = quorum_read(key, order, self.read_quorum,
                                      lambda node: ask(node, "GET", path, timeout=READ_TIMEOUT), self.freshness)
        if answer:
            return answer[1], answer[2], answers
        said = [f"v{reply['version']}" for _, status, reply in answers if status in (200, 404)]
        why = f"freshness.is_fresh said no to all {len(said)} ({', '.join(said)})" if said else "no replica answered"
        return 503, {"error": f"no answer as new as v{self.freshness.version(key)}: {why}"}, answers
