"""The primitive ops: one ``Function`` per op, forward and backward side by side.

Backward rules return gradients in the output's broadcast shape; the engine reduces them to each
input's shape. ``ctx.needs_input_grad`` lets a rule skip work nobody will use. Subgradient choices
match PyTorch and say so where they are made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, OperandError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.variable import MinMax, Variable

# ------------------------------------------------------------------------------------ arithmetic


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad  # save only what backward reads, as PyTorch
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    @staticmethod
    def forward(ctx, base, exponent):
        out = base**exponent
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


class Linear(Function):
    """``x @ weight.T + bias`` as one op (PyTorch's ``F.linear``): one node, one fused backward."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if np.shape(x)[-1:] != np.shape(weight)[1:]:
            raise ShapeError(
                f"Linear: input of shape {np.shape(x)} does not match weight of shape "
                f"{np.shape(weight)} (expected input (..., {np.shape(weight)[1]}))"
            )
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
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
        grad_x = grad @ weight if needs[0] else None
        grad_w = g2.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        if len(needs) == 2:  # called without bias: one gradient per input
            return grad_x, grad_w
        return grad_x, grad_w, (g2.sum(axis=0) if needs[2] else None)


# ------------------------------------------------------------------------------------ reductions


def reduction_args(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None) -> tuple:
    """Accept NumPy's ``axis/keepdims`` and PyTorch's ``dim/keepdim``; axes as a tuple or None."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def _expand(grad: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient back its reduced axes, ready to broadcast to ``shape``."""
    if keepdims:
        return grad
    if axis is None:
        return grad.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int | np.integer) else axis
    return np.expand_dims(grad, tuple(a % len(shape) for a in axes))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = x.mean(axis=axis, keepdims=keepdims)
        ctx.count = x.size // max(np.size(out), 1) if x.size else 0
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = _expand(grad, ctx.shape, ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)


class _Extreme(Function):
    """Amax/Amin: ties share the gradient evenly (PyTorch's amax/amin)."""

    reduce = staticmethod(np.max)

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims):
        value = cls.reduce(x, axis=axis, keepdims=keepdims)
        ctx.save_for_backward(x, value)
        ctx.axis, ctx.keepdims = axis, keepdims
        return value

    @staticmethod
    def backward(ctx, grad):
        x, value = ctx.saved_tensors
        ties = (x == _expand(value, x.shape, ctx.axis, ctx.keepdims)).astype(grad.dtype)
        share = ties / ties.sum(axis=ctx.axis, keepdims=True)  # in grad's dtype, not float64
        return _expand(grad, x.shape, ctx.axis, ctx.keepdims) * share


class Amax(_Extreme):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Amax._forward(ctx, x, axis, keepdims)


class Amin(_Extreme):
    reduce = staticmethod(np.min)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Amin._forward(ctx, x, axis, keepdims)


class _PickAlongAxis(Function):
    """Max/Min along one axis: the values at ``pick``'s indices; the gradient goes to those
    indices only (the first of any ties), as in PyTorch."""

    pick = staticmethod(np.argmax)

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        ctx.indices = cls.pick(x, axis=axis, keepdims=True)
        out = np.take_along_axis(x, ctx.indices, axis=axis)
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        grad = grad if ctx.keepdims else np.expand_dims(grad, ctx.axis)
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(out, ctx.indices, grad, axis=ctx.axis)
        return out


class Max(_PickAlongAxis):
    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        return Max._forward(ctx, x, axis, keepdims)


class Min(_PickAlongAxis):
    pick = staticmethod(np.argmin)

    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        return Min._forward(ctx, x, axis, keepdims)


def max_or_min(
    x: Variable, op: type[Function], axis: Any, keepdims: bool, dim: Any, keepdim: bool | None
) -> Variable | MinMax:
    """``max()``/``min()``: a 0-d Variable without an axis, ``(values, indices)`` with one."""
    axis, keepdims = reduction_args(axis, keepdims, dim, keepdim)
    if axis is None:
        return (Amax if op is Max else Amin).apply(x, None, keepdims)
    if not isinstance(axis, int | np.integer):
        raise OperandError(f"{op.__name__}: dim must be one integer, got {axis!r}")
    axis = int(axis) % max(x.ndim, 1)
    indices = op.pick(x.data, axis=axis, keepdims=keepdims)
    return MinMax(op.apply(x, axis, keepdims), indices)


