"""``MaskedGrad``: the gradient through an op whose derivative is piecewise constant (ReLU's
``out != 0``, ``abs``'s sign, a leaky ReLU's slopes, a max pool's choice of places), as the
graph rules (``create_graph=True``) record it.

``grad * mask`` alone would be a gradient with no path back to the op's input: the gradient
of a ReLU network's input gradient with respect to that input would be "unused", where
PyTorch's ``threshold_backward(grad, x)`` keeps ``x`` as an input of zero derivative and gives
zeros. This op does the same: ``x`` is an input whose gradient is zeros, a recorded
``ZeroDerivative`` of ``x`` when that gradient has a graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.variable import Variable


class MaskedGrad(Function):
    """``grad * mask`` (``grad`` itself when ``mask`` is None), recorded with ``x``, the input
    of the op it differentiates, whose derivative here is zero."""

    @staticmethod
    def forward(ctx, grad, x, mask):
        ctx.mask, ctx.like = mask, (x.shape, x.dtype)
        return grad.copy() if mask is None else (grad * mask).astype(grad.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        need_grad, need_x = ctx.needs_input_grad[:2]
        mask = ctx.mask
        through = (grad if mask is None else grad * mask) if need_grad else None
        return through, (np.zeros(*ctx.like) if need_x else None), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        need_grad, need_x = ctx.needs_input_grad[:2]
        x = ctx.inputs[1]
        through = masked(grad, x, ctx.mask) if need_grad else None
        return through, (ZeroDerivative.apply(x) if need_x else None), None


class ZeroDerivative(Function):
    """Zeros in the shape of ``x``: the derivative with respect to ``x`` of a gradient that
    depends on ``x`` only through a piecewise constant mask (``MaskedGrad``'s), recorded, so
    that a picture shows where a second derivative became zero (a ReLU network's)."""

    @staticmethod
    def forward(ctx, x):
        ctx.like = (x.shape, x.dtype)
        return np.zeros(*ctx.like)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros(*ctx.like)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return ZeroDerivative.apply(ctx.inputs[0])


def masked(grad: Variable, x: Variable, mask: Any) -> Variable:
    """``grad * mask`` as the gradient of an op of ``x`` whose derivative is ``mask``, a
    piecewise constant array (None: ``grad`` as it is), recorded with ``x`` as an input."""
    return MaskedGrad.apply(grad, x, mask)
