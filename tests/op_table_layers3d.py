"""Rows of the op table (``test_ops.py``) for the 3-d layers (convolution, transposed
convolution, pooling) and interpolate's bicubic and nearest-exact modes, each against a direct
NumPy reference written one output position at a time.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

import numpy as np
from op_table_convt import source_point

from gradviz import functional as F


def _triple(value) -> tuple[int, ...]:
    return (value,) * 3 if isinstance(value, int) else tuple(value)


def conv3d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Each output element the sum of its window times the weight, one position at a time."""
    s, p, d = _triple(stride), _triple(padding), _triple(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), *((a, a) for a in p)))
    o, cg, *kernel = w.shape
    span = [dd * (k - 1) + 1 for k, dd in zip(kernel, d, strict=True)]
    size = [(n - sp) // st + 1 for n, sp, st in zip(xp.shape[2:], span, s, strict=True)]
    out = np.zeros((x.shape[0], o, *size))
    og = o // groups
    for pos in itertools.product(*(range(n) for n in size)):
        window = tuple(
            slice(i * st, i * st + sp, dd) for i, st, sp, dd in zip(pos, s, span, d, strict=True)
        )
        for g in range(groups):
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg), *window)]
            ws = w[g * og : (g + 1) * og]
            out[(slice(None), slice(g * og, (g + 1) * og), *pos)] = np.einsum(
                "ncdhw,ocdhw->no", patch, ws
            )
    return out if b is None else out + b[:, None, None, None]


def conv_transpose3d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1):
    """Each input element adds ``x * w`` into its kernel-sized window of the output, one
    position at a time; then the padding is cropped."""
    s, p, op = _triple(stride), _triple(padding), _triple(output_padding)
    n, c, *size = x.shape
    cg, og, *kernel = c // groups, w.shape[1], *w.shape[2:]
    full = [(m - 1) * st + k + o for m, st, k, o in zip(size, s, kernel, op, strict=True)]
    out = np.zeros((n, og * groups, *full))
    for pos in itertools.product(*(range(m) for m in size)):
        window = tuple(slice(i * st, i * st + k) for i, st, k in zip(pos, s, kernel, strict=True))
        for g in range(groups):
            xs = x[(slice(None), slice(g * cg, (g + 1) * cg), *pos)]
            ws = w[g * cg : (g + 1) * cg]
            out[(slice(None), slice(g * og, (g + 1) * og), *window)] += np.einsum(
                "nc,cokij->nokij", xs, ws
            )
    crop = tuple(slice(a, m - a) for a, m in zip(p, full, strict=True))
    out = out[(slice(None), slice(None), *crop)]
    return out if b is None else out + b[:, None, None, None]


