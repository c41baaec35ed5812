"""Rows of the op table (``test_ops.py``) for ``affine_grid`` and ``grid_sample`` (bilinear and
nearest, zeros and border padding) against direct NumPy references, one grid point at a time.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz import functional as F


def grid_sample_ref(x, grid, mode="bilinear", padding="zeros", align=False):
    """Each output pixel: the grid point in pixels, then the bilinear mix of its four
    neighbours (or the nearest one), zero outside or clipped to the border."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, *grid.shape[1:3]))
    for b in range(n):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                gx, gy = grid[b, i, j]
                px = (gx + 1) / 2 * (w - 1) if align else ((gx + 1) * w - 1) / 2
                py = (gy + 1) / 2 * (h - 1) if align else ((gy + 1) * h - 1) / 2
                if padding == "border":
                    px, py = min(max(px, 0), w - 1), min(max(py, 0), h - 1)
                if mode == "nearest":
                    points = [(round(py), round(px), 1.0)]
                else:
                    x0, y0 = math.floor(px), math.floor(py)
                    fx, fy = px - x0, py - y0
                    points = [
                        (y0, x0, (1 - fy) * (1 - fx)),
                        (y0, x0 + 1, (1 - fy) * fx),
                        (y0 + 1, x0, fy * (1 - fx)),
                        (y0 + 1, x0 + 1, fy * fx),
                    ]
                for yy, xx, weight in points:
                    if 0 <= yy < h and 0 <= xx < w:
                        out[b, :, i, j] += weight * x[b, :, yy, xx]
    return out


def affine_grid_ref(theta, size=(2, 1, 3, 4), align=False):
    """Each output point: ``theta`` applied to the pixel's normalised (x, y, 1)."""
    n, _, h, w = size
    xs = np.linspace(-1, 1, w) * (1 if align else (w - 1) / w)
    ys = np.linspace(-1, 1, h) * (1 if align else (h - 1) / h)
    out = np.zeros((n, h, w, 2))
    for b in range(n):
        for i in range(h):
            for j in range(w):
                out[b, i, j] = theta[b] @ np.array([xs[j], ys[i], 1.0])
    return out


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    inside, wide = Uniform(-0.9, 0.9), Uniform(-1.3, 1.3)
    return [
        Case("AffineGridGenerator", "affine_grid", ((2, 2, 3),),
             lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False), affine_grid_ref),
        Case("AffineGridGenerator", "affine_grid_aligned", ((2, 2, 3),),
             lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=True),
             lambda t: affine_grid_ref(t, align=True)),
        Case("GridSample", "grid_sample", ((2, 3, 4, 5), (2, 3, 2, 2)),
             lambda x, g: F.grid_sample(x, g, align_corners=False), grid_sample_ref,
             ranges=(Uniform(), inside)),
        Case("GridSample", "grid_sample_outside_aligned", ((1, 2, 3, 4), (1, 2, 3, 2)),
             lambda x, g: F.grid_sample(x, g, align_corners=True),
             lambda x, g: grid_sample_ref(x, g, align=True), ranges=(Uniform(), wide)),
        Case("GridSample", "grid_sample_border", ((1, 2, 3, 4), (1, 2, 3, 2)),
             lambda x, g: F.grid_sample(x, g, padding_mode="border", align_corners=False),
             lambda x, g: grid_sample_ref(x, g, padding="border"), ranges=(Uniform(), wide)),
        Case("GridSample", "grid_sample_nearest", ((1, 2, 3, 4), (1, 2, 2, 2)),
             lambda x, g: F.grid_sample(x, g, mode="nearest", align_corners=False),
             lambda x, g: grid_sample_ref(x, g, mode="nearest"), ranges=(Uniform(), inside)),
    ]  # fmt: skip
