"""Lab 2's launch, which lab 3 uses for every process it starts: it accepts only the process it started;
and lab 3's registry, which notices when it was paused instead of declaring everyone dead."""
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


if __name__ == "__main__":
    unittest.main()
