"""Differential test against PyTorch: what round 10's graph network reached for and did not
find (``torch.sparse.mm`` and ``torch.spmm`` of a normalised adjacency, on dense matrices as
PyTorch takes them too; ``to_dense`` of a dense tensor), and SimCLR's ``fill_diagonal_``.

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


def fill_diagonal_cases() -> Iterable[Case]:
    """SimCLR's ``sim.fill_diagonal_(-inf)`` on the similarity of a batch with itself."""
    d = Draw(103)
    for shape in ((4, 4), (5, 3), (3, 5), (7, 3), (2, 2, 2)):
        yield Case("method", "fill_diagonal_", (d.f(shape, clone=True), -9e15))
    yield Case("method", "fill_diagonal_", (d.f((7, 3), clone=True), 1.5), {"wrap": True})
    yield Case("method", "fill_diagonal_", (d.f((4, 4), "float32", clone=True), float("-inf")))
    yield Case("method", "fill_diagonal_", (d.i((3, 3)), 2.7))  # truncated into int64
    yield Case("method", "fill_diagonal_", (d.f((3,), clone=True), 0.0))  # 1-D: refused
    yield Case("method", "fill_diagonal_", (d.f((2, 2, 3), clone=True), 0.0))  # unequal dims
    yield Case("method", "fill_diagonal_", (d.f((3, 3)), 0.0))  # a leaf that requires grad


CASES = all_cases((sparse_mm_cases, None), (to_dense_cases, None), (fill_diagonal_cases, None))
GROUPS = by_op(CASES)

#: twins tested elsewhere
NOT_HERE = {
    "to_sparse": "refused (no sparse tensors): tests/test_hostile_round10.py",
    "sparse_coo_tensor": "refused (no sparse tensors): tests/test_hostile_round10.py",
}


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
