"""Benchmark: what a quorum costs. Write latency for W = 1..N, read latency for R = 1..N.

Lab 2. Starts a leader and N followers through the lab's Coordinator, sends sequential writes
and reads at each quorum and prints a table (the one in the README). Numbers, not a test.

    python labs/replication/bench.py --followers 3 --replication-delay 0.1
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication.coordinator import Coordinator  # noqa: E402
from labs.scalability import processes  # noqa: E402


def timed(call, times):
    """Run call() times times; return the latencies in ms, and whether every answer was a 2xx."""
    latencies, ok = [], True
    for count in range(times):
        started = time.monotonic()
        status, _ = call(count)
        latencies.append((time.monotonic() - started) * 1000)
        ok = ok and 200 <= status < 300
    return latencies, ok


def row(label, latencies, ok):
    p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
    return f"{label:<8} {statistics.median(latencies):8.0f} ms {p95:8.0f} ms" + ("" if ok else "  some failed")


def main():
    parser = argparse.ArgumentParser(
        description="Write latency for W = 1..N and read latency for R = 1..N, as a table.",
        epilog="example: python labs/replication/bench.py --followers 3 --replication-delay 0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=3, help="N (default 3)")
    parser.add_argument("--replication-delay", type=float, default=0.1,
                        help="seconds before follower 1 gets a write, 2x for follower 2, ... (default 0.1)")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds of work per node request (default 0.01)")
    parser.add_argument("--requests", type=int, default=10, help="writes and reads per quorum (default 10)")
    parser.add_argument("--base-port", type=int, default=9051, help="the leader's port, followers next (default 9051)")
    args = parser.parse_args()
    n = args.followers
    if n < 1 or args.requests < 1 or args.delay < 0 or args.replication_delay < 0:
        parser.error("--followers and --requests must be at least 1 and the delays not negative")
    taken = [port for port in range(args.base_port, args.base_port + n + 1) if not processes.port_free(port)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use: choose another --base-port\n")
    coordinator = Coordinator(n, n, 1, args.base_port, args.delay, args.replication_delay, show=None)
    try:
        coordinator.start_nodes(coordinator.nodes)
        print(f"N = {n} followers, follower k acks after k x {args.replication_delay} s, {args.delay} s of work "
              f"per request, {args.requests} sequential requests per row\n")
        print(f"{'quorum':<8} {'p50':>11} {'p95':>11}")
        for w in range(1, n + 1):
            coordinator.write_quorum = w
            print(row(f"W = {w}", *timed(lambda count: coordinator.write(f"key-{count}", w), args.requests)),
                  flush=True)
        time.sleep(args.replication_delay * n + 0.2)  # let the last writes reach every follower
        for r in range(1, n + 1):
            coordinator.read_quorum = r
            print(row(f"R = {r}", *timed(lambda count: coordinator.read(f"key-{count}"), args.requests)), flush=True)
    except KeyboardInterrupt:
        print()
    finally:
        coordinator.stop_all()


if __name__ == "__main__":
    main()
