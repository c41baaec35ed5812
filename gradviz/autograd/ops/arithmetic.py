"""Arithmetic and products: add, sub, mul, div, neg, pow, matmul and the fused linear.

Backward rules return gradients in the output's broadcast shape; the engine reduces them to each
input's shape. ``backward_graph`` is each one's rule in Variable ops, for ``create_graph=True``
(``gradviz.autograd.higher``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import cast, promoted, result_type, same_float_dtype
from gradviz.autograd.ops.scratch import ones
from gradviz.autograd.variable import Variable, from_op, get_default_dtype

#: (a module global: one lookup less per op than ``np.ndarray``)
_ndarray = np.ndarray


class Add(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a + b
        except OverflowError:  # a Python int beyond the dtype's range: it wraps (PyTorch)
            return promoted(np.add, a, b)
        # NumPy's dtype is PyTorch's when an n-d `a` (or one meeting no n-d `b`) kept its own;
        # otherwise PyTorch's promotion (ops/promotion.py): one identity test on the hot path
        if type(a) is _ndarray and out.dtype is a.dtype and (a.ndim or getattr(b, "ndim", 0) == 0):
            return out
        return promoted(np.add, a, b, out)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad, grad


def _is_bool(x: Any) -> bool:
    return x.dtype == np.bool_ if isinstance(x, np.ndarray) else isinstance(x, bool | np.bool_)


_INVERT = "If you are trying to invert a mask, use `mask == 0` instead."


class Sub(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, a, b):
        if _is_bool(a) or _is_bool(b):  # NumPy: a TypeError for two, int arithmetic for one
            if _is_bool(a) and _is_bool(b):
                raise InputError(
                    "Subtraction, the `-` operator, with two bool tensors is not supported. "
                    "Use `a != b` (exclusive or) instead."
                )
            raise InputError(
                f"Subtraction, the `-` operator, with a bool tensor is not supported. {_INVERT}"
            )
        try:
            out = a - b
        except OverflowError:
            return promoted(np.subtract, a, b)
        if type(a) is _ndarray and out.dtype is a.dtype and (a.ndim or getattr(b, "ndim", 0) == 0):
            return out
        return promoted(np.subtract, a, b, out)

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    _stores_attributes = False
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad  # save only what backward reads, as PyTorch
        if need_a or need_b:
            ctx.saved_tensors = (a if need_b else None, b if need_a else None)
        try:
            out = a * b
        except OverflowError:
            return promoted(np.multiply, a, b)
        if type(a) is _ndarray and out.dtype is a.dtype and (a.ndim or getattr(b, "ndim", 0) == 0):
            return out
        return promoted(np.multiply, a, b, out)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    _stores_attributes = False
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0: inf or NaN, silently
            return _divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (grad / b if need_a else None), (-grad * a / (b * b) if need_b else None)


def _divide(a: Any, b: Any) -> np.ndarray:
    """``a / b`` in PyTorch's dtype: integers divide in the default dtype."""
    try:
        out = a / b
    except OverflowError:
        out = None
    if (
        out is not None
        and type(a) is _ndarray
        and out.dtype is a.dtype
        and (a.ndim or getattr(b, "ndim", 0) == 0)
    ):
        return out
    dtype = result_type(a, b)
    if dtype.kind != "f":  # true division of integers: the default dtype (PyTorch)
        dtype = get_default_dtype()
    if out is not None and out.dtype == dtype:
        return out
    return np.true_divide(cast(a, dtype), cast(b, dtype))


def _integer_division(ufunc: Any, a: Any, b: Any) -> np.ndarray:
    """``ufunc(a, b)`` (floor_divide or remainder) in PyTorch's dtype; an integer division by
    zero is PyTorch's error (NumPy would give 0 and a warning)."""
    dtype = result_type(a, b)
    if dtype.kind == "b":
        raise InputError(f"\"{ufunc.__name__}\" not implemented for 'Bool'")
    a, b = cast(a, dtype), cast(b, dtype)
    if dtype.kind in "biu" and np.any(np.equal(b, 0)):
        raise InputError("ZeroDivisionError: integer division or modulo by zero")
    with np.errstate(divide="ignore", invalid="ignore"):  # x // 0.0: inf or NaN, silently
        return ufunc(a, b)


