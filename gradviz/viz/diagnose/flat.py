"""Second derivatives that are zero by construction.

A loss on a derivative taken through a piecewise linear op (ReLU and its leaky and hard
variants, ``abs``, the shrinks, max pooling) reads zeros there, whatever the weights: a PINN
built with ReLU cannot fit its equation, and PyTorch says nothing. The graph rule of such an
op's gradient (``MaskedGrad``) records a ``ZeroDerivative`` where that derivative is taken;
each one the loss reads is a finding, once per op and module.
"""

from __future__ import annotations

from typing import Any

from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding

#: What to use instead, by the op whose derivative is piecewise constant.
SMOOTH = {
    "Abs": "a smooth stand-in for abs, such as (x * x + 1e-6).sqrt()",
    "MaxPool1d": "average pooling (nn.AvgPool1d), whose derivative is smooth",
    "MaxPool2d": "average pooling (nn.AvgPool2d), whose derivative is smooth",
    "MaxPool3d": "average pooling (nn.AvgPool3d), whose derivative is smooth",
}
ACTIVATION = "a smooth activation (nn.Tanh, nn.SiLU, nn.Softplus or nn.GELU)"


def diagnose(ctx: Context) -> list[Finding]:
    """One warning per (op, module) whose zero second derivative the loss reads."""
    first: dict[tuple[str, str], str] = {}
    for n in ctx.ops():
        a = ctx.attrs(n)
        if a.get("op") == "ZeroDerivative" and n in ctx.backward_nodes:
            first.setdefault(_differentiated(ctx, a.get("derivative_of")), n)
    return [_finding(ctx, n, op, module) for (op, module), n in first.items()]


def _differentiated(ctx: Context, derivative_of: Any) -> tuple[str, str]:
    """The op (and its module) whose gradient's derivative is zero: the op of the
    ``MaskedGrad`` this ``ZeroDerivative`` differentiates."""
    if not derivative_of:
        return "a piecewise linear op", ""
    op = derivative_of.get("rule") or "a piecewise linear op"
    masked = derivative_of.get("node")
    module = derivative_of.get("module") or ""
    if masked in ctx.full:  # the MaskedGrad itself, recorded by that op's rule
        outer = ctx.full.nodes[masked].get("derivative_of") or {}
        module = outer.get("module") or module
    return op, module


def _finding(ctx: Context, node: str, op: str, module: str) -> Finding:
    where = f" in module {module}" if module else ""
    message = (
        f"the derivative of {op}'s gradient{where} is zero everywhere: {op} is piecewise "
        "linear, so the second derivative the loss reads through it is 0 whatever the "
        "weights, and that term of the loss teaches them nothing"
    )
    return Finding(
        "warning",
        "zero_derivative",
        message,
        **ctx.where(node),
        label=f"zero: {op} is piecewise linear",
    )


def advice(finding: Finding, ctx: Context) -> tuple[str, ...]:
    """What to use instead of the piecewise linear op the finding is about."""
    derivative_of = ctx.attrs(finding.node).get("derivative_of") if finding.node else None
    op = _differentiated(ctx, derivative_of)[0]
    return (
        f"where the loss differentiates twice (a PINN's u_xx), use {SMOOTH.get(op, ACTIVATION)}",
    )
