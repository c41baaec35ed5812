"""Rows of the op table (``test_ops.py``) for transposed convolutions, 1-d and adaptive max
pooling, interpolation and pixel (un)shuffle, each against a direct NumPy reference.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import functional as F


def conv_transpose_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input pixel adds ``x * w`` into its kernel-sized window of the output, one
    position at a time; then the padding is cropped."""
    s, p, op, d = (
        (v, v) if isinstance(v, int) else v for v in (stride, padding, output_padding, dilation)
    )
    n, c, h, wd = x.shape
    cg, og, kh, kw = c // groups, w.shape[1], w.shape[2], w.shape[3]
    full = np.zeros(
        (
            n,
            og * groups,
            (h - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0],
            (wd - 1) * s[1] + d[1] * (kw - 1) + 1 + op[1],
        )
    )
    for g in range(groups):
        xs, ws = x[:, g * cg : (g + 1) * cg], w[g * cg : (g + 1) * cg]
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for e in range(kw):
                        full[
                            :, g * og : (g + 1) * og, i * s[0] + a * d[0], j * s[1] + e * d[1]
                        ] += xs[:, :, i, j] @ ws[:, :, a, e]
    out = full[:, :, p[0] : full.shape[2] - p[0], p[1] : full.shape[3] - p[1]]
    return out if b is None else out + b[:, None, None]


def pool1d_ref(x, kernel, stride, padding, fill, reduce):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)), constant_values=fill)
    out = (xp.shape[-1] - kernel) // stride + 1
    return np.stack(
        [reduce(xp[..., i * stride : i * stride + kernel], axis=-1) for i in range(out)], -1
    )


