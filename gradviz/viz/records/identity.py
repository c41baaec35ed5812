"""Structural identity: the same node has the same key in every step and every run of one model.

A node's key is where it sits in the model, never its recording id (``v17`` in one step may be
``v23`` in the next): a parameter is its ``named_parameters()`` name (``param:fc1.weight``), a
buffer its ``named_buffers()`` name (``buffer:bn1.running_mean``); an op or any other leaf is
its module path, its op (or kind) and its position among the nodes of that module with the same
op, in recording order (``blocks.0.attn/MatMul#1``: the second MatMul recorded inside
``blocks.0.attn``), an input counting where it is first used (:func:`use_order`: a dataset
indexed in every step is recorded once, in the first step, and stays). :func:`structure` adds
what makes two graphs "the same model": each node's kind, op, shape, dtype and its parents'
keys in argument order. Many-step recording matches nodes across steps with these keys, and a
diff compares two graphs with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import networkx as nx

from gradviz.viz.records.schema import node_view

__all__ = [
    "KeyMaker",
    "NodeShape",
    "module_path",
    "module_path_in",
    "structural_keys",
    "structure",
    "use_order",
]

T = TypeVar("T")


def use_order(
    order: Sequence[T], parents: Callable[[T], Iterable[T]], is_input: Callable[[T], bool]
) -> list[T]:
    """``order`` (recording order) with each input moved to just before the first node that
    uses it, in that node's argument order: a tensor alive across steps (a dataset indexed
    with ``Y[ix]``) is recorded once, in the first step, so in later steps its record comes
    before the step's new inputs (``ix``); by first use both keep their keys."""
    placed: set[T] = set()
    out: list[T] = []
    for node in order:
        if is_input(node):
            continue
        for parent in parents(node):
            if parent not in placed and is_input(parent):
                placed.add(parent)
                out.append(parent)
        out.append(node)
    out += [node for node in order if is_input(node) and node not in placed]
    return out


class KeyMaker:
    """Hands out structural keys to the nodes of one graph, given in recording order (what
    :func:`structural_keys` does for a graph, and the recorder for a step it does not build)."""

    def __init__(self) -> None:
        self._seen: Counter[tuple[str, str]] = Counter()
        self._taken: set[str] = set()

    def key(self, kind: str, op: str | None, module: str, name: str | None) -> str:
        """The key of the next node: ``param:<name>`` for a named parameter (``buffer:<name>``
        for a buffer), else
        ``<module>/<op or kind>#<position>``."""
        if kind in ("param", "buffer") and name:
            key = f"{kind}:{name}"
        else:
            what = op or kind
            position = self._seen[module, what]
            self._seen[module, what] += 1
            key = f"{module}/{what}#{position}"
        while key in self._taken:  # two parameters of one name: keep the keys unique
            key += "'"
        self._taken.add(key)
        return key


def module_path(graph: nx.DiGraph, path: str) -> str:
    """``path`` as it reads in every step: a top-level module besides the model (a loss module
    made anew each step, ``nn.MSELoss()(out, y)``) is named after its class, numbered in the
    order the run met them (``MSELoss_2``); the number is dropped."""
    return module_path_in(graph.graph.get("modules") or {}, path)


def module_path_in(classes: Mapping[str, str], path: str) -> str:
    """:func:`module_path` given the graph's module table (module path -> class name)."""
    head, dot, rest = path.partition(".")
    base, under, number = head.rpartition("_")
    if under and number.isdigit() and classes.get(head) == base:
        return base + dot + rest
    return path


def structural_keys(graph: nx.DiGraph) -> dict[Any, str]:
    """``{node id: structural key}`` for every node of ``graph`` (keys are unique), in the
    graph's (recording) order."""
    maker = KeyMaker()
    keys: dict[Any, str] = {}

    def parents(node: Any) -> list[Any]:
        edges = graph.in_edges(node, data=True)
        return [p for p, _, d in sorted(edges, key=lambda e: min(_slots(e[2])))]

    def is_input(node: Any) -> bool:
        return graph.nodes[node].get("kind") == "input"

    for node in use_order(list(graph.nodes), parents, is_input):
        view = node_view(graph, node)
        keys[node] = maker.key(view.kind, view.op, module_path(graph, view.module), view.name)
    return {node: keys[node] for node in graph.nodes}


def _slots(data: Mapping[str, Any]) -> tuple[int, ...]:
    """The argument slots an edge fills (a parent given twice is one edge)."""
    return tuple(data.get("slots", (data.get("arg", 0),)))


class NodeShape(NamedTuple):
    """What a node is, structurally: two graphs are the same model when every key maps to
    equal NodeShapes."""

    kind: str
    op: str | None
    shape: tuple[int, ...] | None
    dtype: str | None
    module: str
    parents: tuple[tuple[str, tuple[int, ...]], ...]


def structure(graph: nx.DiGraph) -> dict[str, NodeShape]:
    """``{structural key: NodeShape}`` of ``graph``; parents are ``(key, slots)`` in slot order."""
    keys = structural_keys(graph)
    result: dict[str, NodeShape] = {}
    for node, key in keys.items():
        view = node_view(graph, node)
        edges = graph.in_edges(node, data=True)
        slots = ((keys[p], _slots(d)) for p, _, d in edges)
        parents = sorted(slots, key=lambda pair: pair[1])
        shape = tuple(view.shape) if view.shape is not None else None
        module = module_path(graph, view.module)
        result[key] = NodeShape(view.kind, view.op, shape, view.dtype, module, tuple(parents))
    return result
