"""A load client: many threads sending key-value requests to a list of nodes.

Step 01 of the workshop. Each request goes to the node a strategy picks, no longer round robin by
hand. One line per request, then a summary: wall time, throughput, p50/p95 latency
and how many requests each node served.

    python labs/scalability/client.py --requests 30 --concurrency 10
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.scalability.load_balancer import STRATEGIES, measured_by
from labs.scalability.visualize_load_balance import chart

NODES = ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]

# Our nodes are on this machine: never send these requests through an HTTP proxy.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def send(node, method, path, body=None, headers=None, timeout=30):
    """One HTTP request to node ("host:port"); returns (status, reply as a dict)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://{node}{path}", data=data, method=method,
        headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError) as error:
        # 0: no HTTP answer at all (refused, timed out, garbled)
        return 0, {"error": str(error)}


def run(requests, concurrency, balancer, rate=0, client_id=""):
    """Send requests from concurrency threads; returns one (node, status, seconds) per request."""
    results, lock = [], threading.Lock()
    counter = iter(range(requests))
    # the middleware: the strategy hears how each request went
    balanced_send = measured_by(balancer)(send)

    def worker():
        while True:
            with lock:
                count = next(counter, None)
            if count is None:
                return
            node = balancer.pick()
            start = time.monotonic()
            status, reply = balanced_send(node, "PUT", f"/kv/key-{count}", {"value": count},
                                          {"X-Client-Id": client_id})
            seconds = time.monotonic() - start
            # through a front: the node that answered
            node = reply.get("node", node)
            with lock:
                results.append((node, status, seconds))
                print(f"{count:5}  {node:<15} {status}  {seconds * 1000:6.0f} ms  "
                      f"{reply.get('error', '')[:40]}", flush=True)
            time.sleep(max(0.0, start + 1 / rate - time.monotonic()) if rate else 0)

    # daemon: Ctrl-C stops them too
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0


def summary(results, wall):
    """The lines printed after a run."""
    latencies = [seconds for _, _, seconds in results]
    failed = sum(1 for _, status, _ in results if not 200 <= status < 300)
    lines = [f"{len(results)} requests in {wall:.2f} s: {len(results) / wall:.1f} requests/s, "
             f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
             f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
             + (f"; {failed} failed" if failed else "")]
    return lines + ["", *chart(results, NODES)]


def parse_nodes(text):
    """'8001,8002' or 'host:8001,host:8002' -> ['127.0.0.1:8001', ...]; a typo is one clear line."""
    nodes = [item if ":" in item else f"127.0.0.1:{item}" for item in text.split(",") if item]
    for node in nodes:
        port = node.rpartition(":")[2]
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise argparse.ArgumentTypeError(f"{node!r} is not host:port, a port from 1 to 65535")
    return nodes


def main():
    parser = argparse.ArgumentParser(
        description="Send concurrent key-value requests to nodes, to the node a strategy picks.",
        epilog="example: python labs/scalability/client.py --requests 60 --concurrency 12 \\\n"
               "           --nodes 8001,8002,8003 --strategy least-response-time",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="requests in all (default 30)")
    parser.add_argument("--concurrency", type=int, default=10, help="threads at once (default 10)")
    parser.add_argument("--nodes", type=parse_nodes, help="ports, or host:port (default 8001-8003)")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="round-robin",
                        help="(default round-robin)")
    parser.add_argument("--rate", type=float, default=0, help="requests a second per thread")
    parser.add_argument("--client-id", default=f"client-{os.getpid()}", help="X-Client-Id to send")
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1 or not args.rate >= 0:
        parser.error("--requests and --concurrency must be at least 1, --rate not negative")
    if args.nodes:
        NODES[:] = args.nodes
    start = time.monotonic()
    try:
        results = run(args.requests, args.concurrency, STRATEGIES[args.strategy](NODES), args.rate,
                      args.client_id)
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no summary\n")
    print("\n".join(summary(results, time.monotonic() - start)))


if __name__ == "__main__":
    main()
