"""Benchmark: the same load through each load balancing strategy, on unequal nodes; a front's cost.

Lab 1. For nodes with 1, 2, 4 (and 8) workers and 12 or 20 client threads: throughput and p95
of each strategy, beside the ideal (the workers the threads can keep busy / delay). Then how soon
a backend that was stopped and started again serves through a least-response-time front, what a
front adds to a request, and a rate-limited node's memory as 100,000 different clients come and go.

    python labs/scalability/bench.py
"""
import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import processes  # noqa: E402
from labs.plumbing.flags import port  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.scalability.client import percentile  # noqa: E402
from labs.scalability.demo import start_node  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES  # noqa: E402

CONFIGS = [((1, 2, 4), 12), ((1, 2, 4, 8), 12), ((1, 2, 4, 8), 20)]  # workers per node, client threads


def strategies(first_port, workers, threads, delay, seconds):
    """One line per strategy: the same requests (about `seconds` of ideal work) through each."""
    children, nodes = [], ",".join(str(first_port + i) for i in range(len(workers)))
    ideal = min(sum(workers), threads) / delay
    try:
        for i, count in enumerate(workers):
            start_node(children, first_port + i, "--workers", count, "--delay", delay)
        print(f"\nnodes with {'/'.join(map(str, workers))} workers, {threads} threads: ideal {ideal:.0f} requests/s")
        for name in STRATEGIES:
            run = run_client(children, "--requests", int(ideal * seconds), "--concurrency", threads, "--nodes", nodes,
                             "--strategy", name)
            throughput = (run["requests"] - run["failed"]) / run["seconds"]  # failures are no throughput
            print(f"  {name:<20} {throughput:6.1f} requests/s  p95 {run['p95']:5.0f} ms  {throughput / ideal:4.0%} "
                  f"of ideal" + (f"  {run['failed']} failed" if run["failed"] else ""), flush=True)
    finally:
        for child in children:
            processes.stop(child)


def run_client(children, *args):
    """Run client.py as a student would (added to children, to be stopped); the numbers of its summary line:
    requests, seconds, p50 and p95 (ms), failed."""
    child = processes.start(Path(__file__).with_name("client.py"), *args, log=subprocess.PIPE)
    children.append(child)
    summary = re.search(r"^(\d+) requests in ([\d.]+) s: .*p50 (\d+) ms, p95 (\d+) ms(?:; (\d+) failed)?$",
                        processes.output(child), re.M)
    numbers = [float(number or 0) for number in summary.groups()]
    return dict(zip(["requests", "seconds", "p50", "p95", "failed"], numbers))


def returning(first_port, delay):
    """Seconds from a backend's restart until a least-response-time front serves a request through it again,
    while 12 threads send through the front; the backend is stopped for 2 s first."""
    children, nodes = [], [f"127.0.0.1:{first_port + i}" for i in range(3)]
    front, stop = f"127.0.0.1:{first_port + 3}", threading.Event()
    try:
        for number, node in enumerate(nodes):
            start_node(children, first_port + number, "--workers", 2, "--delay", delay)
        start_node(children, first_port + 3, "--load-balance", "least-response-time", "--backends", ",".join(nodes))
        threads = [threading.Thread(target=lambda: [send(front, "GET", "/kv/k") for _ in iter(stop.is_set, True)])
                   for _ in range(12)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        processes.stop(children[1])
        time.sleep(2)
        children[1] = processes.start(Path(__file__).with_name("node.py"), "--port", first_port + 1, "--workers", 2,
                                      "--delay", delay)
        processes.wait_healthy(nodes[1])
        back, served = time.perf_counter(), served_by(front, nodes[1])
        while served_by(front, nodes[1]) == served and time.perf_counter() < back + 30:
            time.sleep(0.02)
        print(f"\na backend stopped for 2 s, then started again, under 12 threads through a\nleast-response-time "
              f"front: it served again {time.perf_counter() - back:.2f} s after it was back\n(target: within 5 s)")
    finally:
        stop.set()
        for child in children:
            processes.stop(child)


def served_by(front, node):
    """How many answers the front has passed on from node (a 404 counts: node answered)."""
    return next(row["served"] for row in send(front, "GET", "/status")[1]["backends"] if row["node"] == node)


def front_cost(first_port, requests=400):
    """p50 and p99 of sequential reads and writes to a node without work, directly and through a front."""
    children, node, front = [], f"127.0.0.1:{first_port}", f"127.0.0.1:{first_port + 1}"
    try:
        start_node(children, first_port, "--delay", 0)
        start_node(children, first_port + 1, "--load-balance", "round-robin", "--backends", node)
        print("\na front, one request at a time, no work (target: it adds at most 0.8 ms to p50):", flush=True)
        for method, body in (("PUT", {"value": 1}), ("GET", None)):  # writes first: the reads find the keys
            times = {}
            for target in (node, front):
                latencies = []
                for count in range(requests):
                    started = time.perf_counter()
                    send(target, method, f"/kv/key-{count % 10}", body)
                    latencies.append((time.perf_counter() - started) * 1000)
                times[target] = (statistics.median(latencies), percentile(latencies, 0.99))
            (direct, direct99), (through, through99) = times[node], times[front]
            print(f"  {method:<4}p50 {direct:.2f} ms direct, {through:.2f} ms through it (+{through - direct:.2f} ms); "
                  f"p99 {direct99:.2f}, {through99:.2f}", flush=True)
    finally:
        for child in children:
            processes.stop(child)


def memory(port, clients):
    """A rate-limited node's resident memory before and after requests from `clients` different client ids:
    the fixed window forgets the windows that are over, so it must not grow with them."""
    children, node = [], f"127.0.0.1:{port}"
    try:
        start_node(children, port, "--rate-limit", "fixed-window", "--delay", 0, "--workers", 8)
        sizes, ids = [processes.rss_mb(children[0].pid)], None

        def sender():
            for number in iter(lambda: next(ids, None), None):
                send(node, "GET", "/kv/x", headers={"X-Client-Id": f"client-{number}"})
        for half in (range(clients // 2), range(clients // 2, clients)):  # memory after each half
            threads = [threading.Thread(target=sender) for _ in range(8)]
            ids = iter(half)
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sizes.append(processes.rss_mb(children[0].pid))
        return sizes
    finally:
        for child in children:
            processes.stop(child)


def main():
    parser = argparse.ArgumentParser(
        description="Load balancing strategies on unequal nodes; a front's cost; a limiter's memory.",
        epilog="example: python labs/scalability/bench.py", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port, default=18501, help="port of the first node (default 18501)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per request (default 0.1)")
    parser.add_argument("--seconds", type=float, default=5, help="ideal seconds of work per run (default 5)")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="client ids sent to a rate-limited node to measure its memory (default 100000; 0: skip)")
    args = parser.parse_args()
    if args.delay <= 0 or args.seconds <= 0 or args.clients < 0:
        parser.error("--delay and --seconds must be more than 0, --clients not negative")
    print(f"{args.delay} s of work per request; each run sends what the nodes could serve in {args.seconds:g} s")
    for workers, threads in CONFIGS:
        strategies(args.port, workers, threads, args.delay, args.seconds)
    returning(args.port, args.delay)
    front_cost(args.port)
    if args.clients:
        sizes = memory(args.port, args.clients)
        print(f"\na rate-limited node's memory as {args.clients:,} client ids send one request each:\n"
              + (" -> ".join(f"{size:.1f} MB" for size in sizes) + " (at the start, after half, after all)"
                 if None not in sizes else "not measured here (no ps command)"))


if __name__ == "__main__":
    processes.run_script(main)
