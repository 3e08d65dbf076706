"""Lab 1: the load balancing and rate limiting strategies, then the node, the front and the client for real;
malformed and slow requests refused in JSON, and the bench stopped early takes its nodes with it."""
import json
import os
import re
import signal
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from unittest import mock

from labs.plumbing.jsonhttp import BODY_DEADLINE, IDLE, send
from labs.scalability.load_balancer import NO_ANSWER, LeastResponseTime, RoundRobin, measured_by
from labs.scalability.rate_limiter import FixedWindow
from labs.scalability.visualize_load_balance import bar_chart
from tests.helpers import (assert_cut_off, closed, free_block, free_port, http, output, raw_request, run, start,
                           start_node, stop, Trickle, wait_until)

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
    def test_learns_how_many_a_node_takes_at_once_without_slowing_down(self):
        balancer = LeastResponseTime(["big", "small"])
        balancer.finished("big", 0.1, balancer.started("big"))
        balancer.finished("small", 0.2, balancer.started("small"))
        at_once = [balancer.started("big") for _ in range(4)]  # four at once, all answered at full speed
        for count in at_once:
            balancer.finished("big", 0.1, count)
        self.assertEqual((balancer.capacity["big"], round(balancer.latency["big"], 3)), (4, 0.1))
        balancer.finished("small", 0.6, balancer.started("small") + 2)  # it queued, with 3 in flight
        self.assertEqual(balancer.capacity["small"], 1)
        for _ in range(3):
            balancer.started("big")
        self.assertEqual(balancer.pick(), "big")  # 3 in flight of 4: room left, so only its latency counts

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

    def test_forgets_the_clients_of_a_window_once_it_is_over(self):
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

    def test_malformed_requests_to_the_node_and_the_front_get_json_and_both_keep_serving(self):
        front = start_node(self, NODE, "--load-balance", "round-robin", "--backends", self.port)[0]
        servers = {"node": self.port, "front": front}

        def timed(port, request):
            started = time.monotonic()
            return raw_request(port, request, timeout=BODY_DEADLINE + 5), time.monotonic() - started
        with ThreadPoolExecutor() as pool:  # the slow cases wait out BODY_DEADLINE while the others run
            short = {name: pool.submit(timed, port, b"PUT /kv/a HTTP/1.0\r\nContent-Length: 100\r\n\r\n{}")
                     for name, port in servers.items()}  # and the client keeps the connection open
            huge = pool.submit(timed, front, b"PUT /kv/a HTTP/1.0\r\nContent-Length: 300000000\r\n\r\n" +
                               b"x" * 4096)
            cases = [(b"PUT /kv/a HTTP/1.0\r\nContent-Length: 1e20\r\n\r\n", 400, "Content-Length must be a whole"),
                     (b"GET /kv/\xc3\xa9 HTTP/1.0\r\n\r\n", 400, "the path must be ASCII"),
                     (b"GET /kv/" + b"k" * 100_000 + b" HTTP/1.0\r\n\r\n", 414, "Request-URI Too Long"),
                     (b"OPTIONS /kv/a HTTP/1.0\r\n\r\n", 405, "OPTIONS is not allowed")]
            for name, port in servers.items():
                for request, status, message in cases:
                    with self.subTest(server=name, request=request[:24]):
                        answer, headers, body = raw_request(port, request)
                        self.assertEqual((answer, headers.get("content-type")), (status, "application/json"))
                        self.assertIn(message, json.loads(body)["error"])
                with self.subTest(server=name, request="HEAD"):
                    status, headers, body = raw_request(port, b"HEAD /kv/a HTTP/1.0\r\n\r\n")
                    self.assertEqual((status, headers["content-type"], body), (405, "application/json", b""))
            for name, answer in short.items():
                with self.subTest(server=name, request="a body shorter than its Content-Length"):
                    (status, _, body), seconds = answer.result()
                    self.assertEqual((status, json.loads(body)["error"]),
                                     (408, f"the body did not arrive within {BODY_DEADLINE:g} s"))
                    self.assertLess(seconds, BODY_DEADLINE + 2)
            (status, _, body), seconds = huge.result()
            self.assertEqual(status, 413)  # without waiting for 300 MB to arrive
            self.assertIn("error", json.loads(body))
            self.assertLess(seconds, BODY_DEADLINE + 3)
        for name, port in servers.items():
            self.assertIn(http("PUT", f"http://127.0.0.1:{port}/kv/ok", {"value": 1})[0], (200, 201), name)

    def test_one_connection_carries_request_after_request_but_never_a_body_left_unread(self):
        connection = HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.addCleanup(connection.close)
        sockets = []
        for method, body, status in (("PUT", b'{"value": 1}', 201), ("GET", None, 200), ("GET", None, 200)):
            connection.request(method, "/kv/a", body=body)
            response = connection.getresponse()
            self.assertEqual((response.status, json.loads(response.read())["value"]), (status, 1))
            sockets.append(connection.sock)
        self.assertTrue(sockets[0] is sockets[1] is sockets[2])  # keep-alive: one connection for the three
        smuggled = b"DELETE /kv/a HTTP/1.1\r\n\r\n"  # the body of a request answered without reading it
        status, headers, body = raw_request(self.port, b"GET /health HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
                                            % (len(smuggled), smuggled), timeout=5)
        self.assertEqual((status, headers["connection"]), (200, "close"))  # said it would hang up
        self.assertEqual(body.count(b"HTTP/1.1"), 0)  # and did: no second answer
        self.assertEqual(http("GET", f"http://127.0.0.1:{self.port}/kv/a")[0], 200)  # and nothing was deleted

    def test_a_get_on_a_connection_the_node_closed_is_sent_again_on_a_new_one(self):
        port, first = start_node(self, NODE, "--delay", "0")
        node = f"127.0.0.1:{port}"
        self.assertEqual(send(node, "GET", "/health")[0], 200)  # leaves its connection open
        kept = [connection for address, connection in IDLE if address == node][-1]
        stop(first)  # the node restarts: the connection left open is closed
        start(self, NODE, "--port", port, "--delay", "0")
        wait_until(lambda: http("GET", f"http://{node}/health")[0] == 200, what="the node again")
        self.assertEqual(send(node, "GET", "/health")[0], 200)
        self.assertNotIn((node, kept), IDLE)

    def test_a_content_length_in_other_digits_is_400_too(self):
        status, headers, body = raw_request(self.port, b"PUT /kv/a HTTP/1.0\r\nContent-Length: \xb2\r\n\r\n{}")
        self.assertEqual((status, json.loads(body)["error"]), (400, "Content-Length must be a whole number of bytes"))


