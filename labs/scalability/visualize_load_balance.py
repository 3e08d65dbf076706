"""An ASCII bar chart of where a client's requests went: the chart client.py prints at the end.

Step 02's chart, a bar of # per node (the requests it served), plus a red bar of x: those it
rejected (429). A front (or lab 3's gateway) gets a row only for what it answered itself.
"""
from labs.plumbing.colour import paint

WIDTH = 40  # characters of the longest bar


def bar_chart(counts, rejected=None, labels=None, width=WIDTH):
    """Lines of a bar chart: a bar per node, the biggest count filling width; under it a red bar
    of x for the node's rejected requests (429), if any."""
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
    """The chart of a client's results, (node that answered, status, seconds) each: a row per
    node that answered; a node of `nodes` that passed requests on is labelled front."""
    answered = sorted({node for node, _, _ in results})
    passed_on = any(name not in nodes for name in answered)
    fronts = {node: f"{node} front" for node in nodes if passed_on}
    served = {node: sum(1 for name, status, _ in results if name == node and 200 <= status < 300)
              for node in answered}
    rejected = {node: sum(1 for name, status, _ in results if name == node and status == 429)
                for node in answered}
    return ["requests per node (# ok, x rejected with 429)", *bar_chart(served, rejected, fronts)]
