"""Every student laptop: what differs on Windows and macOS, tested here by making this system look like them."""
import ctypes
import errno
import io
import json
import os
import socket
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

from labs import doctor
from labs.plumbing import colour, jsonhttp
from tests.helpers import (ROOT, free_block, free_port, http, listen_on, logs_folder, needs, output, run, start,
                           wait_until)

KVSTORE = "labs/distributed-kvstore"


class FakeKernel32:
    """A Windows console that accepts, or refuses, to understand colour codes."""

    def __init__(self, accepts):
        self.accepts, self.asked = accepts, []

    def GetStdHandle(self, which):
        return 7

    def GetConsoleMode(self, console, mode):
        return 1

    def SetConsoleMode(self, console, mode):
        self.asked.append(mode)
        return 1 if self.accepts else 0


class ColourOnWindowsTest(unittest.TestCase):
    def on_windows(self, kernel32):
        """console_codes() as on Windows, with this kernel32 (None: as here, ctypes has no windll at all)."""
        with mock.patch.object(os, "name", "nt"):
            if kernel32 is None:
                return colour.console_codes()
            with mock.patch.object(ctypes, "windll", mock.Mock(kernel32=kernel32), create=True):
                return colour.console_codes()

    def test_a_console_that_understands_the_codes_after_asking_gets_colour(self):
        kernel32 = FakeKernel32(accepts=True)
        self.assertTrue(self.on_windows(kernel32))
        self.assertTrue(kernel32.asked and kernel32.asked[0] & 0x0004)

    def test_a_console_that_cannot_gets_plain_text(self):
        self.assertFalse(self.on_windows(FakeKernel32(accepts=False)))
        self.assertFalse(self.on_windows(None))

    def test_without_the_codes_colour_and_live_redrawing_are_off_whatever_the_terminal(self):
        with mock.patch.object(colour, "CONSOLE_CODES", False), mock.patch("sys.stdout.isatty", lambda: True), \
                mock.patch.dict(os.environ, {}, clear=True):
            self.assertFalse(colour.colour_on())
            self.assertEqual(colour.paint("429", "red"), "429")


class DoctorTest(unittest.TestCase):
    def test_on_windows_a_console_without_colour_codes_is_told_to_use_windows_terminal(self):
        with mock.patch.object(os, "name", "nt"), mock.patch.object(doctor, "CONSOLE_CODES", False):
            ok, what, fix = list(doctor.checks())[-1]
        self.assertEqual((ok, what), (False, "colours: this console cannot show them"))
        self.assertIn("Windows Terminal", fix)

    @unittest.skipIf(os.name == "nt", "no open-file limit to set on Windows")
    def test_a_low_open_file_limit_as_on_macos_is_one_line_with_what_to_do(self):
        import resource

        def limit():  # in the child, before it runs: a limit below what the labs need
            resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        result = subprocess.run([sys.executable, "labs/doctor.py"], cwd=ROOT, capture_output=True, text=True,
                                preexec_fn=limit, timeout=30)
        self.assertIn("FIX  open files: 128 per process\n     raise it in each terminal: ulimit -n 1024",
                      result.stdout)
        self.assertTrue(all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout)
        self.assertEqual(result.returncode, 1)


# every server of the labs, by the class it is: each file, read as on Windows (sys.platform "win32")
AS_ON_WINDOWS = """
import json, os, subprocess, sys  # the standard library as it is here: subprocess reads the platform at import
sys.path[:0] = [{root!r}, {kvstore!r}]
sys.platform = "win32"
from labs.plumbing.jsonhttp import JsonServer
from labs.scalability.node import Node as Lab1Node
from labs.replication.node import Node as Lab2Node
from labs.replication.cluster import CoordinatorServer
from node import Node as Lab3Node
from registry import Registry
servers = [JsonServer, Lab1Node, Lab2Node, CoordinatorServer, Lab3Node, Registry]
print(json.dumps({{server.__module__ + "." + server.__name__: server.allow_reuse_address for server in servers}}))
"""


