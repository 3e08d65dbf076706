"""Lab 3 with two faults at once: an election that waits until one answering follower holds every
acknowledged write, kills and pauses of two roles together, a repair that fails and is tried again,
a registry that was paused, a death confirmed before anyone is killed, squatters on the next ports,
and lab 2's launch, which accepts only the process it started."""
import contextlib
import json
import os
import signal
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from tests.helpers import free_port, holds_for, http, listen_on, start_node, wait_until
from tests.test_lab3_kvstore import Store

NODE = "labs/replication/node.py"
POSIX_ONLY = unittest.skipIf(sys.platform == "win32", "SIGSTOP and SIGCONT exist on Linux and macOS only")


def resume(pid):
    """SIGCONT a paused process, if it is still there."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def pids(store):
    return {node["name"]: node["pid"] for node in store.status()["nodes"]}


def try_listen(port):
    """A socket listening on port, or None while another process still holds it."""
    try:
        return listen_on(port)
    except OSError:
        return None


def whole(store, n=3):
    """A leader and n followers up and ready, none of them catching up."""
    nodes = store.status()["nodes"]
    return sum(1 for node in nodes if node["role"] == "leader" and node["up"] and node.get("ready")) == 1 and \
        sum(1 for node in nodes if node["role"] == "follower" and node["up"] and node.get("ready")) == n


def write_to_every_follower(store):
    """A write that all N followers must ack (X-Write-Quorum: N), sent to the leader: the store is at full strength."""
    leader = store.status()["nodes"][0]
    status, reply, _ = http("PUT", f"http://127.0.0.1:{leader['port']}/kv/full", {"value": 1},
                            {"X-Write-Quorum": "3"})
    return status in (200, 201) and len(reply["acks"]) == 3


class CompoundFaultsTest(unittest.TestCase):
    def assert_whole_again(self, store, acked):
        """Back to 1 leader + 3 followers, W = N writes accepted again, every acknowledged write still there,
        and no event line said twice."""
        wait_until(lambda: whole(store), 20, "a leader and 3 followers again")
        wait_until(lambda: write_to_every_follower(store), 10, "a write acked by all 3 followers")
        for key, value in acked.items():
            self.assertEqual(store.get(key)[1].get("value"), value, key)
        lines = [(event["kind"], event["text"]) for event in store.status()["events"]]
        self.assertEqual([line for line in lines if lines.count(line) > 1], [])

    @POSIX_ONLY
    def test_the_election_waits_for_the_paused_follower_that_alone_holds_an_acknowledged_write(self):
        store = Store(self, "--write-quorum", 1, "--replication-delay", 0.5, "--dead-after", 4)
        nodes = {node["name"]: node for node in store.status()["nodes"]}
        self.assertEqual(store.put("colour", "blue")[0], 201)  # acked by follower1 after 0.5 s; follower2 at 1 s
        killed = time.monotonic()
        os.kill(nodes["leader"]["pid"], signal.SIGKILL)
        holders = [http("GET", f"http://127.0.0.1:{nodes[f'follower{i}']['port']}/kv/colour")[0] for i in (1, 2, 3)]
        self.assertEqual(holders, [200, 404, 404])
        # follower1 pauses before the registry declares the leader dead (4 s) and resumes before its own
        # silence reaches 4 s: never dead, but silent while the coordinator elects.
        wait_until(lambda: time.monotonic() - killed > 2.5, 5, "2.5 s after the kill")
        os.kill(nodes["follower1"]["pid"], signal.SIGSTOP)
        self.addCleanup(resume, nodes["follower1"]["pid"])
        wait_until(lambda: store.event("refused", "no leader yet: 2 of 3 followers answered"), 10, "a refusal")
        resume(nodes["follower1"]["pid"])
        wait_until(lambda: store.event("promoted", "follower1 promoted"), 10, "follower1 promoted")
        self.assertIsNone(store.event("promoted", "follower[23]"))
        self.assertEqual(store.get("colour")[1]["value"], "blue")
        self.assert_whole_again(store, {"colour": "blue"})

    def test_leader_and_follower_killed_together_come_back_to_full_strength(self):
        store = Store(self)  # W = N = 3
        acked = {f"k{i}": i for i in range(5)}
        for key, value in acked.items():
            self.assertEqual(store.put(key, value)[0], 201)
        before = pids(store)
        os.kill(before["leader"], signal.SIGKILL)
        os.kill(before["follower2"], signal.SIGKILL)
        self.assert_whole_again(store, acked)
        self.assertEqual(store.put("after", 1)[0], 201)  # through the gateway, at W = 3

    def test_the_promoted_leader_killed_while_its_replacement_catches_up_is_replaced_too(self):
        store = Store(self, "--write-quorum", 2)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        os.kill(pids(store)["leader"], signal.SIGKILL)
        wait_until(lambda: store.event("replace", "leader is dead"), 10, "the first repair")
        promoted = store.status()["nodes"][0]
        os.kill(promoted["pid"], signal.SIGKILL)
        wait_until(lambda: store.event("promoted", f"leader dead -> (?!{promoted['name']})"), 10, "a second promotion")
        self.assert_whole_again(store, {"colour": "blue"})

    def test_gateway_and_leader_killed_together_the_new_gateway_learns_the_new_leaders_versions(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        before = pids(store)
        os.kill(before["gateway"], signal.SIGKILL)
        os.kill(before["leader"], signal.SIGKILL)
        self.assert_whole_again(store, {"colour": "blue"})
        wait_until(lambda: store.node("gateway").get("pid") not in (None, before["gateway"]), 10, "a new gateway")
        self.assertIn("knows the leader's versions", (store.logs / "gateway.log").read_text())  # not "could not"

    @POSIX_ONLY
    def test_leader_and_follower_paused_together_are_confirmed_dead_killed_and_replaced(self):
        store = Store(self, "--write-quorum", 1)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        before = pids(store)
        for name in ("leader", "follower3"):
            os.kill(before[name], signal.SIGSTOP)
            self.addCleanup(resume, before[name])
        self.assert_whole_again(store, {"colour": "blue"})
        for name in ("leader", "follower3"):
            self.assertTrue(store.event("killed", rf"{name} :\d+ \(pid {before[name]}\) does not answer"), name)

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
        from labs.replication.replica import Replica
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
