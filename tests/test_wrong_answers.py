"""Wrong answers, written into a students' edition as a student would: the exercise's check fails within a few
seconds and names the idea that failed, with the inputs, what was expected and what came, in at most 6 lines of 80
columns; and the lab itself, run in the edition on a wrong answer, lives on: one line per distinct problem in the
terminal the student watches, the safe answer instead (a request refused naming the exercise, a read not reported,
a member's state unchanged), no traceback, no flood.

This file is left out of the students' edition: it holds wrong answers. Each is written here from scratch (never
put together from the answer's lines): a student's likely mistake, the ones issue 31 names and a few more."""
import contextlib
import io
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import unittest
from unittest import mock

from labs.plumbing import boundary
from labs.plumbing.exercises import EXERCISES, STUB
from labs.plumbing.jsonhttp import BadRequest
from tests.edition import environment, lines_with, make_edition, start_in, type_in
from tests.helpers import free_block, free_port, http, logs_folder, output, wait_healthy, wait_printed, wait_until

# what a check's message shows of the inputs, in each lab
INPUTS = {1: r"limit \d+, window [\d.]+ s", 2: r"v\d+ acknowledged", 3: r"suspect after [\d.]+ s, dead after"}
# the lines of a check's report: its heading, one line per check, the first failure's lines, the count
REPORT = re.compile(r"exercise [\w-]+: .*|  (ok  |FAIL)  .*| {8}.*|  \d+ of \d+ checks pass.*")


def write_attempt(test, folder, name, code):
    """A student's code (written at the method's indentation) in place of the exercise's stub line; the stub is
    back when the test ends."""
    target = folder / EXERCISES[name][1]
    original = target.read_text(encoding="utf-8")
    stub = re.compile(rf"^( *){re.escape(STUB.format(name))}$", re.M)
    test.assertEqual(len(stub.findall(original)), 1, f"no stub line in {target}")
    test.addCleanup(target.write_text, original, encoding="utf-8")
    lines = textwrap.dedent(code).strip("\n").splitlines()
    target.write_text(stub.sub(lambda match: "\n".join(match.group(1) + line for line in lines), original),
                      encoding="utf-8")


class Report:
    """What an exercise's check printed: its lines, the ideas that failed, the first failure's own lines."""

    def __init__(self, result, seconds):
        self.text, self.code, self.seconds = result.stdout, result.returncode, seconds
        self.lines = result.stdout.rstrip("\n").splitlines()
        self.failed = [line[8:] for line in self.lines if line.startswith("  FAIL  ")]
        first = next((i for i, line in enumerate(self.lines) if line.startswith("  FAIL  ")), None)
        self.first = None if first is None else self.lines[first][8:]
        self.details = []
        for line in [] if first is None else self.lines[first + 1:]:
            if not line.startswith(" " * 8):
                break
            self.details.append(line.strip())
        self.shown = "\n".join(self.details)


