"""The per-op gradient check: an op's backward against central differences, on one call's inputs.

It lives beside the engine, as ``gradcheck`` does: contexts are made by the same
``function.new_context`` that ``Function.apply`` uses, and gradients are reduced to an input's
shape by the engine's ``unbroadcast``. The tracer's diagnosis (``gradviz.viz.diagnose``) runs it
on every recorded op call and turns its results into findings; nothing here knows of tracing,
and its own ops run under ``hooks.paused()``, so no trace records them.

For one op call (its ``Function`` class and the arrays it ran on) every floating input that
required grad is checked in float64 along random directions: with ``v`` a random projection
of the output and ``u`` a random direction in the input's space, the op's backward gives
``<backward(v), u>`` and central differences give ``<v, (f(x + h u) - f(x - h u)) / 2h>``. That
is one backward and two forwards per input and direction, whatever the tensor sizes.

Kinks (relu at 0, abs at 0, max ties, clamp bounds, or any in a user's op) are found, not
listed: an output element whose second difference ``f(x+hu) + f(x-hu) - 2 f(x)`` is not small
next to its first difference is not smooth along ``u`` at this scale, and is left out of the
projection (on both sides, so the subgradient the op chose there does not matter). An op whose
kinks can hide from that test (two, in several coordinates of one input, whose slope changes
cancel: grid_sample's pixel lines crossed in x and y) lists them itself: ``check_kinks(args,
slot, step)`` says which output elements have one within ``step`` of the input. When most
of the projection is non-smooth, smaller steps are tried; an op whose kink sits exactly at its
recorded inputs in every output (``amax`` of a tie) is skipped, not failed. A forward that
writes into its input array fails the check as a whole. An op that reads one triangle of a
symmetric matrix (cholesky, eigh) lists that input in ``symmetric_inputs`` (or says which,
given its arguments): as PyTorch's, its gradient is the one for symmetric changes, and so are
its directions.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradviz.autograd import function, hooks, outputs
from gradviz.autograd.engine import unbroadcast
from gradviz.autograd.errors import GradvizError
from gradviz.autograd.scattered import dense

__all__ = ["InputResult", "OpResult", "check_call", "summed_axes"]

#: fail when |analytic - numeric| > RTOL * max(|analytic|, |numeric|) + rounding noise
RTOL = 1e-3
#: directions tried per input
DIRECTIONS = 2
#: step sizes tried, relative to eps ** (1/3) of the output's dtype, times the input's RMS
STEPS = (1.0, 1 / 30, 1 / 1000)
#: an output element is non-smooth along u when its second difference exceeds this fraction
#: of its first difference (plus rounding noise)
KINK = 1e-3


@dataclass
class InputResult:
    """The check of one input: ``<backward(v), u>`` (analytic) against central differences."""

    slot: int
    analytic: float
    numeric: float
    rel_error: float
    passed: bool
    summed_axes: tuple[int, ...] = ()
    reason: str = ""
    grad_shape: tuple[int, ...] | None = None  # the shape backward returned, before reduction


@dataclass
class OpResult:
    """The check of one op call: its status, one result per checked input, and why."""

    status: str  # passed / failed / skipped
    inputs: list[InputResult]
    reason: str = ""

    @property
    def rel_error(self) -> float | None:
        return max((r.rel_error for r in self.inputs), default=None)


class _Skip(Exception):
    pass


def _float64(value: Any) -> Any:
    """The float64 version of an argument: float arrays and float dtype options."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return value.astype(np.float64)
        return value
    if isinstance(value, np.dtype) and value.kind == "f":
        return np.dtype(np.float64)
    if isinstance(value, type) and issubclass(value, np.floating):
        return np.float64
    return value


def _is_random(value: Any) -> bool:
    return isinstance(value, np.random.Generator | np.random.RandomState)


class _Op:
    """Runs one op's forward and backward on fresh contexts, as ``Function.apply`` would."""

    def __init__(self, cls: type, values: Sequence[Any], needs: Sequence[bool]) -> None:
        self.cls = cls
        self.needs = tuple(needs)
        # a generator argument (dropout) is snapshot now and copied for every run, so each run
        # draws the same numbers and the user's generator does not advance
        self.base = [copy.deepcopy(v) if _is_random(v) else _float64(v) for v in values]
        self.random = any(_is_random(v) for v in self.base)
        self._rms: dict[int, float] = {}

    def rms(self, slot: int) -> float:
        """The root mean square of input ``slot`` (the scale of its perturbations)."""
        value = self._rms.get(slot)
        if value is None:
            x = self.base[slot]
            value = self._rms[slot] = math.sqrt(float(np.vdot(x, x)) / x.size)
        return value

    def args(self, slot: int | None = None, value: np.ndarray | None = None) -> list[Any]:
        if self.random:
            out = [copy.deepcopy(v) if _is_random(v) else v for v in self.base]
        else:
            out = list(self.base)
        if slot is not None:
            out[slot] = value
        return out

    def forward(self, args: list[Any]) -> tuple[Any, np.ndarray]:
        """Run forward (under :func:`check_call`'s silenced floating-point warnings)."""
        ctx = function.new_context(self.cls, self.needs)
        out = self.cls.forward(ctx, *args)
        if function.returns_several(out):  # several outputs: checked as their pack
            out, layout = outputs.pack(self.cls, ctx, out)
            layout.received = None  # every output is in the projection
        return ctx, np.asarray(out)

    def backward(self, ctx: Any, grad: np.ndarray) -> tuple[Any, ...]:
        grads = ctx.backward(ctx, grad)  # the op's rule (a pack's layout: one grad per output)
        if not isinstance(grads, tuple | list):
            grads = (grads,)
        return tuple(map(dense, grads))


