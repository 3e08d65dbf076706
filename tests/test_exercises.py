"""The students' exercises: every check passes in the repository, one lab at a time; the students' edition holds no
answer in any form (not one line of one), keeps the hints, compiles, is never written over, and each unwritten
exercise's check says in a few lines what to do; a solution puts one answer in and touches nothing else, and only
from the instructor's repository; `make check` and every refusal end with our own line, within 80x12.

This file goes into the edition: it holds no answer and no wrong attempt (tests/test_wrong_answers.py has those)."""
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from labs.plumbing.exercises import EXERCISES, STUB, needs as needs_line, region, stubbed
from tests.edition import environment
from tests.helpers import ROOT, needs, run

LAB_NAMES = {1: "scalability", 2: "replication", 3: "distributed-kvstore"}
INSTRUCTORS = "instructor's repository"


def run_in(folder, *args, timeout=60):
    """`python args` from folder, as a student types it there; stdout and stderr as one text, in order."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=folder, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, env=environment())


def make_in(folder, *args, timeout=60):
    """`make args` from folder; stdout and stderr as one text, in order (make's own lines too)."""
    return subprocess.run(["make", *map(str, args)], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=environment())


def make_edition(test_case_class):
    """A students' edition made as the instructor makes it (python -m labs.plumbing.exercises DEST, from the
    repository), in a folder removed when the class is done; returns (folder, what the command printed)."""
    parent = Path(tempfile.mkdtemp(prefix="students-"))
    test_case_class.addClassCleanup(shutil.rmtree, parent, ignore_errors=True)
    made = run_in(ROOT, "-m", "labs.plumbing.exercises", parent / "ed", timeout=60)
    return parent / "ed", made


def files(folder):
    """Every file of folder (not Python's caches of what ran there): its path relative to folder -> its bytes."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def squeezed(text):
    """text without whitespace, every quote a double quote: a line found however it was spaced or quoted."""
    return re.sub(r"\s+", "", text).replace("'", '"')


def answer_lines(name):
    """The code lines (no comment, no blank) between exercise name's markers in the repository: its answer."""
    lines, start, end = region((ROOT / EXERCISES[name][1]).read_text(encoding="utf-8"), name)
    return [line.strip() for line in lines[start:end] if line.strip() and not line.strip().startswith("#")]


def hint_lines(text, name):
    """The comment lines between exercise name's markers: its hints."""
    lines, start, end = region(text, name)
    return [line.strip() for line in lines[start:end] if line.strip().startswith("#")]


def lines_of(text):
    return text.rstrip("\n").splitlines()


def assert_fits(test, text, rows=12, what="output"):
    """At most rows lines of at most 80 columns: a terminal of the READMEs (80x12)."""
    lines = lines_of(text)
    test.assertLessEqual(len(lines), rows, f"{what} is {len(lines)} lines:\n{text}")
    test.assertEqual([line for line in lines if len(line) > 80], [], f"{what} is wider than 80 columns")


def assert_ends_with_our_line(test, text):
    """No line of make's own (make: *** ... Error 1), no traceback: the last line is ours."""
    test.assertNotIn("Traceback", text)
    test.assertEqual([line for line in lines_of(text) if line.startswith("make")], [], text)


class RepositoryTest(unittest.TestCase):
    @needs(*EXERCISES)
    def test_every_check_passes_where_the_answers_are(self):
        result = run("labs/check.py")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("FAIL", result.stdout)
        for name, (lab, path, function) in EXERCISES.items():
            self.assertIn(f"exercise {name}: {function} in {Path(path).name}", result.stdout)
        self.assertEqual(len(re.findall(r"^  (\d+) of \1 checks pass$", result.stdout, re.M)), 3, result.stdout)
        self.assertEqual(lines_of(result.stdout)[-1], "3 of 3 labs pass")

    def test_one_lab_at_a_time_by_name_number_or_alias_and_an_unknown_lab_is_one_line(self):
        for lab, (name, (number, path, function)) in zip(("1", "replication", "kvstore"), EXERCISES.items()):
            with self.subTest(lab=lab):
                result = run("labs/check.py", lab)
                self.assertIn(f"exercise {name}: ", result.stdout)
                self.assertEqual(result.stdout.count("exercise "), 1, result.stdout)  # that lab's only
                self.assertNotIn("labs pass", result.stdout)  # the total is for several labs
        for unknown in ("lab9", "4"):
            with self.subTest(unknown=unknown):
                result = run("labs/check.py", unknown)
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stdout, "")
                self.assertEqual(lines_of(result.stderr), [f"no lab {unknown!r}: choose from scalability, "
                                                           "replication, distributed-kvstore"])

    @unittest.skipUnless(shutil.which("make"), "no make on this machine")
    def test_make_check_of_an_unknown_lab_is_our_line_only(self):
        result = make_in(ROOT, "check", "LAB=lab9")
        self.assertEqual(lines_of(result.stdout), ["no lab 'lab9': choose from scalability, replication, "
                                                   "distributed-kvstore"])

    def test_each_exercise_s_needs_line_names_it_its_function_file_and_check_within_80_columns(self):
        for name, (lab, path, function) in EXERCISES.items():
            line = needs_line(name)
            self.assertLessEqual(len(line), 80, line)
            self.assertNotIn("\n", line)
            for part in (name, function.split(".")[-1], Path(path).name, f"labs/check.py {lab}"):
                self.assertIn(part, line)


