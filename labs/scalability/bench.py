"""Benchmark: the same load through each load balancing strategy, on unequal nodes.

Starts nodes with 1, 2 and 4 workers (the same --delay), sends the same requests from
12 client threads through each strategy, and prints throughput and p95 for each, the
ratio to round robin and the share of the cluster's ideal capacity (workers / delay).
Then a rate-limited node's memory as 100,000 different clients come and go.

    python labs/scalability/bench.py
"""
import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import processes  # noqa: E402
from labs.plumbing.jsonhttp import port, send  # noqa: E402
from labs.scalability.client import percentile, run  # noqa: E402
from labs.scalability.demo import start_node  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES  # noqa: E402

WORKERS = [1, 2, 4]  # heterogeneous compute: one small, one medium, one big node


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
        description="Compare load balancing strategies on nodes with 1, 2 and 4 workers.",
        epilog="example: python labs/scalability/bench.py", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port, default=18501, help="port of the first node (default 18501)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per request (default 0.1)")
    parser.add_argument("--requests", type=int, default=420, help="requests per strategy (default 420)")
    parser.add_argument("--concurrency", type=int, default=12, help="client threads (default 12)")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="client ids sent to a rate-limited node to measure its memory (default 100000; 0: skip)")
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
            results = run(args.requests, args.concurrency, strategy(nodes), quiet=True)
            failed = sum(1 for _, status, _ in results if not 200 <= status < 300)
            throughput = (len(results) - failed) / (time.monotonic() - start)  # failed requests are no throughput
            baseline = baseline or throughput
            p95 = percentile([seconds for _, _, seconds in results], 0.95) * 1000
            print(f"{name:<22} {throughput:>10.1f} {p95:>8.0f} {throughput / baseline:>13.2f}x "
                  f"{throughput / ideal:>8.0%}" + (f"  {failed} failed" if failed else ""), flush=True)
    finally:
        for child in children:
            processes.stop(child)
    if args.clients:
        sizes = memory(args.port + len(WORKERS), args.clients)
        print(f"\na rate-limited node's memory as {args.clients:,} client ids send one request each:\n"
              + (" -> ".join(f"{size:.1f} MB" for size in sizes) + " (at the start, after half, after all)"
                 if None not in sizes else "not measured here (no ps command)"))


if __name__ == "__main__":
    processes.run_script(main)
