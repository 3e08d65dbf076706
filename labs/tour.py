"""The tour: the three labs' scripted demos, one after the other, each under a heading.

What `make demo` runs. Every demo starts its own processes and stops them before the next.

    python labs/tour.py
"""
import subprocess
import sys
from pathlib import Path

LABS = Path(__file__).resolve().parent
DEMOS = [("Lab 1, scalability: load balancing strategies and a rate limiter", ["scalability/demo.py"]),
         ("Lab 2, replication: a leader, followers, write and read quorums",
          ["replication/coordinator.py", "--script", str(LABS / "replication/demo.txt")]),
         ("Lab 3, distributed kvstore: gateway, registry, a crash and its repair", ["distributed-kvstore/demo.py"])]


def main():
    for number, (title, command) in enumerate(DEMOS, 1):
        print(f"\n{'=' * 100}\n  {number}/{len(DEMOS)}  {title}\n{'=' * 100}", flush=True)
        result = subprocess.run([sys.executable, str(LABS / command[0]), *command[1:]])
        if result.returncode != 0:
            sys.exit(f"the demo of lab {number} failed (exit code {result.returncode})")


if __name__ == "__main__":
    main()
