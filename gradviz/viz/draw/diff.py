"""The picture of a diff: one graph, drawn as the forward picture of :mod:`gradviz.viz.draw.render`
is (same labels, clusters and layout), of graph ``b`` plus what only graph ``a`` had.

Vocabulary (drawn as the picture's legend):

==========================  ==================================================================
added (only in b)           thick green border, ``+ added``
removed (only in a)         a dashed red ghost, grey text, ``- removed``, wired as it was in a
changed in shape or dtype   thick orange border, ``(4, 32) float32 -> (4, 16) float32``
numbers                     fill on a diverging scale of the node's largest change (of
                            ``|value|``, ``|grad|``, ``update/weight``, NaN/Inf counts),
                            b / a: blue shrank, red grew, near-white about the same (10%)
top changes                 ``#1 |grad| 0.12 -> 0.45 (x3.75)`` in bold on the largest ones
==========================  ==================================================================

:class:`DiffReport` is :class:`gradviz.viz.diagnose.diff.GraphDiff` with ``render(path)``;
:func:`diff` (``gradviz.diff``) makes one from two traces or graphs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from gradviz.autograd.errors import GradvizError
from gradviz.viz.diagnose.diff import Change, GraphDiff, compare
from gradviz.viz.diagnose.report import Level, Mark
from gradviz.viz.draw.labels import Labels, html_text
from gradviz.viz.draw.layout import Drawing
from gradviz.viz.draw.output import Rendered, format_for, write_drawing
from gradviz.viz.draw.render import DEFAULT_MAX_NODES, _Builder
from gradviz.viz.draw.scene import Scene
from gradviz.viz.draw.style import (
    ADDED_LINE,
    DIM_TEXT,
    DIVERGING,
    DIVERGING_EDGES,
    FONT,
    OP_FILL,
    REMOVED_LINE,
    WARN_LINE,
)
from gradviz.viz.records.text import number

__all__ = [
    "DiffError",
    "DiffReport",
    "NothingToCompare",
    "build_diff",
    "diff",
    "graph_to_compare",
    "write_diff",
]

#: How many of the largest changes are written on their nodes.
LABELLED = 8


class DiffError(GradvizError, TypeError):
    """``gradviz.diff`` was given something that is not a trace or a trace graph, or bad names."""


class NothingToCompare(GradvizError, ValueError):
    """A trace that recorded nothing, or kept no backward pass in full: a diff of it would
    report every node of the other side as added."""


@dataclass(frozen=True)
class _Look:
    """How one node of the merged graph is drawn: ``status`` (added, removed, same), the fill
    of its largest change (None: no number compared) and its bold text lines."""

    status: str
    fill: str | None
    lines: tuple[str, ...] = ()


def diverging_fill(ratio: float) -> str:
    """The colour of a change of ratio ``b / a`` on the diverging scale."""
    if math.isnan(ratio):
        return DIVERGING[len(DIVERGING) // 2]
    ratio = abs(ratio)
    for colour, edge in zip(DIVERGING, DIVERGING_EDGES, strict=False):
        if ratio < edge:
            return colour
    return DIVERGING[-1]


def _change_text(change: Change, rank: int) -> str:
    return f"#{rank} {change.field} {number(change.a)} -> {number(change.b)} ({change.ratio_text})"


# ------------------------------------------------------------------------------ the merged graph
def merged_graph(result: GraphDiff) -> tuple[nx.DiGraph, dict[Any, _Look], dict[Any, list[Mark]]]:
    """Graph ``b`` plus a ghost of every node only ``a`` had (wired as in ``a``); how each
    node is drawn; the text marks on them."""
    a, b = result.graph_a, result.graph_b
    merged = b.copy()
    merged.graph["modules"] = _merged_modules(a.graph.get("modules"), b.graph.get("modules"))
    node_b = {key: node for node, key in result.keys_b.items()}
    removed = {ref.key for ref in result.removed}
    ghost: dict[Any, Any] = {}
    for node, key in result.keys_a.items():
        if key in removed:
            ghost[node] = f"removed{len(ghost) + 1}"
            merged.add_node(ghost[node], **a.nodes[node])
    for parent, child, data in a.edges(data=True):
        if parent in ghost or child in ghost:
            ends = [ghost.get(n) or node_b.get(result.keys_a[n]) for n in (parent, child)]
            if None not in ends:
                merged.add_edge(*ends, **data)
    looks, marks = _looks(result, node_b, ghost)
    return merged, looks, marks


def _merged_modules(a: Mapping[str, str] | None, b: Mapping[str, str] | None) -> dict[str, str]:
    """The module table of both graphs; a path whose class changed reads ``Linear (a: ReLU)``."""
    a, b = a or {}, b or {}
    merged = {**a, **b}
    for path, cls in a.items():
        if path in b and b[path] != cls:
            merged[path] = f"{b[path]} (a: {cls})"
    return merged


def _looks(
    result: GraphDiff, node_b: Mapping[str, Any], ghost: Mapping[Any, Any]
) -> tuple[dict[Any, _Look], dict[Any, list[Mark]]]:
    looks: dict[Any, _Look] = {}
    marks: dict[Any, list[Mark]] = {}
    for ghost_id in ghost.values():
        looks[ghost_id] = _Look("removed", None, ("- removed",))
    for ref in result.added:
        looks[node_b[ref.key]] = _Look("added", None, ("+ added",))
    for change in result.changed_shape:
        marks.setdefault(node_b[change.key], []).append(
            Mark(Level.WARNING, f"{change.a} -> {change.b}")
        )
    for change in result.rewired:
        marks.setdefault(node_b[change.key], []).append(Mark(Level.WARNING, "inputs changed"))
    largest: dict[str, Change] = {}
    for change in result.changes:  # largest first: the first one of a key colours it
        largest.setdefault(change.key, change)
    labelled: dict[str, list[str]] = {}
    for rank, change in enumerate(result.changes[:LABELLED], start=1):
        labelled.setdefault(change.key, []).append(_change_text(change, rank))
    for key, node in node_b.items():
        if node in looks:
            continue
        change = largest.get(key)
        if change is not None:
            fill = diverging_fill(change.ratio)
        elif key in result.compared:
            fill = DIVERGING[len(DIVERGING) // 2]
        else:
            fill = None
        looks[node] = _Look("same", fill, tuple(labelled.get(key, ())))
    return looks, marks


# ------------------------------------------------------------------------------ drawing
class _DiffLabels(Labels):
    """The forward picture's labels, restyled by each node's :class:`_Look`."""

    def __init__(self, scene: Scene, marks: Mapping[Any, list[Mark]], looks: Mapping[Any, _Look]):
        self.looks = looks
        super().__init__(scene, marks)

    def node(self, n: Any) -> dict[str, str]:
        attrs = super().node(n)
        look = self.looks.get(n)
        if look is None:
            return attrs
        if look.lines:
            colour = {"added": ADDED_LINE, "removed": REMOVED_LINE}.get(look.status)
            attrs["label"] = _with_lines(attrs["label"], look.lines, colour)
        if look.status == "removed":
            style = attrs.get("style", "filled")
            attrs.update(
                style=style if "dashed" in style else style + ",dashed",
                color=REMOVED_LINE,
                penwidth="2",
                fillcolor="white",
                fontcolor=DIM_TEXT,
            )
        elif look.status == "added":
            attrs.update(color=ADDED_LINE, penwidth="3")
        if look.fill is not None:
            attrs["fillcolor"] = look.fill
            if look.fill in (DIVERGING[0], DIVERGING[-1]):
                attrs["fontcolor"] = "white"
            else:
                attrs.pop("fontcolor", None)
        return attrs


def _with_lines(label: str, lines: Iterable[str], colour: str | None) -> str:
    """``label`` (a table from :class:`Labels`) with ``lines`` added under it, bold."""
    rows = []
    for line in lines:
        text = f"<b>{html_text(line, 60)}</b>"
        if colour:
            text = f'<font color="{colour}">{text}</font>'
        rows.append(f'<tr><td><font point-size="9">{text}</font></td></tr>')
    head, tail = label.rsplit("</table>", 1)
    return head + "".join(rows) + "</table>" + tail


class _DiffBuilder(_Builder):
    """The forward picture of the merged graph, with the diff's labels, title and legend."""

    def __init__(
        self,
        scene: Scene,
        depth: int | None,
        auto: bool,
        max_nodes: int,
        marks: Mapping[Any, list[Mark]],
        looks: Mapping[Any, _Look],
        names: tuple[str, str],
    ) -> None:
        super().__init__(scene, depth, auto, max_nodes, marks)
        self.labels = _DiffLabels(scene, self.marks, looks)
        self.names = names
        self.statuses = {look.status for look in looks.values()}
        self.shape_marked = bool(marks)

    def _title(self) -> str:
        a, b = (html_text(name) for name in self.names)
        return f"<b>diff</b>  |  {a} (a) vs {b} (b)  |  forward, numbers b / a"

    def _legend(self, dot: Any) -> None:
        def row(colour: str, text: str, border: str = "1", line: str = "black") -> str:
            return (
                f'<tr><td bgcolor="{colour}" border="{border}" color="{line}" width="26"></td>'
                f'<td align="left"><font point-size="9">{text}</font></td></tr>'
            )

        marks = (
            ("added" in self.statuses, OP_FILL, ADDED_LINE, "+ added (only in b)"),
            ("removed" in self.statuses, "white", REMOVED_LINE, "- removed (only in a), dashed"),
            (self.shape_marked, OP_FILL, WARN_LINE, "changed shape / inputs"),
        )
        rows = [
            row(fill, f'<font color="{line}"><b>{text}</b></font>', "3", line)
            for shown, fill, line, text in marks
            if shown
        ]
        labels = (
            "b/a below 1/4",
            "1/4 to 1/2",
            "1/2 to 0.9",
            "about the same",
            "1.1 to 2",
            "2 to 4",
            "above 4",
        )
        for colour, text in zip(DIVERGING, labels, strict=True):
            rows.append(row(colour, text))
        rows.append(
            row(
                "white",
                "fill: the largest change of |value|, |grad|, update/weight, NaN/Inf count",
                "0",
            )
        )
        rows.append(row("white", "#n: the n-th largest change", "0"))
        with dot.subgraph(name="cluster_legend") as legend:
            legend.attr(
                label="<<b>legend</b>>",
                style="rounded",
                color="#9e9e9e",
                fontname=FONT,
                fontsize="10",
            )
            legend.node(
                "legend",
                label='<<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
                + "".join(rows)
                + "</table>>",
                shape="plain",
                style="",
                fillcolor="white",
            )


