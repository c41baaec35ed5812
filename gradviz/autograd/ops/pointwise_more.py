"""More elementwise ops with PyTorch's names: ``tan``, the inverse hyperbolic functions
``asinh``/``acosh``/``atanh``, ``fmax``/``fmin`` (NaN-ignoring) and
``logaddexp``/``logaddexp2``, each with a ``backward_graph`` for ``create_graph=True``.

Tie and NaN choices match PyTorch and say so where they are made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.promotion import cast, result_type
from gradviz.autograd.ops.special import _Pointwise
from gradviz.autograd.variable import Variable, as_array


class Tan(_Pointwise):
    """Tangent; its slope ``1 + tan(x)**2`` from the output (PyTorch saves the result)."""

    value = staticmethod(np.tan)
    of_output = True

    @staticmethod
    def slope(out):
        return 1 + out * out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (out * out + 1)


class Asinh(_Pointwise):
    """Inverse hyperbolic sine."""

    value = staticmethod(np.arcsinh)

    @staticmethod
    def slope(x):
        return 1 / np.sqrt(x * x + 1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (x * x + 1).rsqrt()


class Acosh(_Pointwise):
    """Inverse hyperbolic cosine (NaN below 1)."""

    value = staticmethod(np.arccosh)

    @staticmethod
    def slope(x):
        return 1 / np.sqrt(x * x - 1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (x * x - 1).rsqrt()


class Atanh(_Pointwise):
    """Inverse hyperbolic tangent (infinite at +-1, NaN beyond)."""

    value = staticmethod(np.arctanh)

    @staticmethod
    def slope(x):
        return 1 / (1 - x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad / (1 - x * x)


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


class Logaddexp(Function):
    """``log(exp(a) + exp(b))`` without overflow; the gradients ``1 / (1 + exp(b - a))`` and
    ``1 / (1 + exp(a - b))`` (floats only, as PyTorch's)."""

    base = math.e
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = _floats(cls.__name__.lower(), a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(invalid="ignore"):
            return np.logaddexp(a, b) if cls.base == math.e else np.logaddexp2(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        with np.errstate(over="ignore", invalid="ignore"):
            ga = grad / (1 + np.power(cls.base, b - a)) if ctx.needs_input_grad[0] else None
            gb = grad / (1 + np.power(cls.base, a - b)) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_graph(ctx, grad, out):
        return _logaddexp_graph(ctx, grad)


class Logaddexp2(Logaddexp):
    """``log2(2**a + 2**b)`` without overflow; the gradients ``1 / (1 + 2**(b - a))`` and
    ``1 / (1 + 2**(a - b))`` (floats only, as PyTorch's)."""

    base = 2.0

    @staticmethod
    def backward_graph(ctx, grad, out):
        return _logaddexp_graph(ctx, grad)


def _logaddexp_graph(ctx: Any, grad: Variable) -> tuple[Any, Any]:
    """The graph rule of ``Logaddexp`` and ``Logaddexp2`` (the op's base, by its class)."""
    a, b = ctx.inputs
    scale = math.log(type(ctx).base)
    ga = grad / (((b - a) * scale).exp() + 1) if ctx.needs_input_grad[0] else None
    gb = grad / (((a - b) * scale).exp() + 1) if ctx.needs_input_grad[1] else None
    return ga, gb


def _floats(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _promote(a, b)
    if a.dtype.kind != "f":
        raise InputError(f'"{op}" not implemented for {a.dtype} (a floating dtype only)')
    return a, b


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
