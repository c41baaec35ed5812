"""Rows of the op table (``test_ops.py``) for ``linalg.matrix_exp``, against a Taylor series
summed in NumPy (after halving the matrix until its norm is below 1, then squaring back).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz
from gradviz import linalg as L


def taylor_exp(a: np.ndarray) -> np.ndarray:
    """``exp`` of each matrix of ``a``: 30 terms of ``sum(A^k / k!)`` of ``A / 2^s`` (norm
    below 1), squared ``s`` times."""
    s = max(0, int(np.ceil(np.log2(max(np.abs(a).sum(-2).max(), 1e-300)))) + 1)
    x = a / 2.0**s
    term = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    total = term.copy()
    for k in range(1, 30):
        term = term @ x / k
        total = total + term
    for _ in range(s):
        total = total @ total
    return total


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    wide = Uniform(-3.0, 3.0)
    return [
        Case("MatrixExp", "matrix_exp", ((3, 3),), L.matrix_exp, taylor_exp),
        Case("MatrixExp", "matrix_exp_batch", ((2, 4, 4),), L.matrix_exp, taylor_exp, rtol=1e-9),
        Case(
            "MatrixExp",
            "matrix_exp_squared",  # a norm above 5.4: scaled and squared back
            ((4, 4),),
            L.matrix_exp,
            taylor_exp,
            ranges=wide,
            rtol=1e-9,
            atol=1e-10,
        ),
        Case("MatrixExp", "matrix_exp_method", ((1, 1),), lambda a: a.matrix_exp(), np.exp),
        Case(
            "MatrixExp",
            "matrix_exp_top_level",
            ((2, 2),),
            lambda a: gradviz.matrix_exp(a * 0.01),
            lambda a: taylor_exp(a * 0.01),
        ),
    ]
