"""``fmax``/``fmin`` with PyTorch's names (NaN-ignoring), each with a ``backward_graph`` for
``create_graph=True`` (``tan``, the inverse hyperbolic functions and ``logaddexp`` are in
``trig``); and the check of two tensor operands the top-level binary functions share.

Tie and NaN choices match PyTorch and say so where they are made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.promotion import cast, result_type
from gradviz.autograd.variable import Variable, as_array


def _promote(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dtype = result_type(a, b)
    return cast(a, dtype), cast(b, dtype)


class Fmax(Function):
    """``fmax(a, b)``: the larger value, the other one where one is NaN. The gradient goes to
    ``a`` where ``a >= b`` or ``b`` is NaN, else to ``b`` (PyTorch's: a tie is ``a``'s)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, b):
        a, b = _promote(a, b)
        ctx.save_for_backward(a, b)
        return np.fmax(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _route(ctx, grad, (a >= b) | np.isnan(b))

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = (as_array(v) for v in ctx.inputs)
        return _route(ctx, grad, (a >= b) | np.isnan(b))


class Fmin(Function):
    """``fmin(a, b)``: the smaller value, the other one where one is NaN. The gradient goes to
    ``a`` where ``a <= b`` or ``b`` is NaN, else to ``b`` (PyTorch's: a tie is ``a``'s)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, b):
        a, b = _promote(a, b)
        ctx.save_for_backward(a, b)
        return np.fmin(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _route(ctx, grad, (a <= b) | np.isnan(b))

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = (as_array(v) for v in ctx.inputs)
        return _route(ctx, grad, (a <= b) | np.isnan(b))


def _route(ctx: Any, grad: Any, to_a: np.ndarray) -> tuple[Any, Any]:
    """The whole gradient to ``a`` where ``to_a``, to ``b`` elsewhere (arrays or Variables)."""
    zero = np.zeros((), dtype=grad.dtype)
    if isinstance(grad, Variable):
        ga = Where.apply(to_a, grad, zero) if ctx.needs_input_grad[0] else None
        gb = Where.apply(to_a, zero, grad) if ctx.needs_input_grad[1] else None
        return ga, gb
    ga = np.where(to_a, grad, zero) if ctx.needs_input_grad[0] else None
    gb = np.where(to_a, zero, grad) if ctx.needs_input_grad[1] else None
    return ga, gb
