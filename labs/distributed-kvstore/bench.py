"""Benchmark: a crashed follower replaced (1,000 and 10,000 keys), what the gateway adds, a crashed leader.

Lab 3. Starts the whole store (coordinator.py) on ports of its own, loads the keys through the gateway,
types `kill follower2` at its prompt and times each step from the kill, polling GET /status: detection
(the registry says dead), the replacement started, caught up, serving reads. Then what the gateway
adds to a read and to writes, and `kill leader` under 4 writers. Numbers beside their targets, not a test.

    python labs/distributed-kvstore/bench.py
"""
import argparse
import contextlib
import itertools
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import flags, processes  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.scalability.bench import run_client  # noqa: E402

COORDINATOR = Path(__file__).with_name("coordinator.py")
POLL = 0.02  # seconds between two looks at GET /status: the resolution of the repair's times
STEPS = {"detection": ("dead", "follower2"), "replace": ("replace", ""), "catch-up": ("caught-up", ""),
         "total": ("up", "serves reads")}  # the event that ends each step: its kind, and a word of its text


@contextlib.contextmanager
def store(port, args):
    """A whole store on ports from port (API, gateway, registry, leader, followers), W = 1, no delays; yields
    (type, coordinator, gateway), type() a command at its prompt. It quits at the end."""
    logs = tempfile.TemporaryDirectory(prefix="kvstore-bench-")
    command = [COORDINATOR, "--followers", args.followers, "--write-quorum", 1, "--delay", 0, "--replication-delay",
               0, "--heartbeat-interval", args.heartbeat_interval, "--dead-after", args.dead_after, "--port", port,
               "--gateway-port", port + 1, "--registry-port", port + 2, "--base-port", port + 3, "--logs", logs.name]
    process = subprocess.Popen([sys.executable, "-u", *map(str, command)], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)

    def type_in(command):
        process.stdin.write(command + "\n")
        process.stdin.flush()
    try:
        while send(f"127.0.0.1:{port + 1}", "GET", "/health")[0] != 200:
            if process.poll() is not None:
                raise SystemExit(f"the kvstore on port {port} did not start (a port in use? --port moves them)")
            time.sleep(0.05)
        yield type_in, f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}"
    finally:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            type_in("quit")
            process.wait(15)
        processes.stop(process)
        logs.cleanup()


def load(node, keys, threads=16):
    """PUT key-0 ... key-(keys-1) to node from threads, with lab 1's client; returns writes acknowledged per second."""
    run = run_client([], "--requests", keys, "--concurrency", threads, "--nodes", node, "--client-id", "bench")
    return (run["requests"] - run["failed"]) / run["seconds"]


def repair(port, keys, args):
    """One row: load keys, kill follower2, then seconds from the kill to each step; the catch-up's own time (as the
    coordinator says) and the keys the replacement holds."""
    with store(port, args) as (type_in, coordinator, gateway):
        load(gateway, keys)
        seen = max(event["id"] for event in send(coordinator, "GET", "/status")[1]["events"])
        times, said, killed = {}, "", time.perf_counter()
        type_in("kill follower2")
        while "total" not in times and time.perf_counter() < killed + args.dead_after + 30:
            status = send(coordinator, "GET", "/status")[1]
            for event in [event for event in status["events"] if event["id"] > seen]:
                seen = event["id"]
                step = next((step for step, (kind, text) in STEPS.items()
                             if event["kind"] == kind and text in event["text"]), None)
                times.setdefault(step, time.perf_counter() - killed)
                said = event["text"] if step == "catch-up" else said
            time.sleep(POLL)
        new = next((node for node in status["nodes"] if node["name"] == f"follower{args.followers + 1}"), {})
        holds = len(send(f"127.0.0.1:{new['port']}", "GET", "/kv")[1].get("keys", [])) if new else 0
        alone = re.search(r", (\d+) ms$", said)
        steps = " ".join(f"{times[step]:7.2f} s" if step in times else f"{'-':>9}" for step in STEPS)
        return f"{keys:>7,} {steps} {alone.group(1) + ' ms' if alone else '-':>8} {holds:>8,}"


