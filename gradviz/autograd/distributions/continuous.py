"""``Normal`` and ``Uniform``: the distributions with a reparameterised ``rsample``, the
noise drawn from gradviz's generator (seeded by ``manual_seed``) as an input of the graph."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from gradviz.autograd.creation import rand, randn
from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.distribution import Distribution, broadcast_all
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.variable import Variable

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


def _noise(draw: Any, shape: tuple[int, ...], like: Variable, name: str) -> Variable:
    """A draw of ``shape`` in ``like``'s dtype, named so the graph shows where it came from."""
    with no_grad():
        noise = draw(shape, dtype=like.dtype)
    noise.name = name
    return noise


class Normal(Distribution):
    """The normal (Gaussian) distribution with mean ``loc`` and standard deviation ``scale``.

    ``rsample`` is ``loc + eps * scale`` with ``eps`` standard normal noise, so gradients flow
    to ``loc`` and ``scale`` (the reparameterisation of variational autoencoders).
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        batch = () if _all_numbers(loc, scale) else tuple(self.loc.shape)
        super().__init__(batch, validate_args=validate_args)

    @property
    def mean(self) -> Variable:
        """``loc``."""
        return self.loc

    @property
    def mode(self) -> Variable:
        """``loc``."""
        return self.loc

    @property
    def stddev(self) -> Variable:
        """``scale``."""
        return self.scale

    @property
    def variance(self) -> Variable:
        """``scale ** 2``."""
        return self.stddev.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """``loc + eps * scale`` with ``eps`` standard normal noise (an input of the graph)."""
        shape = self._extended_shape(sample_shape)
        return self.loc + _noise(randn, shape, self.loc, "eps") * self.scale

    def log_prob(self, value: Variable) -> Variable:
        """``-(value - loc)**2 / (2 scale**2) - log(scale) - log(sqrt(2 pi))``."""
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale**2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value: Variable) -> Variable:
        """``(1 + erf((value - loc) / (scale sqrt 2))) / 2``."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value: Variable) -> Variable:
        """``loc + scale * erfinv(2 value - 1) * sqrt 2``."""
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Variable:
        """``1/2 + log(sqrt(2 pi)) + log(scale)``."""
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()


class Uniform(Distribution):
    """The uniform distribution on the half-open interval ``[low, high)``.

    ``rsample`` is ``low + u * (high - low)`` with ``u`` uniform noise on ``[0, 1)``.
    """

    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        batch = () if _all_numbers(low, high) else tuple(self.low.shape)
        super().__init__(batch, validate_args=validate_args)

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        """``low < high`` both ways."""
        return {
            "low": constraints.less_than(self.high),
            "high": constraints.greater_than(self.low),
        }

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        """The interval ``[low, high]``."""
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Variable:
        """``(high + low) / 2``."""
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Variable:
        """NaN: every point of the interval is a mode."""
        return self.high * math.nan

    @property
    def stddev(self) -> Variable:
        """``(high - low) / sqrt 12``."""
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Variable:
        """``(high - low)**2 / 12``."""
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """``low + u * (high - low)`` with ``u`` uniform noise (an input of the graph)."""
        shape = self._extended_shape(sample_shape)
        return self.low + _noise(rand, shape, self.low, "u") * (self.high - self.low)

    def log_prob(self, value: Variable) -> Variable:
        """``-log(high - low)`` inside the interval, ``-inf`` outside."""
        if self._validate_args:
            self._validate_sample(value)
        inside = self.low.le(value).type_as(self.low) * self.high.gt(value).type_as(self.low)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value: Variable) -> Variable:
        """``(value - low) / (high - low)``, clamped to ``[0, 1]``."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Variable) -> Variable:
        """``low + value * (high - low)``."""
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Variable:
        """``log(high - low)``."""
        return (self.high - self.low).log()


def _all_numbers(*values: Any) -> bool:
    return not any(isinstance(v, Variable) for v in values)
