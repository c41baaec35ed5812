"""The elementwise functions added with PyTorch's names: gradients by finite differences at
float64 for the compositions and in-place forms, PyTorch's conventions at ties and NaNs, and
the refusals a user meets."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.autograd.errors import DerivativeNotImplementedError, InputError, OperandError


def _leaf(values, **kw) -> gradviz.Variable:
    return gradviz.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, **kw)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gradviz.float_power(x, 1.5),
        lambda x: gradviz.float_power(2.0, x),
        lambda x: x.float_power(x),
        lambda x: gradviz.deg2rad(x) * x,
        lambda x: x.rad2deg(),
        lambda x: gradviz.xlogy(x, x + 1),
        lambda x: x.erfc() + x.sinc() + x.i0(),
        lambda x: gradviz.fliplr(x.reshape(2, 2)) * gradviz.flipud(x.reshape(2, 2)),
        lambda x: x.clone().tan_() * x.clone().sin_() + x.clone().expm1_(),
        lambda x: (x * 0.3).clone().arcsin_() + (x * 0.3).clone().atan_(),
    ],
)
def test_compositions_and_inplace_forms_pass_gradcheck(fn):
    x = _leaf([0.3, 0.7, 1.1, 1.4])
    assert gradviz.gradcheck(fn, [x])


def test_fmax_gives_a_tie_and_a_nan_partner_to_input_as_pytorch():
    a = _leaf([1.0, 2.0, np.nan, 0.0])
    b = _leaf([1.0, np.nan, 3.0, 5.0])
    gradviz.fmax(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 1.0, 1.0])


def test_logaddexp_stays_finite_where_exp_overflows():
    a, b = _leaf([1000.0, -1000.0]), _leaf([1000.0, -1001.0])
    out = gradviz.logaddexp(a, b)
    np.testing.assert_allclose(out.numpy(), [1000 + np.log(2), -1000 + np.log1p(np.exp(-1))])
    out.sum().backward()
    np.testing.assert_allclose(a.grad + b.grad, [1.0, 1.0])


def test_heaviside_has_pytorchs_missing_derivative():
    x = _leaf([-1.0, 0.0, 2.0])
    out = gradviz.heaviside(x, gradviz.tensor(0.5, dtype=gradviz.float64))
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5, 1.0])
    assert out.requires_grad
    with pytest.raises(DerivativeNotImplementedError, match="heaviside"):
        out.sum().backward()


def test_inplace_inverse_hyperbolic_has_no_derivative_as_pytorch():
    y = _leaf([0.2, 0.4]).clone()
    y.asinh_()
    with pytest.raises(DerivativeNotImplementedError, match="inplace version of asinh"):
        y.sum().backward()


def test_refusals_name_the_function():
    x = gradviz.tensor([1.0, 2.0])
    with pytest.raises(OperandError, match=r"fmax\(\): argument 2"):
        gradviz.fmax(x, 1.0)
    with pytest.raises(InputError, match="logaddexp"):
        gradviz.logaddexp(gradviz.tensor([1, 2]), gradviz.tensor([1, 2]))
    with pytest.raises(InputError, match="bool"):
        gradviz.positive(gradviz.tensor([True]))
    with pytest.raises(gradviz.ShapeError, match="2-d"):
        gradviz.fliplr(x)
    with pytest.raises(OperandError, match="float_power"):
        gradviz.float_power(2, 3)


def test_aliases_are_the_functions_they_name():
    a, b = gradviz.tensor([1.0, 2.0, 3.0]), gradviz.tensor([2.0, 2.0, 2.0])
    for alias, name in (("greater", "gt"), ("less_equal", "le"), ("not_equal", "ne")):
        np.testing.assert_array_equal(getattr(gradviz, alias)(a, b), getattr(a, name)(b))
    np.testing.assert_array_equal(a.subtract(b, alpha=2), a - 2 * b)
    assert gradviz.positive(a) is a
