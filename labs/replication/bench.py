"""Benchmark: what a quorum costs, and whether a write costs the same after 20,000 of them.

Lab 2. Starts a leader and N followers through the lab's Coordinator: sequential writes and reads
at each quorum W = 1..N and R = 1..N (p50 and the slowest of each row), then 8 writers without
delays, writes/s over the first 2,000 writes and again after --writes, the leader's memory, and
the slowest read while a follower is paused. Numbers, not a test.

    python labs/replication/bench.py --followers 3 --replication-delay 0.1
"""
import argparse
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.replication.coordinator import Coordinator  # noqa: E402
from labs.plumbing import flags, processes  # noqa: E402
from labs.plumbing.flags import port  # noqa: E402


def timed(call, times):
    """Run call() times times; return the latencies in ms, and whether every answer was a 2xx."""
    latencies, ok = [], True
    for count in range(times):
        started = time.perf_counter()
        status, _ = call(count)
        latencies.append((time.perf_counter() - started) * 1000)
        ok = ok and 200 <= status < 300
    return latencies, ok


def row(label, latencies, ok):
    return f"{label:<8} {statistics.median(latencies):8.0f} ms {max(latencies):8.0f} ms" + ("" if ok else "  some failed")


def writes_per_second(coordinator, count, writers=8, keys=10):
    """Send count writes from `writers` threads over `keys` keys; writes acknowledged per second."""
    counter, acked, lock = iter(range(count)), [0], threading.Lock()

    def writer():
        for number in iter(lambda: next(counter, None), None):
            if coordinator.write(f"key-{number % keys}", number)[0] in (200, 201):
                with lock:
                    acked[0] += 1
    started = time.perf_counter()
    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked[0] / (time.perf_counter() - started)


def throughput(args):
    """Writes/s at the start and after args.writes writes: the cost of a write must not grow with the log."""
    coordinator = Coordinator(args.followers, 2, 1, args.base_port, 0, 0, show=None)
    try:
        coordinator.start()
        print("\n8 writers, 10 keys, W = 2, no delays: writes/s over 2,000 writes", flush=True)
        first = writes_per_second(coordinator, 2000)
        print(f"{'at the start':<22} {first:8.0f} writes/s", flush=True)
        writes_per_second(coordinator, args.writes - 2000)
        later = writes_per_second(coordinator, 2000)
        print(f"{f'after {args.writes:,} writes':<22} {later:8.0f} writes/s ({later / first:.0%} of the start; "
              f"target 90%)", flush=True)
        memory = processes.rss_mb(coordinator.leader.process.pid)
        print(f"the leader's memory after {args.writes + 2000:,} writes: "
              + (f"{memory:.1f} MB" if memory else "not measured here (no ps command)"), flush=True)
        paused_reads(coordinator)
    finally:
        coordinator.stop_all()


def paused_reads(coordinator):
    """The slowest of 10 reads (R = 1) while follower1 is paused: it costs a read about a second at most."""
    if not hasattr(signal, "SIGSTOP"):
        return print("a paused follower: not measured here (Windows has no SIGSTOP)")
    pid = coordinator.followers[0].process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        latencies, ok = timed(lambda count: coordinator.read(f"key-{count}"), 10)
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"10 reads with follower1 paused (SIGSTOP): slowest {max(latencies):.0f} ms"
          + ("" if ok else ", some failed"), flush=True)


def main():
    parser = argparse.ArgumentParser(
        description="Write latency for W = 1..N, reads for R = 1..N; writes/s, 2,000 and 20,000 in.",
        epilog="example: python labs/replication/bench.py --followers 3 --replication-delay 0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=3, help="N (default 3)")
    flags.add(parser, "replication-delay", "delay", replication_delay=0.1, delay=0.01)
    parser.add_argument("--requests", type=int, default=10, help="writes and reads per quorum (default 10)")
    parser.add_argument("--base-port", type=port, default=9051, help="the leader's port, followers next (default 9051)")
    parser.add_argument("--writes", type=int, default=20_000, help="writes before throughput is measured again "
                                                                   "(default 20000)")
    args = parser.parse_args()
    n = args.followers
    if n < 2 or args.requests < 1 or args.delay < 0 or args.replication_delay < 0 or args.writes < 4000:
        parser.error("--followers must be at least 2, --requests 1, --writes 4000, and the delays not negative")
    taken = [number for number in range(args.base_port, args.base_port + n + 1) if not processes.port_free(number)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use: choose another --base-port\n")
    coordinator = Coordinator(n, n, 1, args.base_port, args.delay, args.replication_delay, show=None)
    try:
        coordinator.start()
        print(f"N = {n} followers, follower k acks after k x {args.replication_delay} s, {args.delay} s of work "
              f"per request,\n{args.requests} sequential requests per row\n")
        print(f"{'quorum':<8} {'p50':>11} {'slowest':>11}")
        for w in range(1, n + 1):
            coordinator.write_quorum = w
            print(row(f"W = {w}", *timed(lambda count: coordinator.write(f"key-{count}", w), args.requests)),
                  flush=True)
        time.sleep(args.replication_delay * n + 0.2)  # let the last writes reach every follower
        for r in range(1, n + 1):
            coordinator.read_quorum = r
            print(row(f"R = {r}", *timed(lambda count: coordinator.read(f"key-{count}"), args.requests)), flush=True)
    finally:
        coordinator.stop_all()
    throughput(args)


if __name__ == "__main__":
    processes.run_script(main)
