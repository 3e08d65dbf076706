"""Check the freshness exercise, Freshness.is_fresh in freshness.py: one idea per check.

Lab 2; run: python labs/check.py replication. No process starts: the rule is asked directly, for
versions from 1 to 120 and every kind of answer, then through quorum_read; each call has 1 s.
"""
import sys
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.boundary import attempt, deadline
from labs.plumbing.exercises import run_checks
from labs.replication.freshness import Freshness, quorum_read


def reply(status, version):
    """A replica's answer as it comes: the value or not found, each with its version; anything else without."""
    if status == 200:
        return {"key": "k", "value": "blue", "version": version, "node": "127.0.0.1:9002"}
    if status == 404:
        return {"error": "key not found: k", "key": "k", "version": version, "node": "127.0.0.1:9002"}
    return {"error": "catching up" if status == 503 else "no answer"}


def judge(cases, values=True):
    """None if the rule answers each (newest acknowledged, status, version, fresh) as expected (only True or
    False, if not values); else the lines that show the first one it does not."""
    for newest, status, version, fresh in cases:
        freshness = Freshness()
        freshness.remember("k", newest)
        answer = {200: f"the value at v{version}", 404: f"not found at v{version}"}.get(status, f"status {status}")
        lines = [f"v{newest} acknowledged; a replica answers {answer}",
                 f"expected: {fresh} ({'fresh' if fresh else 'stale'})"]
        got, problem = attempt(lines, freshness.is_fresh, "k", status, reply(status, version))
        if problem:
            return problem
        if type(got) is not bool or values and got is not fresh:
            lines.append(f"got:      {got!r}")
            if isinstance(got, bool) and status in (200, 404) and (str(version) >= str(newest)) == got:
                lines.append(f"versions are numbers: v{version} is {'newer' if version > newest else 'older'} "
                             f"than v{newest}, whatever their digits")
            return lines


def answers_true_or_false():
    """is_fresh answers True or False, nothing else"""
    return judge([(3, 200, 3, True), (3, 200, 2, False), (3, 0, None, False)], values=False)


def as_new_or_newer_is_fresh():
    """an answer as new as the newest acknowledged, or newer, is fresh"""
    return judge([(newest, 200, newest + more, True) for newest in range(1, 121) for more in (0, 1, 2, 9, 91)])


def older_is_stale():
    """an older answer is stale: it would send a client back in time"""
    return judge([(newest, 200, older, False) for newest in range(2, 121) for older in {1, newest // 2, newest - 1}])


def not_found_the_same_way():
    """not found is judged by its version (the delete's; 0: never written)"""
    return judge([(0, 404, 0, True), (3, 404, 0, False), (12, 404, 12, True), (12, 404, 9, False),
                  (99, 404, 100, True), (100, 404, 99, False)])


def no_answer_is_never_fresh():
    """no answer (status 0), or a replica catching up (503), is never fresh"""
    return judge([(newest, status, None, False) for newest in (0, 5, 50) for status in (0, 503, 500)])


def quorum_read_reports_the_newest_fresh():
    """quorum_read skips a stale replica, reports a fresh one, remembers it"""
    freshness = Freshness()
    freshness.remember("k", 10)
    answers = {"follower1": (200, reply(200, 9)), "follower2": (503, reply(503, None)),
               "follower3": (404, reply(404, 11)), "leader": (200, reply(200, 11))}
    reported, _ = deadline(quorum_read, "k", list(answers), 2, answers.get, freshness)
    if reported is None or reported[0] != "follower3" or freshness.version("k") != 11:
        return ["v10 acknowledged; R = 2: follower1 says v9, follower2 is catching up, follower3 says not",
                "found at v11: expected follower3's v11 reported, and v11 remembered",
                f"got:      {reported[0] if reported else 'nothing reported'}, v{freshness.version('k')} remembered"]


if __name__ == "__main__":
    sys.exit(0 if run_checks("freshness", [answers_true_or_false, as_new_or_newer_is_fresh, older_is_stale,
                                           not_found_the_same_way, no_answer_is_never_fresh,
                                           quorum_read_reports_the_newest_fresh]) else 1)
