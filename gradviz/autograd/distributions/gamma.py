"""``Gamma``, ``Chi2`` and ``StudentT``: the distributions of the gamma function. ``rsample`` is
differentiable in the shape parameters by implicit reparameterisation: a Gamma draw is the
inverse CDF at uniform noise ``u`` (an input of the graph), its gradient
``-(dP/dalpha) / density`` (the ``StandardGamma`` op), as PyTorch's ``_standard_gamma``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from gradviz.autograd.creation import rand, randn, tensor
from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.continuous import _noise
from gradviz.autograd.distributions.distribution import Distribution, broadcast_all
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.ops.gamma_sample import Igamma, StandardGamma
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.ops.special import Xlogy
from gradviz.autograd.variable import Variable


def standard_gamma(concentration: Variable, shape: tuple[int, ...]) -> Variable:
    """Gamma(concentration, rate 1) draws of ``shape`` (``concentration`` broadcast to it),
    differentiable in ``concentration``; the uniform noise ``u`` (float64) is an input of the
    graph, named so."""
    with no_grad():
        u = rand(shape, dtype=np.float64)
    u.name = "u"
    return StandardGamma.apply(concentration.expand(*shape), u)


def as_value(value: Any, like: Variable) -> Any:
    """A value scored by ``log_prob`` in the parameters' dtype, a number made a Variable
    (PyTorch's ``as_tensor(value, dtype=rate.dtype)``); anything else as given (the checks
    then name it)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return tensor(float(value), dtype=like.dtype)
    if isinstance(value, Variable) and value.dtype != like.dtype:
        return value.to(like.dtype)
    return value


class Gamma(Distribution):
    """The gamma distribution with shape ``concentration`` and inverse scale ``rate``: density
    ``rate^a x^(a-1) e^(-rate x) / Gamma(a)`` on ``x >= 0``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.positive,
        "rate": constraints.positive,
    }
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        numbers = not any(isinstance(v, Variable) for v in (concentration, rate))
        batch = () if numbers else tuple(self.concentration.shape)
        super().__init__(batch, validate_args=validate_args)

    @property
    def mean(self) -> Variable:
        """``concentration / rate``."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Variable:
        """``(concentration - 1) / rate``, 0 when the concentration is below 1."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Variable:
        """``concentration / rate ** 2``."""
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """A standard gamma draw over ``rate``."""
        shape = self._extended_shape(sample_shape)
        return standard_gamma(self.concentration, shape) / self.rate.expand(*shape)

    def log_prob(self, value: Any) -> Variable:
        """``a log(rate) + (a - 1) log(value) - rate value - lgamma(a)``."""
        value = as_value(value, self.rate)
        if self._validate_args:
            self._validate_sample(value)
        a, rate = self.concentration, self.rate
        return Xlogy.apply(a, rate) + Xlogy.apply(a - 1, value) - rate * value - a.lgamma()

    def cdf(self, value: Any) -> Variable:
        """``P(concentration, rate value)``, the regularized incomplete gamma function (no
        gradient in the concentration, as PyTorch's)."""
        if self._validate_args:
            self._validate_sample(value)
        return Igamma.apply(self.concentration, self.rate * value)

    def entropy(self) -> Variable:
        """``a - log(rate) + lgamma(a) + (1 - a) digamma(a)``."""
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom: ``Gamma(df / 2, 1 / 2)``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self) -> Variable:
        """The degrees of freedom, ``2 concentration``."""
        return self.concentration * 2

    def _check_parameters(self) -> None:  # (df is no attribute of its own, as in PyTorch)
        df = self.df
        if not np.all(constraints.positive.check(df)):
            raise ArgumentError(
                f"Expected parameter df (Tensor of shape {tuple(df.shape)}) of distribution "
                f"{self!r} to satisfy the constraint {constraints.positive!r}, but found "
                f"invalid values:\n{df}"
            )


class StudentT(Distribution):
    """Student's t distribution with ``df`` degrees of freedom, location ``loc`` and scale
    ``scale``; ``rsample`` is ``loc + scale * X / sqrt(Z / df)``, X standard normal, Z a
    Chi2(df) draw (differentiable in ``df`` through it)."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=False)
        numbers = not any(isinstance(v, Variable) for v in (df, loc, scale))
        super().__init__(() if numbers else tuple(self.df.shape), validate_args=validate_args)

    @property
    def mean(self) -> Variable:
        """``loc``, NaN where ``df <= 1``."""
        return where(self.df.detach() <= 1, math.nan, self.loc)

    @property
    def mode(self) -> Variable:
        """``loc``."""
        return self.loc

    @property
    def variance(self) -> Variable:
        """``scale**2 df / (df - 2)`` above 2, inf in (1, 2], NaN at or below 1."""
        df = self.df.detach()
        big = df > 2
        safe = where(big, self.df, 3.0)
        out = where(big, self.scale.pow(2) * safe / (safe - 2), math.inf)
        return where(df <= 1, math.nan, out)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """``loc + scale * X * rsqrt(Z / df)`` (X standard normal, Z a Chi2(df) draw)."""
        shape = self._extended_shape(sample_shape)
        x = _noise(randn, shape, self.df, "eps")
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (x * (z / self.df).rsqrt())

    def log_prob(self, value: Variable) -> Variable:
        """``-(df + 1)/2 log(1 + y**2/df) - log(scale) - log(df pi)/2 - log B(df/2, 1/2)``."""
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * df.log()
            + 0.5 * math.log(math.pi)
            + (0.5 * df).lgamma()
            - (0.5 * (df + 1.0)).lgamma()
        )
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - z

    def entropy(self) -> Variable:
        """``log(scale) + (df+1)/2 (digamma((df+1)/2) - digamma(df/2)) + log(df)/2 +
        log B(df/2, 1/2)``."""
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        half = 0.5 * (df + 1)
        return (
            self.scale.log()
            + half * (half.digamma() - (0.5 * df).digamma())
            + (0.5 * df.log() + lbeta)
        )
