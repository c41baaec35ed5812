"""Rows of the op table (``test_ops.py``) for the ops that only the graph rules
(``create_graph=True``) record: ``ResampleBackward``, the gradient of a resampling; and the
Bessel functions the graph rule of ``i0`` needs (``special.i1``, ``i0e``, ``i1e``), against
their integrals.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz
from gradviz.autograd.ops.resample import ResampleBackward

#: a (3, 2) and a (4, 5) resampling matrix: (out, in) along each of the last two axes
MATRICES = [
    np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]]),
    np.random.default_rng(0).uniform(-1, 1, (4, 5)),
]


def bessel_ref(x: np.ndarray, order: int) -> np.ndarray:
    """``I_order(x) = (1/pi) int_0^pi exp(x cos t) cos(order t) dt``, by the trapezoid rule
    (exact to rounding for this periodic integrand)."""
    t = np.linspace(0.0, np.pi, 401)
    f = np.exp(x[..., None] * np.cos(t)) * np.cos(order * t)
    return (f[..., 1:-1].sum(-1) + (f[..., 0] + f[..., -1]) / 2) * (t[1] - t[0]) / np.pi


def rows(Case: Any, Uniform: Any) -> list[Any]:
    wide = Uniform(-6.0, 6.0)
    return [
        Case(
            "I1",
            "special_i1",
            ((3, 4),),
            gradviz.special.i1,
            lambda x: bessel_ref(x, 1),
            ranges=wide,
        ),
        Case(
            "I0e",
            "special_i0e",
            ((3, 4),),
            gradviz.special.i0e,
            lambda x: bessel_ref(x, 0) * np.exp(-np.abs(x)),
            ranges=wide,
        ),
        Case(
            "I1e",
            "special_i1e",
            ((3, 4),),
            gradviz.special.i1e,
            lambda x: bessel_ref(x, 1) * np.exp(-np.abs(x)),
            ranges=wide,
        ),
        Case(
            "ResampleBackward",
            "resample_backward",
            ((2, 3, 4),),
            lambda g: ResampleBackward.apply(g, MATRICES),
            lambda g: np.einsum("nab,ai,bj->nij", g, *MATRICES),
        ),
    ]
