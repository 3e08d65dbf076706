"""The students' exercises: where they are, whether one is written yet, and the students' edition.

An exercise is a few lines of a lab's file between two marker comments:
    # ---- BEGIN students' TODO (fixed-window): what to write ----
    ... hints (comments) and the answer (code) ...
    # ---- END students' TODO ----
The students' edition is a copy of the repository in which the code between the markers is replaced
by a stub that raises NotImplementedError; the hints stay. The repository keeps the answers.

    python -m labs.plumbing.exercises ../students        (make student DEST=../students)
"""
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = {  # name -> (lab, file, the function to fill in)
    "fixed-window": ("scalability", "labs/scalability/rate_limiter.py", "FixedWindow.allow"),
    "freshness": ("replication", "labs/replication/freshness.py", "Freshness.is_fresh"),
    "failure-detector": ("distributed-kvstore", "labs/distributed-kvstore/registry.py", "Registry.state_after"),
}
BEGIN = re.compile(r"^(\s*)# ---- BEGIN students' TODO \(([\w-]+)\)")
END = "# ---- END students' TODO ----"
SKIP = {".git", ".ci", "__pycache__", "logs"}  # never copied into the students' edition


def where(name):
    lab, path, function = EXERCISES[name]
    return f"{function} in {path}"


def check_command(name):
    return f"python labs/{EXERCISES[name][0]}/check.py"


def stubbed(text):
    """The file's text with the code of every exercise replaced by a stub after its hints."""
    inside, out = None, []
    for line in text.splitlines(keepends=True):
        begin = BEGIN.match(line)
        if begin:
            inside, indent = begin.group(2), begin.group(1)
        elif inside and line.strip() == END:
            out.append(f'{indent}raise NotImplementedError("exercise {inside}: write it here, then run '
                       f'{check_command(inside)}")\n')
            inside = None
        elif inside and line.strip() and not line.strip().startswith("#"):
            continue  # the answer's code: not in the students' edition
        out.append(line)
    return "".join(out)


def written(name):
    """False while the exercise's code is the students' edition's stub."""
    text = (ROOT / EXERCISES[name][1]).read_text(encoding="utf-8")
    return f"exercise {name}: write it here" not in text


def require(name):
    """For a demo: True if the exercise is written; else say which one to finish, and return False."""
    if written(name):
        return True
    print(f"this step needs the exercise {name}:\n  fill in {where(name)},\n  then run {check_command(name)}",
          flush=True)
    return False


def run_checks(name, checks):
    """Run an exercise's checks: functions whose docstring says what they prove and which return None, or what
    went wrong. One line each; an exercise not written yet is one line in all. True if every check passed."""
    print(f"exercise {name}: {EXERCISES[name][2]}\n  in {EXERCISES[name][1]}", flush=True)
    failed = 0
    for check in checks:
        try:
            problem = check()
        except NotImplementedError:
            print(f"  not written yet: fill in {EXERCISES[name][2]} between its TODO markers, from the hints")
            return False
        except Exception as error:  # a student's attempt may raise anything: say what, in one line
            problem = f"it raised {type(error).__name__}: {error}"
        print(f"  {'FAIL' if problem else 'ok  '}  {check.__doc__.strip()}", flush=True)
        if problem:
            print(f"        {problem}", flush=True)
        failed += bool(problem)
    print(f"  {len(checks) - failed} of {len(checks)} checks passed", flush=True)
    return not failed


def student_edition(destination):
    """Copy the repository to destination, every exercise replaced by its stub."""
    destination = Path(destination).resolve()
    if destination == ROOT or ROOT in destination.parents:
        raise SystemExit(f"{destination} is inside the repository: choose a folder outside it")
    shutil.copytree(ROOT, destination, ignore=lambda folder, names: [n for n in names if n in SKIP],
                    dirs_exist_ok=True)
    for lab, path, function in EXERCISES.values():
        target = destination / path
        target.write_text(stubbed(target.read_text(encoding="utf-8")), encoding="utf-8")
    return destination


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        raise SystemExit("usage: python -m labs.plumbing.exercises DESTINATION\n"
                         "  writes the students' edition: a copy of the repository without the exercises' answers\n"
                         "example: python -m labs.plumbing.exercises ../students")
    destination = student_edition(sys.argv[1])
    print(f"the students' edition is in {destination}; its exercises:")
    for name in EXERCISES:
        print(f"  {name:<17} {where(name)}\n  {'':<17} check: {check_command(name)}")


if __name__ == "__main__":
    main()
