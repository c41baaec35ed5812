"""What a distribution's parameters and values must satisfy (PyTorch's
``torch.distributions.constraints``): each ``check(value)`` gives a bool array, ``repr`` is
PyTorch's, so a refusal reads the same in both."""

from __future__ import annotations

from typing import Any

import numpy as np


def _values(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


class Constraint:
    """A set of values: ``check`` tells, element by element (over the event's axes for the
    constraints of vectors), which values are in it."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Any) -> np.ndarray:
        """A bool array: which values (events) are in the set."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}()"


class _Dependent(Constraint):
    """A constraint that depends on other parameters: never checked on its own."""

    def check(self, value: Any) -> np.ndarray:
        raise ValueError("Cannot determine validity of dependent constraint")


class _Real(Constraint):
    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        return v == v  # NaN is not real


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        return (v == 0) | (v == 1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def check(self, value: Any) -> np.ndarray:
        return _values(self.lower_bound) < _values(value)

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={_bound(self.lower_bound)})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value: Any) -> np.ndarray:
        return _values(self.lower_bound) <= _values(value)

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={_bound(self.lower_bound)})"


class _LessThan(Constraint):
    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, value: Any) -> np.ndarray:
        return _values(value) < _values(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={_bound(self.upper_bound)})"


class _Interval(Constraint):
    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        return (_values(self.lower_bound) <= v) & (v <= _values(self.upper_bound))

    def __repr__(self) -> str:
        low, high = _bound(self.lower_bound), _bound(self.upper_bound)
        return f"{type(self).__name__[1:]}(lower_bound={low}, upper_bound={high})"


class _IntegerInterval(_Interval):
    is_discrete = True

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        return (v % 1 == 0) & super().check(v)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        return np.all(v >= 0, axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _IndependentConstraint(Constraint):
    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base_constraint = base
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value: Any) -> np.ndarray:
        result = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        return np.all(result, axis=tuple(range(-n, 0))) if n else result

    def __repr__(self) -> str:
        base = repr(self.base_constraint)
        return f"IndependentConstraint({base}, {self.reinterpreted_batch_ndims})"


class _PositiveDefinite(Constraint):
    """Symmetric matrices with a Cholesky factor (all eigenvalues positive)."""

    event_dim = 2

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        symmetric = np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).all(axis=(-2, -1))
        if not symmetric.all():
            return symmetric
        return np.linalg.eigvalsh(v).min(-1) > 0


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value: Any) -> np.ndarray:
        v = _values(value)
        lower = (np.tril(v) == v).all(axis=(-2, -1))
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(-1)


def _bound(bound: Any) -> str:
    """A bound as PyTorch prints it: a number, or the tensor of bounds."""
    v = _values(bound)
    return repr(v.item()) if v.ndim == 0 else repr(bound)


dependent = _Dependent()
real = _Real()
boolean = _Boolean()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
real_vector = _IndependentConstraint(real, 1)
positive_definite = _PositiveDefinite()
lower_cholesky = _LowerCholesky()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
interval = _Interval
integer_interval = _IntegerInterval
independent = _IndependentConstraint


def is_dependent(constraint: Any) -> bool:
    """Whether ``constraint`` depends on other parameters (and so is not checked alone)."""
    return isinstance(constraint, _Dependent)


__all__ = [
    "Constraint",
    "boolean",
    "dependent",
    "greater_than",
    "greater_than_eq",
    "independent",
    "integer_interval",
    "interval",
    "is_dependent",
    "less_than",
    "lower_cholesky",
    "nonnegative",
    "positive",
    "positive_definite",
    "real",
    "real_vector",
    "simplex",
    "unit_interval",
]
