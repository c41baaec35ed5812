"""Rows of the op table (``test_ops.py``) for ``fmax``/``fmin``, each against NumPy's function
of its name (``tan``, the inverse hyperbolic functions and ``logaddexp`` are
``op_table_trig``'s).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    return [
        Case("Fmax", "fmax", ((3, 4), (4,)), lambda a, b: a.fmax(b), np.fmax),
        Case("Fmin", "fmin", ((2, 3), (2, 3)), lambda a, b: gradviz.fmin(a, b), np.fmin),
    ]
