"""A client of the kvstore that checks its promises while you break it (lab 3).

For --seconds, one writer per key writes unique values through the gateway and reads each acknowledged
write straight back; then every key is read once more. Like Jepsen's checkers it reports counts first
(acknowledged writes lost, stale reads), then examples. Load without checks: lab 1's client --nodes 8080.
"""
import argparse
import sys
import threading
import time
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.colour import paint
from labs.plumbing.flags import at_least
from labs.plumbing.network import send
from labs.scalability.client import parse_nodes

# the writers' counts of acknowledged and refused writes are shared
LOCK = threading.Lock()


def read(gateway, key):
    """GET key through the gateway; a rate limiter's 429 or a repair's 503 is waited out (up to 10 s)."""
    for _ in range(10):
        status, reply = send(gateway, "GET", f"/kv/{key}", timeout=10)
        if status not in (429, 503):
            break
        time.sleep(1)
    return status, reply


def writer(gateway, key, deadline, acked, counts, stale):
    """Write key-1, key-2, ... until deadline; read each acknowledged write back at once."""
    count = 0
    while time.monotonic() <= deadline:
        count += 1
        status, reply = send(gateway, "PUT", f"/kv/{key}", {"value": f"{key}-{count}"}, timeout=10)
        with LOCK:
            counts[status in (200, 201)] += 1
        if status not in (200, 201):
            # rate limited, or repairing: do not hammer it meanwhile
            time.sleep(1 if status == 429 else 0.05)
            continue
        acked[key] = reply["version"], reply["value"]
        status, got = read(gateway, key)
        if status == 200 and got["version"] < reply["version"]:
            stale.append(f"{key}: {got['value']} v{got['version']} read right after {reply['value']} "
                         f"v{reply['version']} was acknowledged")


def main():
    parser = argparse.ArgumentParser(
        description="Write and read through the gateway while you break the store; then: lost? stale?",
        epilog="example: python labs/distributed-kvstore/client.py --seconds 20")
    parser.add_argument("--gateway", type=parse_nodes, default=["127.0.0.1:8080"], help="(default 8080)")
    parser.add_argument("--seconds", type=at_least(0.1), default=20, help="how long to write (default 20)")
    parser.add_argument("--keys", type=at_least(1, int), default=4, help="keys, one writer each (default 4)")
    args = parser.parse_args()
    gateway, deadline, acked, counts, stale = args.gateway[0], time.monotonic() + args.seconds, {}, [0, 0], []
    threads = [threading.Thread(target=writer, args=(gateway, f"check-{number}", deadline, acked, counts, stale),
                                daemon=True) for number in range(args.keys)]
    print(f"writing {args.keys} keys through {gateway} for {args.seconds:g} s: break the store now", flush=True)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no report\n")
    lost = []
    for key, (version, value) in sorted(acked.items()):
        status, got = read(gateway, key)
        if status != 200 or got["version"] < version:
            lost.append(f"{key}: {value} v{version} acknowledged, read back {got.get('value', got.get('error', status))}")
    print(f"{counts[True]} writes acknowledged, {counts[False]} refused (503: repairing; 429: rate limited)")
    for count, what in ((len(lost), "acknowledged writes lost (read older than their ack)"),
                        (len(stale), "stale reads (older than the write acknowledged before)")):
        print(paint(f"{count:>6} {what}", "red" if count else "green"))
    if stale:
        print("  the gateway reports a read only if freshness.is_fresh says so (freshness.py)")
    for example in (lost + stale)[:3]:
        print(f"  {example}")
    sys.exit(1 if lost or stale else 0)


if __name__ == "__main__":
    main()
