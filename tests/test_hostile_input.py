"""Labs 2 and 3 against hostile input: a secret header that is not ASCII, JSON nested too deep, a body with
two lengths, settings that are nan or a file where a folder goes, and a lab 3 coordinator /kv that would skip
the gateway's rate limit."""
import json
import unittest
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import free_block, free_port, http, logs_folder, raw_request, run, start, start_node, wait_healthy
from tests.kvstore import Store

NODE = "labs/replication/node.py"
KV = "labs/distributed-kvstore"
GATEWAY = f"{KV}/node.py"


def nested(depth):
    """A value of lists inside lists, depth deep."""
    return "[" * depth + "]" * depth


def one_line(test, result, message):
    """A script refused its settings: exit code 2, one line saying message (after argparse's usage), no
    traceback, nothing started."""
    test.assertEqual(result.returncode, 2, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]
    test.assertEqual(len(lines), 1, result.stderr)
    test.assertIn(message, lines[0])
    test.assertNotIn("Traceback", result.stderr)


class HostileHttpTest(unittest.TestCase):
    def test_a_secret_header_that_is_not_ascii_gets_403_in_json(self):
        port = free_port()
        start(self, NODE, "--port", port, "--role", "follower", env={"LABS_SECRET": "s3cret"})
        wait_healthy(port)
        status, headers, body = raw_request(port, b"GET /snapshot HTTP/1.1\r\nX-Run-Secret: \xe9t\xe9\r\n"
                                                  b"Connection: close\r\n\r\n")
        self.assertEqual((status, headers["content-type"]), (403, "application/json"))
        self.assertEqual(json.loads(body), {"error": "internal route: only the processes of this run may call it"})
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health")[0], 200)  # and it keeps serving

    def test_json_of_any_depth_gets_an_answer_400_when_too_deep(self):
        port, _ = start_node(self, NODE, "--delay", 0)
        url = f"http://127.0.0.1:{port}"
        for depth in (5_000, 150):
            with self.subTest(depth=depth):
                body = b'{"value": ' + nested(depth).encode() + b"}"
                status, reply, _ = http("PUT", f"{url}/kv/deep", body)
                self.assertEqual(status, 400)
                self.assertRegex(reply["error"], "nests|not valid JSON")  # deeper than Python's json can parse
                for path, rest in (("/snapshot", b', "version": 1, "last_epoch": 1, "epoch": 1}'),
                                   ("/replicate", b', "after": [0, 0], "version": 1, "epoch": 1}')):
                    status, reply, _ = http("PUT", url + path, b'{"entries": ' + nested(depth).encode() + rest)
                    self.assertEqual(status, 400, path)
                    self.assertIn("error", reply)
        self.assertEqual(http("GET", f"{url}/health")[1]["version"], 0)  # nothing was taken
        self.assertEqual(http("PUT", f"{url}/kv/deep", b'{"value": ' + nested(50).encode() + b"}")[0], 201)
        self.assertEqual(http("GET", f"{url}/kv/deep")[1]["value"], eval(nested(50)))

    def test_two_lengths_or_a_length_and_a_transfer_encoding_get_400_and_nothing_more_is_read(self):
        port, _ = start_node(self, NODE, "--delay", 0)
        gateway, _ = start_node(self, GATEWAY, "--role", "gateway", "--leader", port, "--read-from", port,
                                "--write-quorum", 0, "--registry", free_port())
        smuggled = b"DELETE /kv/x HTTP/1.1\r\nHost: x\r\n\r\n"
        body = b'{"value": 1}' + smuggled
        self.assertEqual(http("PUT", f"http://127.0.0.1:{port}/kv/x", {"value": 0})[0], 201)
        for server in (port, gateway):
            for framing in (b"Content-Length: 12\r\nContent-Length: %d\r\n" % len(body),
                            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body)):
                with self.subTest(server=server, framing=framing):
                    answer = raw_request(server, b"PUT /kv/x HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + body)
                    status, headers, rest = answer
                    self.assertEqual((status, headers.get("connection"), headers.get("content-type")),
                                     (400, "close", "application/json"))
                    self.assertIn(b"error", rest)
                    self.assertNotIn(b"HTTP/1.1", rest)  # one answer only: the DELETE was never read as a request
        status, reply, _ = http("GET", f"http://127.0.0.1:{port}/kv/x")
        self.assertEqual((status, reply["value"], reply["version"]), (200, 0, 1))  # nothing written, nothing deleted


class HostileSettingsTest(unittest.TestCase):
    SETTINGS = {  # every number of seconds that lab 2's and lab 3's scripts take
        "labs/replication/node.py": ["--delay", "--replication-delay"],
        "labs/replication/coordinator.py": ["--delay", "--replication-delay"],
        f"{KV}/coordinator.py": ["--delay", "--replication-delay", "--heartbeat-interval", "--dead-after", "--window"],
        f"{KV}/node.py": ["--delay", "--replication-delay", "--heartbeat-interval", "--window"],
        f"{KV}/registry.py": ["--suspect-after", "--dead-after"],
        f"{KV}/membership.py": ["--every"],
        f"{KV}/client.py": ["--seconds"],
    }

    def test_nan_or_infinity_for_any_setting_is_one_line_and_exit_code_2(self):
        cases = [(script, flag, value) for script, flags in self.SETTINGS.items() for flag in flags
                 for value in ("nan", "inf", "-inf")]
        def refused(case):  # --delay=-inf: argparse would take a bare -inf for a flag; and a flag nobody has:
            script, flag, value = case  # were the value taken, still nothing would start
            return run(script, f"{flag}={value}", "--no-such-flag", timeout=20)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(refused, cases))
        for (script, flag, value), result in zip(cases, results):
            with self.subTest(script=script, flag=flag, value=value):
                one_line(self, result, f"argument {flag}: '{value}' is not a")

    def test_logs_that_cannot_be_a_folder_is_one_line_and_exit_code_2(self):
        not_a_folder = logs_folder(self) / "a-file"
        not_a_folder.write_text("")
        ports = {"labs/replication/coordinator.py": ["--base-port", free_block(5)],  # the defaults may be busy
                 f"{KV}/coordinator.py": ["--base-port", free_block(8), "--gateway-port", free_port(),
                                          "--registry-port", free_port()]}
        for script in ports:
            for logs in (not_a_folder, not_a_folder / "inside"):
                with self.subTest(script=script, logs=logs.name):
                    result = run(script, "--logs", logs, "--port", free_port(), *ports[script], timeout=20)
                    one_line(self, result, "cannot be a folder")


