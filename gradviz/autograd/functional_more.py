"""More of ``nn.functional`` with PyTorch's names and checks: ``normalize``, ``logsigmoid``,
``relu6``, ``hardtanh``, ``softsign``, ``glu``, ``gumbel_softmax`` and
``scaled_dot_product_attention`` (re-exported by ``functional``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gradviz.autograd import ops
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.inplace_acts import apply_inplace
from gradviz.autograd.ops.api import as_variable as as_input
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.variable import Variable


def _number(value: Any, op: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OperandError(
            f"{op}(): argument '{name}' must be a number, not {type(value).__name__}"
        )
    return float(value)


def normalize(
    input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: None = None
) -> Variable:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    if out is not None:
        raise ArgumentError("normalize(): out= is not supported; use the returned Variable")
    x = as_input(input, "normalize")
    eps = _number(eps, "normalize", "eps")
    norm = x.norm(_number(p, "normalize", "p"), dim_index(dim, x.ndim, "normalize"), keepdim=True)
    return x / norm.clamp(min=eps)


def logsigmoid(input: Any) -> Variable:
    """``log(sigmoid(x))``, stable for large |x|."""
    return ops.LogSigmoid.apply(as_input(input, "logsigmoid"))


def hardtanh(
    input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Variable:
    """``input`` clamped into ``[min_val, max_val]`` (gradient 0 at the bounds)."""
    low, high = _number(min_val, "hardtanh", "min_val"), _number(max_val, "hardtanh", "max_val")
    if low > high:
        raise ArgumentError("hardtanh(): min_val cannot be greater than max_val")
    x = as_input(input, "hardtanh")
    if inplace:  # (not copy_ of the result: Hardtanh's backward reads the old values)
        return apply_inplace(ops.Hardtanh, x, low, high)
    return ops.Hardtanh.apply(x, low, high)


def relu6(input: Any, inplace: bool = False) -> Variable:
    """``min(max(x, 0), 6)`` (PyTorch's ``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def softsign(input: Any) -> Variable:
    """``x / (1 + |x|)``."""
    x = as_input(input, "softsign")
    return x / (x.abs() + 1)


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Variable:
    """``softmax(q @ k^T * scale + mask) @ v``; a bool ``attn_mask`` marks with True the
    positions that take part, a float one is added; ``is_causal`` masks the future; a row with
    nothing to attend to gives zeros. ``enable_gqa`` shares each key/value head among a group
    of query heads. Built from MatMul, Mul, MaskedFill/Add, Softmax and MatMul, so each step
    is a node of the graph."""
    return ops.scaled_dot_product_attention(
        query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa
    )


def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Variable:
    """Normalise (N, C, *) over each group of ``C / num_groups`` channels (and every position)
    with its mean and biased variance, then ``* weight + bias`` per channel: one ``LayerNorm``
    node over the groups, as PyTorch computes it."""
    return _group_norm("group_norm", input, num_groups, weight, bias, eps)


def _group_norm(
    layer: Any, input: Any, num_groups: int, weight: Any, bias: Any, eps: float
) -> Variable:
    x = as_input(input, layer)
    if x.ndim < 2:
        raise ShapeError(
            f"{layer}: Expected at least 2 dimensions for input tensor but received {x.ndim} "
            f"(input of shape {x.shape})"
        )
    channels = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ArgumentError(f"{layer}: num_groups must be a positive integer, got {num_groups!r}")
    if channels % num_groups:
        raise InputError(
            f"{layer}: Expected number of channels in input to be divisible by num_groups, but "
            f"got input of shape {x.shape} and num_groups={num_groups}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(as_input(value, layer).shape) != (channels,):
            raise ShapeError(
                f"{layer}: expected {name} of shape ({channels},) (one per channel of input "
                f"{x.shape}), got {tuple(as_input(value, layer).shape)}"
            )
    if weight is not None:
        same_float_dtype(layer, x._data, as_input(weight, layer)._data)
    groups = x.reshape(x.shape[0], num_groups, -1)
    out = ops.LayerNorm.apply(groups, None, None, 1, eps).reshape(x.shape)
    per_channel = (channels,) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * as_input(weight, layer).reshape(per_channel)
    if bias is not None:
        out = out + as_input(bias, layer).reshape(per_channel)
    return out


def gumbel_softmax(
    logits: Any, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Variable:
    """A differentiable sample of the categorical distribution of ``logits``, as PyTorch's:
    ``softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(Exponential(1))``; ``hard``:
    the one-hot of its largest entry, with the soft sample's gradient (straight through).
    ``eps`` is unused, as in PyTorch."""
    x = as_input(logits, "gumbel_softmax")
    tau = _number(tau, "gumbel_softmax", "tau")
    noise = Variable(np.empty_like(x._data), name="gumbel_noise").exponential_()
    soft = ((x - noise.log()) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    one_hot = Variable(np.zeros_like(soft._data), name="zeros").scatter(dim, index, 1.0)
    return one_hot - soft.detach() + soft
