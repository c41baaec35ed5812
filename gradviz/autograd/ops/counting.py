"""Ops that count and find, without gradient as in PyTorch: ``count_nonzero``, ``bincount``,
``unique``, ``nonzero`` and ``equal``.

Each result is a Variable that does not require grad and has no op (int64 indices and counts,
as PyTorch's), built as ``argmax`` builds its indices: a trace draws it as the output of a
no-gradient op (``ops.nodiff``) reading the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index, reduce_dims
from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.ops import nodiff
from gradviz.autograd.variable import Variable


def _int64(op: type[nodiff.NoGradient], args: tuple[Any, ...], array: Any) -> Variable:
    """``array`` as an int64 Variable, the result of ``op`` on ``args``."""
    return nodiff.announce(op, args, Variable(np.asarray(array, dtype=np.int64)))


def count_nonzero(x: Variable, dim: Any = None) -> Variable:
    """The number of nonzero elements over ``dim`` (an int, a tuple, or None: all), int64."""
    axis = reduce_dims(dim, x.ndim, "count_nonzero")
    return _int64(nodiff.CountNonzero, (x, axis), np.count_nonzero(x._data, axis=axis))


def bincount(x: Variable, weights: Any = None, minlength: int = 0) -> Variable:
    """How often each value of a 1-d non-negative integer input occurs (int64), or the sums of
    ``weights`` by value (float weights keep their dtype, integer ones give float64)."""
    data = x._data
    if data.dtype.kind not in "iub" or data.ndim != 1 or (data.size and data.min() < 0):
        raise InputError("bincount only supports 1-d non-negative integral inputs.")
    if isinstance(minlength, bool) or not isinstance(minlength, int | np.integer):
        raise OperandError(f"bincount(): argument 'minlength' must be int, not {minlength!r}")
    if minlength < 0:
        raise InputError("minlength should be >= 0")
    if weights is None:
        return _int64(nodiff.Bincount, (x, None, minlength), np.bincount(data, minlength=minlength))
    w = weights._data if isinstance(weights, Variable) else np.asarray(weights)
    if w.ndim != 1 or w.shape != data.shape:
        raise ShapeError("weights should be 1-d and have the same length as input")
    dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    counts = Variable(np.bincount(data, weights=w, minlength=minlength).astype(dtype))
    return nodiff.announce(nodiff.Bincount, (x, weights, minlength), counts)


def unique(
    x: Variable,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Variable | tuple[Variable, ...]:
    """The distinct values in ascending order (slices along ``dim`` when given), and with
    ``return_inverse``/``return_counts`` where each element went and how often each occurs
    (int64), as PyTorch's ``unique``; the result carries no gradient. PyTorch's CPU ``unique``
    sorts whatever ``sorted`` says, and so does this."""
    axis = None if dim is None else dim_index(dim, x.ndim, "unique")
    values, inverse, counts = np.unique(
        x._data, return_inverse=True, return_counts=True, axis=axis, equal_nan=False
    )
    out = [nodiff.announce(nodiff.Unique, (x, axis), Variable(values))]
    if return_inverse:
        inverse = inverse.reshape(x.shape) if axis is None else inverse.reshape(-1)
        out.append(_int64(nodiff.UniqueInverse, (x, axis), inverse))
    if return_counts:
        out.append(_int64(nodiff.UniqueCounts, (x, axis), counts))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(x: Variable, as_tuple: bool = False) -> Variable | tuple[Variable, ...]:
    """The indices of the nonzero elements: an ``(n, ndim)`` int64 Variable, or with
    ``as_tuple`` one 1-d int64 Variable per dim (a 0-d input counts as 1-d), as PyTorch's."""
    data = x._data
    if as_tuple:
        found = np.nonzero(data.reshape(-1) if not data.ndim else data)
        return tuple(_int64(nodiff.Nonzero, (x, d), i) for d, i in enumerate(found))
    return _int64(nodiff.Nonzero, (x,), np.argwhere(data))


def equal(input: Any, other: Any) -> bool:
    """Whether ``input`` and ``other`` have the same shape and the same values (compared in
    their promoted dtype; NaN equals nothing), as ``torch.equal``."""
    a = input._data if isinstance(input, Variable) else np.asarray(input)
    b = other._data if isinstance(other, Variable) else np.asarray(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))
