"""Graph -> DOT -> SVG/PNG: the only place in gradviz that writes DOT.

Visual vocabulary (shown in every picture as a legend; close to torchviz's colours):

============================  =================================================================
input (data, targets)         rounded box, grey
parameter (``fc1.weight``)    rounded box, light blue, named by module path, with its shape
op (``Linear``, ``Relu``)     box, light grey: op name, output shape and dtype, value summary
loss (the graph's root)       box, green, bold border
needs no gradient             dimmed: grey text, dashed grey border (``requires_grad=False``)
module                        dashed rounded cluster labelled ``path: Class`` (nested)
collapsed module              3-D box: ``path: Class``, op count, input and output shapes
============================  =================================================================

Backward view: arrows point the way the gradient flows, from the loss down to the parameters
(the loss is drawn at the top). Every node carries its backward step badge (``#n``, the order
in which the engine handled it) and its gradient norm, and is filled on a log scale of that
norm: six bins between the smallest and the largest non-zero norm of the picture, light yellow
(small) to dark brown (large); the legend prints each bin's range. Special cases keep their
own look: NaN or Inf in a gradient is red; a gradient that was computed and is exactly zero is
white with ``grad = 0``; a gradient that was never computed (``grad`` is ``None``) is a dashed
grey outline with ``no grad``. Parameters keep a light blue name cell and add the optimizer's
update-to-weight ratio when a step was recorded.

Marks (``build(..., marks=...)``, what ``gradviz check`` found): a failed gradient check or an
accidental broadcast is dark red (darker than a NaN gradient) with a thick border and its
finding in bold; the op where a NaN/Inf was born is drawn the same way, and the nodes it
contaminated are shaded light red; a warning (no gradient, dead ReLU) gets a thick orange border
and orange text. In the forward view a dashed arrow labelled ``detach()`` joins a detached copy
to what it was detached from. The legend lists what a picture uses.

Every string that comes from user code goes through :func:`_html` (HTML-escaped, control
characters dropped, long strings shortened) or :func:`_text` before it reaches DOT, so names
such as ``<lambda>`` or ``<script>"&{}|`` are drawn as text and the SVG stays valid XML.
The DOT is deterministic: nodes in id order, clusters numbered in order of first use, no
absolute paths, so golden files can be compared.

Layout: the system ``dot`` when it is on PATH, else the ``graphviz-pure`` program from its
wheel; both are run here on the DOT source, and the bytes written atomically to the exact path.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from gradviz.autograd.errors import GradvizError
from gradviz.viz.files import atomic_write
from gradviz.viz.layout import (
    LayoutError,
    LayoutProgramNotFound,
    layout_program,
    run_layout,
)
from gradviz.viz.live import graph_from_variable
from gradviz.viz.scene import Group, Mark, Scene, natural_key
from gradviz.viz.style import (
    BADGE,
    COLLAPSED_FILL,
    CONTAMINATED_FILL,
    DARK_BINS,
    DIM_FILL,
    DIM_LINE,
    DIM_TEXT,
    EDGE,
    FONT,
    GRAD_EDGE,
    INPUT_FILL,
    LOSS_FILL,
    MAGNITUDE,
    MARK_FILL,
    MARK_LINE,
    MODULE_LINE,
    NAN_FILL,
    NAN_LINE,
    OP_FILL,
    PARAM_FILL,
    WARN_LINE,
    bad_text,
    clean,
    grad_norm,
    is_bad,
    number,
    shape_text,
    stats_text,
    value_summary,
)

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "VIEWS",
    "Drawing",
    "LayoutError",
    "LayoutProgramNotFound",
    "RenderError",
    "Rendered",
    "build",
    "layout_program",
    "render",
    "write",
]

_SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

VIEWS = ("forward", "backward")
FORMATS = ("svg", "png", "dot")
DEFAULT_MAX_NODES = 1500


class RenderError(GradvizError, ValueError):
    """An unknown view or format, or a graph that cannot be drawn."""


# ------------------------------------------------------------------------------ results
class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that lays itself out with gradviz's layout program.

    ``pipe()`` and Jupyter's inline display work with only ``graphviz-pure`` installed.
    ``depth`` is the module depth drawn (None: every module expanded), ``auto_collapsed`` says
    whether the node budget chose it, ``note`` is a one-line message about that (or "").
    """

    depth: int | None = None
    auto_collapsed: bool = False
    note: str = ""
    node_count: int = 0
    #: drawn node id -> the graph nodes it stands for (one, or a collapsed module's members)
    stands_for: dict[str, tuple[Any, ...]] = {}
    #: collapsed module box id (``m1``) -> its module path
    groups: dict[str, str] = {}

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kw: Any):
        fmt = format or self.format or "svg"
        data = (
            self.source.encode("utf-8") if fmt in ("dot", "gv") else run_layout(self.source, fmt)[0]
        )
        return data.decode(encoding) if encoding else data


