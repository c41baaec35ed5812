"""PyTorch's common elementwise functions a ported script reaches for that are not elsewhere:
``erfc``, ``sinc``, ``i0``, ``xlogy`` (the ops of ``gradviz.special``), ``fmax``/``fmin``,
``heaviside``, ``float_power``, ``deg2rad``/``rad2deg``, ``signbit``,
``isposinf``/``isneginf``/``isreal`` and ``positive``; as top-level functions and (through
``variable_elementwise``) methods. (``tan``, ``asinh`` ... are ``api_more``'s, the aliases
``subtract``, ``greater``, ``fliplr``, ``logaddexp`` ... ``api_alias``'s.)
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
)
from gradviz.autograd.function import Function
from gradviz.autograd.ops import bessel as _bessel
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops import pointwise_more as _ops
from gradviz.autograd.ops import special as _special
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.pointwise import tensor_operands
from gradviz.autograd.variable import Variable, from_op, get_default_dtype


def erfc(input: Any) -> Variable:
    """The complementary error function ``1 - erf(x)`` (``special.erfc``)."""
    return _special.Erfc.apply(as_variable(input, "erfc"))


def sinc(input: Any) -> Variable:
    """``sin(pi x) / (pi x)``, 1 at 0 (``special.sinc``)."""
    return _special.Sinc.apply(as_variable(input, "sinc"))


def i0(input: Any) -> Variable:
    """The modified Bessel function of the first kind, order 0 (``special.i0``)."""
    return _bessel.I0.apply(as_variable(input, "i0"))


def xlogy(input: Any, other: Any) -> Variable:
    """``input * log(other)``, 0 where ``input`` is 0 (``special.xlogy``); either may be a
    number."""
    from gradviz.autograd import special  # (it imports this package's api)

    return special.xlogy(input, other)


def fmax(input: Any, other: Any) -> Variable:
    """The larger value, ignoring a NaN (NaN only where both are); a tie's gradient goes to
    ``input``, as PyTorch's."""
    return _ops.Fmax.apply(*tensor_operands("fmax", input, other))


def fmin(input: Any, other: Any) -> Variable:
    """The smaller value, ignoring a NaN (NaN only where both are); a tie's gradient goes to
    ``input``, as PyTorch's."""
    return _ops.Fmin.apply(*tensor_operands("fmin", input, other))


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
    return Heaviside.apply(*tensor_operands("heaviside", input, values))


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


#: the names this module adds to the top-level package (and, but ``float_power``'s number
#: first form, as methods)
NAMES = [
    "erfc", "sinc", "i0", "xlogy", "fmax", "fmin", "heaviside", "float_power", "deg2rad",
    "rad2deg", "positive", "signbit", "isposinf", "isneginf", "isreal",
]  # fmt: skip

variable_elementwise._api = sys.modules[__name__]  # the methods call these
