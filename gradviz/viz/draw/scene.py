"""What a picture shows: the nodes of a view, the module each belongs to, and how deep to draw.

The backward view keeps the loss and what it was computed from (through ``detach()`` too: what
a detach cut off is drawn without a gradient); the forward view keeps every node. A node's
module is its ``module`` attribute (a parameter without one takes the module its dotted name
points to); the ops of a gradient computed with ``create_graph=True`` are grouped by the graph
rule that recorded them (:class:`Rule`, from ``derivative_of``), inside the module they ran in
(collapsed with it). ``depth=N`` collapses modules nested deeper than N into one box each;
without a depth, a view of more ops than the budget takes the largest depth that fits. When even the
top-level modules are too many boxes (a flat ``nn.Sequential`` of thousands of blocks), runs of
identical consecutive sibling modules are folded into one module each (``0-19999: (Linear,
Tanh) x10,000``, drawn with a multiplication sign), so the picture still collapses to a few
boxes.

Repeated blocks fold (``Scene(..., fold=True)``, the default): a run of at least
``REPEAT_MIN`` consecutive sibling modules (``REPEAT_MIN_NUMBERED`` numbered children of a
``ModuleList`` or ``Sequential``) with the same class and the same ops and shapes in the same
order (the 12 ``Block`` modules of a ``ModuleList``) is drawn as its first instance only,
labelled ``blocks.0-11 (Block) x12``, at every depth where the instances are drawn apart (as
boxes or as clusters). The other instances' nodes stand in for their first instance's twins:
edges from outside into any instance, and from any instance out, are drawn to and from the
first instance; edges from one instance to the next (the residual stream passing through) are
left out. The folded block shows the first instance's statistics (its parameters are
``blocks.0.*``), as torchview's rolled modules do; ``fold=False`` draws every instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from gradviz.viz.records.text import natural_key


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
class Rule:
    """The ops one graph rule recorded (``create_graph=True``: ``Tanh``'s records a ``Mul`` and
    a ``Sub``), drawn as a cluster of their own in the module they ran in: the derivative of op
    ``op`` (node ``node``, in module ``module``; ``rule``: for a second derivative, the op whose
    rule recorded that op)."""

    node: str
    op: str
    module: str
    rule: str | None

    @classmethod
    def of(cls, value: Any) -> Rule | None:
        """The rule of a node's ``derivative_of`` attribute (None: not a rule's op)."""
        if not isinstance(value, Mapping):
            return None
        rule = value.get("rule")
        return cls(
            str(value.get("node")),
            str(value.get("op") or "op"),
            str(value.get("module") or ""),
            None if rule is None else str(rule),
        )


@dataclass
class Group:
    """A collapsed module: one drawn node standing for every node under ``path``."""

    id: str
    path: str
    members: list[str]


class Scene:
    """The graph prepared for drawing: selected nodes, owners, module depth, groups."""

    def __init__(self, graph: nx.DiGraph, view: str, fold: bool = True) -> None:
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
        #: the graph rule each op of a gradient with a graph comes from (``derivative_of``)
        self.rules = {
            n: rule
            for n in self.nodes
            if (rule := Rule.of(graph.nodes[n].get("derivative_of"))) is not None
        }
        self._counts: dict[int | None, int] = {}
        self.repeats: list[Repeat] = []
        #: one line per run of identical sibling modules folded into one (see fold_runs)
        self.folded: list[str] = []
        if self.count(0) > FOLD_ABOVE:
            self.parts, self.modules, self.folded = fold_runs(
                self.nodes, self.parts, self._describe, modules
            )
            self._counts.clear()
        self.max_depth = max((len(p) for p in self.parts.values()), default=0)
        #: runs of repeated blocks drawn as their first instance (see the module docstring)
        if fold:
            self.repeats = find_repeats(self.nodes, self.parts, self._describe, self.modules)
            for repeat in self.repeats:
                self._adopt_leaves(repeat)
            self._counts.clear()
        self._first = {r.first: r for r in self.repeats}

    def _adopt_leaves(self, repeat: Repeat) -> None:
        """A leaf outside the instances that feeds one instance only (a causal mask made at
        each call, outside any module) belongs to it: a later instance's stands in for the
        first's leaf in the same argument slot."""
        g = self.graph
        for n in self.nodes:
            if n in repeat.instance or g.nodes[n].get("kind", "op") == "op":
                continue
            users = [c for c in g.successors(n) if c in self.selected]
            index = {repeat.instance.get(c) for c in users}
            if len(index) != 1 or None in index:
                continue
            (repeat.instance[n],) = index
            user = users[0]
            twin = repeat.twin.get(user)
            if twin is None:
                continue
            slot = g.edges[n, user].get("arg")
            for p in g.predecessors(twin):
                if g.edges[p, twin].get("arg") == slot and repeat.instance.get(p) == 0:
                    repeat.twin[n] = p
                    break

    def standin(self, node: Any, depth: int | None) -> Any:
        """The node drawn for ``node`` at ``depth``: its twin in the first instance of each
        repeated block folded at that depth (itself when none folds it)."""
        for r in self.repeats:
            if depth is None or r.level <= depth + 1:
                node = r.twin.get(node, node)
        return node

    def crosses(self, parent: Any, child: Any, depth: int | None) -> bool:
        """Whether edge ``parent -> child`` runs from one instance of a folded repeated block
        to another (the stream through the blocks: not drawn)."""
        for r in self.repeats:
            if depth is None or r.level <= depth + 1:
                a, b = r.instance.get(parent), r.instance.get(child)
                if a is not None and b is not None and a != b:
                    return True
        return False

    def fold_entries(
        self, boxes: Mapping[str, str], clusters: Mapping[tuple[str, ...], int]
    ) -> list[dict[str, Any]]:
        """The repeated blocks a picture draws folded: their span, class, instances, and the
        element drawn for them (``box``: a collapsed box's id, from ``boxes`` by module path;
        ``cluster``: ``cluster_<n>``, from ``clusters`` by path)."""
        out = []
        for r in self.repeats:
            box = boxes.get(".".join(r.first))
            cluster = clusters.get(r.first)
            if box is None and cluster is None:
                continue  # inside a collapsed module, or not folded at this depth
            out.append(
                {
                    "span": r.span,
                    "class": r.cls,
                    "instances": r.paths,
                    "box": box,
                    "cluster": None if cluster is None else f"cluster_{cluster}",
                }
            )
        return out

    def repeat_at(self, path: tuple[str, ...]) -> Repeat | None:
        """The repeated block whose first instance is the module at ``path``, if any."""
        return self._first.get(path)

    def _describe(self, node: Any) -> tuple:
        a = self.graph.nodes[node]
        return (a.get("kind"), a.get("op"), tuple(a.get("shape") or ()))

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
        if depth not in self._counts:
            self._counts[depth] = self._count(depth)
        return self._counts[depth]

    def _count(self, depth: int | None) -> int:
        groups = set()
        count = 0
        nodes = self.graph.nodes
        for node in self.nodes:
            if self.repeats and self.standin(node, depth) != node:
                continue
            parts = self.parts[node]
            if depth is not None and len(parts) > depth:
                groups.add(parts[: depth + 1])
            elif nodes[node].get("kind", "op") == "op":
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


