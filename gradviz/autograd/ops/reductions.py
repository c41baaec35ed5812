"""Reductions: sum, mean, amax/amin and max/min along an axis (with their indices), each with
a ``backward_graph`` in Variable ops for ``create_graph=True``."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index, reduce_dims
from gradviz.autograd.errors import IndexRangeError, InputError, OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.scatter import put_in_zeros, scatter_grid
from gradviz.autograd.ops.sequence import leave_one_out
from gradviz.autograd.variable import Variable
from gradviz.autograd.variable_methods import MinMax


def reduction(
    x: Variable, op: type[Function], axis: Any, keepdims: bool, dim: Any, keepdim: bool | None
) -> Variable:
    """Apply reduction ``op`` with NumPy's ``axis/keepdims`` or PyTorch's ``dim/keepdim``; the
    axes checked and read as PyTorch reads them (``dims.reduce_dims``: None or ``()`` is all)."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    name = op.__name__.lower()
    if op is Mean and x.dtype.kind != "f":  # (PyTorch checks the dtype before the dims)
        raise InputError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {x.dtype} (use x.float().mean() or x.mean(dtype=np.float32))"
        )
    axes = reduce_dims(axis, x.ndim, name)
    if x.dtype.kind != "f" or not x._data.size:
        x = _checked(x, op, name, axes)
    return op.apply(x, axes, bool(keepdims))


def _checked(x: Variable, op: type[Function], name: str, axes: Any) -> Variable:
    """The input of a reduction of an integer, bool or empty ``x``, as PyTorch takes it: sums
    of ints are int64, max/min need elements along the reduced dims."""
    if op is Sum and x.dtype.kind == "u":  # NumPy's sum keeps unsigned; bools give int64
        return x.astype(np.int64)
    if not x._data.size and op in (Amax, Amin, Max, Min):
        if axes is None:
            raise InputError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        empty = next((a for a in np.atleast_1d(axes) if not x.shape[a]), None)
        if empty is not None:
            raise IndexRangeError(
                f"{name}(): Expected reduction dim {empty} to have non-zero size."
            )
    return x


