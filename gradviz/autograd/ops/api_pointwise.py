"""PyTorch's elementwise names a ported script reaches for: ``clamp_min``, ``clamp_max``,
``floor_divide``, ``true_divide``, ``bitwise_and``/``or``/``xor``/``not``, ``sgn`` and
``copysign``, as top-level functions and (through ``variable_extra``) methods. Each is the
existing op of its meaning (clamp, ``//``, ``/``, ``&`` ...) or a composition of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.promotion import result_type
from gradviz.autograd.variable import Variable, get_default_dtype


def clamp_min(input: Any, min: Any) -> Variable:
    """``max(input, min)`` elementwise (``clamp(min=min)``)."""
    return as_variable(input, "clamp_min").clamp(min=min)


def clamp_max(input: Any, max: Any) -> Variable:
    """``min(input, max)`` elementwise (``clamp(max=max)``)."""
    return as_variable(input, "clamp_max").clamp(max=max)


def floor_divide(input: Any, other: Any) -> Variable:
    """``input // other``: the quotient rounded down."""
    return as_variable(input, "floor_divide") // other


def true_divide(input: Any, other: Any) -> Variable:
    """``input / other`` (``div`` without rounding)."""
    return as_variable(input, "true_divide") / other


def bitwise_and(input: Any, other: Any) -> Variable:
    """``input & other`` of bool or integer values."""
    return as_variable(input, "bitwise_and") & other


def bitwise_or(input: Any, other: Any) -> Variable:
    """``input | other`` of bool or integer values."""
    return as_variable(input, "bitwise_or") | other


def bitwise_xor(input: Any, other: Any) -> Variable:
    """``input ^ other`` of bool or integer values."""
    return as_variable(input, "bitwise_xor") ^ other


def bitwise_not(input: Any) -> Variable:
    """``~input`` of bool or integer values."""
    return ~as_variable(input, "bitwise_not")


def sgn(input: Any) -> Variable:
    """The sign of each element (real inputs: ``sign``)."""
    return as_variable(input, "sgn").sign()


def copysign(input: Any, other: Any) -> Variable:
    """``|input|`` with the sign of ``other`` (-0.0 counts as negative), in a float dtype; a
    composition ``abs(input) * (-1 or 1)``: the gradient flows to ``input`` only (0 at 0, as
    PyTorch's)."""
    x = as_variable(input, "copysign")
    sign_of = other._data if isinstance(other, Variable) else np.asarray(other)
    dtype = result_type(x._data, other._data if isinstance(other, Variable) else other)
    if dtype.kind != "f":
        dtype = np.dtype(get_default_dtype())
    signs = np.where(np.signbit(sign_of), -1, 1).astype(dtype)
    if isinstance(other, Variable) and other.requires_grad:  # (other takes a zero gradient)
        return x.to(dtype).abs() * signs + other * 0
    return x.to(dtype).abs() * signs


#: every public function of this module, for the top-level namespaces
NAMES = (
    "clamp_min",
    "clamp_max",
    "floor_divide",
    "true_divide",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "sgn",
    "copysign",
)
