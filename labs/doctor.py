"""The pre-flight check a student runs before the workshop (`make doctor`): Python, the labs' ports, the
terminal, and colours (Windows) or the open files a process may hold (macOS, Linux). One line per check,
ok or what to fix; exit code 0 when everything is ready.
"""
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `import labs...`
from labs.plumbing.colour import CONSOLE_CODES  # noqa: E402
from labs.plumbing.processes import port_free  # noqa: E402

PORTS = {  # the default ports, and how to move each lab off a busy one
    "lab 1": ([8000, 8001, 8002, 8003], "give its nodes other ports: --port 8101 ..."),
    "lab 2": ([9000, 9001, 9002, 9003, 9004], "the coordinator: --port 9300 --base-port 9301"),
    "lab 3": ([8080, 9100, 9101, 9102, 9103, 9104, 9105, 9106, 9200],
              "the coordinator: --gateway-port 8090 --port 9400\n     --base-port 9401 --registry-port 9500"),
}
COLUMNS, ROWS = 80, 24  # the smallest terminal the live views and the event lines are made for
FILES = 256  # open files (connections too) a process may hold: macOS's default, enough for every lab


def checks():
    """(ok, what, what to do) for each check."""
    version = sys.version_info
    yield version >= (3, 9), f"Python {version.major}.{version.minor}", "install Python 3.9 or newer (python.org)"
    for lab, (ports, fix) in PORTS.items():
        busy = [port for port in ports if not port_free(port)]
        yield not busy, f"{lab}: ports {', '.join(map(str, busy or ports))} {'in use' if busy else 'free'}", \
            f"stop what uses them, or {fix}"
    columns, rows = shutil.get_terminal_size()
    yield columns >= COLUMNS and rows >= ROWS, f"terminal {columns}x{rows}", \
        f"make it at least {COLUMNS}x{ROWS}: the live views need it"
    if os.name == "nt":
        yield CONSOLE_CODES, f"colours: this console {'shows' if CONSOLE_CODES else 'cannot show'} them", \
            "use Windows Terminal (Microsoft Store), or set NO_COLOR=1 for plain text"
    else:
        import resource  # Linux and macOS only
        files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        yield files >= FILES, f"open files: {files} per process", \
            f"raise it in each terminal: ulimit -n {4 * FILES} (macOS starts at 256)"


def main():
    results = list(checks())
    for ok, what, fix in results:
        print(f"{'ok  ' if ok else 'FIX '} {what}" + ("" if ok else f"\n     {fix}"))
    problems = sum(1 for ok, _, _ in results if not ok)
    print("ready for the workshop" if not problems else f"{problems} thing(s) to fix before the workshop")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
