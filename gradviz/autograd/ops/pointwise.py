"""Pointwise ops beyond the activations: sin, cos, and the binary maximum/minimum (each with a
``backward_graph`` for ``create_graph=True``), lerp.

Tie choices match PyTorch and say so where they are made.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import floating, promoted
from gradviz.autograd.variable import Variable, as_array


class Sin(Function):
    """Elementwise sine."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = np.sin(x)
        return out if out.dtype is x.dtype else np.sin(floating(x))  # ints: the default dtype

    @staticmethod
    def backward(ctx, grad):
        return grad * np.cos(ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * ctx.inputs[0].cos()


class Cos(Function):
    """Elementwise cosine."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = np.cos(x)
        return out if out.dtype is x.dtype else np.cos(floating(x))  # ints: the default dtype

    @staticmethod
    def backward(ctx, grad):
        return grad * -np.sin(ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * -ctx.inputs[0].sin()


class Lerp(Function):
    """``lerp(x, end, weight)``: ``x + weight * (end - x)``; ``weight`` a number or an array
    (broadcast), each input's gradient the formula's."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, end, weight):
        ctx.save_for_backward(x, end, weight)
        return x + weight * (end - x)

    @staticmethod
    def backward(ctx, grad):
        x, end, weight = ctx.saved_tensors
        need_x, need_end, need_weight = ctx.needs_input_grad
        return (
            grad * (1 - weight) if need_x else None,
            grad * weight if need_end else None,
            grad * (end - x) if need_weight else None,
        )

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, end, weight = ctx.inputs
        need_x, need_end, need_weight = ctx.needs_input_grad
        return (
            grad * (1 - weight) if need_x else None,
            grad * weight if need_end else None,
            grad * (end - x) if need_weight else None,
        )


class Maximum(Function):
    """``maximum(a, b)``: elementwise larger value; ties split the gradient 0.5/0.5."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = np.maximum(a, b)
        return out if out.dtype is a.dtype and a.ndim else promoted(np.maximum, a, b, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split(ctx, grad, a < b, b < a, a == b)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = (as_array(v) for v in ctx.inputs)
        return _split_graph(ctx, grad, a < b, b < a, a == b)


class Minimum(Function):
    """``minimum(a, b)``: elementwise smaller value; ties split the gradient 0.5/0.5."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = np.minimum(a, b)
        return out if out.dtype is a.dtype and a.ndim else promoted(np.minimum, a, b, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split(ctx, grad, a > b, b > a, a == b)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = (as_array(v) for v in ctx.inputs)
        return _split_graph(ctx, grad, a > b, b > a, a == b)


def _split(ctx: Any, grad: np.ndarray, a_loses: Any, b_loses: Any, tie: Any) -> tuple[Any, Any]:
    """The two gradients of maximum/minimum: 0 to the loser, half each on a tie (PyTorch; a NaN
    is neither, so both get the whole gradient)."""
    zero = np.zeros((), dtype=grad.dtype)
    shared = np.where(tie, grad * 0.5, grad)
    ga = np.where(a_loses, zero, shared) if ctx.needs_input_grad[0] else None
    gb = np.where(b_loses, zero, shared) if ctx.needs_input_grad[1] else None
    return ga, gb


def _split_graph(ctx: Any, grad: Variable, a_loses: Any, b_loses: Any, tie: Any) -> tuple:
    """``_split`` in recorded ops: ``grad`` times constant shares (0 to the loser, 0.5 on a
    tie, 1 else)."""
    dtype = grad.dtype
    ga = grad * np.where(a_loses, 0, np.where(tie, 0.5, 1)).astype(dtype)
    gb = grad * np.where(b_loses, 0, np.where(tie, 0.5, 1)).astype(dtype)
    return (ga if ctx.needs_input_grad[0] else None), (gb if ctx.needs_input_grad[1] else None)


def binary(op: type[Function], a: Any, b: Any) -> Variable:
    """``maximum``/``minimum`` of two Variables (or a Variable and an array), as PyTorch's."""
    return op.apply(*tensor_operands(op.__name__.lower(), a, b))


def tensor_operands(name: str, a: Any, b: Any) -> tuple[Any, Any]:
    """Two Variables or arrays (lists become arrays); a number is PyTorch's TypeError (these
    functions take tensors only)."""
    operands = []
    for position, value in enumerate((a, b), start=1):
        if isinstance(value, list | tuple):
            value = as_array(value)
        if not isinstance(value, Variable | np.ndarray):
            raise OperandError(
                f"{name}(): argument {position} must be a Variable or an array, not "
                f"{type(value).__name__} (PyTorch's {name} takes tensors only)"
            )
        operands.append(value)
    return operands[0], operands[1]


def softmax_dim(x: Variable, dim: Any, op: str) -> int | None:
    """The checked dim of ``softmax``/``log_softmax`` (None, every element, for a 0-d input)."""
    if dim is None:
        return None
    axis = dim_index(dim, x.ndim, op)
    return axis if x.ndim else None
