"""Elementwise functions and activations, with softmax and log_softmax (fused, stable).

Subgradient choices match PyTorch and say so where they are made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.masked import masked
from gradviz.autograd.ops.promotion import cast, floating, require_floating, result_type
from gradviz.autograd.ops.scratch import ONE, ZERO, ones, ones_column, scratch
from gradviz.autograd.ops.special import Erfc, zero_graph


class Exp(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        if out.dtype is not x.dtype:  # an int or bool input: the default float dtype
            out = np.exp(floating(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * out


class Log(Function):
    _stores_attributes = False
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        ctx.saved_tensors = (x,)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(x)
            if out.dtype is not x.dtype:  # an int or bool input: the default float dtype
                out = np.log(floating(x))
        return out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / ctx.saved_tensors[0]

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad / ctx.inputs[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(x)
            if out.dtype is not x.dtype:  # an int or bool input: the default float dtype
                out = np.sqrt(floating(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / (2 * ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad / (out * 2)


class Abs(Function):
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            raise InputError("\"abs_cpu\" not implemented for 'Bool'")
        ctx.saved_tensors = (x,)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * sign(ctx.saved_tensors[0])  # sign(0) = 0, as in PyTorch

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return masked(grad, x, sign(x._data))


def sign(x: np.ndarray) -> np.ndarray:
    """``np.sign`` with 0 at NaN, as PyTorch's sign in its gradients (abs, norm): a NaN input
    masked out downstream (``where(isnan(x), 0, x.abs())``) then gets 0, not NaN."""
    s = np.sign(x)
    nan = np.isnan(s)
    if nan.any():
        s[nan] = 0
    return s


class Sign(Function):
    """-1, 0 or 1 by the sign (0 at NaN, bools as they are), as PyTorch's; zero gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.copy() if x.dtype.kind == "b" else sign(x)

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)

    backward_graph = staticmethod(zero_graph)


class Round(Function):
    """Round half to even, at ``decimals`` digits as PyTorch's (``rint(x * 10**d) / 10**d``,
    or ``rint(x / 10**-d) * 10**-d`` for negative ``d``); zero gradient."""

    @staticmethod
    def forward(ctx, x, decimals=0):
        if x.dtype.kind == "b":
            raise InputError("\"round_vml_cpu\" not implemented for 'Bool'")
        if x.dtype.kind != "f" or not decimals:
            return np.rint(x) if x.dtype.kind == "f" else x.copy()
        scale = x.dtype.type(10.0 ** abs(decimals))
        if decimals > 0:
            return np.rint(x * scale) / scale
        return np.rint(x / scale) * scale

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad)

    backward_graph = staticmethod(zero_graph)


