"""gradviz's visual vocabulary and the text on its pictures: colours, numbers, shapes, statistics.

The vocabulary is documented in :mod:`gradviz.viz.draw.render` and drawn as each picture's legend.
Nothing here knows DOT; :mod:`gradviz.viz.draw.labels` escapes this text into label tables and
:mod:`gradviz.viz.draw.render` places them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradviz.viz.records.text import number

FONT = "Helvetica"
INPUT_FILL = "#d0d0d0"
PARAM_FILL = "lightblue"
#: a module's buffer (``register_buffer``: running statistics): teal fill, dashed teal border
BUFFER_FILL = "#d4ecea"
BUFFER_LINE = "#2a7f7a"
OP_FILL = "#ececec"
LOSS_FILL = "darkolivegreen1"
COLLAPSED_FILL = "#e4eef7"
DIM_FILL = "#f7f7f7"
DIM_LINE = "#b0b0b0"
DIM_TEXT = "#8c8c8c"
NAN_FILL = "#ff3b30"
NAN_LINE = "#b00000"
# findings of `gradviz check` (render.build(..., marks=...))
MARK_FILL = "#a50f15"  # a failed check, a NaN/Inf birth: darker than a NaN gradient
MARK_LINE = "#3d0006"
CONTAMINATED_FILL = "#f9c9c4"  # carries a NaN/Inf from the birth
WARN_LINE = "#e07b00"  # a warning: no gradient, dead ReLU
MODULE_LINE = "#6f6f6f"
#: the ops of one op's derivative (a graph rule's, ``create_graph=True``): a purple dashed box
RULE_LINE = "#6a51a3"
EDGE = "#4d4d4d"
GRAD_EDGE = "#8c2d04"
BADGE = "#303030"
#: Gradient magnitude, small to large (log scale); the last two take white text.
MAGNITUDE = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#d95f0e", "#993404")
DARK_BINS = 2


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(value: Any, limit: int = 48, middle: bool = False) -> str:
    """A user string for a label: no control characters, lone surrogates as ``\\udXXX``,
    shortened to ``limit`` characters (``middle``: cut in the middle, keeping the end, where
    a module path's parameter name is)."""
    text = CONTROL.sub("", _no_surrogates(str(value))).replace("\n", " ").replace("\t", " ")
    if len(text) <= limit:
        return text
    if middle:
        tail = (limit - 3) // 2
        return text[: limit - 3 - tail] + "..." + text[-tail:]
    return text[: limit - 3] + "..."


def _no_surrogates(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def bad_text(stats: Mapping[str, Any] | None) -> str:
    """Bad-value counts as text ("3 NaN, 1 Inf"), or ""."""
    if not stats:
        return ""
    labels = (("nan", "NaN"), ("inf", "Inf"))
    return ", ".join(f"{int(stats[k])} {label}" for k, label in labels if stats.get(k))


def is_integer(dtype: Any) -> bool:
    """Whether a dtype name is an integer one (``int64``, ``uint8``)."""
    return str(dtype or "").startswith(("int", "uint"))


def integer_summary(stats: Mapping[str, Any], dtype: Any = None) -> str:
    """``int64 0..9, 10 distinct``: what integers (class labels, indices) hold (without the
    dtype when it is None)."""
    head = f"{dtype} " if dtype else ""
    if stats.get("min") is None:
        return f"{head}empty"
    text = f"{head}{int(stats['min'])}..{int(stats['max'])}"
    distinct = stats.get("distinct")
    return text + (f", {distinct:,} distinct" if distinct is not None else "")


def update_text(update: Mapping[str, Any]) -> str:
    """An optimizer update: ``update/weight 0.0012``; for a weight that was all zero (a bias
    initialised to 0: the ratio is infinite) the update's norm, ``update 0.01 (weight was 0)``."""
    ratio = update.get("ratio")
    if ratio is not None and math.isinf(float(ratio)):
        return f"update {number(update.get('norm'))} (weight was 0)"
    return f"update/weight {number(ratio)}"


def buffer_update_text(update: Mapping[str, Any]) -> str:
    """A buffer's in-place change during the step: ``updated in step |Δ| 0.012``."""
    return f"updated in step |\u0394| {number(update.get('norm'))}"


def value_summary(stats: Mapping[str, Any] | None, shape: Any, dtype: Any = None) -> str:
    if not stats:
        return ""
    if is_integer(dtype):  # the dtype is on the line above
        return integer_summary(stats)
    if stats.get("mean") is None:  # empty, or no finite element
        if stats.get("nan") or stats.get("inf"):
            return "value nan" if stats.get("nan") else "value inf"
        return "empty"
    if shape is not None and int(np.prod(tuple(shape), dtype=np.int64)) == 1:
        return f"value {number(stats.get('mean'))}"
    mean, std = stats.get("mean"), stats.get("std")
    if mean is not None and std and abs(mean) < 1e-6 * std:
        mean = 0.0  # rounding noise around zero reads better as 0
    return f"mean {number(mean)}  std {number(std)}"


def stats_text(stats: Mapping[str, Any] | None, dtype: Any = None) -> str:
    if not stats:
        return "none"
    if is_integer(dtype):
        return integer_summary(stats, dtype)
    keys = ("min", "max", "mean", "std", "norm")
    text = ", ".join(f"{k} {number(stats.get(k))}" for k in keys)
    bad = bad_text(stats)
    return text + (f", {bad}" if bad else "")


# the diff of two graphs (``gradviz diff``): structural marks, and a diverging scale of b / a
ADDED_LINE = "#1a9641"  # a node only in b: thick green border, "+"
REMOVED_LINE = "#d7191c"  # a node only in a: a dashed red ghost, "-"
#: Relative change b / a, shrunk (blue) to grown (red); the middle bin is "about the same".
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
#: the upper ends of the bins of b / a below the last (x1/4, x1/2, x0.9, x1.1, x2, x4)
DIVERGING_EDGES = (0.25, 0.5, 1 / 1.1, 1.1, 2.0, 4.0)
