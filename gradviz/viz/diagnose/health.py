"""Gradient health: per parameter, per layer, per ReLU; vanishing and exploding gradients.

- Parameters: gradient norm, weight norm and the optimizer's update-to-weight ratio, flagged
  when it is 10x or more away from the usual ~1e-3 either way (a warning: the first steps of
  Adam legitimately move weights by about the learning rate).
- Layers (modules that own parameters, in forward order): the gradient's norm and RMS over
  their parameters. When the RMS of the first layer with a weight matrix is more than 100x
  below (vanishing) or above (exploding) the last one's, the layers past that factor are named.
- ReLUs: the fraction of units (last axis) that are zero for every row of the batch.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding, LayerHealth, ParamHealth, ReluHealth
from gradviz.viz.records.text import natural_key, number

#: the usual update-to-weight ratio, and the factor either way that gets flagged
USUAL_RATIO = 1e-3
RATIO_FACTOR = 10.0
#: gradient RMS change from the last layer to the first that counts as vanishing/exploding
LAYER_FACTOR = 100.0
#: fraction of dead units that gets a ReLU flagged
DEAD_FRACTION = 0.5


def diagnose(
    ctx: Context,
) -> tuple[list[ParamHealth], list[LayerHealth], list[ReluHealth], list[Finding]]:
    """The health of every parameter, layer and ReLU of the pass, and what is flagged."""
    param_rows, findings = params(ctx)
    layer_rows, found = layers(ctx, param_rows)
    findings += found
    relu_rows, found = relus(ctx)
    return param_rows, layer_rows, relu_rows, findings + found


def _get(stats: Any, key: str) -> float | None:
    if not stats:
        return None
    value = stats.get(key)
    return None if value is None else float(value)


def _size(shape: Any) -> int:
    return int(math.prod(tuple(shape or ())))


def params(ctx: Context) -> tuple[list[ParamHealth], list[Finding]]:
    g, full = ctx.graph, None
    out: list[ParamHealth] = []
    findings: list[Finding] = []
    for name, nid, requires_grad in ctx.param_list:
        if nid is not None and nid in g:
            a = g.nodes[nid]
        elif nid is not None:
            full = full if full is not None else ctx.full
            a = full.nodes[nid] if nid in full else {}
        else:
            a = {}
        grad = a.get("grad") if nid in g else None
        update = a.get("update") or {}
        grad_norm = None if grad is None else _get(grad, "norm")
        if grad is not None and (grad.get("nan") or grad.get("inf")):
            grad_norm = math.nan  # the NaN diagnosis says where it came from
        health = ParamHealth(
            name=name,
            node=nid,
            shape=tuple(a.get("shape") or ()),
            grad_norm=grad_norm,
            weight_norm=_get(a.get("value"), "norm"),
            update_ratio=_get(update, "ratio"),
            requires_grad=requires_grad,
        )
        out.append(health)
        ratio, weight = health.update_ratio, health.weight_norm
        if ratio is None or not weight or not math.isfinite(ratio):
            continue
        if len(health.shape) < 2:
            continue  # biases and scales start near 0 or 1: their ratio says little
        if ratio >= USUAL_RATIO * RATIO_FACTOR:
            text = f"{number(ratio)} is {number(ratio / USUAL_RATIO)}x above the usual ~1e-3"
            why = (
                "a high learning rate, or the first steps of Adam"
                if "Adam" in (ctx.optimizer or "")
                else "a high learning rate"
            )
        elif ratio == 0 and health.grad_norm:
            text = "0: the step did not change it (the update is below float precision)"
            why = "a vanishing gradient, or a tiny learning rate"
        elif 0 < ratio <= USUAL_RATIO / RATIO_FACTOR:
            text = f"{number(ratio)} is {number(USUAL_RATIO / ratio)}x below the usual ~1e-3"
            why = "a low learning rate, or a vanishing gradient"
        else:
            continue
        findings.append(
            Finding(
                "warning",
                "update_ratio",
                f"{name}: update/weight {text} ({why})",
                node=nid,
                module=name.rpartition(".")[0],
                source=a.get("source"),
                numbers={"ratio": ratio},
                label=f"update/weight {number(ratio)}",
            )
        )
    return out, findings


def layers(ctx: Context, health: list[ParamHealth]) -> tuple[list[LayerHealth], list[Finding]]:
    g = ctx.graph
    modules = g.graph.get("modules") or {}
    groups: dict[str, list[ParamHealth]] = {}
    for p in health:
        groups.setdefault(p.name.rpartition(".")[0], []).append(p)

    def first_use(path: str) -> tuple:
        uses = []
        for p in groups[path]:
            if p.node is not None:
                graph = g if p.node in g else ctx.full
                if p.node in graph:
                    uses += list(graph.successors(p.node))
        return min((natural_key(c) for c in uses), default=(2, "", 0))

    rows: list[LayerHealth] = []
    for index, path in enumerate(sorted(groups, key=first_use)):
        members = groups[path]
        grads = [p for p in members if p.grad_norm is not None]
        # hypot: the norm of norms, without overflowing at squares of norms above 1e154
        grad_norm = math.hypot(*(p.grad_norm for p in grads)) if grads else None  # type: ignore[misc]
        size = sum(_size(p.shape) for p in grads)
        weights = [p.weight_norm for p in members if p.weight_norm is not None]
        weight = math.hypot(*weights) if weights else None
        updates = [
            p.update_ratio * p.weight_norm
            for p in members
            if p.update_ratio is not None
            and p.weight_norm is not None
            and math.isfinite(p.update_ratio)
        ]
        ratio = math.hypot(*updates) / weight if updates and weight else None
        if any(p.update_ratio is not None and math.isnan(p.update_ratio) for p in members):
            ratio = math.nan  # the step made it NaN: it changed, to nothing usable
        rows.append(
            LayerHealth(
                index=index,
                module=path,
                cls=str(modules.get(path, "")),
                params=tuple(p.name.rpartition(".")[2] for p in members),
                grad_norm=grad_norm,
                grad_rms=grad_norm / math.sqrt(size) if grad_norm is not None and size else None,
                weight_norm=weight,
                update_ratio=ratio,
            )
        )
    return _flow(rows, {p.name.rpartition(".")[0] for p in health if len(p.shape) >= 2})


def _flow(rows: list[LayerHealth], matrices: set[str]) -> tuple[list[LayerHealth], list[Finding]]:
    """Flag vanishing/exploding gradients from the last layer with a weight matrix to the first."""
    usable = [r for r in rows if r.module in matrices and r.grad_rms and math.isfinite(r.grad_rms)]
    if len(usable) < 2:
        return rows, []
    first, last = usable[0], usable[-1]
    change = first.grad_rms / last.grad_rms  # type: ignore[operator]
    if 1 / LAYER_FACTOR <= change <= LAYER_FACTOR:
        return rows, []
    kind = "vanishing" if change < 1 else "exploding"
    if kind == "vanishing":
        flagged = [r for r in usable if r.grad_rms < last.grad_rms / LAYER_FACTOR]  # type: ignore[operator]
    else:
        flagged = [r for r in usable if r.grad_rms > last.grad_rms * LAYER_FACTOR]  # type: ignore[operator]
    names = {r.module for r in flagged}
    rows = [replace(r, flags=(*r.flags, kind)) if r.module in names else r for r in rows]
    span = _span(flagged)
    factor = 1 / change if kind == "vanishing" else change
    verb = "falls" if kind == "vanishing" else "grows"
    side = "below" if kind == "vanishing" else "above"
    message = (
        f"{kind} gradients: the gradient RMS {verb} {number(factor)}x from the last layer "
        f"({last.module or '(top)'}) to the first ({first.module or '(top)'}); {span} "
        f"{'is' if len(flagged) == 1 else 'are'} more than {LAYER_FACTOR:.0f}x {side} the last"
    )
    finding = Finding(
        "warning",
        kind,
        message,
        module=first.module,
        numbers={
            "factor": factor,
            "first_rms": float(first.grad_rms),  # type: ignore[arg-type]
            "last_rms": float(last.grad_rms),  # type: ignore[arg-type]
            "first_layer": float(flagged[0].index),
            "last_layer": float(flagged[-1].index),
        },
    )
    return rows, [finding]


def _span(flagged: list[LayerHealth]) -> str:
    if len(flagged) == 1:
        return f"layer {flagged[0].index} ({flagged[0].module})"
    a, b = flagged[0], flagged[-1]
    return f"layers {a.index}-{b.index} ({a.module} .. {b.module})"


def relus(ctx: Context) -> tuple[list[ReluHealth], list[Finding]]:
    """One row per ReLU (the calls of one ReLU at one source line pooled: a policy run on one
    state per step of a game sees its batch one row at a time); a finding when half its units
    are zero for every row seen. A single row tells nothing: about half of it is zero anyway."""
    g = ctx.graph
    groups: dict[tuple[Any, ...], list[tuple[str, np.ndarray]]] = {}
    rows: list[ReluHealth] = []
    findings: list[Finding] = []
    for n in ctx.ops():
        a = g.nodes[n]
        if a.get("op") != "Relu":
            continue
        x = ctx.array(n, 0)
        if x is not None:
            units = int(x.shape[-1]) if x.ndim else 1
            flat = x.reshape(-1, units) if x.size else x.reshape(0, max(units, 1))
            groups.setdefault((a.get("module"), a.get("source"), units), []).append((n, flat))
            continue
        value = a.get("value") or {}
        if value.get("max") is None:
            continue
        size = _size(a.get("shape"))
        units = int((a.get("shape") or (size,))[-1]) if size else 0
        dead = units if value["max"] <= 0 else 0
        zero = 1.0 if value["max"] <= 0 else float("nan")
        rows.append(ReluHealth(n, a.get("module") or "", a.get("source"), units, dead, zero))
    pooled: dict[str, int] = {}
    for calls in groups.values():
        n, flat = calls[0][0], np.concatenate([f for _, f in calls])
        pooled[n] = len(calls)
        units, a = flat.shape[1], g.nodes[n]
        dead = int(np.count_nonzero(np.all(flat <= 0, axis=0))) if len(flat) > 1 else 0
        zero = float(np.count_nonzero(flat <= 0) / flat.size) if flat.size else 0.0
        rows.append(ReluHealth(n, a.get("module") or "", a.get("source"), units, dead, zero))
    position = {n: i for i, n in enumerate(ctx.order)}
    rows.sort(key=lambda r: position[r.node])
    for row in rows:
        if row.units and row.dead_fraction >= DEAD_FRACTION:
            findings.append(_dead_relu(ctx, row, pooled.get(row.node, 1)))
    return rows, findings


def _dead_relu(ctx: Context, row: ReluHealth, calls: int) -> Finding:
    seen = f"of its {calls} calls" if calls > 1 else "of the batch"
    return Finding(
        "warning",
        "dead_relu",
        f"{row.dead_units:,} of {row.units:,} units ({row.dead_fraction:.0%}) are zero for every "
        f"row {seen}: no gradient flows through them",
        numbers={"dead_units": float(row.dead_units), "units": float(row.units)},
        label=f"dead ReLU: {row.dead_units:,} of {row.units:,} units",
        **ctx.where(row.node),
    )
