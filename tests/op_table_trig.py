"""Rows of the op table (``test_ops.py``) for the tangent, the inverse hyperbolic functions and
``logaddexp``/``logaddexp2``, each against NumPy's.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
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
