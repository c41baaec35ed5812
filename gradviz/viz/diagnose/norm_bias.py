"""A layer's bias just before a batch norm (``nn.Linear(...)`` then ``nn.BatchNorm1d``): in
training the norm subtracts the batch mean, so the bias changes nothing and its gradient is
zero up to rounding ("b1 is useless" in makemore's "Becoming a backprop ninja"). A note, not a
finding: the model trains as well with it, only with a parameter that does nothing."""

from __future__ import annotations

from typing import Any

from gradviz.viz.diagnose.context import Context
from gradviz.viz.records.text import number

#: the ops that take a bias as their input 2
_LAYERS = frozenset(
    {
        "Linear",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
    }
)
#: how small a bias's gradient is, against its layer output's, to count as zero
_ZERO = 1e-5


def notes(ctx: Context) -> list[str]:
    """One note per bias whose layer feeds a batch norm and whose gradient is ~0."""
    graph = ctx.graph
    out = []
    for node, attrs in graph.nodes(data=True):
        if attrs.get("op") != "BatchNorm":
            continue
        for layer, _, edge in graph.in_edges(node, data=True):
            if edge.get("arg") == 0 and graph.nodes[layer].get("op") in _LAYERS:
                out += _bias_note(graph, layer)
    return out


def _bias_note(graph: Any, layer: str) -> list[str]:
    output = _norm(graph.nodes[layer])
    for bias, _, edge in graph.in_edges(layer, data=True):
        attrs = graph.nodes[bias]
        if edge.get("arg") != 2 or attrs.get("kind") != "param":
            continue
        grad = _norm(attrs)
        if grad is not None and output and grad <= _ZERO * output:
            name = attrs.get("name") or bias
            return [
                f"{name} feeds a batch norm, which subtracts the batch mean: it changes "
                f"nothing and its gradient is ~0 (|grad| {number(grad)}); make its layer with "
                "bias=False"
            ]
    return []


def _norm(attrs: dict[str, Any]) -> float | None:
    grad = attrs.get("grad")
    return grad.get("norm") if isinstance(grad, dict) else None