# ------------------------------------------------------------------------------ folding
#: a picture whose top-level modules alone are more boxes than this folds runs of identical
#: consecutive sibling modules (a flat ``nn.Sequential`` of 10,000 blocks) into one box each
FOLD_ABOVE = 500
#: the longest repeating unit looked for (Linear, Tanh is 2), and the fewest repeats folded
MAX_PERIOD = 4
MIN_REPEATS = 3
#: the multiplication sign of ``(Linear, Tanh) x10,000``
TIMES = "\u00d7"


def fold_runs(
    nodes: list[Any],
    parts: dict[Any, tuple[str, ...]],
    describe: Callable[[Any], tuple],
    modules: dict[str, str],
) -> tuple[dict[Any, tuple[str, ...]], dict[str, str], list[str]]:
    """Fold runs of identical consecutive sibling modules into one module each.

    ``describe(node)`` is what makes two nodes the same (op, shape); two sibling modules are
    the same when their classes and their nodes' descriptions, in order, are. A unit of up to
    ``MAX_PERIOD`` siblings repeated ``MIN_REPEATS`` times or more (``0, 1, 2, ...`` as
    Linear, Tanh, Linear, Tanh ...) becomes one module ``0-19999`` holding them, its class
    ``(Linear, Tanh) x10,000`` (``TIMES``). Returns the new parts, the module table with the
    new paths, and one line per fold.
    """
    content: dict[tuple[str, ...], list[tuple]] = {}
    children: dict[tuple[str, ...], dict[str, None]] = {}
    for n in nodes:
        p = parts[n]
        for k in range(1, len(p) + 1):
            content.setdefault(p[:k], []).append((p[k:], *describe(n)))
            children.setdefault(p[: k - 1], {})[p[k - 1]] = None
    signature = {
        path: hash((modules.get(".".join(path)), tuple(items))) for path, items in content.items()
    }
    runs: dict[tuple[str, ...], str] = {}  # child path -> the folded module it goes in
    folds: list[str] = []
    for parent, kids in children.items():
        names = list(kids)
        sigs = [signature[(*parent, c)] for c in names]
        for start, period, repeats in _runs(sigs):
            members = names[start : start + period * repeats]
            name = f"{members[0]}-{members[-1]}"
            unit = ", ".join(str(modules.get(".".join((*parent, c)), c)) for c in members[:period])
            cls = f"({unit}) {TIMES}{repeats:,}" if period > 1 else f"{unit} {TIMES}{repeats:,}"
            modules[".".join((*parent, name))] = cls
            folds.append(f"{'.'.join((*parent, name))}: {cls}")
            for c in members:
                runs[(*parent, c)] = name
    if not runs:
        return parts, modules, []
    new_parts: dict[Any, tuple[str, ...]] = {}
    for n in nodes:
        old, new = parts[n], []
        for k in range(len(old)):
            folded = runs.get(old[: k + 1])
            if folded is not None:
                new.append(folded)
            new.append(old[k])
            cls = modules.get(".".join(old[: k + 1]))
            if cls is not None:
                modules.setdefault(".".join(new), cls)
        new_parts[n] = tuple(new)
    return new_parts, modules, folds