class SlowClientTest(unittest.TestCase):
    def test_clients_that_trickle_their_body_hold_no_worker_and_get_408(self):
        port = start_node(self, NODE, "--workers", 1, "--delay", 0)[0]
        slow = [Trickle(port) for _ in range(2)]
        wait_until(lambda: all(client.sent >= 2 for client in slow), 5, "both slow clients to be mid-body")
        for method, body in (("PUT", {"value": 1}), ("GET", None)):
            started = time.monotonic()
            self.assertIn(http(method, f"http://127.0.0.1:{port}/kv/k", body)[0], (200, 201))
            self.assertLess(time.monotonic() - started, 1.0)
        self.assertTrue(all(client.is_alive() for client in slow))  # served while both were still sending
        assert_cut_off(self, slow)


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
        self.assertIn("limit 2 per 60 s per client: retry in", reply["error"])
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


class FrontTest(unittest.TestCase):
    def test_forwards_to_the_backends_in_turn_and_skips_one_that_is_down(self):
        backends = [start_node(self, NODE, "--delay", "0")[0] for _ in range(2)]
        down = free_port()
        front, process = start_node(self, NODE, "--load-balance", "round-robin",
                                    "--backends", f"{backends[0]},{down},{backends[1]}")
        served = [http("PUT", f"http://127.0.0.1:{front}/kv/k{i}", {"value": i})[1]["node"] for i in range(4)]
        self.assertEqual(served, [f"127.0.0.1:{port}" for port in backends * 2])
        wait_until(lambda: f"-> :{backends[1]}" in output(process), what="the backend in the front's log")

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
        self.assertIn("limit 3 per 1 s per client: retry in", bombard.stdout)
        self.assertRegex(bombard.stdout, r"\n {22}x+ +\d+ rejected \(429\)")
        self.assertEqual(re.findall(r"127\.0\.0\.1:\d+ +(\d)\d\d ", output(polite)), ["2", "2", "2"])
        self.assertRegex(output(polite), rf"127\.0\.0\.1:{port} +#+ 3 ok\n\n")  # and no bar of rejections
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
