"""The comparison of two graphs of one model: two steps of a run, or two runs (two versions of a
model). A pure function of the two graphs, :func:`compare`, gives a :class:`GraphDiff`.

Nodes are matched by their structural key (:mod:`gradviz.viz.records.identity`: a parameter by
its name, an op by module path, op and position), never by recording id. Structure: a key in
one graph only is a node added or removed; a key in both whose shape or dtype differs changed
in shape; one whose parents (keys, in argument order) differ was rewired. Numbers: the norm of
each node's value and gradient, their NaN/Inf counts and each parameter's update/weight ratio,
a ``Change`` per number that differs, sorted by size: ``|log10(b / a)|``, so x10 and /10 are
equally large and a number that became zero (or left zero) is infinitely large.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from gradviz.autograd.errors import ArgumentError
from gradviz.viz.records.identity import NodeShape, structural_keys, structure
from gradviz.viz.records.schema import node_view
from gradviz.viz.records.stats import norm
from gradviz.viz.records.text import number, one_line, printable, shape_text

__all__ = ["Change", "GraphDiff", "NodeRef", "Rewired", "ShapeChange", "compare"]

#: How many changes the text report lists.
TOP = 10


@dataclass(frozen=True)
class NodeRef:
    """A node named by its structural key: its module path, what it is (op name, or
    ``param``/``input``) and its shape."""

    key: str
    module: str
    op: str
    shape: tuple[int, ...] | None

    def __str__(self) -> str:
        return f"{self.key} {shape_text(self.shape)}"


@dataclass(frozen=True)
class ShapeChange:
    """A node in both graphs whose shape or dtype differs."""

    key: str
    module: str
    op: str
    a: str
    b: str

    def __str__(self) -> str:
        return f"{self.key}: {self.a} -> {self.b}"


@dataclass(frozen=True)
class Rewired:
    """A node in both graphs whose inputs (parents' keys, in argument order) differ."""

    key: str
    module: str
    op: str
    a: tuple[str, ...]
    b: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.key}: inputs {', '.join(self.a) or '-'} -> {', '.join(self.b) or '-'}"


@dataclass(frozen=True)
class Change:
    """A number of one node that differs between the graphs: ``field`` is ``|value|`` (the
    norm of its value), ``|grad|`` (of its gradient) or ``update/weight`` (a parameter's
    optimizer update over its norm), ``value NaN/Inf`` or ``grad NaN/Inf`` (how many elements
    are NaN or Inf: from 0 to any count is the largest change); ``a`` and ``b`` the two
    numbers."""

    key: str
    module: str
    op: str
    field: str
    a: float
    b: float

    @property
    def relative(self) -> float:
        """``(b - a) / |a|``: +1.0 doubled, -0.5 halved; inf when ``a`` is 0."""
        if self.a == 0:
            return 0.0 if self.b == 0 else math.copysign(math.inf, self.b)
        return (self.b - self.a) / abs(self.a)

    @property
    def ratio(self) -> float:
        """``b / a`` (inf when ``a`` is 0 and ``b`` is not)."""
        if self.a == 0:
            return 1.0 if self.b == 0 else math.copysign(math.inf, self.b)
        return self.b / self.a

    @property
    def size(self) -> float:
        """How large the change is: ``|log10(b / a)|`` (inf when one of them is 0, or a norm
        that overflowed to inf)."""
        if self.a == self.b:
            return 0.0
        if self.a == 0 or self.b == 0 or (self.a < 0) != (self.b < 0):
            return math.inf
        if math.isinf(self.a) or math.isinf(self.b):
            return math.inf
        return abs(math.log10(self.b / self.a))

    @property
    def ratio_text(self) -> str:
        """``x0.5``; ``new`` for a number that was 0 (``xinf`` for one that overflowed)."""
        return "new" if self.a == 0 and self.b != 0 else f"x{number(self.ratio)}"


def _kind_or_op(shape: NodeShape) -> str:
    return shape.op or shape.kind


