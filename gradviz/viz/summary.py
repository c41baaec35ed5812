"""A one-screen text summary of a trace: ops by type, parameters, gradient norms, NaN/Inf."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from gradviz.viz.diagnose.nan import is_mask
from gradviz.viz.draw.style import update_text
from gradviz.viz.records.text import number, printable, shape_text


def _passes(trace: Any) -> list[Any]:
    passes = list(getattr(trace, "passes", None) or [])
    return passes or [trace]


def _name(node: Any, attrs: Mapping[str, Any]) -> str:
    """A parameter's name; one outside every module (a bare Variable) by its node id and
    line."""
    if attrs.get("name"):
        return str(attrs["name"])
    source = attrs.get("source")
    return f"{node} ({source})" if source else str(node)


def summary(trace: Any, forward_only: bool = False, max_rows: int = 12) -> str:
    """One screen about a trace: ops by type, parameters, backward steps, gradient norms,
    NaN/Inf; characters a terminal would act on are shown escaped."""
    graph = trace.graph
    nodes = graph.nodes
    lines = []
    ops = Counter(a.get("op") for _, a in nodes(data=True) if a.get("kind") == "op")
    total = sum(ops.values())
    by_type = ", ".join(f"{op} {n}" for op, n in sorted(ops.items(), key=lambda x: (-x[1], x[0])))
    lines.append(f"ops: {total:,}" + (f" ({by_type})" if by_type else ""))

    params = [(n, a) for n, a in nodes(data=True) if a.get("kind") == "param"]
    size = sum(math.prod(a.get("shape") or ()) for _, a in params)
    tensors = f"{len(params):,} tensor{'' if len(params) == 1 else 's'}"
    lines.append(f"parameters: {tensors}, {size:,} value{'' if size == 1 else 's'}")
    passes = _passes(trace)
    norms: dict[Any, list[float]] = {}  # by node: parameters may share a name (`weight`)
    for p in passes:
        for n, a in getattr(p, "graph", graph).nodes(data=True):
            grad = a.get("grad")
            if a.get("kind") == "param" and grad and grad.get("norm") is not None:
                if not (grad.get("nan") or grad.get("inf")):
                    norms.setdefault(n, []).append(float(grad["norm"]))
    if not forward_only:
        steps = getattr(trace, "steps", None) or []
        lines.append(
            f"backward steps: {len(steps):,}"
            + (f" (in {len(passes)} passes)" if len(passes) > 1 else "")
        )
    width = max((len(_name(n, a)) for n, a in params[:max_rows]), default=0)
    shapes = max((len(shape_text(a.get("shape"))) for _, a in params[:max_rows]), default=0)
    for n, a in params[:max_rows]:
        name = _name(n, a)
        row = f"  {name:<{width}}  {shape_text(a.get('shape')):<{max(shapes, 12)}}"
        if not forward_only:
            seen = norms.get(n)
            grad = a.get("grad")
            if grad and (grad.get("nan") or grad.get("inf")):
                row += f"  grad: {int(grad.get('nan') or 0)} NaN, {int(grad.get('inf') or 0)} Inf"
            elif not seen:
                row += (
                    "  grad: none (not computed)"
                    if a.get("requires_grad", True)
                    else "  frozen (requires_grad=False)"
                )
            elif len(seen) == 1:
                row += f"  |grad| {number(seen[0])}"
            else:
                row += f"  |grad| {number(min(seen))} .. {number(max(seen))}"
            update = a.get("update")
            if update and update.get("ratio") is not None:
                row += f"  {update_text(update)}"
        lines.append(row.rstrip())
    if len(params) > max_rows:
        lines.append(f"  ... and {len(params) - max_rows} more")
    if norms and not forward_only:
        every = [x for xs in norms.values() for x in xs]
        lines.append(f"gradient norms: {number(min(every))} .. {number(max(every))}")
    lines.append(_bad_values(graph, max_rows))
    return printable("\n".join(lines))  # names may hold terminal escape sequences


def _bad_values(graph: Any, max_rows: int) -> str:
    bad = []
    masks = 0
    for node, a in graph.nodes(data=True):
        label = a.get("name") or a.get("op") or a.get("kind") or "node"
        for what in ("value", "grad"):
            stats: Mapping[str, Any] | None = a.get(what)
            if what == "value" and is_mask(a.get("op"), stats, a.get("args")):
                masks += 1
            elif stats and (stats.get("nan") or stats.get("inf")):
                bad.append(
                    f"{what} of {label} ({node}): {int(stats.get('nan') or 0)} NaN, "
                    f"{int(stats.get('inf') or 0)} Inf"
                )
    masked = f" (besides the -inf of {masks} masked fill{'s' * (masks > 1)}, as intended)"
    if not bad:
        return "NaN/Inf: none" + (masked if masks else "")
    more = f"\n  ... and {len(bad) - max_rows} more" if len(bad) > max_rows else ""
    return "NaN/Inf found:\n  " + "\n  ".join(bad[:max_rows]) + more
