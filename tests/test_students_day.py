"""The students' day, walked in a fresh students' edition: each lab's scripted demo before its exercise is
written (the step that needs it says so in one line, within 80 columns, and nothing else breaks) and after
the instructor puts the answer in with `make solution` (no step answers an exercise error)."""
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, needs as needs_line, student_edition
from tests.helpers import ROOT, free_block, needs


@needs(*EXERCISES)  # the answers come from the repository
class StudentsDayTest(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="students-day-"))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        student_edition(self.folder)

    def run_in_edition(self, *args, timeout=90):
        """A command run from the edition's root, as a student would; its output (stdout and stderr)."""
        result = subprocess.run([sys.executable, *map(str, args)], cwd=self.folder, capture_output=True, text=True,
                                timeout=timeout, env={"NO_COLOR": "1", "PATH": ""})
        return result.returncode, result.stdout + result.stderr

    def solution(self, name):
        """The instructor, in the repository, puts the answer to one exercise into the student's edition."""
        self.assertEqual(subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", "--solution", name,
                                         str(self.folder)], cwd=ROOT, capture_output=True, timeout=30).returncode, 0)
        self.assertEqual(self.run_in_edition("labs/check.py", EXERCISES[name][0], timeout=30)[0], 0)

    def assert_plain(self, output):
        """No traceback, no exercise error, every line within 80 columns."""
        self.assertNotIn("Traceback", output)
        self.assertNotIn("to write:", output)
        self.assertNotIn("NotImplementedError", output)
        self.assertEqual([line for line in output.splitlines() if len(line) > 80], [])

    def test_lab1_the_rate_limiting_step_says_once_what_to_write_then_runs_on_the_answer(self):
        port = free_block(3)
        code, output = self.run_in_edition("labs/scalability/demo.py", "--port", port)
        self.assertEqual((code, output.count(needs_line("fixed-window"))), (0, 1), output[-800:])
        self.assertIn("least-response-time", output)  # the steps before it ran
        self.assertNotIn("Traceback", output)
        self.solution("fixed-window")
        code, output = self.run_in_edition("labs/scalability/demo.py", "--port", port)
        self.assertEqual(code, 0, output[-800:])
        self.assert_plain(output)
        self.assertRegex(output, r"\d+ rejected")

    def test_lab2_each_read_says_in_one_line_what_to_write_then_runs_on_the_answer(self):
        port = free_block(5)
        demo = ("labs/replication/coordinator.py", "--script", "labs/replication/demo.txt", "--port", port,
                "--base-port", port + 1, "--logs", self.folder / "logs")
        code, output = self.run_in_edition(*demo)
        gets = output.count("replication> get ")
        self.assertEqual((code, output.count(needs_line("freshness"))), (0, gets), output[-800:])
        self.assertIn("acked by", output)  # the writes went on
        self.solution("freshness")
        code, output = self.run_in_edition(*demo)
        self.assertEqual(code, 0, output[-800:])
        self.assert_plain(output)
        self.assertIn(" read ", output)

    def test_lab3_names_every_missing_exercise_before_it_starts_then_runs_on_the_students_labs(self):
        port = free_block(12)
        demo = ("labs/distributed-kvstore/demo.py", "--port", port, "--gateway-port", port + 1,
                "--registry-port", port + 2, "--base-port", port + 3)
        code, output = self.run_in_edition(*demo)
        self.assertEqual(code, 1)
        self.assertTrue(all(f"  {name} " in output for name in EXERCISES), output)
        self.assertLess(len(output.splitlines()), 8)  # one short block, nothing started
        for name in ("fixed-window", "freshness"):  # labs 1 and 2, done in the morning (or put in)
            self.solution(name)
        code, output = self.run_in_edition(*demo)
        self.assertEqual(code, 1)
        self.assertIn("  failure-detector ", output)
        self.assertNotIn("  freshness ", output)
        self.solution("failure-detector")
        code, output = self.run_in_edition(*demo, timeout=120)
        self.assertEqual(code, 0, output[-1500:])
        self.assert_plain(output)
        self.assertIn("welcome to distributed systems", output)  # /graduate, the last step
        self.assertIn("follower5", output)  # both repairs happened


if __name__ == "__main__":
    unittest.main()