def _type_text(shape: NodeShape) -> str:
    return f"{shape_text(shape.shape)} {shape.dtype or ''}".strip()


#: The numbers compared, by field name: how to read each from a node's view.
FIELDS: dict[str, Callable[[Any], float | None]] = {
    "|value|": lambda view: norm(view.value),
    "|grad|": lambda view: norm(view.grad),
    "update/weight": lambda view: _ratio(view.update),
    "value NaN/Inf": lambda view: _bad_count(view.value),
    "grad NaN/Inf": lambda view: _bad_count(view.grad),
}


#: A parameter's numbers that a frozen parameter (no gradient, no update) has none of.
_TRAINED = ("|grad|", "update/weight")


def _bad_count(stats: Mapping[str, Any] | None) -> float | None:
    """How many NaN and Inf elements the statistics count (None: no statistics)."""
    if not stats:
        return None
    return float((stats.get("nan") or 0) + (stats.get("inf") or 0))


def _ratio(update: Mapping[str, Any] | None) -> float | None:
    """A parameter's update/weight; NaN when it has none to compare (the weight was 0, or the
    step made it NaN), None when it had no update."""
    value = (update or {}).get("ratio")
    if value is None:
        return None
    return float(value) if math.isfinite(float(value)) else math.nan


@dataclass
class GraphDiff:
    """What differs between graph ``a`` and graph ``b`` (see the module docstring).

    ``added``/``removed`` (:class:`NodeRef`), ``changed_shape`` (:class:`ShapeChange`) and
    ``rewired`` (:class:`Rewired`) in graph order; ``changes`` (:class:`Change`) largest first.
    ``keys_a``/``keys_b`` map each graph's node ids to their keys; ``compared`` holds the keys
    with a number read on both sides (changed or not); ``names`` are the two sides' names in
    the report (``train.py@1``).
    """

    graph_a: nx.DiGraph
    graph_b: nx.DiGraph
    names: tuple[str, str] = ("a", "b")
    added: list[NodeRef] = field(default_factory=list)
    removed: list[NodeRef] = field(default_factory=list)
    changed_shape: list[ShapeChange] = field(default_factory=list)
    rewired: list[Rewired] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    keys_a: dict[Any, str] = field(default_factory=dict)
    keys_b: dict[Any, str] = field(default_factory=dict)
    compared: set[str] = field(default_factory=set)

    @property
    def structure_changed(self) -> bool:
        """Whether the two graphs are different models (ops, shapes, module paths, parameters
        or wiring differ)."""
        return bool(self.added or self.removed or self.changed_shape or self.rewired)

    def structure_lines(self) -> list[str]:
        """One line per structural difference (``+`` added, ``-`` removed, ``~`` changed)."""
        lines = [f"+ {ref}" for ref in self.added]
        lines += [f"- {ref}" for ref in self.removed]
        lines += [f"~ {change}" for change in self.changed_shape]
        lines += [f"~ {change}" for change in self.rewired]
        return [one_line(line) for line in lines]

    def table(self, top: int = TOP) -> str:
        """The ``top`` largest numeric changes as a text table."""
        rows = [("node", "module", "what", "a -> b", "ratio")]
        for change in self.changes[:top]:
            rows.append(
                (
                    one_line(change.key),
                    one_line(change.module or "-"),
                    change.field,
                    f"{number(change.a)} -> {number(change.b)}",
                    change.ratio_text,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )

    def format(self, top: int = TOP) -> str:
        """The report as text: the structural differences, then the ``top`` largest changes
        (none when ``top`` is 0)."""
        if not isinstance(top, int) or isinstance(top, bool) or top < 0:
            raise ArgumentError(f"top must be an integer >= 0, got {top!r}")
        a, b = (one_line(name) for name in self.names)
        out = [f"{a} vs {b}: {self._counts()}"]
        out += ["  " + line for line in self.structure_lines()]
        if self.changes and top > 0:
            shown = min(top, len(self.changes))
            out.append(f"largest relative changes ({shown} of {len(self.changes)}):")
            out.append(self.table(top))
        return printable("\n".join(out))

    def _counts(self) -> str:
        if not self.structure_changed:
            head = f"same structure ({self.graph_b.number_of_nodes()} nodes)"
        else:
            parts = [
                f"{len(self.added)} added",
                f"{len(self.removed)} removed",
                f"{len(self.changed_shape)} changed in shape",
            ]
            if self.rewired:
                parts.append(f"{len(self.rewired)} rewired")
            head = "structure differs: " + ", ".join(parts)
        return f"{head}; {len(self.changes)} numbers changed"

    def __str__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.format())}</pre>"


