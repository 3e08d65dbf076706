"""The workshop's steps (workshop_materials/, unchanged by the labs), each through real processes.

Step 01: the node's API and its errors, choking under concurrency, the client's round robin.
Step 11: heartbeats make a member alive, silence makes it suspect then dead, a heartbeat brings it back.
Step 23: the front serves /graduate, keeps answering when a node dies; the supervisor restarts dead nodes.
"""
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from tests.helpers import (ROOT, free_port, http, output, run, start, start_node, stop, wait_healthy, wait_printed,
                           wait_until)

NODE_01 = "workshop_materials/01_nodes/node.py"
CLIENT_01 = "workshop_materials/01_nodes/client.py"
REGISTRY_11 = "workshop_materials/11_membership/registry.py"
NODE_11 = "workshop_materials/11_membership/node.py"
VISUALIZER_11 = "workshop_materials/11_membership/visualizer.py"
SUSPECT_AFTER, DEAD_AFTER = 0.4, 0.8  # step 11's thresholds, small to keep the tests fast
FRONT_23 = "workshop_materials/23_resilient_system/front.py"
SUPERVISOR_23 = "workshop_materials/23_resilient_system/supervisor.py"
GRADUATE_23 = ROOT / "workshop_materials/23_resilient_system/graduate.txt"


def setUpModule():
    if not (ROOT / "workshop_materials").is_dir():
        raise unittest.SkipTest("workshop_materials/ is not in the repository (it goes once the labs are final)")


# Step 01: nodes

class Step01NodeApiTest(unittest.TestCase):
    def setUp(self):
        self.port, self.node = start_node(self, NODE_01, "--delay", "0")
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
        result = run(NODE_01, "--port", self.port)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot listen", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_one_log_line_per_request(self):
        http("GET", self.url + "/kv/missing")
        lines = wait_until(lambda: [line for line in output(self.node).splitlines() if "/kv/missing" in line],
                           what="the log line")
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"\d\d:\d\d:\d\d\s+127\.0\.0\.1\s+GET\s+/kv/missing\s+404\s+\d+ ms  active \d+ waiting \d+")


class Step01ChokingTest(unittest.TestCase):
    def five_at_once(self, workers):
        port, _ = start_node(self, NODE_01, "--workers", workers, "--delay", "0.2")
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
        self.assertLess(self.five_at_once(5), 0.9)  # one after another would take 1 s


class Step01ClientTest(unittest.TestCase):
    def test_round_robin_spreads_requests_evenly(self):
        ports = [start_node(self, NODE_01, "--delay", "0")[0] for _ in range(3)]
        result = run(CLIENT_01, "--requests", 30, "--concurrency", 5, "--nodes", ",".join(map(str, ports)))
        self.assertEqual(result.returncode, 0, result.stderr)
        for port in ports:
            self.assertIn(f"127.0.0.1:{port:<11} 10 ok", result.stdout)
        self.assertRegex(result.stdout, r"30 requests in [\d.]+ s: [\d.]+ requests/s, p50 \d+ ms, p95 \d+ ms")


# Step 11: membership

