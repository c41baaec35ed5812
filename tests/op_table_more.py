"""Rows of the op table (``test_ops.py``) for prod, sign, round, diag, outer and lerp.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    away = Uniform(avoid=(0.0,))
    weight = Uniform(0.0, 1.0)
    return [
        Case("Prod", "prod_all", ((3, 4),), lambda x: x.prod(), np.prod),
        Case("Prod", "prod_dim1", ((3, 4),), lambda x: x.prod(1), lambda x: np.prod(x, 1)),
        Case(
            "Prod",
            "prod_dim0_keepdim",
            ((3, 4),),
            lambda x: gradviz.prod(x, 0, keepdim=True),
            lambda x: np.prod(x, 0, keepdims=True),
        ),
        Case("Sign", "sign", ((3, 4),), lambda x: x.sign(), np.sign, ranges=away),
        Case(
            "Round",
            "round_decimals_1",
            ((3, 4),),
            lambda x: gradviz.round(x * 7, decimals=1),
            lambda x: np.rint(x * 70) / 10,
        ),
        Case("Diag", "diag_1d", ((4,),), lambda x: x.diag(), np.diag),
        Case("Diag", "diag_1d_offset", ((3,),), lambda x: x.diag(-1), lambda x: np.diag(x, -1)),
        Case(
            "Diag",
            "diag_2d_offset",
            ((3, 5),),
            lambda x: gradviz.diag(x, 1),
            lambda x: np.diagonal(x, 1),
        ),
        Case("Outer", "outer", ((3,), (4,)), lambda a, b: a.outer(b), np.outer),
        Case(
            "Lerp",
            "lerp_number_weight",
            ((3, 4), (4,)),
            lambda x, end: x.lerp(end, 0.25),
            lambda x, end: x + 0.25 * (end - x),
        ),
        Case(
            "Lerp",
            "lerp_tensor_weight",
            ((2, 3), (2, 3), (2, 1)),
            lambda x, end, w: gradviz.lerp(x, end, w),
            lambda x, end, w: x + w * (end - x),
            ranges=(Uniform(), Uniform(), weight),
        ),
    ]
