"""Structural identity: the same node has the same key in every step and every run of one model.

A node's key is where it sits in the model, never its recording id (``v17`` in one step may be
``v23`` in the next): a parameter is its ``named_parameters()`` name (``param:fc1.weight``), a
buffer its ``named_buffers()`` name (``buffer:bn1.running_mean``); an op or any other leaf is
its module path, its op (or kind) and its position among the nodes of that module with the same
op, in recording order (``blocks.0.attn/MatMul#1``: the second MatMul recorded inside
``blocks.0.attn``). :func:`structure` adds what makes two graphs "the same model": each node's
kind, op, shape, dtype and its parents' keys in argument order. Many-step recording matches nodes
across steps with these keys, and a diff compares two graphs with them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

import networkx as nx

from gradviz.viz.records.schema import node_view

__all__ = ["NodeShape", "module_path", "structural_keys", "structure"]


def module_path(graph: nx.DiGraph, path: str) -> str:
    """``path`` as it reads in every step: a top-level module besides the model (a loss module
    made anew each step, ``nn.MSELoss()(out, y)``) is named after its class, numbered in the
    order the run met them (``MSELoss_2``); the number is dropped."""
    head, dot, rest = path.partition(".")
    base, under, number = head.rpartition("_")
    classes = graph.graph.get("modules") or {}
    if under and number.isdigit() and classes.get(head) == base:
        return base + dot + rest
    return path


def structural_keys(graph: nx.DiGraph) -> dict[Any, str]:
    """``{node id: structural key}`` for every node of ``graph`` (keys are unique)."""
    seen: Counter[tuple[str, str]] = Counter()
    keys: dict[Any, str] = {}
    taken: set[str] = set()
    for node in graph.nodes:
        view = node_view(graph, node)
        if view.kind in ("param", "buffer") and view.name:
            key = f"{view.kind}:{view.name}"
        else:
            what = view.op or view.kind
            module = module_path(graph, view.module)
            position = seen[module, what]
            seen[module, what] += 1
            key = f"{module}/{what}#{position}"
        while key in taken:  # two parameters of one name: keep the keys unique
            key += "'"
        taken.add(key)
        keys[node] = key
    return keys


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
        slots = ((keys[p], tuple(d.get("slots", (d.get("arg", 0),)))) for p, _, d in edges)
        parents = sorted(slots, key=lambda pair: pair[1])
        shape = tuple(view.shape) if view.shape is not None else None
        module = module_path(graph, view.module)
        result[key] = NodeShape(view.kind, view.op, shape, view.dtype, module, tuple(parents))
    return result
