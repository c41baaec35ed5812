"""Why a parameter got no gradient (or an exactly zero one) in a pass.

Causes, in the order they are looked for:

- never used: no op of the recorded forward read the parameter (its location is the line that
  created it, ``self.skip = nn.Linear(2, 32)``);
- cut by ``detach()``: something computed from it was detached and the detached copy feeds the
  loss (the trace records each ``detach()`` with its line);
- cut by ``no_grad``: an op on the path to the loss ran with recording off (the trace records
  each ``no_grad`` region with its line);
- behind a non-differentiable op: an op on the path gave no gradient for that argument
  (integer targets, indices);
- not reachable: what it computed never reaches the loss, or only as plain data (comparisons,
  ``argmax``, ``.numpy()`` and ``.item()`` return arrays, which carry no gradient);
- exactly zero: the op on the path whose backward turned a non-zero gradient into zeros; a ReLU
  whose inputs are all <= 0 is a dead ReLU.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding
from gradviz.viz.scene import natural_key
from gradviz.viz.style import number, shape_text


def _norm(stats: Any) -> float | None:
    if not stats:
        return None
    value = stats.get("norm")
    return None if value is None else float(value)


def _on(source: str | None) -> str:
    return f" at {source}" if source else ""


def diagnose(ctx: Context) -> list[Finding]:
    findings = []
    for name, nid, requires_grad in ctx.param_list:
        if not requires_grad:
            continue  # frozen on purpose
        finding = _explain(ctx, name, nid)
        if finding is not None:
            findings.append(finding)
    return findings


def _explain(ctx: Context, name: str, nid: str | None) -> Finding | None:
    g = ctx.graph
    if nid is None or _never_used(ctx, nid):
        where = _param_where(ctx, nid, g) if nid in g else {}
        created = f" (created at {where['source']})" if where.get("source") else ""
        return Finding(
            "warning",
            "no_gradient",
            f"{name} got no gradient: no op of this step's forward used it",
            label=f"no gradient: never used{created}",
            numbers={},
            **where,
        )
    if nid in ctx.backward_nodes:  # (a branch a detach() cut off is in g, not upstream)
        grad = g.nodes[nid].get("grad")
        norm = _norm(grad)
        if grad is not None and (norm is None or norm > 0):
            return None  # it has a gradient (NaN/Inf ones are the NaN diagnosis's)
        if grad is None:
            cause, related = _blocked(ctx, nid)
        else:
            cause, related = _zeroed(ctx, nid)
        what = "no gradient" if grad is None else "a gradient of exactly zero"
        return Finding(
            "warning",
            "no_gradient",
            f"{name} got {what}: {cause}",
            label=f"{'no gradient' if grad is None else 'grad = 0'}: {_short(cause)}",
            related=related,
            **_param_where(ctx, nid, g),
        )
    full = ctx.full
    if nid not in full:
        return Finding(
            "warning",
            "no_gradient",
            f"{name} got no gradient: it is not connected to the loss",
            label="no gradient: not connected to the loss",
        )
    cause, related = _cut(ctx, nid, full)
    return Finding(
        "warning",
        "no_gradient",
        f"{name} got no gradient: {cause}",
        label=f"no gradient: {_short(cause)}",
        related=related,
        **_param_where(ctx, nid, full),
    )


def _never_used(ctx: Context, nid: str) -> bool:
    """Whether no recorded op read parameter ``nid`` (nor a ``detach()`` of it)."""
    if nid in ctx.backward_nodes:
        return False
    full = ctx.full if nid in ctx.full else ctx.graph
    if nid not in full or full.out_degree(nid):
        return False
    return not any(a.get("detached_from") == nid for _, a in full.nodes(data=True))


def _short(cause: str) -> str:
    """A cause without its parenthesised detail, for a picture's label."""
    return cause.split(" (")[0].split(", whose")[0]


def _param_where(ctx: Context, nid: str, graph: nx.DiGraph) -> dict[str, Any]:
    where = ctx.where(nid, graph)
    where["op"] = None
    return where


