"""Check the failure-detector exercise: Registry.state_after in registry.py, four checks of one line each.

Lab 3. The registry's thresholds are set to suspect after 1 s and dead after 2 s of silence, and the
method is asked directly: no process is started. A check that fails says what it expected and got.

    python labs/distributed-kvstore/check.py
"""
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.exercises import run_checks  # noqa: E402
from registry import Registry  # noqa: E402  (registry.py, beside this file)

THRESHOLDS = SimpleNamespace(suspect_after=1.0, dead_after=2.0)


def expect(cases):
    for silence, state in cases:
        got = Registry.state_after(THRESHOLDS, silence)
        if got != state:
            return f"after {silence} s of silence (suspect after 1 s, dead after 2 s): expected {state!r}, got " \
                   f"{got!r}: {why(silence, state, got)}"


def why(silence, state, got):
    """The likely mistake behind a wrong word."""
    if got not in ("alive", "suspect", "dead"):
        return 'return one of the words "alive", "suspect", "dead"'
    if silence in (1.0, 2.0) and Registry.state_after(THRESHOLDS, silence + 0.01) == state:
        return "a silence of exactly the threshold reaches it: >=, not >"
    if (state, got) == ("dead", "suspect") and Registry.state_after(THRESHOLDS, 600.0) == "suspect":
        return "a silence past dead_after is past suspect_after too: is dead tested first?"
    return "compare the silence with self.suspect_after and self.dead_after"


def alive_while_heartbeats_come():
    """a member heard from less than suspect_after ago is alive"""
    return expect([(0.0, "alive"), (0.5, "alive"), (0.99, "alive")])


def suspect_from_suspect_after():
    """suspect from exactly suspect_after: it may only be slow"""
    return expect([(1.0, "suspect"), (1.5, "suspect"), (1.99, "suspect")])


def dead_from_dead_after():
    """dead from exactly dead_after seconds of silence, and for ever after"""
    return expect([(2.0, "dead"), (3.0, "dead"), (600.0, "dead")])


def only_the_three_words():
    """answers only the words "alive", "suspect" or "dead" """
    got = {Registry.state_after(THRESHOLDS, silence / 10) for silence in range(0, 40)}
    if not got <= {"alive", "suspect", "dead"}:
        return f"expected only alive, suspect and dead, got {', '.join(sorted(map(repr, got)))}"


if __name__ == "__main__":
    sys.exit(0 if run_checks("failure-detector", [alive_while_heartbeats_come, suspect_from_suspect_after,
                                                  dead_from_dead_after, only_the_three_words]) else 1)
