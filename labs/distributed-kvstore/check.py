"""Check the failure-detector exercise, Registry.state_after in registry.py: one idea per check.

Lab 3; run: python labs/check.py kvstore. No process starts: the method is asked directly, for four
pairs of thresholds (suspect after, dead after) and silences below, at and past each; each call has 1 s.
"""
import sys
from pathlib import Path

# the repository root, and this folder, for `import labs...` and `import registry`
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]
from labs.plumbing.boundary import attempt
from labs.plumbing.exercises import run_checks
from registry import STATES, Registry

# (suspect after, dead after), in seconds
THRESHOLDS = [(1.0, 2.0), (1.5, 3.0), (0.2, 0.5), (10.0, 30.0)]


def expect(state, silences):
    """None if, for every pair of thresholds, each silence silences(suspect, dead) gives state; else the
    lines that show the first that does not."""
    for suspect, dead in THRESHOLDS:
        registry = Registry.__new__(Registry)
        registry.suspect_after, registry.dead_after = suspect, dead
        for silence in silences(suspect, dead):
            lines = [f"suspect after {suspect:g} s, dead after {dead:g} s; silent {silence:g} s",
                     f"expected: {state!r}"]
            got, problem = attempt(lines, Registry.state_after, registry, silence)
            if problem:
                return problem
            if got != state:
                lines.append(f"got:      {got!r}")
                if isinstance(got, str) and got.lower() in STATES and got not in STATES:
                    lines.append("the words are lower case: alive, suspect, dead")
                return lines


def alive_while_heartbeats_come():
    """a member silent less than suspect_after seconds is alive"""
    return expect("alive", lambda suspect, dead: [0.0, suspect / 10, suspect / 2, suspect * 0.99])


def suspect_from_suspect_after():
    """suspect from exactly suspect_after: it may only be slow"""
    return expect("suspect", lambda suspect, dead: [suspect, (suspect + dead) / 2, dead * 0.99])


def dead_from_dead_after():
    """dead from exactly dead_after seconds of silence, and ever after"""
    return expect("dead", lambda suspect, dead: [dead, dead * 1.5, dead + 600])


if __name__ == "__main__":
    sys.exit(0 if run_checks("failure-detector", [alive_while_heartbeats_come, suspect_from_suspect_after,
                                                  dead_from_dead_after]) else 1)
