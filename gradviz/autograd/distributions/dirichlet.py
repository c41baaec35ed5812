"""``Dirichlet`` and ``Beta`` (a Dirichlet of two): ``rsample`` normalises independent Gamma
draws, each differentiable in its concentration by implicit reparameterisation (the
``StandardGamma`` op), so the gradient flows to the concentrations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from gradviz.autograd.creation import tensor
from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.distribution import Distribution, broadcast_all
from gradviz.autograd.distributions.gamma import standard_gamma
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.ops.shape import stack
from gradviz.autograd.ops.special import Xlogy
from gradviz.autograd.variable import Variable


class Dirichlet(Distribution):
    """The Dirichlet distribution over the simplex with ``concentration`` (..., K): density
    ``prod x_k^(a_k - 1) / B(a)``."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration": constraints.independent(constraints.positive, 1)
    }
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Variable, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Variable) or concentration.dim() < 1:
            raise ArgumentError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = tuple(concentration.shape)
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    @property
    def mean(self) -> Variable:
        """``concentration / sum(concentration)``."""
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Variable:
        """``(a - 1)+ / sum (a - 1)+``; the first vertex when every ``a < 1`` (PyTorch's)."""
        shifted = (self.concentration - 1).clamp(min=0.0)
        mode = shifted / shifted.sum(-1, True)
        corner = np.zeros(shifted.shape[-1], mode.dtype)
        corner[0] = 1
        everywhere_below = (self.concentration < 1).all(dim=-1, keepdim=True)
        return where(everywhere_below, tensor(corner), mode)

    @property
    def variance(self) -> Variable:
        """``a (a0 - a) / (a0**2 (a0 + 1))`` with ``a0 = sum(a)``."""
        a = self.concentration
        total = a.sum(-1, True)
        return a * (total - a) / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """Gamma(a_k) draws over their sum: differentiable in the concentration."""
        gammas = standard_gamma(self.concentration, self._extended_shape(sample_shape))
        return gammas / gammas.sum(-1, True)

    def log_prob(self, value: Variable) -> Variable:
        """``sum (a - 1) log x + lgamma(sum a) - sum lgamma(a)``."""
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return Xlogy.apply(a - 1.0, value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Variable:
        """``log B(a) + (a0 - K) digamma(a0) - sum (a - 1) digamma(a)``."""
        a = self.concentration
        k = a.shape[-1]
        total = a.sum(-1)
        return (
            a.lgamma().sum(-1)
            - total.lgamma()
            - (k - total) * total.digamma()
            - ((a - 1.0) * a.digamma()).sum(-1)
        )


class Beta(Distribution):
    """The beta distribution on [0, 1] with ``concentration1`` (alpha) and ``concentration0``
    (beta): a Dirichlet of ``(alpha, beta)``, whose first coordinate it is."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self, concentration1: Any, concentration0: Any, validate_args: bool | None = None
    ) -> None:
        c1, c0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([c1, c0], -1), validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    @property
    def concentration1(self) -> Variable:
        """alpha, the exponent of ``x``."""
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self) -> Variable:
        """beta, the exponent of ``1 - x``."""
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self) -> Variable:
        """``alpha / (alpha + beta)``."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Variable:
        """The Dirichlet's mode, first coordinate."""
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Variable:
        """``alpha beta / ((alpha + beta)**2 (alpha + beta + 1))``."""
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """The first coordinate of a Dirichlet draw."""
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Variable) -> Variable:
        """The Dirichlet's ``log_prob`` at ``(value, 1 - value)``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Variable:
        """The Dirichlet's entropy."""
        return self._dirichlet.entropy()
