"""The students' exercises: every check passes in the repository; the students' edition holds no answer, is never
written over, fails each check in a few clear lines, and takes one answer at a time from the repository; a typical
wrong attempt is told where its mistake is, within 80 columns."""
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, STUB, needs as needs_line, student_edition
from tests.helpers import ROOT, free_port, needs, run


def run_in(folder, *args, timeout=60):
    return subprocess.run([sys.executable, *map(str, args)], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env={"NO_COLOR": "1", "PATH": ""})


def edition(test):
    """A fresh students' edition, removed when the test ends."""
    folder = Path(tempfile.mkdtemp(prefix="students-"))
    test.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    student_edition(folder)
    return folder


class RepositoryTest(unittest.TestCase):
    @needs(*EXERCISES)
    def test_every_check_passes_where_the_answers_are(self):
        result = run("labs/check.py")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("3 of 3 labs' exercises pass", result.stdout)

    def test_one_lab_at_a_time_and_a_clear_line_for_an_unknown_lab(self):
        self.assertIn(run("labs/check.py", "kvstore").returncode, (0, 1))
        result = run("labs/check.py", "lab9")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("choose from scalability, replication, distributed-kvstore", result.stderr)

    def test_each_exercise_s_one_line_names_it_its_function_file_and_check_within_80_columns(self):
        for name, (lab, path, function) in EXERCISES.items():
            line = needs_line(name)
            self.assertLessEqual(len(line), 80, line)
            for part in (name, function.split(".")[-1], Path(path).name, f"labs/check.py {lab}"):
                self.assertIn(part, line)


