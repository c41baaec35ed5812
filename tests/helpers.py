"""Helpers shared by the tests: example scripts, the lines of their source, the nodes and edges
of a graph or of the DOT drawn from one."""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: DOT statements that look like a node but are not one (the legend is a node of its own)
_KEYWORDS = {"graph", "node", "edge", "legend"}


def line_of(name: str, text: str) -> str:
    """``"name.py:N"`` of the first line of examples/name.py containing ``text``."""
    lines = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if text in line)
    return f"{name}.py:{number}"


def graph_nodes(graph: nx.DiGraph, **match: object) -> list[str]:
    """The nodes of a trace graph whose attributes equal ``match``."""
    return [n for n, a in graph.nodes(data=True) if all(a[k] == v for k, v in match.items())]


def dot_nodes(source: str) -> list[str]:
    """The node ids drawn in DOT ``source``."""
    found = re.findall(r"^\s*(\w+) \[", source, re.M)
    return [n for n in found if n not in _KEYWORDS]


def dot_edges(source: str) -> list[tuple[str, str]]:
    """Drawn edges (not the invisible ones that pin a parameter to one side of its op)."""
    return re.findall(r"^\s*(\w+) -> (\w+)(?!.*style=invis)", source, re.M)
