"""Reductions with a formula: logsumexp, var, std and vector norms.

Axes are read by ``dims.reduce_dims`` (None or ``()`` is every axis), as the other reductions.
Choices at singular points match PyTorch and say so where they are made.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gradviz.autograd.dims import reduce_dims
from gradviz.autograd.errors import ArgumentError, BackwardError, InputError, OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.elementwise import sign
from gradviz.autograd.ops.reductions import kept_shape
from gradviz.autograd.variable import Variable


def _keep(array: np.ndarray, ndim: int, axis: Any, keepdims: bool) -> np.ndarray:
    """A reduced array with its reduced axes back (size 1), ready to broadcast."""
    if keepdims or not ndim:
        return array
    if axis is None:
        return array.reshape((1,) * ndim)
    return np.expand_dims(array, axis)


class Logsumexp(Function):
    """``log(sum(exp(x)))`` over ``axis``, shifted by the maximum so it cannot overflow."""

    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        top = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        top = np.where(np.isinf(top), 0, top)  # all -inf (or an inf): no shift, as PyTorch
        with np.errstate(divide="ignore"):
            out = np.log(np.exp(x - top).sum(axis=axis, keepdims=True)) + top
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return _keep(grad, x.ndim, ctx.axis, ctx.keepdims) * np.exp(x - out)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        kept = kept_shape(x.shape, ctx.axis, ctx.keepdims)
        return grad.reshape(kept) * (x - out.reshape(kept)).exp()


class Var(Function):
    """Variance over ``axis`` with ``correction`` (1: Bessel's, PyTorch's default)."""

    @staticmethod
    def forward(ctx, x, axis, correction=1, keepdims=False):
        mean = x.mean(axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        ctx.centered = x - mean
        count = x.size // max(math.prod(np.shape(mean)), 1) if x.ndim else 1
        ctx.dof = count - correction
        ctx.divisor = max(ctx.dof, 0)  # 0: inf or nan, as in PyTorch
        ctx.axis, ctx.keepdims = axis, keepdims
        with np.errstate(divide="ignore", invalid="ignore"):
            return (ctx.centered**2).sum(axis=axis, keepdims=keepdims) / x.dtype.type(ctx.divisor)

    @staticmethod
    def backward(ctx, grad):
        grad = _keep(grad, ctx.centered.ndim, ctx.axis, ctx.keepdims)
        if ctx.dof <= 0:
            return _no_dof_grad(ctx, grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad * (2 * ctx.centered / grad.dtype.type(ctx.divisor))

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        grad = grad.reshape(kept_shape(x.shape, ctx.axis, ctx.keepdims))
        if ctx.dof <= 0 and ctx.axis is None:  # inf or NaN, constants (as backward's)
            return grad * Variable(np.where(ctx.centered == 0, np.nan, np.inf).astype(x.dtype))
        with np.errstate(divide="ignore"):  # no degrees of freedom over dims: inf, as backward
            scale = float(np.divide(2.0, ctx.dof))
        return grad * _centered(ctx, x) * scale


def _centered(ctx: Any, x: Variable) -> Variable:
    """``x`` minus its mean over the variance's axes, recorded (a graph rule's)."""
    return x - x.mean(axis=ctx.axis, keepdims=True)


def _no_dof_grad(ctx: Any, grad: np.ndarray) -> np.ndarray:
    """The gradient of a variance without degrees of freedom, ``grad`` given for it, as
    PyTorch's var_backward: over every element, inf (NaN where x is its mean); over dims, its
    usual ``2 / dof`` formula with the unclamped, negative or zero, dof."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctx.axis is None:
            return grad * np.where(ctx.centered == 0, np.nan, np.inf).astype(grad.dtype)
        return grad * (grad.dtype.type(2) / grad.dtype.type(ctx.dof)) * ctx.centered


