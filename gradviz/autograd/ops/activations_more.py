"""More activations, one node each with its own backward: PReLU, SELU, CELU, Hardswish,
Hardsigmoid, Threshold, Hardshrink, Softshrink, Tanhshrink and RReLU's training form.

Where a kink sits on a point (0, +-3, +-lambd) the gradient chosen there is PyTorch's and a
comment says which side it takes.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.masked import masked
from gradviz.autograd.ops.promotion import require_floating, same_float_dtype

#: SELU's constants (Klambauer et al.), to PyTorch's digits.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _channel_shape(x: np.ndarray, size: int) -> tuple[int, ...]:
    """The shape that puts a weight of ``size`` (1, or the channels) on the channel dim, 1."""
    if size == 1:
        return (1,) * x.ndim
    return (1, size) + (1,) * (x.ndim - 2)


class Prelu(Function):
    """``x`` where ``x > 0``, else ``weight * x``; the weight is one number or one per channel
    (dim 1). At 0 the negative side's slope (PyTorch)."""

    @staticmethod
    def forward(ctx, x, weight):
        require_floating(x, "prelu")
        same_float_dtype("prelu", x, weight)
        w = weight.reshape(_channel_shape(x, weight.size))
        ctx.save_for_backward(x, w)
        ctx.weight_shape = weight.shape
        return np.where(x > 0, x, x * w)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        positive = x > 0
        grad_x = np.where(positive, grad, grad * w) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            terms = np.where(positive, 0, grad * x)
            axes = tuple(i for i, n in enumerate(w.shape) if n == 1)
            grad_w = terms.sum(axis=axes).reshape(ctx.weight_shape)
        return grad_x, grad_w

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, weight = ctx.inputs
        w = weight.reshape(_channel_shape(x._data, weight.numel()))
        positive = x._data > 0
        need_x, need_w = ctx.needs_input_grad
        grad_x = grad * (w * ~positive + positive) if need_x else None
        grad_w = None
        if need_w:
            axes = tuple(i for i, n in enumerate(w.shape) if n == 1)
            grad_w = (grad * x * ~positive).sum(dim=axes).reshape(ctx.weight_shape)
        return grad_x, grad_w


class Selu(Function):
    """``scale * elu(x, alpha)`` with SELU's fixed constants; at 0 the negative side's slope
    ``scale * alpha`` (PyTorch's elu rule)."""

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "selu")
        ctx.save_for_backward(x)
        negative = SELU_ALPHA * np.expm1(np.minimum(x, 0))
        return SELU_SCALE * np.where(x > 0, x, negative)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0))
        return np.where(x > 0, grad * SELU_SCALE, grad * slope)

    @staticmethod
    def backward_graph(ctx, grad, out):
        # scale * alpha * exp(x) as out + scale * alpha on the negative side (Elu's way)
        positive = ctx.inputs[0]._data > 0
        return grad * ((out + SELU_SCALE * SELU_ALPHA) * ~positive + SELU_SCALE * positive)


class Celu(Function):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``; at 0 the negative side's slope,
    1 (PyTorch)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        require_floating(x, "celu")
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, grad * np.exp(np.minimum(x, 0) / ctx.alpha))

    @staticmethod
    def backward_graph(ctx, grad, out):
        positive = ctx.inputs[0]._data > 0  # exp(x / alpha) as out / alpha + 1 there
        return grad * ((out / ctx.alpha + 1) * ~positive + positive)


class Hardswish(Function):
    """``x * relu6(x + 3) / 6``; the gradient ``x / 3 + 1/2`` strictly inside ``(-3, 3)``, 0 at
    -3 and 1 at 3 (PyTorch's one-sided choices)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "hardswish")
        ctx.save_for_backward(x)
        out = np.asarray(x + 3)  # (an array for a 0-d input too: written into below)
        np.clip(out, 0, 6, out=out)
        out *= x
        out /= 6
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        out = np.asarray(x * (1 / 3))
        out += 0.5
        out *= grad
        np.copyto(out, grad, where=x >= 3)
        np.copyto(out, 0, where=x <= -3)
        return out

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        inside = (x._data > -3) & (x._data < 3)
        return grad * ((x * (1 / 3) + 0.5) * inside + (x._data >= 3))


class Hardsigmoid(Function):
    """``relu6(x + 3) / 6``; the gradient 1/6 strictly inside ``(-3, 3)`` (PyTorch)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "hardsigmoid")
        ctx.save_for_backward(x)
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where((x > -3) & (x < 3), grad / 6, 0).astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        inside = (x._data > -3) & (x._data < 3)
        return masked(grad, x, np.where(inside, 1 / 6, 0).astype(x.dtype))


class Threshold(Function):
    """``x`` where ``x > threshold``, else ``value``; the gradient passes where ``x >
    threshold`` only."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, threshold, value):
        ctx.save_for_backward(x)
        ctx.threshold = threshold
        return np.where(x > threshold, x, np.asarray(value).astype(x.dtype))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > ctx.threshold, grad, 0).astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return masked(grad, x, x._data > ctx.threshold)


class Hardshrink(Function):
    """``x`` where ``|x| > lambd``, else 0; the gradient is 0 on ``[-lambd, lambd]``, bounds
    included (PyTorch)."""

    @staticmethod
    def forward(ctx, x, lambd=0.5):
        require_floating(x, "hardshrink")
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        return np.where((x >= -lambd) & (x <= lambd), 0, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = (x >= -ctx.lambd) & (x <= ctx.lambd)
        return np.where(inside, 0, grad).astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return _shrink_graph(ctx, grad, out)


def _shrink_graph(ctx, grad, out):
    """The graph rule of Hardshrink and Softshrink: the gradient passes outside
    ``[-lambd, lambd]``."""
    x = ctx.inputs[0]
    return masked(grad, x, (x._data < -ctx.lambd) | (x._data > ctx.lambd))


class Softshrink(Hardshrink):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0; the gradient is
    Hardshrink's (0 on ``[-lambd, lambd]``, bounds included: PyTorch)."""

    @staticmethod
    def forward(ctx, x, lambd=0.5):
        require_floating(x, "softshrink")
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        return (x - np.clip(x, -lambd, lambd)).astype(x.dtype, copy=False)

    backward_graph = staticmethod(_shrink_graph)


class Tanhshrink(Function):
    """``x - tanh(x)``: one node, the gradient ``tanh(x)**2``."""

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return x - t

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * (t * t)

    @staticmethod
    def backward_graph(ctx, grad, out):
        t = ctx.inputs[0].tanh()
        return grad * (t * t)


class Rrelu(Function):
    """RReLU in training: ``x`` where ``x > 0``, else ``x`` times its own slope drawn uniformly
    from ``[lower, upper]`` (``noise``, drawn by the caller); at 0 the drawn slope (PyTorch)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, noise):
        ctx.save_for_backward(noise)
        return x * noise

    @staticmethod
    def backward(ctx, grad):
        (noise,) = ctx.saved_tensors
        return grad * noise, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, noise = ctx.inputs
        return masked(grad, x, noise), None


def rrelu_noise(x: np.ndarray, lower: float, upper: float, generator) -> np.ndarray:
    """The slopes of RReLU in training: 1 where ``x > 0``, else uniform in ``[lower, upper]``."""
    slopes = generator.uniform(lower, upper, x.shape).astype(x.dtype, copy=False)
    return np.where(x > 0, np.ones((), x.dtype), slopes)
