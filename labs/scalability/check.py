"""Check the fixed-window exercise, FixedWindow.allow in rate_limiter.py: one idea per check.

Lab 1; run: python labs/check.py scalability. A fake clock makes every check instant and exact;
each idea is tried with several limits, windows, clocks and clients; each call has 1 s.
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.boundary import attempt, deadline
from labs.plumbing.exercises import run_checks
from labs.scalability.rate_limiter import FixedWindow


def expect(what, limit, window, requests, expected, part=0):
    """None if a new FixedWindow(limit, window) answers requests, (seconds, client) each, as
    expected: part `part` of each answer (0: allowed, 1: remaining, 2: seconds to the next window);
    with expected None, only that each is such a triple, True or False first. Else: what came."""
    got = []
    # a fake clock: it reads `now`, which the loop sets to each request's time
    limiter = FixedWindow(limit, window, lambda: now)
    for now, client in requests:
        asked = f"expected: an answer for client {client} at {now:g} s"
        answer, problem = attempt([what, asked], limiter.allow, client)
        if problem:
            return problem
        triple = isinstance(answer, tuple) and len(answer) == 3
        if expected is None and not (triple and type(answer[0]) is bool):
            return [what, "expected: (True or False, remaining, seconds to the next window)",
                    f"got:      {answer!r}"]
        got.append(answer[part] if triple else answer)
    if expected is not None and got != expected:
        return [what, f"expected: {', '.join(map(str, expected))}",
                f"got:      {', '.join(map(str, got))}"]


def answers_a_triple():
    """allow answers (allowed, remaining, seconds to the next window)"""
    return expect("limit 2, window 1 s: one request at 0.5 s", 2, 1.0, [(0.5, "a")], None)


def the_limit_holds_in_a_window():
    """in each window of `self.window` s, a client's first `limit` pass"""
    for limit in (1, 3, 5):
        for window, start in ((1.0, 0.0), (0.25, 10.0), (60.0, 1.2e6), (2.0, 6.0)):
            requests = [(start + window * i / 10, "a") for i in range(limit + 3)]
            what = (f"limit {limit}, window {window:g} s: {limit + 3} requests"
                    f" from {start:g} s to {requests[-1][0]:g} s")
            problem = expect(what, limit, window, requests, [True] * limit + [False] * 3)
            if problem:
                return problem


def fifty_at_once_admit_the_limit():
    """of 50 requests at the same moment, exactly `limit` pass"""
    limiter = FixedWindow(5, 1.0, lambda: 0.5)
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: deadline(limiter.allow, "a"), range(50)))
    passed = sum(1 for answer in answers if answer[0] is True)
    if passed != 5:
        what = "limit 5, window 1 s: 50 requests of one client at once"
        return [what, "expected: 5 pass", f"got:      {passed}"]


def a_new_window_starts_from_zero():
    """a new window starts from zero for everyone; its first request counts"""
    for window in (1.0, 0.5, 30.0):
        times = (0.2, 0.3, 0.4, 1.2, 1.3, 1.4, 7.5, 7.6)
        requests = [(t * window, client) for t, client in zip(times, "aaaaaaba")]
        what = f"limit 2, window {window:g} s: a, a, a; the next window: a, a, a; later: b, a"
        problem = expect(what, 2, window, requests, [True, True, False] * 2 + [True, True])
        if problem:
            return problem


def clients_are_kept_apart():
    """one client never uses up another's limit: a count per client"""
    what = "limit 2, window 1 s, all in one window: a, b, a, a, c, b, b, c"
    requests = [(0.1 + i / 100, client) for i, client in enumerate("abaacbbc")]
    return expect(what, 2, 1.0, requests, [True, True, True, False, True, True, False, True])


def remaining_and_reset():
    """it says how many requests remain, and when the window resets"""
    what, requests = "limit 3, window 1 s: 4 requests at 10.25 s;", [(10.25, "a")] * 4
    return (expect(f"{what} remaining:", 3, 1.0, requests, [2, 1, 0, 0], 1)
            or expect(f"{what} seconds to the next window:", 3, 1.0, requests, [0.75] * 4, 2))


if __name__ == "__main__":
    checks = [answers_a_triple, the_limit_holds_in_a_window, fifty_at_once_admit_the_limit,
              a_new_window_starts_from_zero, clients_are_kept_apart, remaining_and_reset]
    sys.exit(0 if run_checks("fixed-window", checks) else 1)
