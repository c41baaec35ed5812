"""Broadcast audit: which inputs were broadcast, over which axes their gradient is summed back.

The axes come from the op's own backward (the gradient shape it returned, as the engine
un-broadcasts it) when the per-op check re-ran it, and from the input shapes for the built-in
broadcasting ops (their no-grad targets too). A broadcast is accidental, an error, when a
loss-like op (a loss, or an elementwise op that only reductions separate from a scalar loss)
expanded every one of its array inputs: ``(N, 1)`` predictions against ``(N,)`` targets make an
``(N, N)`` matrix of pairs, and its mean is a quietly wrong loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.gradcheck import summed_axes
from gradviz.viz.diagnose.report import Broadcast, Finding
from gradviz.viz.records.text import shape_text

#: built-in ops that broadcast their array arguments against each other
BROADCASTING = frozenset(
    {
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Pow",
        "MseLoss",
        "BinaryCrossEntropy",
        "BinaryCrossEntropyWithLogits",
    }
)
LOSSES = frozenset(
    {
        "MseLoss",
        "BinaryCrossEntropy",
        "BinaryCrossEntropyWithLogits",
        "CrossEntropy",
        "NllLoss",
        "L1Loss",
        "SmoothL1Loss",
        "HuberLoss",
        "KlDiv",
    }
)
#: ops that may sit between a loss-like elementwise op and the scalar loss
TAIL = BROADCASTING | {"Neg", "Abs", "Sqrt", "Exp", "Log", "Sum", "Mean", "Clamp", "Amax", "Amin"}


def diagnose(
    ctx: Context, grad_shapes: Mapping[tuple[str, int], tuple[int, ...]]
) -> tuple[list[Broadcast], list[Finding]]:
    """``grad_shapes``: ``{(node, slot): shape}`` of the gradients the per-op check's backward
    re-runs returned in another shape than their input's."""
    g = ctx.graph
    rows: list[Broadcast] = []
    findings: list[Finding] = []
    returned: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    for (node, slot), shape in grad_shapes.items():
        returned.setdefault(node, []).append((slot, shape))
    tail = _tail(ctx)
    for n in ctx.ops():
        if n not in ctx.backward_nodes:
            continue
        a = g.nodes[n]
        op = str(a.get("op"))
        inputs = [(slot, p, pa) for slot, p, pa in ctx.inputs(n) if pa.get("shape") is not None]
        expanded = _expanded(g, op, inputs, returned.get(n, ()))
        if not expanded:
            continue
        arrays = [slot for slot, _, pa in inputs if len(pa["shape"]) > 0]
        accidental = (
            len(arrays) >= 2
            and all(slot in expanded for slot in arrays)
            and _loss_like(ctx, n, op, tail)
        )
        for slot in sorted(expanded):
            shape, axes, parent = expanded[slot]
            rows.append(
                Broadcast(
                    node=n,
                    op=op,
                    module=a.get("module") or "",
                    source=a.get("source"),
                    slot=slot,
                    name=ctx.label(parent),
                    input_shape=tuple(g.nodes[parent].get("shape") or ()),
                    shape=tuple(shape),
                    axes=tuple(axes),
                    accidental=accidental,
                )
            )
        if accidental:
            shape = expanded[arrays[0]][0]
            roles = ("input", "target") if op in LOSSES else ()
            shapes = " against ".join(
                f"{roles[k] if k < len(roles) else ctx.label(p)} {shape_text(pa['shape'])}"
                for k, (_, p, pa) in enumerate(inputs)
            )
            sizes = [int(np.prod(pa["shape"])) for _, _, pa in inputs]
            findings.append(
                Finding(
                    "error",
                    "broadcast",
                    f"broadcast {shapes} to {shape_text(shape)}: the loss covers "
                    f"{int(np.prod(shape)):,} pairs instead of {max(sizes):,} elements",
                    numbers={"elements": float(np.prod(shape)), "expected": float(max(sizes))},
                    label=f"accidental broadcast: {shapes.replace(' against ', ' vs ')} "
                    f"gives {shape_text(shape)}",
                    **ctx.where(n),
                )
            )
    return rows, findings


def _expanded(
    g: nx.DiGraph,
    op: str,
    inputs: list[tuple[int, str, Mapping[str, Any]]],
    returned: Iterable[tuple[int, tuple[int, ...]]],
) -> dict[int, tuple[tuple[int, ...], tuple[int, ...], str]]:
    """``{slot: (broadcast shape, summed axes, parent)}`` of the arguments of an op that were
    broadcast: by the op's own broadcasting rule, or as its backward's gradients show."""
    expanded: dict[int, tuple[tuple[int, ...], tuple[int, ...], str]] = {}
    if op in BROADCASTING and len(inputs) >= 2:
        try:
            shape = tuple(np.broadcast_shapes(*(tuple(pa["shape"]) for _, _, pa in inputs)))
        except ValueError:
            shape = None
        if shape is not None:
            for slot, p, pa in inputs:
                if tuple(pa["shape"]) != shape:
                    expanded[slot] = (shape, summed_axes(shape, tuple(pa["shape"])), p)
    for slot, shape in returned:
        if slot in expanded:
            continue
        parent = next((p for s, p, _ in inputs if s == slot), None)
        if parent is None:
            continue
        axes = summed_axes(tuple(shape), tuple(g.nodes[parent].get("shape") or ()))
        if axes:
            expanded[slot] = (tuple(shape), axes, parent)
    return expanded


def _tail(ctx: Context) -> set[str]:
    """The nodes whose every descendant on the way to the loss is a tail op (or not an op),
    the loss included: one sweep in reverse topological order."""
    g, on_path = ctx.graph, ctx.backward_nodes
    out: set[str] = set()
    for n in reversed(list(nx.topological_sort(g))):
        below = [c for c in g.successors(n) if c in on_path]
        if all(c in out and _is_tail(g.nodes[c]) for c in below):
            out.add(n)
    return out


def _is_tail(attrs: Mapping) -> bool:
    return attrs.get("kind") != "op" or attrs.get("op") in TAIL


def _loss_like(ctx: Context, node: str, op: str, tail: set[str]) -> bool:
    """A loss, or an op that only elementwise ops and reductions separate from a scalar loss."""
    if op in LOSSES or op.endswith("Loss"):
        return True
    g = ctx.graph
    root = ctx.root
    if root not in g or tuple(g.nodes[root].get("shape") or ()) not in ((), (1,)):
        return False
    return node in tail and _is_tail(g.nodes[root])
