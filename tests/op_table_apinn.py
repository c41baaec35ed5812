"""Rows of the op table (``test_ops.py``) for im2col and col2im (``unfold``, ``fold``) and the
gated linear unit, each against a direct NumPy reference written block by block.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import functional as F


def _blocks(shape, kernel, dilation, padding, stride):
    """Each block's (row, column) origin in the padded image, row-major."""
    h, w = shape[-2] + 2 * padding[0], shape[-1] + 2 * padding[1]
    rows = range(0, h - dilation[0] * (kernel[0] - 1), stride[0])
    cols = range(0, w - dilation[1] * (kernel[1] - 1), stride[1])
    return [(r, c) for r in rows for c in cols]


def unfold_ref(x, kernel, dilation=(1, 1), padding=(0, 0), stride=(1, 1)):
    """One column per block: the block's elements, channel by channel, row by row."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    columns = []
    for r, c in _blocks(x.shape, kernel, dilation, padding, stride):
        block = xp[:, :, r : r + dilation[0] * (kernel[0] - 1) + 1 : dilation[0]]
        block = block[:, :, :, c : c + dilation[1] * (kernel[1] - 1) + 1 : dilation[1]]
        columns.append(block.reshape(x.shape[0], -1))
    return np.stack(columns, -1)


def fold_ref(cols, size, kernel, dilation=(1, 1), padding=(0, 0), stride=(1, 1)):
    """Each column added into its block of the padded image, then the padding cropped."""
    n, c = cols.shape[0], cols.shape[1] // (kernel[0] * kernel[1])
    out = np.zeros((n, c, size[0] + 2 * padding[0], size[1] + 2 * padding[1]))
    for k, (r, col) in enumerate(_blocks((n, c, *size), kernel, dilation, padding, stride)):
        block = cols[:, :, k].reshape(n, c, *kernel)
        out[
            :,
            :,
            r : r + dilation[0] * (kernel[0] - 1) + 1 : dilation[0],
            col : col + dilation[1] * (kernel[1] - 1) + 1 : dilation[1],
        ] += block
    return out[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]


def glu_ref(x, axis):
    a, b = np.split(x, 2, axis=axis)
    return a / (1 + np.exp(-b))


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    options = {"kernel": (2, 3), "dilation": (2, 1), "padding": (1, 0), "stride": (1, 2)}
    spelled = {
        "kernel_size": (2, 3),
        "dilation": (2, 1),
        "padding": (1, 0),
        "stride": (1, 2),
    }
    return [
        Case(
            "Im2Col",
            "unfold",
            ((2, 3, 4, 5),),
            lambda x: F.unfold(x, 2),
            lambda x: unfold_ref(x, (2, 2)),
        ),
        Case(
            "Im2Col",
            "unfold_options",
            ((2, 2, 5, 6),),
            lambda x: F.unfold(x, **spelled),
            lambda x: unfold_ref(x, **options),
        ),
        Case(
            "Im2Col",
            "unfold_one_image",
            ((2, 4, 4),),
            lambda x: F.unfold(x, 3, padding=1, stride=2),
            lambda x: unfold_ref(x[None], (3, 3), padding=(1, 1), stride=(2, 2))[0],
        ),
        Case(
            "Col2Im",
            "fold",
            ((2, 12, 12),),
            lambda c: F.fold(c, (4, 5), 2),
            lambda c: fold_ref(c, (4, 5), (2, 2)),
        ),
        Case(
            "Col2Im",
            "fold_options",
            ((2, 12, 10),),
            lambda c: F.fold(c, (5, 6), **spelled),
            lambda c: fold_ref(c, (5, 6), **options),
        ),
        Case(
            "Col2Im",
            "fold_one_image",
            ((8, 6),),
            lambda c: F.fold(c, (3, 4), 2, stride=(1, 2), padding=(0, 1)),
            lambda c: fold_ref(c[None], (3, 4), (2, 2), padding=(0, 1), stride=(1, 2))[0],
        ),
        Case("Glu", "glu", ((3, 4),), lambda x: F.glu(x), lambda x: glu_ref(x, -1)),
        Case("Glu", "glu_dim0", ((4, 2, 3),), lambda x: F.glu(x, 0), lambda x: glu_ref(x, 0)),
    ]
