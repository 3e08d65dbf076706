"""Lab 1: the load balancing and rate limiting strategies and the chart, then step 01's node with them, the front
and the client for real, a student's exercise that raises, and the bench stopped early takes its nodes with it."""
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from http.client import HTTPConnection
from unittest import mock

from labs.scalability.load_balancer import NO_ANSWER, RETRY, LeastResponseTime, RoundRobin, measured_by
from labs.scalability.rate_limiter import FixedWindow
from labs.scalability.visualize_load_balance import bar_chart, chart
from tests.helpers import (ROOT, closed, free_block, free_port, http, needs, output, run, start, start_node,
                           wait_until)

NODE = "labs/scalability/node.py"
CLIENT = "labs/scalability/client.py"
BENCH = "labs/scalability/bench.py"


class RoundRobinTest(unittest.TestCase):
    def test_each_node_in_turn(self):
        balancer = RoundRobin(["a", "b", "c"])
        self.assertEqual([balancer.pick() for _ in range(7)], ["a", "b", "c", "a", "b", "c", "a"])

    def test_copes_with_a_replaced_node_list(self):
        balancer = RoundRobin(["a", "b", "c"])
        balancer.pick(), balancer.pick()
        balancer.nodes = ["d"]
        self.assertEqual([balancer.pick() for _ in range(2)], ["d", "d"])


class LeastResponseTimeTest(unittest.TestCase):
    def measured(self, balancer, node, seconds):
        balancer.started(node)
        balancer.finished(node, seconds)

    def test_tries_every_new_node_first_one_request_at_a_time(self):
        balancer = LeastResponseTime(["a", "b", "c"])
        picked = []
        for _ in range(6):
            picked.append(balancer.pick())
            balancer.started(picked[-1])
        self.assertEqual(sorted(picked[:3]), ["a", "b", "c"])
        self.assertEqual(sorted(picked[3:]), ["a", "b", "c"])  # none measured yet: spread, not piled on one

    def test_prefers_the_fast_node(self):
        balancer = LeastResponseTime(["slow", "fast"])
        self.measured(balancer, "slow", 0.4)
        self.measured(balancer, "fast", 0.1)
        self.assertEqual(balancer.pick(), "fast")

    def test_prefers_the_less_busy_node_when_both_are_as_fast(self):
        balancer = LeastResponseTime(["busy", "idle"])
        for node in ("busy", "idle"):
            self.measured(balancer, node, 0.1)
        balancer.started("busy")
        self.assertEqual(balancer.pick(), "idle")

    def test_a_fast_node_takes_more_requests_in_flight_before_a_slow_one_gets_any(self):
        balancer = LeastResponseTime(["slow", "fast"])
        self.measured(balancer, "slow", 0.45)
        self.measured(balancer, "fast", 0.1)
        picks = []
        for _ in range(5):
            picks.append(balancer.pick())
            balancer.started(picks[-1])
        self.assertEqual(picks, ["fast", "fast", "fast", "fast", "slow"])  # 0.1 x 5 in flight > 0.45 x 1

    def test_a_node_that_failed_is_avoided_then_tried_again_and_used_once_it_answers(self):
        now = [100.0]
        with mock.patch("labs.scalability.load_balancer.time.monotonic", lambda: now[0]):
            balancer = LeastResponseTime(["back", "other"])
            measured_by(balancer)(lambda node: (0, {}))("back")  # no answer: it counts as 60 s
            self.measured(balancer, "other", 0.1)
            self.assertEqual([balancer.pick() for _ in range(3)], ["other"] * 3)
            now[0] += RETRY  # a few seconds later it is tried again, as if new: one request at a time
            self.measured(balancer, "other", 0.1)
            self.assertEqual(balancer.pick(), "back")
            balancer.started("back")
            self.assertEqual(balancer.pick(), "other")
            balancer.finished("back", 0.05)  # it answers, fast: its old 60 s are forgotten
            self.assertEqual(balancer.pick(), "back")

    def test_a_dead_node_is_never_picked_before_a_live_one_busy_with_its_first_request(self):
        balancer = LeastResponseTime(["alive", "dead", "other"])
        for node in ("alive", "dead"):  # a request each: the first to either, as neither was heard from
            self.assertEqual(balancer.pick(), node)
            balancer.started(node)
        balancer.finished("dead", NO_ANSWER)  # refused at once; "alive" has not answered yet
        self.assertEqual(balancer.pick(), "other")
        balancer.started("other")
        self.assertNotIn("dead", [balancer.pick() for _ in range(3)])

    def test_after_a_silence_a_node_that_failed_gets_one_try_and_the_others_keep_their_averages(self):
        now = [100.0]
        with mock.patch("labs.scalability.load_balancer.time.monotonic", lambda: now[0]):
            balancer = LeastResponseTime(["a", "dead", "b"])
            self.measured(balancer, "a", 0.2)
            self.measured(balancer, "b", 0.1)
            measured_by(balancer)(lambda node: (0, {}))("dead")
            now[0] += 10 * RETRY  # nobody sent anything for a while (a front left idle)
            picks = []
            for _ in range(4):
                picks.append(balancer.pick())
                if picks[-1] == "dead":
                    balancer.started("dead")
                    balancer.finished("dead", NO_ANSWER)  # still dead
                else:
                    balancer.started(picks[-1])
            self.assertEqual(picks.count("dead"), 1)

    def test_the_owner_may_replace_the_node_list(self):
        balancer = LeastResponseTime(["a", "b"])
        self.measured(balancer, "a", 0.1)
        balancer.nodes = ["c", "a"]  # as lab 3's gateway does when a follower is replaced
        self.assertEqual(balancer.pick(), "c")


