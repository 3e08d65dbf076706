"""A scripted run of lab 1, README steps b and e: load balancing, then rate limiting.

b: nodes with 1, 2 and 4 workers; the client round robin, then least-response-time.
e: one node allows 5 requests per second per client; a polite client and a bombarding one.
Prints each client command and what it printed (the nodes stay quiet); stops everything.
"""
import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import exercises, flags, processes
from labs.plumbing.colour import paint

HERE = Path(__file__).resolve().parent


def start_node(children, port, *args):
    """Start node.py on port, added to children (to be stopped); exit with one line if it fails
    (a node of yours on the port answers /health too: the port must be free first)."""
    if processes.port_free(port):
        children.append(processes.start(HERE / "node.py", "--port", port, *args))
        if processes.wait_healthy(f"127.0.0.1:{port}", process=children[-1]):
            return
    raise SystemExit(f"no node started on port {port}: in use? Stop your nodes, or use --port")


def client(children, options, show=True):
    """Start client.py with options, the command shown first; show=False keeps its output."""
    # the command as one would type it, within 80 columns
    command = textwrap.wrap(f"$ {exercises.PYTHON} labs/scalability/client.py {options}", 76, break_on_hyphens=False)
    print(paint("\n" + " \\\n    ".join(command), "bold"), flush=True)
    log = None if show else subprocess.PIPE
    children.append(processes.start(HERE / "client.py", *options.split(), quiet=False, log=log))
    return children[-1]


def main():
    parser = argparse.ArgumentParser(
        description="The scripted run of lab 1, steps b and e, about 10 s.",
        epilog="example: python labs/scalability/demo.py")
    flags.add(parser, "port", port=8001)
    port, children = parser.parse_args().port, []
    try:
        print(paint(f"b. three unequal nodes: {port} with 1 worker, {port + 1} with 2,"
                    f" {port + 2} with 4", "bold"))
        for number, workers in enumerate((1, 2, 4)):
            start_node(children, port + number, "--workers", workers)
        for strategy in ("round-robin", "least-response-time"):
            client(children, f"--requests 60 --concurrency 12 --nodes {port},{port + 1},{port + 2}"
                             f" --strategy {strategy}").wait()
        for child in children:
            processes.stop(child)
        if exercises.missing(["fixed-window"]):
            return print(f"\ne. rate limiting: {exercises.needs('fixed-window')}")
        print(paint(f"\ne. node {port} allows each client 5 requests per second: a polite client\n"
                    "   (1 request a second) and a bombarding one (10 threads), at the same time",
                    "bold"), flush=True)
        start_node(children, port, "--rate-limit", "fixed-window", "--limit", 5, "--window", 1)
        polite = client(children, f"--requests 4 --concurrency 1 --rate 1 --nodes {port}"
                                  " --client-id polite", show=False)
        bombard = client(children, f"--requests 30 --concurrency 10 --nodes {port}"
                                   " --client-id bombard", show=False)
        for name, child in (("bombarding", bombard), ("polite", polite)):
            print(paint(f"\nwhat the {name} client printed:", "bold"), flush=True)
            print(processes.output(child).rstrip(), flush=True)
    finally:
        for child in children:
            processes.stop(child)


if __name__ == "__main__":
    processes.run_script(main)