class FloorDivide(Function):
    """``a // b``: floor(a / b), as Python and PyTorch round. The gradient is 0, floor's
    almost everywhere (PyTorch's floor_divide has none: its backward raises)."""

    @staticmethod
    def forward(ctx, a, b):
        return _integer_division(np.floor_divide, a, b)

    @staticmethod
    def backward(ctx, grad):
        zero = np.zeros_like(grad)
        return (zero if ctx.needs_input_grad[0] else None), (
            zero if ctx.needs_input_grad[1] else None
        )

    @staticmethod
    def backward_graph(ctx, grad, out):
        zero = np.zeros(grad.shape, grad.dtype)  # (no graph: it does not require grad)
        return (zero if ctx.needs_input_grad[0] else None), (
            zero if ctx.needs_input_grad[1] else None
        )


class Remainder(Function):
    """``a % b``: ``a - b * floor(a / b)``, of the divisor's sign, as Python and PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return _integer_division(np.remainder, a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        grad_b = None
        if need_b:
            a, b = ctx.saved_tensors
            grad_b = -grad * np.floor_divide(a, b)
        return (grad if need_a else None), grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        need_a, need_b = ctx.needs_input_grad
        grad_b = -grad * FloorDivide.apply(*ctx.inputs) if need_b else None
        return (grad if need_a else None), grad_b


class Neg(Function):
    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, a):
        if _is_bool(a):
            raise InputError(
                f"Negation, the `-` operator, on a bool tensor is not supported. {_INVERT}"
            )
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad

    @staticmethod
    def backward_graph(ctx, grad, out):
        return -grad


class Pow(Function):
    @staticmethod
    def forward(ctx, base, exponent):
        with np.errstate(divide="ignore", invalid="ignore"):  # (-1) ** 0.5: NaN, silently
            try:
                out = base**exponent
            except (OverflowError, ValueError):  # NumPy refuses ints to negative int powers
                out = None
            if out is None or not (
                type(base) is np.ndarray
                and out.dtype is base.dtype
                and (base.ndim or getattr(exponent, "ndim", 0) == 0)
            ):
                out = _power(base, exponent, out)
        ctx.save_for_backward(base, exponent, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        base, exponent, out = ctx.saved_tensors
        need_base, need_exponent = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if need_base:
            # d/dx x**p = p * x**(p-1); PyTorch gives 0 (not nan) where p == 0.
            if isinstance(exponent, np.ndarray):
                grad_base = grad * np.where(exponent == 0, 0, exponent * base ** (exponent - 1))
            else:
                grad_base = grad * (exponent * base ** (exponent - 1)) if exponent else grad * 0
        if need_exponent:
            # d/dp x**p = x**p * log(x); PyTorch gives 0 where x == 0 and p >= 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                log_base = np.where((base == 0) & (exponent >= 0), 0, np.log(base))
            grad_exponent = grad * out * log_base
        return grad_base, grad_exponent

    @staticmethod
    def backward_graph(ctx, grad, out):
        base, exponent = ctx.inputs
        need_base, need_exponent = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if need_base and not isinstance(exponent, Variable | np.ndarray):
            grad_base = grad * (base ** (exponent - 1) * exponent) if exponent else grad * 0
        elif need_base:  # 0 where p == 0 (x**(p-1) computed with p-1 made 0 there: no 0 * inf)
            zero = _as_array(exponent, out) == 0
            grad_base = grad * (base ** (exponent - 1 + zero) * (exponent * ~zero))
        if need_exponent:  # log(x), 0 where x == 0 and p >= 0 (log(1) computed there)
            value = _as_array(base, out)
            cut = (value == 0) & (_as_array(exponent, out) >= 0)
            log = (base + cut).log() if isinstance(base, Variable) else np.log(value + cut)
            grad_exponent = grad * out * log * ~cut
        return grad_base, grad_exponent


def _as_array(x: Any, like: Variable) -> np.ndarray:
    """An input's values as an array: a number in the output's dtype (no float32 rounding)."""
    if isinstance(x, Variable):
        return x._data
    return x if isinstance(x, np.ndarray) else np.asarray(x, dtype=like.dtype)


def _power(base: Any, exponent: Any, out: np.ndarray | None) -> np.ndarray:
    """``base ** exponent`` in PyTorch's dtype; integer powers as PyTorch's: a negative Python
    int exponent is an error, negative entries of an exponent tensor give ``1 // base**-e``."""
    dtype = result_type(base, exponent)
    if out is not None and out.dtype == dtype:
        return out
    if dtype.kind == "b":  # PyTorch: a bool tensor to a bool number only
        if isinstance(exponent, np.ndarray):
            raise InputError("\"pow\" not implemented for 'Bool'")
        return base | (not exponent)
    base, exponent = cast(base, dtype), cast(exponent, dtype)
    if dtype.kind not in "iu" or not np.any(np.less(exponent, 0)):
        return np.power(base, exponent)
    if not isinstance(exponent, np.ndarray):
        raise InputError("Integers to negative integer powers are not allowed.")
    negative = exponent < 0
    odd = np.abs(exponent) % 2 == 1
    inverse = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, inverse, np.power(base, np.where(negative, 0, exponent))).astype(
        dtype, copy=False
    )