# --------------------------------------------------------------------------------------- shapes


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = dim0, dim1
        return np.swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return np.swapaxes(grad, *ctx.dims)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
            raise ShapeError(f"Permute: dims {dims} are not a permutation of {x.ndim} axes")
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort([d % grad.ndim for d in ctx.dims]))


def normalize_index(index: Any) -> Any:
    """Replace Variables inside an index by their arrays (indices carry no gradient)."""
    if isinstance(index, Variable):
        return index.data
    if isinstance(index, tuple):  # lists inside become arrays, so repeats accumulate
        return tuple(
            i.data if isinstance(i, Variable) else np.asarray(i) if isinstance(i, list) else i
            for i in index
        )
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index: Any) -> bool:
    """True for indices without integer arrays (no element can be picked twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, np.ndarray) or p.dtype == np.bool_ for p in parts)


class Index(Function):
    """``x[index]`` with slices, integers, integer arrays and boolean masks."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            return x[index]
        except IndexError as error:
            raise ShapeError(f"Index: {error} (input shape {x.shape})") from None

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:
            np.add.at(out, ctx.index, grad)  # repeated indices accumulate
        return out, None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return (None, *np.split(grad, ctx.sizes, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return (None, *np.moveaxis(grad, ctx.axis, 0))


def concatenate(variables: Any, axis: int = 0, *, dim: int | None = None) -> Variable:
    """Join Variables along an existing axis (``torch.cat``)."""
    return Cat.apply(dim if dim is not None else axis, *variables)


def stack(variables: Any, axis: int = 0, *, dim: int | None = None) -> Variable:
    """Join Variables along a new axis (``torch.stack``)."""
    return Stack.apply(dim if dim is not None else axis, *variables)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine casts it back to the input's dtype


# ----------------------------------------------------------------------------------- elementwise


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / ctx.saved_tensors[0]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / (2 * ctx.saved_tensors[0])


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.saved_tensors[0])  # sign(0) = 0, as in PyTorch


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # The gradient passes where low <= x <= high, bounds included (PyTorch).
        mask = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            mask &= x >= ctx.low
        if ctx.high is not None:
            mask &= x <= ctx.high
        return grad * mask


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * (ctx.saved_tensors[0] > 0)  # relu'(0) = 0, as in PyTorch


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, grad * ctx.slope)  # slope at 0 (PyTorch)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # Stable for large |x|: exp of a non-positive number only.
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))  # a Python float: float32 inputs stay float32


class Gelu(Function):
    """GELU: exact (``x * Phi(x)``) by default, or PyTorch's ``approximate="tanh"``."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            ctx.tanh = np.tanh(inner)
            return 0.5 * x * (1 + ctx.tanh)
        if approximate != "none":
            raise ArgumentError(f"Gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        from scipy.special import erf

        ctx.cdf = (0.5 * (1 + erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)
        return x * ctx.cdf

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = ctx.tanh
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # Python floats: float32 stays
        return grad * (ctx.cdf + x * pdf)


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p, generator):
        keep = generator.random(x.shape) >= p
        ctx.mask = keep.astype(x.dtype) / (1 - p)
        return x * ctx.mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask


# ------------------------------------------------------------------- fused functional ops (stable)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = np.exp(x - x.max(axis=axis, keepdims=True))
        out = shifted / shifted.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


def _reduce(loss: np.ndarray, reduction: str, op: str) -> np.ndarray:
    if reduction == "mean":
        # What ndarray.mean computes for 32/64-bit floats, minus its ~2 µs Python wrapper.
        return loss.sum() / loss.size if loss.dtype.itemsize >= 4 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduced_grad(grad: np.ndarray, shape: tuple[int, ...], reduction: str) -> np.ndarray:
    """The gradient of each element of an unreduced loss of ``shape``."""
    if reduction == "mean":
        return grad / max(math.prod(shape), 1)
    return grad


def _class_targets(op: str, scores: np.ndarray, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check integer class ``target`` against ``scores`` (N, C) or (C,); both as 2-D and 1-D."""
    target = np.asarray(target)
    if target.dtype.kind not in "iu":
        raise OperandError(f"{op}: target must hold integer class indices, got {target.dtype}")
    if scores.ndim == 1:
        scores, target = scores[np.newaxis], target.reshape(1)
    if target.shape != scores.shape[:1]:
        raise ShapeError(
            f"{op}: expected target of shape {scores.shape[:1]} for input "
            f"{scores.shape}, got {target.shape}"
        )
    return scores, target


