"""The gamma family with PyTorch's names: ``lgamma``, ``digamma`` and ``polygamma(n, x)``, each
a ``Function`` whose gradient is the next member of the family (``digamma``, ``polygamma(1)``,
``polygamma(n + 1)``), so every derivative has a graph rule too.

NumPy has none of them (and SciPy is not used): they are written here, vectorised, in float64
(a float32 input computes in float64 and is cast back; integers compute in the default dtype):

- ``lgamma_values``: the Taylor series of ``lgamma(2 + z)`` for ``|z| <= 1/2`` (coefficients
  ``zeta(k) - 1``), the recurrence down to it below 13, Stirling's series above, the reflection
  ``log(pi / |sin(pi x)|) - lgamma(1 - x)`` below 0: as accurate as the C library's lgamma;
- ``digamma_values``, ``trigamma_values`` and ``zeta_values`` (Hurwitz's, for ``polygamma(n)``
  with n >= 2): PyTorch's own algorithms (recurrence plus asymptotic series, Cephes' zeta by
  Euler-Maclaurin), so values, poles and NaNs are PyTorch's, its rounding included (PyTorch's
  trigamma truncates its series after 6 shifts: ~5e-10 relative near 1, and so does this one).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import floating

_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)
_MACHEP = 1.11022302462515654042e-16
# Bernoulli numbers B_2k / (2k (2k - 1)), k = 1..8: Stirling's series of lgamma
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)  # fmt: skip
# PyTorch's (Cephes') asymptotic series of digamma, highest power first
_PSI_SERIES = (8.33333333333333333333e-2, -2.10927960927960927961e-2,
               7.57575757575757575758e-3, -4.16666666666666666667e-3,
               3.96825396825396825397e-3, -8.33333333333333333333e-3,
               8.33333333333333333333e-2)  # fmt: skip
_PSI_10 = 2.25175258906672110764
# Cephes' Euler-Maclaurin denominators of Hurwitz's zeta
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17,
           -7.1661652561756670113e18)  # fmt: skip


# ------------------------------------------------------------------------------ zeta
def zeta_values(s: Any, q: Any) -> np.ndarray:
    """Hurwitz's zeta ``sum_k (q + k) ** -s`` in float64, elementwise (Cephes' algorithm, as
    PyTorch's ``special.zeta``): the first terms summed (at least 9, until ``q + k > 9``),
    then the Euler-Maclaurin tail; inf at ``s == 1`` and at non-positive integer ``q``, NaN
    for ``s < 1`` and for negative ``q`` with a non-integer ``s``."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    shape = s.shape
    s, q = s.ravel(), q.ravel()
    out = np.full(s.shape, np.nan)
    with np.errstate(all="ignore"):
        pole = (s == 1) | ((q <= 0) & (q == np.floor(q)))
        bad = (s < 1) | ((q <= 0) & (s != np.floor(s)))
        out[pole & ~(s < 1)] = np.inf
        todo = np.flatnonzero(~pole & ~bad)
        if todo.size:
            out[todo] = _zeta_sum(s[todo], q[todo])
    return out.reshape(shape)


