"""The per-op gradient check of a trace's op calls, as findings (the check: ``autograd.opcheck``).

The engine side runs an op's forward and backward on one call's recorded inputs and returns
plain results (:class:`OpResult`, one :class:`InputResult` per input); :func:`diagnose` picks
the pass's calls to check (all of them, or a sample of repeats past ``BUDGET``), runs it on
them and turns the results into an :class:`OpCheck` per call and a finding per failure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.opcheck import InputResult, OpResult, check_call, summed_axes
from gradviz.autograd.ops import BUILTIN_OPS
from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding, InputCheck, OpCheck

__all__ = ["InputResult", "OpResult", "check_call", "diagnose", "summed_axes"]

_BUILTIN = frozenset(BUILTIN_OPS)

#: a pass with more op calls to check than this checks each kind of call (the op, its argument
#: shapes and dtypes, its options) on the first REPEATS calls of that kind only
BUDGET = 1000
REPEATS = 4


def _check_calls(
    ctx: Context,
    todo: list[tuple[int, str]],
    seed: int,
    grad_shapes: dict[tuple[str, int], tuple[int, ...]],
) -> tuple[list[OpCheck], list[Finding]]:
    """Check the op calls ``todo`` (``(position, node)``; ``position`` seeds the call's random
    projections with ``seed``); note the shape each backward returned in ``grad_shapes``."""
    g = ctx.graph
    checks: list[OpCheck] = []
    findings: list[Finding] = []
    for position, n in todo:
        a = g.nodes[n]
        cls, values, needs = ctx.calls[n]
        rng = np.random.default_rng([seed, position])
        result = check_call(cls, values, needs, rng)
        parents = {slot: parent for slot, parent, _ in ctx.inputs(n)}
        names = {slot: ctx.label(parent) for slot, parent in parents.items()}
        inputs = tuple(
            InputCheck(
                slot=r.slot,
                name=names.get(r.slot),
                analytic=r.analytic,
                numeric=r.numeric,
                rel_error=r.rel_error,
                passed=r.passed,
                summed_axes=r.summed_axes,
            )
            for r in result.inputs
        )
        for r in result.inputs:
            if r.grad_shape is not None:
                grad_shapes[(n, r.slot)] = tuple(r.grad_shape)
        where = ctx.where(n)
        custom = cls not in _BUILTIN
        checks.append(
            OpCheck(
                node=n,
                op=str(a.get("op")),
                module=where["module"],
                source=where["source"],
                status=result.status,
                rel_error=result.rel_error,
                inputs=inputs,
                reason=result.reason,
                custom=custom,
            )
        )
        if result.status != "failed":
            continue
        if not result.inputs:  # failed as a whole: its forward wrote into an input array
            findings.append(
                Finding(
                    "error",
                    "gradcheck",
                    f"{result.reason}: it changes the caller's data and the gradient; "
                    "write the result into a new array",
                    label=f"ERROR: {result.reason}",
                    **where,
                )
            )
            continue
        bad = [r for r in result.inputs if not r.passed]
        parts = [
            f"input {r.slot}" + (f" ({names[r.slot]})" if names.get(r.slot) else "") + f": "
            f"{r.reason.replace('backward is ', '')}"
            for r in bad
        ]
        worst = max(r.rel_error for r in bad)
        numbers = {"rel_error": worst}
        ratios = [r.analytic / r.numeric for r in bad if r.numeric and np.isfinite(r.analytic)]
        if ratios:
            numbers["ratio"] = ratios[0]
        if custom and all(r.numeric == 0 and r.analytic for r in bad):
            numbers["flat_forward"] = 1.0  # sign, round, a threshold: a surrogate gradient?
        kind = "custom op" if custom else "built-in op"
        first = bad[0]
        short = first.reason.replace("backward is ", "").replace(" the numeric gradient", "")
        who = names.get(first.slot) or f"input {first.slot}"
        related = tuple(
            (parents[r.slot], f"wrong gradient from {a.get('op')}: {r.reason}")
            for r in bad
            if r.slot in parents and g.nodes[parents[r.slot]].get("kind") != "op"
        )
        findings.append(
            Finding(
                "error",
                "gradcheck",
                "backward disagrees with finite differences for "
                + "; ".join(parts)
                + f" (rel. error {worst:.3g}; {kind})",
                numbers=numbers,
                label=f"gradcheck FAILED: rel. error {worst:.3g}; grad of {who}: {short}",
                related=related,
                **where,
            )
        )
    return checks, findings


def _option(value: Any) -> Any:
    """An argument that is not an array, as part of a call's signature."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _signature(call: Any) -> tuple:
    """What makes two op calls the same kind: the op, its argument shapes, dtypes and options."""
    cls, values, needs = call
    return (
        cls,
        needs,
        tuple((v.shape, v.dtype.str) if isinstance(v, np.ndarray) else _option(v) for v in values),
    )


def _to_check(ctx: Context) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """The op calls to gradient-check, as ``(position, node)``; and, when the pass has more
    than ``BUDGET`` of them, the calls left out as repeats, mapped to the first call of
    their kind."""
    g = ctx.graph
    todo = [
        (position, n)
        for position, n in enumerate(ctx.ops())
        if n in ctx.calls and n in ctx.backward_nodes and g.nodes[n].get("requires_grad", True)
    ]
    if len(todo) <= BUDGET:
        return todo, {}
    kinds: dict[tuple, list[str]] = {}
    chosen, repeats = [], {}
    for position, n in todo:
        same = kinds.setdefault(_signature(ctx.calls[n]), [])
        if len(same) >= REPEATS:
            repeats[n] = same[0]
            continue
        same.append(n)
        chosen.append((position, n))
    return chosen, repeats


def diagnose(
    ctx: Context, seed: int, grad_shapes: dict[tuple[str, int], tuple[int, ...]]
) -> tuple[list[OpCheck], list[Finding], list[str]]:
    """Gradient-check the pass's op calls (a sample of repeats past ``BUDGET``): the checks,
    the findings and a note when calls were left out; the shape each backward returned goes
    into ``grad_shapes``."""
    todo, repeats = _to_check(ctx)
    checks, findings = _check_calls(ctx, todo, seed, grad_shapes)
    notes = []
    if repeats:
        for n, first in repeats.items():  # the same shapes: the same axes summed back
            for slot in range(len(ctx.calls[n][1])):
                if (first, slot) in grad_shapes:
                    grad_shapes[(n, slot)] = grad_shapes[(first, slot)]
        total = len(todo) + len(repeats)
        notes.append(
            f"per-op gradient check: {len(todo):,} of {total:,} op calls checked; with more "
            f"than {BUDGET:,} in a pass, each kind of call (op, argument shapes, options) is "
            f"checked on its first {REPEATS} calls"
        )
    return checks, findings, notes
