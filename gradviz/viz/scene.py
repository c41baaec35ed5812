"""What a picture shows: the nodes of a view, the module each belongs to, and how deep to draw.

The backward view keeps the loss and what it was computed from (through ``detach()`` too: what
a detach cut off is drawn without a gradient); the forward view keeps every node. A node's
module is its ``module`` attribute (a parameter without one takes the module its dotted name
points to). ``depth=N`` collapses modules nested deeper than N into one box each;
without a depth, a view of more ops than the budget takes the largest depth that fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx


def natural_key(node_id: Any) -> tuple:
    match = re.fullmatch(r"([A-Za-z_]*)(\d+)", str(node_id))
    return (0, match.group(1), int(match.group(2))) if match else (1, str(node_id), 0)


def upstream(graph: nx.DiGraph, root: Any) -> set[Any]:
    """``root`` and what it was computed from, following a ``detach()`` result on to what it
    was detached from (the layers a detach cut off from the gradient stay in the picture)."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in (*graph.predecessors(node), graph.nodes[node].get("detached_from")):
            if parent is not None and parent in graph and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


@dataclass(frozen=True)
class Mark:
    """Something a check found about a node, drawn on it (``render.build(..., marks=...)``).

    ``level``: ``"error"`` (red: a failed gradient check, an accidental broadcast),
    ``"birth"`` (where a NaN/Inf was born: red border), ``"contaminated"`` (carries a NaN/Inf
    from a birth: shaded), ``"warning"`` (orange border: no gradient, dead ReLU), ``"ok"`` or
    ``"note"`` (a line of text only). ``text`` is added to the node's label; ``views`` says in
    which pictures.
    """

    level: str
    text: str = ""
    views: tuple[str, ...] = ("forward", "backward")


@dataclass
class Group:
    """A collapsed module: one drawn node standing for every node under ``path``."""

    id: str
    path: str
    members: list[str]


class Scene:
    """The graph prepared for drawing: selected nodes, owners, module depth, groups."""

    def __init__(self, graph: nx.DiGraph, view: str) -> None:
        self.graph = graph
        self.view = view
        self.root = graph.graph.get("root")
        if self.root not in graph:
            self.root = None
        nodes: Iterable[Any] = graph.nodes
        if view == "backward" and self.root is not None:
            nodes = upstream(graph, self.root)
        self.nodes = sorted(nodes, key=natural_key)
        self.selected = set(self.nodes)
        modules = dict(graph.graph.get("modules") or {})
        self.modules = modules
        self.owner = {n: self._owner(n, graph.nodes[n]) for n in self.nodes}
        self.parts = {
            n: tuple(p for p in self.owner[n].split(".") if p) if self.owner[n] else ()
            for n in self.nodes
        }
        self.max_depth = max((len(p) for p in self.parts.values()), default=0)

    def _owner(self, node: Any, attrs: Mapping[str, Any]) -> str:
        module = attrs.get("module") or ""
        if not module and attrs.get("kind") == "param":
            name = str(attrs.get("name") or "")
            if "." in name and name.rsplit(".", 1)[0] in self.modules:
                module = name.rsplit(".", 1)[0]
        return str(module)

    def count(self, depth: int | None) -> int:
        """How many op boxes the picture has when modules deeper than ``depth`` are collapsed
        (a collapsed module counts as one; inputs and parameters ride along and do not)."""
        groups = set()
        count = 0
        for node in self.nodes:
            parts = self.parts[node]
            if depth is not None and len(parts) > depth:
                groups.add(parts[: depth + 1])
            elif self.graph.nodes[node].get("kind", "op") == "op":
                count += 1
        return count + len(groups)

    def choose_depth(self, depth: int | None, max_nodes: int) -> tuple[int | None, bool]:
        """The depth to draw, and whether the budget chose it."""
        if depth is not None:
            if depth < 0:
                raise ValueError(f"depth must be 0 or more, got {depth}")
            return (None if depth >= self.max_depth else depth), False
        if self.max_depth == 0 or self.count(None) <= max_nodes:
            return None, False  # within budget, or no module to collapse
        for candidate in range(self.max_depth - 1, -1, -1):
            if self.count(candidate) <= max_nodes:
                return candidate, True
        return 0, True