class StudentsEditionTest(unittest.TestCase):
    """One edition for the class, made as the instructor makes it."""

    @classmethod
    def setUpClass(cls):
        cls.folder, cls.made = make_edition(cls)
        # as made, before any test runs a script there (and Python caches its imports)
        cls.as_made, cls.made_paths = files(cls.folder), [path for path in cls.folder.rglob("*") if path.is_file()]

    def test_making_it_says_where_it_is_and_lists_the_exercises(self):
        self.assertEqual(self.made.returncode, 0, self.made.stdout)
        self.assertIn(f"the students' edition is in {self.folder}", self.made.stdout)
        for name, (lab, path, function) in EXERCISES.items():
            self.assertRegex(self.made.stdout, rf"lab {lab}: {name} +{re.escape(function)} in {re.escape(path)}")

    @needs(*EXERCISES)  # the hints are compared with the repository's
    def test_the_answers_are_gone_the_hints_stay_and_every_file_compiles(self):
        for name, (lab, path, function) in EXERCISES.items():
            with self.subTest(exercise=name):
                text = (self.folder / path).read_text(encoding="utf-8")
                lines, start, end = region(text, name)
                code = [line.strip() for line in lines[start:end] if line.strip() and not line.strip().startswith("#")]
                self.assertEqual(code, [STUB.format(name)])  # the stub, and nothing else to run
                self.assertEqual(hint_lines(text, name), hint_lines((ROOT / path).read_text(encoding="utf-8"), name))
                self.assertGreaterEqual(len(hint_lines(text, name)), 2)
        broken = []
        for path in self.folder.rglob("*.py"):
            try:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
            except SyntaxError as error:
                broken.append(f"{path.relative_to(self.folder)}: {error}")
        self.assertEqual(broken, [])

    def test_what_holds_answers_is_left_out(self):
        self.assertTrue((ROOT / "tests/test_wrong_answers.py").is_file())  # there is something to leave out
        made = {path.relative_to(self.folder).as_posix() for path in self.made_paths}
        for gone in (".git/", ".ci/", "INSTRUCTOR.md", "workshop_materials/", "tests/test_wrong_answers.py",
                     "__pycache__/", "logs/"):
            self.assertEqual([path for path in made if path == gone or f"/{path}".find(f"/{gone}") >= 0], [], gone)
        for kept in ("Makefile", "README.md", "labs/check.py", "tests/helpers.py", "tests/test_exercises.py"):
            self.assertIn(kept, made)

    @needs(*EXERCISES)  # the answers' lines come from the repository
    def test_no_file_of_the_edition_holds_a_line_of_an_answer_however_spaced_or_quoted(self):
        # a line the labs' own code has outside the exercises (count += 1) tells nothing: every other line
        # of an answer must be nowhere in the edition: not in a README, a test, a copy, a note
        elsewhere = "\n".join(squeezed(stubbed(path.read_text(encoding="utf-8")))
                              for path in (ROOT / "labs").rglob("*.py"))
        telling = {name: [line for line in answer_lines(name) if squeezed(line) not in elsewhere] for name in EXERCISES}
        for name, lines in telling.items():
            self.assertGreaterEqual(len(lines), 1, f"{name}: no line of its answer to look for")
        self.assertGreaterEqual(sum(map(len, telling.values())), 8)
        edition = {path: squeezed(data.decode("utf-8", "replace")) for path, data in self.as_made.items()}
        found = [f"{path} holds {line!r} ({name})" for name, lines in telling.items() for line in lines
                 for path, text in edition.items() if squeezed(line) in text]
        self.assertEqual(found, [])

    def test_each_unwritten_exercise_s_check_says_in_a_few_lines_what_to_do(self):
        for name, (lab, path, function) in EXERCISES.items():
            with self.subTest(exercise=name):
                result = run_in(self.folder, "labs/check.py", lab)
                self.assertEqual(result.returncode, 1)
                self.assertNotIn("Traceback", result.stdout)
                assert_fits(self, result.stdout, rows=3)
                self.assertEqual(lines_of(result.stdout)[0], f"exercise {name}: {function} in {Path(path).name}")
                self.assertIn("not written yet", result.stdout)
                self.assertIn("NotImplementedError", result.stdout)  # the line to replace
        result = run_in(self.folder, "labs/check.py")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(lines_of(result.stdout)[-1],
                         "0 of 3 labs pass; to do: scalability, replication, distributed-kvstore")

    @unittest.skipUnless(shutil.which("make"), "no make on this machine")
    def test_make_check_that_fails_ends_with_our_own_line_within_80_by_12(self):
        for lab in ("", "LAB=scalability", "LAB=2", "LAB=kvstore"):
            with self.subTest(lab=lab or "every lab"):
                result = make_in(self.folder, "check", *[lab] if lab else [])
                self.assertEqual(result.returncode, 0)  # make's `|| true`: the check said it all
                assert_ends_with_our_line(self, result.stdout)
                assert_fits(self, result.stdout)
                last = lines_of(result.stdout)[-1]
                self.assertTrue(last.startswith("  not written yet") or "labs pass" in last, last)

    def test_an_edition_is_never_written_over(self):
        marked = self.folder / "labs/scalability/rate_limiter.py"
        original = marked.read_text(encoding="utf-8")
        self.addCleanup(marked.write_text, original, encoding="utf-8")
        marked.write_text(original + "# a student's line\n", encoding="utf-8")
        before = files(self.folder)
        commands = [[sys.executable, "-m", "labs.plumbing.exercises", str(self.folder)]]
        if shutil.which("make"):
            commands.append(["make", "student", f"DEST={self.folder}"])
        for command in commands:
            with self.subTest(command=command[0]):
                result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, timeout=30, env=environment())
                self.assertEqual(result.returncode, 0 if command[0] == "make" else 2)
                assert_ends_with_our_line(self, result.stdout)
                self.assertEqual(lines_of(result.stdout), [f"{self.folder} exists and is not empty: nothing "
                                                           "written (delete it first)"])
                self.assertEqual(files(self.folder), before)


