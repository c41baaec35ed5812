"""Batch and layer normalisation, each one op with its fused analytic backward.

``BatchNorm`` normalises (N, C, *) over every axis but the channels, ``LayerNorm`` over the
trailing ``normalized_shape`` axes. Both save the normalised input ``xhat`` and ``1/std``; the
input gradient is the standard fused formula

    dx = invstd / M * (M * g - sum(g) - xhat * sum(g * xhat)),   g = grad * weight

over the M normalised elements (just ``g * invstd`` in evaluation mode, where the statistics
are constants). ``backward_graph`` (``create_graph=True``) computes the same with recorded ops,
the statistics recomputed from the input Variable so that they are differentiated too.
``functional`` checks shapes and names the layer in its errors; running statistics are updated
there, not here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.ops.elementwise import row_sum
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.ops.scratch import ones, scratch
from gradviz.autograd.variable import Variable, as_array


def axes_sum(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``x.sum(axes, keepdims=True)``, over the last axis alone by a matrix product."""
    return row_sum(x, -1) if axes == (x.ndim - 1,) else x.sum(axis=axes, keepdims=True)


def _fused_input_grad(g, xhat, invstd, axes, dot=None, out=None):
    """``dot`` is ``sum(g * xhat)`` over ``axes`` when the caller has it; ``out`` a buffer of
    the result's shape and dtype it may write into."""
    m = int(np.prod([xhat.shape[a] for a in axes]))
    if dot is None:
        dot = axes_sum(g * xhat, axes)
    out = np.multiply(xhat, dot / m, out=out)
    out += axes_sum(g, axes) / m
    np.subtract(g, out, out=out)
    out *= invstd
    return out


def _spare(buffer, like):
    """``buffer`` when it can take a result like ``like`` (same shape and dtype), else None."""
    ok = buffer is not None and buffer.shape == like.shape and buffer.dtype == like.dtype
    return buffer if ok else None


def _normalize(x, axes, eps, mean=None, var=None, scratch=None):
    """``(xhat, invstd)``: ``x`` normalised over ``axes`` with the given statistics, or its own
    mean and biased variance (one pass each, no second mean inside ``var``); ``scratch``, a
    buffer of ``x``'s shape and dtype, takes the squares."""
    m = int(np.prod([x.shape[a] for a in axes]))
    if mean is None:
        mean = axes_sum(x, axes) / m
    xhat = x - mean
    if var is None:
        var = axes_sum(np.square(xhat, out=_spare(scratch, xhat)), axes) / m
    invstd = 1.0 / np.sqrt(var + eps)
    xhat *= invstd
    return xhat, invstd


