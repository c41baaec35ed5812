"""More in-place forms of one-input functions: ``tan_``, ``asinh_``/``acosh_``/``atanh_`` (and
``arc*_`` names), ``erfc_``, ``sinc_``, ``i0_``, ``sin_``, ``cos_``, ``sinh_``, ``cosh_``,
``asin_``/``acos_``/``atan_`` (and ``arc*_``), ``log1p_``, ``expm1_``, ``erf_``, ``erfinv_``,
``rsqrt_``, ``reciprocal_``, ``floor_``, ``ceil_``, ``trunc_`` (``fix_``), ``frac_``,
``exp2_``, with the semantics of ``inplace_unary`` (recorded as the
out-of-place op under the method's name, ``Tan_``, with its graph rule); and the compositions
``clamp_min_``, ``clamp_max_``, ``deg2rad_``, ``rad2deg_``, ``square_``, ``ldexp_`` of the
in-place ops they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd import inplace, ops, variable_elementwise
from gradviz.autograd.errors import DerivativeNotImplementedError
from gradviz.autograd.function import Function
from gradviz.autograd.inplace_ops import take_graph_rule
from gradviz.autograd.inplace_unary import _method
from gradviz.autograd.ops import bessel, special, trig
from gradviz.autograd.variable import Variable

#: the ops whose in-place form PyTorch cannot differentiate
_NO_DERIVATIVE = (trig.Asinh, trig.Acosh, trig.Atanh)


def _no_derivative(ctx: Any, grad: Any) -> Any:
    """PyTorch's backward of ``asinh_``, ``acosh_`` and ``atanh_``: not implemented (their
    derivative reads the input, which the write replaced)."""
    name = type(ctx).__name__.lower().rstrip("_")
    raise DerivativeNotImplementedError(
        f"the derivative for 'inplace version of {name}' is not implemented."
    )


def _inplace(base: type[Function]) -> type[Function]:
    name = f"{base.__name__}_"
    body: dict[str, Any] = {"__doc__": f"``{base.__name__.lower()}``, in place."}
    if base in _NO_DERIVATIVE:
        body["backward"] = staticmethod(_no_derivative)
    op = type(name, (base,), body)
    op.__module__ = __name__
    op._may_alias = False  # as the built-in ops: rules return fresh arrays or views of grad
    inplace._METHOD[op] = name.lower()
    if base not in _NO_DERIVATIVE:
        take_graph_rule(op)  # (the base op's: see inplace_ops)
    return op


#: every recorded in-place op of this module, by the out-of-place op it writes
INPLACE: dict[type[Function], type[Function]] = {
    base: _inplace(base)
    for base in (
        trig.Tan, trig.Asinh, trig.Acosh, trig.Atanh, special.Erfc, special.Sinc, bessel.I0,
        ops.Sin, ops.Cos, special.Sinh, special.Cosh, special.Asin, special.Acos, special.Atan,
        special.Log1p, special.Expm1, special.Erf, special.Erfinv, special.Rsqrt,
        special.Reciprocal, special.Floor, special.Ceil, special.Trunc, special.Frac,
        special.Exp2,
    )
}  # fmt: skip

#: the method names of each, with PyTorch's ``arc*`` aliases
METHODS = {inplace._METHOD[op]: op for op in INPLACE.values()}
for _short, _long in (
    ("asinh_", "arcsinh_"), ("acosh_", "arccosh_"), ("atanh_", "arctanh_"),
    ("asin_", "arcsin_"), ("acos_", "arccos_"), ("atan_", "arctan_"), ("trunc_", "fix_"),
):  # fmt: skip
    METHODS[_long] = METHODS[_short]

for _name, _op in METHODS.items():
    _apply = _method(_op)
    _apply.__name__ = _apply.__qualname__ = _name
    setattr(variable_elementwise.ElementwiseMethods, _name, _apply)


def clamp_min_(self: Variable, min: Any) -> Variable:
    """``clamp_(min=min)``."""
    return self.clamp_(min=min)


def clamp_max_(self: Variable, max: Any) -> Variable:
    """``clamp_(max=max)``."""
    return self.clamp_(max=max)


def deg2rad_(self: Variable) -> Variable:
    """Degrees to radians, in place (``mul_(pi / 180)``)."""
    return self.mul_(math.pi / 180)


def rad2deg_(self: Variable) -> Variable:
    """Radians to degrees, in place (``mul_(180 / pi)``)."""
    return self.mul_(180 / math.pi)


def square_(self: Variable) -> Variable:
    """``x * x``, in place (``pow_(2)``)."""
    return self.pow_(2)


def ldexp_(self: Variable, other: Any) -> Variable:
    """``x * 2**other``, in place."""
    power = other._data if isinstance(other, Variable) else np.asarray(other)
    return self.mul_(np.ldexp(np.ones((), self.dtype), power).astype(self.dtype))


COMPOSED = ("clamp_min_", "clamp_max_", "deg2rad_", "rad2deg_", "square_", "ldexp_")
variable_elementwise.add_methods(globals(), COMPOSED)
