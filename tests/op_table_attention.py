"""Rows of the op table (``test_ops.py``) for the embedding and attention ops.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import functional as F

INDICES = np.array([[0, 2, 2], [4, 1, 0]])  # repeats: gradients add up


def _embedding_ref(w: np.ndarray) -> np.ndarray:
    return w[INDICES]


def rows(Case: Any, Uniform: Any) -> list[Any]:
    return [
        Case(
            "Embedding", "embedding", ((5, 3),), lambda w: F.embedding(INDICES, w), _embedding_ref
        ),
        Case(
            "Embedding",
            "embedding_padding_idx",
            ((5, 3),),
            # the padding row enters as a constant read at call time; gradcheck re-reads it,
            # so its outputs are masked here (the per-op check covers the op itself)
            lambda w: F.embedding(INDICES, w, padding_idx=2) * (INDICES != 2)[..., None],
            lambda w: w[INDICES] * (INDICES != 2)[..., None],
        ),
    ]
