"""Graph -> DOT -> SVG/PNG: the only place in gradviz that writes DOT (with its label helper,
:mod:`gradviz.viz.draw.labels`).

Visual vocabulary (shown in every picture as a legend; close to torchviz's colours):

============================  =================================================================
input (data, targets)         rounded box, grey
parameter (``fc1.weight``)    rounded box, light blue, named by module path, with its shape
buffer (``bn1.running_mean``) rounded box, teal, dashed teal border, named by module path; a
                              change in the step's forward as ``updated in step |Δ| n``
op (``Linear``, ``Relu``)     box, light grey: op name, output shape and dtype, value summary
loss (the graph's root)       box, green, bold border
needs no gradient             dimmed: grey text, dashed grey border (``requires_grad=False``)
module                        dashed rounded cluster labelled ``path: Class`` (nested)
an op's derivative            purple dashed cluster ``∂ Tanh in 1``: the ops its graph rule
                              recorded (``create_graph=True``), in the module they ran in
collapsed module              3-D box: ``path: Class``, op count, input and output shapes
repeated blocks (folded)      the first instance only, labelled ``blocks.0-11 (Block) x12``
                              (a cluster, or a 3-D box when collapsed), with its statistics
============================  =================================================================

Repeated blocks fold by default (``fold=False`` draws every instance; see
:mod:`gradviz.viz.draw.scene`).

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
and orange text. A dashed arrow labelled ``detach()`` joins a detached copy and what it was
detached from (in the backward view too: the layers a detach cut off stay in the picture,
without a gradient). The legend lists what a picture uses.

This module assembles the picture (module clusters, edges, the legend, the note about
collapsed modules) and holds the drawing API, :func:`build` (:mod:`gradviz.viz.draw.output`
writes files; ``gradviz.render`` is :func:`gradviz.viz.trace.render`); the label tables it
places on nodes, module boxes and the legend are built in :mod:`gradviz.viz.draw.labels`,
which escapes every string that comes from user code (``html_text``, ``attr_text``:
HTML-escaped, control characters dropped, long strings shortened), so names such as
``<lambda>`` or ``<script>"&{}|`` are drawn as text and the SVG stays valid XML.
The DOT is deterministic: nodes in id order, clusters numbered in order of first use, no
absolute paths, so golden files can be compared.

Layout: the system ``dot`` when it is on PATH, else the ``graphviz-pure`` program from its
wheel (:mod:`gradviz.viz.draw.layout`).
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import graphviz
import networkx as nx

from gradviz.autograd.errors import GradvizError
from gradviz.viz.diagnose.report import Level, Mark
from gradviz.viz.draw.ghosts import copy_attrs, shared_uses
from gradviz.viz.draw.labels import (
    Labels,
    attr_text,
    html_text,
    path_and_class,
    repeat_label,
    repeat_tooltip,
    rule_label,
    rule_tooltip,
)
from gradviz.viz.draw.layout import (
    Drawing,
    LayoutError,
    LayoutProgramNotFound,
    layout_program,
)
from gradviz.viz.draw.legend import legend_label
from gradviz.viz.draw.scene import Group, Rule, Scene
from gradviz.viz.draw.style import (
    DIM_LINE,
    DIM_TEXT,
    EDGE,
    FONT,
    GRAD_EDGE,
    MODULE_LINE,
    RULE_LINE,
)
from gradviz.viz.records.text import natural_key

#: the legend lists at most this many things to try
LEGEND_ADVICE = 3

__all__ = [
    "DEFAULT_MAX_NODES",
    "VIEWS",
    "Drawing",
    "LayoutError",
    "LayoutProgramNotFound",
    "RenderError",
    "build",
    "draw_scene",
    "layout_program",
]

_SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

VIEWS = ("forward", "backward")
DEFAULT_MAX_NODES = 1500
#: Above this many boxes the layout's network simplex (x positions) is bounded to one pass per
#: node: unbounded, a node feeding 200 parallel branches took the layout program over 10 minutes.
BOUNDED_LAYOUT_NODES = 200


class RenderError(GradvizError, ValueError):
    """An unknown view or format, or a graph that cannot be drawn."""


def check_depth(depth: object) -> None:
    """``depth`` is None (expand all) or an integer >= 0; a RenderError otherwise."""
    if depth is None:
        return
    try:
        ok = not isinstance(depth, bool) and operator.index(depth) >= 0  # type: ignore[arg-type]
    except TypeError:
        ok = False
    if not ok:
        raise RenderError(f"depth must be an integer >= 0 (or None), got {depth!r}")


# ------------------------------------------------------------------------------ build
def build(
    graph: nx.DiGraph,
    view: str,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
    fold: bool = True,
) -> Drawing:
    """Draw ``graph`` (the pinned trace-graph schema) as a :class:`Drawing` (a Digraph).

    ``view`` is ``"forward"`` or ``"backward"``. ``depth=N`` collapses modules nested deeper
    than N (``fc1`` is depth 1, ``enc.block1`` depth 2) into one node each; without it,
    a picture of more than ``max_nodes`` ops takes the largest depth that fits, and the
    Drawing's ``note`` says so. ``marks`` (``{node id: [Mark, ...]}``, from
    ``Report.marks()``) draws what a check found on the nodes it is about. ``fold`` draws a
    run of repeated blocks (12 identical ``Block`` modules) as its first instance marked ``x12``.
    """
    if view not in VIEWS:
        raise RenderError(f"view must be 'forward' or 'backward', got {view!r}")
    if not isinstance(graph, nx.DiGraph):
        raise RenderError(f"expected a networkx.DiGraph, got {type(graph).__name__}")
    check_depth(depth)
    return draw_scene(Scene(graph, view, fold=fold), depth, max_nodes, marks)


def draw_scene(
    scene: Scene,
    depth: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    marks: Mapping[Any, Iterable[Mark]] | None = None,
) -> Drawing:
    """Draw a prepared :class:`Scene` at ``depth`` (see :func:`build`): the page draws several
    depths of one scene."""
    chosen, auto = scene.choose_depth(depth, max_nodes)
    return _Builder(scene, chosen, auto, max_nodes, marks).draw()


class _Builder:
    """One picture: drawn ids, collapsed modules, clusters, edges and the legend."""

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
        # which drawn node stands for each graph node; the nodes of folded repeated blocks'
        # later instances and the twin drawn for them
        self.rep: dict[Any, str] = {}
        self.hidden: dict[Any, Any] = {}
        self.groups: dict[tuple[str, ...], Group] = {}
        self.ids: dict[Any, str] = {}
        self._assign()
        self._lift_marks()
        self.labels = Labels(scene, self.marks)
        self.beside = self._beside()
        self.rules_drawn = False  # whether a graph rule's cluster is drawn (set by draw)
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
        # an id that is not a plain DOT identifier gets the first ``n<k>`` no node keeps
        kept = {str(n) for n in self.scene.nodes if _SAFE_ID.match(str(n))}
        fresh = (f"n{k}" for k in itertools.count())
        used: set[str] = set()
        for n in self.scene.nodes:
            text = str(n)
            if not _SAFE_ID.match(text) or text in used:
                text = next(k for k in fresh if k not in kept)
            self.ids[n] = text
            used.add(text)
        self._node_of_id = {drawn: n for n, drawn in self.ids.items()}
        for n in self.scene.nodes:
            twin = self.scene.standin(n, self.depth) if self.scene.repeats else n
            if twin != n:
                self.hidden[n] = twin
                continue
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
        for n, twin in self.hidden.items():
            self.rep[n] = self.rep[twin]

    def _lift_marks(self) -> None:
        """A failed check or a NaN/Inf birth in a folded instance is drawn on its twin in the
        first, with the module it is in (the first such finding per twin)."""
        serious = (Level.ERROR, Level.BIRTH)
        for n, twin in self.hidden.items():
            found = [m for m in self.marks.get(n, ()) if m.level in serious]
            mine = self.marks.get(twin, [])
            if found and not any(m.level in serious for m in mine):
                where = self.graph.nodes[n].get("module") or str(n)
                lifted = dataclasses.replace(found[0], text=f"in {where}: {found[0].text}")
                self.marks[twin] = [*mine, lifted]

    def _cluster_path(self, n: Any) -> tuple[Any, ...]:
        """The clusters ``n`` is drawn in: its modules (those not collapsed), then, for an op
        of a graph rule, that rule's (a :class:`Rule` at the end of the path)."""
        parts = self.scene.parts[n]
        if self.depth is not None and len(parts) > self.depth:
            return parts[: self.depth]
        rule = self.scene.rules.get(n)
        return parts if rule is None else (*parts, rule)

    # ----------------------------------------------------------------------- drawing
    def draw(self) -> Drawing:
        title = self._title()
        dot = Drawing(
            name=self.view,
            format="svg",
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
        items, order = self._items()
        self.rules_drawn = any(isinstance(path[-1], Rule) for path in order[1:])
        children: dict[tuple[str, ...], list[tuple[str, ...]]] = {p: [] for p in order}
        for path in order[1:]:
            children[path[:-1]].append(path)
        numbers = {path: i for i, path in enumerate(order)}

        def emit(target: graphviz.Digraph, path: tuple[str, ...]) -> None:
            for node_id, attrs in items[path]:
                target.node(node_id, **attrs)
            for node_id, _ in items[path]:
                if node_id in self.beside:
                    with target.subgraph() as row:
                        row.attr(rank="same")
                        for member in (node_id, *self.beside[node_id]):
                            row.node(member)
            for child in children[path]:
                with target.subgraph(name=f"cluster_{numbers[child]}") as sub:
                    rule = child[-1]
                    if isinstance(rule, Rule):
                        sub.attr(label=f"<{rule_label(rule)}>", **_RULE_ATTRS)
                        sub.attr(tooltip=attr_text(rule_tooltip(rule)))
                        emit(sub, child)
                        continue
                    sub.attr(label=f"<{self._module_label(child)}>", **_CLUSTER_ATTRS)
                    repeat = self.scene.repeat_at(child)
                    if repeat is not None:
                        sub.attr(tooltip=attr_text(repeat_tooltip(repeat)))
                    emit(sub, child)

        emit(dot, ())
        self._edges(dot)
        self._legend(dot)
        dot.depth = self.depth
        dot.auto_collapsed = self.auto
        dot.node_count = sum(len(v) for v in items.values())
        if dot.node_count > BOUNDED_LAYOUT_NODES:
            dot.graph_attr["nslimit"] = "1"
        stands: dict[str, list[Any]] = {}
        groups = {group.id for group in self.groups.values()}
        for n in self.scene.nodes:
            if n in self.hidden and self.rep[n] in groups:
                continue  # a folded box stands for its first instance
            stands.setdefault(self.rep[n], []).append(n)
        dot.stands_for = {drawn_id: tuple(ns) for drawn_id, ns in stands.items()}
        dot.groups = {group.id: group.path for group in self.groups.values()}
        boxes = {group.path: group.id for group in self.groups.values()}
        dot.folds = self.scene.fold_entries(boxes, numbers)
        if self.auto:
            dot.note = self._note()
        return dot

    def _items(
        self,
    ) -> tuple[dict[tuple[str, ...], list[tuple[str, dict[str, str]]]], list[tuple[str, ...]]]:
        """The node statements of each cluster path, and the cluster paths in first-use order."""
        items: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {(): []}
        order: list[tuple[str, ...]] = [()]
        done_groups = set()
        groups = {group.id: group for group in self.groups.values()}
        for n in self.scene.nodes:
            if n in self.hidden:
                continue
            path = self._cluster_path(n)
            for k in range(1, len(path) + 1):
                if path[:k] not in items:
                    items[path[:k]] = []
                    order.append(path[:k])
            rep = self.rep[n]
            if rep == self.ids[n]:
                items[path].append((rep, self.labels.node(n)))
            elif rep not in done_groups:
                done_groups.add(rep)
                items[path].append((rep, self.labels.group(groups[rep])))
        return items, order

    def _note(self) -> str:
        """What the node budget did to the picture."""
        note = (
            f"the {self.view} graph has {self.scene.count(None):,} ops, over the budget of "
            f"{self.max_nodes:,}: modules deeper than depth {self.depth} are drawn "
            f"collapsed ({self.scene.count(self.depth):,} boxes); choose with --depth N"
        )
        if self.scene.folded:
            note += "; runs of identical modules folded: " + "; ".join(self.scene.folded)
        if self.scene.count(self.depth) > self.max_nodes:
            note += " (still over the budget: the layout may take a while)"
        return note

    def _legend(self, dot: graphviz.Digraph) -> None:
        """A small cluster with one table node explaining the picture's vocabulary (and the
        check's marks drawn in it)."""
        levels = {m.level for n in self.scene.nodes for m in self.marks.get(n, ())}
        g = self.graph
        if any(g.nodes[n].get("detached_from") in self.scene.selected for n in self.scene.nodes):
            levels.add("detach")
        if any(g.nodes[n].get("kind") == "buffer" for n in self.scene.nodes):
            levels.add("buffer")
        if self.rules_drawn:
            levels.add("rule")
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
                label=legend_label(self.view, self.labels.bins, levels, self._advice()),
                shape="plain",
                style="",
                fillcolor="white",
            )

    def _advice(self) -> list[str]:
        """What to try, first advice of each finding drawn here, without repeats."""
        found = (m.advice[0] for n in self.scene.nodes for m in self.marks.get(n, ()) if m.advice)
        return list(dict.fromkeys(found))[:LEGEND_ADVICE]

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
            parts.append(f"<b>{html_text(os.path.basename(str(script)))}</b>")
        root_class = self.scene.modules.get("")
        if root_class:
            parts.append(html_text(root_class))
        what = "forward" if not self.backward else "backward: gradient flow from the loss"
        parts.append(what)
        if g.get("pass") is not None:
            parts.append(f"pass {html_text(g.get('pass'))}")
        if self.depth is not None:
            parts.append(f"depth {self.depth}")
        return "  |  ".join(parts)

    def _module_label(self, path: tuple[str, ...]) -> str:
        repeat = self.scene.repeat_at(path)
        if repeat is not None:
            return repeat_label(repeat)
        dotted = ".".join(path)
        return path_and_class(dotted, self.scene.modules.get(dotted))

    def _edges(self, dot: graphviz.Digraph) -> None:
        g = self.graph
        # behind a detach(): no gradient comes back along these edges
        root = self.scene.root
        cut = (
            self.scene.selected - nx.ancestors(g, root) - {root}
            if self.backward and root is not None
            else set()
        )
        edges = self._edge_list()
        copies = shared_uses(g, edges)
        uses = Counter(edges[position][2] for position in copies)
        fills: dict[str, str] = {}
        for position, (parent, child, a, b, grouped) in enumerate(edges):
            if position in copies:  # a leaf used all over: drawn again here
                if a not in fills:
                    fills[a] = self.labels.node(parent).get("fillcolor", "white")
                attrs = copy_attrs(g, parent, fills[a], uses[a] + 1)
                a = copies[position]
                dot.node(a, **attrs)
            attrs: dict[str, str] = {}
            arg = g.edges[parent, child].get("arg")
            if arg is not None and not grouped:
                attrs["tooltip"] = attr_text(f"argument {arg}")
            if g.nodes[parent].get("kind", "op") == "op" or grouped:
                # the op-to-op chain is the spine of the picture: keep it straight, let the
                # leaves (parameters, inputs) hang off to the sides
                attrs["weight"] = "4"
            pinned = (a, b) in self.pinned
            if pinned:
                attrs["constraint"] = "false"
            if self.backward:
                pa = g.nodes[parent]
                if (not pa.get("requires_grad", True) and not grouped) or child in cut:
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
        self._detach_edges(dot)

    def _edge_list(self) -> list[tuple[Any, Any, str, str, bool]]:
        """(parent, child, drawn parent, drawn child, whether a collapsed module is an end) of
        each drawn edge, in argument order; one edge per pair of collapsed ends."""
        g = self.graph
        seen = set()
        edges = []
        hidden = self.hidden
        for child in self.scene.nodes:
            preds = [p for p in g.predecessors(child) if p in self.scene.selected]
            preds.sort(key=lambda p: (_arg_key(g.edges[p, child].get("arg")), natural_key(p)))
            for parent in preds:
                a, b = self.rep[parent], self.rep[child]
                if a == b:
                    continue
                if hidden and self.scene.crosses(parent, child, self.depth):
                    continue
                grouped = a != self.ids[parent] or b != self.ids[child]
                if grouped and (a, b) in seen:
                    continue
                seen.add((a, b))
                edges.append((parent, child, a, b, grouped))
        return edges

    def _detach_edges(self, dot: graphviz.Digraph) -> None:
        """A detach() result is a new leaf (no gradient edge): a dashed line shows where from;
        in the backward view it points the way a gradient would go, and none does."""
        g = self.graph
        for child in self.scene.nodes:
            origin = g.nodes[child].get("detached_from")
            if origin in self.scene.selected and self.rep[origin] != self.rep[child]:
                ends = (self.rep[origin], self.rep[child])
                dot.edge(
                    *(ends[::-1] if self.backward else ends),
                    style="dashed",
                    color=DIM_LINE,
                    fontcolor=DIM_TEXT,
                    fontname=FONT,
                    fontsize="9",
                    label=" detach()",
                    tooltip="detach(): same values, no gradient flows back",
                )


_CLUSTER_ATTRS = {
    "style": "rounded,dashed",
    "color": MODULE_LINE,
    "fontname": FONT,
    "fontsize": "10",
    "labeljust": "l",
    "margin": "8",
}
#: a graph rule's ops (the derivative of one op): square corners, purple, a smaller label
_RULE_ATTRS = {
    "style": "dashed",
    "color": RULE_LINE,
    "fontcolor": RULE_LINE,
    "fontname": FONT,
    "fontsize": "9",
    "labeljust": "l",
    "margin": "6",
}


def _arg_key(arg: Any) -> tuple:
    return (0, arg, "") if isinstance(arg, int) else (1, 0, str(arg))
