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
from labs.plumbing.boundary import deadline, raised
from labs.plumbing.exercises import run_checks
from labs.scalability.rate_limiter import FixedWindow

# the function students write, without the lab's boundary around it: the check sees what it does
allow = FixedWindow.allow


class Clock:
    """A clock that says what we set."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def replay(limit, window, requests, what):
    """The answers of a new FixedWindow(limit, window) to requests, (seconds, client) in order, and None;
    or None, and the lines that show the call that raised."""
    clock, answers = Clock(), []
    limiter = FixedWindow(limit, window, clock)
    for clock.now, client in requests:
        expected = f"expected: an answer for client {client} at {clock.now:g} s"
        try:
            answers.append(deadline(allow, limiter, client))
        except TimeoutError as error:
            raise TimeoutError("\n".join([what, expected, f"got:      {error}"]))
        except NotImplementedError:
            raise
        except Exception as error:
            return None, [what, expected, *raised(error, allow)]
    return answers, None


def compare(what, answers, expected, part=0):
    """None if each answer's part (0: allowed) is as expected; else the lines that show the first difference."""
    got = [answer[part] if isinstance(answer, tuple) and len(answer) == 3 else answer for answer in answers]
    if got == expected:
        return None
    return [what, f"expected: {', '.join(map(str, expected))}", f"got:      {', '.join(map(str, got))}"]


def answers_a_triple():
    """allow answers (allowed, remaining, seconds to the next window)"""
    answers, problem = replay(2, 1.0, [(0.5, "a")], "limit 2, window 1 s: one request at 0.5 s")
    if not problem and not (isinstance(answers[0], tuple) and len(answers[0]) == 3 and type(answers[0][0]) is bool):
        problem = ["limit 2, window 1 s: one request at 0.5 s", "expected: (True, 1, 0.5)", f"got:      {answers[0]!r}"]
    return problem


def the_limit_holds_in_a_window():
    """in each window of `self.window` s, a client's first `limit` pass"""
    for limit in (1, 3, 5):
        for window, start in ((1.0, 0.0), (0.25, 10.0), (60.0, 1.2e6), (2.0, 6.0)):
            times = [start + window * i / 10 for i in range(limit + 3)]
            what = f"limit {limit}, window {window:g} s: {limit + 3} requests from {start:g} s to {times[-1]:g} s"
            answers, problem = replay(limit, window, [(t, "a") for t in times], what)
            problem = problem or compare(what, answers, [True] * limit + [False] * 3)
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
        times = (0.2, 0.3, 0.4, 1.2, 1.3, 1.4, 7.5, 7.6)
        requests = [(t * window, client) for t, client in zip(times, "aaaaaaba")]
        what = f"limit 2, window {window:g} s: a, a, a; the next window: a, a, a; later: b, a"
        answers, problem = replay(2, window, requests, what)
        problem = problem or compare(what, answers, [True, True, False, True, True, False, True, True])
        if problem:
            return problem


def clients_are_kept_apart():
    """one client never uses up another's limit: a count per client"""
    what = "limit 2, window 1 s, all in one window: a, b, a, a, c, b, b, c"
    answers, problem = replay(2, 1.0, [(0.1 + i / 100, client) for i, client in enumerate("abaacbbc")], what)
    return problem or compare(what, answers, [True, True, True, False, True, True, False, True])


def remaining_and_reset():
    """it says how many requests remain, and when the window resets"""
    what = "limit 3, window 1 s: 4 requests at 10.25 s; remaining:"
    answers, problem = replay(3, 1.0, [(10.25, "a")] * 4, what)
    problem = problem or compare(what, answers, [2, 1, 0, 0], 1)
    resets = [round(answer[2], 2) for answer in answers or []]
    if not problem and resets != [0.75] * 4:
        problem = ["limit 3, window 1 s: 4 requests at 10.25 s; seconds to the next window:",
                   "expected: 0.75, 0.75, 0.75, 0.75", f"got:      {', '.join(map(str, resets))}"]
    return problem


if __name__ == "__main__":
    sys.exit(0 if run_checks("fixed-window", [answers_a_triple, the_limit_holds_in_a_window,
                                              fifty_at_once_admit_the_limit, a_new_window_starts_from_zero,
                                              clients_are_kept_apart, remaining_and_reset]) else 1)
