"""``Gamma``, ``Chi2``, ``StudentT``, ``Beta`` and ``Dirichlet`` against ``torch.distributions``:
log_prob, entropy, moments, mode and KL with their gradients; shapes, supports, reprs and
refusals as PyTorch's; samples by their statistics (the generators differ); ``rsample``'s
implicit reparameterisation gradients by finite differences, on average (the gradient of the
mean), and against PyTorch's ``_standard_gamma_grad``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_distributions import _both, _compare, _sizes_as_tuples

import gradviz
from gradviz import GradvizError
from gradviz import distributions as D
from gradviz.autograd.ops.gamma_sample import gamma_sample_slope, inverse_gamma_cdf

torch = pytest.importorskip("torch")
TD = torch.distributions

RNG = np.random.default_rng(11)
CONC, RATE = RNG.uniform(0.3, 4.0, (2, 3)), RNG.uniform(0.5, 3.0, (2, 3))
POSITIVE_VALUE = RNG.uniform(0.05, 5.0, (4, 2, 3))
UNIT_VALUE = RNG.uniform(0.02, 0.98, (4, 2, 3))
REAL_VALUE = RNG.normal(size=(4, 2, 3)) * 3
CONC3 = RNG.uniform(0.3, 4.0, (2, 4))
SIMPLEX = RNG.dirichlet(np.ones(4), (3, 2))


def _as(L: Any, value: np.ndarray, x: list) -> Any:
    """``value`` as a constant in the parameters' dtype."""
    return L.tensor(value).to(x[0].dtype)


GAMMA = {
    "log_prob_value_cast": lambda L, d, x: d.Gamma(x[0], x[1]).log_prob(L.tensor(POSITIVE_VALUE)),
    "log_prob": lambda L, d, x: d.Gamma(x[0], x[1]).log_prob(
        L.tensor(POSITIVE_VALUE).to(x[0].dtype)
    ),
    "log_prob_value_grad": lambda L, d, x: d.Gamma(x[0], 1.5).log_prob(x[2]),
    "log_prob_number": lambda L, d, x: d.Gamma(x[0], x[1]).log_prob(2.0),
    "log_prob_at_zero": lambda L, d, x: d.Gamma(x[0] * 0 + 1, x[1]).log_prob(L.zeros(2, 3)),
    "entropy": lambda L, d, x: d.Gamma(x[0], x[1]).entropy(),
    "cdf": lambda L, d, x: d.Gamma(x[0].detach(), x[1]).cdf(x[2]),
    "chi2_cdf": lambda L, d, x: d.Chi2(x[0].detach()).cdf(_as(L, POSITIVE_VALUE, x)),
    "mean": lambda L, d, x: d.Gamma(x[0], x[1]).mean,
    "mode": lambda L, d, x: d.Gamma(x[0], x[1]).mode,
    "variance": lambda L, d, x: d.Gamma(x[0], x[1]).variance,
    "stddev": lambda L, d, x: d.Gamma(x[0], x[1]).stddev,
    "numbers": lambda L, d, x: d.Gamma(2.5, 0.5).log_prob(x[2]),
    "kl": lambda L, d, x: d.kl_divergence(d.Gamma(x[0], x[1]), d.Gamma(x[1], x[0] * 2)),
    "chi2_log_prob": lambda L, d, x: d.Chi2(x[0]).log_prob(x[2]),
    "chi2_entropy": lambda L, d, x: d.Chi2(x[0]).entropy(),
    "chi2_moments": lambda L, d, x: d.Chi2(x[0]).mean * d.Chi2(x[0]).variance,
    "chi2_df": lambda L, d, x: d.Chi2(x[0]).df * 1,
    "chi2_kl": lambda L, d, x: d.kl_divergence(d.Chi2(x[0]), d.Chi2(x[1])),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(GAMMA))
def test_gamma_and_chi2_as_torch(name: str, dtype: str) -> None:
    _compare(GAMMA[name], [a.astype(dtype) for a in (CONC, RATE, POSITIVE_VALUE)])


