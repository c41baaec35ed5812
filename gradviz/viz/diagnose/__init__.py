"""Debug a layer: ``tr.check()`` runs every diagnosis on a traced backward pass.

::

    with gradviz.trace() as tr:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    report = tr.check()          # a Report: findings as frozen data
    print(report)                # one line per finding, errors first, then a per-layer table
    report.ok                    # no error-level finding

Diagnoses (one module each): ``gradcheck`` (each op's backward against central differences on
its recorded inputs), ``nan`` (where a NaN/Inf was born, forward and backward), ``nograd`` (why
a parameter got no gradient), ``flat`` (a second derivative that is zero through a piecewise
linear op: a ReLU PINN), ``health`` (gradient norms, update ratios, dead ReLUs,
vanishing/exploding gradients), ``broadcast`` (broadcasts and the axes summed back),
``zerograd`` (gradients added to the previous step's: no ``zero_grad()`` after a step).
``detect_anomaly()`` raises at a NaN/Inf birth while a script runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import networkx as nx

from gradviz.viz.diagnose import broadcast, flat, health, nan, nograd, norm_bias, zerograd
from gradviz.viz.diagnose import gradcheck as op_checks
from gradviz.viz.diagnose.advice import advise
from gradviz.viz.diagnose.anomaly import (
    AnomalyError,
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from gradviz.viz.diagnose.context import Context, below
from gradviz.viz.diagnose.report import (
    Broadcast,
    Finding,
    InputCheck,
    LayerHealth,
    OpCheck,
    ParamHealth,
    ReluHealth,
    Report,
)

__all__ = [
    "AnomalyError",
    "Broadcast",
    "Finding",
    "InputCheck",
    "LayerHealth",
    "OpCheck",
    "ParamHealth",
    "ReluHealth",
    "Report",
    "check",
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "pictures_graph",
    "set_detect_anomaly",
]

#: report order: errors first, and within a severity by kind
FINDING_KINDS = (
    "gradcheck",
    "nan_input",
    "nan_forward",
    "nan_backward",
    "broadcast",
    "grad_not_zeroed",
    "no_gradient",
    "zero_derivative",
    "vanishing",
    "exploding",
    "dead_relu",
    "update_ratio",
)


def check(
    trace: Any, pass_index: int | None = None, *, seed: int = 0, gradcheck: bool = True
) -> Report:
    """Run every diagnosis on pass ``pass_index`` of ``trace`` (default: the last one).

    ``seed`` fixes the random projections of the gradient check; ``gradcheck=False`` skips it.
    The per-op check needs the op calls a live trace keeps for its latest pass; on a loaded
    trace (or an older pass) it is skipped and the report says so.
    """
    chosen = trace.get_pass(pass_index)
    ctx = Context(
        chosen.graph,
        getattr(chosen, "calls", None),
        getattr(chosen, "context", None),
        getattr(chosen, "params", None),
        list(getattr(trace, "events", []) or []),
        getattr(chosen, "optimizer", None),
        getattr(chosen, "learning_rate", None),
        getattr(chosen, "stepped", None),
        getattr(chosen, "clip_norm", None),
        getattr(chosen, "stale_grads", None),
    )
    findings: list[Finding] = []
    notes: list[str] = []
    checks: list[OpCheck] = []
    grad_shapes: dict[tuple[str, int], tuple[int, ...]] = {}
    if gradcheck:
        if not ctx.calls and getattr(chosen, "reran", False):
            notes.append(
                "per-op gradient check skipped: this backward call ran over the graph of the "
                "call before it (backward(retain_graph=True) called again), whose op inputs "
                f"were that call's to keep: check that one (gradviz check --step "
                f"{chosen.index - 1})"
            )
        elif not ctx.calls:
            notes.append(
                "per-op gradient check skipped: the op inputs were not kept (a loaded trace, "
                "or not the latest pass)"
            )
        checks, found, note = op_checks.diagnose(ctx, seed, grad_shapes)
        findings += found
        notes += note
    found, contaminated, grad_bad = nan.diagnose(ctx)
    findings += found
    findings += nograd.diagnose(ctx)
    findings += zerograd.diagnose(ctx)
    findings += flat.diagnose(ctx)
    params, layers, relus, found = health.diagnose(ctx)
    findings += found
    broadcasts, found = broadcast.diagnose(ctx, grad_shapes)
    findings += found
    notes += norm_bias.notes(ctx)
    findings = [replace(f, advice=advise(f, ctx)) for f in findings]
    findings.sort(key=lambda f: (f.severity != "error", FINDING_KINDS.index(f.kind)))
    return Report(
        findings=tuple(findings),
        gradchecks=tuple(checks),
        params=tuple(params),
        layers=tuple(layers),
        relus=tuple(relus),
        broadcasts=tuple(broadcasts),
        contaminated=contaminated,
        grad_contaminated=grad_bad,
        pass_index=getattr(chosen, "index", None),
        script=ctx.graph.graph.get("script"),
        notes=tuple(notes),
    )


def pictures_graph(trace: Any, report: Report, pass_index: int | None = None) -> nx.DiGraph:
    """The pass's graph, plus the parts cut off from the loss that a finding is about (a
    parameter behind a ``detach()`` and what it computed), so the forward picture shows them."""
    chosen = trace.get_pass(pass_index)
    graph = chosen.graph
    extra = {
        f.node
        for f in report.findings
        if f.kind == "no_gradient" and f.node is not None and f.node not in graph
    }
    context = getattr(chosen, "context", None)
    if not extra or context is None:
        return graph
    full = context()
    keep = set(graph.nodes) | below(full, extra)
    merged = full.subgraph(n for n in full if n in keep).copy()
    for n, attrs in graph.nodes(data=True):
        merged.nodes[n].update(attrs)
    merged.graph.update(graph.graph)
    return merged
