"""Benchmark, lab 3: a crashed follower replaced, with 1,000 and 10,000 keys in the store.

Starts the whole store (coordinator.py) on ports of its own, loads the keys through the gateway,
types `kill follower2` at its prompt and times each step from the kill, polling GET /status: the
registry says dead, the replacement is caught up, it serves reads. Numbers, not a test.
"""
import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import flags, processes
from labs.plumbing.network import send

COORDINATOR = Path(__file__).with_name("coordinator.py")
# seconds between two looks at GET /status: the resolution of the times
POLL = 0.02
# the event that ends each step: its kind, and a word of its text
STEPS = {"detection": ("dead", "follower2"), "caught up": ("caught-up", ""), "serves": ("up", "serves reads")}


@contextlib.contextmanager
def store(port, args):
    """A whole store on ports from port (API, gateway, registry, then the nodes), W = 1, no delays; yields
    its process, whose prompt reads our pipe, and the addresses of its coordinator and its gateway."""
    coordinator, gateway = f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}"
    with tempfile.TemporaryDirectory(prefix="kvstore-bench-") as logs:
        command = [COORDINATOR, "--write-quorum", 1, "--delay", 0, "--replication-delay", 0, "--heartbeat-interval",
                   args.heartbeat_interval, "--dead-after", args.dead_after, "--port", port, "--gateway-port",
                   port + 1, "--registry-port", port + 2, "--base-port", port + 3, "--logs", logs]
        # when we end, its prompt reads the end of our pipe, quits, and stops every process it started
        process = subprocess.Popen([sys.executable, "-u", *map(str, command)], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL)
        try:
            # its API answers once its ports proved free; its gateway (a process of its own), once all runs
            if not (processes.wait_healthy(coordinator, deadline=30, process=process)
                    and processes.wait_healthy(gateway, deadline=30)):
                raise SystemExit(f"the kvstore on port {port} did not start (ports in use? --port moves them)")
            yield process, coordinator, gateway
        finally:
            processes.stop(process)


def repair(port, keys, args):
    """One row: load keys, kill follower2, then the seconds from the kill to each step, the catch-up's own
    time (as the coordinator says it) and the keys the replacement holds."""
    with store(port, args) as (process, coordinator, gateway):
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda key: send(gateway, "PUT", f"/kv/key-{key}", {"value": key}), range(keys)))
        seen = max(event["id"] for event in send(coordinator, "GET", "/status")[1]["events"])
        times, said, killed = {}, "", time.perf_counter()
        process.stdin.write(b"kill follower2\n")
        process.stdin.flush()
        while "serves" not in times and time.perf_counter() < killed + args.dead_after + 30:
            for event in [e for e in send(coordinator, "GET", "/status")[1]["events"] if e["id"] > seen]:
                seen = event["id"]
                for step, (kind, word) in STEPS.items():
                    if event["kind"] == kind and word in event["text"]:
                        times.setdefault(step, time.perf_counter() - killed)
                        said = event["text"] if step == "caught up" else said
            time.sleep(POLL)
        alone = re.search(r", (\d+) ms$", said)
        holds = re.search(r"= v(\d+)", said)
        return f"{keys:>7,} " + " ".join(f"{times[step]:9.2f} s" if step in times else f"{'-':>11}" for step in STEPS) \
            + f" {alone.group(1) + ' ms' if alone else '-':>9} {'v' + holds.group(1) if holds else '-':>8}"


def main():
    parser = argparse.ArgumentParser(
        description="Time a follower's crash and its repair.",
        epilog="example: python labs/distributed-kvstore/bench.py")
    parser.add_argument("--sizes", type=lambda text: [int(size) for size in text.split(",")], default=[1000, 10000],
                        help="keys loaded before each kill (default 1000,10000)")
    flags.add(parser, "heartbeat-interval", "dead-after", dead_after=2.0)
    parser.add_argument("--port", type=flags.port, default=21100, help="the first port, 20 per store (default 21100)")
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.dead_after <= 2 * args.heartbeat_interval:
        parser.error("sizes must be at least 1, and --dead-after more than 2 heartbeat intervals")
    print(f"N = 3, W = 1, no delays; heartbeats every {args.heartbeat_interval} s, dead after {args.dead_after} s."
          f"\nKeys loaded through the gateway, then `kill follower2`; seconds after the kill.\n\n"
          f"{'keys':>7} {'detection':>11} {'caught up':>11} {'serves':>11} {'catch-up':>9} {'holds':>8}")
    for number, keys in enumerate(args.sizes):
        print(repair(args.port + 20 * number, keys, args), flush=True)


if __name__ == "__main__":
    processes.run_script(main)
