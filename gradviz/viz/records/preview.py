"""A value or a gradient as a small picture: the ``preview`` and ``grad_preview`` node attributes.

A preview is a stack of 2-D maps cut from the array and quantized to one byte per element, so an
activation of any size costs at most :data:`PREVIEW_VALUES` bytes in a trace or a page:

- ``grid="channels"``: a 4-D activation ``(N, C, H, W)``: the first sample's first
  :data:`PREVIEW_CHANNELS` channels (an attention tensor ``(B, heads, T, T)``: one map per head);
- ``grid="filters"``: a 4-D parameter ``(out, in, kH, kW)`` (conv kernels, or their gradient): the
  first :data:`PREVIEW_FILTERS` filters, each the mean over its ``in`` input channels;
- a 5-D array (``(N, C, D, H, W)`` volumes or video, ``(out, in, kD, kH, kW)`` kernels): the
  first depth slice (index 0 of axis 2), as the 4-D array it is;
- ``grid="map"``: a 2-D value (an attention map, a weight matrix, a batch of features), or the
  first sample of a 3-D one.

Maps larger than :data:`PREVIEW_SIDE` on a side, or together holding more than
:data:`PREVIEW_VALUES` elements, keep every ``stride``-th row and column. A preview is the dict
``{"grid", "maps", "total", "height", "width", "stride", "min", "max", "data"}``: ``maps`` maps of
``height x width`` (of ``total`` channels or filters in the array), ``min``/``max`` the range of
its finite elements (None when none is finite), and ``data`` the codes, base64, row-major: code
``q`` in ``0..LEVELS - 1`` stands for ``min + q * (max - min) / (LEVELS - 1)``; :data:`NEG_INF`,
:data:`POS_INF` and :data:`NAN` mark non-finite elements (a causal mask's ``-inf``).
The capture stage makes previews (:func:`gradviz.viz.capture.stats.array_preview`); readers
decode them with :func:`preview_values`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

#: At most this many elements per preview (one byte each).
PREVIEW_VALUES = 4096
#: At most this many channels of an activation are shown.
PREVIEW_CHANNELS = 16
#: At most this many filters of a conv kernel are shown.
PREVIEW_FILTERS = 64
#: A map keeps at most this many rows and columns (every ``stride``-th one).
PREVIEW_SIDE = 128
#: Codes ``0 .. LEVELS - 1`` are finite values, evenly spaced from ``min`` to ``max``.
LEVELS = 253
NEG_INF, POS_INF, NAN = 253, 254, 255
GRIDS = ("channels", "filters", "map")
KEYS = ("grid", "maps", "total", "height", "width", "stride", "min", "max", "data")

Preview = dict[str, Any]


def preview_values(preview: Preview) -> np.ndarray:
    """The preview's ``(maps, height, width)`` float64 values, non-finite codes restored."""
    codes = np.frombuffer(base64.b64decode(preview["data"]), dtype=np.uint8)
    codes = codes.reshape(preview["maps"], preview["height"], preview["width"])
    lo, hi = preview["min"], preview["max"]
    if lo is None:
        values = np.zeros(codes.shape)
    else:
        values = lo + codes * ((hi - lo) / (LEVELS - 1))
    values[codes == NEG_INF] = -np.inf
    values[codes == POS_INF] = np.inf
    values[codes == NAN] = np.nan
    return values


def preview_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a preview (a loaded trace file), or None when it is one."""
    if not isinstance(value, dict) or set(value) != set(KEYS):
        return f"must be null or an object with {KEYS}"
    if value["grid"] not in GRIDS:
        return f"grid must be one of {GRIDS}"
    sizes = [value[k] for k in ("maps", "total", "height", "width", "stride")]
    if not all(type(n) is int and n >= 1 for n in sizes):
        return "maps, total, height, width and stride must be integers >= 1"
    count = value["maps"] * value["height"] * value["width"]
    if count > PREVIEW_VALUES or value["maps"] > value["total"]:
        return f"holds more than {PREVIEW_VALUES} elements or more maps than total"
    lo, hi = value["min"], value["max"]
    if not ((lo is None and hi is None) or (_finite(lo) and _finite(hi) and lo <= hi)):
        return "min and max must be null or finite numbers, min <= max"
    try:
        data = base64.b64decode(value["data"], validate=True)
    except (TypeError, ValueError, binascii.Error):
        return "data must be base64 text"
    if len(data) != count:
        return f"data must hold maps * height * width = {count} bytes, got {len(data)}"
    return None


def _finite(x: Any) -> bool:
    return type(x) in (int, float) and abs(x) < float("inf")
