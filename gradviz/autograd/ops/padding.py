"""Padding by reflecting, replicating or wrapping the border: one gather op per mode.

``functional.pad`` checks the common arguments (lengths, types, sizes left) and hands the
other modes here, where PyTorch's limits per mode are checked and the indices each padded axis
reads are made once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.variable import Variable


class _GatherPad(Function):
    """Pad by reading the input at ``indices``: (axis, source index per output position) for
    each padded axis. The gradient adds each output element back to the place it was read
    from (a border element read twice gets both)."""

    @staticmethod
    def forward(ctx, x, indices):
        ctx.shape, ctx.indices = x.shape, indices
        for axis, index in indices:
            x = np.take(x, index, axis=axis)
        return x

    @staticmethod
    def backward(ctx, grad):
        for axis, index in reversed(ctx.indices):
            shape = (*grad.shape[:axis], ctx.shape[axis], *grad.shape[axis + 1 :])
            out = np.zeros(shape, grad.dtype)
            np.add.at(np.moveaxis(out, axis, 0), index, np.moveaxis(grad, axis, 0))
            grad = out
        return grad, None


def _pad_graph(ctx: Any, grad: Variable, out: Variable) -> tuple[Variable, None]:
    """The graph rule of the padding ops: each output element added back (a recorded
    ``IndexPut``) to the place it was read from."""
    for axis, index in reversed(ctx.indices):
        shape = (*grad.shape[:axis], ctx.shape[axis], *grad.shape[axis + 1 :])
        grad = put_in_zeros(shape, (slice(None),) * axis + (index,), grad)
    return grad, None


class ReflectionPadNd(_GatherPad):
    """``pad(mode="reflect")``: the border mirrored, the edge element not repeated."""

    backward_graph = staticmethod(_pad_graph)


class ReplicationPadNd(_GatherPad):
    """``pad(mode="replicate")``: the edge element repeated."""

    backward_graph = staticmethod(_pad_graph)


class CircularPadNd(_GatherPad):
    """``pad(mode="circular")``: the other end wrapped around."""

    backward_graph = staticmethod(_pad_graph)


def pad_indices(mode: str, size: int, before: int, after: int) -> np.ndarray:
    """The source index of each output position along one axis padded by ``before`` and
    ``after`` elements (negative amounts crop) in ``mode``."""
    position = np.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1)
        position = np.abs(position) % period if period else np.zeros_like(position)
        return np.where(position < size, position, period - position)
    if mode == "replicate":
        return np.clip(position, 0, size - 1)
    # circular: PyTorch crops first, then wraps around what is left
    start = max(-before, 0)
    kept = size - start - max(-after, 0)
    return np.arange(-max(before, 0), kept + max(after, 0)) % max(kept, 1) + start


PAD_OPS = {
    "reflect": ReflectionPadNd,
    "replicate": ReplicationPadNd,
    "circular": CircularPadNd,
}


def pad_by_mode(input: Variable, pad, mode: str, value, pairs) -> Variable:
    """Reflect, replicate or circular padding, checked as PyTorch checks it."""
    if value is not None and value != 0:
        raise InputError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
    dims = len(pad) // 2
    if not 1 <= dims <= 3 or input.ndim not in (dims + 1, dims + 2):
        raise InputError(  # (PyTorch's NotImplementedError, a RuntimeError)
            f"pad: Padding size {len(pad)} is not supported for {input.ndim}D input tensor: "
            f"mode={mode!r} pads the last 1, 2 or 3 dims of an input with one dim (unbatched) or "
            "two dims (batched) more, e.g. (left, right, top, bottom) for (N, C, H, W)"
        )
    axes = range(input.ndim - dims, input.ndim)
    left = [input.shape[axis] + sum(pairs[axis]) for axis in axes]
    if min(left) < 0 or (mode != "circular" and max(left) < 1):  # one empty dim is fine
        raise InputError(
            f"pad: mode={mode!r}: input {list(input.shape)} is too small: padding "
            f"{tuple(pad)} leaves sizes {left} of its last {dims} dims"
        )
    indices = []
    for axis in axes:
        size, (a, b) = input.shape[axis], pairs[axis]
        _check_pad_by_mode(mode, input.shape, axis, a, b)
        if a or b:
            indices.append((axis, pad_indices(mode, size, a, b)))
    return PAD_OPS[mode].apply(input, tuple(indices))


def _check_pad_by_mode(mode: str, shape, axis: int, a: int, b: int) -> None:
    """PyTorch's limits: reflect pads less than the size, circular at most the size left
    after cropping (once around)."""
    size = shape[axis]
    if mode == "circular" and (not size or max(a, b) > size + min(a, 0) + min(b, 0)):
        raise InputError(
            f"pad: Padding value causes wrapping around more than once: padding ({a}, {b}) at "
            f"dimension {axis} of input {list(shape)} (mode='circular' pads at most the "
            f"{size + min(a, 0) + min(b, 0)} elements left after cropping)"
        )
    if not size or (mode == "reflect" and max(a, b) >= size):
        raise InputError(
            f"pad: mode={mode!r}: Padding size should be less than the corresponding input "
            f"dimension, but got: padding ({a}, {b}) at dimension {axis} of input {list(shape)}"
        )
