"""Benchmark: the same load through each load balancing strategy, on unequal nodes.

Starts nodes with 1, 2 and 4 workers (the same --delay), sends the same requests from
12 client threads through each strategy, and prints throughput and p95 for each, the
ratio to round robin and the share of the cluster's ideal capacity (workers / delay).

    python labs/scalability/bench.py
"""
import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import processes  # noqa: E402
from labs.plumbing.jsonhttp import port  # noqa: E402
from labs.scalability.client import percentile, run  # noqa: E402
from labs.scalability.demo import start_node  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES  # noqa: E402

WORKERS = [1, 2, 4]  # heterogeneous compute: one small, one medium, one big node


def main():
    parser = argparse.ArgumentParser(
        description="Compare load balancing strategies on nodes with 1, 2 and 4 workers.",
        epilog="example: python labs/scalability/bench.py", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port, default=18501, help="port of the first node (default 18501)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per request (default 0.1)")
    parser.add_argument("--requests", type=int, default=420, help="requests per strategy (default 420)")
    parser.add_argument("--concurrency", type=int, default=12, help="client threads (default 12)")
    args = parser.parse_args()
    if args.delay <= 0 or args.requests < 1 or args.concurrency < 1:
        parser.error("--delay must be more than 0, --requests and --concurrency at least 1")
    nodes = [f"127.0.0.1:{args.port + i}" for i in range(len(WORKERS))]
    children = []
    try:
        for i, workers in enumerate(WORKERS):
            start_node(children, args.port + i, "--workers", workers, "--delay", args.delay)
        ideal = sum(WORKERS) / args.delay
        print(f"nodes with {WORKERS} workers, {args.delay} s per request; {args.requests} requests from "
              f"{args.concurrency} threads; ideal capacity {ideal:.0f} requests/s\n")
        print(f"{'strategy':<22} {'requests/s':>10} {'p95 ms':>8} {'x round-robin':>14} {'of ideal':>9}")
        baseline = None
        for name, strategy in STRATEGIES.items():
            start = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):  # the client's line per request: not wanted here
                results = run(args.requests, args.concurrency, strategy(nodes))
            throughput = len(results) / (time.monotonic() - start)
            baseline = baseline or throughput
            p95 = percentile([seconds for _, _, seconds in results], 0.95) * 1000
            print(f"{name:<22} {throughput:>10.1f} {p95:>8.0f} {throughput / baseline:>13.2f}x "
                  f"{throughput / ideal:>8.0%}", flush=True)
    finally:
        for child in children:
            processes.stop(child)


if __name__ == "__main__":
    processes.run_script(main)
