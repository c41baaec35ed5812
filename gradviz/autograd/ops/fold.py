"""im2col and col2im (``unfold`` and ``fold``) and the gated linear unit, one node each.

``Im2Col`` lays every sliding block of a (N, C, H, W) input out as a column of (N, C*KH*KW, L);
``Col2Im`` adds columns back into an image, summing where blocks overlap. Each is the other's
gradient, and both run on conv's window views: the gather is one strided copy, the scatter one
strided ``+=`` per kernel tap (never a loop over positions).

Spatial arguments arrive as conv's do: tuples of two ints, and padding as (before, after) pairs.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.activations import _sigmoid
from gradviz.autograd.ops.conv import fold, out_size, pad, sliding_windows, unpad_index
from gradviz.autograd.ops.promotion import require_floating
from gradviz.autograd.ops.shape import Cat


def im2col(x: np.ndarray, kernel, dilation, padding, stride) -> np.ndarray:
    """The blocks of (N, C, H, W) ``x`` as (N, C*KH*KW, L), channel-major, then kernel row and
    column; blocks in row-major order of their position."""
    win = sliding_windows(pad(x, padding), kernel, stride, dilation)  # (N, C, OH, OW, KH, KW)
    n, c, oh, ow, kh, kw = win.shape
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def col2im(cols: np.ndarray, size, kernel, dilation, padding, stride) -> np.ndarray:
    """Add the columns (N, C*KH*KW, L) of blocks back into an (N, C, *size) image."""
    padded = tuple(n + a + b for n, (a, b) in zip(size, padding, strict=True))
    oh, ow = out_size(padded, kernel, stride, dilation)
    n, kh, kw = cols.shape[0], kernel[0], kernel[1]
    shares = cols.reshape(n, cols.shape[1] // (kh * kw), kh, kw, oh, ow)
    out = fold(shares.transpose(2, 3, 0, 1, 4, 5), padded, stride, dilation)
    return out[unpad_index(out.shape, padding)]


class Im2Col(Function):
    """``unfold``: the sliding blocks of an image as columns; a 3-d input is one image."""

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        require_floating(x, "im2col")
        ctx.options = (kernel, dilation, padding, stride)
        ctx.size, ctx.single = x.shape[-2:], x.ndim == 3
        out = im2col(x[None] if ctx.single else x, *ctx.options)
        return out[0] if ctx.single else out

    @staticmethod
    def backward(ctx, grad):
        out = col2im(grad[None] if ctx.single else grad, ctx.size, *ctx.options)
        return (out[0] if ctx.single else out), None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Col2Im.apply(grad, ctx.size, *ctx.options), None, None, None, None


class Col2Im(Function):
    """``fold``: columns of blocks added back into an image (overlaps summed); a 2-d input is
    one image's columns."""

    @staticmethod
    def forward(ctx, cols, size, kernel, dilation, padding, stride):
        require_floating(cols, "col2im")
        ctx.options = (kernel, dilation, padding, stride)
        ctx.single = cols.ndim == 2
        out = col2im(cols[None] if ctx.single else cols, size, *ctx.options)
        return out[0] if ctx.single else out

    @staticmethod
    def backward(ctx, grad):
        out = im2col(grad[None] if ctx.single else grad, *ctx.options)
        return (out[0] if ctx.single else out), None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Im2Col.apply(grad, *ctx.options), None, None, None, None, None


class Glu(Function):
    """The gated linear unit: the first half of ``axis`` times the sigmoid of the second."""

    @staticmethod
    def forward(ctx, x, axis):
        require_floating(x, "glu")
        a, b = np.split(x, 2, axis=axis)
        gate = _sigmoid(b)
        ctx.saved_tensors, ctx.axis = (a, gate), axis
        return a * gate

    @staticmethod
    def backward(ctx, grad):
        a, gate = ctx.saved_tensors
        share = grad * gate
        return np.concatenate([share, share * a * (1 - gate)], axis=ctx.axis), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs[0].chunk(2, ctx.axis)
        gate = b.sigmoid()
        share = grad * gate
        return Cat.apply(ctx.axis, share, share * a * (1 - gate)), None
