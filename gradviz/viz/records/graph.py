"""Records -> ``networkx.DiGraph``: the pinned graph schema (see docs/trace-schema.md).

Everything here is a pure function of plain records, so a live trace, a saved one and a test can
build the same graph. Nodes are added in recording order (``v1``, ``v2``, ...) and edges in
argument order, so iteration over the graph is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import networkx as nx

from gradviz.viz.records.schema import Derivative, NodeRecord, Step, add_edge, node_attrs

_seq = attrgetter("seq")


def ancestors(records: Mapping[str, NodeRecord], root: str, since: int = 0) -> list[NodeRecord]:
    """``root`` and every record it was computed from, in recording order (iterative).

    A ``detach()`` result leads on to what it was detached from when that was recorded at
    ``since`` or later (in this step): the values flowed into the loss even though no gradient
    flows back, so a pass's graph shows the layers a detach cut off (the backward view draws
    them without a gradient, behind a dashed ``detach()`` edge). A value detached from an
    earlier step (an RNN's hidden state, truncated backpropagation) is where this step starts."""
    seen = {root}
    stack = [root]
    while stack:
        record = records.get(stack.pop())
        if record is None:
            continue
        for parent, _ in record.parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
        origin = record.detached_from
        if origin is not None and origin not in seen:
            was = records.get(origin)
            if was is None or was.seq >= since:
                seen.add(origin)
                stack.append(origin)
    return sorted((records[n] for n in seen if n in records), key=_seq)


def reachable(records: Mapping[str, NodeRecord], starts: Iterable[str]) -> set[str]:
    """``starts`` and the ids of every record they were computed from (through parents)."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        record = records.get(nid)
        if record is not None:
            for parent, _ in record.parents:
                if parent not in seen:
                    stack.append(parent)
    return seen


def join_path(prefix: str, path: str) -> str:
    """``"a" + "b.c" -> "a.b.c"``, ignoring empty parts."""
    if prefix and path:
        return f"{prefix}.{path}"
    return prefix or path


def build_graph(
    records: Iterable[NodeRecord],
    *,
    root: str | None = None,
    pass_index: int | None = None,
    script: str | None = None,
    modules: Mapping[str, str] | None = None,
    prefixes: Sequence[str] = (),
    param_names: Mapping[int, str] | None = None,
    names: Mapping[str, str] | None = None,
    steps: Sequence[Step] = (),
    grad_arrays: Mapping[str, Any] | None = None,
    grad_previews: Mapping[str, Any] | None = None,
) -> nx.DiGraph:
    """The DiGraph of ``records`` (already in recording order).

    ``prefixes[i]`` is the path of top-level module ``i`` ("" for the main model);
    ``param_names`` maps a Variable's engine id to its ``named_parameters()`` (or
    ``named_buffers()``) name, which also gives a parameter or buffer its module; ``names``
    overrides a node's ``name`` (a Variable named after its op ran). ``steps`` fill ``grad``,
    ``step`` and ``accumulated``; ``grad_arrays`` and ``grad_previews`` (by node id) fill
    ``grad_array`` and ``grad_preview``.
    """
    param_names = param_names or {}
    names = names or {}
    grad_arrays = grad_arrays or {}
    grad_previews = grad_previews or {}
    graph = nx.DiGraph()
    graph.graph.update(root=root, modules=dict(modules or {}), script=script)
    graph.graph["pass"] = pass_index
    by_node = {step.node: step for step in steps}
    for record in records:
        nid = record.id
        name = names.get(nid, record.name)
        module = record.module
        if record.kind in ("param", "buffer"):
            full = param_names.get(record.var) if record.var is not None else None
            if full is not None:
                name = full
                module = full.rpartition(".")[0]
            else:
                module = _resolve(record, prefixes)
        else:
            module = _resolve(record, prefixes)
        step = by_node.get(nid)
        graph.add_node(
            nid,
            **node_attrs(
                kind=record.kind,
                op=record.op,
                name=name,
                shape=record.shape,
                dtype=record.dtype,
                requires_grad=record.requires_grad,
                module=module,
                source=record.source,
                value=record.value,
                grad=None if step is None else step.grad,
                step=None if step is None else step.index,
                accumulated=False if step is None else step.accumulated,
                retained=step is not None and step.retained,
                args=record.args,
                detached_from=record.detached_from,
                derivative_of=_derivative(record.derivative_of, prefixes),
                array=record.array,
                grad_array=grad_arrays.get(nid),
                preview=record.preview,
                grad_preview=grad_previews.get(nid),
            ),
        )
        for parent, slot in record.parents:
            if parent not in graph:
                continue
            add_edge(graph, parent, nid, slot)
    return graph


def _resolve(record: NodeRecord | Derivative, prefixes: Sequence[str]) -> str:
    if 0 <= record.root < len(prefixes):
        return join_path(prefixes[record.root], record.module)
    return record.module


def _derivative(of: Derivative | None, prefixes: Sequence[str]) -> dict[str, Any] | None:
    """The ``derivative_of`` attribute of a graph rule's op: ``{node, op, module, rule}``."""
    if of is None:
        return None
    return {"node": of.node, "op": of.op, "module": _resolve(of, prefixes), "rule": of.rule}
