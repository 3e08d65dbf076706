"""Benchmark: what a write quorum costs, what a read quorum costs, and a read while a follower is paused.

Lab 2. A leader and N followers, started by the lab's Coordinator: writes at each W = 1..N and reads at
each R = 1..N, 10 in a row (p50 and the slowest); then 10 reads with follower1 paused (SIGSTOP; not on
Windows). Numbers, not a test.
"""
import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import flags, processes
from labs.replication.coordinator import Coordinator


def timed(call, times=10):
    """call(count) times times: p50 and the slowest, in ms, and whether any answer was not a 2xx."""
    latencies, ok = [], True
    for count in range(times):
        started = time.perf_counter()
        ok = 200 <= call(count)[0] < 300 and ok
        latencies.append((time.perf_counter() - started) * 1000)
    return f"{statistics.median(latencies):8.0f} ms {max(latencies):8.0f} ms" + ("" if ok else "  some failed")


def main():
    parser = argparse.ArgumentParser(
        description="Writes at W = 1..N, reads at R = 1..N, reads while a follower is paused.",
        epilog="example: python labs/replication/bench.py --followers 3 --replication-delay 0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add(parser, "followers", "replication-delay", "delay", "base-port", replication_delay=0.1, delay=0.01,
              base_port=9051)
    args = parser.parse_args()
    n = args.followers
    if n < 2:
        parser.error("--followers must be at least 2")
    if not all(processes.port_free(number) for number in range(args.base_port, args.base_port + n + 1)):
        parser.exit(2, f"a port from {args.base_port} to {args.base_port + n} is in use: choose another --base-port\n")
    with tempfile.TemporaryDirectory(prefix="replication-bench-") as logs:
        args.write_quorum, args.read_quorum, args.logs = n, 1, Path(logs)
        coordinator = Coordinator(args, show=None)
        try:
            coordinator.start()
            print(f"N = {n}, follower k acks after k x {args.replication_delay} s, {args.delay} s of work per "
                  f"request, 10 requests in a row\n\n{'quorum':<8} {'p50':>11} {'slowest':>11}")
            for w in range(1, n + 1):
                coordinator.set_quorums(w, 1)
                print(f"W = {w:<4}{timed(lambda count: coordinator.write(f'key-{count}', w))}", flush=True)
            # the last writes reach every follower
            time.sleep(args.replication_delay * n + 0.2)
            for r in range(1, n + 1):
                coordinator.set_quorums(n, r)
                print(f"R = {r:<4}{timed(lambda count: coordinator.read(f'key-{count}'))}", flush=True)
            if hasattr(signal, "SIGSTOP"):
                coordinator.set_quorums(n, 1)
                pid = coordinator.cluster.followers[0].process.pid
                os.kill(pid, signal.SIGSTOP)
                try:
                    print(f"R = 1, follower1 paused: {timed(lambda count: coordinator.read(f'key-{count}'))}")
                finally:
                    os.kill(pid, signal.SIGCONT)
        finally:
            coordinator.stop_all()


if __name__ == "__main__":
    processes.run_script(main)
