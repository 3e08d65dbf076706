"""A scripted run of lab 1, README steps b and e: load balancing, then rate limiting.

b: nodes with 1, 2 and 4 workers; the client round robin, then least-response-time.
e: one node limited to 5 requests per second per client; a polite client and a bombarding one.
Prints each client command and what it printed (the node logs stay quiet); stops everything.

    python labs/scalability/demo.py
"""
import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import exercises, flags, processes  # noqa: E402
from labs.plumbing.colour import paint  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402

HERE = Path(__file__).resolve().parent
WORKERS = (1, 2, 4)  # of the three nodes, on --port and the two ports after it


def start_node(children, port, *args):
    """Start node.py on port (added to children, to be stopped); exit with one line if the port is taken."""
    if send(f"127.0.0.1:{port}", "GET", "/health")[0] != 0:
        raise SystemExit(f"port {port} is in use: stop the nodes you started yourself, then run this again")
    children.append(processes.start(HERE / "node.py", "--port", port, *args))
    if not processes.wait_healthy(f"127.0.0.1:{port}"):
        raise SystemExit(f"node on port {port} did not start")


def client(children, *args, show=True):
    """Start client.py as a student would, showing the command first; its output is shown as it comes,
    or kept (show=False) to be read once it ends."""
    command = textwrap.wrap(f"$ {exercises.PYTHON} labs/scalability/client.py {' '.join(map(str, args))}", 76,
                            subsequent_indent="    ")
    print(paint("\n" + " \\\n".join(command), "bold"), flush=True)
    children.append(processes.start(HERE / "client.py", *args, quiet=False,
                                     log=None if show else subprocess.PIPE))
    return children[-1]


def load_balancing(children, port):
    """Step b: the same load, round robin and then least-response-time."""
    print(paint(f"b. three unequal nodes: {port} with 1 worker, {port + 1} with 2, {port + 2} with 4", "bold"),
          flush=True)
    for number, workers in enumerate(WORKERS):
        start_node(children, port + number, "--workers", workers)
    for strategy in ("round-robin", "least-response-time"):
        client(children, "--requests", "60", "--concurrency", "12", "--nodes", f"{port},{port + 1},{port + 2}",
               "--strategy", strategy).wait()
    for child in children:
        processes.stop(child)
    children.clear()


def rate_limiting(children, port):
    """Step e: a polite client and a bombarding one, at the same time, on a rate-limited node."""
    print(paint(f"\ne. node {port} allows each client 5 requests per second: a polite client\n"
                "   (1 request a second) and a bombarding one (10 threads), at the same time", "bold"), flush=True)
    start_node(children, port, "--rate-limit", "fixed-window", "--limit", "5", "--window", "1")
    polite = client(children, "--requests", "4", "--concurrency", "1", "--rate", "1", "--nodes", port,
                    "--client-id", "polite", show=False)
    bombard = client(children, "--requests", "30", "--concurrency", "10", "--nodes", port,
                     "--client-id", "bombard", show=False)
    for name, child in (("bombarding", bombard), ("polite", polite)):  # the bombarding one ends first
        print(paint(f"\nwhat the {name} client printed:", "bold"), flush=True)
        print(processes.output(child).rstrip(), flush=True)


def main():
    parser = argparse.ArgumentParser(description="The scripted run of lab 1, steps b and e, about 10 s.",
                                     epilog="example: python labs/scalability/demo.py")
    flags.add(parser, "port", port=8001)
    port, children = parser.parse_args().port, []
    try:
        load_balancing(children, port)
        if exercises.require("fixed-window"):  # the students' edition: written yet?
            rate_limiting(children, port)
    finally:
        for child in children:
            processes.stop(child)


if __name__ == "__main__":
    processes.run_script(main)
