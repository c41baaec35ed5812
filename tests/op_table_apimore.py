"""Rows of the op table (``test_ops.py``) for bags of embeddings, max unpooling and the CTC
loss, each against a direct NumPy reference (one bag, one position at a time).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import itertools
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
UNPOOL_3D = np.array([[[[[0, 3]], [[17, 30]]]]])  # (1, 1, 2, 1, 2) into 4x2x4


def unpool_ref(x, indices, size):
    """Each value written at its place, one at a time, into zeros."""
    out = np.zeros((*x.shape[: -len(size)], int(np.prod(size))))
    for lead in np.ndindex(*x.shape[: -len(size)]):
        for place, value in zip(indices[lead].ravel(), x[lead].ravel(), strict=True):
            out[lead][place] = value
    return out.reshape(*x.shape[: -len(size)], *size)


CTC_TARGETS = np.array([[1, 1], [2, 0]])  # the second of length 1
CTC_TARGETS_B = np.array([[1, 1], [0, 2]])  # for blank=2
CTC_LENGTHS, CTC_SIZES = (4, 3), (2, 1)


def ctc_ref(log_probs, targets=CTC_TARGETS, blank=0):
    """Each sample's loss by brute force: the log of the summed probability of every path of
    labels through its time steps that collapses (repeats merged, blanks dropped) to its
    target."""
    losses = []
    for n, (steps, size) in enumerate(zip(CTC_LENGTHS, CTC_SIZES, strict=True)):
        target = tuple(targets[n, :size])
        total = -np.inf
        for path in itertools.product(range(log_probs.shape[2]), repeat=steps):
            merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
            if tuple(c for c in merged if c != blank) == target:
                total = np.logaddexp(total, sum(log_probs[t, n, c] for t, c in enumerate(path)))
        losses.append(-total)
    return np.array(losses)


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
            "MaxUnpool3d",
            "max_unpool3d",
            ((1, 1, 2, 1, 2),),
            lambda x: F.max_unpool3d(x, UNPOOL_3D, 2),
            lambda x: unpool_ref(x, UNPOOL_3D, (4, 2, 4)),
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
    table.append(
        Case(
            "CtcLoss",
            "ctc_loss_none",
            ((4, 2, 3),),
            lambda x: F.ctc_loss(x, CTC_TARGETS, CTC_LENGTHS, CTC_SIZES, reduction="none"),
            ctc_ref,
            ranges=Uniform(-3.0, -0.1),
        )
    )
    table.append(
        Case(
            "CtcLoss",
            "ctc_loss_mean_blank_2",
            ((4, 2, 3),),
            lambda x: F.ctc_loss(x, CTC_TARGETS_B, CTC_LENGTHS, CTC_SIZES, blank=2),
            lambda x: (ctc_ref(x, CTC_TARGETS_B, 2) / np.array(CTC_SIZES)).mean(),
            ranges=Uniform(-3.0, -0.1),
        )
    )
    return table