def check_call(
    cls: type,
    values: Sequence[Any],
    needs: Sequence[bool],
    rng: np.random.Generator,
    rtol: float = RTOL,
) -> OpResult:
    """Gradient-check one call of op ``cls`` on ``values`` (its forward's arguments: arrays and
    options), checking the floating inputs whose ``needs`` entry is true; never raises for the
    op's own failures (they are results).

    ``rng`` draws the random projections. Floating-point warnings are silenced once around the
    whole check (the perturbed inputs may overflow on purpose), not around each of its forward
    and backward runs; hooks are paused, so a trace records none of the check's ops."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings(), hooks.paused():
            warnings.simplefilter("ignore")
            return _check(_Op(cls, values, needs), rng, rtol)
    except _Skip as skip:
        return OpResult("skipped", [], str(skip))


def _check(op: _Op, rng: np.random.Generator, rtol: float) -> OpResult:
    slots = [
        i
        for i, v in enumerate(op.base)
        if i < len(op.needs)
        and op.needs[i]
        and isinstance(v, np.ndarray)
        and v.dtype.kind == "f"
        and v.size
    ]
    if not slots:
        raise _Skip("no floating input requires grad")
    for i in slots:
        if not np.isfinite(op.base[i]).all():
            raise _Skip(f"input {i} has NaN/Inf (see the NaN/Inf diagnosis)")
    # The first run gets copies: a forward that writes into its input must spoil nothing.
    args = [v.copy() if isinstance(v, np.ndarray) else v for v in op.args()]
    try:
        ctx0, out0 = op.forward(args)
        written = _written_inputs(op.base, args)
        if written:
            return OpResult("failed", [], f"forward wrote into its input {written[0]} in place")
        _, again = op.forward(op.args())
    except Exception as error:
        raise _Skip(f"forward raised {type(error).__name__} in float64: {error}") from None
    if out0.dtype.kind != "f":
        raise _Skip(f"output is {out0.dtype}, not floating point")
    if again.shape != out0.shape or not np.array_equal(again, out0, equal_nan=True):
        raise _Skip("forward is not deterministic (does it draw random numbers?)")
    finite0 = np.isfinite(out0)
    if not finite0.any():
        raise _Skip("output has no finite element")
    eps = float(np.finfo(out0.dtype).eps)
    worst: dict[int, InputResult] = {}
    done = attempts = size = 0
    while done < DIRECTIONS and attempts < DIRECTIONS + len(STEPS):
        attempts += 1
        outcome = _direction(op, ctx0, out0, finite0, slots, rng, eps, STEPS[size], rtol)
        if outcome is None:  # mostly non-smooth along this direction: try a smaller step
            if size == len(STEPS) - 1:
                break
            size += 1
            continue
        done += 1
        for result in outcome:
            best = worst.get(result.slot)
            if best is None or (not result.passed, result.rel_error) > (
                not best.passed,
                best.rel_error,
            ):
                worst[result.slot] = result
    if done == 0:
        raise _Skip("a kink at the recorded inputs in most output elements (relu at 0, a tie)")
    inputs = [worst[i] for i in slots if i in worst]
    failed = [r for r in inputs if not r.passed]
    return OpResult("failed" if failed else "passed", inputs, failed[0].reason if failed else "")


def _symmetric_inputs(op: _Op) -> tuple[int, ...]:
    """The inputs ``op`` reads one triangle of: a tuple, or a function of the arguments."""
    listed = getattr(op.cls, "symmetric_inputs", ())
    return listed(op.base) if callable(listed) else listed


def _written_inputs(before: Sequence[Any], after: Sequence[Any]) -> list[int]:
    """The positions of the array arguments that forward changed."""
    return [
        i
        for i, (b, a) in enumerate(zip(before, after, strict=True))
        if isinstance(b, np.ndarray) and not np.array_equal(b, a, equal_nan=True)
    ]


def _direction(
    op: _Op,
    ctx0: Any,
    out0: np.ndarray,
    finite0: np.ndarray,
    slots: list[int],
    rng: np.random.Generator,
    eps: float,
    step: float,
    rtol: float,
) -> list[InputResult] | None:
    v = rng.standard_normal(out0.shape)
    v[~finite0] = 0.0
    keep = finite0.copy()
    perturbed = {}
    for i in slots:
        x = op.base[i]
        u = rng.standard_normal(x.shape)
        if i in _symmetric_inputs(op):  # its gradient is for symmetric changes
            u = u + np.swapaxes(u, -1, -2)
        rms = op.rms(i)
        h = eps ** (1 / 3) * step * max(rms, 1e-3)
        try:
            _, plus = op.forward(op.args(i, x + h * u))
            _, minus = op.forward(op.args(i, x - h * u))
        except Exception as error:
            raise _Skip(f"forward raised {type(error).__name__} on perturbed input {i}") from None
        if plus.shape != out0.shape or minus.shape != out0.shape:
            raise _Skip("output shape changes with the input values")
        plus = np.asarray(plus, dtype=np.float64)
        minus = np.asarray(minus, dtype=np.float64)
        first = np.abs(plus - minus)
        second = np.abs(plus + minus - 2 * out0)
        noise = 16 * eps * (np.abs(plus) + np.abs(minus) + 2 * np.abs(out0))
        smooth = np.isfinite(plus) & np.isfinite(minus) & (second <= KINK * first + noise)
        kinks = getattr(op.cls, "check_kinks", None)  # an op that knows where its kinks are
        if kinks is not None:
            smooth &= ~kinks(op.base, i, h * u)
        keep &= smooth
        perturbed[i] = (u, h, plus, minus, second)
    weight = float(np.abs(v).sum())
    kept = float(np.abs(v[keep]).sum())
    if weight == 0 or kept < 0.1 * weight:
        return None
    vm = np.where(keep, v, 0.0)
    try:
        grads = op.backward(ctx0, vm.astype(out0.dtype))
    except Exception as error:
        raise _Skip(f"backward raised {type(error).__name__}: {error}") from None
    results = []
    for i in slots:
        u, h, plus, minus, second = perturbed[i]
        x = op.base[i]
        g = grads[i] if i < len(grads) else None
        axes: tuple[int, ...] = ()
        raw_shape = None
        if g is None:
            g = np.zeros_like(x)
        else:
            g = np.asarray(g, dtype=np.float64)
            if g.shape != x.shape:
                raw_shape = g.shape
                axes = summed_axes(g.shape, x.shape)
                try:
                    g = unbroadcast(g, x.shape, ctx0, i)
                except GradvizError as error:
                    results.append(
                        InputResult(
                            i, float("nan"), float("nan"), float("inf"), False, (), str(error)
                        )
                    )
                    continue
        gu = g * u
        analytic = float(gu.sum())
        diff = np.where(keep, plus - minus, 0.0)
        numeric = float((vm * diff).sum() / (2 * h))
        size = np.where(keep, np.abs(plus) + np.abs(minus), 0.0)  # NaN where not kept
        noise = 64 * eps * (float((np.abs(vm) * size).sum()) / (2 * h) + np.abs(gu).sum())
        # A kink below the threshold (bilinear sampling at a pixel, a slope change of 0.1%):
        # any slope between the two one-sided ones is right there, and differs from the
        # central difference by at most half the second difference over h.
        noise += float((np.abs(vm) * np.where(keep, second, 0.0)).sum()) / (2 * h)
        if not np.isfinite(analytic):
            if not keep.all():  # 0 * inf: a derivative infinite where forward is not smooth
                raise _Skip("backward is infinite where forward is not smooth (sqrt at 0?)")
            reason = "backward gave a NaN/Inf gradient for finite inputs"
            results.append(
                InputResult(i, analytic, numeric, float("inf"), False, axes, reason, raw_shape)
            )
            continue
        error = abs(analytic - numeric)
        scale = max(abs(analytic), abs(numeric))
        rel = error / scale if scale > 0 else 0.0
        passed = error <= rtol * scale + noise
        reason = "" if passed else _mismatch(analytic, numeric)
        results.append(InputResult(i, analytic, numeric, rel, passed, axes, reason, raw_shape))
    return results


def _mismatch(analytic: float, numeric: float) -> str:
    if numeric and analytic and analytic / numeric > 0:
        ratio = analytic / numeric
        inverse = f" (1/{1 / ratio:.3g})" if ratio < 0.5 else ""
        return f"backward is {ratio:.3g}x{inverse} the numeric gradient"
    if not analytic:
        return "backward gives no gradient where the numeric one is not zero"
    return f"analytic {analytic:.4g} vs numeric {numeric:.4g}"


def summed_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``grad_shape`` that un-broadcasting to ``shape`` sums over (as the engine)."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return ()
    return tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1
    )
