"""Rows of the op table (``test_ops.py``) for bags of embeddings, max unpooling and the CTC
loss, each against a direct NumPy reference (one bag, one position at a time).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import functional as F

BAG_INPUT = np.array([0, 2, 1, 3, 3, 4, 0])
BAG_OFFSETS = np.array([0, 2, 2, 5])


def embedding_bag_ref(w, mode, weights=None, padding_idx=None):
    """Each bag reduced on its own: a sum (rows times ``weights``), a mean or a max."""
    ends = [*BAG_OFFSETS[1:], len(BAG_INPUT)]
    out = []
    for start, end in zip(BAG_OFFSETS, ends, strict=True):
        picked = [j for j in range(start, end) if BAG_INPUT[j] != padding_idx]
        rows = np.array([w[BAG_INPUT[j]] * (1 if weights is None else weights[j]) for j in picked])
        if not len(rows):
            out.append(np.zeros(w.shape[1]))
        else:
            out.append({"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0)}[mode])
    return np.array(out)


UNPOOL_2D = np.array([[[[0, 3], [13, 10]], [[5, 6], [9, 15]]]])  # (1, 2, 2, 2) into 4x4
UNPOOL_1D = np.array([[[1, 2, 4], [0, 3, 5]]])  # (1, 2, 3) into 6


def unpool_ref(x, indices, size):
    """Each value written at its place, one at a time, into zeros."""
    out = np.zeros((*x.shape[: -len(size)], int(np.prod(size))))
    for lead in np.ndindex(*x.shape[: -len(size)]):
        for place, value in zip(indices[lead].ravel(), x[lead].ravel(), strict=True):
            out[lead][place] = value
    return out.reshape(*x.shape[: -len(size)], *size)


def rows(Case: Any, Uniform: Any) -> list[Any]:
    table = []
    for mode in ("sum", "mean", "max"):
        table.append(
            Case(
                "EmbeddingBag",
                f"embedding_bag_{mode}",
                ((5, 3),),
                lambda w, m=mode: F.embedding_bag(BAG_INPUT, w, BAG_OFFSETS, mode=m),
                lambda w, m=mode: embedding_bag_ref(w, m),
            )
        )
    table.append(
        Case(
            "EmbeddingBag",
            "embedding_bag_mean_padding_idx",
            ((5, 3),),
            lambda w: F.embedding_bag(BAG_INPUT, w, BAG_OFFSETS, padding_idx=3),
            lambda w: embedding_bag_ref(w, "mean", padding_idx=3),
        )
    )
    table.append(
        Case(
            "EmbeddingBag",
            "embedding_bag_per_sample_weights",
            ((5, 3), (7,)),
            lambda w, p: F.embedding_bag(
                BAG_INPUT, w, BAG_OFFSETS, mode="sum", per_sample_weights=p
            ),
            lambda w, p: embedding_bag_ref(w, "sum", p),
        )
    )
    table.append(
        Case(
            "MaxUnpool2d",
            "max_unpool2d",
            ((1, 2, 2, 2),),
            lambda x: F.max_unpool2d(x, UNPOOL_2D, 2),
            lambda x: unpool_ref(x, UNPOOL_2D, (4, 4)),
        )
    )
    table.append(
        Case(
            "MaxUnpool1d",
            "max_unpool1d",
            ((1, 2, 3),),
            lambda x: F.max_unpool1d(x, UNPOOL_1D, 2),
            lambda x: unpool_ref(x, UNPOOL_1D, (6,)),
        )
    )
    return table
