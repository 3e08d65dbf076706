"""What lab 3's repairs trust, and what they must not: a registry that was paused, the registry's "dead"
(checked first), a restart that fails (tried again, said once), another program on a port (never taken
for ours), and lab 2's launch, which accepts only the process it started and sees one that exits."""
import json
import os
import signal
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from tests.helpers import free_port, holds_for, http, listen_on, needs, start_node, wait_until
from tests.test_compound_faults import POSIX_ONLY, pids, resume
from tests.test_lab3_kvstore import Store

NODE = "labs/replication/node.py"


def try_listen(port):
    """A socket listening on port, or None while another process still holds it."""
    try:
        return listen_on(port)
    except OSError:
        return None


@needs("freshness", "failure-detector")
class RepairGuardsTest(unittest.TestCase):
    @POSIX_ONLY
    def test_a_registry_paused_for_longer_than_dead_after_kills_nobody(self):
        store = Store(self, "--write-quorum", 1)
        before = pids(store)
        os.kill(before["registry"], signal.SIGSTOP)
        self.addCleanup(resume, before["registry"])
        time.sleep(3)  # the pause itself: 2.5 x dead-after
        resume(before["registry"])
        holds_for(lambda: pids(store) == before, 2, "every process kept")
        kinds = {event["kind"] for event in store.status()["events"]}
        self.assertFalse(kinds & {"dead", "killed", "promoted", "replace"}, kinds)
        self.assertEqual(store.put("after", 1)[0], 201)

    def test_a_registrys_dead_is_confirmed_first_and_a_node_that_answers_is_kept(self):
        with mock.patch.dict(os.environ, {"LABS_SECRET": "test-secret"}):  # the coordinator takes ours
            store = Store(self, "--write-quorum", 1)
        before = pids(store)
        news = {"event": "dead", "member": "follower2", "port": 0, "role": "follower"}
        status, _, _ = http("POST", f"http://127.0.0.1:{store.port}/membership", news,
                            {"X-Run-Secret": "test-secret"})
        self.assertEqual(status, 200)
        wait_until(lambda: store.event("alive", r"follower2 :\d+ answers: not dead, kept"), 5, "the check")
        holds_for(lambda: pids(store) == before, 1, "follower2 kept")

    @POSIX_ONLY
    def test_a_restart_that_fails_is_said_once_and_tried_again_until_it_works(self):
        store = Store(self, followers=1)
        gateway = store.node("gateway")["pid"]
        os.kill(store.process.pid, signal.SIGSTOP)  # no repair while the gateway's port changes hands
        self.addCleanup(resume, store.process.pid)
        os.kill(gateway, signal.SIGKILL)
        squatter = wait_until(lambda: try_listen(store.gateway_port), 5, "the gateway's port")
        self.addCleanup(squatter.close)
        resume(store.process.pid)
        refusals = lambda: [e for e in store.status()["events"] if e["kind"] == "refused" and "gateway" in e["text"]]
        wait_until(refusals, 5, "a refused restart")
        holds_for(lambda: len(refusals()) == 1, 2.5, "one refusal line, however many passes")
        squatter.close()
        wait_until(lambda: store.node("gateway").get("pid") not in (None, gateway), 10, "the gateway restarted")
        self.assertEqual(store.put("after", 1)[0], 201)

    def test_a_replacement_skips_ports_another_program_holds_and_no_read_reaches_it(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        squatted = [store.base + 4, store.base + 5]  # the next two ports a replacement would take
        for port in squatted:
            squatter = ThreadingHTTPServer(("127.0.0.1", port), Squatter)
            threading.Thread(target=squatter.serve_forever, daemon=True).start()
            self.addCleanup(squatter.server_close)
            self.addCleanup(squatter.shutdown)
        os.kill(pids(store)["follower2"], signal.SIGKILL)
        wait_until(lambda: store.event("up", r"follower4 :\d+ serves reads"), 10, "the replacement")
        self.assertEqual(store.node("follower4")["port"], store.base + 6)
        self.assertIsNone(store.event("refused", ""))  # taken ports are skipped, not tried
        self.assertEqual({store.get("colour")[1]["value"] for _ in range(6)}, {"blue"})


class LaunchTest(unittest.TestCase):
    """Lab 2's Coordinator.launch, which lab 3 uses for every process it starts, run in this test process."""

    def launch_onto(self, port):
        from labs.replication.coordinator import Coordinator
        from labs.replication.cluster import Replica
        node = Replica("follower9", "follower", port)
        started = time.monotonic()
        with mock.patch.dict(os.environ), \
                self.assertRaisesRegex(RuntimeError, f"did not start \\(is port {port} in use\\?\\)"):
            Coordinator(followers=1, base_port=port, show=None).launch(node)  # it sets LABS_SECRET: ours only here
        self.assertIsNone(node.process)
        return time.monotonic() - started

    def test_a_launch_onto_a_port_another_server_holds_fails_at_once_and_never_takes_it_for_ours(self):
        squatter, _ = start_node(self, NODE, "--role", "follower")  # answers /health 200, with its own pid
        self.assertLess(self.launch_onto(squatter), 5)

    def test_a_child_that_exits_at_once_is_seen_at_once(self):
        silent = listen_on(free_port())  # accepts connections and never answers: the child cannot bind
        self.addCleanup(silent.close)
        self.assertLess(self.launch_onto(silent.getsockname()[1]), 5)  # not the 10 s a silent port would cost


@needs("failure-detector")
class RegistryPauseTest(unittest.TestCase):
    @POSIX_ONLY
    def test_a_registry_that_was_paused_restarts_the_silence_clocks_instead_of_declaring_everyone_dead(self):
        port, registry = start_node(self, "labs/distributed-kvstore/registry.py", "--suspect-after", 0.6, "--dead-after", 1.2)
        url = f"http://127.0.0.1:{port}"
        beating = threading.Event()
        beating.set()

        def heartbeats():
            while beating.is_set():
                http("POST", f"{url}/heartbeat", {"name": "m1", "port": 1, "pid": 1, "role": "follower"}, timeout=5)
                time.sleep(0.2)
        threading.Thread(target=heartbeats, daemon=True).start()
        self.addCleanup(beating.clear)
        wait_until(lambda: any(m["name"] == "m1" for m in http("GET", f"{url}/members")[1]["members"]), 5, "m1")
        os.kill(registry.pid, signal.SIGSTOP)
        self.addCleanup(lambda: registry.poll() is None and os.kill(registry.pid, signal.SIGCONT))
        time.sleep(2.5)  # twice dead-after
        os.kill(registry.pid, signal.SIGCONT)
        time.sleep(0.5)
        view = http("GET", f"{url}/members")[1]
        self.assertEqual([m["state"] for m in view["members"]], ["alive"])
        self.assertEqual([e["event"] for e in view["events"]], ["joined"])


class Squatter(BaseHTTPRequestHandler):
    """Another program on a port: answers 200 to everything, with a value nobody wrote."""

    def do_GET(self):
        data = json.dumps({"status": "ok", "pid": 1, "ready": True, "version": 999, "value": "fake"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_PUT = do_POST = do_GET

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    unittest.main()