class StoreInputTest(unittest.TestCase):
    def test_the_gateway_answers_json_of_any_depth_and_the_lab3_coordinator_has_no_kv(self):
        store = Store(self, followers=1)
        for depth in (5_000, 990, 150):
            with self.subTest(depth=depth):
                body = b'{"value": ' + nested(depth).encode() + b"}"
                status, reply, _ = http("PUT", f"{store.gateway}/kv/deep", body)
                self.assertEqual(status, 400)
                self.assertRegex(reply["error"], "nests|not valid JSON|JSON object")
        self.assertEqual(store.put("deep", eval(nested(50)))[0], 201)
        self.assertEqual(http("GET", f"{store.gateway}/kv/deep")[1]["value"], eval(nested(50)))
        for method, path in (("GET", "/kv"), ("GET", "/kv/deep"), ("PUT", "/kv/deep"), ("DELETE", "/kv/deep")):
            with self.subTest(method=method, path=path):  # lab 2's /kv here would skip the gateway's rate limit
                status, reply, _ = http(method, f"http://127.0.0.1:{store.port}{path}",
                                        {"value": 1} if method == "PUT" else None)
                self.assertEqual(status, 404)
                self.assertIn("error", reply)
        self.assertEqual(http("GET", f"{store.gateway}/kv/deep")[1]["value"], eval(nested(50)))  # untouched


if __name__ == "__main__":
    unittest.main()
