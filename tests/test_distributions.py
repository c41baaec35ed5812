"""``gradviz.distributions`` against ``torch.distributions``: log_prob, entropy, cdf, kl,
moments and their gradients on the same inputs; samples by their statistics (the generators
differ); refusals, reprs and shapes as PyTorch's; a REINFORCE and a VAE step run."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError
from gradviz import distributions as D

torch = pytest.importorskip("torch")
TD = torch.distributions


def _leaf(lib: Any, array: np.ndarray, grad: bool = True) -> Any:
    return lib.tensor(array, requires_grad=grad and array.dtype.kind == "f")


def _compare(make: Callable[[Any, Any, list], Any], arrays: list[np.ndarray]) -> None:
    """``make(lib, dist_module, leaves)`` in both libraries: the same values, dtype and
    gradients of every float leaf (backward of a weighted sum)."""
    results = []
    for lib, dists in ((gradviz, D), (torch, TD)):
        leaves = [_leaf(lib, a) for a in arrays]
        out = make(lib, dists, leaves)
        weights = lib.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
        if out.requires_grad:
            (out * weights.to(out.dtype)).sum().backward()
        grads = [None if leaf.grad is None else leaf.grad.numpy() for leaf in leaves]
        results.append((out.detach().numpy(), str(out.dtype).split(".")[-1], grads))
    (ours, our_dtype, our_grads), (theirs, their_dtype, their_grads) = results
    assert our_dtype == their_dtype
    tol = 1e-9 if our_dtype == "float64" else 2e-5
    np.testing.assert_allclose(ours, theirs, rtol=tol * 100, atol=tol)
    for mine, other in zip(our_grads, their_grads, strict=True):
        assert (mine is None) == (other is None)
        if mine is not None:
            np.testing.assert_allclose(mine, other, rtol=tol * 100, atol=tol)


RNG = np.random.default_rng(7)
LOC, SCALE = RNG.normal(size=(2, 3)), RNG.uniform(0.5, 2.0, (2, 3))
VALUE = RNG.normal(size=(4, 2, 3))
LOGITS, PROBS = RNG.normal(size=(2, 5)), RNG.uniform(0.05, 1.0, (2, 5))
UNIT = RNG.uniform(0.1, 0.9, (2, 3))

NORMAL = {
    "log_prob": lambda L, d, x: d.Normal(x[0], x[1]).log_prob(x[2]),
    "entropy": lambda L, d, x: d.Normal(x[0], x[1]).entropy(),
    "cdf": lambda L, d, x: d.Normal(x[0], x[1]).cdf(x[2]),
    "icdf": lambda L, d, x: d.Normal(x[0], x[1]).icdf(L.tensor(UNIT)),
    "mean": lambda L, d, x: d.Normal(x[0], x[1]).mean * 1,
    "stddev": lambda L, d, x: d.Normal(x[0], x[1]).stddev * 1,
    "variance": lambda L, d, x: d.Normal(x[0], x[1]).variance,
    "perplexity": lambda L, d, x: d.Normal(x[0], x[1]).perplexity(),
    "numbers": lambda L, d, x: d.Normal(0.5, 2.0).log_prob(x[2]),
    "number_loc": lambda L, d, x: d.Normal(0.5, x[1]).log_prob(x[2]),
    "kl": lambda L, d, x: d.kl_divergence(d.Normal(x[0], x[1]), d.Normal(x[2][0], x[1] * 2)),
    "independent_log_prob": lambda L, d, x: d.Independent(d.Normal(x[0], x[1]), 1).log_prob(x[2]),
    "independent_entropy": lambda L, d, x: d.Independent(d.Normal(x[0], x[1]), 2).entropy(),
    "independent_kl": lambda L, d, x: d.kl_divergence(
        d.Independent(d.Normal(x[0], x[1]), 1), d.Independent(d.Normal(0.0, x[1] * 2), 1)
    ),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(NORMAL))
def test_normal_as_torch(name: str, dtype: str) -> None:
    _compare(NORMAL[name], [a.astype(dtype) for a in (LOC, SCALE, VALUE)])


HIGH = LOC + SCALE
UNIFORM = {
    "log_prob": lambda L, d, x: d.Uniform(x[0], x[1]).log_prob(x[0] + 0.5 * (x[1] - x[0])),
    "entropy": lambda L, d, x: d.Uniform(x[0], x[1]).entropy(),
    "cdf": lambda L, d, x: d.Uniform(x[0], x[1], validate_args=False).cdf(x[2]),
    "icdf": lambda L, d, x: d.Uniform(x[0], x[1]).icdf(L.tensor(UNIT)),
    "mean": lambda L, d, x: d.Uniform(x[0], x[1]).mean,
    "stddev": lambda L, d, x: d.Uniform(x[0], x[1]).stddev,
    "variance": lambda L, d, x: d.Uniform(x[0], x[1]).variance,
    "outside": lambda L, d, x: d.Uniform(x[0], x[1], validate_args=False).log_prob(x[2]),
    "kl": lambda L, d, x: d.kl_divergence(d.Uniform(x[0], x[1]), d.Uniform(x[0] - 1, x[1] + 2)),
}


@pytest.mark.parametrize("name", sorted(UNIFORM))
def test_uniform_as_torch(name: str) -> None:
    _compare(UNIFORM[name], [LOC, HIGH, VALUE[0]])


def _cat(d: Any, x: list, by: str) -> Any:
    return d.Categorical(logits=x[0]) if by == "logits" else d.Categorical(probs=x[1])


CATEGORICAL = {
    "log_prob": lambda L, d, x, by: _cat(d, x, by).log_prob(L.tensor([[0, 4], [2, 2], [1, 3]])),
    "entropy": lambda L, d, x, by: _cat(d, x, by).entropy(),
    "probs": lambda L, d, x, by: _cat(d, x, by).probs,
    "logits": lambda L, d, x, by: _cat(d, x, by).logits,
    "kl": lambda L, d, x, by: d.kl_divergence(_cat(d, x, by), d.Categorical(logits=x[0] * 2)),
    "perplexity": lambda L, d, x, by: _cat(d, x, by).perplexity(),
}


@pytest.mark.parametrize("by", ["logits", "probs"])
@pytest.mark.parametrize("name", sorted(CATEGORICAL))
def test_categorical_as_torch(name: str, by: str) -> None:
    _compare(lambda L, d, x: CATEGORICAL[name](L, d, x, by), [LOGITS, PROBS])


def _bern(d: Any, x: list, by: str) -> Any:
    return d.Bernoulli(logits=x[0]) if by == "logits" else d.Bernoulli(probs=x[1])


COIN = np.array([[1.0, 0, 1, 1, 0]])
BERNOULLI = {
    "log_prob": lambda L, d, x, by: _bern(d, x, by).log_prob(
        L.tensor(np.array([[1.0, 0, 1, 1, 0]]))
    ),
    "entropy": lambda L, d, x, by: _bern(d, x, by).entropy(),
    "probs": lambda L, d, x, by: _bern(d, x, by).probs,
    "logits": lambda L, d, x, by: _bern(d, x, by).logits,
    "mean": lambda L, d, x, by: _bern(d, x, by).mean * 1,
    "variance": lambda L, d, x, by: _bern(d, x, by).variance,
    "kl": lambda L, d, x, by: d.kl_divergence(_bern(d, x, by), d.Bernoulli(logits=x[0] * 2)),
}


@pytest.mark.parametrize("by", ["logits", "probs"])
@pytest.mark.parametrize("name", sorted(BERNOULLI))
def test_bernoulli_as_torch(name: str, by: str) -> None:
    _compare(lambda L, d, x: BERNOULLI[name](L, d, x, by), [LOGITS, PROBS * 0.9])


A = RNG.normal(size=(2, 3, 3))
COV = A @ A.swapaxes(-1, -2) + np.eye(3)
TRIL = np.linalg.cholesky(COV)
MVN_VALUE = RNG.normal(size=(4, 2, 3))


def _mvn(L: Any, d: Any, x: list, by: str) -> Any:
    return d.MultivariateNormal(x[0], **{by: x[1]})


MVN = {
    "log_prob": lambda L, d, x, by: _mvn(L, d, x, by).log_prob(L.tensor(MVN_VALUE)),
    "entropy": lambda L, d, x, by: _mvn(L, d, x, by).entropy(),
    "variance": lambda L, d, x, by: _mvn(L, d, x, by).variance,
    "covariance_matrix": lambda L, d, x, by: _mvn(L, d, x, by).covariance_matrix * 1,
    "scale_tril": lambda L, d, x, by: _mvn(L, d, x, by).scale_tril * 1,
    "precision_matrix": lambda L, d, x, by: _mvn(L, d, x, by).precision_matrix.tril(),
    "kl": lambda L, d, x, by: d.kl_divergence(
        _mvn(L, d, x, by), d.MultivariateNormal(x[0][0] * 0, scale_tril=L.tensor(TRIL[1]))
    ),
    "kl_reversed": lambda L, d, x, by: d.kl_divergence(
        d.MultivariateNormal(x[0][0] * 0, scale_tril=L.tensor(TRIL[1])), _mvn(L, d, x, by)
    ),
}


@pytest.mark.parametrize("by", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.parametrize("name", sorted(MVN))
def test_multivariate_normal_as_torch(name: str, by: str) -> None:
    matrix = TRIL if by == "scale_tril" else COV
    if name == "precision_matrix" and by == "scale_tril":
        # PyTorch's cholesky_inverse also gives the zeros above the factor's diagonal a
        # gradient; compare the lower triangle only
        def lower_only(L: Any, d: Any, x: list) -> Any:
            tril = x[1].tril()
            return d.MultivariateNormal(x[0], scale_tril=tril).precision_matrix.tril()

        _compare(lower_only, [LOC, matrix])
        return
    _compare(lambda L, d, x: MVN[name](L, d, x, by), [LOC, matrix])


def test_categorical_zero_probability_as_torch() -> None:
    """A category of probability 0: entropy skips it, KL is inf where q has none and 0 where p
    has none."""
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.0, 0.5])
    for lib, d in ((gradviz, D), (torch, TD)):
        pp, qq = d.Categorical(lib.tensor(p)), d.Categorical(lib.tensor(q))
        entropy, kl = pp.entropy().item(), d.kl_divergence(pp, qq).item()
        kl_back = d.kl_divergence(qq, qq).item()
        assert (round(entropy, 9), kl, kl_back) == (round(np.log(2), 9), np.inf, 0.0)


def test_rsample_gradients_by_finite_differences() -> None:
    """``rsample`` is differentiable in the parameters (the same noise for each evaluation)."""

    def normal(loc: Any, scale: Any) -> Any:
        gradviz.manual_seed(3)
        return D.Normal(loc, scale).rsample((4,))

    def uniform(low: Any, high: Any) -> Any:
        gradviz.manual_seed(3)
        return D.Uniform(low, high).rsample((4,))

    loc = gradviz.tensor(LOC, requires_grad=True)
    scale = gradviz.tensor(SCALE, requires_grad=True)
    assert gradviz.gradcheck(normal, (loc, scale))
    assert gradviz.gradcheck(uniform, (loc, gradviz.tensor(HIGH, requires_grad=True)))
    kl = lambda a, b: D.kl_divergence(D.Normal(a, b), D.Normal(0.0, 1.0))  # noqa: E731
    assert gradviz.gradcheck(kl, (loc, scale))
    logits = gradviz.tensor(LOGITS, requires_grad=True)
    assert gradviz.gradcheck(lambda x: D.Categorical(logits=x).entropy(), (logits,))


def test_rsample_is_loc_plus_scaled_noise() -> None:
    """The noise is a named input of the graph; d z / d loc is 1, d z / d scale is the noise."""
    gradviz.manual_seed(0)
    loc = gradviz.zeros(3, requires_grad=True)
    scale = gradviz.ones(3, requires_grad=True)
    z = D.Normal(loc, scale).rsample()
    z.sum().backward()
    noise = z.detach().numpy()
    np.testing.assert_array_equal(loc.grad.numpy(), np.ones(3))
    np.testing.assert_allclose(scale.grad.numpy(), noise)
    gradviz.manual_seed(0)
    assert np.array_equal(D.Normal(loc, scale).rsample().detach().numpy(), noise)
    inputs = [v for v in z._node.inputs[1]._node.inputs if v.name == "eps"]
    assert len(inputs) == 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_samples_statistics(dtype: str) -> None:
    """Samples have the shape ``sample_shape + batch_shape``, the parameters' dtype, no
    gradient, and the right mean and spread (loosely: 4000 draws)."""
    gradviz.manual_seed(1)
    loc = gradviz.tensor([1.0, -2.0], dtype=dtype, requires_grad=True)
    x = D.Normal(loc, gradviz.tensor([0.5, 2.0], dtype=dtype)).sample((4000,))
    assert (x.shape, str(x.dtype), x.requires_grad) == ((4000, 2), dtype, False)
    np.testing.assert_allclose(x.numpy().mean(0), [1.0, -2.0], atol=0.15)
    np.testing.assert_allclose(x.numpy().std(0), [0.5, 2.0], rtol=0.1)
    u = D.Uniform(gradviz.tensor(-1.0, dtype=dtype), 3.0).sample((4000,)).numpy()
    assert u.min() >= -1
    assert u.max() < 3
    assert abs(u.mean() - 1) < 0.1
    probs = gradviz.tensor([0.1, 0.6, 0.3], dtype=dtype)
    c = D.Categorical(probs).sample((4000, 2))
    assert (c.shape, str(c.dtype)) == ((4000, 2), "int64")
    np.testing.assert_allclose(np.bincount(c.numpy().ravel()) / 8000, [0.1, 0.6, 0.3], atol=0.03)
    cov = gradviz.tensor([[1.0, 0.8], [0.8, 2.0]], dtype=dtype)
    m = D.MultivariateNormal(gradviz.tensor([1.0, -1.0], dtype=dtype), cov).sample((4000,))
    assert (m.shape, str(m.dtype)) == ((4000, 2), dtype)
    np.testing.assert_allclose(np.cov(m.numpy().T), cov.numpy(), atol=0.15)
    b = D.Bernoulli(gradviz.tensor([0.2, 0.9], dtype=dtype)).sample((4000,))
    assert (b.shape, str(b.dtype)) == ((4000, 2), dtype)
    np.testing.assert_allclose(b.numpy().mean(0), [0.2, 0.9], atol=0.03)


def _sizes_as_tuples(text: str) -> str:
    """PyTorch's ``torch.Size([2, 3])`` written as gradviz's shapes, ``(2, 3)``."""
    return re.sub(
        r"torch\.Size\(\[([\d, ]*)\]\)",
        lambda m: repr(tuple(int(n) for n in m.group(1).split(", ") if n)),
        text,
    )


def _both(build: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    return build(gradviz, D), build(torch, TD)


SHAPES = {
    "normal": lambda L, d: d.Normal(L.zeros(2, 3), 1.0),
    "normal_numbers": lambda L, d: d.Normal(0.0, 1.0),
    "categorical": lambda L, d: d.Categorical(logits=L.zeros(2, 3)),
    "categorical_1d": lambda L, d: d.Categorical(probs=L.ones(4)),
    "bernoulli": lambda L, d: d.Bernoulli(probs=L.ones(3) / 2),
    "bernoulli_number": lambda L, d: d.Bernoulli(logits=0.3),
    "uniform": lambda L, d: d.Uniform(L.zeros(2), 1.0),
    "independent": lambda L, d: d.Independent(d.Normal(L.zeros(4, 2, 3), 1.0), 2),
    "mvn": lambda L, d: d.MultivariateNormal(L.zeros(2, 3), scale_tril=L.eye(3)),
    "mvn_covariance": lambda L, d: d.MultivariateNormal(L.zeros(3), L.eye(3).expand(4, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_and_repr_as_torch(name: str) -> None:
    ours, theirs = _both(SHAPES[name])
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    assert ours.sample((5,)).shape == tuple(theirs.sample((5,)).shape)
    assert str(ours.sample().dtype) == str(theirs.sample().dtype).split(".")[-1]
    assert repr(ours) == _sizes_as_tuples(repr(theirs))
    assert (ours.has_rsample, ours.has_enumerate_support) == (
        theirs.has_rsample,
        theirs.has_enumerate_support,
    )


REFUSED = {
    "negative scale": lambda L, d: d.Normal(L.zeros(2), L.tensor([1.0, -1.0])),
    "nan loc": lambda L, d: d.Normal(L.tensor(float("nan")), 1.0),
    "nan value": lambda L, d: d.Normal(0.0, 1.0).log_prob(L.tensor([float("nan")])),
    "not a tensor": lambda L, d: d.Normal(0.0, 1.0).log_prob(2.0),
    "not broadcastable": lambda L, d: d.Normal(L.zeros(3), 1.0).log_prob(L.zeros(2)),
    "negative probs": lambda L, d: d.Categorical(L.tensor([0.5, -0.1])),
    "both": lambda L, d: d.Categorical(probs=L.ones(2), logits=L.ones(2)),
    "neither": lambda L, d: d.Bernoulli(),
    "0-d probs": lambda L, d: d.Categorical(L.tensor(1.0)),
    "category out of range": lambda L, d: d.Categorical(L.ones(2)).log_prob(L.tensor(2)),
    "fractional category": lambda L, d: d.Categorical(L.ones(2)).log_prob(L.tensor(0.5)),
    "bernoulli probs over 1": lambda L, d: d.Bernoulli(L.tensor([0.5, 1.5])),
    "bernoulli value": lambda L, d: d.Bernoulli(L.ones(2) / 2).log_prob(L.tensor(0.5)),
    "uniform low above high": lambda L, d: d.Uniform(1.0, 0.0),
    "uniform value outside": lambda L, d: d.Uniform(0.0, 1.0).log_prob(L.tensor(1.5)),
    "independent too many dims": lambda L, d: d.Independent(d.Normal(L.zeros(2), 1.0), 2),
    "independent value shape": lambda L, d: d.Independent(d.Normal(L.zeros(2, 3), 1.0), 1).log_prob(
        L.zeros(2, 4)
    ),
    "mvn not positive definite": lambda L, d: d.MultivariateNormal(L.zeros(2), -L.eye(2)),
    "mvn not lower": lambda L, d: d.MultivariateNormal(L.zeros(2), scale_tril=L.ones(2, 2)),
    "mvn two matrices": lambda L, d: d.MultivariateNormal(L.zeros(2), L.eye(2), L.eye(2)),
    "mvn 0-d loc": lambda L, d: d.MultivariateNormal(L.tensor(0.0), L.eye(1)),
    "mvn value size": lambda L, d: d.MultivariateNormal(L.zeros(2), L.eye(2)).log_prob(L.zeros(3)),
    "kl unknown pair": lambda L, d: d.kl_divergence(d.Bernoulli(0.5), d.Categorical(L.ones(2))),
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
    first = _sizes_as_tuples(first)
    assert first in str(ours.value)


def test_validate_args_off_skips_the_checks() -> None:
    assert D.Normal(0.0, gradviz.tensor([-1.0]), validate_args=False).batch_shape == (1,)
    value = D.Categorical(gradviz.ones(2), validate_args=False).log_prob(gradviz.tensor(1))
    assert value.item() == pytest.approx(np.log(0.5))
    try:
        D.Distribution.set_default_validate_args(False)
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(GradvizError, match="GreaterThan"):
        D.Normal(0.0, -1.0)


def test_register_kl_adds_a_rule() -> None:
    class Shifted(D.Normal):
        pass

    assert D.kl_divergence(Shifted(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0  # inherited

    @D.register_kl(Shifted, D.Normal)
    def _rule(p: Any, q: Any) -> Any:
        return p.loc * 0 + 7

    assert D.kl_divergence(Shifted(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 7
    with pytest.raises(GradvizError, match="register_kl"):
        D.register_kl(int, D.Normal)


def test_import_paths_as_torch() -> None:
    """``torch.distributions.Normal`` and ``from torch.distributions import ...`` both work."""
    from gradviz.distributions import Categorical, kl_divergence  # noqa: F401
    from gradviz.distributions.constraints import positive

    assert gradviz.distributions.Normal is D.Normal
    assert repr(positive) == repr(TD.constraints.positive)


def test_reinforce_step_runs() -> None:
    """PyTorch's REINFORCE tutorial: sample an action, score it, step the policy."""
    gradviz.manual_seed(0)
    policy = gradviz.nn.Linear(4, 2)
    optimizer = gradviz.optim.Adam(policy.parameters(), lr=0.01)
    state = gradviz.randn(4)
    m = D.Categorical(logits=policy(state))
    action = m.sample()
    loss = -m.log_prob(action) * 1.5
    loss.backward()
    optimizer.step()
    assert action.item() in (0, 1)
    assert policy.weight.grad is not None


def test_vae_step_runs() -> None:
    """A VAE's loss: the reparameterised sample, a reconstruction, and the KL to N(0, 1)."""
    gradviz.manual_seed(0)
    enc, dec = gradviz.nn.Linear(6, 4), gradviz.nn.Linear(2, 6)
    x = gradviz.rand(3, 6)
    mu, log_var = enc(x).chunk(2, dim=-1)
    q = D.Normal(mu, (0.5 * log_var).exp())
    z = q.rsample()
    prior = D.Normal(gradviz.zeros_like(mu), gradviz.ones_like(mu))
    loss = gradviz.nn.functional.mse_loss(dec(z), x) + D.kl_divergence(q, prior).sum(-1).mean()
    loss.backward()
    assert enc.weight.grad is not None
    assert np.isfinite(enc.weight.grad.numpy()).all()