@needs("fixed-window")
class FixedWindowTest(unittest.TestCase):
    """The students' exercise in rate_limiter.py; labs/scalability/check.py checks it too, in their words."""

    def setUp(self):
        self.now = 100.0  # a clock the test moves by hand: the start of window 100 of 1 s
        self.limiter = FixedWindow(5, 1.0, clock=lambda: self.now)

    def test_admits_exactly_limit_per_window_under_50_concurrent_threads(self):
        verdicts = []
        threads = [threading.Thread(target=lambda: verdicts.append(self.limiter.allow("alice")[0]))
                   for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(verdicts.count(True), 5)
        self.assertEqual(verdicts.count(False), 45)

    def test_says_what_remains_and_when_the_window_resets(self):
        self.now = 100.25
        self.assertEqual(self.limiter.allow("alice"), (True, 4, 0.75))
        for _ in range(4):
            self.limiter.allow("alice")
        self.assertEqual(self.limiter.allow("alice"), (False, 0, 0.75))

    def test_the_next_window_starts_from_zero(self):
        for _ in range(6):
            self.limiter.allow("alice")
        self.now = 101.0
        self.assertEqual([self.limiter.allow("alice")[0] for _ in range(6)], [True] * 5 + [False])

    def test_keeps_clients_apart(self):
        for _ in range(6):
            self.limiter.allow("alice")
        self.assertTrue(self.limiter.allow("bob")[0])

    def test_holds_the_clients_of_one_window_only(self):
        for number in range(100_000):
            self.limiter.allow(f"client-{number}")
        self.assertEqual(len(self.limiter.counts), 100_000)
        self.now = 101.0  # the next window: one request
        self.limiter.allow("alice")
        self.assertEqual(len(self.limiter.counts), 1)  # memory bounded by one window's clients


class ChartTest(unittest.TestCase):
    @mock.patch.dict(os.environ, {"NO_COLOR": "1"})
    def test_rejected_requests_get_a_bar_of_their_own_that_reads_without_colour(self):
        lines = bar_chart({"127.0.0.1:8001": 10}, width=20, rejected={"127.0.0.1:8001": 20})
        self.assertEqual(lines, ["127.0.0.1:8001        ##########           10 ok",
                                 "                      xxxxxxxxxxxxxxxxxxxx 20 rejected"])

    @mock.patch.dict(os.environ, {"NO_COLOR": "1"})
    def test_a_client_s_run_has_a_row_per_node_that_answered(self):
        results = [("127.0.0.1:8001", 201, 0.1), ("127.0.0.1:8002", 200, 0.1), ("127.0.0.1:8001", 429, 0.1)]
        lines = chart(results, ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"])
        self.assertEqual(lines[0], "requests per node (# ok, x rejected with 429)")
        self.assertEqual([line.split()[0] for line in lines[1:] if line[:1] != " "],
                         ["127.0.0.1:8001", "127.0.0.1:8002"])  # 8003 answered nothing: no row
        self.assertNotIn("front", "\n".join(lines))
        self.assertRegex(lines[2], r"^ {22}x+ +1 rejected$")  # 8001's 429, under its row

    @mock.patch.dict(os.environ, {"NO_COLOR": "1"})
    def test_through_a_front_the_backends_get_the_rows_and_the_front_one_only_for_what_it_answered_itself(self):
        front, nodes = "127.0.0.1:8000", ["127.0.0.1:8000"]
        passed_on = [("127.0.0.1:8002", 201, 0.1), ("127.0.0.1:8001", 200, 0.1), ("127.0.0.1:8001", 429, 0.1)]
        lines = chart(passed_on, nodes)
        self.assertEqual([line.split()[0] for line in lines[1:] if line[:1] != " "],
                         ["127.0.0.1:8001", "127.0.0.1:8002"])  # no row for the front that answered nothing
        lines = chart(passed_on + [(front, 502, 0.1)], nodes)  # a 502 of its own: no backend answered
        self.assertEqual([line for line in lines if front in line], [f"{front} front{' ' * 43}0 ok"])


class NodeTest(unittest.TestCase):
    """Step 01's node, as lab 1 keeps it: bad input gets a JSON error, and the node keeps serving."""

    def test_bad_input_is_refused_in_json_and_the_node_keeps_serving(self):
        url = f"http://127.0.0.1:{start_node(self, NODE, '--delay', 0)[0]}"
        cases = [("PUT", "/kv/a", b"not json", 400), ("PUT", "/kv/a", b"[" * 100_000, 400),  # any depth
                 ("PUT", "/kv/a", {"val": 1}, 400), ("PUT", "/kv/a", b"x" * (1024 * 1024 + 1), 413),
                 ("GET", "/nowhere", None, 404), ("POST", "/kv/a", {"value": 1}, 405)]
        for method, path, body, expected in cases:
            with self.subTest(method=method, path=path, body=str(body)[:20]):
                status, reply, _ = http(method, url + path, body)
                self.assertEqual(status, expected)
                self.assertIn("error", reply)
        self.assertEqual(http("PUT", url + "/kv/ok", {"value": "still serving"})[0], 201)

    def test_the_ready_line_says_1_worker_and_2_workers(self):
        for workers, words in ((1, "1 worker"), (2, "2 workers")):
            with self.subTest(workers=workers):
                port, process = start_node(self, NODE, "--workers", workers)
                self.assertEqual(output(process).splitlines()[0],
                                 f"node 127.0.0.1:{port} ready: {words}, 0.1 s of work per request")


@needs("fixed-window")
class RateLimitedNodeTest(unittest.TestCase):
    def setUp(self):
        self.port, self.node = start_node(self, NODE, "--delay", "0", "--rate-limit", "fixed-window",
                                          "--limit", "2", "--window", "60")
        self.url = f"http://127.0.0.1:{self.port}"

    def put(self, client):
        return http("PUT", self.url + "/kv/a", {"value": 1}, {"X-Client-Id": client})

    def test_over_the_limit_is_429_with_retry_after_and_ratelimit_headers(self):
        self.assertEqual([self.put("alice")[0] for _ in range(2)], [201, 200])
        status, reply, headers = self.put("alice")
        self.assertEqual(status, 429)
        self.assertIn("limit 2 per 60 s: retry in", reply["error"])
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertEqual(headers["RateLimit-Policy"], '"fixed-window";q=2;w=60')
        self.assertEqual(headers["RateLimit"], f'"fixed-window";r=0;t={headers["Retry-After"]}')
        self.assertEqual(self.put("bob")[0], 200)  # another client has a count of its own
        self.assertEqual(http("GET", self.url + "/health")[0], 200)  # never limited

    def test_the_log_says_accept_or_reject_with_the_client(self):
        for _ in range(3):
            self.put("alice")
        log = wait_until(lambda: output(self.node).count("alice") == 3 and output(self.node), what="3 log lines")
        self.assertEqual(len(re.findall(r" 20[01] .*ACCEPT\s+alice", log)), 2)
        self.assertRegex(log, r" 429 .*REJECT alice")


FIRST_TRY = '''"""A student's first try at FixedWindow.allow, run as node.py: a client not seen yet is a KeyError."""
import sys
sys.path.insert(0, {root!r})
from labs.scalability import node, rate_limiter


def allow(self, client):
    self.counts[client] += 1
    return True, self.limit - self.counts[client], 1.0


# as if written in rate_limiter.py: node.py puts the boundary around it as it starts
rate_limiter.FixedWindow.allow = allow
node.main()
'''


class BrokenExerciseTest(unittest.TestCase):
    """The boundary around the students' code: their exercise raises, the node survives and says so once."""

    def test_an_exercise_that_raises_is_a_500_naming_it_and_one_line_while_the_node_goes_on_serving(self):
        folder = Path(tempfile.mkdtemp(prefix="labs-first-try-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        script = folder / "first_try.py"
        script.write_text(FIRST_TRY.format(root=str(ROOT)), encoding="utf-8")
        line = next(number for number, text in enumerate(FIRST_TRY.splitlines(), 1) if "+= 1" in text)
        port = free_port()
        node = start(self, script, "--port", port, "--delay", 0, "--rate-limit", "fixed-window")
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/health")[0] == 200, 10, "the node to answer")
        for client in ("alice", "bob", "alice", "bob", "alice"):
            status, reply, _ = http("PUT", f"http://127.0.0.1:{port}/kv/k", {"value": 1}, {"X-Client-Id": client})
            self.assertEqual((status, reply), (500, {"error": f"exercise fixed-window: allow raised KeyError "
                                                             f"at first_try.py:{line}: '{client}'"}))
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health")[0], 200)
        log = wait_until(lambda: output(node).count(" 500 ") == 5 and output(node), what="5 log lines of 500")
        said = [text for text in log.splitlines() if "exercise" in text]
        self.assertEqual(len(said), 1, log)  # five requests, one problem: one line
        self.assertRegex(said[0], rf"^exercise fixed-window: allow raised KeyError at first_try\.py:{line}: "
                                  rf"'alice'$")
        self.assertNotIn("Traceback", log)
        self.assertIsNone(node.poll())


class FrontTest(unittest.TestCase):
    def test_forwards_to_the_backends_in_turn_and_skips_one_that_is_down(self):
        backends = [start_node(self, NODE, "--delay", "0")[0] for _ in range(2)]
        down = free_port()
        front, process = start_node(self, NODE, "--load-balance", "round-robin",
                                    "--backends", f"{backends[0]},{down},{backends[1]}")
        served = [http("PUT", f"http://127.0.0.1:{front}/kv/k{i}", {"value": i})[1]["node"] for i in range(4)]
        self.assertEqual(served, [f"127.0.0.1:{port}" for port in backends * 2])
        wait_until(lambda: f"-> :{backends[1]}" in output(process), what="the backend in the front's log")

    def test_a_least_response_time_front_with_a_dead_backend_answers_every_request(self):
        backends = [start_node(self, NODE, "--delay", "0.05")[0] for _ in range(2)]
        front = start_node(self, NODE, "--load-balance", "least-response-time", "--backends",
                           f"{backends[0]},{free_port()},{backends[1]}")[0]
        for _ in range(2):  # the first burst finds the dead backend; the second knows it
            result = run(CLIENT, "--requests", 36, "--concurrency", 12, "--nodes", front)
            self.assertNotIn("failed", result.stdout.splitlines()[-6], result.stdout[-600:])

    @needs("fixed-window")
    def test_passes_a_backend_s_429_status_and_body_back_not_its_headers_and_502_when_no_backend_answers(self):
        limited = start_node(self, NODE, "--delay", "0", "--rate-limit", "fixed-window", "--limit", "1",
                             "--window", "60")[0]
        front = start_node(self, NODE, "--load-balance", "least-response-time", "--backends", limited)[0]
        url = f"http://127.0.0.1:{front}/kv/k"
        self.assertEqual(http("PUT", url, {"value": 1}, {"X-Client-Id": "alice"})[0], 201)  # the client's id goes on
        status, reply, headers = http("PUT", url, {"value": 1}, {"X-Client-Id": "alice"})
        self.assertEqual((status, reply["node"]), (429, f"127.0.0.1:{limited}"))
        self.assertRegex(reply["error"], r"^limit 1 per 60 s: retry in \d+ s$")
        self.assertEqual([name for name in ("Retry-After", "RateLimit-Policy", "RateLimit") if name in headers], [])
        self.assertEqual(http("PUT", url, {"value": 1}, {"X-Client-Id": "bob"})[0], 200)  # bob has his own count
        nowhere = start_node(self, NODE, "--load-balance", "round-robin", "--backends", free_port())[0]
        status, reply, _ = http("GET", f"http://127.0.0.1:{nowhere}/kv")
        self.assertEqual(status, 502)
        self.assertIn("no backend answered", reply["error"])

    def test_load_balance_without_backends_or_to_itself_is_one_clear_line_and_exit_code_2(self):
        port = free_port()
        for args in (["--load-balance", "round-robin"], ["--load-balance", "round-robin", "--backends", port]):
            with self.subTest(args=args):
                result = run(NODE, "--port", port, *args)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(re.findall(r"^.*error.*$", result.stderr, re.M),
                                 ["node.py: error: --load-balance goes with --backends, the other nodes: "
                                  "--backends 8001,8002"])
                self.assertNotIn("Traceback", result.stderr)

    @needs("fixed-window")
    def test_each_log_line_names_its_own_request_s_backend_and_the_start_lines_agree(self):
        backends = [start_node(self, NODE, "--delay", "0")[0] for _ in range(2)]
        front, process = start_node(self, NODE, "--load-balance", "round-robin", "--backends",
                                    ",".join(map(str, backends)), "--rate-limit", "fixed-window", "--limit", 100)
        self.assertRegex(output(process), rf"^node 127.0.0.1:{front} ready: a front, round-robin over "
                                          rf":{backends[0]}, :{backends[1]}\nrate limit: 100 requests per 1 s")
        connection = HTTPConnection("127.0.0.1", front, timeout=10)  # one client connection, many requests
        self.addCleanup(connection.close)
        for number in range(4):
            connection.request("PUT", f"/kv/k{number}", body=b'{"value": 1}', headers={"X-Client-Id": "t"})
            self.assertEqual(connection.getresponse().read()[:1], b"{")
        wait_until(lambda: len(re.findall(r"PUT +/kv/k\d", output(process))) == 4, what="4 log lines")
        for number, line in enumerate(re.findall(r"PUT +/kv/k\d .*$", output(process), re.M)):
            self.assertRegex(line, rf"/kv/k{number} .* ACCEPT t -> :{backends[number % 2]}$")
            self.assertLessEqual(len(line), 80)

    def test_the_front_serves_its_page_status_and_icon_itself_and_counts_only_what_it_forwards(self):
        backend = start_node(self, NODE, "--delay", "0")[0]
        front, process = start_node(self, NODE, "--load-balance", "least-response-time", "--backends", backend)
        for path, status in (("/", 200), ("/favicon.ico", 204), ("/status", 200), ("/kv/k", 404)):
            self.assertEqual(http("GET", f"http://127.0.0.1:{front}{path}")[0], status, path)
        rows = http("GET", f"http://127.0.0.1:{front}/status")[1]["backends"]
        self.assertEqual([(row["served"], row["no_answer"]) for row in rows], [(1, 0)])  # the 404 of /kv/k only
        self.assertNotIn("favicon", output(process))


class ClientTest(unittest.TestCase):
    def test_through_fronts_the_chart_shows_the_backend_and_a_front_only_for_the_502s_it_answered_itself(self):
        backend = start_node(self, NODE, "--delay", "0")[0]
        working = start_node(self, NODE, "--load-balance", "round-robin", "--backends", backend)[0]
        stranded = start_node(self, NODE, "--load-balance", "round-robin", "--backends", free_port())[0]
        result = run(CLIENT, "--requests", 10, "--concurrency", 1, "--nodes", f"{working},{stranded}")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"\n10 requests in [\d.]+ s: .*; 5 failed\n")
        rows = result.stdout.partition("requests per node (# ok, x rejected with 429)\n")[2].splitlines()
        self.assertEqual(len(rows), 2, result.stdout[-600:])
        self.assertIn(f"{'127.0.0.1:' + str(backend):<21} {'#' * 40} 5 ok", rows)
        # its own 502s (no backend answered): a row of its own, that says it is a front
        self.assertIn(f"{'127.0.0.1:' + str(stranded) + ' front':<21} {'':<40} 0 ok", rows)
        self.assertNotIn(f":{working} ", "\n".join(rows))  # it only passed requests on

    def test_least_response_time_sends_more_to_the_stronger_node(self):
        weak = start_node(self, NODE, "--workers", "1", "--delay", "0.05")[0]
        strong = start_node(self, NODE, "--workers", "4", "--delay", "0.05")[0]
        result = run(CLIENT, "--requests", 40, "--concurrency", 8, "--nodes", f"{weak},{strong}",
                     "--strategy", "least-response-time")
        self.assertEqual(result.returncode, 0, result.stderr)
        counts = {int(port): int(count) for port, count in re.findall(r"127\.0\.0\.1:(\d+) .* (\d+) ok", result.stdout)}
        self.assertEqual(sum(counts.values()), 40)
        self.assertGreater(counts[strong], counts[weak])

    @needs("fixed-window")
    def test_a_polite_client_is_never_rejected_while_another_bombards(self):
        port = start_node(self, NODE, "--delay", "0", "--rate-limit", "fixed-window", "--limit", "3",
                          "--window", "1")[0]
        polite = start(self, CLIENT, "--requests", 3, "--concurrency", 1, "--rate", 2, "--nodes", port)
        bombard = run(CLIENT, "--requests", 30, "--concurrency", 10, "--nodes", port)
        wait_until(lambda: polite.poll() is not None, what="the polite client to finish")
        self.assertIn("429", bombard.stdout)
        self.assertIn("limit 3 per 1 s: retry in", bombard.stdout)
        self.assertRegex(bombard.stdout, r"\n {22}x+ +\d+ rejected\n")
        self.assertEqual(re.findall(r"127\.0\.0\.1:\d+ +(\d)\d\d ", output(polite)), ["2", "2", "2"])
        self.assertRegex(output(polite), rf"127\.0\.0\.1:{port} +#+ 3 ok\n")
        self.assertNotIn("rejected\n", output(polite))  # no bar of rejections
        self.assertRegex(output(polite), r"3 requests in [\d.]+ s: [\d.]+ requests/s, p50 \d+ ms, p95 \d+ ms")


@unittest.skipIf(sys.platform == "win32", "POSIX signals: no SIGINT to send to a child on Windows")
class BenchTest(unittest.TestCase):
    """labs/scalability/bench.py stopped while its client sends: its nodes go with it."""

    def bench(self):
        port = free_block(3)
        process = start(self, BENCH, "--port", port, "--seconds", 100_000, "--delay", 0.01)
        ports = range(port, port + 3)
        wait_until(lambda: any((http("GET", f"http://127.0.0.1:{p}/health")[1] or {}).get("active") for p in ports),
                   10, "the nodes up and the client's requests under way")
        return process, ports

    def test_killed_with_sigkill_its_nodes_stop_too(self):
        process, ports = self.bench()
        process.kill()
        wait_until(lambda: closed(ports), 5, "the node ports to close")

    def test_ctrl_c_is_one_interrupted_line_no_traceback_and_its_nodes_stop(self):
        process, ports = self.bench()
        process.send_signal(signal.SIGINT)
        self.assertNotEqual(process.wait(10), 0)
        self.assertNotIn("Traceback", output(process))
        self.assertEqual(len(re.findall(r"^interrupted", output(process), re.M)), 1)
        wait_until(lambda: closed(ports), 5, "the node ports to close")

    def test_ctrl_c_prints_nothing_but_interrupted(self):
        process, _ = self.bench()
        before = len(output(process))
        process.send_signal(signal.SIGINT)
        process.wait(10)
        self.assertEqual(output(process)[before:].split(), ["interrupted"])


if __name__ == "__main__":
    unittest.main()
