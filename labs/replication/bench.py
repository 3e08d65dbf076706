"""Benchmark: what a quorum costs, writes per second, a read while a follower is paused.

Lab 2. Starts a leader and N followers through the lab's Coordinator: sequential writes and reads at
each quorum W = 1..N and R = 1..N (p50 and the slowest of each row); then, without delays, 8 writers
for --writes writes (writes/s), and the slowest of 10 reads while follower1 is paused. Numbers.

    python labs/replication/bench.py --followers 3 --replication-delay 0.1
"""
import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import processes
from labs.plumbing.flags import finite, port
from labs.replication.coordinator import Coordinator


def timed(call, times):
    """call(count) times times: the latencies in ms, and whether every answer was a 2xx."""
    latencies, ok = [], True
    for count in range(times):
        started = time.perf_counter()
        status, _ = call(count)
        latencies.append((time.perf_counter() - started) * 1000)
        ok = ok and 200 <= status < 300
    return f"{statistics.median(latencies):8.0f} ms {max(latencies):8.0f} ms" + ("" if ok else "  some failed")


def store(args, write_quorum, delay, replication_delay, logs):
    """A Coordinator with these settings (its events unshown), started."""
    coordinator = Coordinator(SimpleNamespace(followers=args.followers, write_quorum=write_quorum, read_quorum=1,
                                              base_port=args.base_port, delay=delay, logs=Path(logs),
                                              replication_delay=replication_delay), show=None)
    coordinator.start()
    return coordinator


def quorums(args, logs):
    """p50 and slowest of sequential writes at W = 1..N, then reads at R = 1..N."""
    n, coordinator = args.followers, store(args, args.followers, args.delay, args.replication_delay, logs)
    try:
        print(f"N = {n} followers, follower k acks after k x {args.replication_delay} s, {args.delay} s of work "
              f"per request,\n{args.requests} sequential requests per row\n\n{'quorum':<8} {'p50':>11} {'slowest':>11}")
        for w in range(1, n + 1):
            coordinator.set_quorums(w, 1)
            print(f"W = {w:<4}{timed(lambda count: coordinator.write(f'key-{count}', w), args.requests)}", flush=True)
        # the last writes reach every follower
        time.sleep(args.replication_delay * n + 0.2)
        for r in range(1, n + 1):
            coordinator.set_quorums(n, r)
            print(f"R = {r:<4}{timed(lambda count: coordinator.read(f'key-{count}'), args.requests)}", flush=True)
    finally:
        coordinator.stop_all()


def throughput(args, logs, writers=8, keys=10):
    """Writes/s from 8 writers over 10 keys, W = 2, no delays; then 10 reads with follower1 paused."""
    coordinator, counter, acked, lock = store(args, 2, 0, 0, logs), iter(range(args.writes)), [0], threading.Lock()

    def writer():
        for number in iter(lambda: next(counter, None), None):
            if coordinator.write(f"key-{number % keys}", number)[0] in (200, 201):
                with lock:
                    acked[0] += 1
    try:
        started, threads = time.perf_counter(), [threading.Thread(target=writer) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"\n{writers} writers, {keys} keys, W = 2, no delays: {acked[0] / (time.perf_counter() - started):.0f} "
              f"writes/s over {args.writes:,} writes", flush=True)
        if not hasattr(signal, "SIGSTOP"):
            return print("a paused follower: not measured here (Windows has no SIGSTOP)")
        pid = coordinator.cluster.followers[0].process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            print(f"10 reads (R = 1) with follower1 paused: p50, slowest "
                  f"{timed(lambda count: coordinator.read(f'key-{count % keys}'), 10)}", flush=True)
        finally:
            os.kill(pid, signal.SIGCONT)
    finally:
        coordinator.stop_all()


def main():
    parser = argparse.ArgumentParser(
        description="Write latency for W = 1..N, reads for R = 1..N; writes/s; a paused follower.",
        epilog="example: python labs/replication/bench.py --followers 3 --replication-delay 0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=3, help="N (default 3)")
    parser.add_argument("--replication-delay", type=finite, default=0.1, help="seconds (default 0.1)")
    parser.add_argument("--delay", type=finite, default=0.01, help="seconds of work per request (default 0.01)")
    parser.add_argument("--requests", type=int, default=10, help="writes and reads per quorum (default 10)")
    parser.add_argument("--writes", type=int, default=4000, help="writes for writes/s (default 4000)")
    parser.add_argument("--base-port", type=port, default=9051, help="the leader's port (default 9051)")
    args = parser.parse_args()
    if args.followers < 2 or args.requests < 1 or min(args.delay, args.replication_delay) < 0 or args.writes < 1:
        parser.error("--followers must be at least 2, --requests and --writes 1, the delays not negative")
    taken = [number for number in range(args.base_port, args.base_port + args.followers + 1)
             if not processes.port_free(number)]
    if taken:
        parser.exit(2, f"port {taken[0]} is in use: choose another --base-port\n")
    with tempfile.TemporaryDirectory(prefix="replication-bench-") as logs:
        quorums(args, logs)
        throughput(args, logs)


if __name__ == "__main__":
    processes.run_script(main)
