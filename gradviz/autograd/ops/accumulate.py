"""Adding slices into an array at repeated indices: the backward of every op that picks slices
(embedding rows, ``x[idx]``, ``index_add``)."""

from __future__ import annotations

import numpy as np


def add_rows(out: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> None:
    """``np.add.at(out, indices, rows)`` for 1-d integer ``indices`` into ``out``'s first axis:
    ``rows[j]`` added into ``out[indices[j]]``, a row picked twice getting both, in order.

    A C-contiguous ``out`` of two or more dims takes one 1-d ``add.at`` over the flat positions
    of the picked rows' elements, NumPy's fast path: 2 to 5 times faster than ``add.at`` over
    rows, or a sort and ``add.reduceat``. Out-of-range indices raise as ``add.at`` does.
    """
    count = len(out)
    if (
        out.ndim < 2
        or not out.flags.c_contiguous
        or indices.ndim != 1
        or not indices.size
        or indices.min() < -count
        or indices.max() >= count
    ):
        np.add.at(out, indices, rows)
        return
    width = out.size // count
    flat = (indices % count)[:, None] * width + np.arange(width)
    values = np.broadcast_to(rows, (indices.size, *out.shape[1:]))
    np.add.at(out.reshape(-1), flat.reshape(-1), values.reshape(-1))


def add_at_grid(out: np.ndarray, grid: tuple[np.ndarray, ...], values: np.ndarray) -> None:
    """``np.add.at(out, grid, values)`` for ``grid`` a tuple of broadcastable integer index
    arrays, one per axis of ``out`` (as ``gather`` and ``scatter_add`` build them): by one 1-d
    ``add.at`` over the flat positions when ``out`` is C-contiguous (about twice as fast).
    Out-of-range indices raise as ``add.at`` does."""
    if len(grid) != out.ndim or not out.flags.c_contiguous or not _in_range(grid, out.shape):
        np.add.at(out, grid, values)
        return
    flat = np.ravel_multi_index(grid, out.shape, mode="wrap")  # wraps the negative ones
    np.add.at(out.reshape(-1), flat.reshape(-1), np.broadcast_to(values, flat.shape).reshape(-1))


def _in_range(grid: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> bool:
    return all(
        index.size == 0 or (-size <= index.min() and index.max() < size)
        for index, size in zip(grid, shape, strict=True)
    )