class Std(Function):
    """Standard deviation: ``sqrt(var)``; where it is 0 the gradient is 0 (PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis, correction=1, keepdims=False):
        out = np.sqrt(Var.forward(ctx, x, axis, correction, keepdims))
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        out = _keep(ctx.out, ctx.centered.ndim, ctx.axis, ctx.keepdims)
        grad = _keep(grad, ctx.centered.ndim, ctx.axis, ctx.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.dof <= 0:  # PyTorch: var_backward of grad / (2 std), 0 where std is 0
                return _no_dof_grad(ctx, np.where(out == 0, 0, grad / (2 * out)))
            scale = np.where(out == 0, 0, grad / (out * grad.dtype.type(ctx.divisor)))
        return scale * ctx.centered

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        if ctx.dof <= 0:
            raise BackwardError(
                "second derivatives of a std without degrees of freedom (correction >= the "
                "number of elements) are not supported"
            )
        kept = kept_shape(x.shape, ctx.axis, ctx.keepdims)
        zero = _keep(ctx.out, x.ndim, ctx.axis, ctx.keepdims) == 0  # PyTorch: 0 where std is 0
        denominator = (out.reshape(kept) * float(ctx.divisor)).masked_fill(zero, 1.0)
        return (grad.reshape(kept) / denominator).masked_fill(zero, 0.0) * _centered(ctx, x)


class Norm(Function):
    """Vector p-norm over ``axis``: p = 2 (gradient 0 at 0, as PyTorch), 1, inf, -inf, 0, or
    any other p (the same formula as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, p, axis, keepdims=False):
        magnitude = np.abs(x)
        if p == math.inf:
            out = magnitude.max(axis=axis, keepdims=keepdims)
        elif p == -math.inf:
            out = magnitude.min(axis=axis, keepdims=keepdims)
        elif p == 0:
            out = (x != 0).sum(axis=axis, keepdims=keepdims).astype(x.dtype)
        elif p == 1:
            out = magnitude.sum(axis=axis, keepdims=keepdims)
        elif p == 2:
            out = np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
        else:
            with np.errstate(divide="ignore"):  # a negative p at 0: inf, then a norm of 0
                out = (magnitude**p).sum(axis=axis, keepdims=keepdims) ** (1 / p)
        ctx.save_for_backward(x, out)
        ctx.p, ctx.axis, ctx.keepdims = p, axis, keepdims
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p = ctx.p
        grad = _keep(grad, x.ndim, ctx.axis, ctx.keepdims)
        out = _keep(out, x.ndim, ctx.axis, ctx.keepdims)
        zero = np.zeros((), dtype=grad.dtype)
        if p == 0:
            return np.zeros(x.shape, dtype=grad.dtype)
        if p == 1:
            return grad * sign(x)  # sign(0) = 0 and sign(NaN) = 0, as in PyTorch
        if math.isinf(p):  # the extreme |x| (ties split evenly, NaNs count), as in PyTorch
            mask = (np.abs(x) == out) | np.isnan(x)
            count = mask.sum(axis=ctx.axis, keepdims=True)
            return sign(x) * (grad / count) * mask
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                return x * np.where(out == 0, zero, grad / out)  # 0 at a zero norm (PyTorch)
            if p < 1:  # |x|**(p-1) is inf at 0: PyTorch takes 0 there (and where the norm is 0)
                scaled = np.where(x == 0, zero, np.sign(x) * np.abs(x) ** (p - 1))
                return scaled * grad * out ** (1 - p)
            scale = np.where(out == 0, zero, grad / out ** (p - 1))
            return np.sign(x) * np.abs(x) ** (p - 1) * scale

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, p = ctx.inputs[0], ctx.p
        kept = kept_shape(x.shape, ctx.axis, ctx.keepdims)
        if p == 1:
            return grad.reshape(kept) * sign(x._data)
        if p != 2:
            raise BackwardError(
                f"Norm: second derivatives (create_graph=True) of a {p:g}-norm are not supported; "
                "of the 1-norm and the 2-norm they are"
            )
        norm = out.reshape(kept)
        zero = norm._data == 0  # 0 at a zero norm, as the first derivative
        return x * (grad.reshape(kept) / (norm + zero) * ~zero)


# ------------------------------------------------------------------------- checked entry points
def logsumexp(x: Variable, dim: Any, keepdim: bool = False) -> Variable:
    """``x.logsumexp(dim, keepdim=False)``; integer inputs become the default float dtype."""
    axis = reduce_dims(dim, x.ndim, "logsumexp")
    if x.dtype.kind != "f":
        from gradviz.autograd.variable import get_default_dtype

        x = x.astype(get_default_dtype())
    return Logsumexp.apply(x, axis, bool(keepdim))


def variance(
    x: Variable,
    op: type[Function],
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    correction: Any = None,
) -> Variable:
    """``var``/``std`` with PyTorch's overloads: ``(dim, unbiased, keepdim)``, ``(unbiased)`` or
    ``(dim, *, correction, keepdim)``."""
    name = op.__name__.lower()
    if isinstance(dim, bool):  # x.var(False): the unbiased flag, given first
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ArgumentError(f"{name}(): give unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not isinstance(correction, int | float) or isinstance(correction, bool):
        raise OperandError(f"{name}(): correction must be a number, got {correction!r}")
    if x.dtype.kind != "f":
        raise InputError(
            f"{name}(): expected a floating point input, got dtype {x.dtype} (PyTorch's "
            f"{name} only supports floating point and complex inputs)"
        )
    axis = reduce_dims(dim, x.ndim, name)
    reduced = x.size if axis is None or not x.size else int(np.prod(np.take(x.shape, axis)))
    if reduced - correction <= 0:
        warnings.warn(  # PyTorch's words; the result is inf or nan
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=3,
        )
    return op.apply(x, axis, correction, bool(keepdim))


def norm(x: Variable, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Variable:
    """``x.norm(p=2, dim=None, keepdim=False)``: a vector norm over ``dim`` (all when None)."""
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or not isinstance(p, int | float) or isinstance(p, bool):
        raise ArgumentError(
            f"norm(): p must be a number (2, 1, inf, ...) or 'fro', got {p!r}; matrix norms "
            "such as 'nuc' are not supported"
        )
    if x.dtype.kind != "f":
        raise InputError(f"norm(): expected a floating point input, got dtype {x.dtype}")
    return Norm.apply(x, float(p), reduce_dims(dim, x.ndim, "norm"), bool(keepdim))
