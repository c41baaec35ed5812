"""The base of every distribution (PyTorch's ``torch.distributions.Distribution``): shapes,
sampling under ``no_grad``, and the checks of parameters and values (``validate_args``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from gradviz.autograd.creation import tensor
from gradviz.autograd.distributions import constraints
from gradviz.autograd.errors import ArgumentError, OperandError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.ops.api_index import broadcast_tensors
from gradviz.autograd.variable import Variable

Shape = tuple[int, ...]


class Distribution:
    """A family of probability distributions with a batch of parameters.

    ``batch_shape`` is the shape of the batch of independent distributions, ``event_shape`` the
    shape of one draw; ``sample(sample_shape)`` has shape ``sample_shape + batch_shape +
    event_shape``. With ``validate_args`` (on by default, as in PyTorch) the parameters are
    checked against ``arg_constraints`` and every scored value against ``support``.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}
    support: Any = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn the checks of parameters and values on or off for every new distribution."""
        if value not in (True, False):
            raise ArgumentError(f"set_default_validate_args: expected a bool, got {value!r}")
        Distribution._validate_args = value

    def __init__(
        self, batch_shape: Shape = (), event_shape: Shape = (), validate_args: bool | None = None
    ) -> None:
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self) -> None:
        for param, constraint in self.arg_constraints.items():
            if constraints.is_dependent(constraint) or param not in self.__dict__:
                continue  # dependent constraints and parameters not given are not checked
            value = self.__dict__[param]
            if not np.all(constraint.check(value)):
                raise ArgumentError(
                    f"Expected parameter {param} (Tensor of shape {tuple(value.shape)}) of "
                    f"distribution {self!r} to satisfy the constraint {constraint!r}, but found "
                    f"invalid values:\n{value}"
                )

    @property
    def batch_shape(self) -> Shape:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Shape:
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def mean(self) -> Variable:
        """The mean of the distribution."""
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self) -> Variable:
        """The mode of the distribution."""
        raise NotImplementedError(f"{type(self).__name__} has no mode")

    @property
    def variance(self) -> Variable:
        """The variance of the distribution."""
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self) -> Variable:
        """The standard deviation of the distribution."""
        return self.variance.sqrt()

    def sample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, out of the graph
        (no gradient flows to the parameters; use ``rsample`` for that)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Variable:
        """A reparameterised draw: a differentiable function of the parameters and noise."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample")

    def log_prob(self, value: Variable) -> Variable:
        """The log of the probability density (or mass) at ``value``."""
        raise NotImplementedError(f"{type(self).__name__} has no log_prob")

    def cdf(self, value: Variable) -> Variable:
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, value: Variable) -> Variable:
        """The inverse cumulative distribution function at ``value``."""
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def entropy(self) -> Variable:
        """The entropy, one per distribution of the batch."""
        raise NotImplementedError(f"{type(self).__name__} has no entropy")

    def perplexity(self) -> Variable:
        """``exp(entropy)``."""
        return self.entropy().exp()

    def _extended_shape(self, sample_shape: Sequence[int] = ()) -> Shape:
        if isinstance(sample_shape, numbers.Number) or not isinstance(sample_shape, Sequence):
            raise OperandError(
                f"{type(self).__name__}.sample: sample_shape must be a tuple of ints like (5,), "
                f"got {type(sample_shape).__name__} {sample_shape!r}"
            )
        return (*sample_shape, *self._batch_shape, *self._event_shape)

    def _validate_sample(self, value: Any) -> None:
        if not isinstance(value, Variable):
            raise ArgumentError("The value argument to log_prob must be a Tensor")
        shape, event = tuple(value.shape), self._event_shape
        if shape[len(shape) - len(event) :] != event:
            raise ArgumentError(
                f"The right-most size of value must match event_shape: {shape} vs {event}."
            )
        expected = self._batch_shape + event
        for i, j in zip(reversed(shape), reversed(expected), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ArgumentError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{shape} vs {expected}."
                )
        if not np.all(self.support.check(value)):
            raise ArgumentError(
                f"Expected value argument (Tensor of shape {shape}) to be within the support "
                f"({self.support!r}) of the distribution {self!r}, but found invalid values:\n"
                f"{value}"
            )

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        shown = []
        for name in names:
            value = self.__dict__[name]
            if value.numel() == 1:
                shown.append(f"{name}: {value.item() if value.dim() == 0 else value}")
            else:
                shown.append(f"{name}: {tuple(value.shape)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class lazy_property:
    """A parameter computed from the other on first use and then kept (``probs`` from
    ``logits`` and back), as PyTorch's: a kept one is listed by ``repr``."""

    def __init__(self, method: Any) -> None:
        self.method = method
        self.__doc__ = method.__doc__
        self.name = method.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = self.method(instance)
        instance.__dict__[self.name] = value
        return value


def broadcast_all(*values: Any) -> tuple[Variable, ...]:
    """Numbers and Variables broadcast to one shape; numbers take the Variables' dtype (the
    default dtype when all are numbers)."""
    found = [v for v in values if isinstance(v, Variable)]
    for v in values:
        if not isinstance(v, Variable | numbers.Number):
            raise OperandError(
                "Input arguments must all be instances of numbers.Number or Variable, got "
                f"{type(v).__name__}"
            )
    dtype = found[0].dtype if found else None
    made = [v if isinstance(v, Variable) else tensor(float(v), dtype=dtype) for v in values]
    return broadcast_tensors(*made)
