"""The students' day, walked in a students' edition as a student walks it: each lab's step that needs an exercise not
written yet says once, in one line of 80 columns, what to write, and the lab goes on around it; after the instructor
puts the answer in (`python -m labs.plumbing.exercises --solution EX EDITION`, run from the repository), the same
step runs on it, with no exercise line at all. Lab 3 runs on the students' own labs 1 and 2."""
import re
import subprocess
import sys
import unittest

from labs.plumbing.exercises import EXERCISES, needs as needs_line, stubbed
from tests.edition import environment, lines_with, make_edition, start_in, type_in
from tests.helpers import (ROOT, free_block, free_port, http, logs_folder, needs, output, stop, wait_healthy,
                           wait_printed, wait_until)


@needs(*EXERCISES)  # the answers come from the repository
class StudentsDayTest(unittest.TestCase):
    """One edition for the day; each test starts from every exercise unwritten."""

    @classmethod
    def setUpClass(cls):
        cls.folder = make_edition(cls)

    def setUp(self):
        for lab, path, function in EXERCISES.values():  # as the edition had it: no answer in
            target = self.folder / path
            target.write_text(stubbed(target.read_text(encoding="utf-8")), encoding="utf-8")

    def solution(self, name):
        """The instructor, in the repository, puts the answer to one exercise into the student's edition."""
        result = subprocess.run([sys.executable, "-m", "labs.plumbing.exercises", "--solution", name,
                                 str(self.folder)], cwd=ROOT, capture_output=True, text=True, timeout=30,
                                env=environment())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        check = subprocess.run([sys.executable, "labs/check.py", str(EXERCISES[name][0])], cwd=self.folder,
                               capture_output=True, text=True, timeout=30, env=environment())
        self.assertEqual(check.returncode, 0, check.stdout)

    def assert_one_line_says_what_to_write(self, process, name):
        """Exactly one line names the exercise to write, within 80 columns; whole, it says how to check it."""
        said = lines_with(process, f"to write: {name}")
        self.assertEqual(len(said), 1, output(process))
        self.assertLessEqual(len(said[0]), 80, said[0])
        with self.subTest("the line is the whole needs line: the file and the check command too"):
            self.assertIn(needs_line(name), said[0])

    def assert_plain(self, process):
        """No traceback, no exercise line, every line within 80 columns."""
        text = output(process)
        self.assertNotIn("Traceback", text)
        self.assertNotIn("exercise", text)
        self.assertNotIn("NotImplementedError", text)
        self.assertEqual([line for line in text.splitlines() if len(line) > 80], [])

    def test_lab1_the_rate_limiting_step_says_once_what_to_write_then_runs_on_the_answer(self):
        port = free_port()
        # step e's node, with a window long enough that no burst of this test straddles two
        step_e = ("labs/scalability/node.py", "--port", port, "--rate-limit", "fixed-window", "--limit", 5,
                  "--window", 3600)
        node = start_in(self, self.folder, *step_e)
        wait_healthy(port)  # the node starts
        wait_printed(node, "rate limit: 5 requests per 3600 s per client")
        for client in ("polite", "bombard", "bombard", None):
            status, body, _ = http("GET", f"http://127.0.0.1:{port}/kv/colour",
                                   headers={"X-Client-Id": client} if client else {})
            self.assertEqual(status, 500)
            self.assertTrue(body["error"].startswith("to write: fixed-window"), body)
            self.assertIn("to write: fixed-window", body["error"])
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health")[0], 200)
        wait_until(lambda: len(lines_with(node, "/kv/colour")) == 4, 10, "the node's 4 log lines")
        self.assertIsNone(node.poll())
        self.assert_one_line_says_what_to_write(node, "fixed-window")
        self.assertNotIn("Traceback", output(node))
        stop(node)

        self.solution("fixed-window")
        node = start_in(self, self.folder, *step_e)
        wait_healthy(port)
        statuses = [http("GET", f"http://127.0.0.1:{port}/kv/colour", headers={"X-Client-Id": "bombard"})[0]
                    for _ in range(8)]
        self.assertEqual(statuses.count(404), 5, statuses)  # the first 5 of the window: no such key, yet
        self.assertIn(429, statuses)
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/kv/colour", headers={"X-Client-Id": "polite"})[0], 404)
        wait_until(lambda: len(lines_with(node, "/kv/colour")) == 9, 10, "the node's 9 log lines")
        self.assertEqual(len(lines_with(node, "REJECT bombard")), statuses.count(429))
        self.assertEqual(len(lines_with(node, "ACCEPT polite")), 1)
        self.assert_plain(node)

    def coordinator(self, *more):
        """Lab 2's coordinator, started in the edition, its prompt on a pipe; ready for commands."""
        port = free_block(4)
        coordinator = start_in(self, self.folder, "labs/replication/coordinator.py", "--port", port, "--base-port",
                               port + 1, "--followers", 2, "--delay", 0.01, "--replication-delay", 0.01,
                               "--logs", logs_folder(self), *more, stdin=subprocess.PIPE)
        wait_printed(coordinator, "commands:")
        return coordinator

    def test_lab2_each_read_says_what_to_write_writes_go_on_then_reads_run_on_the_answer(self):
        coordinator = self.coordinator()
        type_in(coordinator, "put colour blue")
        wait_printed(coordinator, r'write +colour="blue" v1 acked by 2 of 2')
        for key in ("colour", "colour", "shape"):
            type_in(coordinator, f"get {key}")
        wait_until(lambda: len(lines_with(coordinator, "refused    read")) == 3, 10, "three reads refused")
        self.assertTrue(all(re.search(r"no answer as new as v\d+: .*is_fresh said", line)
                            for line in lines_with(coordinator, "refused    read")), output(coordinator))
        self.assert_one_line_says_what_to_write(coordinator, "freshness")
        type_in(coordinator, "put colour green")  # writes go on
        wait_printed(coordinator, r'write +colour="green" v2 acked by 2 of 2')
        type_in(coordinator, "quit")
        wait_printed(coordinator, "stopped the 3 processes")
        self.assertEqual(coordinator.wait(10), 0)
        self.assertNotIn("Traceback", output(coordinator))

        self.solution("freshness")
        coordinator = self.coordinator()
        type_in(coordinator, "put colour blue")
        wait_printed(coordinator, r'write +colour="blue" v1 acked by 2 of 2')
        type_in(coordinator, "get colour")
        wait_printed(coordinator, r'read +colour = "blue" v1 from follower\d')
        type_in(coordinator, "get shape")
        wait_printed(coordinator, r"read +shape")
        self.assertNotIn("refused", output(coordinator))
        type_in(coordinator, "quit")
        wait_printed(coordinator, "stopped the 3 processes")
        self.assert_plain(coordinator)

    def store(self, *more):
        """Lab 3's coordinator, started in the edition with a short failure detection, its prompt on a pipe;
        returns it once its banner is out, and its first port."""
        port = free_block(9)
        coordinator = start_in(self, self.folder, "labs/distributed-kvstore/coordinator.py", "--port", port,
                               "--gateway-port", port + 1, "--registry-port", port + 2, "--base-port", port + 3,
                               "--dead-after", 1, "--heartbeat-interval", 0.2, "--delay", 0.01,
                               "--replication-delay", 0.01, "--logs", logs_folder(self), *more, stdin=subprocess.PIPE)
        wait_printed(coordinator, "commands:")
        return coordinator, port

    def test_lab3_names_the_missing_exercises_in_one_line_then_the_store_runs_on_the_students_labs(self):
        coordinator, port = self.store("--rate-limit", "fixed-window")
        banner = [line for line in output(coordinator).splitlines() if "not written yet" in line]
        self.assertEqual(len(banner), 1, output(coordinator))
        self.assertRegex(banner[0], r"^not written yet: [\w, -]+ \(make check\)$")
        for name in EXERCISES:
            self.assertIn(name, banner[0])
        # the registry's detector, unwritten, says so once in the coordinator's terminal (relayed)
        said = "exercise   write state_after in registry.py"
        wait_until(lambda: lines_with(coordinator, said), 10, "the detector's line")
        self.assertEqual(len(lines_with(coordinator, said)), 1, output(coordinator))
        type_in(coordinator, "quit")
        wait_printed(coordinator, "stopped the 6 processes")
        self.assertNotIn("Traceback", output(coordinator))

        for name in EXERCISES:  # labs 1 and 2 in the morning, lab 3's just now (or the instructor's)
            self.solution(name)
        coordinator, port = self.store("--rate-limit", "fixed-window", "--limit", 5, "--window", 3600)
        self.assertNotIn("not written yet", output(coordinator))
        type_in(coordinator, "put colour blue")
        wait_printed(coordinator, r'write +colour="blue" v1 acked')
        type_in(coordinator, "get colour")  # lab 2's freshness, in the gateway
        wait_printed(coordinator, r'read +colour = "blue" v1 from follower\d')
        statuses = [http("GET", f"http://127.0.0.1:{port + 1}/kv/colour", headers={"X-Client-Id": "bombard"})[0]
                    for _ in range(8)]  # lab 1's fixed window, in the gateway
        self.assertEqual(statuses.count(200), 5, statuses)
        self.assertIn(429, statuses)
        type_in(coordinator, "kill follower2")  # lab 3's failure detector, in the registry
        wait_printed(coordinator, r"dead +follower2 .*says the registry", deadline=20)
        wait_printed(coordinator, r"replace +follower2 is dead: follower4 :\d+ takes its place", deadline=20)
        wait_printed(coordinator, r"up +follower4 :\d+ serves reads, in place of follower2", deadline=20)
        type_in(coordinator, "get colour")
        wait_until(lambda: len(re.findall(r'read +colour = "blue" v1', output(coordinator))) == 2, 10, "a second read")
        self.assertEqual(len(re.findall(r"replace +follower2", output(coordinator))), 1, output(coordinator))
        type_in(coordinator, "quit")
        wait_printed(coordinator, r"stopped the \d+ processes")
        self.assertNotIn("Traceback", output(coordinator))
        self.assertNotIn("exercise", output(coordinator))


if __name__ == "__main__":
    unittest.main()
