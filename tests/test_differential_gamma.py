"""Differential test against PyTorch: the gamma family (``lgamma``, ``digamma``,
``polygamma``, ``mvlgamma``, the incomplete ``igamma``/``igammac`` and their ``torch.special``
names), on positive and negative inputs, poles, infinities, float32 and integers, with the
refusals of bad orders.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

EDGES = Arr(np.array([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, np.inf, -np.inf, np.nan, -2.5, 1e-300]))


def unary_cases() -> Iterable[Case]:
    d = Draw(91)
    inputs = (
        d.f((3, 4), low=0.05, high=12.0),
        d.f((5,), low=-6.0, high=-0.1),
        d.f((4,), "float32", low=0.1, high=5.0),
        d.i((3,), 1, 6),
        d.f((2,), low=30.0, high=1e4),
        EDGES,
        Arr(np.zeros((0, 3))),
    )
    for y in inputs:
        for kind in ("method", "top"):
            yield Case(kind, "lgamma", (y,))
            yield Case(kind, "digamma", (y,))
        yield Case("special", "gammaln", (y,))
        yield Case("special", "digamma", (y,))
        yield Case("special", "psi", (y,))


def polygamma_cases() -> Iterable[Case]:
    d = Draw(92)
    x, neg = d.f((3, 4), low=0.05, high=12.0), d.f((4,), low=-4.0, high=-0.1)
    for n in (0, 1, 2, 3, 6):
        for y in (x, neg, d.f((3,), "float32", low=0.2, high=4.0)):
            yield Case("method", "polygamma", (y, n))
            yield Case("top", "polygamma", (n, y))
            yield Case("special", "polygamma", (n, y))
    for n in (1, 2, 4):
        yield Case("top", "polygamma", (n, EDGES))
    yield Case("top", "polygamma", (2, d.i((3,), 1, 5)))
    yield Case("method", "polygamma", (x, -1))  # refused: a negative order
    yield Case("top", "polygamma", (1.0, x))  # refused: not an int
    yield Case("special", "polygamma", (True, x))  # refused: a bool


def mvlgamma_cases() -> Iterable[Case]:
    d = Draw(93)
    x = d.f((3, 4), low=2.0, high=8.0)
    for p in (1, 2, 3, 5):
        yield Case("method", "mvlgamma", (x, p))
        yield Case("top", "mvlgamma", (x, p))
        yield Case("special", "multigammaln", (x, p))
    yield Case("method", "mvlgamma", (d.f((4,), "float32", low=1.5, high=4.0), 2))
    yield Case("top", "mvlgamma", (d.i((3,), 3, 7), 2))
    yield Case("method", "mvlgamma", (x, 0))  # refused: p < 1
    yield Case("top", "mvlgamma", (x, 1.5))  # refused: not an int
    yield Case("special", "multigammaln", (x,), {"p": 2})


def igamma_cases() -> Iterable[Case]:
    d = Draw(94)
    a = d.f((3, 4), low=0.1, high=20.0, grad=False)  # (PyTorch has no gradient in a)
    x = d.f((3, 4), low=0.01, high=25.0)
    edges_a = Arr(np.array([-1.0, 0.0, 0.0, 1.0, 1.0, np.inf, np.inf, 2.0, np.nan, 2.0]))
    edges_x = Arr(np.array([1.0, 0.0, 1.0, 0.0, np.inf, 1.0, np.inf, -1.0, 1.0, np.nan]))
    for name in ("igamma", "igammac"):
        for args in (
            (a, x),
            (d.f((4,), low=0.5, high=3.0, grad=False), x),  # broadcast
            (Arr(np.array([0.5, 2.0, 40.0, 300.0]), grad=False), d.f((4,), low=0.5, high=320)),
            (edges_a, Arr(edges_x.value, grad=False)),
            (d.f((3,), "float32", low=0.5, high=3, grad=False), d.f((3,), "float32", low=0.1)),
            (d.i((3,), 1, 4), d.i((3,), 1, 4)),  # integers: refused
            (d.f((3,), low=0.5, high=3.0, grad=False), d.f((2,), low=0.5)),  # shapes: refused
        ):
            yield Case("method", name, args)
            yield Case("top", name, args)
        yield Case("method", name, (a, 2.0))  # a number: refused
    for args in ((a, x), (edges_a, Arr(edges_x.value, grad=False))):
        yield Case("special", "gammainc", args)
        yield Case("special", "gammaincc", args)


CASES = all_cases(
    (unary_cases, None), (polygamma_cases, None), (mvlgamma_cases, None), (igamma_cases, None)
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
