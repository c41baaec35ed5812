"""Leaves used all over a picture, drawn again at their uses.

A parameter or input that feeds ops on many ranks (an RNN cell's weights at each of 60 time
steps, a weight reused down a long chain) would send one edge to each of them: the layout
program routes every such edge through all the ranks it spans, in time that grows with the
square of the graph's length (a 60-step RNN: 40 s; 250 steps: hours). Past ``SHARED_USES``
drawn uses, the leaf is drawn in full at its first use and again, small and dashed, beside each
later one (its name and how many uses it has); the copies are not clickable: the page's
statistics stay on the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from gradviz.viz.draw.labels import attr_text, html_text

__all__ = ["SHARED_USES", "copy_attrs", "shared_uses"]

#: a leaf with more drawn uses than this is drawn again at each use after its first
SHARED_USES = 8


def shared_uses(
    graph: nx.DiGraph, edges: Sequence[tuple[Any, Any, str, str, bool]]
) -> dict[int, str]:
    """``{position in edges: the copy's drawn id}`` of each edge to draw from a copy of its
    leaf (``edges``: (parent, child, drawn parent, drawn child, grouped), in drawing order)."""
    uses = Counter(
        a
        for parent, _, a, _, grouped in edges
        if not grouped and graph.nodes[parent].get("kind", "op") != "op"
    )
    copies: dict[int, str] = {}
    seen: Counter[str] = Counter()
    for position, (_, _, a, _, grouped) in enumerate(edges):
        if grouped or uses[a] <= SHARED_USES:
            continue
        seen[a] += 1
        if seen[a] > 1:
            copies[position] = f"{a}_use{seen[a]}"
    return copies


def copy_attrs(graph: nx.DiGraph, leaf: Any, fill: str, uses: int) -> dict[str, str]:
    """The attributes of a copy of ``leaf`` drawn at one of its ``uses`` uses."""
    attrs = graph.nodes[leaf]
    name = attrs.get("name") or attrs.get("kind") or "input"
    return {
        "label": (
            f'<<b>{html_text(name, middle=True)}</b><br/><font point-size="8">'
            f"used {uses:,} times</font>>"
        ),
        "style": "filled,dashed",
        "fillcolor": fill,
        "tooltip": attr_text(
            f"{name}, drawn again at each of its {uses:,} uses to keep the layout small; "
            "its statistics are on the first"
        ),
    }