class NllLoss(Function):
    """Negative log-likelihood of integer ``target`` classes under log-probabilities (N, C)."""

    @staticmethod
    def forward(ctx, log_probs, target, reduction="mean"):
        ctx.shape = log_probs.shape
        log_probs, target = _class_targets("NllLoss", log_probs, target)
        rows = np.arange(len(target))
        ctx.rows, ctx.target, ctx.reduction = rows, target, reduction
        loss = _reduce(-log_probs[rows, target], reduction, "NllLoss")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros((len(ctx.target), ctx.shape[-1]), dtype=grad.dtype)
        out[ctx.rows, ctx.target] = -_reduced_grad(grad, ctx.target.shape, ctx.reduction)
        return out.reshape(ctx.shape), None, None


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) and integer classes: log_softmax and the negative
    log-likelihood fused into one stable node, whose gradient is softmax minus one-hot."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean"):
        ctx.shape = logits.shape
        logits, target = _class_targets("CrossEntropy", logits, target)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(target))
        ctx.save_for_backward(exp, total)
        ctx.rows, ctx.target, ctx.reduction = rows, target, reduction
        # -log_softmax(logits)[rows, target], without the full log_softmax array
        loss = _reduce(np.log(total[:, 0]) - shifted[rows, target], reduction, "CrossEntropy")
        return loss.reshape(()) if len(ctx.shape) == 1 else loss  # (C,) in: 0-d out (PyTorch)

    @staticmethod
    def backward(ctx, grad):
        exp, total = ctx.saved_tensors
        grad = _reduced_grad(grad, ctx.target.shape, ctx.reduction)
        out = exp / total  # softmax
        out[ctx.rows, ctx.target] -= 1
        out *= grad[:, np.newaxis] if grad.ndim else grad
        return out.reshape(ctx.shape), None, None


class MseLoss(Function):
    @staticmethod
    def forward(ctx, prediction, target, reduction="mean"):
        diff = prediction - target
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction, "MseLoss")

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        g = 2 * diff * _reduced_grad(grad, diff.shape, ctx.reduction)
        return g, (-g if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """BCE on probabilities; each log is clamped at -100, as in PyTorch."""

    @staticmethod
    def forward(ctx, p, target, reduction="mean"):
        ctx.save_for_backward(p, target)
        ctx.reduction = reduction
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        return _reduce(-(target * log_p + (1 - target) * log_q), reduction, "BinaryCrossEntropy")

    @staticmethod
    def backward(ctx, grad):
        p, target = ctx.saved_tensors
        eps = 1e-12  # PyTorch's clamp of the denominator
        g = _reduced_grad(grad, np.broadcast_shapes(np.shape(p), np.shape(target)), ctx.reduction)
        grad_p = g * (p - target) / np.maximum(p * (1 - p), eps)
        grad_target = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                grad_target = g * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100))
        return grad_p, grad_target


class BinaryCrossEntropyWithLogits(Function):
    """BCE on logits, stable for any logit: max(x, 0) - x*t + log(1 + exp(-|x|))."""

    @staticmethod
    def forward(ctx, x, target, reduction="mean"):
        ctx.save_for_backward(x, target)
        ctx.reduction = reduction
        loss = np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))
        return _reduce(loss, reduction, "BinaryCrossEntropyWithLogits")

    @staticmethod
    def backward(ctx, grad):
        x, target = ctx.saved_tensors
        g = _reduced_grad(grad, np.broadcast_shapes(np.shape(x), np.shape(target)), ctx.reduction)
        e = np.exp(-np.abs(x))
        sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        grad_target = -g * x if ctx.needs_input_grad[1] else None
        return g * (sigmoid - target), grad_target


#: Every built-in op, for the op-table test that keeps each one covered.
BUILTIN_OPS: tuple[type[Function], ...] = tuple(
    obj
    for obj in list(globals().values())
    if isinstance(obj, type)
    and issubclass(obj, Function)
    and obj.__module__ == __name__
    and not obj.__name__.startswith("_")
)
