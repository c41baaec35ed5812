"""Differential test against PyTorch: the tangent, the inverse hyperbolic functions, the
``arc*`` names, ``lgamma`` and ``digamma`` (values, dtypes, gradients and NaN outside the domain).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def trig_cases() -> Iterable[Case]:
    d = Draw(91)
    inside, wide = d.f((3, 4), low=-0.9, high=0.9), d.f((3, 4), low=-3.0, high=3.0)
    above_one = d.f((2, 3), low=1.1, high=4.0)
    for kind in ("method", "top"):
        for name in ("tan", "asinh", "arcsinh", "atanh", "arctanh"):
            yield Case(kind, name, (inside,))
        for name in ("acosh", "arccosh"):
            yield Case(kind, name, (above_one,))
        for name in ("arcsin", "arccos", "arctan"):
            yield Case(kind, name, (inside,))
        yield Case(kind, "arctan2", (inside, d.f((3, 4), low=0.5, high=2.0)))
    yield Case("top", "tan", (d.f((4,), "float32"),))
    yield Case("top", "asinh", (wide,))
    yield Case("top", "acosh", (Arr(np.array([0.5, 1.0, 2.0])),))  # NaN below 1, 0 at 1
    yield Case("top", "atanh", (Arr(np.array([-1.5, 0.0, 0.5, 1.5])),))  # NaN outside
    yield Case("top", "tan", (d.i((3,)),))  # integers compute in float32
    special = Arr(np.array([-0.0, 0.0, -1.5, np.inf, -np.inf, np.nan, 2.0]))
    yield Case("top", "tan", (special,))  # NaN at the infinities
    yield Case("method", "atanh", (d.f((2, 2), "float32"),))
    positive = d.f((3, 4), low=0.2, high=9.0)
    for kind in ("method", "top"):
        yield Case(kind, "lgamma", (positive,))
        yield Case(kind, "digamma", (positive,))
    for name in ("gammaln", "digamma", "psi"):
        yield Case("special", name, (positive,))
    poles = Arr(np.array([0.0, -1.0, -2.5, 0.5, np.inf]), grad=False)
    yield Case("top", "lgamma", (poles,))
    yield Case("top", "digamma", (poles,))
    yield Case("top", "lgamma", (d.i((3,), low=1, high=5),))  # integers: float32


CASES = all_cases((trig_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
