"""Per-thread scratch arrays for an op's temporaries, reused from call to call.

A fresh temporary of a few hundred KB costs more than the arithmetic done in it: the C library
hands freed blocks of that size back to the kernel and the next one page-faults in again. An op
that needs a temporary it frees before returning takes it from here instead. The array must not
escape the op (never returned, saved for backward or kept), and an op must not call another op
while it holds one.
"""

from __future__ import annotations

import math
import threading

import numpy as np


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.arrays: dict[tuple[np.dtype, int], np.ndarray] = {}


_buffers = _Buffers()

#: Bigger temporaries are allocated afresh (a thread keeps at most this many bytes per slot).
_MAX_BYTES = 8 << 20


def scratch(shape: tuple[int, ...], dtype: np.dtype, slot: int = 0) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``: this thread's buffer
    number ``slot`` (grown when too small; above ``_MAX_BYTES`` a fresh array), so two
    temporaries held at once use two slots."""
    size = math.prod(shape)
    key = (np.dtype(dtype), slot)
    if size * key[0].itemsize > _MAX_BYTES:
        return np.empty(shape, key[0])
    buffer = _buffers.arrays.get(key)
    if buffer is None or buffer.size < size:
        buffer = _buffers.arrays[key] = np.empty(size, key[0])
    return buffer[:size].reshape(shape)


_ones: dict[np.dtype, np.ndarray] = {}
#: The vectors ``ones`` handed out, by (length, dtype as given): a dict read per call.
_ones_of: dict[tuple[int, object], np.ndarray] = {}


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones of ``dtype``, shared by every thread: sums taken as
    BLAS products with it allocate nothing (up to ``_MAX_BYTES``; a fresh one above)."""
    vector = _ones_of.get((n, dtype))
    if vector is not None:
        return vector
    dtype = np.dtype(dtype)
    if n * dtype.itemsize > _MAX_BYTES:
        return np.ones(n, dtype)
    vector = _ones.get(dtype)
    if vector is None or vector.size < n:
        vector = np.ones(max(n, 1024), dtype)
        vector.flags.writeable = False
        _ones[dtype] = vector
    if len(_ones_of) >= 256:  # (lengths seen: a handful, unless they vary)
        _ones_of.clear()
    _ones_of[n, dtype] = vector[:n]
    return vector[:n]


_columns: dict[tuple[int, object], np.ndarray] = {}


def ones_column(n: int, dtype: np.dtype) -> np.ndarray:
    """:func:`ones` as an (n, 1) column: ``np.dot(rows, ones_column(n, dtype))`` sums each row
    into a column (a row sum kept 2-D)."""
    column = _columns.get((n, dtype))
    if column is None:
        if len(_columns) >= 256:
            _columns.clear()
        column = _columns[n, dtype] = ones(n, dtype)[:, np.newaxis]
    return column


class _Constant(dict):
    """One number as a read-only 0-d array of each dtype asked for (``ONE[x.dtype] - x``).
    NumPy takes a 0-d array operand at an array's cost and a Python number at nearly twice
    it (its weak-scalar promotion), which dominates the small arrays of a backward rule."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        constant = np.array(self.value, dtype)
        constant.flags.writeable = False
        self[dtype] = constant
        return constant


#: 1 and 0 in each dtype: ``ONE[out.dtype] - out * out`` rounds as ``1 - out * out`` does.
ONE = _Constant(1)
ZERO = _Constant(0)
