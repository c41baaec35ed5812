"""PyTorch's common elementwise and comparison functions a ported script reaches for: ``tan``,
``asinh``/``acosh``/``atanh`` (and ``arc*`` names), ``erfc``, ``sinc``, ``i0``, ``xlogy`` (the
ops of ``gradviz.special``), ``fmax``/``fmin``, ``logaddexp``/``logaddexp2``, ``heaviside``,
``float_power``, ``deg2rad``/``rad2deg``, ``signbit``, ``isposinf``/``isneginf``/``isreal``,
``positive``, the aliases ``absolute``, ``subtract``, ``greater``, ``greater_equal``, ``less``,
``less_equal``, ``not_equal``, and ``fliplr``/``flipud``; as top-level functions and (through
``variable_elementwise``) methods.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from gradviz.autograd import (
    inplace_unary_more,  # noqa: F401  (adds x.tan_() ...)
    variable_elementwise,
    variable_inplace_more,  # noqa: F401  (adds x.atan2_(y) ...)
)
from gradviz.autograd.errors import (
    DerivativeNotImplementedError,
    InputError,
    OperandError,
    ShapeError,
)
from gradviz.autograd.function import Function
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops import pointwise_more as _ops
from gradviz.autograd.ops import special as _special
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, from_op, get_default_dtype


def tan(input: Any) -> Variable:
    """Tangent (integers in the default dtype)."""
    return _ops.Tan.apply(as_variable(input, "tan"))


def asinh(input: Any) -> Variable:
    """Inverse hyperbolic sine."""
    return _ops.Asinh.apply(as_variable(input, "asinh"))


def acosh(input: Any) -> Variable:
    """Inverse hyperbolic cosine (NaN below 1)."""
    return _ops.Acosh.apply(as_variable(input, "acosh"))


def atanh(input: Any) -> Variable:
    """Inverse hyperbolic tangent (infinite at +-1, NaN beyond)."""
    return _ops.Atanh.apply(as_variable(input, "atanh"))


arcsinh, arccosh, arctanh = asinh, acosh, atanh


def erfc(input: Any) -> Variable:
    """The complementary error function ``1 - erf(x)`` (``special.erfc``)."""
    return _special.Erfc.apply(as_variable(input, "erfc"))


def sinc(input: Any) -> Variable:
    """``sin(pi x) / (pi x)``, 1 at 0 (``special.sinc``)."""
    return _special.Sinc.apply(as_variable(input, "sinc"))


def i0(input: Any) -> Variable:
    """The modified Bessel function of the first kind, order 0 (``special.i0``)."""
    return _special.I0.apply(as_variable(input, "i0"))


def xlogy(input: Any, other: Any) -> Variable:
    """``input * log(other)``, 0 where ``input`` is 0 (``special.xlogy``); either may be a
    number."""
    from gradviz.autograd import special  # (it imports this package's api)

    return special.xlogy(input, other)


def fmax(input: Any, other: Any) -> Variable:
    """The larger value, ignoring a NaN (NaN only where both are); a tie's gradient goes to
    ``input``, as PyTorch's."""
    return _ops.Fmax.apply(*_ops.tensor_operands("fmax", input, other))


def fmin(input: Any, other: Any) -> Variable:
    """The smaller value, ignoring a NaN (NaN only where both are); a tie's gradient goes to
    ``input``, as PyTorch's."""
    return _ops.Fmin.apply(*_ops.tensor_operands("fmin", input, other))


def logaddexp(input: Any, other: Any) -> Variable:
    """``log(exp(input) + exp(other))`` without overflow (floats only)."""
    return _ops.Logaddexp.apply(*_ops.tensor_operands("logaddexp", input, other))


def logaddexp2(input: Any, other: Any) -> Variable:
    """``log2(2**input + 2**other)`` without overflow (floats only)."""
    return _ops.Logaddexp2.apply(*_ops.tensor_operands("logaddexp2", input, other))


class Heaviside(Function):
    """The step function: 0 below 0, 1 above, ``values`` at 0. Its result requires grad as
    PyTorch's does and its backward is PyTorch's error: PyTorch has no derivative for it (so
    the op has no row in the op table, which checks gradients; its values are compared with
    PyTorch's)."""

    @staticmethod
    def forward(ctx, x, values):
        if x.dtype != values.dtype:
            raise InputError(
                "heaviside(): heaviside is not yet implemented for tensors with different "
                f"dtypes (got {x.dtype} and {values.dtype})"
            )
        return np.heaviside(x, values).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        raise DerivativeNotImplementedError("the derivative for 'heaviside' is not implemented.")


def heaviside(input: Any, values: Any) -> Variable:
    """0 where ``input < 0``, 1 where ``input > 0``, ``values`` where it is 0 (one dtype); no
    derivative, as PyTorch's."""
    return Heaviside.apply(*_ops.tensor_operands("heaviside", input, values))


def float_power(input: Any, exponent: Any) -> Variable:
    """``input ** exponent`` in float64 (either may be a number)."""
    if not isinstance(input, Variable) and not isinstance(exponent, Variable):
        raise OperandError(
            "float_power(): expected a Variable as input or exponent, got "
            f"{type(input).__name__} and {type(exponent).__name__}"
        )
    base, power = (_double(v, "float_power") for v in (input, exponent))
    return base**power