class Step11RegistryTest(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.registry = start(self, REGISTRY_11, "--port", self.port,
                              "--suspect-after", SUSPECT_AFTER, "--dead-after", DEAD_AFTER)
        wait_healthy(self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def heartbeat(self, name="n1", port=1, pid=11):
        return http("POST", self.url + "/heartbeat", {"name": name, "port": port, "pid": pid})[0]

    def members(self):
        status, view, _ = http("GET", self.url + "/members")
        self.assertEqual(status, 200)
        return view

    def member(self, name="n1"):
        return next(m for m in self.members()["members"] if m["name"] == name)

    def test_a_heartbeat_makes_a_member_alive_with_every_field(self):
        self.assertEqual(self.heartbeat(), 200)
        view = self.members()
        self.assertEqual(set(view), {"members", "events", "suspect_after", "dead_after"})
        member = view["members"][0]
        self.assertEqual(set(member), {"name", "port", "pid", "state", "silence", "heartbeats"})
        self.assertEqual((member["name"], member["port"], member["pid"], member["state"]), ("n1", 1, 11, "alive"))
        self.assertLess(member["silence"], SUSPECT_AFTER)
        self.assertEqual([e["event"] for e in view["events"]], ["joined"])

    def test_silence_makes_a_member_suspect_then_dead_and_a_heartbeat_brings_it_back(self):
        silent_since = time.monotonic()  # before the heartbeat: the registry's silence starts later, never earlier
        self.heartbeat()
        wait_until(lambda: self.member()["state"] == "suspect", what="suspect")
        self.assertGreaterEqual(time.monotonic() - silent_since, SUSPECT_AFTER)
        wait_until(lambda: self.member()["state"] == "dead", what="dead")
        self.assertGreaterEqual(time.monotonic() - silent_since, DEAD_AFTER)
        self.heartbeat(pid=12)
        self.assertEqual((self.member()["state"], self.member()["pid"]), ("alive", 12))
        self.assertEqual([e["event"] for e in self.members()["events"]], ["joined", "suspect", "dead", "rejoined"])
        wait_until(lambda: "rejoined   n1" in output(self.registry), what="the registry's event line")

    def test_bad_heartbeats_get_clear_errors_and_the_registry_keeps_serving(self):
        for body in (b"not json", {"name": "n1"}, {"name": "", "port": 1, "pid": 2}, {"name": "n", "port": "x", "pid": 2}):
            with self.subTest(body=body):
                status, reply, _ = http("POST", self.url + "/heartbeat", body)
                self.assertEqual(status, 400)
                self.assertIn("error", reply)
        self.assertEqual(http("GET", self.url + "/nowhere")[0], 404)
        self.assertEqual(http("DELETE", self.url + "/members")[0], 405)
        self.assertEqual(self.heartbeat(), 200)

    def test_bad_thresholds_are_one_clear_line_and_exit_code_2(self):
        result = run(REGISTRY_11, "--port", free_port(), "--suspect-after", 3, "--dead-after", 2)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--suspect-after < --dead-after", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class Step11NodeAndVisualizerTest(unittest.TestCase):
    def test_a_killed_node_goes_suspect_then_dead_and_rejoins_when_started_again(self):
        registry = free_port()
        # Thresholds six heartbeats long: a busy machine does not make the live node look suspect.
        start(self, REGISTRY_11, "--port", registry, "--suspect-after", 0.6, "--dead-after", 1.2)
        wait_healthy(registry)
        visualizer = start(self, VISUALIZER_11, "--registry", registry, "--every", 0.1)
        port = free_port()
        node = start(self, NODE_11, "--port", port, "--registry", registry, "--interval", 0.1)

        def state():
            members = http("GET", f"http://127.0.0.1:{registry}/members")[1]["members"]
            return members[0]["state"] if members else None
        wait_until(lambda: state() == "alive", what="the node to join")
        self.assertEqual(http("GET", f"http://127.0.0.1:{registry}/members")[1]["members"][0]["pid"], node.pid)
        node.kill()
        wait_until(lambda: state() == "suspect", what="suspect")
        wait_until(lambda: state() == "dead", what="dead")
        start(self, NODE_11, "--port", port, "--registry", registry, "--interval", 0.1)
        wait_until(lambda: state() == "alive", what="the node to rejoin")

        def events():
            return [line.split()[1] for line in output(visualizer).splitlines() if f"node-{port}" in line]
        wait_until(lambda: len(events()) >= 4, what="the visualizer's event lines")
        self.assertEqual(events(), ["joined", "suspect", "dead", "rejoined"])


# Step 23: a resilient system

def start_front_23(test, node_ports, *args):
    port = free_port()
    process = start(test, FRONT_23, "--port", port, "--nodes", ",".join(map(str, node_ports)), *args)
    wait_healthy(port)
    return f"http://127.0.0.1:{port}", process


class Step23FrontTest(unittest.TestCase):
    def setUp(self):
        self.ports = [free_port() for _ in range(3)]
        self.nodes = [start(self, NODE_01, "--port", port, "--delay", 0) for port in self.ports]
        for port in self.ports:
            wait_healthy(port)

    def test_graduate_is_exactly_the_bytes_of_graduate_txt(self):
        url, _ = start_front_23(self, self.ports)
        status, body, headers = http("GET", url + "/graduate")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(body, GRADUATE_23.read_bytes())
        self.assertTrue(body.isascii() and body.endswith(b"\n"))

    def test_round_robin_over_the_nodes(self):
        url, _ = start_front_23(self, self.ports)
        served = {http("PUT", url + f"/kv/k{i}", {"value": i})[1]["node"] for i in range(6)}
        self.assertEqual(served, {f"127.0.0.1:{port}" for port in self.ports})

    def test_a_request_still_succeeds_when_a_node_is_killed(self):
        # Health checks far apart: only the retry can save the requests that land on the dead node.
        url, front = start_front_23(self, self.ports, "--check-every", 60)
        wait_until(lambda: len(http("GET", url + "/health")[1]["healthy"]) == 3, what="three healthy nodes")
        self.nodes[0].kill()
        self.nodes[0].wait()
        statuses = [http("PUT", url + f"/kv/k{i}", {"value": i})[0] for i in range(6)]
        self.assertEqual(statuses, [201] * 6)
        wait_printed(front, rf"\(retried: 127\.0\.0\.1:{self.ports[0]} failed\)", 5)

    def test_no_healthy_node_is_a_clear_503(self):
        for node in self.nodes:
            stop(node)
        url, _ = start_front_23(self, self.ports)
        status, reply, _ = http("GET", url + "/kv/a")
        self.assertEqual((status, reply), (503, {"error": "no healthy node to serve this request"}))


class Step23SupervisorTest(unittest.TestCase):
    def start_supervisor(self, *ports):
        supervisor = start(self, SUPERVISOR_23, "--ports", ",".join(map(str, ports)), "--delay", 0,
                           stdin=subprocess.PIPE)
        for port in ports:
            wait_healthy(port)
        return supervisor

    def pids(self, supervisor, port):
        return re.findall(rf"started   node {port}  pid (\d+)", output(supervisor))

    def test_the_supervisor_restarts_a_killed_node(self):
        port = free_port()
        supervisor = self.start_supervisor(port)
        first = int(self.pids(supervisor, port)[0])
        os.kill(first, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows has no SIGKILL: SIGTERM kills there
        wait_until(lambda: len(self.pids(supervisor, port)) == 2, what="the node to start again")
        wait_healthy(port)
        self.assertIn(f"died      node {port}  pid {first}", output(supervisor))

    def test_crash_command_then_quit_stops_every_node(self):
        ports = [free_port(), free_port()]
        supervisor = self.start_supervisor(*ports)
        supervisor.stdin.write(f"crash {ports[1]}\n".encode())
        supervisor.stdin.flush()
        wait_until(lambda: len(self.pids(supervisor, ports[1])) == 2, what="the crashed node to start again")
        wait_healthy(ports[1])
        supervisor.stdin.write(b"quit\n")
        supervisor.stdin.flush()
        self.assertEqual(supervisor.wait(10), 0)
        for port in ports:
            self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0], 0)

    @unittest.skipIf(os.name == "nt", "Windows has no SIGTERM: terminate() ends the supervisor at once")
    def test_sigterm_stops_every_node(self):
        port = free_port()
        supervisor = self.start_supervisor(port)
        supervisor.terminate()
        self.assertEqual(supervisor.wait(10), 0)
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0], 0)
        self.assertIn(f"stopped every node: {port}", output(supervisor))


if __name__ == "__main__":
    unittest.main()