@dataclass(frozen=True)
class Rendered:
    """What :func:`write` did: the file, its format, the layout program, the depth drawn."""

    path: Path
    format: str
    view: str
    program: str | None
    depth: int | None
    auto_collapsed: bool
    nodes: int
    note: str


# ------------------------------------------------------------------------------ formatting


def _html(value: Any, limit: int = 48) -> str:
    """A user string as HTML-label text: escaped, no control characters, shortened."""
    # A backslash would start a Graphviz escape (\N is the node id) even in HTML labels, with
    # or without an entity; a zero-width space after it keeps the text and breaks the escape.
    return html.escape(clean(value, limit), quote=True).replace("\\", "&#92;&#8203;")


def _text(value: Any, limit: int = 400) -> str:
    """A user string as an escaped DOT attribute value (tooltips)."""
    return graphviz.escape(clean(value, limit))


# ------------------------------------------------------------------------------ build
def build(
    graph: nx.DiGraph,
    view: str,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
) -> Drawing:
    """Draw ``graph`` (the pinned trace-graph schema) as a :class:`Drawing` (a Digraph).

    ``view`` is ``"forward"`` or ``"backward"``. ``depth=N`` collapses modules nested deeper
    than N (``fc1`` is depth 1, ``enc.block1`` depth 2) into one node each; without it,
    a picture of more than ``max_nodes`` ops takes the largest depth that fits, and the
    Drawing's ``note`` says so. ``marks`` (``{node id: [Mark, ...]}``, from
    ``Report.marks()``) draws what a check found on the nodes it is about.
    """
    if view not in VIEWS:
        raise RenderError(f"view must be 'forward' or 'backward', got {view!r}")
    if not isinstance(graph, nx.DiGraph):
        raise RenderError(f"expected a networkx.DiGraph, got {type(graph).__name__}")
    if depth is not None and depth < 0:
        raise RenderError(f"depth must be 0 or more, got {depth}")
    scene = Scene(graph, view)
    chosen, auto = scene.choose_depth(depth, max_nodes)
    return _Builder(scene, chosen, auto, max_nodes, marks).draw()