def _double(value: Any, op: str) -> Any:
    if isinstance(value, Variable | np.ndarray | list | tuple):
        return as_variable(value, op).to(np.float64)
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise OperandError(f"{op}(): expected a Variable or a number, got {type(value).__name__}")
    return float(value)


def deg2rad(input: Any) -> Variable:
    """Degrees to radians (integers in the default dtype)."""
    return _scaled(input, "deg2rad", math.pi / 180)


def rad2deg(input: Any) -> Variable:
    """Radians to degrees (integers in the default dtype)."""
    return _scaled(input, "rad2deg", 180 / math.pi)


def _scaled(input: Any, op: str, factor: float) -> Variable:
    x = as_variable(input, op)
    if x.dtype.kind != "f":
        x = x.to(get_default_dtype())
    return x * factor


def positive(input: Any) -> Variable:
    """``input`` itself (``+x``); a bool input is refused, as PyTorch's."""
    x = as_variable(input, "positive")
    if x.dtype.kind == "b":
        raise InputError("positive(): The `+` operator, on a bool tensor is not supported.")
    return x


Signbit = type("Signbit", (nodiff.NoGradient,), {"__doc__": "Which elements have the sign bit."})
Isposinf = type("Isposinf", (nodiff.NoGradient,), {"__doc__": "Which elements are +inf."})
Isneginf = type("Isneginf", (nodiff.NoGradient,), {"__doc__": "Which elements are -inf."})
Isreal = type("Isreal", (nodiff.NoGradient,), {"__doc__": "Which elements are real."})


def _test(op: type[nodiff.NoGradient], input: Any, test: Any) -> Variable:
    x = as_variable(input, op.__name__.lower())
    return nodiff.announce(op, (x,), from_op(np.asarray(test(x._data)), None))


def signbit(input: Any) -> Variable:
    """True where the sign bit is set (negative numbers, -0.0, negative NaNs)."""
    return _test(Signbit, input, lambda a: np.signbit(a) if a.dtype.kind != "b" else a & False)


def isposinf(input: Any) -> Variable:
    """True where the value is +inf."""
    return _test(Isposinf, input, lambda a: np.isposinf(a) if a.dtype.kind == "f" else a != a)


def isneginf(input: Any) -> Variable:
    """True where the value is -inf."""
    return _test(Isneginf, input, lambda a: np.isneginf(a) if a.dtype.kind == "f" else a != a)


def isreal(input: Any) -> Variable:
    """True everywhere: gradviz's values are real."""
    return _test(Isreal, input, lambda a: np.ones(a.shape, dtype=np.bool_))


def absolute(input: Any) -> Variable:
    """|input| (``abs``)."""
    return as_variable(input, "absolute").abs()


def subtract(input: Any, other: Any, *, alpha: Any = 1) -> Variable:
    """``input - alpha * other`` (``sub``)."""
    return as_variable(input, "subtract").sub(other, alpha=alpha)


def greater(input: Any, other: Any) -> Variable:
    """``input > other`` elementwise (``gt``)."""
    return as_variable(input, "greater").gt(other)


def greater_equal(input: Any, other: Any) -> Variable:
    """``input >= other`` elementwise (``ge``)."""
    return as_variable(input, "greater_equal").ge(other)


def less(input: Any, other: Any) -> Variable:
    """``input < other`` elementwise (``lt``)."""
    return as_variable(input, "less").lt(other)


def less_equal(input: Any, other: Any) -> Variable:
    """``input <= other`` elementwise (``le``)."""
    return as_variable(input, "less_equal").le(other)


def not_equal(input: Any, other: Any) -> Variable:
    """``input != other`` elementwise (``ne``)."""
    return as_variable(input, "not_equal").ne(other)


def fliplr(input: Any) -> Variable:
    """The columns (dim 1) in reverse order; at least 2-d."""
    x = as_variable(input, "fliplr")
    if x.ndim < 2:
        raise ShapeError(f"fliplr(): Input must be >= 2-d., got shape {tuple(x.shape)}")
    return x.flip(1)


def flipud(input: Any) -> Variable:
    """The rows (dim 0) in reverse order; at least 1-d."""
    x = as_variable(input, "flipud")
    if x.ndim < 1:
        raise ShapeError("flipud(): Input must be >= 1-d., got a 0-d Variable")
    return x.flip(0)


#: the names this module adds to the top-level package (and, but ``float_power``'s number
#: first form, as methods)
NAMES = [
    "tan", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "erfc", "sinc", "i0",
    "xlogy", "fmax", "fmin", "logaddexp", "logaddexp2", "heaviside", "float_power", "deg2rad",
    "rad2deg", "positive", "signbit", "isposinf", "isneginf", "isreal", "absolute", "subtract",
    "greater", "greater_equal", "less", "less_equal", "not_equal", "fliplr", "flipud",
]  # fmt: skip

variable_elementwise._api = sys.modules[__name__]  # the methods call these