def _cut(ctx: Context, nid: str, full: nx.DiGraph) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The parameter is not an ancestor of the loss: detached, or never reaching it."""
    below = nx.descendants(full, nid) | {nid}
    g = ctx.graph
    cuts = [
        n for n in ctx.order if g.nodes[n].get("detached_from") in below and n in ctx.backward_nodes
    ]
    if cuts:
        cut = cuts[0]
        source = g.nodes[cut].get("source")
        origin = g.nodes[cut].get("detached_from")
        what = ctx.label(origin, full) if origin in full else "what it computed"
        return (
            f"cut by detach(){_on(source)} (the loss uses a detached copy of {what})",
            ((cut, f"detach(){_on(source)} cuts the gradient here"),),
        )
    sinks = [n for n in below if full.out_degree(n) == 0 and n != nid]
    if not sinks:
        return "it is used, but nothing computed from it reaches the loss", ()
    last = max(sinks, key=natural_key)
    a = full.nodes[last]
    return (
        f"nothing computed from it reaches the loss: its last use is {a.get('op')} "
        f"{shape_text(a.get('shape'))}{_on(a.get('source'))}, whose result is unused or reaches "
        "the loss only as plain data (a comparison, argmax, .numpy() or .item() carries no "
        "gradient)",
        (),
    )


def _path(ctx: Context, nid: str) -> set[str]:
    """Nodes on a path from ``nid`` to the loss (both included)."""
    g = ctx.graph
    return (nx.descendants(g, nid) | {nid}) & ctx.backward_nodes


def _blocked(ctx: Context, nid: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The parameter reaches the loss but no gradient came back: where did it stop?"""
    g = ctx.graph
    path = _path(ctx, nid)
    edges = sorted(
        ((a, c) for a in path for c in g.successors(a) if c in path),
        key=lambda e: natural_key(e[1]),
    )
    for a, c in edges:
        ca = g.nodes[c]
        if ca.get("kind") == "op" and not ca.get("requires_grad", True):
            if g.nodes[a].get("requires_grad", True):
                source = _no_grad_line(ctx, c)
                return (
                    f"cut by no_grad{_on(source)} ({ca.get('op')}{_on(ca.get('source'))} ran "
                    "with gradient recording off)",
                    ((c, f"computed under no_grad{_on(source)}: no gradient"),),
                )
    for a, c in edges:
        if g.nodes[a].get("grad") is None and g.nodes[c].get("grad") is not None:
            ca = g.nodes[c]
            slots = g.edges[a, c].get("slots") or (g.edges[a, c].get("arg"),)
            slot = ", ".join(str(s) for s in slots)
            return (
                f"behind a non-differentiable op: {ca.get('op')}{_on(ca.get('source'))} gives "
                f"no gradient for its argument {slot} ({ctx.label(a)}, "
                f"{g.nodes[a].get('dtype')})",
                ((c, f"no gradient for argument {slot}"),),
            )
    return "no gradient reached it (the backward stopped before it)", ()


def _no_grad_line(ctx: Context, node: str) -> str | None:
    """The line of the ``no_grad`` region ``node`` was computed in."""
    key = natural_key(node)
    best = None
    for event in ctx.events:
        if event.kind != "no_grad_enter":
            continue
        if event.after is None or natural_key(event.after) < key:
            best = event
    return best.source if best is not None else None


def _zeroed(ctx: Context, nid: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The gradient arrived as exact zeros: which op's backward made them zero?"""
    g = ctx.graph
    path = _path(ctx, nid)
    edges = ((p, c) for p in path for c in g.successors(p) if c in path)
    for a, c in sorted(edges, key=lambda e: natural_key(e[1]), reverse=True):
        grad_a, grad_c = _norm(g.nodes[a].get("grad")), _norm(g.nodes[c].get("grad"))
        if grad_a != 0 or not grad_c:
            continue
        ca = g.nodes[c]
        op = ca.get("op")
        value = g.nodes[a].get("value") or {}
        if op == "Relu" and value.get("max") is not None and value["max"] <= 0:
            size = 1
            for n in g.nodes[a].get("shape") or ():
                size *= int(n)
            return (
                f"dead ReLU{_on(ca.get('source'))}: all {size:,} of its inputs are <= 0 "
                f"(max {number(value['max'])})",
                ((c, "dead ReLU: every input <= 0"),),
            )
        others = [p for p in g.predecessors(c) if p != a and _norm(g.nodes[p].get("value")) == 0]
        if op == "Mul" and others:
            return (
                f"multiplied by zero{_on(ca.get('source'))} ({ctx.label(others[0])} is all 0)",
                ((c, "multiplies by an all-zero operand"),),
            )
        return (
            f"{op}{_on(ca.get('source'))} gives it an exactly zero gradient",
            ((c, "gives an exactly zero gradient"),),
        )
    return "the gradient that reached it is exactly zero", ()
