"""The pre-flight check a student runs before the workshop: Python, the labs' ports, the terminal.

One line per check, ok or what to fix; exit code 0 when everything is ready. What `make doctor` runs.

    python labs/doctor.py
"""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `import labs...`
from labs.plumbing.processes import port_free  # noqa: E402

PORTS = {  # the default ports, and how to move each lab off a busy one
    "lab 1": ([8000, 8001, 8002, 8003], "give its nodes other ports: --port 8101 ..."),
    "lab 2": ([9000, 9001, 9002, 9003, 9004], "the coordinator: --port 9300 --base-port 9301"),
    "lab 3": ([8080, 9100, 9101, 9102, 9103, 9104, 9105, 9106, 9200],
              "the coordinator: --gateway-port 8090 --port 9400 --base-port 9401\n     --registry-port 9500"),
}
COLUMNS, ROWS = 80, 24  # the smallest terminal the live views and the event lines are made for


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


def main():
    results = list(checks())
    for ok, what, fix in results:
        print(f"{'ok  ' if ok else 'FIX '} {what}" + ("" if ok else f"\n     {fix}"))
    problems = sum(1 for ok, _, _ in results if not ok)
    print("ready for the workshop" if not problems else f"{problems} thing(s) to fix before the workshop")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
