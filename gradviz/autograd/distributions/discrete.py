"""``Categorical`` and ``Bernoulli``: given by ``probs`` or by ``logits`` (not both); the other
is computed on first use, as in PyTorch. Samples are drawn from gradviz's generator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from gradviz.autograd import functional as F
from gradviz.autograd.creation import arange, full, multinomial, rand
from gradviz.autograd.distributions import constraints
from gradviz.autograd.distributions.distribution import (
    Distribution,
    broadcast_all,
    lazy_property,
)
from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.ops.api_index import broadcast_tensors
from gradviz.autograd.ops.indexing import where
from gradviz.autograd.variable import Variable


def clamp_probs(probs: Variable) -> Variable:
    """``probs`` clamped to ``[eps, 1 - eps]`` (``eps`` of its dtype), so logs stay finite."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def _one_of(name: str, probs: Any, logits: Any) -> None:
    if (probs is None) == (logits is None):
        raise ArgumentError(f"{name}: Either `probs` or `logits` must be specified, but not both.")


class Categorical(Distribution):
    """A distribution over ``0 .. K-1`` with ``K = probs.size(-1)``; ``probs`` are normalised
    to sum to 1 over the last axis, ``logits`` are unnormalised log probabilities."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "probs": constraints.simplex,
        "logits": constraints.real_vector,
    }
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        _one_of("Categorical", probs, logits)
        given = "probs" if probs is not None else "logits"
        param = probs if probs is not None else logits
        if not isinstance(param, Variable) or param.dim() < 1:
            raise ArgumentError(f"`{given}` parameter must be at least one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.__dict__[given]
        self._num_events = self._param.shape[-1]
        batch = tuple(self._param.shape[:-1])
        super().__init__(batch, validate_args=validate_args)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        """The integers ``0 .. K-1``."""
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Variable:
        """The normalised log probabilities (from ``probs``, clamped away from 0)."""
        return clamp_probs(self.probs).log()

    @lazy_property
    def probs(self) -> Variable:
        """The probabilities (the softmax of ``logits``)."""
        return F.softmax(self.logits, dim=-1)

    @property
    def param_shape(self) -> tuple[int, ...]:
        """The shape of the parameter given (``batch_shape + (K,)``)."""
        return tuple(self._param.shape)

    @property
    def mean(self) -> Variable:
        """NaN (categories have no order)."""
        return full(self._extended_shape(), np.nan, dtype=self.probs.dtype)

    @property
    def mode(self) -> Variable:
        """The most probable category."""
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Variable:
        """NaN (categories have no order)."""
        return full(self._extended_shape(), np.nan, dtype=self.probs.dtype)

    def sample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """Category indices (int64) of shape ``sample_shape + batch_shape``."""
        shape = self._extended_shape(sample_shape)
        count = int(np.prod(shape[: len(shape) - len(self._batch_shape)], dtype=np.int64))
        with no_grad():
            flat = self.probs.reshape(-1, self._num_events)
            drawn = multinomial(flat, count, True).T if count else flat[:, :0].long().T
            return drawn.reshape(*shape)

    def log_prob(self, value: Variable) -> Variable:
        """The log probability of each category in ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        index = value.long().unsqueeze(-1)
        index, log_pmf = broadcast_tensors(index, self.logits)
        return log_pmf.gather(-1, index[..., :1]).squeeze(-1)

    def entropy(self) -> Variable:
        """``-sum(probs * logits)`` over the categories (a zero probability adds 0)."""
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Variable:
        """The categories ``0 .. K-1`` along a new first axis (expanded over the batch)."""
        values = arange(self._num_events)
        values = values.reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values


class Bernoulli(Distribution):
    """A coin: 1 with probability ``probs`` (or ``sigmoid(logits)``), else 0."""

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        _one_of("Bernoulli", probs, logits)
        given = "probs" if probs is not None else "logits"
        param = probs if probs is not None else logits
        (self.__dict__[given],) = broadcast_all(param)
        self._param = self.__dict__[given]
        batch = () if not isinstance(param, Variable) else tuple(self._param.shape)
        super().__init__(batch, validate_args=validate_args)

    @lazy_property
    def logits(self) -> Variable:
        """``log(p) - log(1 - p)`` (``p`` clamped away from 0 and 1)."""
        clamped = clamp_probs(self.probs)
        return clamped.log() - (-clamped).log1p()

    @lazy_property
    def probs(self) -> Variable:
        """``sigmoid(logits)``."""
        return self.logits.sigmoid()

    @property
    def param_shape(self) -> tuple[int, ...]:
        """The shape of the parameter given."""
        return tuple(self._param.shape)

    @property
    def mean(self) -> Variable:
        """``probs``."""
        return self.probs

    @property
    def mode(self) -> Variable:
        """1 where ``probs > 1/2``, 0 below, NaN at 1/2 (a tie)."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return where(self.probs == 0.5, np.nan, mode)

    @property
    def variance(self) -> Variable:
        """``probs * (1 - probs)``."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """Zeros and ones in ``probs``' dtype, of shape ``sample_shape + batch_shape``."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            draw = rand(shape, dtype=self.probs.dtype)
            return (draw < self.probs.expand(*shape)).to(self.probs.dtype)

    def log_prob(self, value: Variable) -> Variable:
        """``-binary_cross_entropy_with_logits(logits, value)``, element by element."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Variable:
        """``binary_cross_entropy_with_logits(logits, probs)``, element by element."""
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Variable:
        """0 and 1 along a new first axis (expanded over the batch)."""
        values = arange(2).to(self._param.dtype)
        values = values.reshape(-1, *(1,) * len(self._batch_shape))
        return values.expand(-1, *self._batch_shape) if expand else values
