"""1-d pooling (the 2-d pools of ``conv`` on a unit height axis) and adaptive max pooling.

Adaptive max pooling gathers every bin at once: PyTorch's bins [floor(i*H/OH),
ceil((i+1)*H/OH)) differ in length by at most one or two, so each is read as the longest
bin's number of indices, the last index repeated (a repeat never changes a maximum nor the
place the gradient goes). One fancy-index gather, one ``argmax`` and, backward, one
``bincount`` scatter: no loop over bins or positions.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.conv_transpose import UnitHeight


class MaxPool1d(UnitHeight, Function):
    """Max over each window of (N, C, L) or (C, L) (``MaxPool2d``'s rules and ties)."""

    planar = conv.MaxPool2d


class AvgPool1d(UnitHeight, Function):
    """Mean over each window of (N, C, L) or (C, L) (``AvgPool2d``'s rules)."""

    planar = conv.AvgPool2d


class AdaptiveAvgPool1d(UnitHeight, Function):
    """Mean over PyTorch's adaptive bins of (N, C, L) or (C, L)."""

    planar = conv.AdaptiveAvgPool2d


def _bin_taps(size: int, out: int) -> np.ndarray:
    """(out, K) indices of the elements of each adaptive bin, the last one repeated to fill the
    longest bin's K."""
    i = np.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    longest = int((end - start).max()) if out else 0
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


def adaptive_max(x: np.ndarray, output_size) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each adaptive bin of (..., H, W) and its flat index into H * W (int64):
    the first maximum in row-major order (PyTorch's on ties), or the last NaN (a NaN counts as
    the maximum, as in PyTorch's kernel)."""
    height, width = x.shape[-2:]
    rows, cols = _bin_taps(height, output_size[0]), _bin_taps(width, output_size[1])
    places = (rows[:, None, :, None] * width + cols[None, :, None, :]).reshape(
        len(rows), len(cols), rows.shape[1] * cols.shape[1]
    )  # (OH, OW, KH*KW): where each tap of each bin reads
    flat = x.reshape(*x.shape[:-2], height * width)[..., places]
    if not flat.size:  # an empty batch or output
        return np.zeros(flat.shape[:-1], x.dtype), np.zeros(flat.shape[:-1], np.int64)
    tap = np.argmax(flat, axis=-1)
    nan = np.isnan(flat)
    if nan.any():
        last = flat.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        tap = np.where(nan.any(axis=-1), last, tap)
    out = np.take_along_axis(flat, tap[..., None], axis=-1)[..., 0]
    index = np.take_along_axis(np.broadcast_to(places, flat.shape), tap[..., None], axis=-1)
    return out, index[..., 0].astype(np.int64)


class AdaptiveMaxPool2d(Function):
    """Max over PyTorch's adaptive bins of (N, C, H, W) or (C, H, W); the gradient goes to the
    place of each maximum."""

    @staticmethod
    def forward(ctx, x, output_size):
        out, ctx.index = adaptive_max(x, output_size)
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        *batch, height, width = ctx.shape
        planes = int(np.prod(batch, dtype=np.int64))
        cells = int(np.prod(grad.shape[-2:], dtype=np.int64))
        index = ctx.index.reshape(planes, cells)
        offsets = np.arange(planes)[:, None] * (height * width)
        full = np.bincount(
            (index + offsets).ravel(), grad.reshape(planes, cells).ravel(), planes * height * width
        )
        return full.astype(grad.dtype, copy=False).reshape(ctx.shape)


class AdaptiveMaxPool1d(UnitHeight, Function):
    """Max over PyTorch's adaptive bins of (N, C, L) or (C, L)."""

    planar = AdaptiveMaxPool2d
