"""Run the exercises' checks: every lab's, or one lab's (`python labs/check.py replication`, or 2).

What `make check` runs (`make check LAB=scalability` for one lab). In the repository every check
passes: the answers are there. In the students' edition each unwritten exercise says what to do.
"""
import subprocess
import sys
from pathlib import Path

LABS = ["scalability", "replication", "distributed-kvstore"]
ALIASES = {"kvstore": "distributed-kvstore", "1": "scalability", "2": "replication", "3": "distributed-kvstore"}


def main():
    chosen = [ALIASES.get(lab, lab) for lab in sys.argv[1:]] or LABS
    unknown = [lab for lab in chosen if lab not in LABS]
    if unknown:
        sys.exit(f"no lab {unknown[0]!r}: choose from {', '.join(LABS)}")
    failed = [lab for lab in chosen
              if subprocess.run([sys.executable, str(Path(__file__).with_name(lab) / "check.py")]).returncode]
    if len(chosen) > 1:
        print(f"{len(chosen) - len(failed)} of {len(chosen)} labs pass"
              + (f"; to do: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