class WrongAnswersTest(unittest.TestCase):
    """Each test writes one wrong answer into the class's edition and runs that lab's check there."""

    @classmethod
    def setUpClass(cls):
        cls.folder = make_edition(cls)

    def check(self, name, code):
        """The check of exercise name's lab, run in the edition with code in place of the stub: what every
        wrong answer gets (it fails, soon, in a short message that names the idea), then its Report."""
        lab = EXERCISES[name][0]
        write_attempt(self, self.folder, name, code)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "labs/check.py", str(lab)], cwd=self.folder, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=60, env=environment())
        report = Report(result, time.monotonic() - started)
        self.assertEqual(report.code, 1, report.text)
        self.assertNotIn("Traceback", report.text)
        self.assertLess(report.seconds, 15, report.text)  # seconds, not minutes (a loaded 2-core laptop included)
        self.assertTrue(report.failed, report.text)
        self.assertTrue(1 <= len(report.details) <= 6, report.text)  # the first failure shows itself, shortly
        message = [line for line in report.lines if line.startswith("  FAIL  ") or line.startswith(" " * 8)]
        self.assertEqual([line for line in message if len(line) > 80], [], report.text)
        with self.subTest("the check prints its report and nothing else"):
            self.assertEqual([line for line in report.lines if not REPORT.fullmatch(line)], [], report.text)
        with self.subTest("the message shows the inputs, the expected and the actual answer"):
            self.assertRegex(report.shown, INPUTS[lab], report.text)
            self.assertIn("expected", report.shown, report.text)
        return report

    def assert_first_failure(self, report, idea, *shown):
        """The first failing check, the one whose lines are shown, is idea; its lines show each of shown."""
        self.assertEqual(report.first, idea, report.text)
        for text in shown:
            self.assertIn(text, report.shown, report.text)

    def assert_raised(self, report, exception, filename, *shown):
        """An answer that raises: the exception, where in the student's file, and what it said."""
        self.assertRegex(report.shown, rf"{exception}\b.*{re.escape(filename)}:\d+|{re.escape(filename)}:\d+.*"
                                       rf"{exception}\b", report.text)
        for text in shown:
            self.assertIn(text, report.shown, report.text)

    # ---- fixed-window (lab 1): allow sets `allowed` and `count`; the line after the TODO returns them

    def test_fixed_window_that_sleeps_60_s_is_stopped_by_the_deadline(self):
        report = self.check("fixed-window", """
            time.sleep(60)
            allowed, count = True, 0
        """)
        self.assertLess(report.seconds, 15, report.text)  # not the 60 s
        self.assertIn("allow answers (allowed, remaining, seconds to the next window)", report.failed)
        self.assertIn("within 1 s", report.shown)
        self.assertIn("quick decision", report.shown)

    def test_fixed_window_that_raises_key_error_on_a_new_client(self):
        report = self.check("fixed-window", """
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts[client]
            allowed = seen < self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        self.assert_raised(report, "KeyError", "rate_limiter.py", "'a'")

    def test_fixed_window_counted_in_milliseconds(self):
        report = self.check("fixed-window", """
            current = int(now * 1000 // self.window)
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts.get(client, 0)
            allowed = seen < self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        self.assert_first_failure(report, "in each window of `self.window` s, a client's first `limit` pass",
                                  "expected: True, False, False, False", "got:      True, True, True, True")

    def test_fixed_window_that_lets_the_first_request_of_a_new_window_through_without_counting_it(self):
        report = self.check("fixed-window", """
            if self.current != current:
                self.counts = {}
                self.current = current
                allowed, count = True, 0
            else:
                seen = self.counts.get(client, 0)
                allowed = seen < self.limit
                self.counts[client] = seen + 1 if allowed else seen
                count = self.counts[client]
        """)
        self.assertIn("a new window starts from zero for everyone; its first request counts", report.failed)
        self.assertIn("got:      True, True, False", report.shown)  # limit 1: the uncounted first, and one more

    def test_fixed_window_one_too_many(self):
        report = self.check("fixed-window", """
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts.get(client, 0)
            allowed = seen <= self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        self.assert_first_failure(report, "in each window of `self.window` s, a client's first `limit` pass",
                                  "expected: True, False, False, False", "got:      True, True, False, False")

    def test_fixed_window_with_one_count_for_every_client(self):
        report = self.check("fixed-window", """
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts.get("everyone", 0)
            allowed = seen < self.limit
            count = seen + 1 if allowed else seen
            self.counts["everyone"] = count
        """)
        self.assert_first_failure(report, "one client never uses up another's limit: a count per client",
                                  "a, b, a, a, c, b, b, c", "got:      True, True, False")

    def test_fixed_window_that_never_starts_a_new_window(self):
        report = self.check("fixed-window", """
            seen = self.counts.get(client, 0)
            allowed = seen < self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        self.assert_first_failure(report, "a new window starts from zero for everyone; its first request counts",
                                  "expected: True, True, False, True, True")

    def test_fixed_window_of_one_second_whatever_the_window(self):
        report = self.check("fixed-window", """
            second = int(now)
            if self.current != second:
                self.counts = {}
                self.current = second
            seen = self.counts.get(client, 0)
            allowed = seen < self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        self.assert_first_failure(report, "in each window of `self.window` s, a client's first `limit` pass")
        self.assertNotRegex(report.shown, r"window 1 s:")  # only a window of another size shows it

    def test_fixed_window_on_the_wall_clock_instead_of_self_clock(self):
        report = self.check("fixed-window", """
            current = int(time.monotonic() // self.window)
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts.get(client, 0)
            allowed = seen < self.limit
            self.counts[client] = seen + 1 if allowed else seen
            count = self.counts[client]
        """)
        # the real clock may cross a window during an earlier check too: then that one fails first
        self.assertIn("a new window starts from zero for everyone; its first request counts", report.failed,
                      report.text)

    def test_fixed_window_that_answers_1_and_0_instead_of_true_and_false(self):
        report = self.check("fixed-window", """
            if self.current != current:
                self.counts = {}
                self.current = current
            seen = self.counts.get(client, 0)
            allowed = 1 if seen < self.limit else 0
            self.counts[client] = seen + allowed
            count = self.counts[client]
        """)
        self.assert_first_failure(report, "allow answers (allowed, remaining, seconds to the next window)",
                                  "got:      (1, ")

    # ---- freshness (lab 2): is_fresh returns True or False; `newest` is the version acknowledged

    def test_freshness_comparing_versions_as_strings(self):
        report = self.check("freshness", """
            if status not in (200, 404):
                return False
            return str(reply["version"]) >= str(newest)
        """)
        self.assert_first_failure(report, "an answer as new as the newest acknowledged, or newer, is fresh",
                                  "expected: True", "got:      False", "versions are numbers")

    def test_freshness_with_a_typo_versoin(self):
        report = self.check("freshness", """
            if status in (200, 404):
                return reply["versoin"] >= newest
            return False
        """)
        self.assert_raised(report, "KeyError", "freshness.py", "'versoin'")

    def test_freshness_with_greater_than_instead_of_at_least(self):
        report = self.check("freshness", """
            if status in (200, 404):
                return reply["version"] > newest
            return False
        """)
        self.assert_first_failure(report, "an answer as new as the newest acknowledged, or newer, is fresh",
                                  "expected: True", "got:      False")

    def test_freshness_comparing_the_epoch_instead_of_the_version(self):
        report = self.check("freshness", """
            if status in (200, 404):
                return reply["epoch"] >= newest
            return False
        """)
        self.assert_raised(report, "KeyError", "freshness.py", "'epoch'")

    def test_freshness_that_never_looks_at_the_version(self):
        report = self.check("freshness", """
            return status in (200, 404)
        """)
        self.assert_first_failure(report, "an older answer is stale: it would send a client back in time",
                                  "expected: False (stale)", "got:      True")

    def test_freshness_that_never_looks_at_the_status(self):
        report = self.check("freshness", """
            return (reply.get("version") or 0) >= newest
        """)
        self.assert_first_failure(report, "no answer (status 0), or a replica catching up (503), is never fresh",
                                  "got:      True")

    def test_freshness_that_forgets_not_found(self):
        report = self.check("freshness", """
            return status == 200 and reply["version"] >= newest
        """)
        self.assert_first_failure(report, "not found is judged by its version (the delete's; 0: never written)",
                                  "not found at v", "got:      False")

    def test_freshness_that_answers_yes_and_no(self):
        report = self.check("freshness", """
            return "yes" if status in (200, 404) and reply["version"] >= newest else "no"
        """)
        self.assert_first_failure(report, "is_fresh answers True or False, nothing else", "got:      'yes'")

    # ---- failure-detector (lab 3): state_after returns "alive", "suspect" or "dead"

    def test_failure_detector_taking_seconds_for_milliseconds(self):
        report = self.check("failure-detector", """
            seconds = silence / 1000
            return "dead" if seconds >= self.dead_after else "suspect" if seconds >= self.suspect_after else "alive"
        """)
        self.assert_first_failure(report, "suspect from exactly suspect_after: it may only be slow",
                                  "expected: 'suspect'", "got:      'alive'")

    def test_failure_detector_with_capitalised_words(self):
        report = self.check("failure-detector", """
            return "Dead" if silence >= self.dead_after else "Suspect" if silence >= self.suspect_after else "Alive"
        """)
        self.assert_first_failure(report, "a member silent less than suspect_after seconds is alive",
                                  "expected: 'alive'", "got:      'Alive'", "lower case")

    def test_failure_detector_that_raises(self):
        report = self.check("failure-detector", """
            return "dead" if silence >= self.dead_afer else "suspect" if silence >= self.suspect_after else "alive"
        """)
        self.assert_raised(report, "AttributeError", "registry.py", "dead_afer")

    def test_failure_detector_that_always_says_alive(self):
        report = self.check("failure-detector", """
            verdict = "alive"
            return verdict
        """)
        self.assert_first_failure(report, "suspect from exactly suspect_after: it may only be slow",
                                  "expected: 'suspect'", "got:      'alive'")

    def test_failure_detector_with_the_two_thresholds_swapped(self):
        report = self.check("failure-detector", """
            verdict = "alive"
            if self.dead_after <= silence:
                verdict = "suspect"
            elif self.suspect_after <= silence:
                verdict = "dead"
            return verdict
        """)
        self.assert_first_failure(report, "suspect from exactly suspect_after: it may only be slow",
                                  "expected: 'suspect'", "got:      'dead'")

    def test_failure_detector_with_greater_than_instead_of_at_least(self):
        report = self.check("failure-detector", """
            return "dead" if silence > self.dead_after else "suspect" if silence > self.suspect_after else "alive"
        """)
        self.assert_first_failure(report, "suspect from exactly suspect_after: it may only be slow",
                                  "silent 1 s", "got:      'alive'")

    def test_failure_detector_that_asks_suspect_before_dead(self):
        report = self.check("failure-detector", """
            return "suspect" if silence >= self.suspect_after else "dead" if silence >= self.dead_after else "alive"
        """)
        self.assert_first_failure(report, "dead from exactly dead_after seconds of silence, and ever after",
                                  "expected: 'dead'", "got:      'suspect'")

    def test_failure_detector_with_the_thresholds_written_as_numbers(self):
        report = self.check("failure-detector", """
            return "dead" if silence >= 2 else "suspect" if silence >= 1 else "alive"
        """)
        self.assertTrue(report.failed)  # right for 1 s and 2 s only: the other thresholds tell
        self.assertNotIn("suspect after 1 s, dead after 2 s", report.shown)

    def test_failure_detector_with_another_word(self):
        report = self.check("failure-detector", """
            return "dead" if silence >= self.dead_after else "suspected" if silence >= self.suspect_after else "alive"
        """)
        self.assert_first_failure(report, "suspect from exactly suspect_after: it may only be slow",
                                  "got:      'suspected'")

    @unittest.skipUnless(shutil.which("make"), "no make on this machine")
    def test_make_check_of_a_wrong_answer_fits_80_by_12_and_ends_with_our_line(self):
        wrong = {"fixed-window": "allowed, count = True, 0", "freshness": "return False",
                 "failure-detector": 'return "alive" if silence < 10 ** 9 else "dead"'}
        for name, code in wrong.items():
            with self.subTest(exercise=name):
                write_attempt(self, self.folder, name, code)
                result = subprocess.run(["make", "check", f"LAB={EXERCISES[name][0]}"], cwd=self.folder,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                                        env=environment())
                lines = result.stdout.rstrip("\n").splitlines()
                self.assertEqual(result.returncode, 0)  # make's `|| true`
                self.assertEqual([line for line in lines if line.startswith("make")], [], result.stdout)
                self.assertRegex(lines[-1], r"^  \d+ of \d+ checks pass: mend the first that fails", result.stdout)
                self.assertLessEqual(len(lines), 12, result.stdout)
                self.assertEqual([line for line in lines if len(line) > 80], [], result.stdout)


class EndlessTest(unittest.TestCase):
    def test_a_call_that_does_not_end_is_said_once_while_it_runs(self):
        """An endless loop never returns to say it was slow: the boundary's watchdog says it (ENDLESS 0.5 s here)."""
        def allow(limiter, client):
            time.sleep(3)  # as good as endless, here

        def call():
            with contextlib.suppress(BadRequest):  # no answer (None): the request is refused, later
                guarded(None, "a")
        said, thread = io.StringIO(), threading.Thread(target=call, daemon=True)
        with mock.patch.object(boundary, "ENDLESS", 0.5), contextlib.redirect_stdout(said):
            guarded = boundary.exercise("fixed-window", allow)
            thread.start()
            thread.join()
        self.assertEqual(said.getvalue().splitlines()[0],
                         "exercise fixed-window: allow runs for over 0.5 s: an endless loop?")


class TheLabsLiveOnTest(unittest.TestCase):
    """Each lab run in the edition on a wrong answer, driven as a student would: its processes live on."""

    @classmethod
    def setUpClass(cls):
        cls.folder = make_edition(cls)

    def test_a_node_whose_allow_raises_refuses_each_request_naming_the_exercise_and_says_it_once(self):
        write_attempt(self, self.folder, "fixed-window", """
            seen = self.counts[client]
            allowed, count = seen < self.limit, seen + 1
        """)
        port = free_port()
        node = start_in(self, self.folder, "labs/scalability/node.py", "--port", port, "--rate-limit",
                        "fixed-window", "--limit", 3, "--window", 1)
        wait_healthy(port)
        for number in range(15):
            headers = {"X-Client-Id": f"client{number % 5}"} if number % 3 else {}
            status, body, _ = http("GET", f"http://127.0.0.1:{port}/kv/key{number}", headers=headers)
            self.assertEqual(status, 500, body)
            self.assertIsInstance(body, dict)  # JSON
            self.assertTrue(body["error"].startswith("exercise fixed-window: allow raised KeyError"), body)
            self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health")[0], 200)
        wait_until(lambda: len(lines_with(node, "/kv/key")) == 15, 10, "the node's 15 log lines")
        self.assertIsNone(node.poll())
        self.assertEqual(len(lines_with(node, "exercise fixed-window: allow raised KeyError")), 1, output(node))
        self.assertNotIn("Traceback", output(node))
        self.assertEqual([line for line in output(node).splitlines() if len(line) > 80], [])
        with self.subTest("the line says where"):
            self.assertRegex(lines_with(node, "exercise fixed-window")[0], r"rate_limiter\.py:\d+")

    def test_a_slow_allow_is_said_once_in_the_node_s_terminal(self):
        write_attempt(self, self.folder, "fixed-window", """
            time.sleep(0.3)
            allowed, count = True, 0
        """)
        port = free_port()
        node = start_in(self, self.folder, "labs/scalability/node.py", "--port", port, "--rate-limit",
                        "fixed-window")
        wait_healthy(port)
        for number in range(3):
            self.assertEqual(http("GET", f"http://127.0.0.1:{port}/kv/key{number}")[0], 404)  # let through
        wait_until(lambda: len(lines_with(node, "/kv/key")) == 3, 10, "the node's 3 log lines")
        slow = [line for line in output(node).splitlines() if "exercise" in line]
        self.assertEqual(len(slow), 1, output(node))
        self.assertRegex(slow[0], r"^exercise fixed-window: allow took 0\.\d s: it must be quick")
        self.assertLessEqual(len(slow[0]), 80)
        with self.subTest("the whole line, not cut"):
            self.assertTrue(slow[0].endswith("it must be quick"), slow[0])

    def test_a_coordinator_whose_is_fresh_raises_refuses_the_reads_says_it_once_and_takes_the_next_command(self):
        write_attempt(self, self.folder, "freshness", """
            if status in (200, 404):
                return reply["versoin"] >= newest
            return False
        """)
        port = free_block(4)
        coordinator = start_in(self, self.folder, "labs/replication/coordinator.py", "--port", port, "--base-port",
                               port + 1, "--followers", 2, "--delay", 0.01, "--replication-delay", 0.01, "--logs",
                               logs_folder(self), stdin=subprocess.PIPE)
        wait_printed(coordinator, "commands:")
        type_in(coordinator, "put colour blue")
        wait_printed(coordinator, r'write +colour="blue" v1 acked')
        for key in ("colour", "colour", "shape"):
            type_in(coordinator, f"get {key}")
        wait_until(lambda: len(lines_with(coordinator, "refused    read")) == 3, 10, "three reads refused")
        for line in lines_with(coordinator, "refused    read"):
            self.assertRegex(line, r"is_fresh said|no answer")
        self.assertNotRegex(output(coordinator), r" read +colour = ")  # nothing reported
        type_in(coordinator, "put colour green")
        wait_printed(coordinator, r'write +colour="green" v2 acked')
        type_in(coordinator, "status")
        wait_printed(coordinator, r"follower2 +follower .* v2")
        self.assertEqual(len(lines_with(coordinator, "exercise freshness: is_fresh raised KeyError")), 1,
                         output(coordinator))
        self.assertNotIn("Traceback", output(coordinator))
        with self.subTest("the line says where"):
            self.assertRegex(lines_with(coordinator, "exercise freshness")[0], r"freshness\.py:\d+")
        type_in(coordinator, "quit")
        wait_printed(coordinator, "stopped the 3 processes")
        self.assertEqual(coordinator.wait(10), 0)

    def test_a_registry_whose_state_after_raises_keeps_each_state_and_says_where_once(self):
        write_attempt(self, self.folder, "failure-detector", """
            return "dead" if silence >= self.dead_afer else "suspect" if silence >= self.suspect_after else "alive"
        """)
        port = free_port()
        registry = start_in(self, self.folder, "labs/distributed-kvstore/registry.py", "--port", port,
                            "--suspect-after", 0.5, "--dead-after", 1)
        wait_healthy(port)
        for number in (1, 2):
            self.assertEqual(http("POST", f"http://127.0.0.1:{port}/register", {"name": f"follower{number}", "port":
                                  9100 + number, "pid": 1000 + number, "role": "follower"})[0], 200)
        # silent for 2 dead-afters: a detector that answered would have said dead by now
        wait_until(lambda: all(member["silence"] >= 2 for member in
                               http("GET", f"http://127.0.0.1:{port}/members")[1]["members"]), 10, "2 s of silence")
        members = http("GET", f"http://127.0.0.1:{port}/members")[1]["members"]
        self.assertEqual([member["state"] for member in members], ["alive", "alive"])  # no verdict, no change
        said = lines_with(registry, "exercise failure-detector")
        self.assertEqual(len(said), 1, output(registry))
        self.assertIn("state_after raised AttributeError", said[0])
        self.assertNotIn("Traceback", output(registry))
        self.assertIsNone(registry.poll())
        with self.subTest("the line says where, within 80 columns"):
            self.assertLessEqual(len(said[0]), 80)
            self.assertRegex(said[0], r"registry\.py:\d+")

    def test_a_store_whose_detector_answers_alive_capitalised_says_so_once_and_names_it_for_a_killed_follower(self):
        write_attempt(self, self.folder, "failure-detector", """
            return "Dead" if silence >= self.dead_after else "Suspect" if silence >= self.suspect_after else "Alive"
        """)
        port = free_block(9)
        coordinator = start_in(self, self.folder, "labs/distributed-kvstore/coordinator.py", "--port", port,
                               "--gateway-port", port + 1, "--registry-port", port + 2, "--base-port", port + 3,
                               "--dead-after", 1, "--heartbeat-interval", 0.2, "--delay", 0.01,
                               "--replication-delay", 0.01, "--logs", logs_folder(self), stdin=subprocess.PIPE)
        wait_printed(coordinator, "commands:")
        wait_printed(coordinator, r"exercise +state_after answered 'Alive'")
        type_in(coordinator, "kill follower2")
        wait_printed(coordinator, r"killed +follower2")
        news = r"exercise +follower2 exited, registry: alive; failure-detector decides"
        wait_printed(coordinator, news, deadline=20)  # 3 x dead-after of silence, and nothing replaced it
        self.assertEqual(http("GET", f"http://127.0.0.1:{port + 2}/health")[0], 200)  # the registry lives on
        members = {member["name"]: member
                   for member in http("GET", f"http://127.0.0.1:{port + 2}/members")[1]["members"]}
        self.assertEqual(members["follower2"]["state"], "alive")  # no verdict: the state stays
        self.assertNotRegex(output(coordinator), r"replace +follower2")
        with self.subTest("the news names the exercise that decides, within 80 columns"):
            line = next(line for line in output(coordinator).splitlines() if re.search(news, line))
            self.assertLessEqual(len(line), 80)
            self.assertIn("failure-detector decides", line)
        with self.subTest("nothing floods: each problem is said once"):
            time.sleep(3)  # three more seconds of a follower exited and called alive
            said = lines_with(coordinator, "exercise ")
            self.assertEqual(len([line for line in said if "state_after answered 'Alive'" in line]), 1, said)
            self.assertLessEqual(len([line for line in said if re.search(news, line)]), 2, said)
        self.assertIsNone(coordinator.poll())
        self.assertNotIn("Traceback", output(coordinator))
        type_in(coordinator, "quit")
        wait_printed(coordinator, "stopped the 6 processes")


if __name__ == "__main__":
    unittest.main()
