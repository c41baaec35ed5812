"""The statistics dict of a value or a gradient, and the two questions everyone asks of it.

A statistics dict has the keys :data:`KEYS` (integer arrays also ``distinct``); the capture stage
computes it (:func:`gradviz.viz.capture.stats.array_stats`), everything downstream reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The keys of every statistics dict, in order.
KEYS = ("min", "max", "mean", "std", "norm", "nan", "inf")

Stats = dict[str, Any]


def is_bad(stats: Mapping[str, Any] | None) -> bool:
    """Whether statistics count a NaN or an Inf."""
    return bool(stats) and bool(stats.get("nan") or stats.get("inf"))  # type: ignore[union-attr]


def norm(stats: Any) -> float | None:
    """The L2 norm the statistics hold (None when there are none, or no finite element)."""
    if not isinstance(stats, Mapping) or not stats:
        return None
    value = stats.get("norm")
    return None if value is None else float(value)
