"""Rows of the op table (``test_ops.py``) for the gamma family of ``ops/gamma.py``: lgamma,
digamma, polygamma and mvlgamma, each against a reference computed another way (the standard
library's ``math.lgamma``; digamma and polygamma by a thousand terms of their series and the
Euler-Maclaurin tail).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import gradviz

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
    ]  # fmt: skip