def compare(
    graph_a: nx.DiGraph, graph_b: nx.DiGraph, names: tuple[str, str] = ("a", "b")
) -> GraphDiff:
    """Compare two trace graphs (see the module docstring)."""
    keys_a, keys_b = structural_keys(graph_a), structural_keys(graph_b)
    shapes_a, shapes_b = structure(graph_a), structure(graph_b)
    result = GraphDiff(graph_a, graph_b, names, keys_a=keys_a, keys_b=keys_b)
    for key, shape in shapes_b.items():
        if key not in shapes_a:
            result.added.append(NodeRef(key, shape.module, _kind_or_op(shape), shape.shape))
    for key, shape in shapes_a.items():
        if key not in shapes_b:
            result.removed.append(NodeRef(key, shape.module, _kind_or_op(shape), shape.shape))
    gone = {ref.key for ref in result.removed}
    new = {ref.key for ref in result.added}
    for key, b in shapes_b.items():
        a = shapes_a.get(key)
        if a is None:
            continue
        what = _kind_or_op(b)
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            result.changed_shape.append(
                ShapeChange(key, b.module, what, _type_text(a), _type_text(b))
            )
        parents_a, parents_b = _parent_keys(a), _parent_keys(b)
        if _wiring(parents_a, gone) != _wiring(parents_b, new):
            result.rewired.append(Rewired(key, b.module, what, parents_a, parents_b))
    result.changes = _numeric_changes(result, shapes_b)
    return result


def _parent_keys(shape: NodeShape) -> tuple[str, ...]:
    return tuple(key for key, _ in shape.parents)


def _wiring(parents: tuple[str, ...], changed: set[str]) -> tuple[str | None, ...]:
    """Parents with those added or removed left blank: a node whose input was replaced (a
    ReLU by a Tanh) is reported once, as the replacement, not again as rewired."""
    return tuple(None if key in changed else key for key in parents)


def _numeric_changes(result: GraphDiff, shapes_b: Mapping[str, NodeShape]) -> list[Change]:
    """Every compared number that differs between nodes of one key, largest change first (and
    the keys compared, into ``result.compared``)."""
    node_a = {key: node for node, key in result.keys_a.items()}
    changes: list[Change] = []
    for node, key in result.keys_b.items():
        if key not in node_a:
            continue
        view_a = node_view(result.graph_a, node_a[key])
        view_b = node_view(result.graph_b, node)
        shape = shapes_b[key]
        for name, read in FIELDS.items():
            a, b = read(view_a), read(view_b)
            if shape.kind == "param" and name in _TRAINED and (a is None) != (b is None):
                a, b = a or 0.0, b or 0.0  # frozen on one side (requires_grad_(False)): 0
            if a is None or b is None:
                continue
            if name == "update/weight" and (math.isnan(a) or math.isnan(b)):
                continue  # no ratio to compare: the weight was 0, or the step made it NaN
            result.compared.add(key)
            if a != b:
                changes.append(Change(key, shape.module, _kind_or_op(shape), name, a, b))
    order = {key: i for i, key in enumerate(result.keys_b.values())}
    changes.sort(key=lambda c: (-c.size, order[c.key], list(FIELDS).index(c.field)))
    return changes
