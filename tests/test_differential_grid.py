"""Differential test against PyTorch: ``affine_grid`` and ``grid_sample`` (the spatial
transformer tutorial's pair): values, dtypes, gradients and refusals.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def _theta(d: Draw, n: int, spatial: int = 2) -> Arr:
    eye = np.eye(spatial, spatial + 1)
    return Arr(eye + d.rng.normal(scale=0.3, size=(n, spatial, spatial + 1)))


def affine_grid_cases() -> Iterable[Case]:
    d = Draw(95)
    for align in (False, True):
        yield Case("F", "affine_grid", (_theta(d, 2), [2, 3, 4, 5]), {"align_corners": align})
        yield Case("F", "affine_grid", (_theta(d, 1, 3), (1, 2, 2, 3, 4)), {"align_corners": align})
    yield Case("F", "affine_grid", (_theta(d, 2), (2, 1, 1, 3)), {"align_corners": False})
    yield Case("F", "affine_grid", (_theta(d, 2), (2, 3, 4, 5, 6)), {"align_corners": False})
    yield Case("F", "affine_grid", (_theta(d, 2), (3, 3, 4, 5)), {"align_corners": False})
    yield Case("F", "affine_grid", (_theta(d, 2), (2, 3, 5)), {"align_corners": False})


def grid_sample_cases() -> Iterable[Case]:
    d = Draw(96)
    x = d.f((2, 3, 4, 5))
    for align in (False, True):
        for mode in ("bilinear", "nearest"):
            for padding in ("zeros", "border"):
                grid = d.f((2, 3, 2, 2), low=-1.2, high=1.2)
                options = {"mode": mode, "padding_mode": padding, "align_corners": align}
                yield Case("F", "grid_sample", (x, grid), options)
    yield Case(
        "F",
        "grid_sample",
        (d.f((1, 2, 3, 3), "float32"), d.f((1, 2, 2, 2), "float32", low=-0.9, high=0.9)),
        {"align_corners": False},
    )
    grid = d.f((2, 3, 2, 2), low=-0.9, high=0.9)
    yield Case("F", "grid_sample", (x, d.f((2, 3, 2, 3))), {"align_corners": False})
    yield Case("F", "grid_sample", (x, d.f((1, 3, 2, 2))), {"align_corners": False})
    yield Case("F", "grid_sample", (x, grid), {"mode": "area", "align_corners": False})
    yield Case("F", "grid_sample", (x, grid), {"padding_mode": "wrap", "align_corners": False})
    yield Case("F", "grid_sample", (d.f((2, 3, 5)), d.f((2, 3, 2))), {"align_corners": False})


CASES = all_cases((affine_grid_cases, None), (grid_sample_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
