"""An ASCII bar chart of where a client's requests went: the chart client.py prints at the end.

Starts from workshop step 02's bar chart: one bar of # per node, the requests it served. Lab 1 adds a
second, red bar of x: the requests a node rejected (429). A front (or lab 3's gateway), which passes
requests on, gets a row only for what it answered itself.
"""
from labs.plumbing.colour import paint

# characters of the longest bar
WIDTH = 40


def bar_chart(counts, rejected=None, labels=None, width=WIDTH):
    """Lines of a bar chart: one bar per node, scaled so the biggest count fills width; under it a red
    bar of x for the node's rejected requests (429), when it has any."""
    rejected, labels = rejected or {}, labels or {}
    biggest = max([*counts.values(), *rejected.values()], default=0) or 1
    lines = []
    for node in dict.fromkeys([*counts, *rejected]):
        count, refused, name = counts.get(node, 0), rejected.get(node, 0), labels.get(node, node)
        if count or not refused:
            lines.append(f"{name:<21} {'#' * round(count * width / biggest):<{width}} {count} ok")
            name = ""
        if refused:
            # pad before painting: colour codes take no room
            bar = f"{'x' * round(refused * width / biggest):<{width}}"
            lines.append(f"{name:<21} {paint(bar, 'red')} {refused} rejected")
    return lines


def chart(results, nodes):
    """The chart of a client's run, from its results, (node that answered, status, seconds) each: a row
    per node that answered. A node of `nodes` that passed requests on has a row only for what it
    answered itself, labelled front."""
    answered = sorted({node for node, _, _ in results})
    fronts = {node: f"{node} front" for node in nodes if any(name not in nodes for name in answered)}
    served = {node: sum(1 for name, status, _ in results if name == node and 200 <= status < 300)
              for node in answered}
    rejected = {node: sum(1 for name, status, _ in results if name == node and status == 429)
                for node in answered}
    return ["requests per node (# ok, x rejected with 429)", *bar_chart(served, rejected, fronts)]
