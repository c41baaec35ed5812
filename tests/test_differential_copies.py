"""Differential test against PyTorch: the ``*_copy`` functions (``transpose_copy``,
``view_copy``, ``split_copy`` ...; values, dtypes, gradients and refusals), and that their
results share no memory with the input.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def copy_cases() -> Iterable[Case]:
    d = Draw(121)
    x = d.f((2, 3, 4))
    yield Case("top", "alias_copy", (x,))
    yield Case("top", "detach_copy", (x,))
    yield Case("top", "diagonal_copy", (x,))
    yield Case("top", "diagonal_copy", (x, 1, 1, 2))
    yield Case("top", "expand_copy", (d.f((1, 3)), [2, 3]))
    yield Case("top", "expand_copy", (d.f((2, 3)), [4, 3]))  # refused
    yield Case("top", "narrow_copy", (x, 2, 1, 2))
    yield Case("method", "narrow_copy", (x, 0, 0, 1))
    yield Case("top", "permute_copy", (x, [2, 0, 1]))
    yield Case("top", "permute_copy", (x, [0, 1]))  # refused
    yield Case("top", "select_copy", (x, 1, 2))
    yield Case("top", "slice_copy", (x, 1, 0, 2))
    yield Case("top", "slice_copy", (x, 2, 1, None, 2))
    yield Case("top", "slice_copy", (x,))
    yield Case("top", "split_copy", (x, 2, 2))
    yield Case("top", "split_with_sizes_copy", (x, [1, 2], 1))
    yield Case("top", "squeeze_copy", (d.f((2, 1, 3)),))
    yield Case("top", "squeeze_copy", (d.f((2, 1, 3)), 1))
    yield Case("top", "t_copy", (d.f((2, 3)),))
    yield Case("top", "transpose_copy", (x, 0, 2))
    yield Case("top", "unbind_copy", (x, 1))
    yield Case("top", "unfold_copy", (x, 2, 2, 1))
    yield Case("top", "unsqueeze_copy", (x, -1))
    yield Case("top", "view_copy", (x, [4, 6]))
    yield Case("top", "view_copy", (x, (5, 5)))  # refused


CASES = all_cases((copy_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])


def test_copies_share_no_memory_with_the_input():
    x = gradviz.randn(2, 3)
    for out in (gradviz.t_copy(x), gradviz.view_copy(x, (6,)), *gradviz.split_copy(x, 1)):
        assert not np.shares_memory(out.numpy(), x.numpy())
