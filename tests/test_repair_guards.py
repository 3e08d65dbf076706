"""What lab 3's repairs must not do, and what they must do again: a paused registry kills and replaces nobody;
a paused follower is kept (never killed, never replaced) and catches up once it runs again; a restart that fails
is said once and tried again; another program on a port is skipped, never taken for ours; and lab 2's launch,
which starts every process, sees a child that exits at once."""
import json
import os
import signal
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from tests.helpers import (POSIX_ONLY, ROOT, free_port, holds_for, http, listen_on, logs_folder, needs, output, resume,
                           start_node, wait_until)
from tests.kvstore import LAB, Store

REPAIRS = {"killed", "promoted", "replace"}  # the events of a repair that acts


def try_listen(port):
    """A socket listening on port (it accepts, and never answers), or None while another process holds it."""
    try:
        return listen_on(port)
    except OSError:
        return None


@needs("freshness", "failure-detector")
class RepairGuardsTest(unittest.TestCase):
    @POSIX_ONLY
    def test_a_registry_paused_longer_than_dead_after_kills_nobody_and_replaces_nobody(self):
        store = Store(self, "--write-quorum", 1)
        before = store.pids()
        os.kill(before["registry"], signal.SIGSTOP)
        self.addCleanup(resume, before["registry"])
        time.sleep(2.5)  # the pause itself: 2.5 x dead-after, every member silent to the registry
        resume(before["registry"])
        holds_for(lambda: store.pids() == before, 2, "every process kept")
        kinds = {event["kind"] for event in store.status()["events"]}
        self.assertFalse(kinds & (REPAIRS | {"dead"}), kinds)
        registry_said = [event["event"] for event in http("GET", f"{store.registry}/members")[1]["events"]]
        self.assertNotIn("dead", registry_said)  # its clocks restarted: its own pause is nobody's silence
        self.assertEqual({m["state"] for m in store.members().values()}, {"alive"})
        store.logged("registry", r"paused \d+\.\d s")  # the registry says its own silence restarted the clocks
        self.assertEqual(store.put("after", 1)[0], 201)

    @POSIX_ONLY
    def test_a_paused_follower_is_kept_not_killed_nor_replaced_and_catches_up_once_resumed(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        before = store.pids()
        os.kill(before["follower2"], signal.SIGSTOP)
        self.addCleanup(resume, before["follower2"])
        wait_until(lambda: store.event("dead", r"^follower2 :\d+ \(follower\), says the registry$"), 5,
                   "the registry to call follower2 dead")
        wait_until(lambda: store.event("kept", r"^follower2 is silent, but its process runs: kept$"), 5,
                   "the coordinator to keep it")
        holds_for(lambda: store.pids() == before, 1.5, "follower2 neither killed nor replaced")
        for value in ("green", "red"):  # W = 1: the others acknowledge meanwhile
            self.assertEqual(store.put("colour", value)[0], 200)
        newest = store.node("leader")["version"]
        resume(before["follower2"])
        wait_until(lambda: store.event("rejoined", r"^follower2 :\d+ \(follower\), says the registry$"), 5,
                   "follower2 back in the registry")
        wait_until(lambda: store.node("follower2").get("version") == newest, 5, f"follower2 at v{newest}")
        port = store.node("follower2")["port"]
        self.assertEqual(http("GET", f"http://127.0.0.1:{port}/kv/colour")[1]["value"], "red")
        self.assertEqual(store.pids(), before)
        self.assertFalse({event["kind"] for event in store.status()["events"]} & REPAIRS)
        self.assertEqual(store.members()["follower2"]["state"], "alive")

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
        refused = rf"^gateway :{store.gateway_port} did not start \(is port {store.gateway_port} in use\?\)$"
        tries = lambda: max([e["count"] for e in store.status()["events"]
                             if e["kind"] == "refused" and e["text"].startswith("gateway")], default=0)
        wait_until(lambda: tries() >= 3, 15, "three failed restarts")
        said = [line for line in output(store.process).splitlines() if " refused " in line and "gateway" in line]
        self.assertEqual(len(said), 1, said)  # counted news: one line in the terminal, however many tries
        self.assertRegex(said[0][9:], r"^refused +" + refused[1:])
        squatter.close()
        wait_until(lambda: store.node("gateway").get("pid") not in (None, gateway), 10, "the gateway restarted")
        self.assertEqual(store.put("after", 1)[0], 201)

    def test_a_replacement_skips_ports_another_program_holds_and_no_read_reaches_it(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        squatted = [store.base + 4, store.base + 5]  # the next two ports a replacement would take
        heard = []
        for port in squatted:
            squatter = ThreadingHTTPServer(("127.0.0.1", port), Squatter)
            squatter.heard = heard
            threading.Thread(target=squatter.serve_forever, daemon=True).start()
            self.addCleanup(squatter.server_close)
            self.addCleanup(squatter.shutdown)
        store.command("kill follower2")
        wait_until(lambda: store.event("up", r"^follower4 :\d+ serves reads, in place of follower2$"), 10,
                   "the replacement")
        self.assertEqual(store.node("follower4")["port"], store.base + 6)
        self.assertIsNone(store.event("refused", ""))  # taken ports are skipped, not tried
        reads = [store.get("colour")[1] for _ in range(6)]
        self.assertEqual({read["value"] for read in reads}, {"blue"})
        self.assertEqual(heard, [])  # nobody asked the other program anything


class LaunchTest(unittest.TestCase):
    """Lab 2's Cluster.launch, which lab 3 uses for every process it starts, run in this test process."""

    def launch_onto(self, port):
        from labs.replication.cluster import Cluster, Replica
        node = Replica("follower9", "follower", port)
        command = [ROOT / LAB / "node.py", "--port", port, "--role", "follower", "--name", node.name,
                   "--registry", free_port(), "--delay", 0]
        started = time.monotonic()
        with mock.patch.dict(os.environ):  # Cluster sets LABS_SECRET: ours only while it runs here
            cluster = Cluster([node], logs_folder(self), show=None)
            refusal = rf"^follower9 :{port} did not start \(is port {port} in use\?\)$"
            with self.assertRaisesRegex(RuntimeError, refusal):
                cluster.launch(node, command)
        self.assertIsNone(node.process)  # not ours: nothing to stop, ask or count later
        return time.monotonic() - started

    def test_a_launch_onto_a_port_another_server_holds_fails_at_once_and_never_takes_it_for_ours(self):
        squatter, _ = start_node(self, f"{LAB}/node.py", "--role", "follower", "--registry", free_port())
        # it answers /health 200, with its own pid: not the child's
        self.assertLess(self.launch_onto(squatter), 8)
        self.assertEqual(http("GET", f"http://127.0.0.1:{squatter}/health")[0], 200)  # left alone

    def test_a_child_that_exits_at_once_is_seen_at_once(self):
        silent = listen_on(free_port())  # accepts connections and never answers: the child cannot bind
        self.addCleanup(silent.close)
        self.assertLess(self.launch_onto(silent.getsockname()[1]), 8)  # not the 10 s a silent port would cost


class Squatter(BaseHTTPRequestHandler):
    """Another program on a port: answers 200 to everything, with a value nobody wrote; notes what it heard."""

    def do_GET(self):
        self.server.heard.append((self.command, self.path))
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
