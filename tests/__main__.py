"""Run every test: python -m tests (what `make test` does). Ends with 'N passed, N failed, N skipped'.

The test files run three at a time, each in a process of its own: most tests wait for real processes,
so three at once take under half the time on a 2-core machine. `python -m tests tests.test_lab1_scalability`
runs one file in this process.
"""
import re
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

AT_ONCE = 3  # test files running at the same time
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def run_here(names):
    """Run the named test modules (all of them if none) in this process; print the summary line."""
    loader = unittest.defaultTestLoader
    suite = loader.loadTestsFromNames(names) if names else loader.discover("tests", top_level_dir=".")
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))  # a module skipped whole runs no test
    print(f"{passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if result.wasSuccessful() and (result.testsRun or result.skipped) else 1


def run_file(name):
    """One test module in a process of its own; returns its output."""
    return subprocess.run([sys.executable, "-m", "tests", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True).stdout


def main():
    if sys.argv[1:]:
        sys.exit(run_here(sys.argv[1:]))
    files = sorted(Path("tests").glob("test_*.py"), key=lambda path: -path.stat().st_size)  # the longest first
    names = [f"tests.{path.stem}" for path in files]
    totals = [0, 0, 0]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for name, output in zip(names, pool.map(run_file, names)):
            print(f"\n==== {name}\n{output}", end="", flush=True)
            counts = SUMMARY.search(output)
            for index, count in enumerate(counts.groups() if counts else (0, 1, 0)):  # no summary: it crashed
                totals[index] += int(count)
    print(f"\n{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    sys.exit(0 if totals[0] and not totals[1] else 1)


main()
