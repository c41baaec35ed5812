"""Rows of the op table (``test_ops.py``) for the gamma family of ``ops/gamma.py``: lgamma,
digamma, polygamma and mvlgamma, each against a reference computed another way (the standard
library's ``math.lgamma``; digamma and polygamma by a thousand terms of their series and the
Euler-Maclaurin tail); the incomplete gamma functions against their series, term by term
from ``math.lgamma``; and ``StandardGamma`` (a Gamma draw as the inverse CDF at uniform noise)
against bisection on that series.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import gradviz
from gradviz.autograd.ops.gamma_sample import StandardGamma

lgamma_ref = np.vectorize(math.lgamma)
_TERMS = 1000


def digamma_ref(x: np.ndarray) -> np.ndarray:
    """``psi(x) = psi(x + N) - sum_{k < N} 1 / (x + k)``, ``psi(x + N)`` by its asymptotic
    series (reflected below 0)."""
    x = np.asarray(x, np.float64)
    if np.any(x < 0):
        return digamma_ref(1 - x) - np.pi / np.tan(np.pi * x)
    k = np.arange(_TERMS)
    y = x + _TERMS
    tail = np.log(y) - 1 / (2 * y) - 1 / (12 * y**2) + 1 / (120 * y**4) - 1 / (252 * y**6)
    return tail - (1 / (x[..., None] + k)).sum(-1)


def polygamma_ref(n: int, x: np.ndarray) -> np.ndarray:
    """``(-1)^(n+1) n! sum_k (x + k)^-(n+1)``: a thousand terms, then Euler-Maclaurin."""
    if n == 0:
        return digamma_ref(x)
    x = np.asarray(x, np.float64)
    s, y = n + 1, x + _TERMS
    direct = ((x[..., None] + np.arange(_TERMS)) ** -s).sum(-1)
    tail = y ** (1 - s) / (s - 1) + y**-s / 2 + s * y ** (-s - 1) / 12
    return (-1) ** (n + 1) * math.factorial(n) * (direct + tail)


def mvlgamma_ref(x: np.ndarray, p: int) -> np.ndarray:
    return sum(lgamma_ref(x - j / 2) for j in range(p)) + p * (p - 1) / 4 * math.log(math.pi)


_NOISE = np.random.default_rng(7).uniform(0.02, 0.98, (3, 4))
_SHAPE = np.random.default_rng(8).uniform(0.5, 5.0, (3, 4))  # igamma's a (no gradient)


def _shape_like(x: Any) -> Any:
    """igamma's ``a``, a constant in x's dtype."""
    return gradviz.tensor(_SHAPE, dtype=x.dtype)


def gamma_cdf_ref(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``P(a, z) = sum_n exp((a + n) log z - z - lgamma(a + n + 1))``, 300 terms each from
    ``math.lgamma`` (no recurrence, no continued fraction)."""
    n = np.arange(300)
    exponent = (a[..., None] + n) * np.log(z[..., None]) - z[..., None]
    return np.exp(exponent - lgamma_ref(a[..., None] + n + 1)).sum(-1)


def gamma_quantile_ref(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``z`` with ``P(a, z) = u`` by bisection."""
    low, high = np.full(a.shape, 1e-12), np.full(a.shape, 40.0)
    for _ in range(100):
        mid = (low + high) / 2
        below = gamma_cdf_ref(a, mid) < u
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return (low + high) / 2


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    positive = Uniform(0.2, 6.0, avoid=(1.0, 2.0))  # (lgamma's zeros: relative error)
    negative = Uniform(-2.9, -2.1)  # between two poles
    return [
        Case("Lgamma", "lgamma", ((3, 4),), lambda x: x.lgamma(), lgamma_ref, ranges=positive),
        Case("Lgamma", "lgamma_negative", ((3, 4),), lambda x: gradviz.lgamma(x), lgamma_ref,
             ranges=negative),
        Case("Lgamma", "lgamma_large", ((5,),), lambda x: gradviz.special.gammaln(x * 40),
             lambda x: lgamma_ref(x * 40), ranges=Uniform(1.0, 5.0)),
        Case("Digamma", "digamma", ((3, 4),), lambda x: x.digamma(), digamma_ref,
             ranges=Uniform(0.2, 8.0)),
        Case("Digamma", "digamma_negative", ((3, 4),), lambda x: gradviz.special.psi(x),
             digamma_ref, ranges=negative),
        Case("Polygamma", "polygamma_1", ((3, 4),), lambda x: x.polygamma(1),
             lambda x: polygamma_ref(1, x), ranges=Uniform(0.2, 8.0), rtol=1e-8),
        Case("Polygamma", "polygamma_2", ((3, 4),), lambda x: gradviz.polygamma(2, x),
             lambda x: polygamma_ref(2, x), ranges=Uniform(0.2, 8.0)),
        Case("Polygamma", "polygamma_3_negative", ((3, 4),),
             lambda x: gradviz.special.polygamma(3, x), lambda x: polygamma_ref(3, x),
             ranges=negative),
        Case("Polygamma", "polygamma_0", ((4,),), lambda x: x.polygamma(0), digamma_ref,
             ranges=Uniform(0.5, 3.0)),
        Case("Mvlgamma", "mvlgamma", ((3, 4),), lambda x: x.mvlgamma(3),
             lambda x: mvlgamma_ref(x, 3), ranges=Uniform(1.2, 5.0)),
        Case("Mvlgamma", "multigammaln", ((4,),), lambda x: gradviz.special.multigammaln(x, 1),
             lambda x: mvlgamma_ref(x, 1), ranges=Uniform(0.2, 5.0, avoid=(1.0, 2.0))),
        Case("Igamma", "igamma", ((3, 4),), lambda x: gradviz.igamma(_shape_like(x), x),
             lambda x: gamma_cdf_ref(_SHAPE, x), ranges=Uniform(0.1, 8.0)),
        Case("Igamma", "gammainc", ((4,),),
             lambda x: gradviz.special.gammainc(gradviz.tensor(_SHAPE[0], dtype=x.dtype), x * 3),
             lambda x: gamma_cdf_ref(_SHAPE[0], x * 3), ranges=Uniform(0.1, 3.0)),
        Case("Igammac", "igammac", ((3, 4),), lambda x: _shape_like(x).igammac(x),
             lambda x: 1 - gamma_cdf_ref(_SHAPE, x), ranges=Uniform(0.1, 8.0)),
        Case("Igammac", "gammaincc", ((3, 4),),
             lambda x: gradviz.special.gammaincc(_shape_like(x), x),
             lambda x: 1 - gamma_cdf_ref(_SHAPE, x), ranges=Uniform(0.1, 8.0)),
        Case("StandardGamma", "standard_gamma", ((3, 4),),
             lambda a: StandardGamma.apply(a, _NOISE),
             lambda a: gamma_quantile_ref(a, _NOISE), ranges=Uniform(1.0, 6.0)),
    ]  # fmt: skip
