"""Rows of the op table (``test_ops.py``) for the activations PReLU, SELU, CELU, Hardswish,
Hardsigmoid, Threshold, Hardshrink, Softshrink, Tanhshrink and RReLU, for RmsNorm and
Bilinear, and for MaskedGrad and ZeroDerivative, the ops the graph rules of piecewise linear ops
record.

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_tensor``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import functional as F
from gradviz.autograd.ops.activations_more import SELU_ALPHA, SELU_SCALE, Rrelu
from gradviz.autograd.ops.masked import ZeroDerivative, masked

#: RReLU's drawn slopes for (3, 4) inputs, fixed so that gradcheck sees one function
NOISE = np.random.default_rng(5).uniform(1 / 8, 1 / 3, (3, 4))
#: A leaky ReLU's slopes at some input: MaskedGrad's mask
SLOPES = np.where(np.random.default_rng(6).uniform(-1, 1, (3, 4)) > 0, 1.0, 0.2)


def _rms(x, w=None, dims=1, eps=None):
    axes = tuple(range(x.ndim - dims, x.ndim))
    eps = np.finfo(x.dtype).eps if eps is None else eps
    out = x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + eps)
    return out if w is None else out * w


def _elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    away = Uniform(avoid=(0.0,))
    hard = Uniform(-4.0, 4.0, avoid=(-3.0, 3.0))
    shrink = Uniform(avoid=(-0.5, 0.5))
    return [
        Case(
            "Prelu",
            "prelu_per_channel",
            ((2, 3, 4), (3,)),
            F.prelu,
            lambda x, w: np.where(x > 0, x, x * w[:, None]),
            ranges=(away, Uniform()),
        ),
        Case(
            "Prelu",
            "prelu_one_slope",
            ((3, 4), (1,)),
            F.prelu,
            lambda x, w: np.where(x > 0, x, x * w),
            ranges=(away, Uniform()),
        ),
        Case("Selu", "selu", ((3, 4),), F.selu, lambda x: SELU_SCALE * _elu(x, SELU_ALPHA), away),
        Case(
            "Celu",
            "celu_alpha",
            ((3, 4),),
            lambda x: F.celu(x, 0.7),
            lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0) / 0.7)),
            away,
        ),
        Case(
            "Hardswish",
            "hardswish",
            ((3, 4),),
            F.hardswish,
            lambda x: x * np.clip(x + 3, 0, 6) / 6,
            hard,
        ),
        Case(
            "Hardsigmoid",
            "hardsigmoid",
            ((3, 4),),
            F.hardsigmoid,
            lambda x: np.clip(x + 3, 0, 6) / 6,
            hard,
        ),
        Case(
            "Threshold",
            "threshold",
            ((3, 4),),
            lambda x: F.threshold(x, 0.1, -2.0),
            lambda x: np.where(x > 0.1, x, -2.0),
            Uniform(avoid=(0.1,)),
        ),
        Case(
            "Hardshrink",
            "hardshrink",
            ((3, 4),),
            F.hardshrink,
            lambda x: np.where(np.abs(x) > 0.5, x, 0),
            shrink,
        ),
        Case(
            "Softshrink",
            "softshrink",
            ((3, 4),),
            F.softshrink,
            lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
            shrink,
        ),
        Case("Tanhshrink", "tanhshrink", ((3, 4),), F.tanhshrink, lambda x: x - np.tanh(x)),
        Case(
            "Rrelu",
            "rrelu_training_slopes",
            ((3, 4),),
            lambda x: Rrelu.apply(x, np.where(x.data > 0, 1.0, NOISE).astype(x.dtype)),
            lambda x: np.where(x > 0, x, x * NOISE),
            away,
        ),
        Case(
            "RmsNorm", "rms_norm_weight", ((3, 4), (4,)), lambda x, w: F.rms_norm(x, (4,), w), _rms
        ),
        Case(
            "RmsNorm",
            "rms_norm_two_dims_eps",
            ((2, 3, 4),),
            lambda x: F.rms_norm(x, (3, 4), eps=1e-3),
            lambda x: _rms(x, dims=2, eps=1e-3),
        ),
        Case(
            "Bilinear",
            "bilinear_bias",
            ((5, 3), (5, 4), (2, 3, 4), (2,)),
            F.bilinear,
            lambda a, b, w, c: np.einsum("ni,oij,nj->no", a, w, b) + c,
        ),
        Case(
            "Bilinear",
            "bilinear_batch_dims",
            ((2, 3, 3), (2, 3, 2), (4, 3, 2)),
            F.bilinear,
            lambda a, b, w: np.einsum("xyi,oij,xyj->xyo", a, w, b),
        ),
        Case(
            "MaskedGrad",
            "masked_grad",
            ((3, 4), (3, 4)),
            lambda g, x: masked(g, x, SLOPES) + masked(g, x, None) * x,
            lambda g, x: g * SLOPES + g * x,
        ),
        Case(
            "ZeroDerivative",
            "zero_derivative",
            ((3, 4),),
            lambda x: ZeroDerivative.apply(x) + x,
            lambda x: x,
        ),
    ]