class PortInUseTest(unittest.TestCase):
    """A second server on a port in use fails, as the READMEs say; on Windows, SO_REUSEADDR would let it bind."""

    def test_every_server_on_a_port_in_use_says_so_in_one_line_and_exits_with_2(self):
        nodes = free_block(4)  # a leader and three followers
        taken = listen_on(nodes + 1)  # as a node a student left running holds its port: follower 1's here
        self.addCleanup(taken.close)
        used, spare = nodes + 1, free_block(4)
        listen = f"cannot listen on 127.0.0.1:{used}: "
        in_use = f"port {used} is in use (is another coordinator still running?)"
        cases = [("labs/scalability/node.py", ["--port", used], listen),
                 ("labs/replication/node.py", ["--port", used, "--role", "follower"], listen),
                 (f"{KVSTORE}/node.py", ["--port", used, "--role", "follower", "--registry", free_port()], listen),
                 (f"{KVSTORE}/node.py", ["--port", used, "--role", "gateway", "--registry", free_port()], listen),
                 (f"{KVSTORE}/registry.py", ["--port", used], listen),
                 ("labs/replication/coordinator.py", ["--port", used, "--base-port", spare], in_use),
                 ("labs/replication/coordinator.py", ["--port", free_port(), "--base-port", nodes], in_use),
                 (f"{KVSTORE}/coordinator.py", ["--port", used, "--base-port", spare, "--gateway-port", free_port(),
                                                "--registry-port", free_port()], in_use),
                 (f"{KVSTORE}/coordinator.py", ["--port", free_port(), "--base-port", spare, "--gateway-port",
                                                free_port(), "--registry-port", used], in_use)]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda case: run(case[0], *case[1], timeout=30), cases))
        for (script, args, line), result in zip(cases, results):
            with self.subTest(script=script, args=args):
                self.assertEqual(result.returncode, 2, result.stdout[-400:])
                self.assertEqual(result.stderr.splitlines(), [line + "Address already in use"] if line == listen
                                 else [line])

    def test_on_windows_no_server_reuses_an_address(self):
        program = AS_ON_WINDOWS.format(root=str(ROOT), kvstore=str(ROOT / KVSTORE))
        result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr[-1000:])
        reuse = json.loads(result.stdout)
        self.assertEqual(len(reuse), 6)
        self.assertEqual([server for server, reuses in reuse.items() if reuses is not False], [])


class OpenFilesTest(unittest.TestCase):
    def test_at_the_limit_a_server_says_so_once_and_pauses_before_socketserver_calls_again(self):
        server = jsonhttp.JsonServer(("127.0.0.1", 0), jsonhttp.JsonHandler)
        self.addCleanup(server.server_close)
        full = mock.Mock(accept=mock.Mock(side_effect=OSError(errno.EMFILE, "Too many open files")))
        with mock.patch.object(server, "socket", full), mock.patch.object(jsonhttp.time, "sleep") as pause, \
                mock.patch("sys.stdout", new_callable=io.StringIO) as said:
            for _ in range(3):
                with self.assertRaises(OSError):  # socketserver drops it, and calls again
                    server.get_request()
        self.assertRegex(said.getvalue(), r"^\d\d:\d\d:\d\d too many open files: ulimit -n 1024 raises the limit\n$")
        self.assertEqual(pause.call_count, 3)

    @unittest.skipIf(os.name == "nt", "no open-file limit to set on Windows")
    @needs("freshness")
    def test_at_macos_256_open_files_a_store_with_100_idle_clients_still_serves(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        port, gateway, base, logs = free_port(), free_port(), free_block(5), logs_folder(self)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # macOS's default: the store's processes inherit it
        try:
            store = start(self, f"{KVSTORE}/coordinator.py", "--followers", 3, "--write-quorum", 3, "--port", port,
                          "--gateway-port", gateway, "--registry-port", free_port(), "--base-port", base,
                          "--logs", logs, "--delay", 0, "--replication-delay", 0.05,
                          "--heartbeat-interval", 0.2, stdin=subprocess.PIPE)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        wait_until(lambda: store.poll() is not None or "commands:" in output(store), 30, "the whole store to start")
        self.assertIsNone(store.poll(), output(store)[-600:])
        for _ in range(100):  # connected, and silent: each holds a file (and a thread) in the gateway
            self.addCleanup(socket.create_connection(("127.0.0.1", gateway)).close)
        url = f"http://127.0.0.1:{gateway}/kv"
        for number in range(20):
            self.assertEqual(http("PUT", f"{url}/key-{number}", {"value": number})[0], 201)
            self.assertEqual(http("GET", f"{url}/key-{number}")[1]["value"], number)
        for node in range(base, base + 4):  # the leader and its three followers: every write everywhere (W = 3)
            self.assertEqual(len(http("GET", f"http://127.0.0.1:{node}/kv")[1]["keys"]), 20, node)
        said = output(store) + "".join(path.read_text() for path in logs.glob("*.log"))
        self.assertNotIn("too many open files", said)


if __name__ == "__main__":
    unittest.main()
