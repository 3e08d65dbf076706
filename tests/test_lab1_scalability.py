"""Lab 1: the load balancing and rate limiting strategies, then the node, the front and the client for real."""
import json
import os
import re
import threading
import unittest
from http.client import HTTPConnection
from unittest import mock

from labs.scalability.load_balancer import NO_ANSWER, LeastResponseTime, RoundRobin, measured_by
from labs.scalability.rate_limiter import FixedWindow
from labs.scalability.visualize_load_balance import bar_chart
from tests.helpers import free_port, http, output, run, start, start_node, wait_until

NODE = "labs/scalability/node.py"
CLIENT = "labs/scalability/client.py"


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
    def test_tries_every_new_node_first(self):
        balancer = LeastResponseTime(["a", "b", "c"])
        picked = []
        for _ in range(3):
            picked.append(balancer.pick())
            balancer.started(picked[-1])
        self.assertEqual(sorted(picked), ["a", "b", "c"])

    def test_prefers_the_fast_node(self):
        balancer = LeastResponseTime(["slow", "fast"])
        for node, seconds in (("slow", 0.4), ("fast", 0.1)):
            balancer.started(node)
            balancer.finished(node, seconds)
        self.assertEqual(balancer.pick(), "fast")

    def test_prefers_the_less_busy_node_when_both_are_as_fast(self):
        balancer = LeastResponseTime(["busy", "idle"])
        for node in ("busy", "idle"):
            balancer.started(node)
            balancer.finished(node, 0.1)
        balancer.started("busy")
        self.assertEqual(balancer.pick(), "idle")

    def test_a_fast_node_takes_more_requests_in_flight_before_a_slow_one_gets_any(self):
        balancer = LeastResponseTime(["slow", "fast"])
        for node, seconds in (("slow", 0.45), ("fast", 0.1)):
            balancer.started(node)
            balancer.finished(node, seconds)
        picks = []
        for _ in range(5):
            picks.append(balancer.pick())
            balancer.started(picks[-1])
        self.assertEqual(picks, ["fast", "fast", "fast", "fast", "slow"])

    def test_a_node_without_answers_is_avoided_and_a_new_one_is_tried(self):
        balancer = LeastResponseTime(["dead", "alive"])
        send = measured_by(balancer)(lambda node: (0, {}) if node == "dead" else (200, {}))
        send("dead"), send("alive")
        self.assertEqual(balancer.latency["dead"], NO_ANSWER)
        self.assertEqual(balancer.pick(), "alive")
        balancer.nodes = ["joined", "alive"]  # the owner replaces the list, as lab 3's gateway does
        self.assertEqual(balancer.pick(), "joined")
        self.assertNotIn("dead", balancer.latency)


class FixedWindowTest(unittest.TestCase):
    """The students' TODO in rate_limiter.py: `python3 -m unittest tests.test_lab1_scalability.FixedWindowTest -v`."""

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


class ChartTest(unittest.TestCase):
    @mock.patch.dict(os.environ, {"NO_COLOR": "1"})
    def test_rejected_requests_get_a_bar_of_their_own_that_reads_without_colour(self):
        lines = bar_chart({"127.0.0.1:8001": 10}, width=20, rejected={"127.0.0.1:8001": 20})
        self.assertEqual(lines, ["127.0.0.1:8001        ##########           10 ok",
                                 "                      xxxxxxxxxxxxxxxxxxxx 20 rejected (429)"])


class RefusalsTest(unittest.TestCase):
    """The node's refusals come from the shared plumbing (labs/plumbing/jsonhttp.py): JSON, with the right code."""

    def setUp(self):
        self.port = start_node(self, NODE, "--delay", "0")[0]

    def raw(self, method, path, headers=(), body=b""):
        """A request as a hand-written client might send it: no header is added for us."""
        connection = HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.addCleanup(connection.close)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())

    def test_every_refusal_is_json_with_its_status(self):
        cases = [("PUT", "/kv/a", (), 411, "needs a Content-Length header"),
                 ("PUT", "/kv/a", [("Content-Length", "-1")], 400, "Content-Length must be a whole number"),
                 ("GET", "/kv/%FF", (), 400, "not valid UTF-8"),
                 ("BREW", "/kv/a", (), 501, "Unsupported method")]
        for method, path, headers, status, message in cases:
            with self.subTest(method=method, path=path):
                answer = self.raw(method, path, headers)
                self.assertEqual(answer[:2], (status, "application/json"))
                self.assertIn(message, answer[2]["error"])
        status, reply, _ = http("PUT", f"http://127.0.0.1:{self.port}/kv/a", b"x" * (1024 * 1024 + 1))
        self.assertEqual((status, reply["error"]), (413, "body larger than 1048576 bytes"))
        self.assertEqual(http("GET", f"http://127.0.0.1:{self.port}/kv/%C3%A9")[0], 404)  # é: a fine key
        self.assertEqual(http("PUT", f"http://127.0.0.1:{self.port}/kv/ok", {"value": 1})[0], 201)  # still serving


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
        self.assertIn("rate limit: 2 requests per 60 s for alice", reply["error"])
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
        self.assertRegex(log, r" 429 .*REJECT 429 alice")


