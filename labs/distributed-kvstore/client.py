"""A client of the kvstore: lab 1's client pointed at the gateway, plus a check of the store's promises.

Lab 3. Without --check it is lab 1's load client: the same requests, chart and numbers. With
--check SECONDS it writes unique values through the gateway for that long while you kill nodes,
reads each key right after every acknowledged write, then reads every key back and reports,
counts first: writes acknowledged, acknowledged writes lost, stale reads.

    python labs/distributed-kvstore/client.py --check 20
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing.colour import paint  # noqa: E402
from labs.plumbing.flags import finite, parse_nodes  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402
from labs.scalability import client as lab1  # noqa: E402
from labs.scalability.load_balancer import STRATEGIES  # noqa: E402

SHOW = 3  # examples shown of each kind of failure


class Check:
    """What the writers saw: each key's last acknowledged version, and every broken promise."""

    def __init__(self, gateway):
        self.gateway, self.lock = gateway, threading.Lock()
        self.acked = {}  # key -> (version, value) of its last acknowledged write
        self.writes = self.refused = 0
        self.stale, self.lost = [], []  # examples, as lines

    def writer(self, key, deadline):
        """Write key-0, key-1, ... as values until the deadline; read each acknowledged one straight back."""
        count = 0
        while time.monotonic() < deadline:
            count += 1
            value = f"{key}-{count}"
            status, reply = send(self.gateway, "PUT", f"/kv/{key}", {"value": value}, timeout=10)
            if status not in (200, 201):
                with self.lock:
                    self.refused += 1
                time.sleep(1 if status == 429 else 0.05)  # rate limited, or repairing: do not hammer it meanwhile
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
        return lines + [f"  {example}" for example in (self.lost + self.stale)[:SHOW]]


def verdict(count, what):
    return paint(f"{count:>6} {what}", "green" if count == 0 else "red")


def check(gateway, keys, seconds):
    """--check: one writer per key for `seconds`, then every key read back."""
    result, deadline = Check(gateway), time.monotonic() + seconds
    threads = [threading.Thread(target=result.writer, args=(f"check-{i}", deadline), daemon=True) for i in range(keys)]
    for thread in threads:
        thread.start()
    print(f"writing {keys} keys through {gateway} for {seconds:g} s: kill nodes now", flush=True)
    for thread in threads:
        thread.join()
    result.verify()
    return result


def main():
    parser = argparse.ArgumentParser(
        description="Lab 1's client against the gateway; --check: no write lost, no read stale.",
        epilog="examples:\n  python labs/distributed-kvstore/client.py --requests 30 --concurrency 4\n"
               "  python labs/distributed-kvstore/client.py --check 20",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", type=parse_nodes, default=["127.0.0.1:8080"], help="(default 127.0.0.1:8080)")
    parser.add_argument("--requests", type=int, default=30, help="how many requests in all (default 30)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads sending at once (default 4)")
    parser.add_argument("--check", type=finite, metavar="SECONDS", help="write and verify for this long instead")
    parser.add_argument("--keys", type=int, default=4, help="keys written at once by --check (default 4)")
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1 or args.keys < 1 or (args.check or 1) <= 0:
        parser.error("--requests, --concurrency and --keys must be at least 1, --check above 0")
    gateway = args.gateway[0]
    try:
        if args.check:
            result = check(gateway, args.keys, args.check)
            print("\n".join(result.report()), flush=True)
            sys.exit(1 if result.lost or result.stale else 0)
        start = time.monotonic()
        results = lab1.run(args.requests, args.concurrency, STRATEGIES["round-robin"]([gateway]), 0,
                           f"client-{os.getpid()}")  # one client, as lab 1's is, for the gateway's limiter
        lab1.NODES[:] = [gateway]  # the chart's first row; then each node that answered, as named in its answer
        print("\n".join(lab1.summary(results, time.monotonic() - start)))
    except KeyboardInterrupt:
        parser.exit(130, "\ninterrupted: no summary\n")


if __name__ == "__main__":
    main()
