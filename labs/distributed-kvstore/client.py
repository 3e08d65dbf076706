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
from labs.plumbing.flags import finite
from labs.plumbing.network import send
from labs.scalability.client import parse_nodes


class Check:
    """What the writers saw: each key's last acknowledged write, and every broken promise."""

    def __init__(self, gateway):
        self.gateway, self.lock, self.acked, self.counts = gateway, threading.Lock(), {}, [0, 0]
        self.stale, self.lost = [], []

    def writer(self, key, deadline):
        count = 0
        while time.monotonic() <= deadline:
            count += 1
            status, reply = send(self.gateway, "PUT", f"/kv/{key}", {"value": f"{key}-{count}"}, timeout=10)
            with self.lock:
                self.counts[status in (200, 201)] += 1
            if status not in (200, 201):
                # rate limited, or repairing: do not hammer it meanwhile
                time.sleep(1 if status == 429 else 0.05)
                continue
            self.acked[key] = reply["version"], reply["value"]
            status, read = self.read(key)
            if status == 200 and read["version"] < reply["version"]:
                self.stale.append(f"{key}: {read['value']} v{read['version']} read right after "
                                  f"{reply['value']} v{reply['version']} was acknowledged")

    def read(self, key):
        """GET key through the gateway; a rate limiter's 429 is waited out (up to 10 s)."""
        for _ in range(10):
            status, reply = send(self.gateway, "GET", f"/kv/{key}", timeout=10)
            if status != 429:
                break
            time.sleep(1)
        return status, reply

    def report(self):
        for key, (version, value) in sorted(self.acked.items()):
            status, read = self.read(key)
            if status != 200 or read["version"] < version:
                self.lost.append(f"{key}: {value} v{version} acknowledged, read back "
                                 f"{read.get('value', read.get('error', status))}")
        lines = [f"{self.counts[True]} writes acknowledged, {self.counts[False]} refused (503: repairing; "
                 f"429: rate limited)"]
        for count, what in ((len(self.lost), "acknowledged writes lost (read older than their ack)"),
                            (len(self.stale), "stale reads (older than the write acknowledged before)")):
            lines.append(paint(f"{count:>6} {what}", "red" if count else "green"))
        if self.stale:
            lines.append("  the gateway reports a read only if freshness.is_fresh says so (freshness.py)")
        return lines + [f"  {example}" for example in (self.lost + self.stale)[:3]]


def main():
    parser = argparse.ArgumentParser(
        description="Write and read through the gateway while you break the store; then: lost? stale?",
        epilog="example: python labs/distributed-kvstore/client.py --seconds 20")
    parser.add_argument("--gateway", type=parse_nodes, default=["127.0.0.1:8080"], help="(default 8080)")
    parser.add_argument("--seconds", type=finite, default=20, help="how long to write (default 20)")
    parser.add_argument("--keys", type=int, default=4, help="keys, one writer each (default 4)")
    args = parser.parse_args()
    if args.keys < 1 or args.seconds <= 0:
        parser.error("--keys must be at least 1 and --seconds above 0")
    check, deadline = Check(args.gateway[0]), time.monotonic() + args.seconds
    threads = [threading.Thread(target=check.writer, args=(f"check-{number}", deadline), daemon=True)
               for number in range(args.keys)]
    print(f"writing {args.keys} keys through {args.gateway[0]} for {args.seconds:g} s: break the store now",
          flush=True)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("\n".join(check.report()), flush=True)
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no report\n")
    sys.exit(1 if check.lost or check.stale else 0)


if __name__ == "__main__":
    main()
