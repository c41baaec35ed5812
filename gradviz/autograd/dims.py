"""Dimension arguments, checked in one place with PyTorch's rules.

A dim must lie in ``[-ndim, ndim)``; 0-d Variables accept 0 and -1 (as one axis of size 1, as in
PyTorch). Out of range is PyTorch's IndexError, "Dimension out of range", naming the op.
"""

from __future__ import annotations

import operator
from typing import Any

from gradviz.autograd.errors import IndexRangeError, InputError, OperandError


def dim_index(dim: Any, ndim: int, op: str) -> int:
    """``dim`` as an index in ``[0, max(ndim, 1))``; ``IndexRangeError`` when out of range."""
    n = ndim or 1
    try:
        if dim is True or dim is False:  # operator.index(True) is 1; PyTorch's TypeError
            raise TypeError
        index = operator.index(dim)
    except TypeError:
        raise OperandError(
            f"{op}(): dim must be an integer, got {type(dim).__name__} {dim!r}"
        ) from None
    if not -n <= index < n:
        raise IndexRangeError(
            f"{op}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {index})"
        )
    return index % n


def reduce_dims(dim: Any, ndim: int, op: str) -> int | tuple[int, ...] | None:
    """The axes a reduction over ``dim`` reduces, as NumPy's ``axis``: None for all of them.

    As in PyTorch, ``None`` and an empty tuple or list reduce every axis; a 0-d input accepts
    dim 0 and -1 (reducing it returns the value); a dim listed twice is an error.
    """
    if dim is None:
        return None
    if isinstance(dim, tuple | list):
        if not dim:
            return None
        axes = tuple(dim_index(d, ndim, op) for d in dim)
        if len(set(axes)) != len(axes):
            repeated = next(a for a in axes if axes.count(a) > 1)
            raise InputError(f"{op}(): dim {repeated} appears multiple times in the list of dims")
    else:
        axes = dim_index(dim, ndim, op)
    return axes if ndim else None
