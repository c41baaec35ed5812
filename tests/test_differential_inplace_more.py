"""Differential test against PyTorch: the in-place methods written with ``copy_``
(``atan2_``, ``cumsum_``, ``eq_``, ``tril_``, ``round_`` ...), and ``sum_to_size``
(values, dtypes, gradients and refusals); ``byte``, ``char``, ``short`` and ``broadcast_to``
are test_differential_aliases's cases.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def fresh(a: Arr) -> Arr:
    """A copy made by an op, which an in-place method may write."""
    return Arr(a.value, clone=True)


def binary_cases() -> Iterable[Case]:
    d = Draw(151)
    x, y, pos = d.f((3, 4)), d.f((4,)), d.f((3, 4), low=0.5, high=2.0)
    for name in ("atan2_", "arctan2_", "copysign_", "hypot_", "fmod_", "remainder_",
                 "true_divide_", "nextafter_"):  # fmt: skip
        yield Case("method", name, (fresh(x), y if name != "nextafter_" else Arr(y.value, False)))
    for name in ("eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_",
                 "less_", "less_equal_", "not_equal_"):  # fmt: skip
        # (PyTorch gives ``other`` a zero gradient, gradviz none: a comparison has no graph)
        yield Case("method", name, (fresh(x), Arr(y.value, grad=False)))
        yield Case("method", name, (Arr(x.value, grad=False), 0.0))
    yield Case("method", "float_power_", (fresh(pos), 2))
    yield Case("method", "float_power_", (fresh(d.f((3,), "float32", low=0.5)), 2))  # refused
    yield Case("method", "floor_divide_", (fresh(x), 0.7))
    yield Case("method", "heaviside_", (fresh(x), y))
    yield Case("method", "igamma_", (Arr(pos.value, False), fresh(pos)))
    yield Case("method", "igammac_", (Arr(pos.value, False), fresh(pos)))
    yield Case("method", "true_divide_", (d.i((3,)), 2))  # a float into integers: refused
    yield Case("method", "atan2_", (fresh(d.f((4,))), x))  # broadcast past its shape: refused
    i, j = Arr(np.array([5, 12, -7])), Arr(np.array([3, 10, 2]))
    for name in ("bitwise_and_", "bitwise_or_", "bitwise_xor_", "bitwise_left_shift_",
                 "bitwise_right_shift_"):  # fmt: skip
        yield Case("method", name, (i, j))
    yield Case("method", "bitwise_not_", (i,))
    for name in ("logical_and_", "logical_or_", "logical_xor_"):
        yield Case("method", name, (fresh(x), y))
    yield Case("method", "logical_not_", (fresh(x),))


def unary_cases() -> Iterable[Case]:
    d = Draw(152)
    x, pos = d.f((3, 4)), d.f((3, 4), low=0.5, high=3.0)
    yield Case("method", "cumsum_", (fresh(x), 1))
    yield Case("method", "cumprod_", (fresh(x), 0))
    yield Case("method", "digamma_", (fresh(pos),))
    yield Case("method", "lgamma_", (fresh(pos),))
    yield Case("method", "mvlgamma_", (fresh(Arr(pos.value + 1.0)), 2))
    yield Case("method", "polygamma_", (fresh(pos), 1))
    yield Case("method", "sgn_", (fresh(x),))
    yield Case("method", "sign_", (fresh(x),))
    yield Case("method", "tril_", (fresh(x),))
    yield Case("method", "triu_", (fresh(x), 1))
    yield Case("method", "round_", (fresh(Arr(x.value * 3)),))
    yield Case("method", "round_", (fresh(x),), {"decimals": 1})
    yield Case("method", "tril_", (x,))  # a leaf that requires grad: refused
    m1, m2 = d.f((3, 2)), d.f((2, 4))
    yield Case("method", "addmm_", (fresh(x), m1, m2))
    yield Case("method", "addmm_", (fresh(x), m1, m2), {"beta": 0.5, "alpha": 2})
    yield Case("method", "baddbmm_", (fresh(d.f((2, 3, 4))), d.f((2, 3, 2)), d.f((2, 2, 4))))


def conversion_cases() -> Iterable[Case]:
    d = Draw(153)
    x = d.f((2, 3, 4), low=-5, high=5)
    yield Case("method", "sum_to_size", (x, 3, 1))
    yield Case("method", "sum_to_size", (x, (1, 3, 4)))
    yield Case("method", "sum_to_size", (x, 2, 3, 4))
    yield Case("method", "sum_to_size", (x, 5))  # refused


CASES = all_cases((binary_cases, None), (unary_cases, None), (conversion_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])


def test_properties_are_pytorchs():
    x = gradviz.randn(2, 3, 4)
    assert x.mH.shape == (2, 4, 3)
    assert gradviz.randn(2, 3).H.shape == (3, 2)
    assert x.is_cpu
    with pytest.raises(RuntimeError, match="matrices"):
        x.H  # noqa: B018
