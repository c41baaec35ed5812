"""Rows of the op table (``test_ops.py``) for the tangent, the inverse hyperbolic functions and
``logaddexp``/``logaddexp2``, ``lgamma`` and ``digamma``, each against NumPy's (or
``math.lgamma`` and its derivative).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import gradviz
from gradviz.autograd.ops.gamma import Trigamma


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    return _trig_rows(Case, Uniform) + gamma_rows(Case, Uniform)


def _trig_rows(Case: Any, Uniform: Any) -> list[Any]:
    inside = Uniform(-0.9, 0.9)
    return [
        Case("Tan", "tan", ((3, 4),), lambda x: x.tan(), np.tan, ranges=Uniform(-1.2, 1.2)),
        Case("Tan", "tan_top_level", ((5,),), lambda x: gradviz.tan(x), np.tan),
        Case("Asinh", "asinh", ((3, 4),), lambda x: x.asinh(), np.arcsinh),
        Case(
            "Acosh", "acosh", ((3, 4),), lambda x: x.acosh(), np.arccosh, ranges=Uniform(1.1, 3.0)
        ),
        Case("Atanh", "atanh", ((3, 4),), lambda x: gradviz.atanh(x), np.arctanh, ranges=inside),
        Case("Logaddexp", "logaddexp", ((3, 4), (4,)), lambda a, b: a.logaddexp(b), np.logaddexp),
        Case(
            "Logaddexp2",
            "logaddexp2",
            ((2, 3), (2, 3)),
            lambda a, b: gradviz.logaddexp2(a, b),
            np.logaddexp2,
        ),
    ]


def lgamma_ref(x):
    """``math.lgamma`` of each element."""
    return np.vectorize(math.lgamma)(x)


def digamma_ref(x, h=1e-3):
    """The derivative of ``math.lgamma`` by a five-point difference (error ~1e-12)."""
    f = lgamma_ref
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def trigamma_ref(x, n=1000):
    """The sum of ``1 / (x + k)**2`` over k < n, and the Euler-Maclaurin tail from ``x + n``."""
    k = np.arange(n).reshape((n,) + (1,) * np.ndim(x))
    y = x + n
    return (1 / (x + k) ** 2).sum(0) + 1 / y + 1 / (2 * y**2) + 1 / (6 * y**3) - 1 / (30 * y**5)


def gamma_rows(Case: Any, Uniform: Any) -> list[Any]:
    """``lgamma`` and ``digamma``, positive and (away from the poles) negative arguments."""
    return [
        Case("Lgamma", "lgamma", ((3, 4),), lambda x: x.lgamma(), lgamma_ref,
             ranges=Uniform(0.2, 12.0)),
        Case("Lgamma", "lgamma_negative", ((5,),), lambda x: gradviz.lgamma(x - 3),
             lambda x: lgamma_ref(x - 3), ranges=Uniform(0.2, 0.8)),
        Case("Digamma", "digamma", ((3, 4),), lambda x: gradviz.digamma(x), digamma_ref,
             ranges=Uniform(0.3, 15.0), rtol=1e-9, atol=1e-10),
        Case("Digamma", "digamma_negative", ((5,),), lambda x: (x - 2).digamma(),
             lambda x: digamma_ref(x - 2), ranges=Uniform(0.2, 0.8), rtol=1e-9, atol=1e-10),
        Case("Trigamma", "trigamma", ((3, 4),), lambda x: Trigamma.apply(x), trigamma_ref,
             ranges=Uniform(0.3, 15.0)),
    ]  # fmt: skip