class _Builder:
    def __init__(
        self,
        scene: Scene,
        depth: int | None,
        auto: bool,
        max_nodes: int,
        marks: Mapping[Any, Iterable[Mark]] | None = None,
    ) -> None:
        self.marks = {
            n: chosen
            for n, ms in (marks or {}).items()
            if (chosen := [m for m in ms if scene.view in m.views])
        }
        self.scene = scene
        self.graph = scene.graph
        self.view = scene.view
        self.backward = scene.view == "backward"
        self.depth = depth
        self.auto = auto
        self.max_nodes = max_nodes
        # which drawn node stands for each graph node
        self.rep: dict[Any, str] = {}
        self.groups: dict[tuple[str, ...], Group] = {}
        self.ids: dict[Any, str] = {}
        self._assign()
        self.bins = self._magnitude_bins()
        self.beside = self._beside()
        # Parameters alternate left and right of their op (weight left, bias right); the flat
        # edges that point the other way are pinned by an invisible edge and do not constrain.
        natural_left = not self.backward  # forward: param -> op puts the param on the left
        self.pinned = {
            (param, op)
            for op, params in self.beside.items()
            for i, param in enumerate(params)
            if (i % 2 == 0) != natural_left
        }

    # ----------------------------------------------------------------------- structure
    def _assign(self) -> None:
        used = set()
        for n in self.scene.nodes:
            text = str(n)
            self.ids[n] = text if _SAFE_ID.match(text) and text not in used else f"n{len(used)}"
            used.add(self.ids[n])
        self._node_of_id = {drawn: n for n, drawn in self.ids.items()}
        for n in self.scene.nodes:
            parts = self.scene.parts[n]
            if self.depth is not None and len(parts) > self.depth:
                key = parts[: self.depth + 1]
                group = self.groups.get(key)
                if group is None:
                    group = Group(f"m{len(self.groups) + 1}", ".".join(key), [])
                    self.groups[key] = group
                group.members.append(n)
                self.rep[n] = group.id
            else:
                self.rep[n] = self.ids[n]

    def _cluster_path(self, n: Any) -> tuple[str, ...]:
        parts = self.scene.parts[n]
        if self.depth is not None and len(parts) > self.depth:
            return parts[: self.depth]
        return parts

    def _magnitude_bins(self) -> tuple[float, float] | None:
        """log10 range of the non-zero, finite gradient norms drawn (None: nothing to colour)."""
        if not self.backward:
            return None
        logs = []
        for n in self.scene.nodes:
            if n == self.scene.root:  # the loss's own gradient (1) would stretch the scale
                continue
            norm = grad_norm(self.graph.nodes[n].get("grad"))
            if norm is not None and norm > 0 and math.isfinite(norm):
                logs.append(math.log10(norm))
        if not logs:
            return None
        return min(logs), max(logs)

    def _fill_for(self, norm: float) -> tuple[str, str]:
        """(fill, font colour) of a non-zero finite gradient norm."""
        lo, hi = self.bins or (0.0, 0.0)
        if hi - lo < 1e-12:
            index = len(MAGNITUDE) // 2
        else:
            pos = (math.log10(norm) - lo) / (hi - lo)
            index = min(len(MAGNITUDE) - 1, max(0, int(pos * len(MAGNITUDE))))
        font = "white" if index >= len(MAGNITUDE) - DARK_BINS else "black"
        return MAGNITUDE[index], font

    # ----------------------------------------------------------------------- drawing
    def draw(self) -> Drawing:
        g = self.graph
        title = self._title()
        dot = Drawing(
            name=self.view,
            graph_attr={
                "rankdir": "TB",
                "fontname": FONT,
                "fontsize": "12",
                "label": f"<{title}>",
                "labelloc": "t",
                "labeljust": "l",
                "nodesep": "0.25",
                "ranksep": "0.35",
                "newrank": "true",
            },
            node_attr={
                "shape": "box",
                "style": "filled",
                "fontname": FONT,
                "fontsize": "10",
                "margin": "0.06,0.03",
                "height": "0.2",
                "penwidth": "1",
            },
            edge_attr={"color": GRAD_EDGE if self.backward else EDGE, "arrowsize": "0.7"},
        )
        # cluster tree: path -> items (node statements) and child paths, in first-use order
        items: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {(): []}
        order: list[tuple[str, ...]] = [()]
        done_groups = set()
        for n in self.scene.nodes:
            path = self._cluster_path(n)
            for k in range(1, len(path) + 1):
                if path[:k] not in items:
                    items[path[:k]] = []
                    order.append(path[:k])
            rep = self.rep[n]
            if rep == self.ids[n]:
                items[path].append((rep, self._node_attrs(n)))
            elif rep not in done_groups:
                done_groups.add(rep)
                group = next(gr for gr in self.groups.values() if gr.id == rep)
                items[path].append((rep, self._group_attrs(group)))
        children: dict[tuple[str, ...], list[tuple[str, ...]]] = {p: [] for p in order}
        for path in order[1:]:
            children[path[:-1]].append(path)
        numbers = {path: i for i, path in enumerate(order)}
        beside = self.beside

        def emit(target: graphviz.Digraph, path: tuple[str, ...]) -> None:
            for node_id, attrs in items[path]:
                target.node(node_id, **attrs)
            for node_id, _ in items[path]:
                if node_id in beside:
                    with target.subgraph() as row:
                        row.attr(rank="same")
                        for member in (node_id, *beside[node_id]):
                            row.node(member)
            for child in children[path]:
                with target.subgraph(name=f"cluster_{numbers[child]}") as sub:
                    sub.attr(label=f"<{self._module_label(child)}>", **_CLUSTER_ATTRS)
                    emit(sub, child)

        emit(dot, ())
        self._edges(dot)
        levels = {m.level for n in self.scene.nodes for m in self.marks.get(n, ())}
        if any(g.nodes[n].get("detached_from") in self.scene.selected for n in self.scene.nodes):
            levels.add("detach")
        _legend(dot, self.view, self.bins, levels)
        drawn = len(items) and sum(len(v) for v in items.values())
        dot.depth = self.depth
        dot.auto_collapsed = self.auto
        dot.node_count = drawn
        stands: dict[str, list[Any]] = {}
        for n in self.scene.nodes:
            stands.setdefault(self.rep[n], []).append(n)
        dot.stands_for = {drawn_id: tuple(ns) for drawn_id, ns in stands.items()}
        dot.groups = {group.id: group.path for group in self.groups.values()}
        if self.auto:
            dot.note = (
                f"the {self.view} graph has {self.scene.count(None):,} ops, over the budget of "
                f"{self.max_nodes:,}: modules deeper than depth {self.depth} are drawn "
                f"collapsed ({self.scene.count(self.depth):,} boxes); choose with --depth N"
            )
            if self.scene.count(self.depth) > self.max_nodes:
                dot.note += " (still over the budget: the layout may take a while)"
        del g
        return dot

    def _beside(self) -> dict[str, list[str]]:
        """Parameters drawn on the same rank as the one op that uses them (in its module), so
        the chain of ops runs straight down instead of stepping sideways at every layer."""
        g = self.graph
        rows: dict[str, list[str]] = {}
        for n in self.scene.nodes:
            if g.nodes[n].get("kind") != "param" or self.rep[n] != self.ids[n]:
                continue
            users = [c for c in g.successors(n) if c in self.scene.selected]
            if len(users) != 1:
                continue
            user = users[0]
            if self.rep[user] != self.ids[user] or g.nodes[user].get("kind", "op") != "op":
                continue
            if self._cluster_path(user) != self._cluster_path(n):
                continue
            rows.setdefault(self.ids[user], []).append(self.ids[n])
        for user, params in rows.items():
            node = self._node_of_id[user]
            slot = {
                self.ids[p]: _arg_key(g.edges[p, node].get("arg")) for p in g.predecessors(node)
            }
            params.sort(key=lambda p: slot.get(p, (2, 0, "")))
        return rows

    def _title(self) -> str:
        g = self.graph.graph
        parts = []
        script = g.get("script")
        if script:
            parts.append(f"<b>{_html(os.path.basename(str(script)))}</b>")
        root_class = self.scene.modules.get("")
        if root_class:
            parts.append(_html(root_class))
        what = "forward" if not self.backward else "backward: gradient flow from the loss"
        parts.append(what)
        if g.get("pass") is not None:
            parts.append(f"pass {_html(g.get('pass'))}")
        if self.depth is not None:
            parts.append(f"depth {self.depth}")
        return "  |  ".join(parts)

    def _module_label(self, path: tuple[str, ...]) -> str:
        dotted = ".".join(path)
        return _path_and_class(dotted, self.scene.modules.get(dotted))

    def _edges(self, dot: graphviz.Digraph) -> None:
        g = self.graph
        seen = set()
        edges = []
        for child in self.scene.nodes:
            preds = [p for p in g.predecessors(child) if p in self.scene.selected]
            preds.sort(key=lambda p: (_arg_key(g.edges[p, child].get("arg")), natural_key(p)))
            for parent in preds:
                a, b = self.rep[parent], self.rep[child]
                if a == b:
                    continue
                grouped = a != self.ids[parent] or b != self.ids[child]
                if grouped and (a, b) in seen:
                    continue
                seen.add((a, b))
                edges.append((parent, child, a, b, grouped))
        for parent, child, a, b, grouped in edges:
            attrs: dict[str, str] = {}
            arg = g.edges[parent, child].get("arg")
            if arg is not None and not grouped:
                attrs["tooltip"] = _text(f"argument {arg}")
            if g.nodes[parent].get("kind", "op") == "op" or grouped:
                # the op-to-op chain is the spine of the picture: keep it straight, let the
                # leaves (parameters, inputs) hang off to the sides
                attrs["weight"] = "4"
            pinned = (a, b) in self.pinned
            if pinned:
                attrs["constraint"] = "false"
            if self.backward:
                pa = g.nodes[parent]
                if not pa.get("requires_grad", True) and not grouped:
                    attrs.update(style="dashed", color=DIM_LINE)
                dot.edge(b, a, **attrs)
                if pinned:
                    dot.edge(a, b, style="invis")
            else:
                if not g.nodes[child].get("requires_grad", True) and not grouped:
                    attrs.update(color=DIM_LINE)
                dot.edge(a, b, **attrs)
                if pinned:
                    dot.edge(b, a, style="invis")
        if self.backward:
            return
        # a detach() result is a new leaf (no gradient edge): a dashed line shows where from
        for child in self.scene.nodes:
            origin = g.nodes[child].get("detached_from")
            if origin in self.scene.selected and self.rep[origin] != self.rep[child]:
                dot.edge(
                    self.rep[origin],
                    self.rep[child],
                    style="dashed",
                    color=DIM_LINE,
                    fontcolor=DIM_TEXT,
                    fontname=FONT,
                    fontsize="9",
                    label=" detach()",
                    tooltip="detach(): same values, no gradient flows back",
                )

    # ----------------------------------------------------------------------- nodes
    def _node_attrs(self, n: Any) -> dict[str, str]:
        a = self.graph.nodes[n]
        kind = a.get("kind") or ("op" if a.get("op") else "input")
        is_root = n == self.scene.root
        dimmed = not a.get("requires_grad", True) and (self.backward or kind != "input")
        title = _node_title(a, kind)
        lines: list[str] = []
        attrs: dict[str, str] = {"tooltip": _text(self._tooltip(n, a, kind))}
        header_bg = None
        fill = {"input": INPUT_FILL, "param": PARAM_FILL}.get(kind, OP_FILL)
        font = "black"
        if kind != "op":
            attrs["style"] = "filled,rounded"
        if is_root:
            fill = LOSS_FILL
            attrs["penwidth"] = "2"
        lines.append(f"{shape_text(a.get('shape'))} {_html(a.get('dtype') or '', 16)}".strip())
        if not self.backward:
            summary = value_summary(a.get("value"), a.get("shape"))
            if summary:
                lines.append(summary)
            bad = bad_text(a.get("value"))
            if bad:
                lines.append(f'<font color="{NAN_LINE}"><b>{bad}</b></font>')
                attrs.update(color=NAN_LINE, penwidth="2")
            badge = None
        else:
            badge = a.get("step")
            grad = a.get("grad", _UNKNOWN)
            if kind == "param":
                header_bg = PARAM_FILL
            if is_root:
                header_bg = LOSS_FILL
                summary = value_summary(a.get("value"), a.get("shape"))
                lines.append(summary.replace("value", "loss", 1))
                if is_bad(a.get("value")):
                    lines.append(
                        f'<font color="{NAN_LINE}"><b>{bad_text(a.get("value"))}</b></font>'
                    )
                    attrs["color"] = NAN_LINE
            if grad is _UNKNOWN:
                fill = fill if is_root else "white"
            elif is_bad(grad):
                fill, font = NAN_FILL, "white"
                attrs.update(color=NAN_LINE, penwidth="2")
                lines.append(f"<b>grad has {bad_text(grad)}</b>")
            elif grad is None:
                if a.get("requires_grad", True):
                    fill = "white"
                    attrs.update(style=_dashed(attrs), color=DIM_LINE, fontcolor=DIM_TEXT)
                    lines.append("no grad (not computed)")
            else:
                norm = grad_norm(grad) or 0.0
                if norm == 0:
                    fill = "white"
                    lines.append("<b>grad = 0</b>")
                else:
                    if not is_root:
                        fill, font = self._fill_for(norm)
                    lines.append(f"|grad| {number(norm)}")
                if a.get("accumulated"):
                    fan_in = sum(1 for c in self.graph.successors(n) if c in self.scene.selected)
                    lines.append(f"sum of {fan_in} grads" if fan_in > 1 else "accumulated")
            update = a.get("update")
            if kind == "param" and update:
                lines.append(f"update/weight {number(update.get('ratio'))}")
        if dimmed:
            fill, font = DIM_FILL, DIM_TEXT
            attrs.update(style=_dashed(attrs), color=DIM_LINE, fontcolor=DIM_TEXT)
            header_bg = None
            lines.append("requires_grad=False")
        for mark in self.marks.get(n, ()):
            fill, font = _apply_mark(mark, attrs, lines, fill, font)
        attrs["fillcolor"] = fill
        if font != "black":
            attrs["fontcolor"] = font
        attrs["label"] = _table(title, lines, badge, header_bg)
        return attrs

    def _group_attrs(self, group: Group) -> dict[str, str]:
        g = self.graph
        members = set(group.members)
        ops = [m for m in group.members if g.nodes[m].get("kind", "op") == "op"]
        params = [m for m in group.members if g.nodes[m].get("kind") == "param"]
        ins = _ordered_shapes(
            g.nodes[p].get("shape")
            for m in group.members
            for p in sorted(g.predecessors(m), key=natural_key)
            if p in self.scene.selected and p not in members
        )
        outs = _ordered_shapes(
            g.nodes[m].get("shape")
            for m in group.members
            if m == self.scene.root
            or any(c in self.scene.selected and c not in members for c in g.successors(m))
        )
        cls = self.scene.modules.get(group.path)
        title = _path_and_class(group.path, cls)
        lines = [f"{len(ops)} ops" + (f", {len(params)} params" if params else "")]
        lines.append(f"in {_html(', '.join(ins) or '-')}")
        lines.append(f"out {_html(', '.join(outs) or '-')}")
        attrs = {
            "shape": "box3d",
            "fillcolor": COLLAPSED_FILL,
            "tooltip": _text(f"module {group.path} collapsed: {len(group.members)} nodes"),
        }
        font = "black"
        if self.root_in(members):
            attrs.update(fillcolor=LOSS_FILL, penwidth="2")
        if self.backward:
            grads = [g.nodes[m].get("grad") for m in (params or ops)]
            steps = [
                g.nodes[m].get("step") for m in group.members if g.nodes[m].get("step") is not None
            ]
            if steps:
                lines.append(f"steps #{min(steps)}-#{max(steps)}")
            if any(is_bad(s) for s in grads):
                attrs.update(fillcolor=NAN_FILL, color=NAN_LINE, penwidth="2")
                font = "white"
                lines.append("<b>NaN/Inf in gradients</b>")
            else:
                norms = [grad_norm(s) for s in grads if s is not None and s is not _UNKNOWN]
                norms = [x for x in norms if x is not None]
                if norms:
                    total = math.sqrt(sum(x * x for x in norms))
                    what = "params" if params else "max"
                    shown = total if params else max(norms)
                    lines.append(f"|grad| {what} {number(shown)}")
                    if shown > 0 and not self.root_in(members):
                        attrs["fillcolor"], font = self._fill_for(shown)
        marked = [m for n in group.members for m in self.marks.get(n, ()) if m.level != "ok"]
        serious = [m for m in marked if m.level in ("error", "birth")]
        if serious:
            attrs.update(fillcolor=MARK_FILL, color=MARK_LINE, penwidth="3")
            font = "white"
        if serious or any(m.level == "warning" for m in marked):
            attrs.update(color=MARK_LINE if serious else WARN_LINE, penwidth="3")
            first = (serious or marked)[0]
            lines += _mark_lines(first.text) + (
                [f"and {len(marked) - 1} more"] if len(marked) > 1 else []
            )
        if font != "black":
            attrs["fontcolor"] = font
        attrs["label"] = _table(title, lines, None, None)
        return attrs

    def root_in(self, members: set) -> bool:
        return self.scene.root in members

    def _tooltip(self, n: Any, a: Mapping[str, Any], kind: str) -> str:
        bits = [f"{clean(n)}: {kind}"]
        if a.get("op"):
            bits.append(f"op {a.get('op')}")
        if a.get("name"):
            bits.append(f"name {a.get('name')}")
        if a.get("module"):
            bits.append(f"module {a.get('module')}")
        if a.get("source"):
            bits.append(f"at {a.get('source')}")
        bits.append(f"value: {stats_text(a.get('value'))}")
        if self.backward:
            grad = a.get("grad", _UNKNOWN)
            bits.append("grad: " + ("not recorded" if grad is _UNKNOWN else stats_text(grad)))
        return " | ".join(bits)