def _runs(sigs: list[int]) -> list[tuple[int, int, int]]:
    """``(start, period, repeats)`` of the runs to fold, left to right, greedy: at each place
    the period covering the most siblings."""
    out = []
    i = 0
    while i < len(sigs):
        best = (0, 0, 0)  # (siblings covered, period, repeats)
        for period in range(1, MAX_PERIOD + 1):
            unit = sigs[i : i + period]
            if len(unit) < period:
                break
            repeats = 1
            while sigs[i + repeats * period : i + (repeats + 1) * period] == unit:
                repeats += 1
            if repeats >= MIN_REPEATS and repeats * period > best[0]:
                best = (repeats * period, period, repeats)
        if best[0]:
            out.append((i, best[1], best[2]))
            i += best[0]
        else:
            i += 1
    return out


# ------------------------------------------------------------------------------ repeated blocks
#: the fewest consecutive identical sibling modules drawn folded as one (named ones: three
#: ``fc`` layers; two side by side still read well) ...
REPEAT_MIN = 3
#: ... and the fewest numbered children of a container (a ModuleList of blocks, as torchview
#: rolls any repeat)
REPEAT_MIN_NUMBERED = 2
#: the en dash of ``blocks.0-11``
DASH = "\u2013"


@dataclass
class Repeat:
    """A run of identical consecutive sibling modules drawn as its first instance.

    ``parent`` is the path of the module holding them, ``members`` their names in order,
    ``cls`` their class; ``twin`` maps each node of a later instance to the node at the same
    position in the first, ``instance`` each node of any instance to its instance's index.
    """

    parent: tuple[str, ...]
    members: list[str]
    cls: str | None
    twin: dict[Any, Any]
    instance: dict[Any, int]

    @property
    def level(self) -> int:
        """The module depth of the instances (``blocks.0`` is 2)."""
        return len(self.parent) + 1

    @property
    def first(self) -> tuple[str, ...]:
        return (*self.parent, self.members[0])

    @property
    def paths(self) -> list[str]:
        """The dotted path of every instance, in order."""
        return [".".join((*self.parent, m)) for m in self.members]

    @property
    def span(self) -> str:
        """``blocks.0-11`` (with an en dash)."""
        return f"{'.'.join(self.first)}{DASH}{self.members[-1]}"

    @property
    def times(self) -> str:
        """``x12`` (with a multiplication sign)."""
        return f"{TIMES}{len(self.members):,}"


def find_repeats(
    nodes: list[Any],
    parts: dict[Any, tuple[str, ...]],
    describe: Callable[[Any], tuple],
    modules: dict[str, str],
) -> list[Repeat]:
    """The runs of at least ``REPEAT_MIN`` (numbered: ``REPEAT_MIN_NUMBERED``) consecutive
    sibling modules with the same class and the same node descriptions (``describe``: kind,
    op, shape) in the same order, at any depth, outermost first."""
    members: dict[tuple[str, ...], list[Any]] = {}
    children: dict[tuple[str, ...], dict[str, None]] = {}
    # siblings in the order their ops ran (a parameter may be recorded before its module runs)
    for n in sorted(nodes, key=lambda n: describe(n)[0] != "op"):
        p = parts[n]
        for k in range(1, len(p) + 1):
            children.setdefault(p[: k - 1], {})[p[k - 1]] = None
    for n in nodes:
        p = parts[n]
        for k in range(1, len(p) + 1):
            members.setdefault(p[:k], []).append(n)

    def signature(path: tuple[str, ...]) -> tuple:
        cut = len(path)
        items = tuple((parts[n][cut:], *describe(n)) for n in members[path])
        return (modules.get(".".join(path)), items)

    repeats = []
    for parent, kids in sorted(children.items(), key=lambda item: len(item[0])):
        names = list(kids)
        sigs = [signature((*parent, c)) for c in names]
        start = 0
        while start < len(names):
            end = start + 1
            while end < len(names) and sigs[end] == sigs[start]:
                end += 1
            run = names[start:end]
            numbered = all(name.isdigit() for name in run)  # a ModuleList's, a Sequential's
            if len(run) >= (REPEAT_MIN_NUMBERED if numbered else REPEAT_MIN):
                repeats.append(_repeat(parent, run, members, modules))
            start = end
    return repeats


def _repeat(
    parent: tuple[str, ...],
    names: list[str],
    members: dict[tuple[str, ...], list[Any]],
    modules: dict[str, str],
) -> Repeat:
    first = members[(*parent, names[0])]
    twin: dict[Any, Any] = {}
    instance: dict[Any, int] = {}
    for index, name in enumerate(names):
        for position, n in enumerate(members[(*parent, name)]):
            instance[n] = index
            if index:
                twin[n] = first[position]
    cls = modules.get(".".join((*parent, names[0])))
    return Repeat(parent, names, cls, twin, instance)
