"""Rows of the op table (``test_ops.py``) for the ops that only the graph rules
(``create_graph=True``) record: ``ResampleBackward``, the gradient of a resampling.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.ops.resample import ResampleBackward

#: a (3, 2) and a (4, 5) resampling matrix: (out, in) along each of the last two axes
MATRICES = [
    np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]]),
    np.random.default_rng(0).uniform(-1, 1, (4, 5)),
]


def rows(Case: Any, Uniform: Any) -> list[Any]:
    return [
        Case(
            "ResampleBackward",
            "resample_backward",
            ((2, 3, 4),),
            lambda g: ResampleBackward.apply(g, MATRICES),
            lambda g: np.einsum("nab,ai,bj->nij", g, *MATRICES),
        ),
    ]
