"""Second derivatives (``create_graph=True``) through more ops: elementwise math (hyperbolic,
inverse trigonometric, log1p, expm1 ...), the rounding ops (a zero gradient with no graph, as
PyTorch's), shape and sequence ops, linear algebra, losses and layers; each first gradient and
the gradient of it by finite differences at float64 and against PyTorch (``requires_grad`` of
the first gradient included), as in test_second_derivatives.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.autograd import grad
from tests.test_second_derivatives import (
    AWAY,
    A,
    B,
    Op,
    P,
    check_against_pytorch,
    check_by_finite_differences,
)

U = ((3, 4), -0.8, 0.8)  # inside (-1, 1): asin, acos, erfinv
PROB = ((3, 4), 0.1, 0.9)  # probabilities: logit, binary cross-entropy
M = ((4, 4), -1.0, 1.0)
V3 = ((3,), -1.0, 1.0)

ELEMENTWISE = [
    Op("cosh_sinh", lambda lib, F, x: x.cosh() * x.sinh() + lib.sinh(x * x), (A,)),
    Op("log1p_expm1", lambda lib, F, x: x.log1p() * x + (x * x).expm1(), (P,)),
    Op("exp2", lambda lib, F, x: lib.exp2(x) * x, (A,)),
    Op("atan", lambda lib, F, x: x.atan() * x, (A,)),
    Op("asin_acos", lambda lib, F, x: x.asin() * x + x.acos() ** 2, (U,)),
    Op("atan2", lambda lib, F, a, b: lib.atan2(a, b) * a, (A, P)),
    Op("hypot", lambda lib, F, a, b: lib.hypot(a, b) * a, (A, P)),
    Op("logit", lambda lib, F, x: x.logit() * x, (PROB,)),
    Op("logit_eps", lambda lib, F, x: x.logit(eps=0.2) * x, (PROB,)),
    Op("xlogy", lambda lib, F, x, y: lib.special.xlogy(x, y) * x, (A, P)),
    Op("sinc", lambda lib, F, x: lib.special.sinc(x) * x, (AWAY,)),
    Op("erfinv", lambda lib, F, x: x.erfinv() * x, (U,)),
    Op("entr", lambda lib, F, x: lib.special.entr(x) * x, (P,)),
    Op("nan_to_num", lambda lib, F, x: x.nan_to_num() * x, (A,)),
    Op(
        "rounding",
        lambda lib, F, x: x.floor() * x + x.ceil() * x + x.trunc() * x + x.round() * x,
        (A,),
    ),
    Op("sign_frac", lambda lib, F, x: x.sign() * x**2 + x.frac() * x, (A,)),
]

CASES = [*ELEMENTWISE]


@pytest.mark.parametrize("op", [op for op in CASES if not op.float32], ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


@pytest.mark.parametrize(
    "fn", [lambda x: x.floor(), lambda x: x.ceil(), lambda x: x.trunc(), lambda x: x.round(),
           lambda x: x.round(decimals=1), lambda x: x.sign()],
)  # fmt: skip
def test_a_zero_gradient_has_no_graph_as_in_pytorch(fn):
    """A rounding op's gradient is zeros that do not require grad (PyTorch's zeros_like)."""
    x = gradviz.tensor([0.4, -1.6, 2.5], requires_grad=True)
    (g,) = grad(fn(x).sum(), x, create_graph=True)
    assert not g.requires_grad
    np.testing.assert_array_equal(g.numpy(), np.zeros(3))