def _expand(grad: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient back its reduced axes, ready to broadcast to ``shape``."""
    if keepdims:
        return grad
    if axis is None:
        return grad.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int | np.integer) else axis
    return np.expand_dims(grad, tuple(a % len(shape) for a in axes))


def kept_shape(shape: tuple[int, ...], axis: Any, keepdims: bool) -> tuple[int, ...]:
    """The shape of a reduction's output with the reduced axes kept (as 1s)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int | np.integer) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad.reshape(kept_shape(ctx.shape, ctx.axis, ctx.keepdims)).expand(ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        if not x.size:  # NaN where nothing is averaged, without NumPy's warnings (PyTorch)
            ctx.count = 0
            return np.full(np.sum(x, axis=axis, keepdims=keepdims).shape, np.nan, x.dtype)
        out = x.mean(axis=axis, keepdims=keepdims)
        ctx.count = x.size // max(np.size(out), 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = _expand(grad, ctx.shape, ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad, out):
        grad = grad.reshape(kept_shape(ctx.shape, ctx.axis, ctx.keepdims)) / ctx.count
        return grad.expand(ctx.shape)


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


def _extreme_graph(ctx, grad, out):
    """The graph rule of ``Amax``/``Amin``: ``grad`` shared evenly by the ties (a constant)."""
    x = ctx.inputs[0]._data
    kept = kept_shape(x.shape, ctx.axis, ctx.keepdims)
    ties = (x == out._data.reshape(kept)).astype(grad.dtype)
    return grad.reshape(kept) * (ties / ties.sum(axis=ctx.axis, keepdims=True))


class Amax(_Extreme):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Amax._forward(ctx, x, axis, keepdims)

    backward_graph = staticmethod(_extreme_graph)


class Amin(_Extreme):
    reduce = staticmethod(np.min)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return Amin._forward(ctx, x, axis, keepdims)

    backward_graph = staticmethod(_extreme_graph)


class _PickAlongAxis(Function):
    """Max/Min along one axis: the values at ``pick``'s indices; the gradient goes to those
    indices only (the first of any ties; NaN counts as the largest and smallest), as in PyTorch.

    Without an axis (``max()``): ties share the gradient evenly, and when the result is NaN the
    NaNs share it (PyTorch's ``max()``; ``amax`` gives NaN gradients there instead).
    """

    pick = staticmethod(np.argmax)
    reduce = staticmethod(np.max)

    @classmethod
    def _forward(cls, ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        if axis is None:
            value = cls.reduce(x, keepdims=keepdims)
            ctx.save_for_backward(x, value)
            return value
        ctx.indices = cls.pick(x, axis=axis, keepdims=True)
        out = np.take_along_axis(x, ctx.indices, axis=axis)
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        if ctx.axis is None:
            x, value = ctx.saved_tensors
            ties = np.isnan(x) if np.isnan(value).any() else x == value
            ties = ties.astype(grad.dtype)
            return grad * (ties / ties.sum())
        grad = grad if ctx.keepdims else np.expand_dims(grad, ctx.axis)
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(out, ctx.indices, grad, axis=ctx.axis)
        return out


def _pick_graph(ctx, grad, out):
    """The graph rule of ``Max``/``Min``: ``grad`` put at the picked indices (along an axis),
    or shared by the ties (or the NaNs) of the whole input, a constant."""
    if ctx.axis is None:
        x, value = ctx.inputs[0]._data, out._data
        ties = (np.isnan(x) if np.isnan(value).any() else x == value).astype(grad.dtype)
        return grad * (ties / ties.sum())
    grad = grad if ctx.keepdims else grad.unsqueeze(ctx.axis)
    return put_in_zeros(ctx.shape, scatter_grid(ctx.indices, ctx.axis), grad)


class Max(_PickAlongAxis):
    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        return Max._forward(ctx, x, axis, keepdims)

    backward_graph = staticmethod(_pick_graph)


class Min(_PickAlongAxis):
    pick = staticmethod(np.argmin)
    reduce = staticmethod(np.min)

    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        return Min._forward(ctx, x, axis, keepdims)

    backward_graph = staticmethod(_pick_graph)


def max_or_min(
    x: Variable, op: type[Function], axis: Any, keepdims: bool, dim: Any, keepdim: bool | None
) -> Variable | MinMax:
    """``max()``/``min()``: a 0-d Variable without an axis, ``(values, indices)`` with one."""
    if dim is not None:
        axis = dim
    keepdims = bool(keepdims if keepdim is None else keepdim)
    if axis is None:
        if not x._data.size:
            _checked(x, op, op.__name__.lower(), None)
        return op.apply(x, None, keepdims)
    if isinstance(axis, Variable | np.ndarray):  # PyTorch's max(input, other): maximum
        return x.maximum(axis) if op is Max else x.minimum(axis)
    if not isinstance(axis, int | np.integer):
        raise OperandError(f"{op.__name__}: dim must be one integer, got {axis!r}")
    axis = dim_index(axis, x.ndim, op.__name__.lower())
    arg = nodiff.Argmax if op is Max else nodiff.Argmin  # no gradient, as PyTorch's
    # The indices are announced before the values are computed: the values, on the way to the
    # loss, are the line's last op and keep its name (``logit_maxes = x.max(1).values``).
    if not x.ndim:  # 0-d: dim 0 or -1 gives the value and index 0, as in PyTorch
        index = nodiff.announce(arg, (x, axis), Variable(np.zeros((), dtype=np.int64)))
        return MinMax(op.apply(x, None, keepdims), index)
    if not x.shape[axis]:  # NumPy's argmax raises a ValueError on an empty axis
        raise IndexRangeError(
            f"{op.__name__.lower()}(): Expected reduction dim {axis} to have non-zero size."
        )
    indices = np.asarray(op.pick(x._data, axis=axis, keepdims=keepdims), dtype=np.int64)
    index = nodiff.announce(arg, (x, axis), Variable(indices))
    return MinMax(op.apply(x, axis, keepdims), index)


class Prod(Function):
    """Product over ``axis`` (one int; None: every element). Each element's gradient is the
    product of the others (prefix times suffix products), exact where the input has zeros,
    as PyTorch's."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x)
        ctx.axis, ctx.keepdims = axis, keepdims
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.axis is not None and not ctx.keepdims:
            grad = np.expand_dims(grad, ctx.axis)
        if not x.size:
            return np.zeros(x.shape, grad.dtype)
        row = x.reshape(-1) if ctx.axis is None else np.moveaxis(x, ctx.axis, -1)
        ones = np.ones((*row.shape[:-1], 1), x.dtype)
        before = np.cumprod(np.concatenate([ones, row[..., :-1]], -1), -1)
        after = np.cumprod(np.concatenate([ones, row[..., :0:-1]], -1), -1)[..., ::-1]
        others = before * after
        if ctx.axis is None:
            return grad * others.reshape(x.shape)
        return grad * np.moveaxis(others, -1, ctx.axis)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        if ctx.axis is not None and not ctx.keepdims:
            grad = grad.unsqueeze(ctx.axis)
        if not x.numel():
            return np.zeros(x.shape, grad.dtype)
        row = x.reshape(-1) if ctx.axis is None else x.movedim(ctx.axis, -1)
        others = leave_one_out(row)[..., -1]  # the product of all the others
        if ctx.axis is None:
            return grad * others.reshape(x.shape)
        return grad * others.movedim(-1, ctx.axis)


def prod(x: Variable, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Variable:
    """``x.prod(dim=None, keepdim=False, dtype=None)``: bool and integer inputs give int64, as
    PyTorch's."""
    if dtype is not None:
        x = x.astype(dtype)
    elif x.dtype.kind in "biu" and x.dtype != np.int64:
        x = x.astype(np.int64)
    if dim is None:
        return Prod.apply(x, None, bool(keepdim))
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
        raise OperandError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axis = dim_index(dim, x.ndim, "prod")  # (a 0-d input takes dim 0 or -1)
    return Prod.apply(x, axis if x.ndim else None, bool(keepdim))
