"""Benchmark: the same load through each load balancing strategy, on unequal nodes; a backend's return.

Lab 1. For nodes with 1, 2, 4 (and 8) workers and 12 or 20 client threads: throughput and p95 of each
strategy, beside the ideal (the workers the threads can keep busy / delay), with client.py as students
run it. Then how soon a backend stopped and started again serves through a least-response-time front.

    python labs/scalability/bench.py
"""
import argparse
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import processes
from labs.plumbing.flags import port
from labs.plumbing.network import send
from labs.scalability.demo import start_node
from labs.scalability.load_balancer import STRATEGIES

HERE = Path(__file__).resolve().parent
# workers of each node, client threads
CONFIGS = [((1, 2, 4), 12), ((1, 2, 4, 8), 12), ((1, 2, 4, 8), 20)]
SUMMARY = re.compile(r"^(\d+) requests in ([\d.]+) s: .*p95 (\d+) ms(?:; (\d+) failed)?$", re.M)


def strategies(first, workers, threads, delay, seconds):
    """One line per strategy: the same requests (about `seconds` of ideal work) through each."""
    children, ideal = [], min(sum(workers), threads) / delay
    try:
        for number, count in enumerate(workers):
            start_node(children, first + number, "--workers", count, "--delay", delay)
        nodes = ",".join(str(first + number) for number in range(len(workers)))
        print(f"\nnodes with {'/'.join(map(str, workers))} workers, {threads} threads: ideal {ideal:.0f} requests/s")
        for name in STRATEGIES:
            client = processes.start(HERE / "client.py", "--requests", int(ideal * seconds), "--concurrency",
                                     threads, "--nodes", nodes, "--strategy", name, log=subprocess.PIPE)
            children.append(client)
            requests, wall, p95, failed = (float(n or 0) for n in SUMMARY.search(processes.output(client)).groups())
            throughput = (requests - failed) / wall
            print(f"  {name:<20} {throughput:6.1f} requests/s  p95 {p95:5.0f} ms  {throughput / ideal:4.0%} of ideal"
                  + (f"  {failed:.0f} failed" if failed else ""), flush=True)
    finally:
        for child in children:
            processes.stop(child)


def returning(first, delay):
    """Seconds from a backend's restart until a least-response-time front serves through it again,
    while 12 threads send through the front; the backend is stopped for 2 s first."""
    children, backend, front, stop = [], f"127.0.0.1:{first + 1}", f"127.0.0.1:{first + 3}", threading.Event()
    try:
        for number in range(3):
            start_node(children, first + number, "--workers", 2, "--delay", delay)
        nodes = ",".join(str(first + number) for number in range(3))
        start_node(children, first + 3, "--load-balance", "least-response-time", "--backends", nodes)
        for _ in range(12):
            threading.Thread(target=lambda: [send(front, "GET", "/kv/k") for _ in iter(stop.is_set, True)],
                             daemon=True).start()
        time.sleep(1)
        processes.stop(children[1])
        time.sleep(2)
        children[1] = processes.start(HERE / "node.py", "--port", first + 1, "--workers", 2, "--delay", delay)
        processes.wait_healthy(backend)
        back, served = time.perf_counter(), served_by(front, backend)
        while served_by(front, backend) == served and time.perf_counter() < back + 30:
            time.sleep(0.02)
        print(f"\na backend stopped for 2 s under 12 threads through a least-response-time front:\n"
              f"  it served again {time.perf_counter() - back:.2f} s after it was back (target: within 5 s)")
    finally:
        stop.set()
        for child in children:
            processes.stop(child)


def served_by(front, node):
    """How many answers the front has passed on from node."""
    return next(row["served"] for row in send(front, "GET", "/status")[1]["backends"] if row["node"] == node)


def main():
    parser = argparse.ArgumentParser(
        description="Load balancing strategies on unequal nodes; a backend's return behind a front.",
        epilog="example: python labs/scalability/bench.py", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port, default=18501, help="port of the first node (default 18501)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per request (default 0.1)")
    parser.add_argument("--seconds", type=float, default=5, help="ideal seconds of work per run (default 5)")
    args = parser.parse_args()
    if not (args.delay > 0 and args.seconds > 0):
        parser.error("--delay and --seconds must be more than 0")
    print(f"{args.delay} s of work per request; each run sends what the nodes could serve in {args.seconds:g} s")
    for workers, threads in CONFIGS:
        strategies(args.port, workers, threads, args.delay, args.seconds)
    returning(args.port, args.delay)


if __name__ == "__main__":
    processes.run_script(main)
