"""``add_rows``, the backward of every op that picks rows (embedding, ``x[idx]``,
``index_add``), adds exactly as ``np.add.at`` does."""

from __future__ import annotations

import numpy as np
import pytest

from gradviz.autograd.ops.accumulate import add_at_grid, add_rows


@pytest.mark.parametrize(
    ("shape", "count", "transpose"),
    [((7, 5), 40, False), ((6, 3, 4), 25, False), ((9,), 30, False), ((5, 8), 12, True)],
)
def test_add_rows_equals_add_at_with_repeats_and_negative_indices(shape, count, transpose):
    rng = np.random.default_rng(len(shape) + count)
    out = rng.standard_normal(shape[::-1] if transpose else shape).astype(np.float32)
    out = out.T if transpose else out  # a non-contiguous target takes add.at itself
    indices = rng.integers(-shape[0], shape[0], count)
    rows = rng.standard_normal((count, *shape[1:])).astype(np.float32)
    expected = out.copy()
    np.add.at(expected, indices, rows)
    add_rows(out, indices, rows)
    np.testing.assert_array_equal(out, expected)


def test_add_rows_broadcasts_a_row_and_refuses_an_index_out_of_range():
    out = np.zeros((3, 2))
    add_rows(out, np.array([0, 2, 0]), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out, [[2, 4], [0, 0], [1, 2]])
    with pytest.raises(IndexError):
        add_rows(out, np.array([0, 3]), np.ones((2, 2)))
    with pytest.raises(IndexError):
        add_rows(out, np.array([-4]), np.ones((1, 2)))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_add_at_grid_equals_add_at_for_a_gather_grid(axis):
    rng = np.random.default_rng(axis)
    shape = (4, 5, 6)
    index = rng.integers(-shape[axis], shape[axis], (3, 5, 4))
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    values = rng.standard_normal(index.shape)
    out, expected = np.zeros(shape), np.zeros(shape)
    np.add.at(expected, tuple(grid), values)
    add_at_grid(out, tuple(grid), values)
    np.testing.assert_array_equal(out, expected)
    grid[axis] = index + shape[axis]  # out of range: add.at's IndexError
    with pytest.raises(IndexError):
        add_at_grid(out, tuple(grid), values)
