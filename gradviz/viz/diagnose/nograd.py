"""Why a parameter got no gradient (or an exactly zero one) in a pass.

Causes, in the order they are looked for:

- never used: no op of the recorded forward read the parameter (its location is the line that
  created it, ``self.skip = nn.Linear(2, 32)``);
- cut by ``detach()``: something computed from it was detached and the detached copy feeds the
  loss (the trace records each ``detach()`` with its line);
- cut by ``no_grad``: an op on the path to the loss ran with recording off (the trace records
  each ``no_grad`` region with its line);
- only as plain data: the path goes through an op whose result takes no gradient (a comparison,
  ``argmax``: ``(logits.argmax(1) == y).float().mean()``);
- behind a non-differentiable op: an op on the path gave no gradient for that argument
  (integer targets, indices);
- not reachable: what it computed never reaches the loss, or only as plain data (comparisons,
  ``argmax``, ``.numpy()`` and ``.item()`` carry no gradient), or only through a gradient taken
  with ``create_graph=True`` that does not depend on it (a PINN's output bias);
- exactly zero: a gradient hook (``register_hook``) that returned zeros, else the op on the path
  whose backward turned a non-zero gradient into zeros; a ReLU whose inputs are all <= 0 is a
  dead ReLU.
"""

from __future__ import annotations

import bisect
from functools import cached_property
from typing import Any

import networkx as nx

from gradviz.autograd.ops.nodiff import NAMES as NO_GRADIENT
from gradviz.viz.diagnose.context import Context, best_below
from gradviz.viz.diagnose.nan import HOOK_ADVICE
from gradviz.viz.diagnose.report import Finding
from gradviz.viz.records.text import natural_key, number, shape_text


def _norm(stats: Any) -> float | None:
    if not stats:
        return None
    value = stats.get("norm")
    return None if value is None else float(value)


def _on(source: str | None) -> str:
    return f" at {source}" if source else ""


#: an edge found below a parameter: (natural key of the consumer, of the input, input, consumer)
Edge = tuple[tuple, tuple, str, str]


