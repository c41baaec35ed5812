"""Differential test against PyTorch: bags of embeddings, max unpooling, power-average
pooling, channel shuffle and the CTC loss (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def embedding_bag_cases() -> Iterable[Case]:
    d = Draw(71)
    w = d.f((6, 3))
    flat, offsets = Arr(np.array([0, 2, 1, 5, 5, 4, 0])), Arr(np.array([0, 2, 2, 5]))
    for mode in ("sum", "mean", "max"):
        yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": mode})
        yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": mode, "padding_idx": 5})
        yield Case(
            "F", "embedding_bag", (Arr(np.array([[0, 3], [5, 5], [1, 1]])), w), {"mode": mode}
        )
    yield Case("F", "embedding_bag", (Arr(np.array([[0, 3], [5, 5]])), w), {"padding_idx": -1})
    weights = d.f((7,))
    yield Case(
        "F", "embedding_bag", (flat, w, offsets), {"mode": "sum", "per_sample_weights": weights}
    )
    yield Case(
        "F",
        "embedding_bag",
        (flat, w, Arr(np.array([0, 2, 7]))),
        {"mode": "sum", "include_last_offset": True},
    )
    yield Case("F", "embedding_bag", (flat, d.f((6, 3), "float32"), offsets))
    yield Case("F", "embedding_bag", (Arr(np.array([], dtype=np.int64)), w, Arr(np.array([0, 0]))))
    yield Case("F", "embedding_bag", (flat, w, Arr(np.array([0, 8]))))  # past the end
    yield Case("F", "embedding_bag", (flat, w, Arr(np.array([1, 3]))))  # not from 0
    yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": "median"})
    yield Case("F", "embedding_bag", (flat, w))  # 1-d input without offsets
    yield Case("F", "embedding_bag", (Arr(np.array([[0, 3]])), w, offsets))  # 2-d with offsets
    yield Case("F", "embedding_bag", (Arr(np.array([0, 9])), w, Arr(np.array([0]))))
    yield Case("F", "embedding_bag", (Arr(np.array([0.0, 1.0])), w, Arr(np.array([0]))))
    yield Case("F", "embedding_bag", (flat, d.f((6,)), offsets))  # a 1-d weight
    yield Case(
        "F", "embedding_bag", (flat, w, offsets), {"mode": "mean", "per_sample_weights": weights}
    )
    yield Case("F", "embedding_bag", (flat, w, offsets), {"per_sample_weights": d.f((6,))})


CASES = all_cases((embedding_bag_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
