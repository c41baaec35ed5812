"""Gradients never zeroed between training steps: the loop that forgets
``optimizer.zero_grad()``.

::

    for epoch in range(5):
        loss = criterion(model(x), y)
        loss.backward()        # adds into .grad, which still holds the previous step's gradient
        optimizer.step()

The trace notes, when a backward call begins, each parameter whose ``.grad`` still holds a
gradient an optimizer stepped with (not None, not all zeros: see
:mod:`gradviz.viz.capture.zeroing`). One warning per optimizer names them. Gradient
accumulation on purpose (several backward calls between one ``zero_grad()`` and one
``step()``) is not flagged; the first step has nothing before it to be added to.
"""

from __future__ import annotations

from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding

#: the label the pictures put on each parameter of the finding
LABEL = "grad not zeroed after optimizer.step()"
#: how many parameter names a message lists before "and N more"
SHOWN = 6


def _names(names: list[str]) -> str:
    if len(names) <= SHOWN:
        return ", ".join(names)
    return ", ".join(names[:SHOWN]) + f" and {len(names) - SHOWN:,} more"


def diagnose(ctx: Context) -> list[Finding]:
    """One warning per optimizer whose parameters' ``.grad`` this pass added into unzeroed."""
    if not ctx.stale_grads:
        return []
    order = {node: (i, name) for i, (name, node, _) in enumerate(ctx.param_list) if node}
    by_optimizer: dict[str, list[str]] = {}
    for node, optimizer in ctx.stale_grads:
        by_optimizer.setdefault(optimizer, []).append(node)
    step = ctx.graph.graph.get("pass")
    findings = []
    for optimizer, nodes in by_optimizer.items():
        nodes.sort(key=lambda n: order.get(n, (len(order), n)))
        names = [order[n][1] if n in order else _name(ctx, n) for n in nodes]
        message = (
            f"the gradients of step {step} were added to those of the step before: .grad of "
            f"{_names(names)} was not zeroed after optimizer.step() ({optimizer})"
        )
        related = tuple((n, LABEL) for n in nodes if n in ctx.graph)
        numbers = {"parameters": len(nodes)}
        findings.append(
            Finding("warning", "grad_not_zeroed", message, numbers=numbers, related=related)
        )
    return findings


def _name(ctx: Context, node: str) -> str:
    return ctx.label(node) if node in ctx.graph else node


def advice(f: Finding, ctx: Context) -> tuple[str, ...]:
    """The fix: reset ``.grad`` once per step."""
    return (
        "call optimizer.zero_grad() (or model.zero_grad()) before loss.backward() in every step",
        "to accumulate gradients over several backward calls on purpose, call "
        "optimizer.zero_grad() right after each optimizer.step()",
    )
