"""What to try: one or two concrete things per finding, specific to what was found.

:func:`advise` looks the finding's kind up in :data:`ADVICE` (a table, one small function per
kind) and gives the rule the finding and the pass's context: the op where a NaN was born picks
the remedy (``log``: clamp, or ``log_softmax``), a failed gradient check's ratio names the factor
the backward is off by (``1/32`` and a batch of 32: a division by the batch size), an update
ratio quotes the learning rate the optimizer used.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gradviz.viz.diagnose import flat, zerograd
from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding
from gradviz.viz.records.text import number

__all__ = ["ADVICE", "advise", "spike_advice"]

Advice = tuple[str, ...]

#: The remedy for a std or var of one value (NaN with the default correction).
_ONE_VALUE = (
    "use unbiased=False (correction=0), or skip the step when there is one value (an episode "
    "of one step in REINFORCE's (returns - returns.mean()) / (returns.std() + eps))"
)
#: The remedy for a NaN/Inf born in the forward of an op.
FORWARD_FIX = {
    "Log": "clamp the input (x.clamp(min=1e-12).log()) or use log_softmax / "
    "binary_cross_entropy_with_logits instead of log of a probability",
    "Div": "add a small epsilon to the denominator, or mask the zeros out before dividing",
    "Sqrt": "clamp the input to >= 0 before the square root (x.clamp(min=0))",
    "Pow": "a fractional power needs a non-negative base: clamp it (x.clamp(min=0))",
    "Exp": "subtract the maximum before exp (softmax and logsumexp do), or lower the "
    "learning rate if the logits grew",
    "MatMul": "the values overflowed float32: lower the learning rate, normalise the inputs "
    "or add LayerNorm/BatchNorm",
    "Std": _ONE_VALUE,
    "Var": _ONE_VALUE,
}
#: The remedy for a NaN/Inf gradient born in the backward of an op.
BACKWARD_FIX = {
    "Sqrt": "sqrt has an infinite derivative at 0: add an epsilon inside (sqrt(x + 1e-12))",
    "Norm": "the norm has no derivative at 0: add an epsilon (x.pow(2).sum().add(1e-12).sqrt())",
    "Pow": "a fractional power has an infinite derivative at 0: add an epsilon to the base",
    "Div": "the gradient of a / b is -a / b**2: keep b away from 0 (b + 1e-12)",
    "Log": "the gradient of log x is 1 / x: clamp x away from 0 (x.clamp(min=1e-12))",
}
CLIP = "clip gradients with nn.utils.clip_grad_norm_(model.parameters(), 1.0)"


def _lr(ctx: Context) -> str:
    return _now(ctx.learning_rate)


def _now(learning_rate: float | None) -> str:
    return f" (now {number(learning_rate)})" if learning_rate is not None else ""


def _clip(clip_norm: float | str | None, optimizer: str | None) -> str:
    """Clip the gradients, or, when the step already did, clip them harder (which does not
    shrink the step of an optimizer that rescales the gradient itself)."""
    if clip_norm is None:
        return CLIP
    clipped = (
        "the gradients are already rescaled by hand (param.grad *= ...)"
        if isinstance(clip_norm, str)
        else f"the gradients are already clipped to a norm of {number(clip_norm)} (clip_grad_norm_)"
    )
    if optimizer in SCALE_FREE:
        return f"{clipped}, which does not shrink {optimizer}'s step (about the learning rate)"
    threshold = "threshold" if isinstance(clip_norm, str) else "max_norm"
    return f"{clipped}: a lower {threshold} shrinks the step"


def spike_advice(
    learning_rate: float | None,
    clip_norm: float | str | None = None,
    optimizer: str | None = None,
) -> Advice:
    """What to try about a loss or gradient-norm spike (the flight recorder's trigger)."""
    return (
        f"lower the learning rate{_now(learning_rate)} or warm it up more slowly",
        _clip(clip_norm, optimizer),
    )


def _factor(ratio: float) -> tuple[int, bool] | None:
    """``(k, too_small)`` when ``ratio`` is ``1/k`` or ``k`` for a whole ``k`` >= 2."""
    if not math.isfinite(ratio) or ratio <= 0:
        return None
    big = max(ratio, 1 / ratio)
    k = round(big)
    if k >= 2 and abs(big - k) <= 0.02 * k:
        return k, ratio < 1
    return None


def _dims(ctx: Context, node: str | None) -> set[int]:
    """The sizes of the dimensions of ``node`` and its inputs."""
    g = ctx.graph
    if node not in g:
        return set()
    return {d for n in (node, *g.predecessors(node)) for d in g.nodes[n].get("shape") or ()}


def _gradcheck(f: Finding, ctx: Context) -> Advice:
    if "rel_error" not in f.numbers:
        return ("return a new array from forward (x * 2, not x *= 2)",)
    first = "compare your backward with the derivative of forward, input by input"
    if f.numbers.get("flat_forward"):
        return (
            "forward is flat here (a sign, round or threshold: its true gradient is 0); if "
            "backward is a surrogate on purpose (a straight-through estimator), this is expected",
            first,
        )
    ratio = f.numbers.get("ratio")
    if ratio is not None and abs(ratio + 1) <= 0.02:
        return (f"{first}; the ratio -1 says a sign is flipped",)
    found = _factor(ratio) if ratio is not None else None
    if found is None:
        return (first, "test the op alone: gradviz.gradcheck(MyFunction.apply, (x,))")
    k, small = found
    what = f"a {'division by' if small else 'missing division by'} {k}"
    if k in _dims(ctx, f.node):
        what += f" (a dimension of size {k}: the batch size?)"
    shown = f"1/{k}" if small else str(k)
    return (f"{first}; the ratio {shown} suggests {what}",)


#: The remedy for a NaN/Inf that a constant argument of an op explains.
CONSTANT_FIX = (
    "the constant comes from your code: find where it is computed (a Python 0/0, "
    "float('nan'), math.log(0), a division by a count that was 0) and fix it there"
)


def _nan_forward(f: Finding, ctx: Context) -> Advice:
    if f.numbers.get("from_constant"):
        return (CONSTANT_FIX,)
    fix = FORWARD_FIX.get(f.op or "")
    general = "look at the inputs' range in the node's statistics; float64 shows an overflow"
    if f.numbers.get("dtype_max"):  # float16
        general = "compute in float32 (model.float(), x.float()), or scale the numbers down"
    if f.numbers.get("empty_input"):
        general = "skip empty batches (if len(x) == 0: continue), or use reduction='sum'"
    if f.numbers.get("too_few_values"):
        return (fix,)
    return (fix, general) if fix else (general,)


def _nan_backward(f: Finding, ctx: Context) -> Advice:
    fix = BACKWARD_FIX.get(f.op or "")
    if fix:
        return (fix,)
    return ("find where the op's derivative is infinite at these inputs", f"{CLIP} to contain it")


def _nan_input(f: Finding, ctx: Context) -> Advice:
    return (
        "check the data before training (np.isfinite(x).all()); fill or drop the bad rows",
        f"a parameter made non-finite by an earlier step: lower the learning rate{_lr(ctx)}",
    )


def _no_gradient(f: Finding, ctx: Context) -> Advice:
    if "was in an earlier step" in f.message:  # a branch skipped its module this step
        return (
            "expected when a branch or a data-dependent depth skips it in some steps; if it "
            "should run in every step, check the condition that skips it",
        )
    if "create_graph=True" in f.message:  # the loss reads derivatives only
        return (
            "expected when the loss uses only derivatives (a PINN's residual): a term on the "
            "values themselves (boundary or data points) gives it a gradient; if none should, "
            "call requires_grad_(False) on it",
        )
    if "multiplied by zero" in f.message:  # a weight initialised to zeros
        return (
            "expected at the first step after a zero initialisation (a spatial transformer's "
            "last layer, nn.init.zeros_): the weight that is all 0 passes no gradient back until "
            "an update changes it; if it stays 0, it gets no gradient itself: check its "
            "initialisation and learning rate",
        )
    if "only as plain data" in f.message:  # an argmax or a comparison on the way
        return (
            "compute the loss from the scores themselves (F.cross_entropy(logits, y)): argmax "
            "and comparisons such as (pred == y) are for measuring accuracy, not for training",
        )
    return (
        "if it should learn, let its output reach the loss (no .detach(), .item() or no_grad() "
        "on the way); if not, call requires_grad_(False) on it",
    )


#: Optimizers whose update divides the gradient by its own running scale: clipping the
#: gradient's norm leaves their step (about the learning rate per element) as it was.
SCALE_FREE = ("Adam", "AdamW", "RMSprop", "Adagrad")


def _update_ratio(f: Finding, ctx: Context) -> Advice:
    ratio = f.numbers.get("ratio", 0.0)
    if ratio > 1e-3 and ctx.optimizer in SCALE_FREE:
        return (
            f"lower the learning rate{_lr(ctx)} or warm it up over the first steps",
            f"clipping gradients does not shrink the step: {ctx.optimizer} moves each weight by "
            "about the learning rate whatever the gradient's size",
        )
    if ratio > 1e-3:
        return (f"lower the learning rate{_lr(ctx)}", _clip(ctx.clip_norm, ctx.optimizer))
    return (f"raise the learning rate{_lr(ctx)}", "or look for a vanishing gradient upstream")


def _dead_relu(f: Finding, ctx: Context) -> Advice:
    return (
        f"lower the learning rate{_lr(ctx)}; a large step can push every unit negative",
        "use LeakyReLU or GELU, or check the initialisation (nn.init.kaiming_uniform_)",
    )


def _vanishing(f: Finding, ctx: Context) -> Advice:
    return (
        "add normalisation (LayerNorm/BatchNorm) or residual connections between the layers",
        "use ReLU-family activations rather than sigmoid/tanh; check the initialisation",
    )


def _exploding(f: Finding, ctx: Context) -> Advice:
    return (
        _clip(ctx.clip_norm, ctx.optimizer),
        f"lower the learning rate{_lr(ctx)} or add normalisation",
    )


def _broadcast(f: Finding, ctx: Context) -> Advice:
    return ("make the shapes equal: target.reshape(-1, 1) or prediction.squeeze(1)",)


#: Per finding kind, what to try.
ADVICE: dict[str, Callable[[Finding, Context], Advice]] = {
    "gradcheck": _gradcheck,
    "nan_forward": _nan_forward,
    "nan_backward": _nan_backward,
    "nan_input": _nan_input,
    "no_gradient": _no_gradient,
    "update_ratio": _update_ratio,
    "dead_relu": _dead_relu,
    "vanishing": _vanishing,
    "exploding": _exploding,
    "broadcast": _broadcast,
    "zero_derivative": flat.advice,
    "grad_not_zeroed": zerograd.advice,
}


def advise(finding: Finding, ctx: Context) -> Advice:
    """One or two things to try for ``finding``: its own when it came with some, else its
    kind's (empty for a kind with no advice)."""
    if finding.advice:
        return finding.advice
    rule = ADVICE.get(finding.kind)
    return rule(finding, ctx) if rule is not None else ()