def gateway_cost(port, args, count=300):
    """p50/p99 of sequential reads through the gateway against a follower's; writes/s through it (4 threads)
    against the leader's."""
    with store(port, args) as (_, _, gateway):
        leader, follower = f"127.0.0.1:{port + 3}", f"127.0.0.1:{port + 4}"
        send(gateway, "PUT", "/kv/k", {"value": 1})
        reads = {}
        for target in (follower, gateway):
            times = []
            for _ in range(count):
                started = time.perf_counter()
                send(target, "GET", "/kv/k")
                times.append((time.perf_counter() - started) * 1000)
            reads[target] = sorted(times)[count // 2], sorted(times)[count * 99 // 100]
        through, direct = load(gateway, count * 2, threads=4), load(leader, count * 2, threads=4)
        (p50, p99), (own50, own99) = reads[gateway], reads[follower]
        print(f"\nreads, p50/p99: {p50:.2f}/{p99:.2f} ms through the gateway, {own50:.2f}/{own99:.2f} ms from a "
              f"follower:\n  +{p50 - own50:.2f} ms p50 (target: at most 1 ms), +{p99 - own99:.2f} ms p99 (at most "
              f"3 ms)\nwrites, 4 threads, W = 1: {through:.0f}/s through the gateway, {direct:.0f}/s to the leader: "
              f"{through / direct:.2f}\n  of the leader's rate (target: at least 0.8)", flush=True)


def failover(port, args):
    """kill leader under 4 writers: seconds to the first write the new leader acknowledges, writes refused
    meanwhile, acknowledged writes lost (a key read back below its last acknowledged version)."""
    with store(port, args) as (type_in, _, gateway):
        acked, refused, stop, old = {}, [0], threading.Event(), f"127.0.0.1:{port + 3}"

        def writer(key):
            for count in itertools.count():
                status, reply = send(gateway, "PUT", f"/kv/{key}", {"value": count}, timeout=10)
                if status in (200, 201):
                    acked[key] = (reply["version"], time.perf_counter(), reply["node"])
                else:
                    refused[0] += 1
                    time.sleep(0.01)
                if stop.is_set():
                    return
        threads = [threading.Thread(target=writer, args=(f"key-{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        killed, refused[0] = time.perf_counter(), 0
        type_in("kill leader")
        while not any(node != old for _, _, node in acked.values()) and time.perf_counter() < killed + 30:
            time.sleep(POLL)
        stop.set()
        for thread in threads:
            thread.join()
        resumed = min((at for _, at, node in acked.values() if node != old), default=None)
        lost = sum(send(gateway, "GET", f"/kv/{key}")[1].get("version", 0) < version
                   for key, (version, _, _) in acked.items())
        print(f"\nkill leader under 4 writers: the new leader acknowledged a write "
              f"{f'{resumed - killed:.2f} s' if resumed else 'never'}\n  after the kill (target: within dead-after "
              f"+ 1 s = {args.dead_after + 1:g} s); {refused[0]} writes refused\n  meanwhile, {lost} acknowledged "
              f"writes lost", flush=True)


def main():
    parser = argparse.ArgumentParser(
        description="Time a follower's crash and repair, the gateway's cost, a leader's crash.",
        epilog="example: python labs/distributed-kvstore/bench.py",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda text: [int(size) for size in text.split(",")], default=[1000, 10000],
                        help="keys loaded before each kill (default 1000,10000)")
    parser.add_argument("--followers", type=int, choices=range(2, 10), default=3, help="N (default 3)")
    flags.add(parser, "heartbeat-interval", "dead-after", dead_after=2.0)
    parser.add_argument("--port", type=flags.port, default=21100,
                        help="the first of the ports, 20 for each store started (default 21100)")
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.dead_after <= 2 * args.heartbeat_interval:
        parser.error("sizes must be at least 1, and --dead-after more than 2 heartbeat intervals")
    print(f"N = {args.followers}, W = 1, no delays; heartbeats every {args.heartbeat_interval} s, dead after "
          f"{args.dead_after} s.\nKeys loaded through the gateway, then `kill follower2`; seconds after the kill.\n"
          f"Targets: detection within dead-after + a heartbeat; catch-up of 100,000 keys\nunder 1 s.\n\n"
          f"{'keys':>7} {'detection':>9} {'replace':>9} {'catch-up':>9} {'total':>9} {'alone':>8} {'holds':>8}")
    for number, keys in enumerate(args.sizes):
        print(repair(args.port + 20 * number, keys, args), flush=True)
    gateway_cost(args.port + 20 * len(args.sizes), args)
    failover(args.port + 20 * len(args.sizes) + 20, args)


if __name__ == "__main__":
    processes.run_script(main)
