"""Ops that record nothing, at NumPy's cost.

An arithmetic or elementwise op whose inputs do not require grad (or that runs under
``no_grad``) makes no graph node; when its operands are float32 or float64 arrays of one dtype
(or one such array and a Python number), NumPy's result is also PyTorch's, so the operator
methods of :class:`~gradviz.autograd.variable.Variable` call NumPy directly: no context, no
node, no promotion step. Everything else, and every op a hook listens to, goes through the
op's ``Function`` as before (``tests/test_unrecorded_ops.py`` holds the two ways equal).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.grad_mode import _state as _grad_state
from gradviz.autograd.variable import Variable, _operand, from_op

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_ndarray = np.ndarray
_DIVIDE, _EXP = np.true_divide, np.exp  # the unrecorded ops whose warnings are silenced


def numpy_operand(x: np.ndarray, other: Any) -> Any:
    """``other`` as NumPy takes it beside ``x`` in an op that records nothing, when NumPy's
    result is then the op's: ``x`` float32 or float64 and ``other`` an array of its dtype (or
    a Variable of it not requiring grad in grad mode) or a Python number, nobody listening.
    None otherwise: the op goes the recorded way."""
    dtype = x.dtype
    if (dtype is not _F32 and dtype is not _F64) or hooks.ACTIVE:
        return None
    kind = type(other)
    if kind is _ndarray:
        return other if other.dtype is dtype else None
    if kind is float or kind is int:
        return other
    if isinstance(other, Variable) and not (other.requires_grad and _grad_state.enabled):
        data = other._data
        return data if data.dtype is dtype else None
    return None


def unrecorded(
    ufunc: Any, op: Any, symbol: str, variable: Variable, other: Any, reflected: bool = False
) -> Variable:
    """``ufunc(variable, other)`` (``(other, variable)`` when ``reflected``) for an arithmetic
    operator that records nothing (``variable`` does not require grad, or grad mode is off).

    Two float32 or float64 arrays of one dtype, or one and a Python number, are NumPy's
    result in PyTorch's dtype, so NumPy computes it at NumPy's cost: no node, no context, no
    promotion step. Anything else (a hook listening, an operand requiring grad, ints, mixed
    dtypes, shapes that do not broadcast) goes through ``op.apply`` as a recorded op does.
    """
    x = variable._data
    y = numpy_operand(x, other)
    if y is not None:
        try:
            if ufunc is _DIVIDE:  # 1/0: inf without a word, as PyTorch (errstate costs ~1 µs:
                with np.errstate(all="ignore"):  # only where a warning is common)
                    out = ufunc(y, x) if reflected else ufunc(x, y)
            else:
                out = ufunc(y, x) if reflected else ufunc(x, y)
        except (ValueError, OverflowError):  # the op's own error, in PyTorch's words
            pass
        else:
            return from_op(out if type(out) is _ndarray else np.asarray(out), None)
    other = _operand(symbol, other)
    return op.apply(other, variable) if reflected else op.apply(variable, other)


def unary(ufunc: Any, op: Any, variable: Variable) -> Variable:
    """``ufunc(variable)`` for a unary op that records nothing, straight from NumPy when nothing
    listens and the array is float32 or float64 (NumPy's result is then PyTorch's), else
    ``op.apply(variable)``: see :func:`unrecorded`."""
    if hooks.ACTIVE:
        return op.apply(variable)
    x = variable._data
    dtype = x.dtype
    if dtype is not _F32 and dtype is not _F64:
        return op.apply(variable)
    if ufunc is _EXP:  # exp(100) in float32: inf without a word, as PyTorch
        with np.errstate(all="ignore"):
            out = ufunc(x)
    else:
        out = ufunc(x)
    return from_op(out if type(out) is _ndarray else np.asarray(out), None)