def pool3d_ref(x, kernel, stride, padding, fill, reduce):
    """``reduce`` over each window of the input padded with ``fill``."""
    k, s, p = _triple(kernel), _triple(stride), _triple(padding)
    xp = np.pad(x, ((0, 0), (0, 0), *((a, a) for a in p)), constant_values=fill)
    size = [(n - kk) // st + 1 for n, kk, st in zip(xp.shape[2:], k, s, strict=True)]
    out = np.zeros((*x.shape[:2], *size))
    for pos in itertools.product(*(range(n) for n in size)):
        window = tuple(slice(i * st, i * st + kk) for i, st, kk in zip(pos, s, k, strict=True))
        out[(Ellipsis, *pos)] = reduce(xp[(Ellipsis, *window)], axis=(-3, -2, -1))
    return out


def adaptive3d_ref(x, sizes, reduce):
    """``reduce`` over each of PyTorch's adaptive bins of the last three axes."""
    out = np.zeros((*x.shape[:-3], *sizes))
    for pos in itertools.product(*(range(o) for o in sizes)):
        bins = tuple(
            slice(i * n // o, -(-(i + 1) * n // o))
            for i, n, o in zip(pos, x.shape[-3:], sizes, strict=True)
        )
        out[(Ellipsis, *pos)] = reduce(x[(Ellipsis, *bins)], axis=(-3, -2, -1))
    return out


def _cubic(offset: float) -> float:
    """Keys' cubic convolution kernel with a = -0.75 at distance ``offset``."""
    a, t = -0.75, abs(offset)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a if t < 2 else 0.0


def bicubic_ref(x, axis, out, align_corners):
    """Cubic convolution along ``axis`` from PyTorch's formula, one output index at a time:
    the 4 neighbours of the source point, indices past an edge read the edge."""
    n = x.shape[axis]
    pieces = []
    for i in range(out):
        src = source_point(i, n, out, align_corners)  # not clamped at 0, unlike linear's
        low = math.floor(src)
        value = 0.0
        for j in range(low - 1, low + 3):
            value = value + _cubic(src - j) * np.take(x, min(max(j, 0), n - 1), axis)
        pieces.append(value)
    return np.stack(pieces, axis)


def nearest_exact_ref(x, sizes):
    """Each output index copies the input index under its centre: floor((i + 0.5) * in / out)."""
    for axis, out in enumerate(sizes, start=x.ndim - len(sizes)):
        n = x.shape[axis]
        x = np.take(x, [min(int((i + 0.5) * n / out), n - 1) for i in range(out)], axis)
    return x


def _called(name: str, **options: Any):
    """``F.<name>(*inputs, **options)``."""
    return lambda *inputs: getattr(F, name)(*inputs, **options)


def _same(x):
    """A (C, D, H, W) sample as a batch of one, padded for "same" with a (2, 3, 2) kernel: an
    odd total puts the extra element after."""
    return np.pad(x[None], ((0, 0), (0, 0), (0, 1), (1, 1), (0, 1)))


def _twice(ref, x, sizes, align_corners):
    """``ref`` along the last two axes, to ``sizes``."""
    return ref(ref(x, 2, sizes[0], align_corners), 3, sizes[1], align_corners)


VOL = (2, 2, 5, 4, 5)
#: (op, row id, input shapes, the call, the NumPy reference)
ROWS = [
    ("Conv3d", "conv3d", (VOL, (4, 2, 2, 3, 2), (4,)), _called("conv3d"), conv3d_ref),
    (
        "Conv3d",
        "conv3d_stride_pad_dilation_groups",
        ((2, 4, 5, 4, 6), (6, 2, 2, 2, 3)),
        _called("conv3d", stride=(1, 2, 2), padding=1, dilation=(2, 1, 1), groups=2),
        partial(conv3d_ref, stride=(1, 2, 2), padding=1, dilation=(2, 1, 1), groups=2),
    ),
    (
        "Conv3d",
        "conv3d_same_one_sample",
        ((2, 3, 4, 3), (3, 2, 2, 3, 2)),
        _called("conv3d", padding="same"),
        lambda x, w: conv3d_ref(_same(x), w)[0],
    ),
    (
        "ConvTranspose3d",
        "conv_transpose3d",
        (VOL, (2, 3, 2, 2, 3), (3,)),
        _called("conv_transpose3d"),
        conv_transpose3d_ref,
    ),
    (
        "ConvTranspose3d",
        "conv_transpose3d_stride_pad_outpad_groups",
        ((2, 4, 2, 3, 2), (4, 1, 3, 2, 3)),
        _called("conv_transpose3d", stride=2, padding=1, output_padding=(1, 0, 1), groups=2),
        partial(conv_transpose3d_ref, stride=2, padding=1, output_padding=(1, 0, 1), groups=2),
    ),
    (
        "MaxPool3d",
        "max_pool3d",
        (VOL,),
        _called("max_pool3d", kernel_size=2, stride=(2, 1, 2), padding=1),
        lambda x: pool3d_ref(x, 2, (2, 1, 2), 1, -np.inf, np.max),
    ),
    (
        "AvgPool3d",
        "avg_pool3d",
        (VOL,),
        _called("avg_pool3d", kernel_size=(2, 3, 2), stride=1, padding=1),
        lambda x: pool3d_ref(x, (2, 3, 2), 1, 1, 0.0, np.mean),
    ),
    (
        "AvgPool3d",
        "avg_pool3d_one_sample",
        ((2, 4, 4, 4),),
        _called("avg_pool3d", kernel_size=2),
        lambda x: pool3d_ref(x[None], 2, 2, 0, 0.0, np.mean)[0],
    ),
    (
        "AdaptiveAvgPool3d",
        "adaptive_avg_pool3d",
        ((2, 2, 5, 4, 7),),
        _called("adaptive_avg_pool3d", output_size=(2, 3, 3)),
        lambda x: adaptive3d_ref(x, (2, 3, 3), np.mean),
    ),
    (
        "AdaptiveMaxPool3d",
        "adaptive_max_pool3d",
        ((2, 2, 5, 4, 7),),
        _called("adaptive_max_pool3d", output_size=(3, 2, 3)),
        lambda x: adaptive3d_ref(x, (3, 2, 3), np.max),
    ),
]
#: interpolate's rows: (op, row id, input shape, options, the NumPy reference)
INTERPOLATIONS = [
    (
        "UpsampleBicubic2d",
        "interpolate_bicubic",
        (2, 2, 4, 5),
        {"size": (7, 3), "mode": "bicubic"},
        lambda x: _twice(bicubic_ref, x, (7, 3), False),
    ),
    (
        "UpsampleBicubic2d",
        "interpolate_bicubic_align_corners",
        (2, 2, 4, 5),
        {"size": (6, 9), "mode": "bicubic", "align_corners": True},
        lambda x: _twice(bicubic_ref, x, (6, 9), True),
    ),
    *(
        (
            f"UpsampleNearestExact{len(size)}d",
            f"interpolate_nearest_exact_{len(size)}d",
            shape,
            {"size": size, "mode": "nearest-exact"},
            partial(nearest_exact_ref, sizes=size),
        )
        for shape, size in (((2, 3, 5), (8,)), ((2, 3, 6, 4), (4, 7)), ((1, 2, 3, 4, 5), (5, 3, 2)))
    ),
]


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    table = [Case(*row) for row in ROWS]
    table += [
        Case(op, key, (shape,), _called("interpolate", **options), ref)
        for op, key, shape, options, ref in INTERPOLATIONS
    ]
    return table
