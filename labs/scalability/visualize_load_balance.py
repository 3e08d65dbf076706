"""An ASCII bar chart of where a client's requests went.

Step 02 of the workshop. Pipe the 01 client into it: every line the client prints
for a request names the node that served it; the chart counts them per node.
Lab 1 adds a second, red bar of x per node: the requests it rejected (429), and chart(),
which draws a client's run from its results, as client.py does at the end.

    python labs/scalability/client.py --requests 60 | python labs/scalability/visualize_load_balance.py
"""
import argparse
import sys
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing.colour import paint

# characters of the longest bar
WIDTH = 40


def bar_chart(counts, width=WIDTH, rejected=None, labels=None):
    """Lines of a bar chart: one bar per node, scaled so the biggest count fills width; under it
    a red bar of x for the node's rejected requests (429), when it has any."""
    rejected, labels = rejected or {}, labels or {}
    biggest = max([*counts.values(), *rejected.values()], default=0) or 1
    lines = []
    for node in dict.fromkeys([*counts, *rejected]):
        count, refused = counts.get(node, 0), rejected.get(node, 0)
        name = labels.get(node, node)
        if count or not refused:
            lines.append(f"{name:<21} {'#' * round(count * width / biggest):<{width}} {count} ok")
            name = ""
        if refused:
            # pad before painting: colour codes take no room
            bar = f"{'x' * round(refused * width / biggest):<{width}}"
            lines.append(f"{name:<21} {paint(bar, 'red')} {refused} rejected")
    return lines


def chart(results, nodes):
    """The chart of a client's run, from its results, (node that answered, status, seconds) per request:
    a row for each node that answered. A node the client sent to (nodes) that passed requests on to
    others (a front, a gateway) has a row only for what it answered itself, and says it is a front."""
    answered = sorted({node for node, _, _ in results})
    fronts = {node: f"{node} front" for node in nodes if any(name not in nodes for name in answered)}
    served = {node: sum(1 for name, status, _ in results if name == node and 200 <= status < 300)
              for node in answered}
    rejected = {node: sum(1 for name, status, _ in results if name == node and status == 429)
                for node in answered}
    return ["requests per node (# ok, x rejected with 429)", *bar_chart(served, rejected=rejected, labels=fronts)]


def count_per_node(lines, status="2"):
    """Count the client's request lines per node: '<count>  <host:port>  <status> ...' whose status starts so."""
    counts = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[0].isdigit() and ":" in fields[1] and fields[2].startswith(status):
            counts[fields[1]] = counts.get(fields[1], 0) + 1
    return dict(sorted(counts.items()))


def main():
    argparse.ArgumentParser(
        description="Read a client run on stdin; chart the requests each node served.",
        epilog="example:\n  python labs/scalability/client.py --requests 60 |\n"
               "      python labs/scalability/visualize_load_balance.py",
        formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    lines = []
    for line in sys.stdin:
        print(line, end="", flush=True)
        lines.append(line)
    print("\nrequests per node")
    print("\n".join(bar_chart(count_per_node(lines), rejected=count_per_node(lines, "429")))
          or "no request lines on stdin")


if __name__ == "__main__":
    main()
