"""Differential test against PyTorch: what round 10's graph network reached for and did not
find (``torch.sparse.mm`` and ``torch.spmm`` of a normalised adjacency, on dense matrices as
PyTorch takes them too; ``to_dense`` of a dense tensor).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from test_differential import Case, Draw, all_cases, by_op, run_all  # skips without torch


def sparse_mm_cases() -> Iterable[Case]:
    d = Draw(101)
    for kind, name in (("sparse", "mm"), ("top", "spmm")):
        yield Case(kind, name, (d.f((4, 4)), d.f((4, 3))))
        yield Case(kind, name, (d.f((4, 4), "float32"), d.f((4, 3), "float32")))
        yield Case(kind, name, (d.f((2, 3), nc=True), d.f((2, 5))))
        yield Case(kind, name, (d.f((4, 4)), d.f((3, 3))))  # inner sizes differ
    # (a vector: spmm's ShapeError; sparse.mm's, where PyTorch raises an IndexError from the
    # transposes it makes, stays a ShapeError: no test)
    yield Case("top", "spmm", (d.f((4,)), d.f((4, 3))))


def to_dense_cases() -> Iterable[Case]:
    d = Draw(102)
    yield Case("method", "to_dense", (d.f((2, 3)),))
    yield Case("method", "to_dense", (d.i((3,)),))


CASES = all_cases((sparse_mm_cases, None), (to_dense_cases, None))
GROUPS = by_op(CASES)

#: twins tested elsewhere
NOT_HERE = {
    "to_sparse": "refused (no sparse tensors): tests/test_hostile_round10.py",
    "sparse_coo_tensor": "refused (no sparse tensors): tests/test_hostile_round10.py",
}


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
