"""``Independent``: some batch dims of a distribution read as event dims, so ``log_prob`` and
``entropy`` sum over them (a VAE's diagonal Gaussian: ``Independent(Normal(mu, std), 1)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.distribution import Distribution
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.variable import Variable


def sum_rightmost(value: Variable, dims: int) -> Variable:
    """``value`` summed over its last ``dims`` axes."""
    return value.reshape(*value.shape[: value.ndim - dims], -1).sum(-1) if dims else value


class Independent(Distribution):
    """``base_distribution`` with its rightmost ``reinterpreted_batch_ndims`` batch dims moved
    into the event: ``log_prob`` and ``entropy`` are summed over them."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        batch = base_distribution.batch_shape
        if reinterpreted_batch_ndims > len(batch):
            raise ArgumentError(
                "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                f"actual {reinterpreted_batch_ndims} vs {len(batch)}"
            )
        shape = batch + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        """Whether the base distribution has a reparameterised sample."""
        return self.base_dist.has_rsample

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        """The base's support, over the reinterpreted dims together."""
        result = self.base_dist.support
        n = self.reinterpreted_batch_ndims
        return constraints.independent(result, n) if n else result

    @property
    def mean(self) -> Variable:
        """The base's mean."""
        return self.base_dist.mean

    @property
    def mode(self) -> Variable:
        """The base's mode."""
        return self.base_dist.mode

    @property
    def variance(self) -> Variable:
        """The base's variance."""
        return self.base_dist.variance

    def sample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """The base's sample."""
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """The base's reparameterised sample."""
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Any) -> Variable:
        """The base's ``log_prob`` summed over the reinterpreted dims."""
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Variable:
        """The base's entropy summed over the reinterpreted dims."""
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
