"""Check the fixed-window exercise: FixedWindow.allow in rate_limiter.py, one idea per check.

Lab 1. A fake clock makes every check instant and exact; each idea is tried with several limits,
windows, clocks and clients, and each call has a deadline of 1 s. A check that fails names the
idea, then the requests, what was expected and what came back.

    python labs/check.py scalability        (make check LAB=scalability)
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.boundary import deadline
from labs.plumbing.exercises import run_checks
from labs.scalability.rate_limiter import FixedWindow

# the function students write, without the lab's boundary around it: the check sees what it does
allow = FixedWindow.allow.__wrapped__


class Clock:
    """A clock that says what we set."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def replay(limit, window, requests):
    """The answers of a new FixedWindow(limit, window) to requests: (seconds, client) pairs, in order."""
    clock = Clock()
    limiter = FixedWindow(limit, window, clock)
    answers = []
    for clock.now, client in requests:
        answers.append(deadline(allow, limiter, client))
    return answers


def compare(what, answers, expected, part=0):
    """None if each answer's part (0: allowed) is as expected; else the lines that show the first difference."""
    got = [answer[part] if isinstance(answer, tuple) and len(answer) == 3 else answer for answer in answers]
    if got == expected:
        return None
    return [what, f"expected: {', '.join(map(str, expected))}", f"got:      {', '.join(map(str, got))}"]


def answers_a_triple():
    """allow answers (allowed, remaining, seconds to the next window)"""
    answer = replay(2, 1.0, [(0.5, "a")])[0]
    if not (isinstance(answer, tuple) and len(answer) == 3 and type(answer[0]) is bool):
        return ["limit 2, window 1 s: one request at 0.5 s", "expected: (True, 1, 0.5)", f"got:      {answer!r}"]


def the_limit_holds_in_a_window():
    """in each window of `self.window` s, a client's first `limit` pass"""
    for limit in (1, 3, 5):
        for window, start in ((1.0, 0.0), (0.25, 10.0), (60.0, 1.2e6), (2.0, 6.0)):
            times = [start + window * i / 10 for i in range(limit + 3)]
            answers = replay(limit, window, [(t, "a") for t in times])
            problem = compare(f"limit {limit}, window {window:g} s: {limit + 3} requests from {start:g} s to "
                              f"{times[-1]:g} s", answers, [True] * limit + [False] * 3)
            if problem:
                return problem


def fifty_at_once_admit_the_limit():
    """of 50 requests at the same moment, exactly `limit` pass"""
    limiter = FixedWindow(5, 1.0, Clock(0.5))
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: deadline(allow, limiter, "a"), range(50)))
    passed = sum(1 for answer in answers if answer[0] is True)
    if passed != 5:
        return ["limit 5, window 1 s: 50 requests of one client at once", "expected: 5 pass", f"got:      {passed}"]


def a_new_window_starts_from_zero():
    """a new window starts from zero for everyone; its first request counts"""
    for window in (1.0, 0.5, 30.0):
        requests = [(0.2 * window, "a"), (0.3 * window, "a"), (0.4 * window, "a"), (1.2 * window, "a"),
                    (1.3 * window, "a"), (1.4 * window, "a"), (7.5 * window, "b"), (7.6 * window, "a")]
        expected = [True, True, False, True, True, False, True, True]
        problem = compare(f"limit 2, window {window:g} s: a, a, a; the next window: a, a, a; later: b, a",
                          replay(2, window, requests), expected)
        if problem:
            return problem


def clients_are_kept_apart():
    """one client never uses up another's limit: a count per client"""
    requests = [(0.1, "a"), (0.1, "b"), (0.2, "a"), (0.2, "a"), (0.3, "c"), (0.3, "b"), (0.4, "b"), (0.5, "c")]
    return compare("limit 2, window 1 s, all in one window: a, b, a, a, c, b, b, c",
                   replay(2, 1.0, requests), [True, True, True, False, True, True, False, True])


def remaining_and_reset():
    """it says how many requests remain, and when the window resets"""
    answers = replay(3, 1.0, [(10.25, "a")] * 4)
    problem = compare("limit 3, window 1 s: 4 requests at 10.25 s; remaining:", answers, [2, 1, 0, 0], 1)
    resets = [round(answer[2], 2) for answer in answers]
    if not problem and resets != [0.75] * 4:
        problem = ["limit 3, window 1 s: 4 requests at 10.25 s; seconds to the next window:",
                   "expected: 0.75, 0.75, 0.75, 0.75", f"got:      {', '.join(map(str, resets))}"]
    return problem


if __name__ == "__main__":
    sys.exit(0 if run_checks("fixed-window", [answers_a_triple, the_limit_holds_in_a_window,
                                              fifty_at_once_admit_the_limit, a_new_window_starts_from_zero,
                                              clients_are_kept_apart, remaining_and_reset]) else 1)