def build_diff(
    result: GraphDiff, depth: int | None = None, max_nodes: int = DEFAULT_MAX_NODES
) -> Drawing:
    """The picture of ``result`` as a :class:`Drawing` (a Digraph)."""
    merged, looks, marks = merged_graph(result)
    scene = Scene(merged, "forward")
    chosen, auto = scene.choose_depth(depth, max_nodes)
    return _DiffBuilder(scene, chosen, auto, max_nodes, marks, looks, result.names).draw()


def write_diff(
    result: GraphDiff,
    path: str | os.PathLike[str],
    format: str | None = None,
    depth: int | None = None,
) -> Rendered:
    """Draw ``result`` and write exactly ``path`` (svg, png or dot; from the suffix unless
    ``format`` is given)."""
    fmt = format_for(Path(path), format)  # before the drawing: a bad name fails at once
    return write_drawing(build_diff(result, depth=depth), "diff", path, fmt)


# ------------------------------------------------------------------------------ the API
class DiffReport(GraphDiff):
    """What differs between two graphs (:class:`~gradviz.viz.diagnose.diff.GraphDiff`:
    ``structure_changed``, ``added``, ``removed``, ``changed_shape``, ``rewired``, ``changes``
    largest first; ``str()`` is the table) and its picture, :meth:`render`."""

    def render(
        self, path: str | os.PathLike[str], format: str | None = None, depth: int | None = None
    ) -> Rendered:
        """Draw the diff to exactly ``path`` (see :func:`write_diff`)."""
        return write_diff(self, path, format=format, depth=depth)

    def _repr_html_(self) -> str:
        """Jupyter: the text report and the picture (the text alone without a layout program)."""
        text = super()._repr_html_()
        try:
            picture = build_diff(self).pipe(format="svg", encoding="utf-8")
        except GradvizError:
            return text
        return text + picture


