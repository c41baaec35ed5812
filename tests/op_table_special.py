"""Rows of the op table (``test_ops.py``) for the elementwise math of ``ops/special.py``:
rounding, reciprocals, special functions, inverse trigonometry, atan2, hypot and fmod.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import gradviz
from gradviz import functional as F

_erf = np.vectorize(math.erf)


def erfinv_ref(y: np.ndarray) -> np.ndarray:
    """erf's inverse by bisection on ``math.erf`` (to float64 rounding)."""
    low, high = np.full(y.shape, -6.0), np.full(y.shape, 6.0)
    for _ in range(80):
        mid = (low + high) / 2
        below = _erf(mid) < y
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return (low + high) / 2


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    between = Uniform(0.2, 0.8)  # no integer within reach: rounding is flat there
    positive = Uniform(0.5, 2.0)
    inside = Uniform(-0.9, 0.9)
    away = Uniform(avoid=(0.0,))
    return [
        Case("Floor", "floor", ((3, 4),), lambda x: (x - 1).floor(), lambda x: np.floor(x - 1),
             ranges=between),
        Case("Ceil", "ceil", ((3, 4),), lambda x: gradviz.ceil(x + 2), lambda x: np.ceil(x + 2),
             ranges=between),
        Case("Trunc", "trunc", ((3, 4),), lambda x: (x - 3).trunc(), lambda x: np.trunc(x - 3),
             ranges=between),
        Case("Frac", "frac", ((3, 4),), lambda x: (x - 3).frac(), lambda x: (x - 3) - np.trunc(
             x - 3), ranges=between),
        Case("Reciprocal", "reciprocal", ((3, 4),), lambda x: x.reciprocal(), lambda x: 1 / x,
             ranges=positive),
        Case("Rsqrt", "rsqrt", ((3, 4),), lambda x: gradviz.rsqrt(x), lambda x: 1 / np.sqrt(x),
             ranges=positive),
        Case("Log1p", "log1p", ((3, 4),), lambda x: x.log1p(), np.log1p,
             ranges=Uniform(-0.5, 2.0)),
        Case("Expm1", "expm1", ((3, 4),), lambda x: x.expm1(), np.expm1),
        Case("Exp2", "exp2", ((3, 4),), lambda x: gradviz.exp2(x), np.exp2),
        Case("Erf", "erf", ((3, 4),), lambda x: x.erf(), _erf),
        Case("Erfinv", "erfinv", ((3, 4),), lambda x: x.erfinv(), erfinv_ref, ranges=inside,
             rtol=1e-9),
        Case("Sinh", "sinh", ((3, 4),), lambda x: x.sinh(), np.sinh),
        Case("Cosh", "cosh", ((3, 4),), lambda x: gradviz.cosh(x), np.cosh),
        Case("Asin", "asin", ((3, 4),), lambda x: x.asin(), np.arcsin, ranges=inside),
        Case("Acos", "acos", ((3, 4),), lambda x: gradviz.acos(x), np.arccos, ranges=inside),
        Case("Atan", "atan", ((3, 4),), lambda x: x.atan(), np.arctan),
        Case("Logit", "logit", ((3, 4),), lambda x: x.logit(), lambda x: np.log(x / (1 - x)),
             ranges=Uniform(0.05, 0.95)),
        Case("Logit", "logit_eps", ((3, 4),), lambda x: gradviz.logit(x, eps=0.2),
             lambda x: np.log(np.clip(x, 0.2, 0.8) / (1 - np.clip(x, 0.2, 0.8))),
             ranges=Uniform(0.0, 1.0, avoid=(0.2, 0.8), margin=0.05)),
        Case("NanToNum", "nan_to_num", ((3, 4),), lambda x: x.nan_to_num(), np.nan_to_num),
        Case("Atan2", "atan2", ((3, 4), (4,)), lambda a, b: a.atan2(b), np.arctan2,
             ranges=(Uniform(), away)),
        Case("Atan2", "atan2_top_level", ((2, 3), (2, 3)), lambda a, b: gradviz.atan2(a, b),
             np.arctan2, ranges=(away, Uniform())),
        Case("Hypot", "hypot", ((3, 4), (3, 1)), lambda a, b: a.hypot(b), np.hypot),
        Case("Fmod", "fmod", ((3, 4), (4,)), lambda a, b: a.fmod(b), np.fmod,
             ranges=(Uniform(), positive)),
        Case("Fmod", "fmod_number", ((3, 4),), lambda a: gradviz.fmod(a, 0.75),
             lambda a: np.fmod(a, 0.75)),
        Case("Flip", "flip", ((3, 4),), lambda x: x.flip(0, 1), lambda x: x[::-1, ::-1]),
        Case("Flip", "flip_top_level", ((2, 3, 2),), lambda x: gradviz.flip(x, [-1]),
             lambda x: x[..., ::-1]),
        Case("Roll", "roll", ((3, 4),), lambda x: x.roll(1, 1), lambda x: np.roll(x, 1, 1)),
        Case("Roll", "roll_dims", ((3, 4),), lambda x: gradviz.roll(x, (2, -1), (0, 1)),
             lambda x: np.roll(x, (2, -1), (0, 1))),
        Case("Roll", "roll_flat", ((3, 4),), lambda x: x.roll(5), lambda x: np.roll(x, 5)),
        Case("Cumprod", "cumprod", ((3, 4),), lambda x: x.cumprod(1),
             lambda x: np.cumprod(x, 1)),
        Case("Cumprod", "cumprod_dim0", ((4, 2),), lambda x: gradviz.cumprod(x, dim=0),
             lambda x: np.cumprod(x, 0)),
        Case("Median", "median", ((3, 5),), lambda x: x.median(),
             lambda x: np.sort(x.reshape(-1))[7]),
        Case("Median", "median_even", ((2, 3),), lambda x: gradviz.median(x),
             lambda x: np.sort(x.reshape(-1))[2]),
        Case("LogSigmoid", "logsigmoid", ((3, 4),), lambda x: F.logsigmoid(x * 10),
             lambda x: -np.logaddexp(0, -x * 10)),
        Case("Hardtanh", "hardtanh", ((3, 4),), lambda x: F.hardtanh(x, -0.5, 1.0),
             lambda x: np.clip(x, -0.5, 1.0), ranges=Uniform(avoid=(-0.5, 1.0))),
        Case("Hardtanh", "relu6", ((3, 4),), lambda x: F.relu6(x * 4), lambda x: np.clip(
             x * 4, 0, 6), ranges=Uniform(-2.0, 2.0, avoid=(0.0, 1.5))),
    ]  # fmt: skip
