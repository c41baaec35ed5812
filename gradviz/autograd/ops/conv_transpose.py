"""Transposed convolution: the adjoint of ``Conv1d/2d/3d``, on the same im2col and col2im code.

A transposed convolution spreads each input element over a kernel-sized window of the output:
per chunk of samples one batched ``matmul`` gives every window's share (``weight.T @ x``), and
``conv.fold`` adds the shares into the output tap by tap (col2im, one strided ``+=`` per kernel
tap). Its input gradient is the convolution of the output gradient with the same weight
(``conv``'s forward) and its weight gradient is the convolution's weight gradient with the
roles of input and output swapped. One code for 1, 2 or 3 spatial dims.

Arguments arrive checked by ``functional_resample``: stride, dilation and output padding as
tuples, padding as one int per spatial dim (each side).

For ``create_graph=True`` the gradients are recorded convolutions (``backward_graph``): the
input's the convolution of the output gradient with the weight, the weight's
``conv.weight_grad`` with the roles of input and output swapped. ``input_grad`` is also a
convolution's input gradient, a transposed convolution.
"""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops import conv
from gradviz.autograd.ops.conv import ConstantPadNd
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.variable import Variable


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


def _transposed_graph(ctx, grad, out):
    """The graph rule of ``ConvTranspose1d/2d/3d``: the output gradient over the full size
    (the padding given back, the output padding no window reaches cut), convolved with the
    weight for the input's gradient, with the input for the weight's."""
    x, weight = ctx.inputs[:2]
    stride, padding, output_padding, groups, dilation = ctx.options
    needs = ctx.needs_input_grad
    if ctx.one_sample:
        x, grad = x.unsqueeze(0), grad.unsqueeze(0)
    grad_x = grad_w = grad_b = None
    if len(needs) > 2 and needs[2]:
        grad_b = grad.sum(dim=(0, *range(2, grad.ndim)))
    cut = [max(o - p, 0) for o, p in zip(output_padding, padding, strict=True)]
    if any(cut):
        grad = grad[
            (
                slice(None),
                slice(None),
                *(slice(0, n - c) for n, c in zip(grad.shape[2:], cut, strict=True)),
            )
        ]
    pairs = tuple((p, max(p - o, 0)) for p, o in zip(padding, output_padding, strict=True))
    if any(a or b for a, b in pairs):
        grad = ConstantPadNd.apply(grad, ((0, 0), (0, 0), *pairs))
    if needs[0]:
        k = len(stride)
        grad_x = conv.CONV[k].apply(grad, weight, None, stride, ((0, 0),) * k, dilation, groups)
        grad_x = grad_x.squeeze(0) if ctx.one_sample else grad_x
    if needs[1]:
        grad_w = conv.weight_grad(grad, x, weight.shape[2:], stride, dilation, groups)
    return grad_x, grad_w, grad_b


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) with weight (C_in, C_out/g, K)."""

    backward_graph = staticmethod(_transposed_graph)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution of (N, C_in, H, W) or (C_in, H, W) with weight (C_in,
    C_out/g, KH, KW)."""

    backward_graph = staticmethod(_transposed_graph)


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with weight (C_in,
    C_out/g, KD, KH, KW)."""

    backward_graph = staticmethod(_transposed_graph)


TRANSPOSED = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}


def input_grad(grad: Variable, weight: Variable, size, padding, stride, dilation, groups):
    """The input gradient (N, C, *size) of a convolution with ``weight`` and ``padding`` (a
    (before, after) pair per spatial dim) from its output gradient ``grad``, as recorded ops:
    the transposed convolution, with the output padding that gives back the padded size and
    the padding taken off (a crop when it is uneven)."""
    spans = conv.spans(weight.shape[2:], dilation)
    places = zip(size, padding, grad.shape[2:], stride, spans, strict=True)
    extra = tuple(n + a + b - ((o - 1) * s + span) for n, (a, b), o, s, span in places)
    even = tuple(min(pair) for pair in padding)
    k = len(size)
    x = TRANSPOSED[k].apply(grad, weight, None, stride, even, extra, groups, dilation)
    if tuple(x.shape[2:]) != tuple(size):  # uneven padding ("same" of an even kernel)
        starts = [a - e for (a, _), e in zip(padding, even, strict=True)]
        x = x[
            (
                slice(None),
                slice(None),
                *(slice(s, s + n) for s, n in zip(starts, size, strict=True)),
            )
        ]
    return x