class _Below:
    """For every node at once, the edges and nodes below it that explain a missing gradient.

    Each map is one sweep over the graph (:func:`best_below`), built on first use: explaining
    every parameter costs O(nodes + edges), not one search below each parameter.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _edges(self, keep: Any, pick: Any) -> dict[str, Edge]:
        """Per node, ``pick`` of the edges (a, c) of the pass below it (a a descendant or the
        node itself; both ends on the way to the loss) for which ``keep(a, c)`` holds."""
        g, on_path = self.ctx.graph, self.ctx.backward_nodes
        seeds: dict[str, Edge] = {}
        for a, c in g.edges:
            if a in on_path and c in on_path and keep(g.nodes[a], g.nodes[c]):
                edge = (natural_key(c), natural_key(a), a, c)
                seeds[a] = pick(seeds[a], edge) if a in seeds else edge
        return best_below(g, seeds, pick)

    @cached_property
    def zeroed(self) -> dict[str, Edge]:
        """The last edge whose consumer got a non-zero gradient and gave its input zeros."""
        return self._edges(
            lambda a, c: _norm(a.get("grad")) == 0 and bool(_norm(c.get("grad"))), max
        )

    @cached_property
    def no_grad(self) -> dict[str, Edge]:
        """The first edge into an op that ran with recording off."""
        return self._edges(
            lambda a, c: (
                c.get("kind") == "op"
                and not c.get("requires_grad", True)
                and a.get("requires_grad", True)
                and c.get("op") not in NO_GRADIENT
            ),
            min,
        )

    @cached_property
    def plain(self) -> dict[str, Edge]:
        """The first edge into an op whose result takes no gradient (a comparison, argmax)."""
        return self._edges(
            lambda a, c: c.get("op") in NO_GRADIENT and a.get("requires_grad", True), min
        )

    @cached_property
    def stopped(self) -> dict[str, Edge]:
        """The first edge whose consumer got a gradient and gave its input none."""
        return self._edges(lambda a, c: a.get("grad") is None and c.get("grad") is not None, min)

    @cached_property
    def detached(self) -> dict[str, tuple[tuple, str]]:
        """In the full graph, the first ``detach()`` result feeding the loss made from a node
        below."""
        g, full = self.ctx.graph, self.ctx.full
        seeds: dict[str, tuple[tuple, str]] = {}
        for n in self.ctx.backward_nodes:
            origin = g.nodes[n].get("detached_from") if n in g else None
            if origin is not None and origin in full:
                cut = (natural_key(n), n)
                seeds[origin] = min(seeds[origin], cut) if origin in seeds else cut
        return best_below(full, seeds, min)

    @cached_property
    def last_sink(self) -> dict[str, tuple[tuple, str]]:
        """In the full graph, the last node below with no consumer (the node itself included)."""
        full = self.ctx.full
        seeds = {n: (natural_key(n), n) for n in full if full.out_degree(n) == 0}
        return best_below(full, seeds, max)

    @cached_property
    def no_grad_entries(self) -> tuple[list[tuple], list[Any]]:
        """The ``no_grad`` regions entered, and the natural key of the node recorded before
        each (in recording order)."""
        events = [e for e in self.ctx.events if e.kind == "no_grad_enter"]
        return [natural_key(e.after) if e.after is not None else (-1,) for e in events], events


def diagnose(ctx: Context) -> list[Finding]:
    findings = []
    found = _Below(ctx)
    stepped = ctx.stepped
    for name, nid, requires_grad in ctx.param_list:
        if not requires_grad:
            continue  # frozen on purpose
        if stepped and nid is not None and nid not in stepped:
            continue  # not trained by this loss: the optimizer that stepped does not hold it
        finding = _explain(ctx, found, name, nid)
        if finding is not None:
            findings.append(finding)
    return findings


def _explain(ctx: Context, found: _Below, name: str, nid: str | None) -> Finding | None:
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
        hooked = None
        if grad is None:
            cause, related = _blocked(ctx, found, nid)
        else:
            edge = found.zeroed.get(nid)
            hooked = ctx.gradient_hook(edge[2]) if edge is not None else None
            cause, related = _hook_zeroed(ctx, edge[2], hooked) if hooked else _zeroed(ctx, edge)
        what = "no gradient" if grad is None else "a gradient of exactly zero"
        return Finding(
            "warning",
            "no_gradient",
            f"{name} got {what}: {cause}",
            label=f"{'no gradient' if grad is None else 'grad = 0'}: {_short(cause)}",
            related=tuple(r for r in related if r[0] != nid),  # (its own label says it)
            advice=(HOOK_ADVICE,) if hooked else (),
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
    earlier = _used_before_this_step(ctx, nid, full)
    if earlier is not None:
        a = full.nodes[earlier]
        return Finding(
            "warning",
            "no_gradient",
            f"{name} got no gradient: no op of this step's forward used it (its last use, "
            f"{a.get('op')}{_on(a.get('source'))}, was in an earlier step)",
            label="no gradient: not used in this step",
            **_param_where(ctx, nid, full),
        )
    cause, related = _cut(ctx, found, nid, full)
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


def _used_before_this_step(ctx: Context, nid: str, full: nx.DiGraph) -> str | None:
    """The last op that read parameter ``nid``, when every op that read it was recorded before
    this step's forward (its first op that requires grad) began: a branch or a data-dependent
    depth skipped its module in this step; else None."""
    g = ctx.graph
    starts = [
        natural_key(n)
        for n, a in g.nodes(data=True)
        if a.get("kind") == "op" and a.get("requires_grad", True)
    ]
    users = list(full.successors(nid))
    if not starts or not users:
        return None
    start = min(starts)
    if any(natural_key(u) >= start for u in users):
        return None
    return max(users, key=natural_key)


def _short(cause: str) -> str:
    """A cause without its parenthesised detail, for a picture's label."""
    return cause.split(" (")[0].split(", whose")[0]


def _param_where(ctx: Context, nid: str, graph: nx.DiGraph) -> dict[str, Any]:
    where = ctx.where(nid, graph)
    where["op"] = None
    return where


