"""Every student laptop: what differs on Windows and macOS, tested here by making this system look like them."""
import ctypes
import errno
import importlib
import io
import os
import socket
import subprocess
import sys
import unittest
from unittest import mock

from labs import doctor
from labs.plumbing import colour, jsonhttp
from labs.scalability import node as lab1
from tests.helpers import ROOT, http, needs
from tests.test_lab3_kvstore import Store


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


class PortInUseTest(unittest.TestCase):
    """A second server on a port in use fails, as the READMEs say; on Windows, SO_REUSEADDR would let it bind."""

    def test_every_server_refuses_a_port_in_use(self):
        first = lab1.Node("127.0.0.1", 0, 1, 0)  # lab 2's and lab 3's nodes, and lab 3's gateway, are lab 1's
        self.addCleanup(first.server_close)
        with self.assertRaises(OSError):
            lab1.Node("127.0.0.1", first.server_port, 1, 0)
        with self.assertRaises(OSError):  # the coordinators' servers and the registry
            jsonhttp.JsonServer(("127.0.0.1", first.server_port), jsonhttp.JsonHandler)

    def test_on_windows_no_server_reuses_an_address(self):
        with mock.patch.object(sys, "platform", "win32"):  # the classes as Windows reads them
            servers = importlib.reload(jsonhttp).JsonServer, importlib.reload(lab1).Node
        self.addCleanup(importlib.reload, jsonhttp)
        self.addCleanup(importlib.reload, lab1)
        self.assertEqual([server.allow_reuse_address for server in servers], [False, False])



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
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # macOS's default: the store's processes inherit it
        try:
            store = Store(self, "--write-quorum", 3)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for _ in range(100):  # connected, and silent: each holds a file (and a thread) in the gateway
            self.addCleanup(socket.create_connection(("127.0.0.1", store.gateway_port)).close)
        for number in range(20):
            self.assertEqual(store.put(f"key-{number}", number)[0], 201)
            self.assertEqual(store.get(f"key-{number}")[1]["value"], number)
        for node in [node for node in store.status()["nodes"] if node["role"] in ("leader", "follower")]:
            self.assertEqual(len(http("GET", f"http://127.0.0.1:{node['port']}/kv")[1]["keys"]), 20, node["name"])


if __name__ == "__main__":
    unittest.main()
