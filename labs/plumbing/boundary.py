"""The boundary around the code students write: whatever an exercise does, the lab goes on.

guard() puts it around every exercise a process loaded, as the process starts: the lesson files stay
plain. A call that raises, answers what RULES refuse, is not written yet or takes over SLOW seconds
prints one line (the exercise, file:line, what went wrong) once per distinct problem, and the caller
gets the safe answer; one still running after ENDLESS seconds is said too. attempt() gives a check's
call a time limit: an endless loop cannot hold it.
"""
import functools
import sys
import threading
import time
import traceback
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, ROOT, needs
from labs.plumbing.jsonhttp import BadRequest

# seconds: a call slower is said once; one still running is said too (an endless loop?)
SLOW, ENDLESS = 0.1, 10.0
REFUSE = object()
SAID, SAID_LOCK = set(), threading.Lock()
# the calls under way: when each began, and what to say if it never ends; the thread that watches them
RUNNING, WATCHDOG = {}, []
# each exercise: what its answer must be, and what the lab does with a wrong one (the safe answer)
RULES = {
    # (allowed, remaining, seconds until the next window); wrong: the request is refused
    "fixed-window": (lambda answer: isinstance(answer, tuple) and len(answer) == 3 and type(answer[0]) is bool
                     and all(isinstance(number, (int, float)) for number in answer[1:]), REFUSE),
    # True or False; wrong: the answer is not reported
    "freshness": (lambda answer: type(answer) is bool, False),
    # one of the states; wrong (None): the member's state stays as it was
    "failure-detector": (lambda answer: answer in ("alive", "suspect", "dead"), None),
}


def guard():
    """Put each exercise's function behind the boundary, in every module loaded from its file (__main__ too)."""
    for name, (_, path, function) in EXERCISES.items():
        owner, function = function.split(".")
        for module in list(sys.modules.values()):
            if Path(getattr(module, "__file__", None) or "-").resolve() == ROOT / path:
                original = vars(getattr(module, owner))[function]
                if not hasattr(original, "__wrapped__"):
                    setattr(getattr(module, owner), function, exercise(name, original))


def exercise(name, function):
    """function, the one students write in exercise name, behind the boundary (see the module's docstring)."""
    valid, safe = RULES[name]

    @functools.wraps(function)
    def guarded(*args):
        started, call = time.perf_counter(), object()
        RUNNING[call] = started, f"exercise {name}: {function.__name__} runs for over {ENDLESS:g} s: an endless loop?"
        with SAID_LOCK:
            if not WATCHDOG:
                WATCHDOG.append(threading.Thread(target=watch, daemon=True))
                WATCHDOG[0].start()
        try:
            answer = function(*args)
        except NotImplementedError:
            problem, key = needs(name), "stub"
        except (Exception, SystemExit) as error:
            key = (type(error), where(error, function))
            problem = f"exercise {name}: {function.__name__} raised {key[0].__name__} at {key[1]}: {error}"
        else:
            # one line for each kind of wrong answer (a wrong version each time would be a flood)
            key = None if valid(answer) else type(answer)
            problem = key and f"exercise {name}: {function.__name__} answered {answer!r}"
        finally:
            RUNNING.pop(call)
        took = time.perf_counter() - started
        if took > SLOW:
            say(f"exercise {name}: {function.__name__} took {took:.1f} s: it must be quick", ("slow", name))
        if problem is None:
            return answer
        say(problem, (name, key))
        if safe is REFUSE:
            raise BadRequest(500, problem)
        return safe
    return guarded


def watch():
    """Every second, a call under way for over ENDLESS seconds is said: an endless loop never returns to say so."""
    while True:
        time.sleep(1)
        for began, line in list(RUNNING.values()):
            if time.perf_counter() - began > ENDLESS:
                say(line, line)


def where(error, function):
    """file:line of the last line of function's file that the error went through."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename == function.__code__.co_filename] or traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"


def say(line, key):
    """Print line, cut to 80 columns (what matters comes first), once for each key, in one write."""
    with SAID_LOCK:
        if key in SAID:
            return
        SAID.add(key)
    print(line[:80] + "\n", end="", flush=True)


def attempt(lines, function, *args):
    """A check's call: (answer, None), or (None, lines and where and what it raised). Not written yet goes on up;
    no answer within the deadline is a TimeoutError under lines."""
    try:
        return deadline(function, *args), None
    except TimeoutError as error:
        raise TimeoutError("\n".join([*lines, f"got:      {error}"]))
    except NotImplementedError:
        raise
    except Exception as error:
        return None, [*lines, f"got:      {type(error).__name__} at {where(error, function)}", f"          {error}"]


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
