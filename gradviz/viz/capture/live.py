"""The graph behind a live Variable, for ``gradviz.render(loss)`` (torchviz's ``make_dot``).

Walks ``.parents`` from the Variable (iteratively: deep graphs do not hit the recursion limit)
into the pinned graph schema that :mod:`gradviz.viz.draw.render` draws. No trace is needed, so there
are no module paths, source lines or backward steps; leaves (and Variables that called
``retain_grad()``) show the gradient they hold, other nodes are listed in the graph attribute
``GRAD_NOT_RECORDED`` (their ``grad`` is None), which the renderer reads as "not recorded" rather
than "not computed".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx

from gradviz.autograd.variable import Variable
from gradviz.viz.capture.stats import array_stats
from gradviz.viz.records.schema import GRAD_NOT_RECORDED, add_edge, node_attrs

__all__ = ["caller_variables", "graph_from_variable", "history"]


def caller_variables() -> dict[str, Any]:
    """The Variables the first frame outside gradviz holds, by name (its locals first, then
    its module's globals; private names aside), for :func:`graph_from_variable`'s ``bound``."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gradviz"):
        frame = frame.f_back
    found: dict[str, Any] = {}
    seen: set[int] = set()
    for scope in () if frame is None else (frame.f_locals, frame.f_globals):
        for name, value in scope.items():
            if isinstance(value, Variable) and not name.startswith("_") and id(value) not in seen:
                seen.add(id(value))
                found[name] = value
    return found


def history(root: Any, known: Callable[[Any], bool] = lambda var: False) -> list[Any]:
    """``root`` and every Variable it was computed from, each once, parents before children
    (an iterative walk of ``.parents``: any depth works). Variables for which ``known`` is true
    are neither listed nor walked through."""
    order: list[Any] = []
    seen = {root.id}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        var, expanded = stack.pop()
        if expanded:
            order.append(var)
            continue
        stack.append((var, True))
        for parent in reversed(var.parents):
            if parent.id not in seen and not known(parent):
                seen.add(parent.id)
                stack.append((parent, False))
    return order


def graph_from_variable(
    root: Any, params: Mapping[str, Any] | None, bound: Mapping[str, Any] | None = None
) -> nx.DiGraph:
    """Walk ``.parents`` from ``root`` (iteratively) into the pinned graph schema. Nodes are
    named by ``params``, else by ``bound`` (the caller's variables: ``a``, ``e``, ``L``)."""
    names = {id(v): k for k, v in (bound or {}).items()}
    names.update({id(v): k for k, v in (params or {}).items()})
    order = history(root)
    ids = {id(v): f"v{i}" for i, v in enumerate(order, 1)}
    graph = nx.DiGraph(root=ids[id(root)], modules={}, script=None)
    graph.graph["pass"] = None
    not_recorded = graph.graph[GRAD_NOT_RECORDED] = set()
    for var in order:
        op = getattr(var, "op", None)
        leaf = op is None
        name = names.get(id(var)) or getattr(var, "name", None)
        kind = "op" if not leaf else ("param" if var.requires_grad else "input")
        nid = ids[id(var)]
        grad = None
        if leaf or getattr(var, "retains_grad", False):
            grad = None if var._grad is None else array_stats(var._grad)
        else:
            not_recorded.add(nid)
        graph.add_node(
            nid,
            **node_attrs(
                kind=kind,
                op=op,
                name=name,
                shape=tuple(var.shape),
                dtype=str(var.dtype),
                requires_grad=bool(var.requires_grad),
                value=array_stats(var._data),
                grad=grad,
                retained=not leaf and bool(getattr(var, "retains_grad", False)),
            ),
        )
        for slot, parent in enumerate(var.parents):
            add_edge(graph, ids[id(parent)], nid, slot)
    return graph
