"""Benchmark (lab 1): the same load through each load balancing strategy, on nodes with 1, 2, 4
(and 8) workers and 12 or 20 client threads, sent by client.py as students run it: throughput and
p95 beside the ideal (the workers the threads can keep busy / delay). Numbers, not a test.
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import flags, processes
from labs.scalability.demo import HERE, start_node
from labs.scalability.load_balancer import STRATEGIES

# workers of each node, client threads
CONFIGS = [((1, 2, 4), 12), ((1, 2, 4, 8), 12), ((1, 2, 4, 8), 20)]
SUMMARY = re.compile(r"^(\d+) requests in ([\d.]+) s: .*p95 (\d+) ms(?:; (\d+) failed)?$", re.M)


def strategies(first, workers, threads, delay, seconds):
    """One line per strategy: the same requests (about `seconds` of ideal work) through each."""
    children, ideal = [], min(sum(workers), threads) / delay
    nodes = ",".join(str(first + number) for number in range(len(workers)))
    try:
        for number, count in enumerate(workers):
            start_node(children, first + number, "--workers", count, "--delay", delay)
        print(f"\nnodes with {'/'.join(map(str, workers))} workers, {threads} threads:"
              f" ideal {ideal:.0f} requests/s")
        for name in STRATEGIES:
            children.append(processes.start(
                HERE / "client.py", "--requests", int(ideal * seconds), "--concurrency", threads,
                "--nodes", nodes, "--strategy", name, log=subprocess.PIPE))
            summary = SUMMARY.search(processes.output(children[-1])).groups()
            requests, wall, p95, failed = (float(n or 0) for n in summary)
            throughput = (requests - failed) / wall
            failures = f"  {failed:.0f} failed" if failed else ""
            print(f"  {name:<20} {throughput:6.1f} requests/s  p95 {p95:5.0f} ms"
                  f"  {throughput / ideal:4.0%} of ideal{failures}", flush=True)
    finally:
        for child in children:
            processes.stop(child)


def main():
    parser = argparse.ArgumentParser(description="Load balancing strategies on unequal nodes.",
                                     epilog="example: python labs/scalability/bench.py")
    parser.add_argument("--port", type=flags.port, default=18501, help="port of the first node (default 18501)")
    flags.add(parser, "delay")
    parser.add_argument("--seconds", type=flags.at_least(0.1), default=5, help="ideal work per run (default 5)")
    args = parser.parse_args()
    if args.delay <= 0:
        parser.error("--delay must be more than 0")
    print(f"{args.delay} s of work per request;"
          f" each run sends what the nodes could serve in {args.seconds:g} s")
    for workers, threads in CONFIGS:
        strategies(args.port, workers, threads, args.delay, args.seconds)


if __name__ == "__main__":
    processes.run_script(main)
