"""Activations: SiLU, ELU, Softplus, Mish, LogSigmoid and Hardtanh, each one node with its own
backward (and, but Mish, a ``backward_graph`` in Variable ops for ``create_graph=True``)."""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.masked import masked
from gradviz.autograd.ops.promotion import require_floating


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # stable for large |x|: exp of a non-positive number only
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), stable for large |x|."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class Silu(Function):
    """x * sigmoid(x)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "silu")
        s = _sigmoid(x)
        ctx.saved_tensors = (x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return grad * (s * (1 + x * (1 - s)))

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        s = x.sigmoid()
        return grad * (s * (1 + x * (1 - s)))


class Elu(Function):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        require_floating(x, "elu")
        ctx.saved_tensors = (x,)
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # at 0 the negative side's slope alpha * exp(0) = alpha (PyTorch)
        return np.where(x > 0, grad, grad * (ctx.alpha * np.exp(np.minimum(x, 0))))

    @staticmethod
    def backward_graph(ctx, grad, out):
        # alpha * exp(x) as out + alpha on the negative side (no overflow on the positive)
        positive = ctx.inputs[0]._data > 0
        return grad * ((out + ctx.alpha) * ~positive + positive)


class Softplus(Function):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (PyTorch)."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        require_floating(x, "softplus")
        ctx.saved_tensors = (x,)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        return np.where(bx > threshold, x, _softplus(bx) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return np.where(bx > ctx.threshold, grad, grad * _sigmoid(bx))

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        linear = x._data * ctx.beta > ctx.threshold  # slope 1 there, sigmoid(beta * x) elsewhere
        return grad * ((x * ctx.beta).sigmoid() * ~linear + linear)


class Mish(Function):
    """x * tanh(softplus(x))."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "mish")
        t = np.tanh(_softplus(x))
        ctx.saved_tensors = (x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        return grad * (t + x * (1 - t * t) * _sigmoid(x))

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        t = Softplus.apply(x, 1.0, float("inf")).tanh()  # (forward's: no linear part)
        return grad * (t + x * (1 - t * t) * x.sigmoid())


class LogSigmoid(Function):
    """``log(sigmoid(x))``, stable for large |x|: ``min(x, 0) - log1p(exp(-|x|))``."""

    @staticmethod
    def forward(ctx, x):
        require_floating(x, "log_sigmoid")
        ctx.saved_tensors = (x,)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        return grad * _sigmoid(-ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (-ctx.inputs[0]).sigmoid()


class Hardtanh(Function):
    """``x`` clamped into ``[low, high]``; the gradient passes strictly inside only (0 at the
    bounds, unlike clamp's: PyTorch's hardtanh and relu6)."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, low=-1.0, high=1.0):
        ctx.saved_tensors = (x,)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x > ctx.low) & (x < ctx.high))

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return masked(grad, x, (x._data > ctx.low) & (x._data < ctx.high))
