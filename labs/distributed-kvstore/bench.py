"""Benchmark: a crashed follower replaced (1,000 and 10,000 keys), and a crashed leader replaced under writes.

Lab 3. Starts the whole store (coordinator.py) on ports of its own, loads the keys through the
gateway, types `kill follower2` at the coordinator's prompt, and times from the kill, by polling the
coordinator's GET /status: detection (the registry says dead), spawn (the replacement answers),
catch-up, and reads served (total). Then `kill leader` under 4 writers: the time until the promoted
follower acknowledges a write, the writes refused meanwhile, and the acknowledged writes lost. Numbers, not a test.

    python labs/distributed-kvstore/bench.py
"""
import argparse
import contextlib
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import flags, processes  # noqa: E402
from labs.plumbing.flags import port  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.scalability.bench import run_client  # noqa: E402

COORDINATOR = Path(__file__).with_name("coordinator.py")
VICTIM = "follower2"
LOADERS = 16  # client threads that load the keys through the gateway
POLL = 0.02  # seconds between two looks at GET /status: the resolution of every number below
STEPS = ["detection", "spawn", "catch-up", "total"]
PORTS_PER_SIZE = 20  # each size gets a fresh store on fresh ports: nothing left over from the one before


def type_in(store, command):
    store.stdin.write(command + "\n")
    store.stdin.flush()


def load(node, keys, threads=LOADERS):
    """PUT key-0 ... key-(keys-1) to node (the gateway) from threads, with lab 1's client; returns (seconds,
    failures)."""
    run = run_client([], "--requests", keys, "--concurrency", threads, "--nodes", node, "--client-id", "bench")
    return run["seconds"], int(run["failed"])


def step_of(event):
    """Which step of the repair a coordinator event ends, if any."""
    if event["kind"] == "dead" and event["text"].startswith(VICTIM):
        return "detection"
    if event["kind"] == "caught-up":
        return "catch-up"
    if event["kind"] == "up" and "serves reads" in event["text"]:
        return "total"
    return "failed" if event["kind"] == "refused" else None


def repair(coordinator, store, timeout):
    """Kill the victim at the prompt; return {step: seconds after the kill}, the coordinator's
    caught-up text, and the replacement's address."""
    before = send(coordinator, "GET", "/status")[1]
    known = {node["name"] for node in before["nodes"]}
    last_id = max((event["id"] for event in before["events"]), default=0)
    times, caught_up, replacement = {}, "", None
    killed = time.monotonic()
    type_in(store, f"kill {VICTIM}")
    while "total" not in times and "failed" not in times and time.monotonic() < killed + timeout:
        status = send(coordinator, "GET", "/status")[1]
        now = time.monotonic() - killed
        for event in (event for event in status.get("events", []) if event["id"] > last_id):
            last_id, step = event["id"], step_of(event)
            if step and step not in times:
                times[step] = now
                caught_up = event["text"] if step in ("catch-up", "failed") else caught_up
        new = [node for node in status.get("nodes", []) if node["name"] not in known]
        if new and "spawn" not in times:
            replacement = f"127.0.0.1:{new[0]['port']}"
            if send(replacement, "GET", "/health")[0] == 200:
                times["spawn"] = time.monotonic() - killed
        time.sleep(POLL)
    return times, caught_up, replacement


