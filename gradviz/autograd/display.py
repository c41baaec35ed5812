"""A Variable as a notebook shows it: one short HTML block (``Variable._repr_html_``).

Shape, dtype, the op that made it (or "leaf"), whether it requires and has a gradient, and a
line of statistics (min, mean, max, and how many NaN/Inf). NumPy only: the engine never imports
the visualizer. ``repr()`` stays PyTorch-like.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

#: Statistics are computed on at most this many elements (an evenly spaced sample beyond).
STATS_SAMPLE = 1_000_000


def _number(x: float) -> str:
    return f"{x:.4g}"


def stats_line(array: np.ndarray) -> str:
    """``min -1 · mean 0.2 · max 3`` (of the finite elements) and the NaN/Inf counts; the
    value of a single element."""
    flat = array.reshape(-1)
    sampled = flat.size > STATS_SAMPLE
    if sampled:
        flat = flat[:: -(-flat.size // STATS_SAMPLE)]
    if flat.dtype.kind not in "biuf":
        return f"{flat.size:,} elements"
    if flat.dtype.kind == "b":
        return f"{int(flat.sum()):,} of {flat.size:,} true"
    values = flat.astype(np.float64, copy=False)
    if values.size == 1:
        return f"value {_number(values[0])}"
    finite = np.isfinite(values)
    parts = []
    if finite.any():
        good = values[finite]
        parts = [f"min {_number(good.min())}", f"mean {_number(good.mean())}"]
        parts.append(f"max {_number(good.max())}")
    nan = int(np.isnan(values).sum())
    inf = int(values.size - finite.sum()) - nan
    parts += [f"{n:,} {what}" for n, what in ((nan, "NaN"), (inf, "Inf")) if n]
    return " · ".join(parts or ["empty"]) + (" (sampled)" if sampled else "")


def variable_html(v: Any) -> str:
    """The HTML block of Variable ``v``: a headline, the data's statistics, the gradient's."""
    shape = "scalar" if v._data.ndim == 0 else str(tuple(v.shape))
    made = f"op <b>{html.escape(v.op)}</b>" if v.op else "leaf"
    needs = "requires grad" if v.requires_grad else "no grad"
    name = f"<b>{html.escape(v.name)}</b> " if v.name else ""
    lines = [
        f"{name}Variable {shape} {html.escape(str(v.dtype))} · {made} · {needs}",
        f"data {html.escape(stats_line(v._data))}",
    ]
    if v._grad is not None:
        lines.append(f"grad {html.escape(stats_line(np.asarray(v._grad)))}")
    elif v.requires_grad and v.op is None:
        lines.append("grad None (no backward has reached it yet)")
    style = "font-family: monospace; font-size: 12px; line-height: 1.5"
    body = "<br>".join(lines)
    return f'<div class="gradviz-variable" style="{style}">{body}</div>'
