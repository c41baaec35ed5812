"""The log-gamma function and its derivatives with PyTorch's names: ``lgamma`` (a Poisson or
negative-binomial likelihood's ``lgamma(k + 1)``) and ``digamma`` (its derivative), one-input
``_Pointwise`` ops. Values at the poles are PyTorch's: ``lgamma`` is +inf at 0 and the
negative integers; ``digamma`` is -inf at 0 and NaN at the negative integers."""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.ops.special import _Pointwise


def _lgamma_one(v: float) -> float:
    """``math.lgamma``, with PyTorch's +inf at the poles (0 and the negative integers) and at
    +-inf, and NaN for NaN."""
    if math.isnan(v):
        return v
    if math.isinf(v) or (v <= 0 and v == math.floor(v)):
        return math.inf
    return math.lgamma(v)


_lgamma = np.frompyfunc(_lgamma_one, 1, 1)


def _shifted(x: np.ndarray, step: object, minimum: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """``x`` raised by whole steps to at least ``minimum``, and the sum of ``step(x)`` over
    the values passed on the way (the recurrences of digamma and trigamma)."""
    x = x.copy()
    total = np.zeros_like(x)
    low = x < minimum
    while low.any():
        total[low] += step(x[low])  # type: ignore[operator]
        x[low] += 1
        low = x < minimum
    return x, total


def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) = d lgamma(x) / dx, by the recurrence to x >= 10 and the asymptotic series;
    reflected below 0.5."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    reflect = x < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(reflect, 1 - x, x)
        y, shift = _shifted(np.where(np.isfinite(y), y, 10.0), lambda v: -1 / v)
        inv = 1 / (y * y)
        series = (
            np.log(y)
            - 0.5 / y
            - inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (1 / 240 - inv / 132))))
        )
        value = series + shift
        value = np.where(reflect, value - np.pi / np.tan(np.pi * x), value)
    out[...] = value
    poles = (x <= 0) & (x == np.floor(x))
    out[poles] = np.where(x[poles] == 0, -np.inf, np.nan)
    out[np.isposinf(x)] = np.inf
    out[np.isnan(x) | np.isneginf(x)] = np.nan
    return out


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x), by the recurrence to x >= 10 and the asymptotic series; reflected below 0.5."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(reflect, 1 - x, x)
        y, shift = _shifted(np.where(np.isfinite(y), y, 10.0), lambda v: 1 / (v * v))
        inv = 1 / (y * y)
        series = (
            1 / y
            + inv / 2
            + inv / y * (1 / 6 - inv * (1 / 30 - inv * (1 / 42 - inv * (1 / 30 - inv * 5 / 66))))
        )
        value = series + shift
        value = np.where(reflect, np.pi**2 / np.sin(np.pi * x) ** 2 - value, value)
    value[np.isposinf(x)] = 0.0
    return value


def tetragamma(x: np.ndarray) -> np.ndarray:
    """psi''(x), by the recurrence to x >= 10 and the asymptotic series; reflected below 0.5."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(reflect, 1 - x, x)
        y, shift = _shifted(np.where(np.isfinite(y), y, 10.0), lambda v: -2 / v**3)
        inv = 1 / (y * y)
        series = (
            -inv - inv / y - inv**2 / 2 + inv**3 / 6 - inv**4 / 6 + 3 * inv**5 / 10
            - 5 * inv**6 / 6
        )  # fmt: skip
        value = series + shift
        reflected = value - 2 * np.pi**3 * np.cos(np.pi * x) / np.sin(np.pi * x) ** 3
        value = np.where(reflect, reflected, value)
    value[np.isposinf(x)] = 0.0
    return value


class Lgamma(_Pointwise):
    """log |Gamma(x)|; its gradient is ``digamma(x)`` times the output's."""

    @staticmethod
    def value(x):
        return _lgamma(x).astype(np.float64)

    @staticmethod
    def slope(x):
        return digamma(x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Digamma.apply(ctx.inputs[0])


class Digamma(_Pointwise):
    """psi(x), the derivative of ``lgamma``; its gradient is the trigamma function's."""

    value = staticmethod(digamma)
    slope = staticmethod(trigamma)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Trigamma.apply(ctx.inputs[0])


class Trigamma(_Pointwise):
    """psi'(x) (PyTorch's ``polygamma(1, x)``), the derivative of ``digamma``."""

    value = staticmethod(trigamma)
    slope = staticmethod(tetragamma)