def adaptive_ref(x, sizes, reduce):
    """``reduce`` over each adaptive bin of the last ``len(sizes)`` axes."""
    h, w = x.shape[-2:]
    oh, ow = sizes
    out = np.zeros((*x.shape[:-2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            out[..., i, j] = reduce(x[..., rows, cols], axis=(-2, -1))
    return out


def source_point(i: int, n: int, out: int, align_corners: bool) -> float:
    """Where output index ``i`` of ``out`` samples an axis of ``n`` (PyTorch's formula,
    unclamped)."""
    if align_corners:
        return i * (n - 1) / (out - 1) if out > 1 else 0.0
    return (i + 0.5) * n / out - 0.5


def linear_ref(x, axis, out, align_corners):
    """Linear interpolation along ``axis`` from PyTorch's formula, one output index at a
    time."""
    n = x.shape[axis]
    pieces = []
    for i in range(out):
        src = max(source_point(i, n, out, align_corners), 0.0)
        low = min(int(np.floor(src)), n - 1)
        high = min(low + 1, n - 1)
        t = src - low
        pieces.append((1 - t) * np.take(x, low, axis) + t * np.take(x, high, axis))
    return np.stack(pieces, axis)


def nearest_ref(x, sizes):
    for axis, out in enumerate(sizes, start=x.ndim - len(sizes)):
        n = x.shape[axis]
        x = np.take(x, [min(i * n // out, n - 1) for i in range(out)], axis)
    return x


def shuffle_ref(x, r):
    n, c, h, w = x.shape
    out = np.zeros((n, c // (r * r), h * r, w * r))
    for i in range(r):
        for j in range(r):
            out[:, :, i::r, j::r] = x[:, i * r + j :: r * r]
    return out


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    table = [
        Case(
            "ConvTranspose2d",
            "conv_transpose2d",
            ((2, 4, 3, 4), (4, 3, 3, 3), (3,)),
            lambda x, w, b: F.conv_transpose2d(x, w, b),
            conv_transpose_ref,
        ),
    ]
    options = [
        ("_stride_pad_outpad", (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
        ("_groups_dilation", (4, 2, 2, 3), {"groups": 2, "dilation": (2, 1), "stride": (1, 2)}),
        (
            "_outpad_under_dilation",
            (4, 1, 2, 2),
            {"dilation": 2, "output_padding": (1, 0), "padding": 1},
        ),
    ]
    for tag, w_shape, kw in options:
        table.append(
            Case(
                "ConvTranspose2d",
                f"conv_transpose2d{tag}",
                ((2, 4, 3, 4), w_shape),
                lambda x, w, kw=kw: F.conv_transpose2d(x, w, **kw),
                lambda x, w, kw=kw: conv_transpose_ref(x, w, **kw),
            )
        )
    table += [
        Case(
            "ConvTranspose2d",
            "conv_transpose2d_one_sample",
            ((2, 3, 3), (2, 2, 2, 2)),
            lambda x, w: F.conv_transpose2d(x, w, stride=2),
            lambda x, w: conv_transpose_ref(x[None], w, stride=2)[0],
        ),
        Case(
            "ConvTranspose1d",
            "conv_transpose1d",
            ((2, 4, 5), (4, 3, 3), (6,)),
            lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, groups=2),
            lambda x, w, b: conv_transpose_ref(
                x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), groups=2
            )[:, :, 0],
        ),
        Case(
            "MaxPool1d",
            "max_pool1d",
            ((2, 3, 9),),
            lambda x: F.max_pool1d(x, 3, 2, padding=1),
            lambda x: pool1d_ref(x, 3, 2, 1, -np.inf, np.max),
        ),
        Case(
            "AvgPool1d",
            "avg_pool1d",
            ((3, 8),),
            lambda x: F.avg_pool1d(x, 2),
            lambda x: pool1d_ref(x[None], 2, 2, 0, 0.0, np.mean)[0],
        ),
        Case(
            "AdaptiveAvgPool1d",
            "adaptive_avg_pool1d",
            ((2, 3, 7),),
            lambda x: F.adaptive_avg_pool1d(x, 3),
            lambda x: adaptive_ref(x[:, :, None], (1, 3), np.mean)[:, :, 0],
        ),
        Case(
            "AdaptiveMaxPool1d",
            "adaptive_max_pool1d",
            ((2, 3, 8),),
            lambda x: F.adaptive_max_pool1d(x, 3),
            lambda x: adaptive_ref(x[:, :, None], (1, 3), np.max)[:, :, 0],
        ),
        Case(
            "AdaptiveMaxPool2d",
            "adaptive_max_pool2d",
            ((2, 3, 7, 5),),
            lambda x: F.adaptive_max_pool2d(x, (3, 4)),
            lambda x: adaptive_ref(x, (3, 4), np.max),
        ),
        Case(
            "UpsampleNearest1d",
            "interpolate_nearest_1d",
            ((2, 3, 5),),
            lambda x: F.interpolate(x, size=7),
            lambda x: nearest_ref(x, (7,)),
        ),
        Case(
            "UpsampleNearest2d",
            "interpolate_nearest_2d",
            ((2, 3, 3, 4),),
            lambda x: F.interpolate(x, scale_factor=2),
            lambda x: x.repeat(2, -2).repeat(2, -1),
        ),
        Case(
            "UpsampleNearest3d",
            "interpolate_nearest_3d",
            ((1, 2, 2, 3, 4),),
            lambda x: F.interpolate(x, size=(3, 3, 2)),
            lambda x: nearest_ref(x, (3, 3, 2)),
        ),
        Case(
            "UpsampleLinear1d",
            "interpolate_linear",
            ((2, 3, 5),),
            lambda x: F.interpolate(x, size=8, mode="linear"),
            lambda x: linear_ref(x, 2, 8, False),
        ),
        Case(
            "UpsampleBilinear2d",
            "interpolate_bilinear",
            ((2, 3, 3, 4),),
            lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"),
            lambda x: linear_ref(linear_ref(x, 2, 5, False), 3, 7, False),
        ),
        Case(
            "UpsampleBilinear2d",
            "interpolate_bilinear_align_corners_down",
            ((2, 3, 6, 5),),
            lambda x: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=True),
            lambda x: linear_ref(linear_ref(x, 2, 4, True), 3, 3, True),
        ),
        Case(
            "UpsampleTrilinear3d",
            "interpolate_trilinear",
            ((1, 2, 2, 3, 2),),
            lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"),
            lambda x: linear_ref(linear_ref(linear_ref(x, 2, 4, False), 3, 6, False), 4, 4, False),
        ),
        Case(
            "PixelShuffle",
            "pixel_shuffle",
            ((2, 8, 3, 2),),
            lambda x: F.pixel_shuffle(x, 2),
            lambda x: shuffle_ref(x, 2),
        ),
        Case(
            "PixelUnshuffle",
            "pixel_unshuffle",
            ((2, 2, 4, 6),),
            lambda x: F.pixel_unshuffle(x, 2),
            lambda x: x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 1, 3, 5, 2, 4).reshape(2, 8, 2, 3),
        ),
    ]
    return table
