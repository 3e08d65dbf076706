"""The students' exercises: where each one is, the students' edition, an answer, how a check reports.

An exercise is a few lines of a lab's file between the markers BEGIN (with its name) and END: hints
(comments), then the answer (code). The students' edition is a copy of the repository without what
holds answers (LEFT_OUT), each answer a stub that raises NotImplementedError under its hints.
--solution puts one answer into an edition, for a student behind (make student, make solution).
"""
import argparse
import os
import re
import shutil
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = {
    "fixed-window": (1, "labs/scalability/rate_limiter.py", "FixedWindow.allow"),
    "freshness": (2, "labs/replication/freshness.py", "Freshness.is_fresh"),
    "failure-detector": (3, "labs/distributed-kvstore/registry.py", "Registry.state_after"),
}
BEGIN = re.compile(r"^(\s*)# ---- BEGIN students' TODO \(([\w-]+)\)")
END = "# ---- END students' TODO ----"
STUB = 'raise NotImplementedError("exercise {}: your code goes here, in place of this line")'
LEFT_OUT = {".git", ".ci", "__pycache__", "logs", "INSTRUCTOR.md", "workshop_materials", "test_wrong_answers.py"}
# what to type: Windows has no python3, macOS no python
PYTHON = "python" if os.name == "nt" else "python3"


def needs(name):
    """One line, within 80 columns, for a step that needs exercise name: where to write it, how to check it."""
    lab, path, function = EXERCISES[name]
    return f"to write: {name}, {function.split('.')[-1]} in {Path(path).name}; {PYTHON} labs/check.py {lab}"


def missing(names):
    """Of the exercises named, those not written yet: still the students' edition's stub."""
    return [name for name in names if STUB.format(name) in (ROOT / EXERCISES[name][1]).read_text(encoding="utf-8")]


def run_checks(name, checks):
    """Run an exercise's checks: functions whose docstring names the idea they check, returning None or
    the lines that show what failed. One line each; the first failure's lines under it. True if all pass."""
    lab, path, function = EXERCISES[name]
    print(f"exercise {name}: {function} in {Path(path).name}", flush=True)
    failed = 0
    for check in checks:
        try:
            problem = check()
        except NotImplementedError:
            print("  not written yet: your code goes in place of raise NotImplementedError(...)", flush=True)
            return False
        except TimeoutError as error:
            lines = [f"  FAIL  {check.__doc__.strip()}", *str(error).split("\n"), "(the checks stop here)"]
            print("\n".join(line if line.startswith("  FAIL") else f"        {line}"[:80] for line in lines),
                  flush=True)
            return False
        except Exception as error:
            at = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(Path(path).name)]
            place = f" at {Path(path).name}:{at[-1].lineno}" if at else ""
            problem = [f"{type(error).__name__}{place}: {error}"]
        print(f"  {'FAIL' if problem else 'ok  '}  {check.__doc__.strip()}"[:80], flush=True)
        if problem and not failed:
            print("\n".join(f"        {line}"[:80] for line in problem[:4]), flush=True)
        failed += bool(problem)
    print(f"  {len(checks) - failed} of {len(checks)} checks pass" +
          (": mend the first that fails, then check again" if failed else ""), flush=True)
    return not failed


def stubbed(text):
    """The file's text with the code of every exercise replaced by its stub, after its hints."""
    inside, out = None, []
    for line in text.splitlines(keepends=True):
        begin = BEGIN.match(line)
        if begin:
            inside, indent = begin.group(2), begin.group(1)
        elif inside and line.strip() == END:
            out.append(f"{indent}{STUB.format(inside)}\n")
            inside = None
        elif inside and line.strip() and not line.strip().startswith("#"):
            continue
        out.append(line)
    return "".join(out)


def region(text, name):
    """(lines, start, end): the lines of text between exercise name's markers, markers excluded."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if (match := BEGIN.match(line)) and match.group(2) == name]
    ends = [i for i, line in enumerate(lines) if line.strip() == END and begins and i > begins[0]]
    if not begins or not ends:
        raise SystemExit(f"no exercise {name} between its markers: is this a students' edition?")
    return lines, begins[0] + 1, ends[0]


def solution(name, destination):
    """Put the repository's answer to exercise name into the edition at destination; nothing else changes."""
    if not (ROOT / "INSTRUCTOR.md").exists():
        raise SystemExit("no answers here: run it in the instructor's repository, DEST=<this copy>")
    target = Path(destination) / EXERCISES[name][1]
    if not target.is_file():
        raise SystemExit(f"{destination} has no {EXERCISES[name][1]}: is it a students' edition?")
    answer, first, last = region((ROOT / EXERCISES[name][1]).read_text(encoding="utf-8"), name)
    lines, start, end = region(target.read_text(encoding="utf-8"), name)
    target.write_text("".join(lines[:start] + answer[first:last] + lines[end:]), encoding="utf-8")
    return target


def student_edition(destination):
    """Copy the repository to destination, an empty or new folder outside it, each exercise a stub."""
    destination = Path(destination).resolve()
    if destination == ROOT or ROOT in destination.parents:
        raise SystemExit(f"{destination} is inside the repository: choose a folder outside it")
    if destination.exists() and any(destination.iterdir()):
        raise SystemExit(f"{destination} exists and is not empty: nothing written (delete it first)")
    shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*LEFT_OUT), dirs_exist_ok=True)
    for lab, path, function in EXERCISES.values():
        target = destination / path
        target.write_text(stubbed(target.read_text(encoding="utf-8")), encoding="utf-8")
    return destination


def main():
    parser = argparse.ArgumentParser(
        description="Make the students' edition, or put one exercise's answer into one.",
        epilog="examples:\n  python -m labs.plumbing.exercises ../students\n"
               "  python -m labs.plumbing.exercises --solution freshness ../students",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("destination", help="the students' edition's folder (outside the repository)")
    parser.add_argument("--solution", choices=EXERCISES, metavar="EXERCISE",
                        help=f"put this exercise's answer into the edition: {', '.join(EXERCISES)}")
    if "--solution" in sys.argv and not (ROOT / "INSTRUCTOR.md").exists():
        parser.exit(2, "no answers here: run it in the instructor's repository, DEST=<this copy>\n")
    args = parser.parse_args()
    try:
        if args.solution:
            print(f"the answer to {args.solution} is now in {solution(args.solution, args.destination)}")
            return
        destination = student_edition(args.destination)
    except SystemExit as error:
        parser.exit(2, f"{error}\n")
    print(f"the students' edition is in {destination}; its exercises:")
    for name, (lab, path, function) in EXERCISES.items():
        print(f"  lab {lab}: {name:<16} {function} in {path}")


if __name__ == "__main__":
    main()