class SolutionTest(unittest.TestCase):
    """An edition of the class's own; each test leaves it as it found it."""

    @classmethod
    def setUpClass(cls):
        cls.folder, made = make_edition(cls)
        assert made.returncode == 0, made.stdout
        cls.other, made = make_edition(cls)  # a second student's copy
        assert made.returncode == 0, made.stdout

    def keep(self, *folders):
        """Put every file of folders back as it is now when the test ends."""
        for folder in folders:
            saved = files(folder)
            self.addCleanup(lambda folder=folder, saved=saved: [
                (folder / path).write_bytes(data) for path, data in saved.items()])

    def attempt(self, folder, name, line):
        """A student's line in place of the stub (a line that answers nothing)."""
        target = folder / EXERCISES[name][1]
        target.write_text(target.read_text(encoding="utf-8").replace(STUB.format(name), line), encoding="utf-8")

    @needs(*EXERCISES)
    @unittest.skipUnless((ROOT / "INSTRUCTOR.md").exists(), "only the instructor's repository holds answers")
    def test_a_solution_puts_one_answer_in_over_an_attempt_and_touches_nothing_else(self):
        self.keep(self.folder)
        self.attempt(self.folder, "freshness", "return None  # a student's try")
        before = files(self.folder)
        result = run_in(ROOT, "-m", "labs.plumbing.exercises", "--solution", "freshness", self.folder, timeout=30)
        self.assertEqual(result.returncode, 0, result.stdout)
        target = self.folder / EXERCISES["freshness"][1]
        self.assertEqual(lines_of(result.stdout), [f"the answer to freshness is now in {target}"])
        after = files(self.folder)
        changed = sorted(path for path in after.keys() | before.keys() if after.get(path) != before.get(path))
        self.assertEqual(changed, [EXERCISES["freshness"][1]])
        self.assertEqual(after[EXERCISES["freshness"][1]], (ROOT / EXERCISES["freshness"][1]).read_bytes())
        self.assertEqual(run_in(self.folder, "labs/check.py", 2).returncode, 0)
        for lab in (1, 3):  # the others are still to write
            self.assertIn("not written yet", run_in(self.folder, "labs/check.py", lab).stdout)

    @unittest.skipUnless(shutil.which("make"), "no make on this machine")
    def test_make_solution_inside_an_edition_is_one_line_about_the_instructor_s_repository_and_changes_nothing(self):
        self.keep(self.folder, self.other)
        self.attempt(self.folder, "freshness", "return True  # a student's try")
        before = {self.folder: files(self.folder), self.other: files(self.other)}
        tries = {"DEST=.": ["solution", "EX=freshness", "DEST=."],
                 "DEST=another copy": ["solution", "EX=freshness", f"DEST={self.other}"],
                 "no DEST": ["solution", "EX=freshness"], "nothing": ["solution"]}
        for what, args in tries.items():
            with self.subTest(make=what):
                result = make_in(self.folder, *args)
                self.assertEqual(result.returncode, 0)  # make's `|| true`: quietly
                assert_ends_with_our_line(self, result.stdout)
                self.assertEqual(len(lines_of(result.stdout)), 1, result.stdout)
                line = lines_of(result.stdout)[0]
                self.assertIn(INSTRUCTORS, line)
                self.assertIn("DEST=", line)
                self.assertLessEqual(len(line), 80, line)
                self.assertNotIn("is now in", line)  # it never reports an answer it did not put in
                self.assertEqual(files(self.folder), before[self.folder])
                self.assertEqual(files(self.other), before[self.other])
        result = run_in(self.folder, "-m", "labs.plumbing.exercises", "--solution", "freshness", ".", timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(lines_of(result.stdout)), 1, result.stdout)
        self.assertIn(INSTRUCTORS, result.stdout)
        self.assertEqual(files(self.folder), before[self.folder])

    @unittest.skipUnless((ROOT / "INSTRUCTOR.md").exists(), "only the instructor's repository holds answers")
    def test_a_folder_that_is_no_edition_is_one_line_and_exit_code_2(self):
        empty = Path(tempfile.mkdtemp(prefix="no-edition-"))
        self.addCleanup(shutil.rmtree, empty, ignore_errors=True)
        unmarked = Path(tempfile.mkdtemp(prefix="no-markers-"))
        self.addCleanup(shutil.rmtree, unmarked, ignore_errors=True)
        (unmarked / "labs/replication").mkdir(parents=True)
        (unmarked / "labs/replication/freshness.py").write_text("# my own notes\n", encoding="utf-8")
        for folder, said in ((empty, f"{empty} has no labs/replication/freshness.py: is it a students' edition?"),
                             (unmarked, "no exercise freshness between its markers: is this a students' edition?")):
            with self.subTest(folder=folder.name.split("-")[1]):
                result = run_in(ROOT, "-m", "labs.plumbing.exercises", "--solution", "freshness", folder, timeout=30)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(lines_of(result.stdout), [said])
        self.assertEqual((unmarked / "labs/replication/freshness.py").read_text(encoding="utf-8"), "# my own notes\n")
        self.assertEqual(list(empty.iterdir()), [])


if __name__ == "__main__":
    unittest.main()
