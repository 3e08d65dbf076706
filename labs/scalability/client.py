"""A load client: many threads sending key-value requests to a list of nodes.

Step 01 of the workshop. Lab 1 lets a load balancing strategy pick each request's node
(--strategy), names the client for rate limiters (--client-id) and can pace it (--rate).
One line per request, then a summary: a chart of the requests each node served and
rejected (429), wall time, throughput and p50/p95 latency.

    python labs/scalability/client.py --requests 30 --concurrency 10
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.colour import cut, paint  # noqa: E402
from labs.plumbing.jsonhttp import parse_nodes, send  # noqa: E402
from labs.plumbing.processes import exit_with_parent  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES, measured_by  # noqa: E402
from labs.scalability.visualize_load_balance import bar_chart  # noqa: E402

NODES = ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]
CLIENT_ID = f"client-{os.getpid()}"  # two terminals are two clients to a rate limiter

def run(requests, concurrency, balancer, rate=0, client_id=CLIENT_ID, quiet=False):
    """Send requests from concurrency threads, each at most rate/s (0: no limit), to the nodes balancer picks;
    print a line per request unless quiet; returns one (node that answered, status, seconds) per request."""
    results, lock = [], threading.Lock()
    counter = iter(range(requests))
    balanced_send = measured_by(balancer)(send)  # the middleware: balancer learns each node's latency and load

    def worker():
        while True:
            with lock:
                count = next(counter, None)
            if count is None:
                return
            node = balancer.pick()
            start = time.monotonic()
            status, reply = balanced_send(node, "PUT", f"/kv/key-{count}", {"value": count}, {"X-Client-Id": client_id})
            seconds = time.monotonic() - start
            node = reply.get("node", node)  # through a --load-balance front: the backend that served it
            with lock:
                results.append((node, status, seconds))
                if not quiet:
                    line = f"{count:5} {node:<15} {paint(str(status), 'green' if 200 <= status < 300 else 'red')} " \
                           f"{seconds * 1000:5.0f} ms  {reply.get('error', '')}"
                    print(cut(line, 80).rstrip() + "\n", end="", flush=True)  # one write, 80 columns at most
            if rate:
                time.sleep(max(0.0, start + 1 / rate - time.monotonic()))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]  # Ctrl-C stops them too
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0


def summary(results, wall, nodes):
    """The lines printed after a run: the chart (a row for each of nodes, and any other that answered),
    then throughput and latency."""
    latencies = [seconds for _, _, seconds in results]
    failed = sum(1 for _, status, _ in results if not 200 <= status < 300)
    nodes = dict.fromkeys([*nodes, *sorted({name for name, _, _ in results})])
    served = {node: sum(1 for name, status, _ in results if name == node and 200 <= status < 300) for node in nodes}
    rejected = {node: sum(1 for name, status, _ in results if name == node and status == 429) for node in nodes}
    return ["", "requests per node (# ok, x rejected with 429)", *bar_chart(served, rejected=rejected), "",
            f"{len(results)} requests in {wall:.2f} s: {len(results) / wall:.1f} requests/s, "
            f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
             + (f"; {failed} failed" if failed else "")]


def main():
    parser = argparse.ArgumentParser(
        description="Send concurrent key-value requests to nodes, load balanced by a strategy.",
        epilog="example: python labs/scalability/client.py --requests 30 --concurrency 10 "
               "--nodes 8001,8002,8003 --strategy least-response-time",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="how many requests in all (default 30)")
    parser.add_argument("--concurrency", type=int, default=10, help="client threads sending at once (default 10)")
    parser.add_argument("--nodes", type=parse_nodes, help="host:port list or bare ports (default: NODES)")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="round-robin",
                        help="how to pick the node for each request (default round-robin)")
    parser.add_argument("--rate", type=float, default=0,
                        help="requests per second per thread at most (default 0: no limit)")
    parser.add_argument("--client-id", default=CLIENT_ID, help="sent as X-Client-Id (default client-<process id>)")
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    if args.rate < 0:
        parser.error("--rate must not be negative")
    if args.nodes:
        NODES[:] = args.nodes
    exit_with_parent()
    start = time.monotonic()
    try:
        results = run(args.requests, args.concurrency, STRATEGIES[args.strategy](NODES), args.rate, args.client_id)
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no summary\n")
    print("\n".join(summary(results, time.monotonic() - start, NODES)))


if __name__ == "__main__":
    main()