class Clamp(Function):
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.saved_tensors = (x,)
        ctx.low, ctx.high = low, high
        out = np.clip(x, low, high)
        if out.dtype is not x.dtype:  # an int input with float bounds: PyTorch's dtype
            dtype = result_type(x, low, high)
            out = np.clip(x.astype(dtype), cast(low, dtype), cast(high, dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mask = _passes(ctx, x)
        _, need_low, need_high = ctx.needs_input_grad
        if not (need_low or need_high):  # (None for bounds that are Variables)
            return grad * mask, None, None
        return grad * mask, *_bound_grads(ctx, grad, x, need_low, need_high)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]._data
        mask = _passes(ctx, x)
        _, need_low, need_high = ctx.needs_input_grad
        took_low, took_high = _taken(ctx, x)
        return (
            grad * mask,
            grad * took_low if need_low else None,
            grad * took_high if need_high else None,
        )


def _taken(ctx, x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where clamp took its low and its high bound: PyTorch's rule (with both bounds and
    low > high, every value is high)."""
    low, high = ctx.low, ctx.high
    took_low = x < low if low is not None else None
    took_high = x > high if high is not None else None
    if low is not None and high is not None:
        took_low, took_high = took_low & (low < high), took_high | (high < low)
    return took_low, took_high


def _passes(ctx: Any, x: np.ndarray) -> np.ndarray:
    """Where clamp's gradient passes: low <= x <= high, bounds included (PyTorch)."""
    mask = np.ones(x.shape, dtype=bool)
    if ctx.low is not None:
        mask &= x >= ctx.low
    if ctx.high is not None:
        mask &= x <= ctx.high
    return mask


def _bound_grads(ctx, grad: np.ndarray, x: np.ndarray, need_low: bool, need_high: bool) -> tuple:
    """The gradients of Variable bounds of clamp: where the bound was taken."""
    zero = np.zeros((), dtype=grad.dtype)
    took_low, took_high = _taken(ctx, x)
    return (
        np.where(took_low, grad, zero) if need_low else None,
        np.where(took_high, grad, zero) if need_high else None,
    )


class Relu(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            raise InputError("Boolean inputs not supported for relu")
        out = np.maximum(x, ZERO[x.dtype])
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        # out != 0: relu'(0) = 0, and at NaN the gradient passes (out is NaN), as in PyTorch
        (out,) = ctx.saved_tensors
        return grad * (out != ZERO[out.dtype])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return masked(grad, ctx.inputs[0], out._data != 0)


class LeakyRelu(Function):
    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        require_floating(x, "leaky_relu")
        ctx.saved_tensors = (x,)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, grad * ctx.slope)  # slope at 0 (PyTorch)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return masked(grad, x, np.where(x._data > 0, 1, ctx.slope).astype(x.dtype))


class Sigmoid(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind != "f":  # an int or bool input: the default float dtype
            x = floating(x)
        # Stable for large |x|: exp of a non-positive number only.
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (ONE[out.dtype] - out)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (out * (1 - out))


class Tanh(Function):
    _stores_attributes = False

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        if out.dtype is not x.dtype:  # an int or bool input: the default float dtype
            out = np.tanh(floating(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (ONE[out.dtype] - out * out)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * (1 - out * out)


_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))  # a Python float: float32 inputs stay float32


#: Abramowitz and Stegun 7.1.26: erfc(z) = t * P(t) * exp(-z*z), t = 1 / (1 + p*z), to 1.5e-7.
#: The coefficients of P are halved here: the polynomial gives 0.5 * erfc, the normal tail.
_ERFC_P = 0.3275911
_HALF_ERFC = tuple(0.5 * a for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                     1.061405429))  # fmt: skip


#: Elements per block of the float32 GELU: the blocks of its arrays stay in the L2 cache.
_GELU_BLOCK = 1 << 15

#: ``math.erfc`` element by element (~100x an ``exp``, exact to float64).
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _gelu_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x * Phi(x), Phi(x) + x * phi(x))``: GELU and its slope, with Phi(x) = 0.5 * (1 +
    erf(x / sqrt(2))) and phi its density. float32 by a polynomial in NumPy's vectorised
    arithmetic, to 3e-7 (GELU to 5e-7, PyTorch's float32 GELU to 1e-6), block by block; other
    dtypes by ``math.erfc``, exact to float64 (the oracle tests')."""
    if x.ndim != 1:  # 1-d, so that every ufunc returns an array (0-d gives scalars)
        out, slope = _gelu_parts(x.reshape(-1))
        return out.reshape(x.shape), slope.reshape(x.shape)
    if x.dtype != np.float32:  # Phi(x) = 0.5 * erfc(-x / sqrt(2)), accurate in both tails
        cdf = _erfc(x * (-1 / math.sqrt(2))).astype(x.dtype)
        cdf *= 0.5
        slope = np.square(x)
        slope *= -0.5
        np.exp(slope, out=slope)
        _add_density(slope, x, cdf)
        return x * cdf, slope
    out, slope = np.empty_like(x), np.empty_like(x)
    for start in range(0, x.size, _GELU_BLOCK):
        block = slice(start, start + _GELU_BLOCK)
        _gelu_block(x[block], out[block], slope[block])
    return out, slope


def _gelu_block(x: np.ndarray, out: np.ndarray, slope: np.ndarray) -> None:
    """GELU and its slope of float32 ``x`` into ``out`` and ``slope``, in 24 passes over them
    and one scratch array."""
    np.square(x, out=slope)
    slope *= -0.5
    np.exp(slope, out=slope)  # exp(-x*x/2), the density but for its constant
    np.abs(x, out=out)  # t = 1 / (1 + p * |x| / sqrt(2)), in the output until the end
    out += math.sqrt(2) / _ERFC_P
    np.divide(math.sqrt(2) / _ERFC_P, out, out=out)
    cdf = np.multiply(out, _HALF_ERFC[-1], out=scratch(x.shape, x.dtype))
    for c in _HALF_ERFC[-2::-1]:  # Phi(-|x|) = 0.5 * erfc(|x| / sqrt(2))
        cdf += c
        cdf *= out
    cdf *= slope
    # Phi(x) = 0.5 + sign(x) * (0.5 - Phi(-|x|)) (PyTorch's 1 + erf rounds the same way),
    # x's sign bit copied by integer ops (np.where, putmask and copysign branch or run
    # unvectorised: up to 15x slower on random signs)
    np.subtract(0.5, cdf, out=cdf)
    bits, sign = cdf.view(np.uint32), out.view(np.uint32)
    np.bitwise_and(x.view(np.uint32), 0x80000000, out=sign)
    bits |= sign
    cdf += 0.5
    np.multiply(x, cdf, out=out)
    _add_density(slope, x, cdf)


def _add_density(slope: np.ndarray, x: np.ndarray, cdf: np.ndarray) -> None:
    """``slope``, holding exp(-x*x/2), becomes Phi(x) + x * phi(x)."""
    slope *= x
    slope *= 1 / math.sqrt(2 * math.pi)  # (Python floats: float32 stays float32)
    slope += cdf


class Gelu(Function):
    """GELU: exact (``x * Phi(x)``) by default, or PyTorch's ``approximate="tanh"``."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise InputError(f"Gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        require_floating(x, "gelu")
        ctx.approximate = approximate
        if approximate == "tanh":
            ctx.saved_tensors = (x,)
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            ctx.tanh = np.tanh(inner)
            return 0.5 * x * (1 + ctx.tanh)
        # The slope, not Phi: one saved array. (Saving nothing and recomputing it in backward
        # from the output, as Phi = out / x, costs the step more than this array does.)
        out, ctx.slope = _gelu_parts(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.approximate == "tanh":
            (x,) = ctx.saved_tensors
            t = ctx.tanh
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        return grad * ctx.slope

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        if ctx.approximate == "tanh":
            t = ((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI).tanh()
            d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            return grad * ((t + 1) * 0.5 + x * (1 - t * t) * d_inner * 0.5)
        # Phi(x) + x * phi(x), Phi(x) = erfc(-x / sqrt(2)) / 2 (accurate in both tails)
        density = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return grad * (Erfc.apply(x * (-1 / math.sqrt(2))) * 0.5 + x * density)


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = generator.random(x.shape) >= p
        ctx.mask = keep.astype(x.dtype) / (1 - p)
        return x * ctx.mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * ctx.mask  # (the mask: a constant)


#: From this many rows softmax shifts the whole array by its one largest element (see
#: ``_shared_shift_softmax``) rather than each row by its own.
_MANY_ROWS = 512
#: From this many short rows (and twice as many as a row is long) a transposed copy reduced
#: over its first axis beats finding each row's largest element by ``argmax``.
_MANY_SHORT_ROWS = 512
#: Rows up to this many bytes are short: NumPy reduces them one by one (2-5x slower than a
#: transposed copy reduced over its first axis).
_SHORT_ROW = 256
#: Rows up to this many bytes take their maxima by ``argmax`` (its own loop, 2-3x faster than
#: NumPy's maximum over each row); longer rows NumPy reduces as fast.
_ARGMAX_ROW = 16384
#: A transposed copy is made this many elements at a time, so it stays in cache.
_CHUNK = 1 << 15


def _is_last(x: np.ndarray, axis) -> bool:
    ndim = x.ndim
    return (
        ndim > 0
        and (type(axis) is int or isinstance(axis, np.integer))
        and (axis == -1 or axis == ndim - 1)
    )


def row_max(x: np.ndarray, axis) -> np.ndarray:
    """``x.max(axis, keepdims=True)``; over the last axis by each row's ``argmax`` (its element
    taken from the flat array), or for many short rows by a reduction over the first axis of a
    transposed copy (of row chunks, in a reused scratch array, when big): NumPy's maximum
    reduces short rows one by one, several times slower. NaN wins, as in NumPy's maximum."""
    ndim = x.ndim
    n = x.shape[-1] if ndim else 0
    row_bytes = n * x.itemsize
    if n < 2 or row_bytes > _ARGMAX_ROW or not _is_last(x, axis):
        # (no element: a shift of 0, NumPy's max having no identity)
        return x.max(axis=axis, keepdims=True) if x.size else x.sum(axis=axis, keepdims=True)
    rows = x if ndim == 2 else x.reshape(-1, n)
    count = len(rows)
    if row_bytes > _SHORT_ROW or count < _MANY_SHORT_ROWS or count < 2 * n:
        out = rows.take(rows.argmax(1) + row_starts(count, n))
        return out[:, np.newaxis] if ndim == 2 else out.reshape(*x.shape[:-1], 1)
    if rows.size <= _CHUNK:  # one copy, small enough to stay in cache
        return np.maximum.reduce(rows.T.copy(), 0).reshape(*x.shape[:-1], 1)
    out = np.empty(len(rows), x.dtype)
    step = _CHUNK // n
    columns = scratch((n, step), x.dtype)
    for start in range(0, len(rows), step):
        stop = min(len(rows), start + step)
        chunk = columns[:, : stop - start]
        np.copyto(chunk, rows[start:stop].T)
        np.maximum.reduce(chunk, axis=0, out=out[start:stop])
    return out.reshape(*x.shape[:-1], 1)


_ROW_STARTS: dict[tuple[int, int], np.ndarray] = {}


def row_starts(rows: int, n: int) -> np.ndarray:
    """The flat index of each row's first element of a C-ordered (rows, n) array, read-only
    and made once per shape."""
    starts = _ROW_STARTS.get((rows, n))
    if starts is None:
        if len(_ROW_STARTS) >= 64:  # (shapes seen: a handful, unless they vary)
            _ROW_STARTS.clear()
        starts = _ROW_STARTS[rows, n] = np.arange(0, rows * n, n)
        starts.flags.writeable = False
    return starts


def row_sum(x: np.ndarray, axis) -> np.ndarray:
    """``x.sum(axis, keepdims=True)``; over the last axis of a float32/float64 array as a
    product with a vector of ones (BLAS: 2-10x faster than NumPy's reduction of each row)."""
    if x.dtype.kind != "f" or x.itemsize < 4 or not _is_last(x, axis) or not x.size:
        return x.sum(axis=axis, keepdims=True)
    n = x.shape[-1]
    if x.ndim == 2:
        return np.dot(x, ones_column(n, x.dtype))
    if x.ndim == 1:
        return np.dot(x, ones(n, x.dtype)).reshape(1)
    return np.dot(x.reshape(-1, n), ones(n, x.dtype)).reshape(*x.shape[:-1], 1)  # one BLAS call


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        require_floating(x, "softmax")
        out = _shared_shift_softmax(x, axis)
        if out is None:
            with np.errstate(invalid="ignore"):  # inf - inf, 0 / 0: NaN, as PyTorch's
                out = np.asarray(x - row_max(x, axis))  # an array also for 0-d x
                out = np.exp(out, out=out if out.dtype.kind == "f" else None)  # unless ints
                out /= row_sum(out, axis)
        ctx.saved_tensors = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        result = grad * out  # out * (grad - sum(grad * out)), in one buffer
        total = row_sum(result, ctx.axis)
        if not result.ndim or result.shape != grad.shape:  # a scalar, or grad broadcast
            return out * (grad - total)
        np.subtract(grad, total, out=result)
        result *= out
        return result

    @staticmethod
    def backward_graph(ctx, grad, out):
        return out * (grad - _kept_sum(grad * out, ctx.axis))


#: A row whose exponentials, shifted by the largest element of the whole array, sum to at least
#: this keeps every element within ~40 of its row's maximum a normal float (float32, float64).
_FULL_ROW_SUM = {4: 1e-20, 8: 1e-200}


def _shared_shift_softmax(x: np.ndarray, axis) -> np.ndarray | None:
    """Softmax over the last axis of many short rows, shifted by the array's largest element
    rather than each row's (one contiguous reduction, a shift by a scalar: no per-row maximum
    of short rows, no broadcast subtraction); None when that cannot be exact to rounding: a
    non-finite maximum, or a row so far below it that its exponentials would underflow."""
    rows = x.shape[-1] if x.ndim else 0
    if x.dtype.kind != "f" or not _is_last(x, axis) or x.size < _MANY_ROWS * max(rows, 1):
        return None
    top = float(np.maximum.reduce(x, axis=None))
    if not math.isfinite(top):  # NaN, or +inf (inf - inf): each row on its own
        return None
    out = np.subtract(x, x.dtype.type(top))
    np.exp(out, out=out)
    total = row_sum(out, axis)
    if not float(np.minimum.reduce(total, axis=None)) >= _FULL_ROW_SUM[x.itemsize]:
        return None
    out /= total
    return out


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        require_floating(x, "log_softmax")
        shifted = x - row_max(x, axis)
        if x.size:  # (an empty row would take log(0))
            out = shifted - np.log(row_sum(np.exp(shifted), axis))
        else:
            out = shifted
        ctx.saved_tensors = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * row_sum(grad, ctx.axis)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad - out.exp() * _kept_sum(grad, ctx.axis)


def _kept_sum(v: Any, axis: int | None) -> Any:
    """A Variable summed over ``axis`` (every element: None) with the axis kept."""
    return v.sum() if axis is None else v.sum(dim=axis, keepdim=True)