class InAnEdition(unittest.TestCase):
    """Tests that share one students' edition, made once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.folder = Path(tempfile.mkdtemp(prefix="students-"))
        student_edition(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)


class StudentsEditionTest(InAnEdition):

    @needs("fixed-window")
    def test_the_answers_are_gone_the_hints_stay_and_every_file_compiles(self):
        for name, (lab, path, function) in EXERCISES.items():
            text = (self.folder / path).read_text()
            self.assertIn(STUB.format(name), text)
            self.assertIn(f"students' TODO ({name})", text)
            self.assertEqual(run_in(self.folder, "-m", "py_compile", path).returncode, 0, path)
        self.assertIn("allowed = count < self.limit", (ROOT / EXERCISES["fixed-window"][1]).read_text())
        self.assertNotIn("allowed = count < self.limit", (self.folder / EXERCISES["fixed-window"][1]).read_text())
        for gone in (".git", "INSTRUCTOR.md", "workshop_materials"):  # the answers live there too
            self.assertFalse((self.folder / gone).exists(), gone)

    def test_each_unwritten_exercise_fails_in_a_few_lines_that_say_what_to_do(self):
        for name, (lab, path, function) in EXERCISES.items():
            with self.subTest(exercise=name):
                result = run_in(self.folder, "labs/check.py", lab)
                self.assertEqual(result.returncode, 1)
                lines = (result.stdout + result.stderr).splitlines()
                self.assertNotIn("Traceback", result.stdout + result.stderr)
                self.assertLess(len(lines), 8)
                self.assertTrue(all(len(line) <= 80 for line in lines), lines)
                self.assertIn(f"exercise {name}", result.stdout)
                self.assertIn("not written yet", result.stdout)

    def test_a_rate_limited_node_says_in_one_line_which_exercise_to_write(self):
        node = run_in(self.folder, "labs/scalability/node.py", "--port", free_port(), "--rate-limit", "fixed-window")
        self.assertEqual(node.returncode, 2)
        self.assertEqual((node.stdout + node.stderr).splitlines(), [needs_line("fixed-window")])

    def test_an_edition_is_never_written_over(self):
        marked = self.folder / "labs/scalability/rate_limiter.py"
        marked.write_text(marked.read_text() + "# a student's line\n")
        for command in ([sys.executable, "-m", "labs.plumbing.exercises", str(self.folder)],
                        ["make", "-s", "student", f"DEST={self.folder}"]):
            with self.subTest(command=command[0]):
                if command[0] == "make" and not shutil.which("make"):
                    self.skipTest("no make on this machine")
                result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
                self.assertEqual(result.returncode, 2)
                said = [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("make")]
                self.assertEqual(len(said), 1, result.stderr)  # (make adds a line of its own: "Error 2")
                self.assertIn("exists and is not empty: nothing written", said[0])
                self.assertTrue(marked.read_text().endswith("# a student's line\n"))


class SolutionTest(unittest.TestCase):
    @needs("freshness")
    def test_a_solution_puts_one_answer_in_and_touches_nothing_else(self):
        folder = edition(self)
        before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        result = subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", "--solution", "freshness",
                                 str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        after = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        changed = [path.relative_to(folder).as_posix() for path in after if after[path] != before.get(path)]
        self.assertEqual(changed, [EXERCISES["freshness"][1]])
        self.assertEqual(after[folder / EXERCISES["freshness"][1]],
                         (ROOT / EXERCISES["freshness"][1]).read_bytes())
        self.assertEqual(run_in(folder, "labs/check.py", 2).returncode, 0)
        self.assertEqual(run_in(folder, "labs/check.py", 1).returncode, 1)  # the others are still to write

    def test_an_edition_has_no_answer_to_give(self):
        folder = edition(self)
        result = subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", "--solution", "freshness", "."],
                                cwd=folder, capture_output=True, text=True, timeout=30)
        self.assertEqual((result.returncode, result.stderr), (2, "this copy holds no answer: run it in the "
                                                                 "instructor's repository\n"))

    def test_a_folder_that_is_no_edition_is_one_line_and_exit_code_2(self):
        folder = Path(tempfile.mkdtemp(prefix="not-an-edition-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        result = subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", "--solution", "freshness",
                                 str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.splitlines(), [f"{folder} has no labs/replication/freshness.py: is it a "
                                                      f"students' edition?"])


class WrongAttemptTest(InAnEdition):
    """Typical wrong answers, written into a students' edition: the check says where the mistake is."""

    def attempt(self, name, code):
        """What the exercise's check prints with code in place of the stub."""
        lab, path, function = EXERCISES[name]
        target = self.folder / path
        original = target.read_text()
        self.addCleanup(target.write_text, original)
        stub = re.compile(rf"^( *){re.escape(STUB.format(name))}$", re.M)
        target.write_text(stub.sub(lambda match: "\n".join(match.group(1) + line for line in code), original))
        result = run_in(self.folder, "labs/check.py", lab)
        self.assertEqual(result.returncode, 1)
        self.assertNotIn("Traceback", result.stdout + result.stderr)
        self.assertTrue(all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout)
        return " ".join(result.stdout.split())  # the reasons wrap: one line to search

    WINDOW = ["if current != self.current:", "    self.current, self.counts = current, {}"]

    def test_fixed_window_one_too_many(self):
        output = self.attempt("fixed-window", self.WINDOW + ["count = self.counts.get(client, 0)",
                                                            "allowed = count <= self.limit", "if allowed:",
                                                            "    count += 1", "    self.counts[client] = count"])
        self.assertIn("it allowed 6 with a limit of 5: one too many; look at the comparison", output)

    def test_fixed_window_that_never_starts_again(self):
        output = self.attempt("fixed-window", ["count = self.counts.get(client, 0)", "allowed = count < self.limit",
                                               "if allowed:", "    count += 1", "    self.counts[client] = count"])
        self.assertIn("FAIL counts from zero again in a new window", output)
        self.assertIn("start every count again from zero", output)

    def test_fixed_window_counts_shared_between_clients(self):
        output = self.attempt("fixed-window", self.WINDOW + ["count = self.counts.get('all', 0)",
                                                            "allowed = count < self.limit", "if allowed:",
                                                            "    count += 1", "    self.counts['all'] = count"])
        self.assertIn("client b was refused after client a used up its limit: keep one count per client", output)

    def test_fixed_window_count_never_stored_back(self):
        output = self.attempt("fixed-window", self.WINDOW + ["count = self.counts.get(client, 0)",
                                                            "allowed = count < self.limit", "if allowed:",
                                                            "    count += 1"])
        self.assertIn("it allowed all 50 with a limit of 5: the count never grows; store it back", output)

    def test_fixed_window_allowed_as_a_number_is_shown_as_written(self):
        output = self.attempt("fixed-window", self.WINDOW + ["count = self.counts.get(client, 0)",
                                                            "allowed = 1 if count < self.limit else 0",
                                                            "count += allowed", "self.counts[client] = count"])
        self.assertIn("allowed must be True or False, it was 1", output)

    def test_freshness_that_returns_none(self):
        output = self.attempt("freshness", ["if status in (200, 404) and reply['version'] >= newest:",
                                            "    return True"])
        self.assertIn("is_fresh returned None: return True or False", output)

    def test_freshness_that_answers_no_bool(self):
        output = self.attempt("freshness", ["return 'yes' if status in (200, 404) else 'no'"])
        self.assertIn("is_fresh returned 'yes': return True or False", output)

    def test_freshness_that_accepts_an_older_version(self):
        output = self.attempt("freshness", ["return status in (200, 404)"])
        self.assertIn("after v3, a value at v2 is stale, it said True: a client would go back in time", output)

    def test_freshness_that_ignores_deletes(self):
        output = self.attempt("freshness", ["return status == 200 and reply['version'] >= newest"])
        self.assertIn("after v3, not found v4 is fresh, it said False: not found carries the version of the delete",
                      output)

    def detector(self, first, second, compare=">="):
        return [f"if silence {compare} self.{first}_after:", f"    return {first!r}",
                f"if silence {compare} self.{second}_after:", f"    return {second!r}", "return 'alive'"]

    def test_failure_detector_that_tests_suspect_before_dead(self):
        output = self.attempt("failure-detector", self.detector("suspect", "dead"))
        self.assertIn("expected 'dead', got 'suspect': a silence past dead_after is past suspect_after too: is dead "
                      "tested first?", output)

    def test_failure_detector_at_the_wrong_boundary(self):
        output = self.attempt("failure-detector", self.detector("dead", "suspect", ">"))
        self.assertIn("got 'alive': a silence of exactly the threshold reaches it: >=, not >", output)

    def test_failure_detector_with_the_wrong_threshold(self):
        output = self.attempt("failure-detector", [line.replace("self.dead_after", "2 * self.dead_after")
                                                   for line in self.detector("dead", "suspect")])
        self.assertIn("compare the silence with self.suspect_after and self.dead_after", output)

    def test_failure_detector_with_another_word(self):
        output = self.attempt("failure-detector", ["return 'suspected' if silence >= self.suspect_after else 'alive'"])
        self.assertIn("got 'suspected': return one of the words \"alive\", \"suspect\", \"dead\"", output)
        self.assertIn("got 'alive', 'suspected'", output)

    def test_an_attempt_that_raises_is_one_line_and_stops_the_checks(self):
        output = self.attempt("fixed-window", ["allowed = cont < self.limit"])
        self.assertEqual(output.count("NameError"), 1)


if __name__ == "__main__":
    unittest.main()
