"""A client of the kvstore that checks its promises while you break it.

Lab 3. For --seconds it writes unique values through the gateway, one writer per key, and reads each
key right after every acknowledged write; then it reads every key back. It reports like Jepsen's
checkers, counts first: writes acknowledged, acknowledged writes lost, stale reads; then examples.
(Load without checks: lab 1's client, pointed at the gateway: --nodes 8080.)

    python labs/distributed-kvstore/client.py --seconds 20
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

# examples shown of each kind of failure
SHOW = 3


class Check:
    """What the writers saw: each key's last acknowledged version, and every broken promise."""

    def __init__(self, gateway):
        self.gateway, self.lock = gateway, threading.Lock()
        # key -> (version, value) of its last acknowledged write
        self.acked, self.writes, self.refused, self.stale, self.lost = {}, 0, 0, [], []

    def writer(self, key, deadline):
        """Write key-1, key-2, ... as values until the deadline; read each acknowledged one straight back."""
        count = 0
        while time.monotonic() < deadline:
            count += 1
            value = f"{key}-{count}"
            status, reply = send(self.gateway, "PUT", f"/kv/{key}", {"value": value}, timeout=10)
            if status not in (200, 201):
                with self.lock:
                    self.refused += 1
                # rate limited, or repairing: do not hammer it meanwhile
                time.sleep(1 if status == 429 else 0.05)
                continue
            with self.lock:
                self.acked[key] = (reply["version"], value)
                self.writes += 1
            status, read = self.read(key)
            if status == 200 and read["version"] < reply["version"]:
                with self.lock:
                    self.stale.append(f"{key}: read {read['value']} v{read['version']} right after "
                                      f"{value} v{reply['version']} was acknowledged")

    def verify(self):
        """Read every key back: the value must be its last acknowledged write, or newer."""
        for key, (version, value) in sorted(self.acked.items()):
            status, read = self.read(key)
            if status != 200 or read["version"] < version:
                self.lost.append(f"{key}: acknowledged {value} v{version}, "
                                 f"read back {read.get('value', read.get('error', status))}")

    def read(self, key):
        """GET key through the gateway; a rate limiter's 429 is waited out (up to 10 s): it is no answer."""
        for _ in range(10):
            status, reply = send(self.gateway, "GET", f"/kv/{key}", timeout=10)
            if status != 429:
                return status, reply
            time.sleep(1)
        return status, reply

    def report(self):
        lines = [f"{self.writes} writes acknowledged, {self.refused} refused (503: repairing; 429: rate limited)",
                 verdict(len(self.lost), "acknowledged writes lost (the key reads older than its last ack)"),
                 verdict(len(self.stale), "stale reads (older than the write acknowledged just before)")]
        if self.stale:
            lines.append("  the gateway reports a read only if freshness.is_fresh says so (freshness.py)")
        return lines + [f"  {example}" for example in (self.lost + self.stale)[:SHOW]]


def verdict(count, what):
    return paint(f"{count:>6} {what}", "green" if count == 0 else "red")


def main():
    parser = argparse.ArgumentParser(
        description="Write and read through the gateway while you break the store; then: lost? stale?",
        epilog="example: python labs/distributed-kvstore/client.py --seconds 20",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", type=parse_nodes, default=["127.0.0.1:8080"], help="(default :8080)")
    parser.add_argument("--seconds", type=finite, default=20, help="how long to write (default 20)")
    parser.add_argument("--keys", type=int, default=4, help="keys written at once, one writer each (default 4)")
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
        check.verify()
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no report\n")
    print("\n".join(check.report()), flush=True)
    sys.exit(1 if check.lost or check.stale else 0)


if __name__ == "__main__":
    main()
