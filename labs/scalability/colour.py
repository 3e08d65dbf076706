"""Colour for terminal output: green ok, red rejected or dead, yellow suspect or stale.

Colour never carries meaning alone (the text still says it), and it is off when
NO_COLOR is set or the output is not a terminal, so logs and pipes stay plain.
"""
import os
import sys

CODES = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m", "bold": "\033[1m", "dim": "\033[2m"}


def paint(text, colour):
    """text in colour, or text unchanged when colour is off."""
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return text
    return f"{CODES[colour]}{text}\033[0m"
