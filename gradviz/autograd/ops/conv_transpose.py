"""Transposed convolution: the adjoint of ``Conv2d``, on the same im2col and col2im code.

A transposed convolution spreads each input pixel over a kernel-sized window of the output:
per chunk of samples one batched ``matmul`` gives every window's share (``weight.T @ x``), and
``conv._fold`` adds the shares into the output tap by tap (col2im, kh*kw strided ``+=``). Its
input gradient is the convolution of the output gradient with the same weight (``conv``'s
forward) and its weight gradient is the convolution's weight gradient with the roles of input
and output swapped. The 1-d ops are the 2-d ones on a unit height axis, one node each.

Arguments arrive checked by ``functional_resample``: stride, dilation and output padding as
tuples, padding as one int per spatial dim (each side).
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops import conv


class UnitHeight:
    """A 1-d op run as its 2-d twin ``planar`` on a unit height axis (recorded as one node):
    (N, C, L) or (C, L) become (N, C, 1, L) or (C, 1, L), and so do the outputs, the gradients
    and, with ``lift_weight``, the weight that follows the input."""

    planar: type[Function]
    lift_weight = False

    @classmethod
    def forward(cls, ctx, x, *args):
        if cls.lift_weight:
            args = (args[0][..., None, :], *args[1:])
        return cls.planar.forward(ctx, x[..., None, :], *args)[..., 0, :]

    @classmethod
    def backward(cls, ctx, grad):
        grads = cls.planar.backward(ctx, grad[..., None, :])
        grads = grads if isinstance(grads, tuple) else (grads,)
        lifted = 2 if cls.lift_weight else 1
        return tuple(
            None if g is None else g[..., 0, :] if i < lifted else g for i, g in enumerate(grads)
        )


def _transposed(x: np.ndarray, weight: np.ndarray, out: np.ndarray, stride, dilation, groups):
    """Add the transposed convolution of (N, C_in, H, W) ``x`` with ``weight`` (C_in,
    C_out/G, KH, KW) into ``out`` (N, C_out, *full size*), chunk of samples by chunk."""
    c, og, kh, kw = weight.shape
    n, _, h, w = x.shape
    g = x.reshape(n, groups, c // groups, h * w)
    shares_of = weight.reshape(groups, c // groups, og * kh * kw).transpose(0, 2, 1)
    step = max(1, conv._CHUNK_BYTES // max(1, out.itemsize * og * groups * kh * kw * h * w))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        shares = np.matmul(shares_of, g[rows]).reshape(-1, og * groups, kh, kw, h, w)
        conv._fold(shares.transpose(2, 3, 0, 1, 4, 5), out.shape[2:], stride, dilation, out[rows])


class ConvTranspose2d(Function):
    """2-d transposed convolution of (N, C_in, H, W) or (C_in, H, W) with weight (C_in,
    C_out/g, KH, KW): the gradient of a ``Conv2d`` with respect to its input."""

    @staticmethod
    def forward(
        ctx,
        x,
        weight,
        bias=None,
        stride=(1, 1),
        padding=(0, 0),
        output_padding=(0, 0),
        groups=1,
        dilation=(1, 1),
    ):
        x = conv._batch(ctx, x, 4)
        kernel = weight.shape[2:]
        full = tuple(  # every place a window reaches, then the output padding
            (n - 1) * s + d * (k - 1) + 1 + op
            for n, s, d, k, op in zip(
                x.shape[2:], stride, dilation, kernel, output_padding, strict=True
            )
        )
        dtype = np.result_type(x.dtype, weight.dtype)
        out = np.zeros((x.shape[0], weight.shape[1] * groups, *full), dtype)
        _transposed(x, weight, out, stride, dilation, groups)
        (ph, pw), (fh, fw) = padding, full
        out = out[:, :, ph : fh - ph, pw : fw - pw]
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.save_for_backward(x, weight)
        ctx.options = (stride, padding, output_padding, groups, dilation)
        return conv._unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, (ph, pw), output_padding, groups, dilation = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        # the output's gradient over the full size, less the output padding no window reaches
        (oh, ow), (h, w) = output_padding, grad.shape[2:]
        padding = ((ph, max(ph - oh, 0)), (pw, max(pw - ow, 0)))
        full = conv._pad(grad[:, :, : h - max(oh - ph, 0), : w - max(ow - pw, 0)], padding)
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_x = conv._conv_forward(full, weight, stride, dilation, groups)
        if needs[1]:
            n, c, h, w = x.shape
            g = x.reshape(n, groups, c // groups, h * w)
            grad_w = conv._conv_backward(g, full, weight, stride, dilation, groups, (False, True))
            grad_w = grad_w[1]
        if len(needs) > 2 and needs[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return conv._unbatch(ctx, grad_x), grad_w, grad_b


class ConvTranspose1d(UnitHeight, Function):
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) with weight (C_in, C_out/g, K)."""

    planar = ConvTranspose2d
    lift_weight = True
