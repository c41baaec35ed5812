"""ndarray -> value statistics: ``min, max, mean, std, norm`` and ``nan, inf`` counts.

NaN and Inf are counted and left out of the five float statistics, so one bad element does not
hide the scale of the others. Integer arrays also have ``distinct``, the number of distinct
values (class labels 0..9 have 10). An empty array (or one with no finite element) has ``None`` for
the five. Every value is a plain Python ``float`` or ``int``, ready for JSON.

Cost matters: the tracer calls :func:`array_stats` on every op output and every gradient. The
common case (all finite) is four reductions over the array and no copy: ``min``, ``max``, the
sum as one BLAS matrix-vector product with ones (row sums added in float64) and one BLAS dot
product for the norm; ``std`` comes from the same two sums,
with NumPy's two-pass ``std`` as the fallback when the mean dominates and the one-pass formula
would lose digits. :func:`l2_norm` and :func:`diff_norm` measure optimizer updates.
:func:`array_preview` cuts the small picture of an array the page draws
(:mod:`gradviz.viz.records.preview`).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from gradviz.autograd.ops.scratch import ones as shared_ones
from gradviz.viz.records.preview import (
    LEVELS,
    NAN,
    NEG_INF,
    POS_INF,
    PREVIEW_CHANNELS,
    PREVIEW_FILTERS,
    PREVIEW_SIDE,
    PREVIEW_VALUES,
    Preview,
)
from gradviz.viz.records.stats import Stats

#: Integer arrays (class labels, indices) also count their distinct values, up to this size
#: (None above it): a range and a count read better for them than a mean and a std.
DISTINCT_UP_TO = 1 << 20


def _empty(nan: int = 0, inf: int = 0) -> Stats:
    return {
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "norm": None,
        "nan": nan,
        "inf": inf,
    }


def array_stats(array: Any) -> Stats | None:
    """Statistics of ``array`` (an ndarray or anything ``np.asarray`` takes).

    Returns None for data that has no numeric statistics (complex, object, strings). Never
    raises FloatingPointError, whatever ``np.seterr`` the traced script set.
    """
    try:
        return _stats(array)
    except FloatingPointError:  # the script's np.seterr(all="raise"): measuring is not its op
        with np.errstate(all="ignore"):
            return _stats(array)


def _stats(array: Any) -> Stats | None:
    a = array if type(array) is np.ndarray else np.asarray(array)
    dtype = a.dtype
    kind = dtype.kind
    if kind == "f":
        if dtype.itemsize < 4:  # float16: BLAS has no dot, squares overflow early
            a = a.astype(np.float32)
    elif kind in "iu":
        stats = array_stats(a.astype(np.float64))
        if stats is not None:
            stats["distinct"] = _distinct(a) if a.size <= DISTINCT_UP_TO else None
        return stats
    elif kind == "b":
        a = a.astype(np.float64)
    else:
        return None
    n = a.size
    if n == 0:
        return _empty()
    flat = a.reshape(-1)
    lo = float(_minimum(flat))  # NaN propagates quietly through min and max
    hi = float(_maximum(flat))
    nan = inf = 0
    if not (_isfinite(lo) and _isfinite(hi)):
        finite_mask = np.isfinite(flat)
        nan = int(np.count_nonzero(np.isnan(flat)))
        inf = n - nan - int(np.count_nonzero(finite_mask))
        flat = flat[finite_mask]
        n = flat.size
        if n == 0:
            return _empty(nan, inf)
        lo, hi = float(_minimum(flat)), float(_maximum(flat))
    if n == 1:
        return {
            "min": lo,
            "max": hi,
            "mean": lo,
            "std": 0.0,
            "norm": abs(lo),
            "nan": nan,
            "inf": inf,
        }
    big = -lo if -lo > hi else hi
    if big * big * n < _SAFE_SQUARES[flat.dtype.itemsize]:
        mean = _sum(flat) / n
        square_sum = float(_dot(flat, flat))
        norm = math.sqrt(square_sum)
        variance = square_sum / n - mean * mean
        if variance > 1e-3 * mean * mean:
            std = math.sqrt(variance)
        elif lo == hi:  # constant (a gradient of ones, say)
            std = 0.0
        else:  # the mean dominates (or rounding went negative): two-pass, exact
            std = float(flat.std(dtype=np.float64))
    else:  # the squares could overflow: work in float64 on values scaled into [-1, 1]
        wide = flat.astype(np.float64) / big
        mean = float(wide.mean()) * big
        norm = math.sqrt(float(_dot(wide, wide))) * big
        std = float(wide.std()) * big
    return {
        "min": lo,
        "max": hi,
        "mean": mean,
        "std": std,
        "norm": norm,
        "nan": nan,
        "inf": inf,
    }


# Below these, a sum of squares cannot overflow (float32 and float64 itemsizes).
_SAFE_SQUARES = {4: 1e37, 8: 1e306}
_add = np.add.reduce
_minimum = np.minimum.reduce
_maximum = np.maximum.reduce
_dot = np.dot
_isfinite = math.isfinite

#: Up to this many elements :func:`_sum` is one BLAS dot product with ones; above, the array
#: is read as rows of ``_ROW`` elements summed by one BLAS matrix-vector product with a short
#: vector of ones (which stays in cache, so the array is the only thing read from memory).
_BLOCK = 1 << 16
_ROW = 256
_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _sum(flat: np.ndarray) -> float:
    """The sum as a Python float: float arrays by BLAS (several times faster than
    ``ndarray.sum``), big ones as row sums added in float64."""
    if flat.dtype not in _BLAS_FLOATS or not flat.flags.c_contiguous:
        return float(_add(flat, dtype=np.float64))
    n = flat.size
    ones = shared_ones(min(n, _BLOCK), flat.dtype)
    if n <= _BLOCK:
        return float(_dot(flat, ones))
    body = n - n % _ROW
    total = float(_add(_dot(flat[:body].reshape(-1, _ROW), ones[:_ROW]), dtype=np.float64))
    if body < n:
        total += float(_dot(flat[body:], ones[: n - body]))
    return total


def _distinct(a: np.ndarray) -> int:
    """How many distinct values ``a`` holds (a sort, not ``np.unique``, whose first call
    imports ``numpy.ma``: 35 ms)."""
    if a.size == 0:
        return 0
    ordered = np.sort(a, axis=None)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def array_copy(array: np.ndarray, max_size: int) -> list[Any] | None:
    """The array as nested lists when it has at most ``max_size`` elements, else None."""
    if array.size > max_size:
        return None
    return array.tolist()


def array_preview(array: np.ndarray, filters: bool = False) -> Preview | None:
    """The preview of a 2-D to 5-D numeric array (None for others): ``filters`` reads a 4-D
    array as conv kernels ``(out, in, kH, kW)``, else as activations ``(N, C, H, W)``; of a
    5-D array (``(N, C, D, H, W)`` volumes or video, ``(out, in, kD, kH, kW)`` kernels) the
    first depth slice is shown as such."""
    if array.ndim < 2 or array.ndim > 5 or array.size == 0 or array.dtype.kind not in "biuf":
        return None
    if array.ndim == 5:
        array = array[:, :, 0]
    total = 1
    if array.ndim == 4 and filters:
        grid, total = "filters", array.shape[0]
        maps = array[:PREVIEW_FILTERS].mean(axis=1, dtype=np.float64)
    elif array.ndim == 4:
        grid, total = "channels", array.shape[1]
        maps = array[0, :PREVIEW_CHANNELS]
    else:
        grid = "map"
        maps = array[:1] if array.ndim == 3 else array[None]
    n, height, width = maps.shape
    stride = 1
    while (
        max(height, width) > PREVIEW_SIDE * stride
        or n * -(-height // stride) * -(-width // stride) > PREVIEW_VALUES
    ):
        stride += 1
    values = maps[:, ::stride, ::stride].astype(np.float64)
    codes, lo, hi = _quantize(values)
    return {
        "grid": grid,
        "maps": n,
        "total": total,
        "height": values.shape[1],
        "width": values.shape[2],
        "stride": stride,
        "min": lo,
        "max": hi,
        "data": base64.b64encode(codes.tobytes()).decode("ascii"),
    }


def _quantize(values: np.ndarray) -> tuple[np.ndarray, float | None, float | None]:
    """(uint8 codes, min, max of the finite elements) of float64 ``values``."""
    finite = np.isfinite(values)
    every = bool(finite.all())
    if not every and not finite.any():
        lo = hi = None
        codes = np.zeros(values.shape, np.uint8)
    else:
        seen = values if every else values[finite]
        lo, hi = float(seen.min()), float(seen.max())
        scale = (LEVELS - 1) / (hi - lo) if hi > lo else 0.0
        clean = values if every else np.where(finite, values, lo)
        codes = np.rint((clean - lo) * scale).astype(np.uint8)
    if not every:
        codes[np.isnan(values)] = NAN
        codes[values == np.inf] = POS_INF
        codes[values == -np.inf] = NEG_INF
    return codes, lo, hi


def l2_norm(array: np.ndarray) -> float:
    """The Euclidean norm as a Python float (a BLAS dot product; float64 when it overflows)."""
    flat = array.reshape(-1)
    total = float(_dot(flat, flat))
    if not _isfinite(total):
        wide = flat.astype(np.float64)
        total = float(_dot(wide, wide))
    return math.sqrt(total)


_DIFF_BLOCK = 1 << 15
_DIFF_BUFFERS: dict[np.dtype, np.ndarray] = {}


def diff_norm(new: np.ndarray, old: np.ndarray) -> float:
    """``l2_norm(new - old)`` block by block through one small reused buffer: a parameter-sized
    temporary would page-fault back in at every step."""
    if new.shape != old.shape or not (new.flags.c_contiguous and old.flags.c_contiguous):
        return l2_norm(new - old)
    buffer = _DIFF_BUFFERS.get(new.dtype)
    if buffer is None:
        buffer = _DIFF_BUFFERS[new.dtype] = np.empty(_DIFF_BLOCK, dtype=new.dtype)
    a, b = new.reshape(-1), old.reshape(-1)
    total = 0.0
    for start in range(0, a.size, _DIFF_BLOCK):
        stop = min(start + _DIFF_BLOCK, a.size)
        part = np.subtract(a[start:stop], b[start:stop], out=buffer[: stop - start])
        total += l2_norm(part) ** 2
    return float(np.sqrt(total))
