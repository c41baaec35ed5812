"""RMS normalisation and the bilinear map, each one op with its fused backward.

``RmsNorm`` divides each row of the trailing ``ndim`` axes by its root mean square,
``r = 1 / sqrt(mean(x**2) + eps)``, then multiplies by ``weight``; with ``xhat = x * r`` and
``g = grad * weight`` the input gradient is ``r * (g - xhat * mean(g * xhat))``.

``Bilinear`` is ``y[..., o] = x1[..., i] W[o, i, j] x2[..., j] + b[o]``, computed as two
matrix products (BLAS) over the flattened leading axes.
"""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.linalg import Einsum
from gradviz.autograd.ops.scratch import ones


class RmsNorm(Function):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``ndim`` axes."""

    @staticmethod
    def forward(ctx, x, weight, ndim, eps):
        lead = x.shape[: x.ndim - ndim]
        m = math.prod(x.shape[x.ndim - ndim :])
        rows = x.reshape(math.prod(lead), m)
        square = np.square(rows) @ ones(m, x.dtype)
        square /= max(m, 1)  # no element (a 0-size normalized shape): an empty output
        square += eps
        invrms = np.reciprocal(np.sqrt(square, out=square), out=square)
        xhat = rows * invrms[:, None]
        out = xhat * weight.reshape(-1) if weight is not None else xhat.copy()
        ctx.save_for_backward(xhat, invrms, weight)
        ctx.shape = x.shape
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        xhat, invrms, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        rows, m = xhat.shape
        g = grad.reshape(xhat.shape)
        grad_x = grad_w = None
        if needs[0]:
            scaled = g * weight.reshape(-1) if weight is not None else g
            dot = (scaled * xhat) @ ones(m, g.dtype)
            dot /= max(m, 1)
            grad_x = scaled - xhat * dot[:, None]
            grad_x *= invrms[:, None]
            grad_x = grad_x.reshape(ctx.shape)
        if needs[1]:
            grad_w = (ones(rows, g.dtype) @ (g * xhat)).reshape(weight.shape)
        return grad_x, grad_w, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, weight, ndim, eps = ctx.inputs
        dims = tuple(range(x.ndim - ndim, x.ndim))
        invrms = ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
        xhat = x * invrms
        scaled = grad * weight if weight is not None else grad
        grad_x = invrms * (scaled - xhat * (scaled * xhat).mean(dims, keepdim=True))
        return grad_x, (grad * xhat if ctx.needs_input_grad[1] else None), None, None


class Bilinear(Function):
    """``x1 @ W @ x2 + b`` per output feature: x1 ``(*, in1)``, x2 ``(*, in2)``, W ``(out,
    in1, in2)``, b ``(out,)``; the result ``(*, out)``."""

    @staticmethod
    def forward(ctx, x1, x2, weight, bias):
        out_features, in1, in2 = weight.shape
        lead = x1.shape[:-1]
        a, c = x1.reshape(-1, in1), x2.reshape(-1, in2)
        # t[b, o, j] = sum_i a[b, i] W[o, i, j]
        t = (a @ weight.transpose(1, 0, 2).reshape(in1, out_features * in2)).reshape(
            -1, out_features, in2
        )
        out = (t @ c[:, :, None])[..., 0]
        if bias is not None:
            out += bias
        ctx.save_for_backward(a, c, weight)
        ctx.lead = lead
        return out.reshape(*lead, out_features)

    @staticmethod
    def backward(ctx, grad):
        a, c, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        out_features, in1, in2 = weight.shape
        g = grad.reshape(-1, out_features)
        grad_1 = grad_2 = grad_w = grad_b = None
        if needs[0] or needs[1]:
            # u[b, i, j] = sum_o g[b, o] W[o, i, j]
            u = (g @ weight.reshape(out_features, in1 * in2)).reshape(-1, in1, in2)
            if needs[0]:
                grad_1 = (u @ c[:, :, None])[..., 0].reshape(*ctx.lead, in1)
            if needs[1]:
                grad_2 = (a[:, None, :] @ u)[:, 0, :].reshape(*ctx.lead, in2)
        if needs[2]:
            outer = (a[:, :, None] * c[:, None, :]).reshape(-1, in1 * in2)
            grad_w = (g.T @ outer).reshape(weight.shape)
        if needs[3]:
            grad_b = g.sum(axis=0)
        return grad_1, grad_2, grad_w, grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        x1, x2, weight = ctx.inputs[:3]
        out_features, in1, in2 = weight.shape
        a, c = x1.reshape(-1, in1), x2.reshape(-1, in2)
        g = grad.reshape(-1, out_features)
        needs = ctx.needs_input_grad
        grad_1 = grad_2 = grad_w = None
        if needs[0]:
            grad_1 = Einsum.apply(("bo", "oij", "bj"), "bi", g, weight, c).reshape(x1.shape)
        if needs[1]:
            grad_2 = Einsum.apply(("bo", "oij", "bi"), "bj", g, weight, a).reshape(x2.shape)
        if needs[2]:
            grad_w = Einsum.apply(("bo", "bi", "bj"), "oij", g, a, c)
        return grad_1, grad_2, grad_w, (grad if len(needs) > 3 and needs[3] else None)
