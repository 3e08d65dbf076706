"""The students' exercises: every check passes in the repository; in the students' edition each one fails
in a few clear lines, everything else still runs, and a typical wrong attempt is told what went wrong."""
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, student_edition
from tests.helpers import ROOT, free_port, http, run, wait_until

CHECKS = {"fixed-window": "labs/scalability/check.py", "freshness": "labs/replication/check.py",
          "failure-detector": "labs/distributed-kvstore/check.py"}


def run_in(folder, *args, timeout=60):
    return subprocess.run([sys.executable, *map(str, args)], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env={"NO_COLOR": "1", "PATH": ""})


class RepositoryTest(unittest.TestCase):
    def test_every_check_passes_where_the_answers_are(self):
        result = run("labs/check.py")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("3 of 3 labs' exercises pass", result.stdout)

    def test_one_lab_at_a_time_and_a_clear_line_for_an_unknown_lab(self):
        self.assertEqual(run("labs/check.py", "kvstore").returncode, 0)
        result = run("labs/check.py", "lab9")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("choose from scalability, replication, distributed-kvstore", result.stderr)


class StudentsEditionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = Path(tempfile.mkdtemp(prefix="students-"))
        student_edition(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def test_the_answers_are_gone_the_hints_stay_and_every_file_compiles(self):
        for name, (lab, path, function) in EXERCISES.items():
            text = (self.folder / path).read_text()
            self.assertIn(f"raise NotImplementedError(\"exercise {name}: write it here", text)
            self.assertIn(f"students' TODO ({name})", text)
            self.assertEqual(run_in(self.folder, "-m", "py_compile", path).returncode, 0, path)
        self.assertIn("allowed = count < self.limit", (ROOT / EXERCISES["fixed-window"][1]).read_text())
        self.assertNotIn("allowed = count < self.limit",
                         (self.folder / EXERCISES["fixed-window"][1]).read_text())
        self.assertFalse((self.folder / ".git").exists())

    def test_each_unwritten_exercise_fails_in_a_few_lines_that_say_what_to_do(self):
        for name, check in CHECKS.items():
            with self.subTest(exercise=name):
                result = run_in(self.folder, check)
                self.assertEqual(result.returncode, 1)
                self.assertNotIn("Traceback", result.stdout + result.stderr)
                self.assertLess(len((result.stdout + result.stderr).splitlines()), 20)
                self.assertIn(f"exercise {name}", result.stdout)
                self.assertIn("not written yet", result.stdout)

    def test_nodes_still_start_and_a_limited_node_says_which_exercise_to_finish(self):
        port = free_port()
        node = subprocess.Popen([sys.executable, "labs/scalability/node.py", "--port", str(port), "--delay", "0"],
                                cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(node.wait)
        self.addCleanup(node.kill)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health")[0] == 200, 10, "the node")
        limited = run_in(self.folder, "labs/scalability/node.py", "--port", free_port(), "--rate-limit", "fixed-window")
        self.assertEqual(limited.returncode, 2)
        self.assertIn("exercise fixed-window", limited.stdout)
        self.assertNotIn("Traceback", limited.stdout + limited.stderr)

    def test_a_demo_that_needs_an_exercise_says_which_instead_of_crashing(self):
        result = run_in(self.folder, "labs/distributed-kvstore/demo.py", timeout=20)
        self.assertEqual(result.returncode, 1)
        self.assertIn("this step needs the exercise failure-detector", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)


class WrongAttemptTest(unittest.TestCase):
    """Typical wrong answers, written into a students' edition: the check says what was expected."""

    def attempt(self, code):
        folder = Path(tempfile.mkdtemp(prefix="attempt-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        student_edition(folder)
        path = folder / EXERCISES["fixed-window"][1]
        stub = re.compile(r"^( *)raise NotImplementedError\(\"exercise fixed-window.*$", re.M)
        path.write_text(stub.sub(lambda match: "\n".join(match.group(1) + line for line in code), path.read_text()))
        return run_in(folder, CHECKS["fixed-window"]).stdout

    def test_a_count_that_never_starts_again_in_a_new_window(self):
        output = self.attempt(["current = int(now // self.window)", "_, count = self.counts.get(client, (current, 0))",
                               "allowed = count < self.limit", "count += allowed",
                               "self.counts[client] = (current, count)"])
        self.assertIn("FAIL  counts from zero in the next window", output)
        self.assertIn("must start again from 0", output)

    def test_a_count_per_process_instead_of_per_client(self):
        output = self.attempt(["current = int(now // self.window)", "window, count = self.counts.get('all', (current, 0))",
                               "count = count if window == current else 0", "allowed = count < self.limit",
                               "count += allowed", "self.counts['all'] = (current, count)"])
        self.assertIn("FAIL  keeps clients apart", output)
        self.assertIn("client b was refused", output)


if __name__ == "__main__":
    unittest.main()
