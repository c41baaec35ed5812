"""More elementwise math with PyTorch's names: rounding (floor, ceil, trunc, frac), reciprocal,
rsqrt, log1p, expm1, erf, erfc, erfinv, sinc, entr, the hyperbolic and inverse
trigonometric functions, exp2, logit and nan_to_num; and the binary atan2, fmod, hypot and
xlogy.

A one-input op is a ``_Pointwise``: ``value(x)`` and ``slope(x, out)`` side by side, the
gradient ``grad * slope``. Integer and bool inputs compute in the default float dtype, as
PyTorch's. The rounding ops have a zero gradient, as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.promotion import cast, floating, result_type
from gradviz.autograd.variable import Variable

_erf = np.frompyfunc(math.erf, 1, 1)  # exact to float64 (NumPy has no erf)
_erfc = np.frompyfunc(math.erfc, 1, 1)


class _Pointwise(Function):
    """``value(x)`` elementwise, its gradient ``grad * slope(saved)``: ``saved`` is the output
    when ``of_output``, else the input, whichever PyTorch saves (so that an in-place write
    after the op is an error exactly when it is one in PyTorch)."""

    of_output = False

    @staticmethod
    def value(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def slope(saved: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x):
        if x.dtype.kind != "f":
            x = floating(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(cls.value(x)).astype(x.dtype, copy=False)
        ctx.saved_tensors = (out if cls.of_output else x,)
        return out

    @classmethod
    def backward(cls, ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return grad * cls.slope(ctx.saved_tensors[0])


class _Rounding(Function):
    """A rounding op: the same dtype for integers (a copy; bools refused), a zero gradient
    (PyTorch's)."""

    @staticmethod
    def value(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x):
        if x.dtype.kind == "b":
            raise InputError(f"\"{cls.__name__.lower()}_vml_cpu\" not implemented for 'Bool'")
        return cls.value(x) if x.dtype.kind == "f" else x.copy()

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)


def zero_graph(ctx: Any, grad: Any, out: Any) -> np.ndarray:
    """The graph rule of an op whose gradient is zero: zeros with no graph (PyTorch's
    ``zeros_like(grad)``, which does not require grad)."""
    return np.zeros(grad.shape, grad.dtype)


class Floor(_Rounding):
    """The largest integer not above x; zero gradient."""

    value = staticmethod(np.floor)
    backward_graph = staticmethod(zero_graph)


class Ceil(_Rounding):
    """The smallest integer not below x; zero gradient."""

    value = staticmethod(np.ceil)
    backward_graph = staticmethod(zero_graph)


class Trunc(_Rounding):
    """x rounded toward zero; zero gradient."""

    value = staticmethod(np.trunc)
    backward_graph = staticmethod(zero_graph)


