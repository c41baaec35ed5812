"""PyTorch's sampling functions ``normal`` (its four overloads), ``bernoulli`` and
``poisson``, drawn from gradviz's generator (seeded by ``manual_seed``, or the
``generator=`` given).

Each result requires grad when an input does, with a zero gradient, as PyTorch's (a draw is
not reparametrized: ``mean + std * randn_like(std)`` is, when a gradient is wanted). A trace
draws each draw from Variables as the output of a no-gradient op (``ops.nodiff``) reading them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, InputError, OperandError
from gradviz.autograd.linalg_norms import torch_name
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, as_dtype, get_default_dtype


def _floating(x: Variable, kernel: str) -> None:
    if x.dtype.kind != "f":
        raise InputError(f"\"{kernel}\" not implemented for '{torch_name(x.dtype)}'")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise OperandError(f"normal(): argument '{name}' must be a float or a Variable")
    return float(value)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: rng.Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Variable:
    """Draws from ``N(mean, std**2)``: ``mean`` and/or ``std`` Variables (broadcast; the
    result in the first one's dtype), or two numbers and a ``size``."""
    if not isinstance(mean, Variable) and not isinstance(std, Variable):
        if size is None:
            raise ArgumentError("normal(): with a number mean and std, give the size to draw")
        low, spread = _number(mean, "mean"), _number(std, "std")
        if spread < 0:
            raise InputError(f"normal expects std >= 0.0, but found std {std}")
        shape = (size,) if isinstance(size, int) else tuple(size)
        kind = get_default_dtype() if dtype is None else as_dtype(dtype, "normal")
        draws = rng.pick(generator).normal(low, spread, shape).astype(kind)
        return Variable(draws, requires_grad=requires_grad)
    if size is not None:
        raise OperandError("normal(): size is given only with a number mean and std")
    first = mean if isinstance(mean, Variable) else std
    _floating(first, "normal_kernel_cpu")
    if isinstance(std, Variable):
        if np.any(std._data < 0):
            raise InputError("normal expects all elements of std >= 0.0")
    elif _number(std, "std") < 0:
        raise InputError(f"normal expects std >= 0.0, but found std {std}")
    shape = np.broadcast_shapes(np.shape(_data(mean)), np.shape(_data(std)))
    draws = rng.pick(generator).standard_normal(shape) * _data(std) + _data(mean)
    out = nodiff.announce(nodiff.Normal, (mean, std), Variable(draws.astype(first.dtype)))
    for given in (mean, std):  # PyTorch's gradient of a draw: zero, for mean and std
        if isinstance(given, Variable) and given.requires_grad:
            out = out + given.to(first.dtype) * 0
    return out


def _data(value: Any) -> Any:
    return value._data if isinstance(value, Variable) else value


def _zero_gradient(op: type[nodiff.NoGradient], draws: np.ndarray, x: Variable) -> Variable:
    """``draws`` (which ``op`` made from ``x``) as a Variable that requires grad when ``x``
    does, with a zero gradient."""
    out = nodiff.announce(op, (x,), Variable(draws.astype(x.dtype)))
    return out + x * 0 if x.requires_grad else out


def bernoulli(
    input: Any, p: float | None = None, *, generator: rng.Generator | None = None
) -> Variable:
    """1 with probability ``input`` (or ``p`` for every element), else 0, in the input's
    dtype."""
    x = as_variable(input, "bernoulli")
    _floating(x, "bernoulli_tensor_cpu_p_")
    if p is not None:
        if not 0 <= p <= 1:
            raise InputError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        chances = np.full(x.shape, p)
    else:
        chances = x._data
        if np.any((chances < 0) | (chances > 1)):
            raise InputError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draws = rng.pick(generator).random(x.shape) < chances
    return _zero_gradient(nodiff.Bernoulli, draws, x)


def poisson(input: Any, generator: rng.Generator | None = None) -> Variable:
    """A Poisson draw with each element of ``input`` as its rate, in the input's dtype."""
    x = as_variable(input, "poisson")
    _floating(x, "poisson_cpu")
    if np.any(x._data < 0):
        raise InputError("invalid Poisson rate, expected rate to be non-negative")
    return _zero_gradient(nodiff.Poisson, rng.pick(generator).poisson(x._data), x)


#: every public function of this module, for the top-level namespaces
NAMES = ("normal", "bernoulli", "poisson")
