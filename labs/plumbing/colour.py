"""Colour for terminal output: green ok, red rejected or dead, yellow suspect or stale.

Colour never carries meaning alone (the text still says it). It is off when NO_COLOR is set or the
output is not a terminal (logs and pipes stay plain), and on a Windows console that cannot be asked
to understand the codes (Windows 10 and later can).
"""
import os
import re
import shutil
import sys
import time

CLEAR_LINE, HOME, CLEAR_BELOW = "\033[K", "\033[H", "\033[J"  # the codes live views redraw with
CODES = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m", "bold": "\033[1m", "dim": "\033[2m"}
# the colour of each event or state
WORDS = {**dict.fromkeys("up ack write read caught-up alive joined rejoined recovered promoted heal".split(), "green"),
         **dict.fromkeys("down missed refused dead killed removed DOWN".split(), "red"),
         **dict.fromkeys("stale suspect replace late cut kept partition exercise ?".split(), "yellow")}


def console_codes():
    """True where a terminal understands these codes: everywhere but a Windows console that cannot be told to."""
    if os.name != "nt":
        return True
    try:
        from ctypes import byref, c_uint32, windll
        console, mode = windll.kernel32.GetStdHandle(-11), c_uint32()  # -11: the standard output's console
        return bool(windll.kernel32.GetConsoleMode(console, byref(mode))
                    and windll.kernel32.SetConsoleMode(console, mode.value | 0x0004))  # 4: understand the codes
    except (ImportError, OSError):
        return False


CONSOLE_CODES = console_codes()  # asked once, for the whole program


def colour_on():
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and CONSOLE_CODES


def paint(text, colour):
    return f"{CODES[colour]}{text}\033[0m" if colour_on() else text


def word(text, width=0):
    """An event's or a state's word, padded to width first (codes take no room), in its colour."""
    return paint(f"{text:<{width}}", WORDS.get(text, "dim"))


def fit(lines, keep):
    """A live view's lines cut to this terminal: each at most its width (colour codes take no room), and only
    as many as its height; the first `keep` lines (headers, node rows) stay, the oldest of the rest go first."""
    columns, rows = shutil.get_terminal_size()
    room = max(0, rows - 1 - keep)
    lines = lines[:keep] + (lines[keep:][-room:] if room else [])
    return [cut(line, columns) for line in lines]


def cut(line, width):
    """line with at most width visible characters, its colour codes kept whole."""
    out, seen = [], 0
    for part in re.split(r"(\033\[[0-9;]*m)", line):
        if part.startswith("\033["):
            out.append(part)
        elif seen < width:
            out.append(part[:width - seen])
            seen += len(out[-1])
    return "".join(out)


def print_line(line):
    """Print one line in one write: lines from parallel threads never run into each other."""
    print(line + "\n", end="", flush=True)


def log(text):
    """One line of a process's log, within 80 columns: the time, then text."""
    print_line(cut(f"{time.strftime('%H:%M:%S')} {text}", 80))