class Frac(Function):
    """``x - trunc(x)``, the fractional part with x's sign; gradient 1 (PyTorch's)."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind != "f":
            kind = {"b": "Bool", "u": "Byte"}.get(x.dtype.kind, "Long")
            raise InputError(f"\"frac_cpu\" not implemented for '{kind}'")
        return x - np.trunc(x)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad


class Reciprocal(_Pointwise):
    """1 / x."""

    of_output = True

    value = staticmethod(np.reciprocal)

    @staticmethod
    def slope(out):
        return -out * out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Reciprocal.slope(out)


class Rsqrt(_Pointwise):
    """1 / sqrt(x)."""

    of_output = True

    @staticmethod
    def value(x):
        return 1 / np.sqrt(x)

    @staticmethod
    def slope(out):
        return -0.5 * out * out * out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Rsqrt.slope(out)


class Log1p(_Pointwise):
    """log(1 + x), accurate near 0."""

    value = staticmethod(np.log1p)

    @staticmethod
    def slope(x):
        return 1 / (1 + x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad / (ctx.inputs[0] + 1)


class Expm1(_Pointwise):
    """exp(x) - 1, accurate near 0."""

    of_output = True

    value = staticmethod(np.expm1)

    @staticmethod
    def slope(out):
        return out + 1

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (out + 1)


class Exp2(_Pointwise):
    """2 ** x."""

    of_output = True

    value = staticmethod(np.exp2)

    @staticmethod
    def slope(out):
        return out * math.log(2)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (out * math.log(2))


class Erf(_Pointwise):
    """The error function."""

    @staticmethod
    def value(x):
        return np.asarray(_erf(x.astype(np.float64)), np.float64)  # (a 0-d input: a float)

    @staticmethod
    def slope(x):
        return (2 / math.sqrt(math.pi)) * np.exp(-x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * ((x * x * -1.0).exp() * (2 / math.sqrt(math.pi)))


class Erfinv(_Pointwise):
    """The inverse of erf on (-1, 1): +-inf at +-1, NaN outside."""

    @staticmethod
    def value(x):
        return erfinv(x.astype(np.float64))

    @staticmethod
    def slope(x):
        y = erfinv(x.astype(np.float64)).astype(x.dtype)  # PyTorch saves the input too
        return (math.sqrt(math.pi) / 2) * np.exp(y * y)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * ((out * out).exp() * (math.sqrt(math.pi) / 2))


def erfinv(y: np.ndarray) -> np.ndarray:
    """erf's inverse in float64: Giles' single-precision approximation, then two Newton steps
    on ``math.erf`` (exact to float64 rounding)."""
    w = -np.log((1 - y) * (1 + y))
    small = w < 5
    ws, wl = w - 2.5, np.sqrt(w) - 3
    ps = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                     0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                     1.50140941], ws)  # fmt: skip
    pl = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                     0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
                     2.83297682], wl)  # fmt: skip
    x = np.where(small, ps, pl) * y
    finite = np.abs(y) < 1
    for _ in range(2):
        step = (np.asarray(_erf(x), np.float64) - y) / ((2 / math.sqrt(math.pi)) * np.exp(-x * x))
        x = np.where(finite, x - step, x)
    x = np.where(np.abs(y) == 1, np.copysign(np.inf, y), x)
    return np.where(np.abs(y) > 1, np.nan, x)


class Erfc(_Pointwise):
    """The complementary error function ``1 - erf(x)``, exact where it is tiny."""

    @staticmethod
    def value(x):
        return np.asarray(_erfc(x.astype(np.float64)), np.float64)

    @staticmethod
    def slope(x):
        return (-2 / math.sqrt(math.pi)) * np.exp(-x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * ((x * x * -1.0).exp() * (-2 / math.sqrt(math.pi)))


class Sinc(_Pointwise):
    """The normalized sinc ``sin(pi x) / (pi x)``, 1 at 0 (slope 0 there)."""

    value = staticmethod(np.sinc)

    @staticmethod
    def slope(x):
        t = np.pi * x
        safe = np.where(x == 0, 1, t)
        return np.where(x == 0, 0, (np.cos(safe) * safe - np.sin(safe)) / (safe * safe) * np.pi)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        zero = x._data == 0  # slope 0 at 0, as PyTorch's
        safe = Where.apply(zero, np.ones((), x.dtype), x)
        t = safe * math.pi
        return Where.apply(
            zero, np.zeros((), grad.dtype), grad * ((t * t.cos() - t.sin()) / (t * safe))
        )


class Entr(_Pointwise):
    """The elementwise entropy ``-x ln x``: 0 at 0, -inf below 0; slope ``-(1 + ln x)``."""

    @staticmethod
    def value(x):
        below = np.where(x == 0, 0, np.where(np.isnan(x), x, -np.inf))
        return np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), below)

    @staticmethod
    def slope(x):
        return -(1 + np.log(x))

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * -(ctx.inputs[0].log() + 1)


class Xlogy(Function):
    """``x * log(y)``, 0 where ``x == 0`` (unless y is NaN); gradients ``xlogy(grad, y)``, 0
    where ``x == 0`` and ``y <= 0``, and ``x / y``, as PyTorch's."""

    @staticmethod
    def forward(ctx, x, y):
        x, y = _floats(x, y)
        ctx.saved_tensors = (x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y))
        return np.asarray(out, dtype=np.result_type(x, y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = np.where(_xlogy_zero(x, y, grad), 0, grad * np.log(y)) if need_x else None
            grad_y = grad * x / y if need_y else None
        return grad_x, grad_y

    @staticmethod
    def backward_graph(ctx, grad, out):
        (x, y), (need_x, need_y) = ctx.inputs, ctx.needs_input_grad
        log_y = y.log() if isinstance(y, Variable) else np.log(floating(np.asarray(y)))
        data = [v._data if isinstance(v, Variable) else np.asarray(v) for v in (x, y, grad)]
        zero = Where.apply(_xlogy_zero(*data), np.zeros((), grad.dtype), grad * log_y)
        return (zero if need_x else None), (grad * x / y if need_y else None)


def _xlogy_zero(x: Any, y: Any, grad: Any) -> np.ndarray:
    """Where xlogy's gradient in x is 0: a zero weight (y not NaN), or x == 0 with y <= 0."""
    return ((grad == 0) & ~np.isnan(y)) | ((x == 0) & (y <= 0))


class Sinh(_Pointwise):
    """Hyperbolic sine."""

    value = staticmethod(np.sinh)

    @staticmethod
    def slope(x):
        return np.cosh(x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Cosh.apply(ctx.inputs[0])


class Cosh(_Pointwise):
    """Hyperbolic cosine."""

    value = staticmethod(np.cosh)

    @staticmethod
    def slope(x):
        return np.sinh(x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Sinh.apply(ctx.inputs[0])


class Asin(_Pointwise):
    """Inverse sine (NaN outside [-1, 1])."""

    value = staticmethod(np.arcsin)

    @staticmethod
    def slope(x):
        return 1 / np.sqrt(1 - x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (1 - x * x).rsqrt()


class Acos(_Pointwise):
    """Inverse cosine (NaN outside [-1, 1])."""

    value = staticmethod(np.arccos)

    @staticmethod
    def slope(x):
        return -1 / np.sqrt(1 - x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return -grad * (1 - x * x).rsqrt()


class Atan(_Pointwise):
    """Inverse tangent."""

    value = staticmethod(np.arctan)

    @staticmethod
    def slope(x):
        return 1 / (1 + x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad / (x * x + 1)


class Logit(Function):
    """``log(x / (1 - x))``, x first clamped into ``[eps, 1 - eps]`` when ``eps`` is given
    (the gradient then 0 outside that range, as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, eps=None):
        if x.dtype.kind != "f":
            x = floating(x)
        ctx.saved_tensors = (x,)
        ctx.eps = eps
        z = x if eps is None else np.clip(x, eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z / (1 - z)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = grad / (x * (1 - x))
        if eps is None:
            return np.where((x < 0) | (x > 1), np.nan, slope)
        return np.where((x < eps) | (x > 1 - eps), 0, slope)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, eps = ctx.inputs[0], ctx.eps
        slope = grad / (x * (1 - x))
        data = x._data
        if eps is None:  # NaN outside [0, 1], 0 outside [eps, 1 - eps], as PyTorch's
            return Where.apply((data < 0) | (data > 1), np.full((), np.nan, grad.dtype), slope)
        return Where.apply((data < eps) | (data > 1 - eps), np.zeros((), grad.dtype), slope)


class NanToNum(Function):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and smallest values); the gradient passes where x is finite (PyTorch's)."""

    @staticmethod
    def forward(ctx, x, nan=0.0, posinf=None, neginf=None):
        ctx.saved_tensors = (x,)
        if x.dtype.kind != "f":
            return x.copy()
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.isfinite(ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * np.isfinite(ctx.inputs[0]._data).astype(grad.dtype)


def _floats(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` and ``b`` in their PyTorch result dtype, floating (the default dtype for ints)."""
    dtype = result_type(a, b)
    if dtype.kind != "f":
        dtype = floating(np.zeros(0, dtype)).dtype
    return cast(a, dtype), cast(b, dtype)


class Atan2(Function):
    """``atan2(a, b)``: the angle of the point (b, a), in (-pi, pi]."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = _floats(a, b)
        ctx.saved_tensors = (a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / (a * a + b * b)
        return (scale * b if need_a else None), (-scale * a if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        scale = grad / (a * a + b * b)
        return (scale * b if need_a else None), (-scale * a if need_b else None)


class Hypot(Function):
    """``sqrt(a**2 + b**2)`` without overflow."""

    @staticmethod
    def forward(ctx, a, b):
        dtype = result_type(a, b)
        if dtype.kind != "f":
            kind = {"b": "Bool", "u": "Byte"}.get(dtype.kind, "Long")
            raise InputError(f"\"hypot_cpu\" not implemented for '{kind}'")
        a, b = cast(a, dtype), cast(b, dtype)
        out = np.hypot(a, b)
        ctx.saved_tensors = (a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / out
        return (scale * a if need_a else None), (scale * b if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        scale = grad / out
        return (scale * a if need_a else None), (scale * b if need_b else None)


class Fmod(Function):
    """``a - b * trunc(a / b)``: C's remainder, of the dividend's sign (``%`` takes the
    divisor's); the gradients are 1 and ``-trunc(a / b)``, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, b):
        dtype = result_type(a, b)
        if dtype.kind == "b":
            raise InputError("\"fmod_cpu\" not implemented for 'Bool'")
        a, b = cast(a, dtype), cast(b, dtype)
        if dtype.kind in "biu" and np.any(np.equal(b, 0)):
            raise InputError("ZeroDivisionError: integer division or modulo by zero")
        if ctx.needs_input_grad[1]:
            ctx.saved_tensors = (a, b)
        return np.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        grad_b = None
        if need_b:
            a, b = ctx.saved_tensors
            grad_b = -grad * np.trunc(a / b)
        return (grad if need_a else None), grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (grad if need_a else None), (-grad * Trunc.apply(a / b) if need_b else None)
