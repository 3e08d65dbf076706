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
    """A freshness rule that remembers k at v3 (acknowledged or answered); never was never written."""
    freshness = Freshness()
    freshness.remember("k", 3)
    return freshness


def newest_or_newer_is_fresh():
    """the newest version remembered or newer is fresh; older is not"""
    for version, expected in ((3, True), (4, True), (2, False)):
        if rule().is_fresh("k", 200, {"value": "x", "version": version}) is not expected:
            return f"k is at v3; a value at v{version} should be {'fresh' if expected else 'stale'}"


def not_found_is_compared_by_its_version():
    """not found is compared by its version the same way"""
    for key, version, fresh in (("k", 4, True), ("k", 3, True), ("k", 2, False), ("k", 0, False), ("never", 0, True)):
        if rule().is_fresh(key, 404, {"error": "key not found", "version": version}) is not fresh:
            return f"{key} is at v{rule().version(key)}; not found v{version} should be {'fresh' if fresh else 'stale'}"


def no_answer_is_never_fresh():
    """no answer (0) or a replica catching up (503) is never fresh"""
    for status in (0, 503):
        if rule().is_fresh("never", status, {"error": "..."}) is not False:
            return f"status {status} is no answer: never fresh, even for a key never written"


def quorum_read_skips_stale_and_remembers():
    """quorum_read skips a stale replica, and remembers what it reported"""
    freshness = rule()
    replies = {"follower1": (200, {"value": "old", "version": 2}), "follower2": (404, {"version": 5})}
    answer, _ = quorum_read("k", ["follower1", "follower2"], 1, replies.get, freshness)
    if answer is None or answer[0] != "follower2":
        return f"expected follower2's not found (v5) reported, got {answer[0] if answer else 'none fresh'}"
    if freshness.version("k") != 5:
        return f"after reporting v5, the rule should remember v5, not v{freshness.version('k')}"


if __name__ == "__main__":
    sys.exit(0 if run_checks("freshness", [newest_or_newer_is_fresh, not_found_is_compared_by_its_version,
                                           no_answer_is_never_fresh, quorum_read_skips_stale_and_remembers]) else 1)