def graph_to_compare(obj: Any, which: str) -> nx.DiGraph:
    """The graph a diff compares of ``obj``: a trace graph itself, a trace's last pass (before
    any backward: its forward graph). ``which`` names ``obj`` in the errors: :class:`DiffError`
    for anything else, :class:`NothingToCompare` for a trace that recorded nothing or kept no
    backward pass in full."""
    if isinstance(obj, nx.DiGraph):
        return obj
    graph = getattr(obj, "graph", None)
    if not isinstance(graph, nx.DiGraph):
        raise DiffError(
            f"{which} must be a Trace (gradviz.trace(), gradviz.load_trace) or a trace graph, "
            f"got {type(obj).__name__}"
        )
    if getattr(obj, "backward_calls", 0) and not getattr(obj, "passes", True):
        raise NothingToCompare(
            f"{which} kept no backward pass in full (detail='summary' with keep_full=0), so it "
            "has no step to compare; trace with keep_full=1 to keep the last one"
        )
    if graph.number_of_nodes() == 0:
        raise NothingToCompare(
            f"{which} recorded nothing (no op ran inside its 'with gradviz.trace()' block), so "
            "it has no step to compare"
        )
    return graph


def _name_of(graph: nx.DiGraph, default: str) -> str:
    script, index = graph.graph.get("script"), graph.graph.get("pass")
    if script and index is not None:
        return f"{os.path.basename(str(script))}@{index}"
    return default


def diff(trace_a: Any, trace_b: Any, names: tuple[str, str] | None = None) -> DiffReport:
    """Compare two traces (or trace graphs: ``Trace.graph``, the last pass) of one model: two
    steps of a run, or two runs. Returns a :class:`DiffReport`; ``names`` label the sides
    (default: ``script@step`` when the graphs know it, else ``a`` and ``b``). A trace that
    recorded nothing or kept no pass in full raises :class:`NothingToCompare`."""
    try:
        graph_a = graph_to_compare(trace_a, "trace_a")
        graph_b = graph_to_compare(trace_b, "trace_b")
    except (DiffError, NothingToCompare) as error:
        raise type(error)(f"gradviz.diff: {error}") from None
    if names is None:
        names = (_name_of(graph_a, "a"), _name_of(graph_b, "b"))
        if names[0] == names[1]:
            names = (f"{names[0]} (a)", f"{names[1]} (b)")
    elif (
        not isinstance(names, tuple | list)
        or len(names) != 2
        or not all(isinstance(n, str) for n in names)
    ):
        raise DiffError(f"gradviz.diff: names must be two strings (a, b), got {names!r}")
    return DiffReport(**vars(compare(graph_a, graph_b, tuple(names))))