class FrontTest(unittest.TestCase):
    def test_forwards_to_the_backends_in_turn_and_skips_one_that_is_down(self):
        backends = [start_node(self, NODE, "--delay", "0")[0] for _ in range(2)]
        down = free_port()
        front, process = start_node(self, NODE, "--load-balance", "round-robin",
                                    "--backends", f"{backends[0]},{down},{backends[1]}")
        served = [http("PUT", f"http://127.0.0.1:{front}/kv/k{i}", {"value": i})[1]["node"] for i in range(4)]
        self.assertEqual(served, [f"127.0.0.1:{port}" for port in backends * 2])
        wait_until(lambda: f"-> 127.0.0.1:{backends[1]}" in output(process), what="the backend in the front's log")

    def test_passes_a_backend_429_back_and_answers_502_when_no_backend_answers(self):
        limited = start_node(self, NODE, "--delay", "0", "--rate-limit", "fixed-window", "--limit", "1", "--window", "60")[0]
        front = start_node(self, NODE, "--load-balance", "least-response-time", "--backends", limited)[0]
        url = f"http://127.0.0.1:{front}/kv/k"
        self.assertEqual(http("PUT", url, {"value": 1}, {"X-Client-Id": "alice"})[0], 201)
        status, _, headers = http("PUT", url, {"value": 1}, {"X-Client-Id": "alice"})
        self.assertEqual((status, headers["RateLimit-Policy"]), (429, '"fixed-window";q=1;w=60'))
        nowhere = start_node(self, NODE, "--load-balance", "round-robin", "--backends", free_port())[0]
        status, reply, _ = http("GET", f"http://127.0.0.1:{nowhere}/kv")
        self.assertEqual(status, 502)
        self.assertIn("no backend answered", reply["error"])

    def test_load_balance_without_backends_is_one_clear_line_and_exit_code_2(self):
        result = run(NODE, "--port", free_port(), "--load-balance", "round-robin")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--load-balance and --backends go together", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class ClientTest(unittest.TestCase):
    def test_least_response_time_sends_more_to_the_stronger_node(self):
        weak = start_node(self, NODE, "--workers", "1", "--delay", "0.05")[0]
        strong = start_node(self, NODE, "--workers", "4", "--delay", "0.05")[0]
        result = run(CLIENT, "--requests", 40, "--concurrency", 8, "--nodes", f"{weak},{strong}",
                     "--strategy", "least-response-time")
        self.assertEqual(result.returncode, 0, result.stderr)
        counts = {int(port): int(count) for port, count in re.findall(r"127\.0\.0\.1:(\d+) .* (\d+) ok", result.stdout)}
        self.assertEqual(sum(counts.values()), 40)
        self.assertGreater(counts[strong], counts[weak])

    def test_a_polite_client_is_never_rejected_while_another_bombards(self):
        port = start_node(self, NODE, "--delay", "0", "--rate-limit", "fixed-window", "--limit", "3", "--window", "1")[0]
        polite = start(self, CLIENT, "--requests", 3, "--concurrency", 1, "--rate", 2, "--nodes", port)
        bombard = run(CLIENT, "--requests", 30, "--concurrency", 10, "--nodes", port)
        wait_until(lambda: polite.poll() is not None, what="the polite client to finish")
        self.assertIn("429", bombard.stdout)
        self.assertIn("rate limit: 3 requests per 1 s for client-", bombard.stdout)
        self.assertRegex(bombard.stdout, r"\n {22}x+ +\d+ rejected \(429\)")
        self.assertEqual(re.findall(r"127\.0\.0\.1:\d+ +(\d)\d\d ", output(polite)), ["2", "2", "2"])
        self.assertRegex(output(polite), rf"127\.0\.0\.1:{port} +#+ 3 ok\n\n")  # and no bar of rejections
        self.assertRegex(output(polite), r"3 requests in [\d.]+ s: [\d.]+ requests/s, p50 \d+ ms, p95 \d+ ms")


if __name__ == "__main__":
    unittest.main()
