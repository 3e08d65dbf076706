"""Check the fixed-window exercise: FixedWindow.allow in rate_limiter.py, four checks of one line each.

Lab 1. A fake clock makes every check instant and exact. A check that fails says what happened and
where the mistake usually is.

    python labs/check.py scalability        (make check LAB=scalability)
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.exercises import run_checks  # noqa: E402
from labs.scalability.rate_limiter import FixedWindow  # noqa: E402


class Clock:
    """A clock that says what we set: now = 1.5 is half-way through window 1 of a 1-second window."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def exactly_the_limit_at_once():
    """admits exactly the limit of 50 requests that arrive at once"""
    limiter = FixedWindow(5, 1.0, Clock(0.5))
    with ThreadPoolExecutor(50) as pool:
        verdicts = [answer[0] for answer in pool.map(lambda _: limiter.allow("c"), range(50))]
    odd = next((verdict for verdict in verdicts if not isinstance(verdict, bool)), None)
    if odd is not None:
        return f"allowed must be True or False, it was {odd!r}"
    allowed = verdicts.count(True)
    if allowed == 50 and limiter.current is None:
        return "it allowed all 50 with a limit of 5, and self.current is still None: when a new window begins, " \
               "remember its number there, or every request finds a new window"
    if allowed == 6:
        return "it allowed 6 with a limit of 5: one too many; look at the comparison with self.limit"
    if allowed == 50:
        return "it allowed all 50 with a limit of 5: the count never grows; store it back in self.counts"
    if allowed != 5:
        return f"it allowed {allowed} of 50 with a limit of 5, not 5"


def remaining_and_reset():
    """says how many requests remain and when the window resets"""
    limiter = FixedWindow(3, 1.0, Clock(10.25))
    answers = [tuple(round(number, 2) if isinstance(number, float) else number for number in limiter.allow("c"))
               for _ in range(4)]
    expected = [(True, 2, 0.75), (True, 1, 0.75), (True, 0, 0.75), (False, 0, 0.75)]
    for number, (answer, right) in enumerate(zip(answers, expected), 1):
        if answer != right:
            return f"request {number} at 10.25 s, with a limit of 3 per 1 s: (allowed, remaining, seconds to the " \
                   f"next window) should be {right}, it was {answer}"


def next_window_starts_from_zero():
    """counts from zero again in a new window, and in one much later"""
    clock = Clock(0.1)
    limiter = FixedWindow(2, 1.0, clock)
    limiter.allow("c"), limiter.allow("c")
    for clock.now in (1.1, 7.4):
        if not limiter.allow("c")[0]:
            return f"at {clock.now} s, in a new window, the client's first request was refused: when current is " \
                   f"a new window, start every count again from zero"


def clients_kept_apart():
    """keeps clients apart: one never uses up another's limit"""
    limiter = FixedWindow(2, 1.0, Clock(0.5))
    for _ in range(3):
        limiter.allow("a")
    if not limiter.allow("b")[0]:
        return "client b was refused after client a used up its limit: keep one count per client, " \
               "self.counts[client]"


if __name__ == "__main__":
    sys.exit(0 if run_checks("fixed-window", [exactly_the_limit_at_once, remaining_and_reset,
                                              next_window_starts_from_zero, clients_kept_apart]) else 1)