class BatchNorm(Function):
    """Normalise (N, C, *) per channel: with the batch's mean and biased variance when
    ``training``, else with ``running_mean`` and ``running_var``; then ``* weight + bias``."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, eps):
        same_float_dtype("BatchNorm", x, weight)
        axes = (0, *range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if not x.size:  # an empty batch: an empty output, as PyTorch's
            xhat, invstd = x.copy(), np.ones((1,) * x.ndim, x.dtype)
        elif training:
            xhat, invstd = _normalize(x, axes, eps)
        else:
            mean = running_mean.astype(x.dtype, copy=False).reshape(shape)
            var = running_var.astype(x.dtype, copy=False).reshape(shape)
            xhat, invstd = _normalize(x, axes, eps, mean, var)
            ctx.statistics = mean.copy(), invstd  # (constants: the graph rule reads them)
        out = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.axes, ctx.shape, ctx.training = axes, shape, training
        return out

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        axes, needs = ctx.axes, ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[0]:
            g = grad * weight.reshape(ctx.shape) if weight is not None else grad
            grad_x = _fused_input_grad(g, xhat, invstd, axes) if ctx.training else g * invstd
        if needs[1]:
            grad_w = (grad * xhat).sum(axis=axes)
        if needs[2]:
            grad_b = grad.sum(axis=axes)
        return grad_x, grad_w, grad_b, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, weight = ctx.inputs[:2]
        axes, needs = ctx.axes, ctx.needs_input_grad
        if ctx.training or not x._data.size:  # (an empty batch has no statistics)
            xhat, invstd = _normalized(x, axes, ctx.inputs[6])
        else:
            mean, invstd = ctx.statistics
            xhat = (x - mean) * invstd
        grad_x = grad_w = None
        if needs[0]:
            g = grad * weight.reshape(ctx.shape) if weight is not None else grad
            grad_x = _input_grad(g, xhat, invstd, axes) if ctx.training else g * invstd
        if needs[1]:
            grad_w = (grad * xhat).sum(dim=axes)
        grad_b = grad.sum(dim=axes) if needs[2] else None
        return grad_x, grad_w, grad_b, None, None, None, None


class LayerNorm(Function):
    """Normalise over the last ``ndim`` axes with their mean and biased variance, then
    ``* weight + bias`` (both of the normalised shape).

    Works on the input as (rows, M) with the M normalised elements of a row contiguous: the
    sums over a row are matrix-vector products (BLAS, not NumPy's reduction of short rows),
    the per-row statistics are 1-d, and the temporaries live in reused scratch arrays."""

    @staticmethod
    def forward(ctx, x, weight, bias, ndim, eps):
        same_float_dtype("LayerNorm", x, weight)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        lead = x.shape[: x.ndim - ndim]
        m = math.prod(x.shape[x.ndim - ndim :])
        rows = x.reshape(math.prod(lead), m)
        unit = ones(m, x.dtype)
        mean = rows @ unit
        mean /= max(m, 1)  # no element (a 0-size normalized shape): an empty output
        xhat = np.subtract(rows, mean[:, None])
        var = np.square(xhat, out=scratch(xhat.shape, xhat.dtype)) @ unit
        var /= max(m, 1)
        var += eps
        invstd = np.reciprocal(np.sqrt(var, out=var), out=var)
        xhat *= invstd[:, None]
        out = np.multiply(xhat, weight.reshape(-1)) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(-1)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.shape, ctx.lead = x.shape, lead
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        rows, m = xhat.shape
        g = grad.reshape(xhat.shape)
        normalized = ctx.shape[len(ctx.lead) :]
        column = ones(rows, g.dtype)  # sums over the rows: one matrix-vector product each
        w = weight.reshape(-1) if weight is not None else ones(m, g.dtype)
        scaled = np.multiply(g, xhat, out=scratch(xhat.shape, np.result_type(g, xhat)))
        grad_w = (column @ scaled).reshape(normalized) if needs[1] else None
        grad_x = None
        if needs[0]:  # invstd * (g*w - sum(g*w) / m - xhat * sum(g*w*xhat) / m), per row
            dot = scaled @ w
            dot /= m
            total = g @ w
            total /= m
            grad_x = np.multiply(g, w)
            grad_x -= np.multiply(xhat, dot[:, None], out=scaled)
            grad_x -= total[:, None]
            grad_x *= invstd[:, None]
            grad_x = grad_x.reshape(ctx.shape)
        grad_b = (column @ g).reshape(normalized) if needs[2] else None
        return grad_x, grad_w, grad_b, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, weight, _, ndim, eps = ctx.inputs
        axes = tuple(range(x.ndim - ndim, x.ndim))
        needs = ctx.needs_input_grad
        xhat, invstd = _normalized(x, axes, eps)
        grad_x = None
        if needs[0]:
            grad_x = _input_grad(grad * weight if weight is not None else grad, xhat, invstd, axes)
        grad_w = grad * xhat if needs[1] else None  # (summed over the rows by the pass)
        return grad_x, grad_w, (grad if needs[2] else None), None, None


def _normalized(x: Variable, axes: tuple[int, ...], eps: float) -> tuple[Variable, Variable]:
    """``(xhat, invstd)`` of ``x`` over ``axes``, as recorded ops (biased variance)."""
    centered = x - x.mean(dim=axes, keepdim=True)
    invstd = ((centered * centered).mean(dim=axes, keepdim=True) + eps).rsqrt()
    return centered * invstd, invstd


def _input_grad(g: Variable, xhat: Variable, invstd: Variable, axes: tuple[int, ...]) -> Variable:
    """The fused input gradient in recorded ops: ``invstd * (g - mean(g) - xhat *
    mean(g * xhat))`` over ``axes``."""
    means = g.mean(dim=axes, keepdim=True) + xhat * (g * xhat).mean(dim=axes, keepdim=True)
    return invstd * (g - means)


def _size(value) -> int | None:
    return None if value is None else int(np.size(as_array(value)))


def check_batch_norm(layer, shape, running_mean, running_var, weight, bias, training) -> None:
    """PyTorch's checks of ``batch_norm``'s arguments, in PyTorch's words, naming ``layer``."""
    if len(shape) < 2:
        raise ShapeError(
            f"{layer}: expected an input of at least 2 dims (N, C, *), got shape {tuple(shape)}"
        )
    channels = shape[1]
    for name, value in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        size = _size(value)
        if size is not None and size != channels:
            raise InputError(
                f"{layer}: {name} should contain {channels} elements not {size} (input of "
                f"shape {tuple(shape)} has {channels} channels on dim 1)"
            )
    if not training and (running_mean is None or running_var is None):
        raise InputError(f"{layer}: running_mean must be defined in evaluation mode")
    if training and int(np.prod(shape)) == channels:
        raise ArgumentError(
            f"{layer}: Expected more than 1 value per channel when training, got input size "
            f"{tuple(shape)}"
        )


def update_running_stats(x: np.ndarray, running_mean, running_var, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch`` in place, under ``no_grad``,
    with the batch's mean and unbiased variance (PyTorch's update)."""
    axes = (0, *range(2, x.ndim))
    with no_grad():  # one write each (the tracer sees one in-place update per statistic)
        if running_mean is not None:
            batch = x.mean(axis=axes)
            running_mean.copy_(momentum * batch + (1 - momentum) * running_mean._data)
        if running_var is not None:
            batch = x.var(axis=axes, ddof=1)
            running_var.copy_(momentum * batch + (1 - momentum) * running_var._data)


def normalized_shape_of(layer, normalized_shape) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints) as a tuple."""
    if isinstance(normalized_shape, int | np.integer) and not isinstance(normalized_shape, bool):
        return (int(normalized_shape),)
    try:
        if isinstance(normalized_shape, str):
            raise TypeError
        dims = tuple(int(d) for d in normalized_shape)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"{layer}: normalized_shape must be an int or a sequence of ints, got "
            f"{normalized_shape!r}"
        ) from None
    if any(d < 0 for d in dims):
        raise InputError(f"{layer}: normalized_shape must not be negative, got {list(dims)}")
    return dims


