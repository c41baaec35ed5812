"""More of ``nn.functional`` with PyTorch's names and checks: ``normalize``, ``logsigmoid``,
``relu6``, ``hardtanh``, ``softsign``, ``glu`` and ``scaled_dot_product_attention``
(re-exported by ``functional``)."""

from __future__ import annotations

import numbers
from typing import Any

from gradviz.autograd import ops
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import ArgumentError, OperandError, ShapeError
from gradviz.autograd.ops.api import as_variable as as_input
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
    if inplace:
        return x.copy_(ops.Hardtanh.apply(x, low, high))
    return ops.Hardtanh.apply(x, low, high)


def relu6(input: Any, inplace: bool = False) -> Variable:
    """``min(max(x, 0), 6)`` (PyTorch's ``hardtanh(x, 0, 6)``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def softsign(input: Any) -> Variable:
    """``x / (1 + |x|)``."""
    x = as_input(input, "softsign")
    return x / (x.abs() + 1)


def glu(input: Any, dim: int = -1) -> Variable:
    """The gated linear unit: ``a * sigmoid(b)`` of the two halves ``a``, ``b`` of ``dim``."""
    x = as_input(input, "glu")
    if not x.ndim:
        raise ShapeError("glu does not support scalars because halving size must be even")
    axis = dim_index(dim, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ShapeError(
            f"Halving dimension must be even, but dimension {axis} is size {x.shape[axis]}"
        )
    a, b = x.chunk(2, axis)
    return a * b.sigmoid()


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
