"""Step 11: heartbeats make a member alive, silence makes it suspect then dead, a heartbeat brings it back."""
import time
import unittest

from tests.helpers import free_port, http, output, run, start, wait_healthy, wait_until

REGISTRY = "workshop_materials/11_membership/registry.py"
NODE = "workshop_materials/11_membership/node.py"
VISUALIZER = "workshop_materials/11_membership/visualizer.py"
SUSPECT_AFTER, DEAD_AFTER = 0.4, 0.8  # small thresholds keep the tests fast


class RegistryTest(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.registry = start(self, REGISTRY, "--port", self.port,
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
        self.heartbeat()
        silent_since = time.monotonic()
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
        result = run(REGISTRY, "--port", free_port(), "--suspect-after", 3, "--dead-after", 2)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--suspect-after < --dead-after", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class NodeAndVisualizerTest(unittest.TestCase):
    def test_a_killed_node_goes_suspect_then_dead_and_rejoins_when_started_again(self):
        registry = free_port()
        # Thresholds six heartbeats long: a busy machine does not make the live node look suspect.
        start(self, REGISTRY, "--port", registry, "--suspect-after", 0.6, "--dead-after", 1.2)
        wait_healthy(registry)
        visualizer = start(self, VISUALIZER, "--registry", registry, "--every", 0.1)
        port = free_port()
        node = start(self, NODE, "--port", port, "--registry", registry, "--interval", 0.1)

        def state():
            members = http("GET", f"http://127.0.0.1:{registry}/members")[1]["members"]
            return members[0]["state"] if members else None
        wait_until(lambda: state() == "alive", what="the node to join")
        self.assertEqual(http("GET", f"http://127.0.0.1:{registry}/members")[1]["members"][0]["pid"], node.pid)
        node.kill()
        wait_until(lambda: state() == "suspect", what="suspect")
        wait_until(lambda: state() == "dead", what="dead")
        start(self, NODE, "--port", port, "--registry", registry, "--interval", 0.1)
        wait_until(lambda: state() == "alive", what="the node to rejoin")

        def events():
            return [line.split()[1] for line in output(visualizer).splitlines() if f"node-{port}" in line]
        wait_until(lambda: len(events()) >= 4, what="the visualizer's event lines")
        self.assertEqual(events(), ["joined", "suspect", "dead", "rejoined"])


if __name__ == "__main__":
    unittest.main()