def check_layer_norm(layer, shape, normalized, weight, bias) -> None:
    """PyTorch's checks of ``layer_norm``'s arguments, in PyTorch's words, naming ``layer``."""
    expected = list(normalized)
    if not normalized:
        raise InputError(
            f"{layer}: Expected normalized_shape to be at least 1-dimensional, i.e., containing "
            "at least one element, but got normalized_shape = []"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(np.shape(as_array(value))) != normalized:
            raise InputError(
                f"{layer}: Expected {name} to be of same shape as normalized_shape, but got "
                f"{name} of shape {list(np.shape(as_array(value)))} and normalized_shape = "
                f"{expected}"
            )
    if tuple(shape[len(shape) - len(normalized) :]) != normalized:
        raise InputError(
            f"{layer}: Given normalized_shape={expected}, expected input with shape "
            f"[*, {', '.join(map(str, expected))}], but got input of size{list(shape)}"
        )


def check_floats(layer: str, **numbers_given: Any) -> None:
    """Raise ``OperandError`` (a TypeError, as PyTorch's) for a setting that is not a number
    (else NumPy's TypeError from deep inside the op)."""
    for name, number in numbers_given.items():
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise OperandError(
                f"{layer}: argument '{name}' must be float, not {type(number).__name__}"
            )
