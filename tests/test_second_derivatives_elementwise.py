"""Second derivatives (``create_graph=True``) through the elementwise ops added with PyTorch's
names (``tan``, ``asinh``/``acosh``/``atanh``, ``i0``, ``fmax``/``fmin``,
``logaddexp``/``logaddexp2``) and the in-place forms with a graph rule (``tan_``, ``sin_``,
``erfc_``, ``i0_`` ...); each case by finite differences at float64 (always) and against
PyTorch (when installed)."""

from __future__ import annotations

import pytest
from test_second_derivatives import (
    A,
    B,
    Op,
    P,
    check_against_pytorch,
    check_by_finite_differences,
)

INSIDE = ((3, 4), -0.8, 0.8)  # atanh, asin, acos, erfinv
ABOVE_ONE = ((3, 4), 1.2, 3.0)  # acosh
SMALL = ((3, 4), -1.2, 1.2)  # tan


def copied(x):
    """A non-leaf copy of ``x``: what an in-place op may write."""
    return x * 1.0


ELEMENTWISE = [
    Op("tan", lambda lib, F, x: lib.tan(x) * x, (SMALL,)),
    Op("asinh", lambda lib, F, x: x.asinh() * x, (A,)),
    Op("acosh", lambda lib, F, x: lib.acosh(x) * x, (ABOVE_ONE,)),
    Op("atanh", lambda lib, F, x: x.atanh() * x, (INSIDE,)),
    Op("i0", lambda lib, F, x: lib.i0(x) * x, (A,)),
    Op("fmax", lambda lib, F, x, y: lib.fmax(x, y) ** 2 * x, (A, B)),
    Op("fmin", lambda lib, F, x, y: lib.fmin(x, y) ** 3 + y, (A, B)),
    Op("logaddexp", lambda lib, F, x, y: lib.logaddexp(x, y) * y, (A, B)),
    Op("logaddexp2", lambda lib, F, x, y: lib.logaddexp2(x, y) * x, (A, B)),
]

#: in-place forms: (method, input range)
_INPLACE = {
    "tan_": SMALL, "erfc_": A, "sinc_": A, "sin_": A, "cos_": A, "sinh_": A, "cosh_": A,
    "asin_": INSIDE, "acos_": INSIDE, "atan_": A, "log1p_": P, "expm1_": A, "erf_": A,
    "erfinv_": INSIDE, "rsqrt_": P, "reciprocal_": P, "exp2_": A, "frac_": A,
    "floor_": A, "ceil_": A, "trunc_": A, "i0_": A,
}  # fmt: skip

INPLACE = [
    Op(name, lambda lib, F, x, name=name: getattr(copied(x), name)() * x * x, (box,))
    for name, box in _INPLACE.items()
]

CASES = [*ELEMENTWISE, *INPLACE]


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)