def _cut(
    ctx: Context, found: _Below, nid: str, full: nx.DiGraph
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The parameter is not an ancestor of the loss: detached, or never reaching it."""
    g = ctx.graph
    detached = found.detached.get(nid)
    if detached is not None:
        cut = detached[1]
        source = g.nodes[cut].get("source")
        origin = g.nodes[cut].get("detached_from")
        what = ctx.label(origin, full) if origin in full else "what it computed"
        return (
            f"cut by detach(){_on(source)} (the loss uses a detached copy of {what})",
            ((cut, f"detach(){_on(source)} cuts the gradient here"),),
        )
    if full.out_degree(nid) == 0:
        return "it is used, but nothing computed from it reaches the loss", ()
    last = found.last_sink[nid][1]
    a = full.nodes[last]
    taken = next((e for e in ctx.events if e.kind == "create_graph" and e.node == last), None)
    if taken is not None:  # a PINN's output bias: the loss reads only derivatives of u
        return (
            f"nothing computed from it reaches the loss: the loss uses the gradient of "
            f"{a.get('op')} {shape_text(a.get('shape'))}{_on(a.get('source'))} (create_graph=True"
            f"{_on(taken.source)}), not its values, and that gradient does not depend on it (a "
            "shift such as an output bias leaves derivatives as they are)",
            (),
        )
    return (
        f"nothing computed from it reaches the loss: its last use is {a.get('op')} "
        f"{shape_text(a.get('shape'))}{_on(a.get('source'))}, whose result is unused or reaches "
        "the loss only as plain data (a comparison, argmax, .numpy() or .item() carries no "
        "gradient)",
        (),
    )


def _blocked(ctx: Context, found: _Below, nid: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The parameter reaches the loss but no gradient came back: where did it stop?"""
    g = ctx.graph
    edge = found.plain.get(nid)
    if edge is not None:
        c = edge[3]
        ca = g.nodes[c]
        return (
            f"it reaches the loss only as plain data: {ca.get('op')}{_on(ca.get('source'))} "
            f"gives {shape_text(ca.get('shape'))} {ca.get('dtype')} values that carry no gradient",
            ((c, f"{ca.get('op')}: no gradient flows through it"),),
        )
    edge = found.no_grad.get(nid)
    if edge is not None:
        c = edge[3]
        ca = g.nodes[c]
        source = _no_grad_line(found, c)
        return (
            f"cut by no_grad{_on(source)} ({ca.get('op')}{_on(ca.get('source'))} ran "
            "with gradient recording off)",
            ((c, f"computed under no_grad{_on(source)}: no gradient"),),
        )
    edge = found.stopped.get(nid)
    if edge is not None:
        a, c = edge[2], edge[3]
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


def _no_grad_line(found: _Below, node: str) -> str | None:
    """The line of the ``no_grad`` region ``node`` was computed in: the last one entered
    before it was recorded."""
    keys, events = found.no_grad_entries
    index = bisect.bisect_left(keys, natural_key(node)) - 1
    return events[index].source if index >= 0 else None


def _hook_zeroed(ctx: Context, node: str, hooked: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The gradient hook of ``node`` (its ``grad_hook`` event) returned zeros."""
    return (
        f"its gradient hook {hooked.op}{_on(hooked.source)} ({ctx.hook_site(node)}) returned zeros",
        ((node, "a gradient hook returned zeros"),),
    )


#: The ops whose output is a product of these arguments (by slot): an all-zero one makes
#: every other's gradient zero (a bias, slot 2 of a layer, does not)
PRODUCTS = {
    **dict.fromkeys(("Mul", "MatMul", "Linear", "Bilinear", "Outer", "Einsum"), (0, 1, 2)),
    **dict.fromkeys(("Conv1d", "Conv2d", "Conv3d"), (0, 1)),
    **dict.fromkeys(("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), (0, 1)),
}


def _factors(g: Any, node: str, op: Any) -> list[str]:
    """The arguments of ``node`` that multiply its output (none for another op)."""
    slots = PRODUCTS.get(op, ())
    if op == "Linear":
        slots = (0, 1)  # (its bias, slot 2, adds)
    found = []
    for p in g.predecessors(node):
        edge = g.edges[p, node]
        if set(edge.get("slots") or (edge.get("arg"),)) & set(slots):
            found.append(p)
    return found


def _zeroed(ctx: Context, edge: Edge | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The gradient arrived as exact zeros: which op's backward made them zero?"""
    g = ctx.graph
    if edge is not None:
        a, c = edge[2], edge[3]
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
        others = [p for p in _factors(g, c, op) if p != a and _norm(g.nodes[p].get("value")) == 0]
        if others:
            return (
                f"multiplied by zero{_on(ca.get('source'))} ({ctx.label(others[0])} is all 0)",
                ((c, "multiplies by an all-zero operand"),),
            )
        return (
            f"{op}{_on(ca.get('source'))} gives it an exactly zero gradient",
            ((c, "gives an exactly zero gradient"),),
        )
    return "the gradient that reached it is exactly zero", ()
