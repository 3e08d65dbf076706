"""Step 01: the node's API and its errors, choking under concurrency, the client's round robin."""
import threading
import time
import unittest

from tests.helpers import http, output, run, start_node, wait_until

NODE = "workshop_materials/01_nodes/node.py"
CLIENT = "workshop_materials/01_nodes/client.py"


class NodeApiTest(unittest.TestCase):
    def setUp(self):
        self.port, self.node = start_node(self, NODE, "--delay", "0")
        self.url = f"http://127.0.0.1:{self.port}"

    def test_put_get_list_delete(self):
        name = f"127.0.0.1:{self.port}"
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": 1})[:2], (201, {"key": "a", "value": 1, "node": name}))
        self.assertEqual(http("PUT", self.url + "/kv/a", {"value": [2]})[0], 200)
        self.assertEqual(http("GET", self.url + "/kv/a")[1]["value"], [2])
        self.assertEqual(http("GET", self.url + "/kv")[1]["keys"], ["a"])
        self.assertEqual(http("DELETE", self.url + "/kv/a")[0], 200)
        self.assertEqual(http("GET", self.url + "/kv/a")[0], 404)
        self.assertEqual(http("DELETE", self.url + "/kv/a")[0], 404)

    def test_health(self):
        status, body, _ = http("GET", self.url + "/health")
        self.assertEqual(status, 200)
        self.assertEqual(set(body), {"status", "node", "workers", "active", "waiting"})

    def test_bad_input_gets_clear_errors_and_the_node_keeps_serving(self):
        cases = [("PUT", "/kv/a", b"not json", 400), ("PUT", "/kv/a", {"val": 1}, 400),
                 ("PUT", "/kv/a", b"x" * (1024 * 1024 + 1), 413), ("GET", "/nowhere", None, 404),
                 ("POST", "/kv/a", {"value": 1}, 405), ("PUT", "/kv", {"value": 1}, 405)]
        for method, path, body, expected in cases:
            with self.subTest(method=method, path=path):
                status, reply, _ = http(method, self.url + path, body)
                self.assertEqual(status, expected)
                self.assertIn("error", reply)
        self.assertEqual(http("PUT", self.url + "/kv/ok", {"value": "still serving"})[0], 201)

    def test_port_in_use_is_one_clear_line_and_exit_code_2(self):
        result = run(NODE, "--port", self.port)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot listen", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_one_log_line_per_request(self):
        http("GET", self.url + "/kv/missing")
        lines = wait_until(lambda: [line for line in output(self.node).splitlines() if "/kv/missing" in line],
                           what="the log line")
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"\d\d:\d\d:\d\d\s+127\.0\.0\.1\s+GET\s+/kv/missing\s+404\s+\d+ ms  active \d+ waiting \d+")


class ChokingTest(unittest.TestCase):
    def five_at_once(self, workers):
        port, _ = start_node(self, NODE, "--workers", workers, "--delay", "0.2")
        url = f"http://127.0.0.1:{port}/kv/k"
        threads = [threading.Thread(target=http, args=("PUT", url, {"value": i})) for i in range(5)]
        begin = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - begin

    def test_one_worker_serves_five_requests_one_after_another(self):
        self.assertGreaterEqual(self.five_at_once(1), 1.0)

    def test_five_workers_serve_them_together(self):
        self.assertLess(self.five_at_once(5), 0.6)


class ClientTest(unittest.TestCase):
    def test_round_robin_spreads_requests_evenly(self):
        ports = [start_node(self, NODE, "--delay", "0")[0] for _ in range(3)]
        result = run(CLIENT, "--requests", 30, "--concurrency", 5, "--nodes", ",".join(map(str, ports)))
        self.assertEqual(result.returncode, 0, result.stderr)
        for port in ports:
            self.assertIn(f"127.0.0.1:{port:<11} 10 ok", result.stdout)
        self.assertRegex(result.stdout, r"30 requests in [\d.]+ s: [\d.]+ requests/s, p50 \d+ ms, p95 \d+ ms")


if __name__ == "__main__":
    unittest.main()