STUDENT = {
    "log_prob": lambda L, d, x: d.StudentT(x[0], x[1], x[2]).log_prob(
        L.tensor(REAL_VALUE).to(x[0].dtype)
    ),
    "log_prob_value_grad": lambda L, d, x: d.StudentT(x[0]).log_prob(x[1]),
    "entropy": lambda L, d, x: d.StudentT(x[0], x[1], x[2]).entropy(),
    "mean": lambda L, d, x: d.StudentT(x[0], x[1], x[2]).mean,
    "mode": lambda L, d, x: d.StudentT(x[0], x[1], x[2]).mode * 1,
    "variance": lambda L, d, x: d.StudentT(x[0], x[1], x[2]).variance,
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(STUDENT))
def test_student_t_as_torch(name: str, dtype: str) -> None:
    df = np.array([[0.7, 1.5, 2.5], [3.0, 8.0, 1.0]])  # below 1, in (1, 2], above 2
    _compare(STUDENT[name], [a.astype(dtype) for a in (df, REAL_VALUE[0], RATE)])


BETA = {
    "log_prob": lambda L, d, x: d.Beta(x[0], x[1]).log_prob(_as(L, UNIT_VALUE, x)),
    "log_prob_value_grad": lambda L, d, x: d.Beta(x[0], x[1]).log_prob(x[2]),
    "entropy": lambda L, d, x: d.Beta(x[0], x[1]).entropy(),
    "mean": lambda L, d, x: d.Beta(x[0], x[1]).mean,
    "mode": lambda L, d, x: d.Beta(x[0] + 1, x[1] + 1).mode,
    "variance": lambda L, d, x: d.Beta(x[0], x[1]).variance,
    "concentrations": lambda L, d, x: (
        d.Beta(x[0], x[1]).concentration1 * d.Beta(x[0], x[1]).concentration0
    ),
    "numbers": lambda L, d, x: d.Beta(0.5, 2.0).log_prob(x[2]),
    "kl": lambda L, d, x: d.kl_divergence(d.Beta(x[0], x[1]), d.Beta(x[1], x[0] * 2)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(BETA))
def test_beta_as_torch(name: str, dtype: str) -> None:
    _compare(BETA[name], [a.astype(dtype) for a in (CONC, RATE, UNIT_VALUE[0])])


DIRICHLET = {
    "log_prob": lambda L, d, x: d.Dirichlet(x[0]).log_prob(_as(L, SIMPLEX, x)),
    "log_prob_value_grad": lambda L, d, x: d.Dirichlet(x[0]).log_prob(x[1]),
    "entropy": lambda L, d, x: d.Dirichlet(x[0]).entropy(),
    "mean": lambda L, d, x: d.Dirichlet(x[0]).mean,
    "mode": lambda L, d, x: d.Dirichlet(x[0] + 1).mode,
    "variance": lambda L, d, x: d.Dirichlet(x[0]).variance,
    "kl": lambda L, d, x: d.kl_divergence(d.Dirichlet(x[0]), d.Dirichlet(x[0].flip(-1) * 2)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(DIRICHLET))
def test_dirichlet_as_torch(name: str, dtype: str) -> None:
    _compare(DIRICHLET[name], [a.astype(dtype) for a in (CONC3, SIMPLEX[0])])


def test_dirichlet_mode_below_one_is_the_first_vertex_as_torch() -> None:
    conc = np.array([[0.5, 0.3, 0.9], [0.5, 2.0, 3.0]])
    ours, theirs = _both(lambda L, d: d.Dirichlet(L.tensor(conc)).mode)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


SHAPES = {
    "gamma": lambda L, d: d.Gamma(L.ones(2, 3), 2.0),
    "gamma_numbers": lambda L, d: d.Gamma(2.0, 3.0),
    "chi2": lambda L, d: d.Chi2(L.ones(4) * 3),
    "chi2_number": lambda L, d: d.Chi2(3.0),
    "student_t": lambda L, d: d.StudentT(L.ones(3) * 4, 0.0, L.ones(2, 1)),
    "student_t_number": lambda L, d: d.StudentT(3.0),
    "beta": lambda L, d: d.Beta(L.ones(3) / 2, 2.0),
    "beta_numbers": lambda L, d: d.Beta(0.5, 2.0),
    "dirichlet": lambda L, d: d.Dirichlet(L.ones(2, 4)),
    "dirichlet_1d": lambda L, d: d.Dirichlet(L.ones(3) * 2),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_supports_and_repr_as_torch(name: str) -> None:
    ours, theirs = _both(SHAPES[name])
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    assert ours.sample((5,)).shape == tuple(theirs.sample((5,)).shape)
    assert ours.rsample().shape == tuple(theirs.rsample().shape)
    assert str(ours.sample().dtype) == str(theirs.sample().dtype).split(".")[-1]
    assert repr(ours) == _sizes_as_tuples(repr(theirs))
    assert repr(ours.support) == repr(theirs.support)
    assert ours.has_rsample == theirs.has_rsample


REFUSED = {
    "gamma negative concentration": lambda L, d: d.Gamma(L.tensor([-1.0, 1.0]), 1.0),
    "gamma zero rate": lambda L, d: d.Gamma(1.0, L.tensor([0.0])),
    "gamma negative value": lambda L, d: d.Gamma(2.0, 1.0).log_prob(L.tensor(-1.0)),
    "gamma not broadcastable": lambda L, d: d.Gamma(L.ones(3), 1.0).log_prob(L.ones(2)),
    "chi2 negative df": lambda L, d: d.Chi2(L.tensor([-2.0])),
    "student nan loc": lambda L, d: d.StudentT(3.0, L.tensor(float("nan"))),
    "student negative df": lambda L, d: d.StudentT(L.tensor([-3.0])),
    "beta negative": lambda L, d: d.Beta(L.tensor([-1.0]), 1.0),
    "beta value above 1": lambda L, d: d.Beta(2.0, 2.0).log_prob(L.tensor(1.5)),
    "dirichlet 0-d": lambda L, d: d.Dirichlet(L.tensor(1.0)),
    "dirichlet negative": lambda L, d: d.Dirichlet(L.tensor([1.0, -1.0])),
    "dirichlet off the simplex": lambda L, d: d.Dirichlet(L.ones(3)).log_prob(L.ones(3)),
    "beta number value": lambda L, d: d.Beta(2.0, 2.0).log_prob(0.5),
    "student number value": lambda L, d: d.StudentT(2.0).log_prob(0.5),
    "dirichlet event size": lambda L, d: d.Dirichlet(L.ones(3)).log_prob(L.ones(2) / 2),
    "kl gamma student": lambda L, d: d.kl_divergence(d.Gamma(1.0, 1.0), d.StudentT(1.0)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_as_torch(name: str) -> None:
    with pytest.raises(Exception) as theirs:  # noqa: PT011 (any of PyTorch's)
        REFUSED[name](torch, TD)
    kind = type(theirs.value)
    with pytest.raises(kind) as ours:
        REFUSED[name](gradviz, D)
    if kind is not NotImplementedError:
        assert isinstance(ours.value, GradvizError)
    first = str(theirs.value).split("\n")[0].split(" of distribution")[0]
    assert _sizes_as_tuples(first) in str(ours.value)


def test_gamma_cdf_has_no_gradient_in_the_concentration_as_torch() -> None:
    for lib, d in ((gradviz, D), (torch, TD)):
        conc = lib.tensor([2.0], requires_grad=True)
        with pytest.raises(NotImplementedError, match="derivative for 'igamma: input'") as error:
            d.Gamma(conc, 1.0).cdf(lib.tensor([1.5])).sum().backward()
        assert lib is torch or isinstance(error.value, GradvizError)


def test_validate_args_off_skips_the_checks() -> None:
    assert D.Gamma(gradviz.tensor([-1.0]), 1.0, validate_args=False).batch_shape == (1,)
    assert D.Dirichlet(gradviz.tensor([1.0, -1.0]), validate_args=False).event_shape == (2,)
    value = D.Beta(2.0, 2.0, validate_args=False).log_prob(gradviz.tensor(1.5))
    assert np.isnan(value.item())


# ------------------------------------------------------------------------------ sampling
def _seeded(make: Any) -> Any:
    def draw(*params: Any) -> Any:
        gradviz.manual_seed(5)
        return make(*params)

    return draw


def test_rsample_gradients_by_finite_differences() -> None:
    """The same noise for every evaluation: each draw is a smooth function of the parameters,
    and its gradient (the implicit one) agrees with finite differences."""
    conc = gradviz.tensor(CONC, requires_grad=True)
    rate = gradviz.tensor(RATE, requires_grad=True)
    assert gradviz.gradcheck(_seeded(lambda a, b: D.Gamma(a, b).rsample((3,))), (conc, rate))
    assert gradviz.gradcheck(_seeded(lambda a, b: D.Beta(a, b).rsample((2,))), (conc, rate))
    assert gradviz.gradcheck(_seeded(lambda a: D.Chi2(a).rsample()), (conc,))
    conc3 = gradviz.tensor(CONC3, requires_grad=True)
    assert gradviz.gradcheck(_seeded(lambda a: D.Dirichlet(a).rsample((2,))), (conc3,))
    student = _seeded(lambda df, loc, s: D.StudentT(df, loc, s).rsample())
    assert gradviz.gradcheck(student, (conc + 1, rate, rate))


def test_rsample_gradient_is_the_gradient_of_the_mean_on_average() -> None:
    """``d E[z] / d theta`` from 20000 reparameterised draws matches the analytic mean's."""
    gradviz.manual_seed(2)
    conc = gradviz.tensor([0.3, 1.0, 4.0], dtype=gradviz.float64, requires_grad=True)
    rate = gradviz.tensor([1.0, 2.0, 0.5], dtype=gradviz.float64, requires_grad=True)
    D.Gamma(conc, rate).rsample((20000,)).mean(0).sum().backward()
    np.testing.assert_allclose(conc.grad.numpy(), 1 / rate.numpy(), rtol=0.05)
    np.testing.assert_allclose(rate.grad.numpy(), -conc.numpy() / rate.numpy() ** 2, rtol=0.05)
    a = gradviz.tensor([0.5, 2.0], dtype=gradviz.float64, requires_grad=True)
    b = gradviz.tensor([1.5, 3.0], dtype=gradviz.float64, requires_grad=True)
    D.Beta(a, b).rsample((20000,)).mean(0).sum().backward()
    total = a.numpy() + b.numpy()
    np.testing.assert_allclose(a.grad.numpy(), b.numpy() / total**2, rtol=0.05)
    np.testing.assert_allclose(b.grad.numpy(), -a.numpy() / total**2, rtol=0.05)


def test_implicit_gradient_matches_torch_standard_gamma_grad() -> None:
    """PyTorch's ``_standard_gamma_grad`` approximates the same derivative (to ~1e-3)."""
    a = np.geomspace(0.05, 200.0, 300)
    u = np.random.default_rng(3).uniform(0.01, 0.99, a.shape)
    z = inverse_gamma_cdf(a, u)
    theirs = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(z)).numpy()
    np.testing.assert_allclose(gamma_sample_slope(a, z), theirs, rtol=2e-3)


def test_gamma_draws_are_the_inverse_cdf_at_the_noise() -> None:
    """Draws at the quantiles of Gamma(1) (the exponential): ``-log(1 - u)``."""
    u = np.array([1e-9, 0.1, 0.5, 0.9, 1 - 1e-9])
    np.testing.assert_allclose(inverse_gamma_cdf(np.ones(5), u), -np.log1p(-u), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_samples_statistics(dtype: str) -> None:
    """Samples have the shape ``sample_shape + batch_shape + event_shape``, the parameters'
    dtype, no gradient, and the right mean and spread (loosely: 4000 draws)."""
    gradviz.manual_seed(1)
    conc = gradviz.tensor([0.5, 3.0], dtype=dtype, requires_grad=True)
    g = D.Gamma(conc, gradviz.tensor([1.0, 2.0], dtype=dtype)).sample((4000,))
    assert (g.shape, str(g.dtype), g.requires_grad) == ((4000, 2), dtype, False)
    assert g.numpy().min() > 0
    np.testing.assert_allclose(g.numpy().mean(0), [0.5, 1.5], rtol=0.08)
    np.testing.assert_allclose(g.numpy().var(0), [0.5, 0.75], rtol=0.15)
    b = D.Beta(conc, gradviz.tensor(2.0, dtype=dtype)).sample((4000,)).numpy()
    assert b.min() >= 0
    assert b.max() <= 1
    np.testing.assert_allclose(b.mean(0), [0.2, 0.6], rtol=0.06)
    np.testing.assert_allclose(b.var(0), [0.16 / 3.5, 0.04], rtol=0.15)
    alpha = gradviz.tensor([1.0, 2.0, 5.0], dtype=dtype)
    x = D.Dirichlet(alpha).sample((4000,)).numpy()
    assert x.shape == (4000, 3)
    np.testing.assert_allclose(x.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(x.mean(0), [0.125, 0.25, 0.625], rtol=0.06)
    c = D.Chi2(gradviz.tensor([4.0], dtype=dtype)).sample((4000,)).numpy()
    np.testing.assert_allclose([c.mean(), c.var()], [4.0, 8.0], rtol=0.12)
    t = D.StudentT(gradviz.tensor(5.0, dtype=dtype), 1.0, 2.0).sample((4000,)).numpy()
    np.testing.assert_allclose([t.mean(), t.var()], [1.0, 4 * 5 / 3], rtol=0.15)
