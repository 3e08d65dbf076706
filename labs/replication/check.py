"""Check the freshness exercise: Freshness.is_fresh in freshness.py, four checks of one line each.

Lab 2. No process is started: the rule is asked directly, then through quorum_read with replicas
that answer what each check needs. A check that fails says what happened and where the mistake
usually is.

    python labs/check.py replication        (make check LAB=replication)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.exercises import run_checks  # noqa: E402
from labs.replication.freshness import Freshness, quorum_read  # noqa: E402


def judged(cases):
    """None if the rule judges every (status, version, newest, fresh, why) as it should; else what went wrong."""
    for status, version, newest, fresh, why in cases:
        freshness = Freshness()
        freshness.remember("k", newest)
        try:
            got = freshness.is_fresh("k", status, {"error": "...", "version": version} if status == 404 else
                                     {"value": "x", "version": version} if status == 200 else {"error": "..."})
        except KeyError:
            return f"status {status} comes without a version: look at the status first"
        if not isinstance(got, bool):
            return f"is_fresh returned {got!r}: return True or False"
        if got != fresh:
            answer = {200: f"a value at v{version}", 404: f"not found v{version}"}.get(status, f"status {status}")
            return f"after v{newest}, {answer} is {'fresh' if fresh else 'stale'}, it said {got!r}: {why}"


def newest_or_newer_is_fresh():
    """a value at the newest version or newer is fresh; an older one is stale"""
    return judged([(200, 3, 3, True, "the same version is no older"), (200, 4, 3, True, "a newer one is fine"),
                   (200, 2, 3, False, "a client would go back in time")])


def not_found_is_compared_by_its_version():
    """not found is compared by its version, the same way"""
    why = "not found carries the version of the delete that removed the key (0: never written)"
    return judged([(404, 4, 3, True, why), (404, 3, 3, True, why), (404, 2, 3, False, why), (404, 0, 3, False, why),
                   (404, 0, 0, True, why)])


def no_answer_is_never_fresh():
    """no answer (status 0) or a replica catching up (503) is never fresh"""
    return judged([(0, None, 0, False, "it holds no write of the key"), (503, None, 0, False, "it is catching up")])


def quorum_read_skips_stale_and_remembers():
    """quorum_read skips a stale replica, and remembers what it reported"""
    freshness = Freshness()
    freshness.remember("k", 3)
    replies = {"follower1": (200, {"value": "old", "version": 2}), "follower2": (404, {"version": 5})}
    answer, _ = quorum_read("k", ["follower1", "follower2"], 1, replies.get, freshness)
    if answer is None or answer[0] != "follower2":
        return f"expected follower2's not found (v5) reported, got {answer[0] if answer else 'none fresh'}"
    if freshness.version("k") != 5:
        return f"after reporting v5, the rule should remember v5, not v{freshness.version('k')}"


if __name__ == "__main__":
    sys.exit(0 if run_checks("freshness", [newest_or_newer_is_fresh, not_found_is_compared_by_its_version,
                                           no_answer_is_never_fresh, quorum_read_skips_stale_and_remembers]) else 1)
