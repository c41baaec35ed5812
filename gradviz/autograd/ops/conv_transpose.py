"""Transposed convolution: the adjoint of ``Conv1d/2d/3d``, on the same im2col and col2im code.

A transposed convolution spreads each input element over a kernel-sized window of the output:
per chunk of samples one batched ``matmul`` gives every window's share (``weight.T @ x``), and
``conv.fold`` adds the shares into the output tap by tap (col2im, one strided ``+=`` per kernel
tap). Its input gradient is the convolution of the output gradient with the same weight
(``conv``'s forward) and its weight gradient is the convolution's weight gradient with the
roles of input and output swapped. One code for 1, 2 or 3 spatial dims.

Arguments arrive checked by ``functional_resample``: stride, dilation and output padding as
tuples, padding as one int per spatial dim (each side).
"""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.promotion import same_float_dtype


def _transposed(x: np.ndarray, weight: np.ndarray, out: np.ndarray, stride, dilation, groups):
    """Add the transposed convolution of (N, C_in, *spatial) ``x`` with ``weight`` (C_in,
    C_out/G, *kernel) into ``out`` (N, C_out, *full size*), chunk of samples by chunk."""
    c, og, *kernel = weight.shape
    n, size = x.shape[0], x.shape[2:]
    g = x.reshape(n, groups, c // groups, math.prod(size))
    taps = math.prod(kernel)
    shares_of = weight.reshape(groups, c // groups, og * taps).transpose(0, 2, 1)
    step = max(1, conv._CHUNK_BYTES // max(1, out.itemsize * og * groups * taps * math.prod(size)))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        shares = np.matmul(shares_of, g[rows]).reshape(-1, og * groups, *kernel, *size)
        conv.fold(conv.taps_first(shares), out.shape[2:], stride, dilation, out[rows])


class _ConvTransposeNd(Function):
    """Transposed convolution of (N, C_in, *spatial) or (C_in, *spatial) with weight (C_in,
    C_out/g, *kernel): the gradient of a convolution with respect to its input."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, groups, dilation):
        same_float_dtype(f"ConvTranspose{weight.ndim - 2}d", x, weight)
        x = conv.batch(ctx, x, weight.ndim)
        full = tuple(  # every place a window reaches, then the output padding
            (n - 1) * s + span + op
            for n, s, span, op in zip(
                x.shape[2:],
                stride,
                conv.spans(weight.shape[2:], dilation),
                output_padding,
                strict=True,
            )
        )
        dtype = np.result_type(x.dtype, weight.dtype)
        out = np.zeros((x.shape[0], weight.shape[1] * groups, *full), dtype)
        _transposed(x, weight, out, stride, dilation, groups)
        out = out[conv.unpad_index(out.shape, tuple((p, p) for p in padding))]
        if bias is not None:
            out += bias.reshape(-1, *(1,) * len(full))
        ctx.save_for_backward(x, weight)
        ctx.options = (stride, padding, output_padding, groups, dilation)
        return conv.unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, output_padding, groups, dilation = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        # the output's gradient over the full size, less the output padding no window reaches
        kept = zip(grad.shape[2:], output_padding, padding, strict=True)
        crop = (slice(None), slice(None), *(slice(0, n - max(o - p, 0)) for n, o, p in kept))
        pairs = tuple((p, max(p - o, 0)) for p, o in zip(padding, output_padding, strict=True))
        full = conv.pad(grad[crop], pairs)
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_x = conv.conv_forward(full, weight, stride, dilation, groups)
        if needs[1]:
            n, c = x.shape[:2]
            g = x.reshape(n, groups, c // groups, math.prod(x.shape[2:]))
            grad_w = conv.conv_backward(g, full, weight, stride, dilation, groups, (False, True))
            grad_w = grad_w[1]
        if len(needs) > 2 and needs[2]:
            grad_b = conv.channel_sums(grad)
        return conv.unbatch(ctx, grad_x), grad_w, grad_b


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) with weight (C_in, C_out/g, K)."""


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution of (N, C_in, H, W) or (C_in, H, W) with weight (C_in,
    C_out/g, KH, KW)."""


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with weight (C_in,
    C_out/g, KD, KH, KW)."""
