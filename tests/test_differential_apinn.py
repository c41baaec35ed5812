"""Differential test against PyTorch: ``unfold`` and ``fold`` (im2col and col2im) and ``pad``
in every mode the padding layers use (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from test_differential import Case, Draw, all_cases, by_op, run_all  # skips without torch


def unfold_cases() -> Iterable[Case]:
    d = Draw(71)
    x = d.f((2, 3, 5, 6))
    yield Case("F", "unfold", (x, 2))
    yield Case("F", "unfold", (x, (2, 3)), {"stride": 2, "padding": 1, "dilation": (1, 2)})
    yield Case("F", "unfold", (x, 3, 2, 1, 1))  # by position
    yield Case("F", "unfold", (x, [3, 1]), {"stride": [1, 2]})
    yield Case("F", "unfold", (d.f((3, 4, 4), "float32"), 2), {"stride": 2})  # one image
    yield Case("F", "unfold", (d.f((0, 3, 4, 4)), 2))  # an empty batch
    yield Case("F", "unfold", (x, 7))  # no block fits
    yield Case("F", "unfold", (x, 0))
    yield Case("F", "unfold", (x, 2), {"stride": 0})
    yield Case("F", "unfold", (x, 2), {"padding": -1})
    yield Case("F", "unfold", (x, 2), {"dilation": 0})
    yield Case("F", "unfold", (d.f((4, 5)), 2))  # no channels
    yield Case("F", "unfold", (d.i((1, 1, 3, 3)), 2))  # integers


def fold_cases() -> Iterable[Case]:
    d = Draw(72)
    yield Case("F", "fold", (d.f((2, 12, 20)), (5, 6), 2))
    yield Case(
        "F",
        "fold",
        (d.f((2, 18, 6)), (5, 6), (2, 3)),
        {"stride": 2, "padding": 1, "dilation": (1, 2)},
    )
    yield Case("F", "fold", (d.f((2, 8, 12)), 4, 2, 1, 1, 1))  # by position, overlapping
    yield Case("F", "fold", (d.f((12, 20), "float32"), (5, 6), 2))  # one image
    yield Case("F", "fold", (d.f((0, 12, 20)), (5, 6), 2))  # an empty batch
    yield Case("F", "fold", (d.f((2, 13, 20)), (5, 6), 2))  # channels not a kernel multiple
    yield Case("F", "fold", (d.f((2, 12, 19)), (5, 6), 2))  # one block short
    yield Case("F", "fold", (d.f((2, 12, 20)), 5, 2))  # blocks of a 5x5 image: 16
    yield Case("F", "fold", (d.f((2, 12, 20)), (5, 6), 2), {"stride": 0})
    yield Case("F", "fold", (d.f((2, 3, 4, 5)), (5, 6), 2))  # 4-d columns
    yield Case("F", "fold", (d.i((1, 4, 4)), (3, 3), 2))  # integers


def pad_layer_cases() -> Iterable[Case]:
    d = Draw(73)
    x = d.f((2, 3, 4, 5))
    for mode in ("reflect", "replicate", "circular"):
        yield Case("F", "pad", (x, (1, 2, 2, 1)), {"mode": mode})
        yield Case("F", "pad", (d.f((2, 3, 5)), (2, 1)), {"mode": mode})
        yield Case("F", "pad", (d.f((3, 5), "float32"), (1, 1)), {"mode": mode})
    yield Case("F", "pad", (x, (4, 0, 0, 0)), {"mode": "reflect"})  # as wide as the dim
    yield Case("F", "pad", (x, (1, 1)), {"mode": "constant", "value": 2.5})
    yield Case("F", "pad", (x, (1, 1, 1, 1, 1, 1)), {"mode": "replicate"})


CASES = all_cases((unfold_cases, None), (fold_cases, None), (pad_layer_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
