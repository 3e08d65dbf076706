"""The hardening labs 2 and 3 add to lab 1's handler (labs/plumbing/jsonhttp.py's JsonHandler), through lab 2's
node and lab 3's gateway: malformed, oversized and slow requests are refused in JSON with the right status,
nothing left unread is taken for a next request, a connection carries request after request (and network.send
sends again on a new one what it sent on a connection the node had closed), and both keep serving."""
import json
import re
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

from labs.plumbing.jsonhttp import BODY_DEADLINE
from labs.plumbing.network import IDLE, send
from tests.helpers import free_port, http, needs, output, raw_request, start, start_node, stop, wait_until

NODE = "labs/replication/node.py"
GATEWAY = "labs/distributed-kvstore/node.py"


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
        cases = [("PUT", "/kv/a", (), b"", 411, "needs a Content-Length header"),
                 ("PUT", "/kv/a", [("Content-Length", "-1")], b"", 400, "Content-Length must be a whole number"),
                 ("PUT", "/kv/a", [("Content-Length", "3")], b"abc", 400, "not valid JSON"),
                 ("PUT", "/kv/a", [("Content-Length", "11")], b'{"vale": 1}', 400, '"value"'),
                 ("PUT", "/replicate", [("Content-Length", "2")], b"{}", 400, "body must be a JSON object like"),
                 ("GET", "/kv/%FF", (), b"", 400, "not valid UTF-8"),
                 ("GET", "/nothing", (), b"", 404, "/nothing"),
                 ("BREW", "/kv/a", (), b"", 501, "Unsupported method")]
        for method, path, headers, body, status, message in cases:
            with self.subTest(method=method, path=path, body=body):
                answer = self.raw(method, path, headers, body)
                self.assertEqual(answer[:2], (status, "application/json"))
                self.assertIn(message, answer[2]["error"])
        status, reply, _ = http("PUT", f"http://127.0.0.1:{self.port}/kv/a", b"x" * (1024 * 1024 + 1))
        self.assertEqual((status, reply["error"]), (413, "body larger than 1048576 bytes"))
        self.assertEqual(http("GET", f"http://127.0.0.1:{self.port}/kv/%C3%A9")[0], 404)  # é: a fine key
        self.assertEqual(http("PUT", f"http://127.0.0.1:{self.port}/kv/ok", {"value": 1})[0], 201)  # still serving

    def test_malformed_requests_to_the_node_and_a_gateway_get_json_and_both_keep_serving(self):
        front = start_node(self, GATEWAY, "--role", "gateway", "--leader", self.port, "--read-from", self.port,
                           "--write-quorum", 0,
                           "--registry", free_port())[0]
        servers = {"node": self.port, "gateway": front}

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


class KeptOpenConnectionTest(unittest.TestCase):
    @needs("freshness")
    def test_each_gateway_log_line_names_only_its_own_requests_route(self):
        leader = start_node(self, NODE, "--delay", "0")[0]
        port, gateway = start_node(self, GATEWAY, "--role", "gateway", "--leader", leader, "--read-from", leader,
                                   "--write-quorum", 0, "--registry", free_port())
        connection = HTTPConnection("127.0.0.1", port, timeout=10)
        self.addCleanup(connection.close)
        sockets = []
        for method, body in [("PUT", b'{"value": 1}'), ("GET", None), ("PUT", b'{"value": 2}'), ("GET", None)]:
            connection.request(method, "/kv/k", body=body)
            response = connection.getresponse()
            self.assertIn((response.status, response.read()[:1]), ((200, b"{"), (201, b"{")))
            sockets.append(connection.sock)
        self.assertTrue(all(sock is sockets[0] for sock in sockets))  # one kept-open connection for the four
        wait_until(lambda: len(re.findall(r" /kv/k .*$", output(gateway), re.M)) == 4, what="four log lines")
        routes = re.findall(r" /kv/k .* waiting \d+ (.*)$", output(gateway), re.M)
        self.assertEqual(routes, ["-> leader v1", f"-> :{leader}", "-> leader v2", f"-> :{leader}"])


if __name__ == "__main__":
    unittest.main()
