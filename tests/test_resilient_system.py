"""Step 23: the front serves /graduate, keeps answering when a node dies; the supervisor restarts dead nodes."""
import os
import re
import signal
import subprocess
import unittest

from tests.helpers import ROOT, free_port, http, output, start, stop, wait_healthy, wait_until

FRONT = "workshop_materials/23_resilient_system/front.py"
SUPERVISOR = "workshop_materials/23_resilient_system/supervisor.py"
NODE = "workshop_materials/01_nodes/node.py"
GRADUATE = ROOT / "workshop_materials/23_resilient_system/graduate.txt"


def start_front(test, node_ports, *args):
    port = free_port()
    process = start(test, FRONT, "--port", port, "--nodes", ",".join(map(str, node_ports)), *args)
    wait_healthy(port)
    return f"http://127.0.0.1:{port}", process


class FrontTest(unittest.TestCase):
    def setUp(self):
        self.ports = [free_port() for _ in range(3)]
        self.nodes = [start(self, NODE, "--port", port, "--delay", 0) for port in self.ports]
        for port in self.ports:
            wait_healthy(port)

    def test_graduate_is_exactly_the_bytes_of_graduate_txt(self):
        url, _ = start_front(self, self.ports)
        status, body, headers = http("GET", url + "/graduate")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(body, GRADUATE.read_bytes())
        self.assertTrue(body.isascii() and body.endswith(b"\n"))

    def test_round_robin_over_the_nodes(self):
        url, _ = start_front(self, self.ports)
        served = {http("PUT", url + f"/kv/k{i}", {"value": i})[1]["node"] for i in range(6)}
        self.assertEqual(served, {f"127.0.0.1:{port}" for port in self.ports})

    def test_a_request_still_succeeds_when_a_node_is_killed(self):
        # Health checks far apart: only the retry can save the requests that land on the dead node.
        url, front = start_front(self, self.ports, "--check-every", 60)
        wait_until(lambda: len(http("GET", url + "/health")[1]["healthy"]) == 3, what="three healthy nodes")
        self.nodes[0].kill()
        self.nodes[0].wait()
        statuses = [http("PUT", url + f"/kv/k{i}", {"value": i})[0] for i in range(6)]
        self.assertEqual(statuses, [201] * 6)
        self.assertIn(f"(retried: 127.0.0.1:{self.ports[0]} failed)", output(front))

    def test_no_healthy_node_is_a_clear_503(self):
        for node in self.nodes:
            stop(node)
        url, _ = start_front(self, self.ports)
        status, reply, _ = http("GET", url + "/kv/a")
        self.assertEqual((status, reply), (503, {"error": "no healthy node to serve this request"}))


class SupervisorTest(unittest.TestCase):
    def start_supervisor(self, *ports):
        supervisor = start(self, SUPERVISOR, "--ports", ",".join(map(str, ports)), "--delay", 0,
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
