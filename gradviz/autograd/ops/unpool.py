"""Max unpooling: the partial inverse of a max pool, one op per spatial rank. Each input value
goes to the place its ``indices`` (from ``max_pool(return_indices=True)``) name, in an output
of zeros; the gradient reads back from those places."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, as_array


class _MaxUnpoolNd(Function):
    """``out.flat[indices] = x`` over the last ``len(size)`` axes (each sample and channel on
    its own), zeros elsewhere; an index named twice keeps the last value written."""

    @staticmethod
    def forward(ctx, x, indices, size):
        dims = len(size)
        lead = x.shape[: x.ndim - dims]
        flat = x.reshape(*lead, -1)
        places = indices.reshape(*lead, -1)
        ctx.places, ctx.shape = places, x.shape
        out = np.zeros((*lead, int(np.prod(size))), dtype=x.dtype)
        np.put_along_axis(out, places, flat, axis=-1)
        return out.reshape(*lead, *size)

    @staticmethod
    def backward(ctx, grad):
        flat = grad.reshape(*ctx.places.shape[:-1], -1)
        return np.take_along_axis(flat, ctx.places, axis=-1).reshape(ctx.shape), None, None


def _unpool_graph(ctx, grad, out):
    """The graph rule of max unpooling: ``grad`` read back at the places (a recorded
    ``Index``, the places constants)."""
    places = ctx.places.reshape(-1, ctx.places.shape[-1])
    flat = grad.reshape(places.shape[0], -1)
    return flat[np.arange(places.shape[0])[:, None], places].reshape(ctx.shape), None, None


class MaxUnpool1d(_MaxUnpoolNd):
    """Max unpooling over (N, C, L) or (C, L)."""

    backward_graph, _rule_reads = staticmethod(_unpool_graph), ""


class MaxUnpool2d(_MaxUnpoolNd):
    """Max unpooling over (N, C, H, W) or (C, H, W)."""

    backward_graph, _rule_reads = staticmethod(_unpool_graph), ""


class MaxUnpool3d(_MaxUnpoolNd):
    """Max unpooling over (N, C, D, H, W) or (C, D, H, W)."""

    backward_graph, _rule_reads = staticmethod(_unpool_graph), ""


_OPS = {1: MaxUnpool1d, 2: MaxUnpool2d, 3: MaxUnpool3d}


def output_size(
    layer: str, x_shape: tuple[int, ...], kernel, stride, padding, size: Any
) -> tuple[int, ...]:
    """The spatial output size: ``(in - 1) * stride + kernel - 2 * padding`` per axis, or the
    given ``size`` (with or without the N and C dims) when within a stride of that."""
    dims = len(kernel)
    default = tuple(
        (n - 1) * s + k - 2 * p
        for n, k, s, p in zip(x_shape[-dims:], kernel, stride, padding, strict=True)
    )
    if size is None:
        wanted = default
    else:
        wanted = tuple(int(n) for n in size)
        if len(wanted) == dims + 2:
            wanted = wanted[2:]
        if len(wanted) != dims:
            raise ArgumentError(
                f"{layer}: output_size should be a sequence containing {dims} or {dims + 2} "
                f"elements, but it has a length of '{len(wanted)}'"
            )
        for d, (n, m, s) in enumerate(zip(wanted, default, stride, strict=True)):
            if not m - s < n < m + s:
                raise ArgumentError(
                    f'{layer}: invalid output_size "{list(wanted)}" (dim {d} must be between '
                    f"{m - s} and {m + s})"
                )
    if any(n <= 0 for n in wanted):
        raise InputError(f"{layer}: the output size {wanted} must be positive (from {x_shape})")
    return wanted


def max_unpool(
    layer: str, dims: int, input: Any, indices: Any, kernel_size, stride, padding, size
) -> Variable:
    """The checked unpool over the last ``dims`` axes; ``layer`` names it in errors."""
    x = as_variable(input, layer)
    kernel = conv.tuple_of(kernel_size, dims, layer, "kernel_size")
    strides = kernel if stride is None else conv.tuple_of(stride, dims, layer, "stride")
    pads = conv.tuple_of(padding, dims, layer, "padding", low=0)
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{layer}: Expected {dims + 1}D or {dims + 2}D input, got shape {x.shape}")
    places = as_array(indices)
    if places.dtype.kind not in "iu":
        raise InputError(f"{layer}: expected indices of dtype int64, got {places.dtype}")
    if places.shape != x.shape:
        raise ShapeError(
            f"{layer}: Expected shape of indices to be same as that of the input tensor "
            f"({x.shape}) but got indices tensor with shape: {places.shape}"
        )
    sizes = output_size(layer, x.shape, kernel, strides, pads, size)
    total = int(np.prod(sizes))
    if places.size and (places.min() < 0 or places.max() >= total):
        bad = int(places.min() if places.min() < 0 else places.max())
        raise InputError(
            f"{layer}: Found an invalid max index: {bad} (output volumes are of size "
            f"{'x'.join(map(str, sizes))})"
        )
    if not (isinstance(indices, Variable) and places.dtype == np.int64):
        indices = places.astype(np.int64)  # (a Variable as it is: a trace draws its source)
    return _OPS[dims].apply(x, indices, sizes)