class MatMul(Function):
    """Matrix product with NumPy's rules: vectors, matrices and broadcast batches."""

    @staticmethod
    def forward(ctx, a, b):
        a_shape, b_shape = np.shape(a), np.shape(b)
        if not a_shape or not b_shape:
            raise ShapeError(
                f"MatMul: both operands need at least 1 dimension, got {a_shape} @ {b_shape}"
            )
        k_a = a_shape[-1]
        k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
        if k_a != k_b:
            raise ShapeError(
                f"MatMul: shapes {a_shape} and {b_shape} cannot be multiplied "
                f"({k_a} columns in input 0 vs {k_b} rows in input 1)"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:  # first: for vector @ vector the gradient is 0-d
            g2 = g2[..., np.newaxis]
        if a.ndim == 1:
            g2 = g2[..., np.newaxis, :]
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if need_b:
            grad_b = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = (v if isinstance(v, Variable) else from_op(np.asarray(v), None) for v in ctx.inputs)
        need_a, need_b = ctx.needs_input_grad
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g2 = grad.unsqueeze(-1) if b.ndim == 1 else grad  # first: vector @ vector gives 0-d
        g2 = g2.unsqueeze(-2) if a.ndim == 1 else g2
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ b2.transpose(-1, -2)
            grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
        if need_b:
            grad_b = a2.transpose(-1, -2) @ g2
            grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


class Linear(Function):
    """``x @ weight.T + bias`` as one op (PyTorch's ``F.linear``): one node, one fused backward."""

    _stores_attributes = False

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.dtype.kind in "biu" and weight.dtype.kind == "f":  # (float64 data is promoted)
            raise InputError(
                f"Linear: mat1 and mat2 must have the same dtype, but got {x.dtype} and "
                f"{weight.dtype}: integer inputs (token ids?) go through an nn.Embedding "
                "first; features read as integers, convert with .float()"
            )
        same_float_dtype("Linear", x, weight)
        if x.shape[-1:] != weight.shape[1:]:
            raise ShapeError(
                f"Linear: input of shape {x.shape} does not match weight of shape "
                f"{weight.shape} (expected input (..., {weight.shape[1]}))"
            )
        ctx.saved_tensors = (x, weight)
        out = _matmul_2d(x, weight.T)
        if bias is None:
            return out
        if bias.dtype == out.dtype and out.ndim:
            out += bias
            return out
        return out + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g2 = grad.reshape(-1, grad.shape[-1])  # batch axes flattened: (N, out_features)
        grad_x = _matmul_2d(grad, weight) if needs[0] else None
        grad_w = _dot(g2.T, x.reshape(-1, x.shape[-1])) if needs[1] else None
        if len(needs) == 2:  # called without bias: one gradient per input
            return grad_x, grad_w
        return grad_x, grad_w, (_column_sum(g2) if needs[2] else None)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x, weight = ctx.inputs[:2]
        needs = ctx.needs_input_grad
        g2 = grad.reshape(-1, grad.shape[-1])  # batch axes flattened: (N, out_features)
        grad_x = grad @ weight if needs[0] else None
        grad_w = g2.t() @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        return grad_x, grad_w, (g2.sum(0) if len(needs) > 2 and needs[2] else None)


def _column_sum(g: np.ndarray) -> np.ndarray:
    """``g.sum(axis=0)`` of a 2-d ``g``; for floats a vector-matrix product with a shared
    vector of ones (NumPy's axis-0 sum adds row by row: 2-3x slower at every size)."""
    return np.dot(ones(len(g), g.dtype), g) if g.dtype.kind == "f" else g.sum(axis=0)


_dot = np.dot


def _matmul_2d(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` for ``x`` of any rank as one matrix product (NumPy would run one per
    leading index of a 3-d ``x``)."""
    if x.ndim == 2:
        return _dot(x, matrix)  # the same BLAS product as ``@``, with less dispatch
    if x.ndim < 2:
        return x @ matrix
    return _dot(x.reshape(-1, x.shape[-1]), matrix).reshape(*x.shape[:-1], matrix.shape[-1])