def _zeta_sum(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cephes' loop, element by element in lockstep (an element stops when it is done)."""
    total, a, b = q**-s, q.copy(), np.zeros_like(q)
    done = np.zeros(q.shape, bool)
    active = np.arange(q.size)
    i = 0
    while active.size:  # the direct terms: the elements still summing
        i += 1
        a[active] += 1
        b[active] = a[active] ** -s[active]
        total[active] += b[active]
        b_now, total_now = b[active], total[active]
        small = (-_MACHEP * total_now < b_now) & (b_now < _MACHEP * total_now)
        done[active[small]] = True
        active = active[~small & ((i < 9) | (a[active] <= 9))]
    todo = ~done
    t_s, t_b, w = s[todo], b[todo], a[todo]
    t_total = total[todo] + t_b * w / (t_s - 1) - 0.5 * t_b
    factor, k = np.ones_like(w), 0.0
    finished = np.zeros(w.shape, bool)
    for denominator in _ZETA_A:
        factor = factor * (t_s + k)
        t_b = t_b / w
        term = factor * t_b / denominator
        t_total = np.where(finished, t_total, t_total + term)
        finished |= np.abs(term / t_total) < _MACHEP
        k += 1
        factor = factor * (t_s + k)
        t_b = t_b / w
        k += 1
    total[todo] = t_total
    return total


# ------------------------------------------------------------------------------ lgamma
def _series_coefficients() -> np.ndarray:
    """``(-1)^k (zeta(k) - 1) / k`` for k = 30 .. 2, highest power first (for ``polyval``)."""
    k = np.arange(30, 1, -1.0)
    return (-1.0) ** k * zeta_values(k, 2.0) / k


_LGAMMA2 = np.append(_series_coefficients(), [1 - _EULER, 0.0])


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    """``log Gamma(x)`` for finite ``x > 0``."""
    out = np.empty_like(x)
    tiny, mid = x < 0.5, (x >= 0.5) & (x < 1.5)
    low, high = (x >= 1.5) & (x < 13), x >= 13
    z = x[tiny]  # Gamma(x) = Gamma(x + 2) / (x (x + 1))
    out[tiny] = np.polyval(_LGAMMA2, z) - np.log(z) - np.log1p(z)
    z = x[mid]  # Gamma(x) = Gamma(x + 1) / x
    out[mid] = np.polyval(_LGAMMA2, z - 1) - np.log(z)
    y = x[low]
    shift = np.floor(y - 1.5)
    base = y - shift  # in [1.5, 2.5), exactly
    product = np.ones_like(y)
    for j in range(11):  # Gamma(x) = Gamma(base) * base (base + 1) ... (x - 1)
        product = np.where(j < shift, product * (base + j), product)
    out[low] = np.polyval(_LGAMMA2, base - 2) + np.log(product)
    y = x[high]
    inverse = 1 / y
    series = np.polyval(_STIRLING[::-1], inverse * inverse) * inverse
    out[high] = (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + series
    return out


def lgamma_values(x: np.ndarray) -> np.ndarray:
    """``log |Gamma(x)|`` in float64: inf at 0, the negative integers and +-inf; NaN at NaN."""
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    out = np.full(flat.shape, np.inf)
    out[np.isnan(flat)] = np.nan
    with np.errstate(all="ignore"):
        positive = (flat > 0) & np.isfinite(flat)
        out[positive] = _lgamma_positive(flat[positive])
        negative = (flat < 0) & np.isfinite(flat) & (flat != np.floor(flat))
        v = flat[negative]
        sin = np.abs(np.sin(math.pi * (v - np.round(v))))
        out[negative] = _LOG_PI - np.log(sin) - _lgamma_positive(1 - v)
    return out.reshape(x.shape)


# ------------------------------------------------------------------------------ digamma
def digamma_values(x: np.ndarray) -> np.ndarray:
    """``d/dx log Gamma(x)`` in float64, PyTorch's algorithm: ``-inf`` at +0, ``+inf`` at -0,
    NaN at the negative integers and at -inf."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        negative = x < 0
        fraction = x - np.trunc(x)
        reflected = np.where(negative, 1 - x, x)
        out = _digamma_shifted(reflected)
        out = np.where(negative, out - math.pi / np.tan(math.pi * fraction), out)
        out = np.where(negative & (fraction == 0), np.nan, out)
        return np.where(x == 0, np.copysign(np.inf, -x), out)


def _digamma_shifted(x: np.ndarray) -> np.ndarray:
    """PyTorch's digamma for ``x > 0``: shifted up to 10 by the recurrence, then the
    asymptotic series (or digamma(10) exactly at 10)."""
    result = np.zeros_like(x)
    for _ in range(12):  # x > 0 reaches 10 in at most 11 steps
        below = x < 10
        result = np.where(below, result - 1 / x, result)
        x = np.where(below, x + 1, x)
    z = 1 / (x * x)
    tail = np.where(x < 1e17, z * np.polyval(_PSI_SERIES, z), 0.0)
    out = result + np.log(x) - 0.5 / x - tail
    return np.where(x == 10, result + _PSI_10, out)


def trigamma_values(x: np.ndarray) -> np.ndarray:
    """``polygamma(1, x)`` in float64, PyTorch's algorithm: the reflection below 1/2, six
    steps of the recurrence, then four terms of the asymptotic series."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        low = x < 0.5
        sin = np.sin(math.pi * x)
        result = np.where(low, -(math.pi * math.pi) / (sin * sin), 0.0)
        x = np.where(low, 1 - x, x)
        for _ in range(6):
            result = result + 1 / (x * x)
            x = x + 1
        ixx = 1 / (x * x)
        result = result + (1 + 1 / (2 * x) + ixx * (1 / 6 - ixx * (1 / 30 - ixx / 42))) / x
        return np.where(low, -result, result)


def polygamma_values(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma in float64, as PyTorch computes it."""
    if n == 0:
        return digamma_values(x)
    if n == 1:
        return trigamma_values(x)
    sign = 1.0 if n % 2 else -1.0
    with np.errstate(all="ignore"):
        return sign * math.exp(math.lgamma(n + 1.0)) * zeta_values(n + 1.0, x)


# ------------------------------------------------------------------------------ ops
def _in_float64(value: Any, x: np.ndarray) -> np.ndarray:
    """``value(x)`` computed in float64, given back in x's float dtype."""
    return np.asarray(value(x.astype(np.float64))).astype(x.dtype, copy=False)


class Lgamma(Function):
    """``log |Gamma(x)|``; gradient ``digamma(x)``."""

    @staticmethod
    def forward(ctx, x):
        x = x if x.dtype.kind == "f" else floating(x)
        ctx.saved_tensors = (x,)
        return _in_float64(lgamma_values, x)

    @staticmethod
    def backward(ctx, grad):
        return grad * _in_float64(digamma_values, ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Digamma.apply(ctx.inputs[0])


class Digamma(Function):
    """``d/dx log Gamma(x)``; gradient ``polygamma(1, x)``."""

    @staticmethod
    def forward(ctx, x):
        x = x if x.dtype.kind == "f" else floating(x)
        ctx.saved_tensors = (x,)
        return _in_float64(digamma_values, x)

    @staticmethod
    def backward(ctx, grad):
        return grad * _in_float64(trigamma_values, ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Polygamma.apply(ctx.inputs[0], 1)


class Polygamma(Function):
    """The n-th derivative of digamma (``polygamma(0, x)`` is digamma); gradient
    ``polygamma(n + 1, x)``."""

    @staticmethod
    def forward(ctx, x, n):
        x = x if x.dtype.kind == "f" else floating(x)
        ctx.saved_tensors, ctx.n = (x,), n
        return _in_float64(lambda v: polygamma_values(n, v), x)

    @staticmethod
    def backward(ctx, grad):
        n = ctx.n + 1
        return grad * _in_float64(lambda v: polygamma_values(n, v), ctx.saved_tensors[0])

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * Polygamma.apply(ctx.inputs[0], ctx.n + 1)


class Mvlgamma(Function):
    """The multivariate log-gamma ``sum_j lgamma(x - j / 2) + p (p - 1) / 4 log pi`` over
    ``j < p``; gradient ``sum_j digamma(x - j / 2)``."""

    @staticmethod
    def forward(ctx, x, p):
        x = x if x.dtype.kind == "f" else floating(x)
        ctx.saved_tensors, ctx.p = (x,), p
        halves = np.arange(p) / 2
        terms = lgamma_values(x.astype(np.float64)[..., None] - halves).sum(-1)
        return (terms + p * (p - 1) / 4 * _LOG_PI).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,), halves = ctx.saved_tensors, np.arange(ctx.p) / 2
        slope = digamma_values(x.astype(np.float64)[..., None] - halves).sum(-1)
        return grad * slope.astype(x.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad, out):
        x = ctx.inputs[0]
        slope = Digamma.apply(x.unsqueeze(-1) - np.arange(ctx.p, dtype=x.dtype) / 2).sum(-1)
        return grad * slope


def int_argument(value: Any, where: str, name: str) -> int:
    """An int argument (``n`` of polygamma, ``p`` of mvlgamma): a Python or NumPy int, or a
    0-d integer Variable, as PyTorch takes."""
    dtype = getattr(value, "dtype", None)
    if getattr(value, "ndim", None) == 0 and dtype is not None and np.dtype(dtype).kind in "iu":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OperandError(f"{where}(): argument '{name}' must be int, not {type(value).__name__}")
    return int(value)


def polygamma_order(n: Any, where: str = "polygamma") -> int:
    """``n`` of ``polygamma``: a non-negative int, as PyTorch requires."""
    n = int_argument(n, where, "n")
    if n < 0:
        raise InputError(f"{where}(): polygamma(n, x) does not support negative n, got n={n}")
    return n


def mvlgamma_order(p: Any, where: str = "mvlgamma") -> int:
    """``p`` of ``mvlgamma``: an int of at least 1, as PyTorch requires."""
    p = int_argument(p, where, "p")
    if p < 1:
        raise InputError(f"{where}(): p has to be greater than or equal to 1, got p={p}")
    return p
