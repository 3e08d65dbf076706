"""Every student laptop: what differs on Windows and macOS, tested here by making this system look like them."""
import ctypes
import os
import unittest
from unittest import mock

from labs.plumbing import colour


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


if __name__ == "__main__":
    unittest.main()
