"""The boundary around the code students write: whatever an exercise does, the lab goes on.

guard() puts it around every exercise a process loaded, as the process starts (flags.serve and
prompt.run call it): the lesson files stay plain. @exercise(name, valid, safe) wraps a function. A call that raises, answers what
valid() refuses, or is not written yet prints one line (the exercise, file:line, what went wrong)
once per distinct problem, and the caller gets safe instead (REFUSE: the request is refused with
that line as its JSON error). A call slower than SLOW seconds prints one line too. deadline() gives
a check's call a time limit, in a thread of its own: a student's endless loop cannot hold the check.
"""
import functools
import sys
import threading
import time
import traceback
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, ROOT, needs
from labs.plumbing.jsonhttp import BadRequest

SLOW = 0.1
REFUSE = object()
SAID, SAID_LOCK = set(), threading.Lock()
# each exercise: what its answer must be, and what the lab does with a wrong one (the safe answer)
RULES = {
    # (allowed, remaining, seconds until the next window); wrong: the request is refused
    "fixed-window": (lambda answer: isinstance(answer, tuple) and len(answer) == 3
                     and type(answer[0]) is bool, REFUSE),
    # True or False; wrong: the answer is not reported
    "freshness": (lambda answer: type(answer) is bool, False),
    # one of the states; wrong (None): the member's state stays as it was
    "failure-detector": (lambda answer: answer in ("alive", "suspect", "dead"), None),
}


def guard():
    """Each exercise's function (EXERCISES), in every module loaded from its file (the __main__ of
    a script too), replaced by @exercise's."""
    for name, (_, path, function) in EXERCISES.items():
        owner, function = function.split(".")
        for module in list(sys.modules.values()):
            if Path(getattr(module, "__file__", None) or "-").resolve() == ROOT / path:
                original = vars(getattr(module, owner))[function]
                if not hasattr(original, "__wrapped__"):
                    setattr(getattr(module, owner), function, exercise(name, *RULES[name])(original))


def exercise(name, valid, safe):
    """Decorator for the function students write in exercise name (see the module's docstring)."""
    def decorate(function):
        @functools.wraps(function)
        def guarded(*args):
            started = time.perf_counter()
            try:
                answer = function(*args)
            except NotImplementedError:
                problem, key = needs(name), "stub"
            except Exception as error:
                key = (type(error), where(error, function))
                problem = f"{name}: {function.__name__} raised {key[0].__name__} at {key[1]}: {error}"
            else:
                problem = key = None if valid(answer) else f"{name}: {function.__name__} answered {answer!r}"
            took = time.perf_counter() - started
            if took > SLOW:
                say(f"exercise {name}: {function.__name__} took {took:.1f} s: it must be quick", "slow")
            if problem is None:
                return answer
            say(problem if key == "stub" else f"exercise {problem}", (name, key))
            if safe is REFUSE:
                raise BadRequest(500, problem if key == "stub" else f"exercise {problem}")
            return safe
        return guarded
    return decorate


def where(error, function):
    """file:line of the last line of function's file that the error went through."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename == function.__code__.co_filename] or traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"


def raised(error, function):
    """A check's lines for a call that raised: where, then what."""
    return [f"got:      {type(error).__name__} at {where(error, function)}", f"          {error}"]


def say(line, key):
    """Print line once for each key, in one write: in the terminal the student watches (a child's output
    is relayed there by its coordinator). Within 80 columns: what matters comes first."""
    with SAID_LOCK:
        if key in SAID:
            return
        SAID.add(key)
    print(line[:80] + "\n", end="", flush=True)


def deadline(function, *args, seconds=1.0):
    """function(*args) for a check: its answer, or its exception; TimeoutError after seconds."""
    result = {}

    def call():
        try:
            result["answer"] = function(*args)
        except BaseException as error:
            result["error"] = error
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s: an exercise is a quick decision")
    if "error" in result:
        raise result["error"]
    return result["answer"]
