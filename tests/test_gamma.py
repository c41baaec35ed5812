"""The gamma family (``lgamma``, ``digamma``, ``polygamma``, ``mvlgamma``): values against
PyTorch at float64 to 1e-12 over wide grids (small, large, negative non-integers), poles and
infinities exactly as PyTorch's, dtypes, refusals; a third derivative; a gradient check at
float64 (second derivatives: test_second_derivatives_more.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError
from gradviz.autograd import grad
from gradviz.autograd.ops import gamma

GRID = np.concatenate(
    [
        np.geomspace(1e-300, 1e-3, 40),
        np.linspace(1e-3, 3.0, 500),
        np.linspace(3.0, 40.0, 400),
        np.geomspace(40.0, 1e300, 60),
        -np.linspace(0.013, 60.0, 997),  # negative, no integers
        -np.geomspace(1e-300, 1e-3, 20),
    ]
)
POLES = np.array([0.0, -0.0, -1.0, -2.0, -50.0, np.inf, -np.inf, np.nan])


def torch_values(name: str, x: np.ndarray, n: int | None = None) -> np.ndarray:
    torch = pytest.importorskip("torch")
    t = torch.tensor(x)
    fn = getattr(torch, name)
    return (fn(n, t) if n is not None else fn(t)).numpy()


def assert_same(ours: np.ndarray, theirs: np.ndarray, rtol: float, atol: float = 0.0) -> None:
    """Equal within ``rtol``, with inf, -inf and NaN in the same places."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(
        ours[~finite & ~np.isnan(theirs)], theirs[~finite & ~np.isnan(theirs)]
    )
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=atol)


def test_lgamma_matches_pytorch_to_1e_12():
    x = GRID[np.abs(GRID + 2.6) > 0.2]  # (not by the zeros at -2.46 and -2.75)
    ours = gradviz.tensor(x).lgamma().numpy()
    assert_same(ours, torch_values("lgamma", x), rtol=1e-12, atol=1e-14)


def test_lgamma_near_its_zeros_at_1_and_2_keeps_its_relative_accuracy():
    z = np.geomspace(1e-12, 1e-2, 30)
    x = np.concatenate([1 + z, 1 - z, 2 + z, 2 - z])
    assert_same(gradviz.lgamma(gradviz.tensor(x)).numpy(), torch_values("lgamma", x), 1e-12)


def test_lgamma_exact_values():
    x = gradviz.tensor([1.0, 2.0, 3.0, 0.5, 10.0, -0.5], dtype=gradviz.float64)
    expected = [0, 0, math.log(2), 0.5 * math.log(math.pi), math.log(362880),
                math.log(2 * math.sqrt(math.pi))]  # fmt: skip
    np.testing.assert_allclose(x.lgamma().numpy(), expected, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_poles_and_infinities_as_pytorch(name):
    ours = getattr(gradviz.tensor(POLES), name)().numpy()
    assert_same(ours, torch_values(name, POLES), rtol=0)
    assert np.signbit(ours[:2]).tolist() == ([False, False] if name == "lgamma" else [True, False])


def test_digamma_matches_pytorch_to_1e_12():
    ours = gradviz.digamma(gradviz.tensor(GRID)).numpy()
    assert_same(ours, torch_values("digamma", GRID), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_polygamma_matches_pytorch_to_1e_12(n):
    x = GRID[np.abs(GRID) < 1e6]
    ours = gradviz.polygamma(n, gradviz.tensor(x)).numpy()
    assert_same(ours, torch_values("polygamma", x, n), rtol=1e-12)
    assert_same(gradviz.tensor(POLES).polygamma(n).numpy(), torch_values("polygamma", POLES, n), 0)


def test_trigamma_and_zeta_at_known_values():
    np.testing.assert_allclose(gamma.trigamma_values(np.array([1.0])), math.pi**2 / 6, rtol=1e-9)
    np.testing.assert_allclose(gamma.zeta_values(2.0, 1.0), math.pi**2 / 6, rtol=1e-15)
    np.testing.assert_allclose(gamma.zeta_values(4.0, 1.0), math.pi**4 / 90, rtol=1e-15)
    assert np.isinf(gamma.zeta_values(1.0, 2.0))
    assert np.isnan(gamma.zeta_values(0.5, 2.0))


def test_mvlgamma_is_a_sum_of_lgammas():
    x = gradviz.tensor([[1.7, 3.0], [5.5, 9.0]], dtype=gradviz.float64)
    expected = sum(math.lgamma(1.7 - j / 2) for j in range(3)) + 1.5 * math.log(math.pi)
    assert x.mvlgamma(3).numpy()[0, 0] == pytest.approx(expected, rel=1e-14)
    assert x.mvlgamma(3).shape == (2, 2)


def test_float32_computes_in_float64_and_stays_float32():
    x = np.array([0.1, 1.5, 7.25, -2.5], np.float32)
    for fn in (lambda v: v.lgamma(), lambda v: v.digamma(), lambda v: v.polygamma(2)):
        out = fn(gradviz.tensor(x))
        assert out.dtype == np.float32
        np.testing.assert_array_equal(
            out.numpy(), fn(gradviz.tensor(x.astype(np.float64))).numpy().astype(np.float32)
        )


def test_integers_compute_in_the_default_dtype():
    assert gradviz.tensor([1, 2, 3]).lgamma().dtype == np.float32
    assert gradviz.polygamma(1, gradviz.tensor([1, 2])).dtype == np.float32


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda x: x.polygamma(-1), "negative n"),
        (lambda x: gradviz.polygamma(1.0, x), "must be int"),
        (lambda x: gradviz.special.polygamma(True, x), "must be int"),
        (lambda x: x.mvlgamma(0), "greater than or equal to 1"),
        (lambda x: gradviz.mvlgamma(x, 2.0), "must be int"),
    ],
)
def test_bad_orders_are_refused_by_name(call, words):
    with pytest.raises(GradvizError, match=words):
        call(gradviz.tensor([1.5, 2.5]))


def test_a_0d_integer_variable_is_an_order():
    x = gradviz.tensor([1.5, 2.5])
    np.testing.assert_array_equal(x.polygamma(gradviz.tensor(2)).numpy(), x.polygamma(2).numpy())


def test_third_derivative_of_lgamma_is_polygamma_2():
    x = gradviz.tensor([0.7, 2.5, 6.0], dtype=gradviz.float64, requires_grad=True)
    (d1,) = grad(x.lgamma().sum(), x, create_graph=True)
    (d2,) = grad(d1.sum(), x, create_graph=True)
    (d3,) = grad(d2.sum(), x)
    np.testing.assert_array_equal(d1.numpy(), x.digamma().numpy())
    np.testing.assert_array_equal(d2.numpy(), x.polygamma(1).numpy())
    np.testing.assert_array_equal(d3.numpy(), x.polygamma(2).numpy())


@pytest.mark.parametrize("fn", [lambda x: x.lgamma(), lambda x: x.digamma(),
                                lambda x: x.polygamma(2), lambda x: x.mvlgamma(2)])  # fmt: skip
def test_gradcheck_at_float64(fn):
    x = gradviz.tensor(np.random.default_rng(5).uniform(1.2, 5.0, (2, 3)), requires_grad=True)
    assert gradviz.gradcheck(fn, (x,))


def test_the_ops_can_be_differentiated_twice():
    assert {"Lgamma", "Digamma", "Polygamma", "Mvlgamma"} <= set(
        gradviz.autograd.higher.supported_ops()
    )
