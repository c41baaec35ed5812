"""Ops along a dim: ``flip``, ``roll``, ``cumprod`` and the full ``median``, each one
``Function``; and the checked helpers of ``narrow``, ``diff``, ``median(dim)``,
``repeat_interleave`` and ``div`` with a ``rounding_mode``, which compose existing ops.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd.dims import dim_index, reduce_dims
from gradviz.autograd.errors import (
    ArgumentError,
    IndexRangeError,
    InputError,
    OperandError,
    ShapeError,
)
from gradviz.autograd.function import Function
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.promotion import cast, result_type
from gradviz.autograd.variable import Variable


class Flip(Function):
    """The order of the elements reversed along ``axes`` (a copy, as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.axes)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Flip.apply(grad, ctx.axes)


class Roll(Function):
    """Elements shifted by ``shifts`` along ``axes``, wrapping around (axes None: the
    flattened input, its shape kept)."""

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts) if ctx.axes is not None else -ctx.shifts[0]
        return np.roll(grad, back, ctx.axes)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Roll.apply(grad, tuple(-s for s in ctx.shifts), ctx.axes)


class Cumprod(Function):
    """Running products along ``axis``; the gradient exact where the input has zeros (each
    ``d out[j] / d x[k]`` is the product of the others up to ``j``, as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, axis):
        if x.dtype.kind in "biu":  # integers and bools give int64, as PyTorch's
            x = x.astype(np.int64)
        ctx.saved_tensors = (x,)
        ctx.axis = axis
        return np.cumprod(x, axis) if x.ndim else x.copy()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not x.ndim:
            return grad
        xs, g = np.moveaxis(x, ctx.axis, -1), np.moveaxis(grad, ctx.axis, -1)
        n = xs.shape[-1]
        others = np.repeat(xs[..., np.newaxis, :], n, axis=-2)  # row k: x with x[k] = 1
        others[..., np.arange(n), np.arange(n)] = 1
        products = np.cumprod(others, axis=-1) * np.triu(np.ones((n, n), x.dtype))
        return np.moveaxis((products * g[..., np.newaxis, :]).sum(-1), -1, ctx.axis)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        if not x.ndim:
            return grad
        products = leave_one_out(x.movedim(ctx.axis, -1))
        products = products * np.triu(np.ones(products.shape[-2:], x.dtype))
        return (products * grad.movedim(ctx.axis, -1).unsqueeze(-2)).sum(-1).movedim(-1, ctx.axis)


def leave_one_out(row: Variable) -> Variable:
    """``p[..., k, j]``, the product of ``row[..., :j + 1]`` without element ``k`` (recorded
    ops: a ``Cumprod`` of ``row`` repeated with ones on the diagonal, exact where the row has
    zeros), of which ``cumprod``'s and ``prod``'s gradients are made."""
    n = row.shape[-1]
    rows = row.unsqueeze(-2).expand(*row.shape[:-1], n, n)
    return Cumprod.apply(Where.apply(np.eye(n, dtype=bool), np.ones((), row.dtype), rows), -1)


class Median(Function):
    """The lower median of every element (NaN if any is NaN), as PyTorch's ``median()``;
    the gradient is shared evenly by the elements equal to it, as PyTorch shares it."""

    @staticmethod
    def forward(ctx, x):
        flat = x.reshape(-1)
        nan = np.isnan(flat) if x.dtype.kind == "f" else np.zeros(flat.shape, bool)
        if nan.any() or not flat.size:
            ctx.ties = np.isnan(x)
            return np.asarray(np.nan, x.dtype)
        value = np.sort(flat)[(flat.size - 1) // 2]
        ctx.ties = x == value
        return np.asarray(value)

    @staticmethod
    def backward(ctx, grad):
        ties = ctx.ties
        return grad * ties / max(int(ties.sum()), 1)

    @staticmethod
    def backward_graph(ctx, grad, out):
        ties = ctx.ties
        return grad * (ties / max(int(ties.sum()), 1)).astype(grad.dtype)


class MedianDim(NamedTuple):
    """``median(dim)``'s result: the medians and where they are (int64), PyTorch's fields."""

    values: Variable
    indices: Variable


def median_dim(x: Variable, dim: Any, keepdim: bool) -> MedianDim:
    """The lower median along ``dim`` and its index (the first NaN's where a row has one)."""
    axis = dim_index(dim, x.ndim, "median")
    data = x._data if x.ndim else x._data.reshape(1)
    n = data.shape[axis]
    if n == 0:
        raise InputError("median(): Expected reduction dim to have non-zero size")
    order = np.argsort(data, axis, kind="stable")  # NaN last
    index = np.take(order, [(n - 1) // 2], axis)
    if data.dtype.kind == "f":
        nan = np.isnan(data)
        index = np.where(nan.any(axis, keepdims=True), nan.argmax(axis, keepdims=True), index)
    return MedianDim(*kept_or_not(x, axis, keepdim, nodiff.MedianIndices, index))


def kept_or_not(
    x: Variable, axis: int, keepdim: bool, op: type[Function], index: np.ndarray
) -> tuple[Variable, Variable]:
    """``(values, indices)`` of a reduction along ``axis`` whose ``index`` (of one element
    along ``axis``) ``op`` found: the indices as ``op``'s output (a trace draws where they came
    from), the values gathered at them, ``axis`` dropped unless ``keepdim``."""
    kept = x.shape[:axis] + x.shape[axis + 1 :]
    index = index.astype(np.int64, copy=False)
    keep = keepdim and x.ndim
    indices = nodiff.announce(
        op, (x, axis, keepdim), Variable(index if keep else index.reshape(kept))
    )
    if not x.ndim:
        return x.clone(), indices
    values = x.gather(axis, indices if keep else indices.reshape(index.shape))
    return (values if keep else values.reshape(*kept)), indices


class Sorted(NamedTuple):
    """``(values, indices)`` returned by ``sort`` and ``topk``, as in PyTorch; the values are
    gathered from the input (their gradient goes back to where each came from)."""

    values: Variable
    indices: Variable


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """The stable sort order of ``data`` along ``axis`` (int64); NaN sorts as the largest."""
    if data.ndim == 0:
        return np.zeros((), np.int64)
    key = data
    if descending:  # NaN first, ties in their order: an ascending sort of the negated values
        key = data.astype(np.int64) if data.dtype.kind in "bu" else data
        key = -key
        if key.dtype.kind == "f":
            key = np.where(np.isnan(key), -np.inf, key)
    return np.argsort(key, axis=axis, kind="stable").astype(np.int64, copy=False)


def _picked(x: Variable, axis: int, indices: Variable) -> Sorted:
    """``x``'s values at ``indices`` along ``axis``, and the indices (which a trace draws as
    the output of the op that found them, read by the ``Gather`` of the values)."""
    if not x.ndim:  # its one value, read at the index found (not a copy beside it)
        return Sorted(x.reshape(1)[indices], indices)
    return Sorted(x.gather(axis, indices), indices)


def _sort_order(x: Variable, axis: int, descending: bool) -> Variable:
    order = Variable(_order(x._data, axis, descending))
    return nodiff.announce(nodiff.Argsort, (x, axis, descending), order)


def argsort(x: Variable, dim: int, descending: bool) -> Variable:
    """``x.argsort(dim, descending)``: where each value of the sorted order was."""
    return _sort_order(x, dim_index(dim, x.ndim, "argsort"), descending)


def sort(x: Variable, dim: int, descending: bool) -> Sorted:
    """``x.sort(dim, descending)``: the values in order and where each was."""
    axis = dim_index(dim, x.ndim, "sort")
    return _picked(x, axis, _sort_order(x, axis, descending))


def topk(x: Variable, k: int, dim: int, largest: bool) -> Sorted:
    """``x.topk(k, dim, largest)``: the ``k`` largest (or smallest) values and their indices."""
    axis = dim_index(dim, x.ndim, "topk")
    size = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= size:
        raise IndexRangeError(f"topk(): selected index k out of range (k={k!r}, size {size})")
    order = _order(x._data, axis, largest)  # (sorted or not: PyTorch's order is free)
    if x.ndim:
        order = np.take(order, np.arange(k), axis=axis)
    found = nodiff.announce(nodiff.TopkIndices, (x, k, axis, largest), Variable(order))
    return _picked(x, axis, found)


def flip(x: Variable, dims: Any) -> Variable:
    """``x`` reversed along ``dims`` (an int or a sequence of them, none repeated)."""
    axes = reduce_dims(tuple(dims) if isinstance(dims, list | tuple) else (dims,), x.ndim, "flip")
    if axes is None or not x.ndim:
        return Flip.apply(x, ())
    return Flip.apply(x, axes if isinstance(axes, tuple) else (axes,))


def roll(x: Variable, shifts: Any, dims: Any) -> Variable:
    """``x`` rolled by ``shifts`` along ``dims`` (None: over the flattened elements)."""
    shifts = _ints(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise InputError(f"roll(): shifts {shifts} without dims must hold one value")
        return Roll.apply(x, shifts, None)
    dims = _ints(dims, "roll", "dims")
    if len(dims) != len(shifts):  # (before the dims' range, as PyTorch checks)
        raise InputError(
            f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    axes = tuple(dim_index(d, x.ndim, "roll") for d in dims)
    return Roll.apply(x, shifts, axes if x.ndim else None)


def _ints(values: Any, op: str, name: str) -> tuple[int, ...]:
    values = tuple(values) if isinstance(values, list | tuple) else (values,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise OperandError(
                f"{op}(): argument '{name}' must be an int or a tuple of ints, not "
                f"{type(v).__name__}"
            )
    return tuple(int(v) for v in values)


def narrow(x: Variable, dim: Any, start: Any, length: Any) -> Variable:
    """The view ``x[..., start : start + length, ...]`` along ``dim`` (a negative ``start``
    counts from the end), checked as PyTorch checks it."""
    if not x.ndim:
        raise InputError("narrow() cannot be applied to a 0-dim tensor.")
    axis = dim_index(dim, x.ndim, "narrow")
    start, length = _ints(start, "narrow", "start") + _ints(length, "narrow", "length")
    size = x.shape[axis]
    if not -size <= start <= size:
        raise InputError(
            f"narrow(): start ({start}) is out of bounds for dimension {axis} of size {size}; "
            f"expected it in [{-size}, {size}]"
        )
    start %= size or 1
    if length < 0 or start + length > size:
        raise InputError(
            f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size})."
        )
    return x[(slice(None),) * axis + (slice(start, start + length),)]


def diff(x: Variable, n: Any, dim: Any, prepend: Any, append: Any) -> Variable:
    """The ``n``-th forward difference along ``dim`` after joining ``prepend`` and
    ``append`` (bools: ``!=`` of neighbours, as PyTorch's)."""
    from gradviz.autograd.ops.shape import concatenate

    if not x.ndim:
        raise InputError("diff expects input to be at least one-dimensional")
    (n,) = _ints(n, "diff", "n")
    if n < 0:
        raise InputError(f"order must be non-negative but got {n}")
    axis = dim_index(dim, x.ndim, "diff")
    parts = [p for p in (prepend, x, append) if p is not None]
    for p in parts:
        if np.ndim(p._data if isinstance(p, Variable) else p) != x.ndim:
            raise ShapeError(
                "diff expects prepend or append to be the same dimension as input, got "
                f"{np.ndim(p._data if isinstance(p, Variable) else p)}-d for {x.ndim}-d input"
            )
    out = concatenate(parts, axis) if len(parts) > 1 else x
    for _ in range(n):
        length = out.shape[axis] - 1
        if length <= 0:
            return narrow(out, axis, 0, 0)
        later, earlier = narrow(out, axis, 1, length), narrow(out, axis, 0, length)
        out = later != earlier if out.dtype.kind == "b" else later - earlier
    return out


def repeat_interleave(x: Variable, repeats: Any, dim: Any) -> Variable:
    """Each element (``dim`` None: of the flattened input) repeated ``repeats`` times, or
    ``repeats[i]`` times for the ``i``-th along ``dim``."""
    if dim is None:
        x, dim = x.reshape(-1), 0
    axis = dim_index(dim, x.ndim, "repeat_interleave")
    counts = np.asarray(repeats._data if isinstance(repeats, Variable) else repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise InputError(
            "repeat_interleave(): repeats must be an int or a 0-d or 1-d integer Variable, got "
            f"{counts.ndim}-d {counts.dtype}"
        )
    size = x.shape[axis] if x.ndim else 1
    if counts.ndim == 1 and counts.size not in (1, size):
        raise InputError(
            f"repeat_interleave(): repeats must have the same size as input along dim, but "
            f"got repeats.size(0) = {counts.size} and input.size({axis}) = {size}"
        )
    if np.any(counts < 0):
        raise InputError("repeat_interleave(): repeats can not be negative")
    picks = np.repeat(np.arange(size), counts.reshape(-1) if counts.ndim else int(counts))
    return (x.reshape(1) if not x.ndim else x).index_select(axis, picks)


_ROUNDING = (None, "trunc", "floor")


def divide(a: Variable, b: Any, rounding_mode: Any) -> Variable:
    """``a / b`` (PyTorch's ``div``): true division, or rounded toward zero (``"trunc"``) or
    down (``"floor"``), where the gradient is zero, as PyTorch's."""
    if rounding_mode not in _ROUNDING:
        raise ArgumentError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    if rounding_mode is None:
        return a / b
    if rounding_mode == "floor":
        return a // b
    other = b._data if isinstance(b, Variable) else b
    dtype = result_type(a._data, other)
    if dtype.kind == "f":
        return (a / b).trunc()
    x, y = cast(a._data, dtype), cast(np.asarray(other), dtype)
    if np.any(np.equal(y, 0)):
        raise InputError("ZeroDivisionError: integer division by zero")
    quotient = np.floor_divide(x, y)
    inexact = (x - quotient * y != 0) & ((x < 0) != (y < 0))
    return nodiff.announce(nodiff.DivTrunc, (a, b), Variable((quotient + inexact).astype(dtype)))