@contextlib.contextmanager
def running_store(port, args):
    """A whole store, its prompt on a pipe, on ports from port: API, gateway, registry, then leader and followers;
    ready once the gateway, started last, answers. Quit at its prompt afterwards."""
    logs, gateway = tempfile.mkdtemp(prefix="kvstore-bench-"), f"127.0.0.1:{port + 1}"
    store = subprocess.Popen([sys.executable, "-u", str(COORDINATOR), "--followers", str(args.followers),
                              "--write-quorum", "1", "--delay", "0", "--replication-delay", "0",
                              "--heartbeat-interval", str(args.heartbeat_interval), "--dead-after", str(args.dead_after),
                              "--port", str(port), "--gateway-port", str(port + 1), "--registry-port", str(port + 2),
                              "--base-port", str(port + 3), "--logs", logs],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        while send(gateway, "GET", "/health")[0] != 200:
            if store.poll() is not None:
                raise SystemExit("the kvstore did not start: see the coordinator's message above")
            time.sleep(0.05)
        yield store, gateway, f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(OSError):  # quit at the prompt: the coordinator stops its children
            type_in(store, "quit")
        with contextlib.suppress(subprocess.TimeoutExpired):
            store.wait(15)
        processes.stop(store)
        shutil.rmtree(logs, ignore_errors=True)


def measure(keys, port, args):
    """One row of the table: start the store, load, kill, repair, check the replacement's keys, quit."""
    with running_store(port, args) as (store, gateway, coordinator):
        seconds, failures = load(gateway, keys)
        times, caught_up, replacement = repair(coordinator, store, args.dead_after + 30)
        holds = set(send(replacement, "GET", "/kv")[1].get("keys", [])) if replacement else set()
        return {"load": seconds, "failures": failures, **times, "text": caught_up,
                "holds": len(holds & {f"key-{i}" for i in range(keys)})}


def failover(port, args):
    """kill leader under 4 writers: seconds to the first write the new leader acknowledges, writes refused
    meanwhile, and acknowledged writes lost (each key read back below its last acknowledged version)."""
    with running_store(port, args) as (store, gateway, _):
        acked, refused, stop, old = {}, [], threading.Event(), f"127.0.0.1:{port + 3}"  # the leader to kill

        def writer(key):
            for count in itertools.count():
                if stop.is_set():
                    return
                status, reply = send(gateway, "PUT", f"/kv/{key}", {"value": count}, timeout=10)
                if status in (200, 201):
                    acked[key] = (reply["version"], time.monotonic(), reply["node"])
                else:
                    refused.append(time.monotonic())
                    time.sleep(0.01)

        threads = [threading.Thread(target=writer, args=(f"key-{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        killed = time.monotonic()
        type_in(store, "kill leader")
        while not any(leader != old for _, _, leader in acked.values()) \
                and time.monotonic() < killed + args.dead_after + 30:  # until the new leader acknowledges one
            time.sleep(POLL)
        resumed = min((at for _, at, leader in acked.values() if leader != old), default=None)
        stop.set()
        for thread in threads:
            thread.join()
        lost = [key for key, (version, _, _) in acked.items()
                if send(gateway, "GET", f"/kv/{key}")[1].get("version", 0) < version]
        return resumed and resumed - killed, sum(1 for at in refused if at > killed), len(lost)


def gateway_cost(port, args, count=300):
    """What the gateway adds, beside its targets: p50/p99 of sequential reads through it against a follower's;
    writes/s from 4 threads through it against the leader's."""
    with running_store(port, args) as (_, gateway, _):
        leader, follower = f"127.0.0.1:{port + 3}", f"127.0.0.1:{port + 4}"
        send(gateway, "PUT", "/kv/k", {"value": 1})
        reads, writes = {}, {}
        for target in (follower, gateway):
            times = []
            for _ in range(count):
                started = time.monotonic()
                send(target, "GET", "/kv/k")
                times.append((time.monotonic() - started) * 1000)
            reads[target] = sorted(times)[count // 2], sorted(times)[count * 99 // 100]
        for target in (leader, gateway):
            seconds, failures = load(target, count * 2, threads=4)
            writes[target] = (count * 2 - failures) / seconds
        (p50, p99), (direct50, direct99), ratio = reads[gateway], reads[follower], writes[gateway] / writes[leader]
        print(f"\nreads p50/p99: {p50:.2f}/{p99:.2f} ms through the gateway, {direct50:.2f}/{direct99:.2f} ms "
              f"from a follower\ntarget: the gateway adds <= 1 ms p50, <= 3 ms p99: "
              f"{'met' if p50 - direct50 <= 1 and p99 - direct99 <= 3 else 'MISSED'} "
              f"(+{p50 - direct50:.2f}, +{p99 - direct99:.2f} ms)\nwrites (4 threads, W = 1): {writes[gateway]:.0f}/s "
              f"through the gateway, {writes[leader]:.0f}/s to the leader\n"
              f"target: >= 0.8 of the leader's: {'met' if ratio >= 0.8 else 'MISSED'} ({ratio:.2f})")


def row(keys, result):
    """One line: seconds after the kill for each step, the coordinator's own catch-up time, what it holds."""
    steps = " ".join(f"{result[step]:>7.2f} s" if step in result else f"{'-':>9}" for step in STEPS)
    ms = re.search(r", (\d+) ms$", result["text"])
    alone = f"{ms.group(1)} ms" if ms and "catch-up" in result else "-"
    line = f"{keys:>7,} {result['load']:>5.1f} s {steps} {alone:>7} {result['holds']:>9,}"
    if result["failures"]:
        line += f"\n        {result['failures']} writes failed while loading"
    if "failed" in result or "total" not in result:
        line += f"\n        repair did not finish: {result['text'] or 'timed out'}"
    return line


def main():
    parser = argparse.ArgumentParser(
        description="Time a follower's crash, detection, replacement and catch-up, for 1,000 and 10,000 keys.",
        epilog="example: python labs/distributed-kvstore/bench.py",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="keys loaded before each kill (default 1000,10000)")
    parser.add_argument("--followers", type=int, default=3, help="N (default 3)")
    flags.add(parser, "heartbeat-interval", "dead-after", dead_after=2.0)
    parser.add_argument("--port", type=port, default=21100,
                        help="the coordinator's API port; gateway, registry and nodes next; 20 ports per size "
                             "(default 21100)")
    args = parser.parse_args()
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.exit(2, "--sizes must be numbers separated by commas, like 1000,10000\n")
    if not 2 <= args.followers <= 15 or not sizes or min(sizes) < 1 or args.dead_after <= 2 * args.heartbeat_interval:
        parser.exit(2, "need 2 <= --followers <= 15 (follower2 is killed), sizes >= 1 and --dead-after > 2 heartbeat "
                       "intervals\n")
    firsts = [args.port + PORTS_PER_SIZE * store for store in range(len(sizes) + 2)]  # one store per size, and 2
    taken = [number for first in firsts for number in range(first, first + args.followers + 5)  # API, gateway,
             if not processes.port_free(number)]  # registry, leader, followers, a replacement
    if taken:
        parser.exit(2, f"port {taken[0]} is in use (another kvstore?): choose another --port\n")
    print(f"N = {args.followers} followers, W = 1, no delays; heartbeats every {args.heartbeat_interval} s, dead "
          f"after {args.dead_after} s.\nThe keys are loaded through the gateway by {LOADERS} threads, then "
          f"`kill {VICTIM}`.\nSeconds after the kill (GET /status every {POLL * 1000:.0f} ms). alone: the catch-up "
          f"time the\ncoordinator reports; holds: the keys the replacement holds.\n\n{'keys':>7} {'load':>7} "
          f"{'detection':>9} {'spawn':>9} {'catch-up':>9} {'total':>9} {'alone':>7} {'holds':>9}")
    results = {}
    for number, keys in enumerate(sizes):
        results[keys] = measure(keys, args.port + PORTS_PER_SIZE * number, args)
        print(row(keys, results[keys]), flush=True)
    bound = args.dead_after + args.heartbeat_interval
    detected = [result["detection"] for result in results.values() if "detection" in result]
    print(f"\ntarget: detected within dead-after + a heartbeat = {bound:g} s: "
          f"{'met' if len(detected) == len(results) and max(detected) <= bound else 'MISSED'}"
          f"{f' (slowest {max(detected):.2f} s)' if detected else ''}")
    big = max(results)
    ms = re.search(r", (\d+) ms$", results[big]["text"])
    print(f"target: catch-up of {big:,} keys under 1 s: "
          f"{'met' if ms and int(ms.group(1)) < 1000 and results[big]['holds'] == big else 'MISSED'}"
          f"{f' ({ms.group(1)} ms)' if ms else ''}")
    gateway_cost(args.port + PORTS_PER_SIZE * (len(sizes) + 1), args)
    resumed, refused, lost = failover(args.port + PORTS_PER_SIZE * len(sizes), args)
    bound = args.dead_after + 1
    print(f"\nkill leader under 4 writers: the new leader acknowledged a write "
          f"{f'{resumed:.2f} s' if resumed else 'never'} after\nthe kill; {refused} writes refused meanwhile, "
          f"{lost} acknowledged writes lost\ntarget: within dead-after + 1 s = {bound:g} s, none lost: "
          f"{'met' if resumed and resumed <= bound and not lost else 'MISSED'}")


if __name__ == "__main__":
    processes.run_script(main)
