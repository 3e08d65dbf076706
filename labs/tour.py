"""The tour: the three labs' scripted demos, one after the other, each under a heading.

What `make demo` runs. Every demo starts its own processes and stops them before the next.

    python labs/tour.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `import labs...`
from labs.plumbing import processes  # noqa: E402

LABS = Path(__file__).resolve().parent
DEMOS = [("Lab 1, scalability: load balancing and a rate limiter", ["scalability/demo.py"]),
         ("Lab 2, replication: a leader, followers, quorums W and R",
          ["replication/coordinator.py", "--script", LABS / "replication/demo.txt"]),
         ("Lab 3, distributed kvstore: gateway, registry, a crash, its repair", ["distributed-kvstore/demo.py"])]


def main():
    for number, (title, command) in enumerate(DEMOS, 1):
        print(f"\n{'=' * 79}\n  {number}/{len(DEMOS)}  {title}\n{'=' * 79}", flush=True)
        demo = processes.start(LABS / command[0], *command[1:], quiet=False)
        try:
            if demo.wait() != 0:
                sys.exit(f"the demo of lab {number} failed (exit code {demo.returncode})")
        finally:
            processes.stop(demo)


if __name__ == "__main__":
    processes.run_script(main)
