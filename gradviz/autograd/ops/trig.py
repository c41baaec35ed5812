"""The tangent and the inverse hyperbolic functions with PyTorch's names (``tan``, ``asinh``,
``acosh``, ``atanh``): one-input ``_Pointwise`` ops (integer inputs compute in the default
float dtype, as PyTorch's); and ``logaddexp``, ``logaddexp2`` (floating inputs only). Each has
its graph rule for second derivatives."""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.errors import InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import cast, result_type
from gradviz.autograd.ops.special import _Pointwise


class Tan(_Pointwise):
    """Tangent; its gradient ``grad * (1 + tan(x)**2)`` reads the output, as PyTorch's."""

    value = staticmethod(np.tan)
    of_output = True

    @staticmethod
    def slope(out):
        return 1 + out * out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (1 + out * out)


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
    """Inverse hyperbolic tangent (+-inf at +-1, NaN outside)."""

    value = staticmethod(np.arctanh)

    @staticmethod
    def slope(x):
        return 1 / (1 - x * x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad / (1 - x * x)


class Logaddexp(Function):
    """``log(exp(a) + exp(b))`` without overflow; its gradients are ``sigmoid(a - b)`` and
    ``sigmoid(b - a)`` times the output's (NaN where both are the same infinity, as
    PyTorch's)."""

    #: the base's log: e for ``logaddexp``, 2 for ``logaddexp2``
    scale = 1.0
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)
    value = staticmethod(np.logaddexp)

    @classmethod
    def forward(cls, ctx, a, b):
        dtype = result_type(a, b)
        if dtype.kind != "f":
            kind = {"b": "Bool", "u": "Byte"}.get(dtype.kind, "Long")
            name = cls.__name__.lower()
            raise InputError(f"\"{name}_cpu\" not implemented for '{kind}'")
        a, b = cast(a, dtype), cast(b, dtype)
        ctx.saved_tensors = (a, b)
        with np.errstate(invalid="ignore"):  # a NaN gives NaN quietly, as PyTorch's
            return cls.value(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        with np.errstate(invalid="ignore", over="ignore"):
            share = 1 / (1 + np.exp((b - a) * cls.scale))  # of a; 1 - share of b
        return (grad * share if need_a else None), (grad * (1 - share) if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        share = ((a - b) * type(ctx).scale).sigmoid()
        return (grad * share if need_a else None), (grad * (1 - share) if need_b else None)


class Logaddexp2(Logaddexp):
    """``log2(2**a + 2**b)`` without overflow."""

    scale = math.log(2.0)
    value = staticmethod(np.logaddexp2)
    backward_graph = Logaddexp.__dict__["backward_graph"]
