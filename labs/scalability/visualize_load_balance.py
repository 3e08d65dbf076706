"""An ASCII bar chart of where a client's requests went.

Step 02 of the workshop. Pipe the 01 client into it: every line the client prints
for a request names the node that served it; the chart counts them per node.

    python workshop_materials/01_nodes/client.py --requests 60 | python workshop_materials/02_load_balancing/visualize_load_balance.py
"""
import argparse
import sys

WIDTH = 40  # characters of the longest bar


def bar_chart(counts, width=WIDTH):
    """Lines of a bar chart: one bar per node, scaled so the biggest count fills width."""
    biggest = max(counts.values(), default=0) or 1
    return [f"{node:<21} {'#' * round(count * width / biggest):<{width}} {count}"
            for node, count in counts.items()]


def count_per_node(lines):
    """Count the client's request lines per node: '<count>  <host:port>  <status> ...'."""
    counts = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[0].isdigit() and ":" in fields[1] and fields[2].isdigit():
            counts[fields[1]] = counts.get(fields[1], 0) + 1
    return dict(sorted(counts.items()))


def main():
    argparse.ArgumentParser(
        description="Read a client run on stdin; chart the requests each node served.",
        epilog="example: python workshop_materials/01_nodes/client.py --requests 60 | "
               "python workshop_materials/02_load_balancing/visualize_load_balance.py",
        formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    lines = []
    for line in sys.stdin:
        print(line, end="", flush=True)
        lines.append(line)
    print("\nrequests per node")
    print("\n".join(bar_chart(count_per_node(lines))) or "no request lines on stdin")


if __name__ == "__main__":
    main()
