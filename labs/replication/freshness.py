"""The freshness rule: no read returns a value older than the newest acknowledged write of its key.

Lab 2. Whoever sends the writes (here the coordinator) remembers each key's
newest acknowledged version. quorum_read() asks R replicas at once; an answer below that version
is stale and never reported: the other replicas (the leader last) are asked, one by one.
"""
import threading
from concurrent.futures import ThreadPoolExecutor


class Freshness:
    """Each key's newest acknowledged write: what no read may go below."""

    def __init__(self):
        self.newest = {}  # key -> (version, deleted)
        self.lock = threading.Lock()

    def acknowledged(self, key, version, deleted=False):
        with self.lock:
            if version > self.newest.get(key, (0, False))[0]:
                self.newest[key] = (version, deleted)

    def version(self, key):
        return self.newest.get(key, (0, False))[0]

    def is_fresh(self, key, status, reply):
        """A reply at least as new as the newest acknowledged write of key (not found is fresh after a delete)."""
        version, deleted = self.newest.get(key, (0, False))
        # ---- BEGIN students' TODO (freshness): may this replica's answer be reported? ----
        # `version` is the newest acknowledged version of key (0: never written); `deleted` says whether that
        # write deleted it. The replica answered HTTP `status` with `reply`. Return True if the answer is fresh:
        # 1. status 200: fresh if reply["version"] is at least `version`;
        # 2. status 404 (not found): fresh only if that newest write deleted the key, or it was never written;
        # 3. any other status (no answer, 503 while catching up): not fresh.
        if status == 200:
            return reply.get("version", 0) >= version
        return status == 404 and (deleted or version == 0)
        # ---- END students' TODO ----


def quorum_read(key, replicas, quorum, ask, freshness):
    """Ask the first `quorum` replicas at once; while no answer is fresh, ask the next one.
    ask(replica) returns (status, reply). Returns (fresh answers, every answer): (replica, status, reply)."""
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
        if freshness.is_fresh(key, *answers[-1][1:]):
            fresh.append(answers[-1])
    return fresh, answers
