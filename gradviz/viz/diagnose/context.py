"""What every diagnosis reads: the pass's graph, the op calls kept for it, and small helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, TypeVar

import networkx as nx
import numpy as np

from gradviz.viz.records.text import natural_key

T = TypeVar("T")


def best_below(
    graph: nx.DiGraph, seeds: Mapping[str, T], pick: Callable[[Iterable[T]], T] = max
) -> dict[str, T]:
    """For every node, ``pick`` (``max`` or ``min``) of the ``seeds`` of the node and of all
    its descendants (nodes that reach no seed are left out).

    One sweep in reverse topological order, O(nodes + edges): what would otherwise be one
    search below each parameter is computed for every node at once.
    """
    out: dict[str, T] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        found = [out[s] for s in graph.successors(node) if s in out]
        if node in seeds:
            found.append(seeds[node])
        if found:
            out[node] = pick(found)
    return out


def below(graph: nx.DiGraph, sources: Iterable[str]) -> set[str]:
    """``sources`` and every node reachable from one of them: one multi-source search."""
    seen = {s for s in sources if s in graph}
    stack = list(seen)
    while stack:
        for child in graph.successors(stack.pop()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


class Context:
    """One pass as the diagnoses see it.

    ``graph`` is the pass's graph (the loss and what it was computed from); ``calls`` the op
    calls kept for it (``{node: (Function class, argument values, needs_input_grad)}``, empty
    for a loaded trace); ``context`` builds the graph of every record alive at the backward
    (None when unknown); ``params`` lists the model's parameters; ``optimizer`` is the class
    name of the optimizer that stepped after the pass and ``learning_rate`` the learning rate
    of its first parameter group (None when unknown); ``stepped`` the parameter nodes the
    optimizers that stepped after the pass hold (None when no step was seen); ``clip_norm`` the
    ``max_norm`` of a ``clip_grad_norm_`` before that step (None: none seen); ``stale_grads``
    the ``(parameter node, optimizer)`` pairs whose ``.grad`` the pass added into unzeroed
    since an optimizer step (None: not recorded).
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        calls: Mapping[str, Any] | None,
        context: Callable[[], nx.DiGraph] | None,
        params: Callable[[], list[tuple[str, str | None, bool]]] | None,
        events: list[Any],
        optimizer: str | None = None,
        learning_rate: float | None = None,
        stepped: frozenset[str] | None = None,
        clip_norm: float | str | None = None,
        stale_grads: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        self.graph = graph
        self.stale_grads = stale_grads
        self.clip_norm = clip_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.stepped = stepped
        self.calls = dict(calls or {})
        self._context = context
        self._params = params
        self.events = events
        self.root = graph.graph.get("root")
        self.order = sorted(graph.nodes, key=natural_key)

    def gradient_hook(self, node: str) -> Any:
        """The ``grad_hook`` event of ``node`` in this pass (recorded after its loss), or None:
        a hook that made its gradient exactly zero or non-finite."""
        root = natural_key(self.root) if self.root is not None else None
        for event in reversed(self.events):
            if event.kind == "grad_hook" and event.node == node:
                after = event.after
                return (
                    event if root is None or after is None or natural_key(after) >= root else None
                )
        return None

    # ------------------------------------------------------------------------ graph views
    @cached_property
    def full(self) -> nx.DiGraph:
        """Every record alive at the backward (falls back to the pass's graph)."""
        return self._context() if self._context is not None else self.graph

    @cached_property
    def backward_nodes(self) -> set[str]:
        """The loss and everything it was computed from."""
        if self.root not in self.graph:
            return set(self.graph.nodes)
        return nx.ancestors(self.graph, self.root) | {self.root}

    @cached_property
    def param_list(self) -> list[tuple[str, str | None, bool]]:
        if self._params is not None:
            return self._params()
        return [
            (str(a.get("name") or n), n, bool(a.get("requires_grad", True)))
            for n, a in self.graph.nodes(data=True)
            if a.get("kind") == "param"
        ]

    def ops(self) -> list[str]:
        """Op nodes of the pass, in recording order."""
        return [n for n in self.order if self.graph.nodes[n].get("kind") == "op"]

    # ------------------------------------------------------------------------ node facts
    def attrs(self, node: str, graph: nx.DiGraph | None = None) -> Mapping[str, Any]:
        return (graph if graph is not None else self.graph).nodes[node]

    def where(self, node: str, graph: nx.DiGraph | None = None) -> dict[str, Any]:
        """``node``/``op``/``module``/``source`` keyword arguments for a Finding."""
        a = self.attrs(node, graph)
        return {
            "node": node,
            "op": a.get("op") or a.get("name") or a.get("kind"),
            "module": a.get("module") or "",
            "source": a.get("source"),
        }

    def label(self, node: str, graph: nx.DiGraph | None = None) -> str:
        """How a message names a node: a parameter's or Variable's name, else op and id."""
        a = self.attrs(node, graph)
        if a.get("name"):
            return str(a["name"])
        if a.get("op"):
            return f"{a['op']} at {a['source']}" if a.get("source") else f"{a['op']} ({node})"
        return f"{a.get('kind', 'node')} {node}"

    def hook_site(self, node: str) -> str:
        """How a message names the gradient hook on ``node``: ``register_hook`` on it, or a
        module's backward hook (gathered on the identity ops of the module's call)."""
        a = self.attrs(node)
        if a.get("op") == "BackwardHookFunction":
            return f"a backward hook of module {a.get('module') or '(the model)'}"
        return f"register_hook on {self.label(node)}"

    def inputs(self, node: str) -> list[tuple[int, str, Mapping[str, Any]]]:
        """``(slot, parent id, parent attributes)`` of an op, by argument slot."""
        g = self.graph
        out = []
        for parent in g.predecessors(node):
            for slot in g.edges[parent, node].get("slots") or (g.edges[parent, node]["arg"],):
                out.append((slot, parent, g.nodes[parent]))
        return sorted(out, key=lambda item: item[0])

    def array(self, node: str, slot: int) -> np.ndarray | None:
        """The array input ``slot`` of op ``node`` ran on (None when not kept)."""
        call = self.calls.get(node)
        if call is None or slot >= len(call[1]):
            return None
        value = call[1][slot]
        return value if isinstance(value, np.ndarray) else None
