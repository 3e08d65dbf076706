"""A students' edition for a test class, made as the instructor makes it, and scripts run in it as a student runs
them: from the edition's folder, in an environment of nothing of ours but what any terminal has."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import ROOT, output, output_file, stop


def environment():
    """Ours, without colours and without anything of a run (a secret, a partition file) or another root.
    No .pyc files: a test rewrites an exercise several times a second, and Python would take a cached
    attempt for the new one when the two have the same size and modification second."""
    return {name: value for name, value in {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}.items()
            if not name.startswith("LABS_") and name not in ("PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def make_edition(test_case_class):
    """A students' edition, made as the instructor makes it, removed when the class is done; returns its folder."""
    parent = Path(tempfile.mkdtemp(prefix="students-"))
    test_case_class.addClassCleanup(shutil.rmtree, parent, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", str(parent / "ed")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=environment())
    assert made.returncode == 0, made.stdout + made.stderr
    return parent / "ed"


def start_in(test, folder, script, *args, stdin=None):
    """`python script args` started from folder, as a student starts it there; stopped when the test ends.
    Its output (stdout and stderr) goes to a temporary file: read it with output(process)."""
    log, process_output = output_file(test)
    process = subprocess.Popen([sys.executable, "-u", script, *map(str, args)], cwd=folder, stdin=stdin,
                               stdout=log, stderr=subprocess.STDOUT, env=environment(), text=True)
    os.close(log)
    process.output = process_output
    test.addCleanup(stop, process)
    return process


def type_in(process, command):
    """A command typed at a coordinator's prompt."""
    process.stdin.write(command + "\n")
    process.stdin.flush()


def lines_with(process, text):
    return [line for line in output(process).splitlines() if text in line]
