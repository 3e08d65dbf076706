"""Check the freshness exercise: Freshness.is_fresh in freshness.py, four checks of one line each.

Lab 2. No process is started: the rule is asked directly, then through quorum_read with replicas
that answer what each check needs. A check that fails says what it expected and what happened.

    python labs/replication/check.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.exercises import run_checks  # noqa: E402
from labs.replication.freshness import Freshness, quorum_read  # noqa: E402


def rule():
    """A freshness rule that knows: k acknowledged at v3, gone deleted at v2, never never written."""
    freshness = Freshness()
    freshness.acknowledged("k", 3)
    freshness.acknowledged("gone", 2, deleted=True)
    return freshness


def newest_or_newer_is_fresh():
    """the newest acknowledged version or newer is fresh; older is not"""
    for version, expected in ((3, True), (4, True), (2, False)):
        if rule().is_fresh("k", 200, {"value": "x", "version": version}) is not expected:
            return f"k was acknowledged at v3; a reply at v{version} should be {'fresh' if expected else 'stale'}"


def not_found_after_a_delete_only():
    """not found is fresh only after a delete, or for a key never written"""
    for key, expected in (("gone", True), ("never", True), ("k", False)):
        if rule().is_fresh(key, 404, {"error": "key not found"}) is not expected:
            return f"404 for {key!r} should be {'fresh' if expected else 'stale'} (k: v3, gone: deleted at v2, " \
                   f"never: never written)"


def no_answer_is_never_fresh():
    """no answer (0) or a replica catching up (503) is never fresh"""
    for status in (0, 503):
        if rule().is_fresh("never", status, {"error": "..."}) is not False:
            return f"status {status} is no answer at all: it must not be fresh, even for a key never written"


def quorum_read_skips_a_stale_replica():
    """quorum_read skips a stale replica and reports the fresh one"""
    replies = {"follower1": (200, {"value": "old", "version": 2}), "follower2": (200, {"value": "new", "version": 3})}
    fresh, _ = quorum_read("k", ["follower1", "follower2"], 1, replies.get, rule())
    if [replica for replica, _, _ in fresh] != ["follower2"]:
        return f"expected only follower2 (v3) reported, got {[replica for replica, _, _ in fresh]}"


if __name__ == "__main__":
    sys.exit(0 if run_checks("freshness", [newest_or_newer_is_fresh, not_found_after_a_delete_only,
                                           no_answer_is_never_fresh, quorum_read_skips_a_stale_replica]) else 1)
