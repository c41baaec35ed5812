"""The modified Bessel functions of the first kind of orders 0 and 1, plain (``i0``, ``i1``)
and exponentially scaled (``i0e = exp(-|x|) i0``, ``i1e = exp(-|x|) i1``), with PyTorch's
gradients, and graph rules (``create_graph=True``) made of these four ops:

    i0' = i1           i1' = i0 - i1 / x         (1/2 at 0 and at NaN, as PyTorch's)
    i0e' = i1e - sgn(x) i0e      i1e' = i0e - i1e (sgn(x) + 1 / x)   (1/2 at 0 and NaN)

Values: NumPy's ``i0``; below ``|x| = 30`` the power series (positive terms, no
cancellation), above it the asymptotic series of ``e^|x| / sqrt(2 pi |x|)``, in float64.
"""

from __future__ import annotations

import numpy as np

from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.special import _Pointwise

#: below it the power series, above it the asymptotic series
_SERIES_END = 30.0


def _series(a: np.ndarray, order: int) -> np.ndarray:
    """``I_order(a)`` by its power series, for ``0 <= a <= 30`` (float64)."""
    half = np.minimum(a, _SERIES_END) / 2
    term = half**order
    total = term.copy()
    for k in range(1, 90):
        term = term * half * half / (k * (k + order))
        total = total + term
    return total


def _asymptotic(a: np.ndarray, order: int) -> np.ndarray:
    """``exp(-a) I_order(a)`` by its asymptotic series, for ``a >= 30`` (float64)."""
    big = np.maximum(a, _SERIES_END)
    mu, scale, tail = 4 * order * order, 1.0, np.ones_like(big)
    for k in range(1, 25):  # (mu - (2k-1)^2) / (k 8x); 24 terms: below 1e-18 at 30
        scale = scale * -(mu - (2 * k - 1) ** 2) / (k * 8 * big)
        tail = tail + scale
    return tail / np.sqrt(2 * np.pi * big)


def _scaled(x: np.ndarray, order: int) -> np.ndarray:
    """``exp(-|x|) I_order(|x|)`` in float64, for ``order`` 0 or 1."""
    a = np.abs(x.astype(np.float64))
    series = _series(a, order) * np.exp(-np.minimum(a, _SERIES_END))
    return np.where(a < _SERIES_END, series, _asymptotic(a, order))


def bessel_i1(x: np.ndarray) -> np.ndarray:
    """The modified Bessel function of order 1 (odd), in float64 (NaN at infinity, as
    PyTorch's)."""
    a = np.abs(x.astype(np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        big = np.exp(a) * _asymptotic(a, 1)
    return np.sign(x) * np.where(a < _SERIES_END, _series(a, 1), big)


def _zero(x: np.ndarray) -> np.ndarray:
    """Where the slope of i1 and i1e is 1/2: where ``x`` is 0, or NaN (PyTorch's)."""
    with np.errstate(invalid="ignore"):
        return ~(np.abs(x) > 0)


def _safe(x):
    """``x`` with its zeros replaced by ones (a recorded ``Where``), to divide by."""
    return Where.apply(_zero(x._data), np.ones((), x.dtype), x)


class I0(_Pointwise):
    """The modified Bessel function of the first kind of order 0 (NumPy's ``i0``); its slope
    is ``i1``."""

    value = staticmethod(np.i0)

    @staticmethod
    def slope(x):
        return bessel_i1(x)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * I1.apply(ctx.inputs[0])


class I1(_Pointwise):
    """The modified Bessel function of the first kind of order 1; slope ``i0 - i1 / x``
    (1/2 at 0, as PyTorch's)."""

    value = staticmethod(bessel_i1)

    @classmethod
    def backward(cls, ctx, grad):
        x = ctx.saved_tensors[0]
        zero = _zero(x)
        slope = np.where(zero, 0.5, np.i0(x) - bessel_i1(x) / np.where(zero, 1, x))
        return grad * slope.astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        slope = I0.apply(x) - out / _safe(x)
        return grad * Where.apply(_zero(x._data), np.full((), 0.5, grad.dtype), slope)


class I0e(_Pointwise):
    """``exp(-|x|) i0(x)``, finite for any x; slope ``i1e - sgn(x) i0e``."""

    @staticmethod
    def value(x):
        return _scaled(x, 0)

    @classmethod
    def backward(cls, ctx, grad):
        x = ctx.saved_tensors[0]
        slope = np.sign(x) * _scaled(x, 1) - np.sign(x) * _scaled(x, 0)
        return grad * slope.astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        return grad * (I1e.apply(x) - x.sign() * out)


class I1e(_Pointwise):
    """``exp(-|x|) i1(x)``; slope ``i0e - i1e (sgn(x) + 1 / x)`` (1/2 at 0, as PyTorch's)."""

    @staticmethod
    def value(x):
        return np.sign(x) * _scaled(x, 1)

    @classmethod
    def backward(cls, ctx, grad):
        x = ctx.saved_tensors[0]
        zero, scaled = _zero(x), np.sign(x) * _scaled(x, 1)
        slope = np.where(
            zero, 0.5, _scaled(x, 0) - scaled * (np.sign(x) + 1 / np.where(zero, 1, x))
        )
        return grad * slope.astype(grad.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        slope = I0e.apply(x) - out * (x.sign() + 1 / _safe(x))
        return grad * Where.apply(_zero(x._data), np.full((), 0.5, grad.dtype), slope)