_UNKNOWN = object()
_CLUSTER_ATTRS = {
    "style": "rounded,dashed",
    "color": MODULE_LINE,
    "fontname": FONT,
    "fontsize": "10",
    "labeljust": "l",
    "margin": "8",
}


def _dashed(attrs: Mapping[str, str]) -> str:
    style = attrs.get("style", "filled")
    return style if "dashed" in style else style + ",dashed"


def _arg_key(arg: Any) -> tuple:
    return (0, arg, "") if isinstance(arg, int) else (1, 0, str(arg))


def _node_title(a: Mapping[str, Any], kind: str) -> str:
    name = a.get("name")
    if kind == "op":
        op = f"<b>{_html(a.get('op') or '?', 32)}</b>"
        return f"{_html(name, 32)} = {op}" if name else op
    if kind == "param":
        return f"<b>{_html(name or 'parameter')}</b>"
    return f"<b>{_html(name)}</b>" if name else "input"


def _path_and_class(path: str, cls: str | None) -> str:
    """``<b>fc1</b>: Linear``; just the path when the class adds nothing (a loss module that
    the tracer names after its class)."""
    text = f"<b>{_html(path)}</b>"
    return text + (f": {_html(cls)}" if cls and cls != path else "")


def _ordered_shapes(shapes: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for shape in shapes:
        text = shape_text(shape)
        if text not in out:
            out.append(text)
    return out[:3] + (["..."] if len(out) > 3 else [])


def _table(title: str, lines: list[str], badge: Any, header_bg: str | None) -> str:
    """An HTML-like label: a title row (with the step badge) over small-print lines."""
    cells = []
    if badge is not None:
        cells.append(f'<td bgcolor="{BADGE}"><font color="white"><b>#{int(badge)}</b></font></td>')
    head_attr = f' bgcolor="{header_bg}"' if header_bg else ""
    if header_bg:
        title = f'<font color="black">{title}</font>'
    cells.append(f"<td{head_attr}>{title}</td>")
    span = len(cells)
    rows = [f"<tr>{''.join(cells)}</tr>"]
    for line in lines:
        rows.append(f'<tr><td colspan="{span}"><font point-size="9">{line}</font></td></tr>')
    table = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
    return f"<{table}{''.join(rows)}</table>>"


def _mark_lines(text: str, width: int = 44) -> list[str]:
    """A mark's text as escaped label lines of at most ``width`` characters."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return [_html(line, width + 8) for line in lines[:4]]


def _apply_mark(
    mark: Mark, attrs: dict[str, str], lines: list[str], fill: str, font: str
) -> tuple[str, str]:
    """Draw one check finding on a node; returns the new (fill, font colour)."""
    text = _mark_lines(mark.text)
    if mark.level in ("error", "birth"):
        attrs.update(color=MARK_LINE, penwidth="3")
        fill, font = MARK_FILL, "white"
        lines += [f"<b>{line}</b>" for line in text]
    elif mark.level == "contaminated":
        if fill != NAN_FILL:
            fill, font = CONTAMINATED_FILL, "black"
        lines += text
    elif mark.level == "warning":
        attrs.update(color=WARN_LINE, penwidth="3")
        if fill in MAGNITUDE or fill == NAN_FILL:  # orange text would not read on these
            lines += [f"<b>{line}</b>" for line in text]
        else:
            lines += [f'<font color="{WARN_LINE}"><b>{line}</b></font>' for line in text]
    else:
        lines += text
    return fill, font


def _legend(
    dot: graphviz.Digraph,
    view: str,
    bins: tuple[float, float] | None,
    marks: Iterable[str] = (),
) -> None:
    """A small cluster with one table node explaining the picture's vocabulary (and the
    check's marks drawn in it)."""

    def row(colour: str, text: str, swatch_text: str = "") -> str:
        return (
            f'<tr><td bgcolor="{colour}" border="1" width="26">{swatch_text}</td>'
            f'<td align="left"><font point-size="9">{text}</font></td></tr>'
        )

    rows = [
        row(INPUT_FILL, "input"),
        row(PARAM_FILL, "parameter (module path, shape)"),
        row(OP_FILL, "op: output shape, dtype" + (", mean, std" if view == "forward" else "")),
        row(LOSS_FILL, "loss"),
        row(DIM_FILL, '<font color="#8c8c8c">dimmed: requires_grad=False</font>'),
    ]
    if view == "backward":
        rows.append(row(BADGE, "backward step, in order", '<font color="white">#n</font>'))
        if bins is not None:
            lo, hi = bins
            width = (hi - lo) / len(MAGNITUDE)
            for i, colour in enumerate(MAGNITUDE):
                if hi - lo < 1e-12:
                    if i != len(MAGNITUDE) // 2:
                        continue
                    text = f"|grad| {number(10**lo)}"
                else:
                    low, high = 10 ** (lo + i * width), 10 ** (lo + (i + 1) * width)
                    text = f"|grad| {number(low)} to {number(high)}"
                rows.append(row(colour, text + (" (log scale)" if i == 0 else "")))
        rows.append(row(NAN_FILL, "NaN or Inf in the gradient"))
        rows.append(row("white", "grad = 0: computed, all zero"))
        rows.append(row("white", "no grad: not computed (dashed)", "- -"))
        rows.append(row("white", "arrows: gradient flow, loss to parameters", "&#8595;"))
    else:
        rows.append(row("white", "dashed box: module (path: class)", "[ ]"))
        rows.append(row("white", "arrows: data flow", "&#8595;"))
    marks = set(marks)
    if view == "forward" and "detach" in marks:
        rows.append(row("white", "dashed arrow: detach() (no gradient)", "- -"))
    if "error" in marks:
        rows.append(row(MARK_FILL, "<b>check failed</b>"))
    if "birth" in marks:
        rows.append(row(MARK_FILL, "<b>NaN/Inf born here</b>"))
    if "contaminated" in marks:
        rows.append(row(CONTAMINATED_FILL, "carries the NaN/Inf on"))
    if "warning" in marks:
        rows.append(
            row("white", f'<font color="{WARN_LINE}"><b>warning (orange border)</b></font>')
        )
    label = (
        '<<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
        + "".join(rows)
        + "</table>>"
    )
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(
            label="<<b>legend</b>>", style="rounded", color="#9e9e9e", fontname=FONT, fontsize="10"
        )
        legend.node("legend", label=label, shape="plain", style="", fillcolor="white")


# ------------------------------------------------------------------------------ writing
def _format_for(path: Path, fmt: str | None) -> str:
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".")
        fmt = "dot" if suffix == "gv" else suffix
        if fmt not in FORMATS:
            raise RenderError(
                f"cannot tell the format from {path.name!r}: use a .svg, .png or .dot name, "
                "or pass format='svg' | 'png' | 'dot'"
            )
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise RenderError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def write(
    graph: nx.DiGraph,
    view: str,
    path: str | os.PathLike[str],
    format: str | None = None,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
) -> Rendered:
    """Draw ``view`` of ``graph`` and write exactly ``path`` (format from its suffix unless
    given: svg, png or dot). Returns what was done; ``note`` is non-empty when the node budget
    collapsed modules. ``format="dot"`` needs no layout program. ``marks``: see :func:`build`."""
    path = Path(path)
    fmt = _format_for(path, format)
    drawing = build(graph, view, depth=depth, max_nodes=max_nodes, marks=marks)
    if fmt == "dot":
        data, program = drawing.source.encode("utf-8"), None
    else:
        data, program = run_layout(drawing.source, fmt)
    atomic_write(path, data)
    return Rendered(
        path=path,
        format=fmt,
        view=view,
        program=program,
        depth=drawing.depth,
        auto_collapsed=drawing.auto_collapsed,
        nodes=drawing.node_count,
        note=drawing.note,
    )


# ------------------------------------------------------------------------------ live Variables
def render(
    obj: Any,
    view: str = "backward",
    depth: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> Drawing:
    """``gradviz.render(loss)``: the graph behind a Variable as a Digraph (shown inline in
    Jupyter), like torchviz's ``make_dot``. Also takes a trace graph or anything with ``.graph``
    (a Trace). ``params`` (``dict(model.named_parameters())``) names the parameters."""
    if isinstance(obj, nx.DiGraph):
        graph = obj
    elif isinstance(getattr(obj, "graph", None), nx.DiGraph):
        graph = obj.graph
    elif hasattr(obj, "parents") and hasattr(obj, "data"):
        graph = graph_from_variable(obj, params)
    else:
        raise RenderError(
            f"render() takes a Variable, a Trace or a trace graph, got {type(obj).__name__}"
        )
    return build(graph, view, depth=depth)
