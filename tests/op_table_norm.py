"""Rows of the op table (``test_ops.py``) for the normalisations: BatchNorm (training and
evaluation, with and without the affine parameters) and LayerNorm.

``rows(Case, Uniform)`` builds them with the table's own classes, so this module does not
import ``test_ops`` (which imports it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz import Variable
from gradviz import functional as F

EPS = 1e-5


def batch_norm_ref(x, weight=None, bias=None, mean=None, var=None, eps=EPS):
    """(N, C, *) normalised per channel: with the batch's statistics unless given."""
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm_ref(x, ndim, weight=None, bias=None, eps=EPS):
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


RUNNING_MEAN = np.array([0.3, -0.2, 0.1])
RUNNING_VAR = np.array([0.5, 1.5, 2.0])


def _eval_bn(x, w, b):
    mean, var = Variable(RUNNING_MEAN.copy()), Variable(RUNNING_VAR.copy())
    return F.batch_norm(x, mean, var, w, b, training=False)


def rows(Case: Any, Uniform: Any) -> list[Any]:
    positive = Uniform(0.5, 2.0)
    return [
        Case(
            "BatchNorm",
            "batch_norm_train_2d",
            ((4, 3), (3,), (3,)),
            lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
            lambda x, w, b: batch_norm_ref(x, w, b),
        ),
        Case(
            "BatchNorm",
            "batch_norm_train_4d_stats",
            ((2, 3, 3, 2), (3,), (3,)),
            lambda x, w, b: F.batch_norm(
                x, Variable(np.zeros(3)), Variable(np.ones(3)), w, b, training=True
            ),
            lambda x, w, b: batch_norm_ref(x, w, b),
        ),
        Case(
            "BatchNorm",
            "batch_norm_train_3d_no_affine",
            ((3, 3, 4),),
            lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
            lambda x: batch_norm_ref(x, eps=1e-3),
        ),
        Case(
            "BatchNorm",
            "batch_norm_eval",
            ((2, 3, 4), (3,), (3,)),
            _eval_bn,
            lambda x, w, b: batch_norm_ref(x, w, b, RUNNING_MEAN, RUNNING_VAR),
            ranges=(Uniform(), positive, Uniform()),
        ),
        Case(
            "LayerNorm",
            "layer_norm_last",
            ((3, 5), (5,), (5,)),
            lambda x, w, b: F.layer_norm(x, 5, w, b),
            lambda x, w, b: layer_norm_ref(x, 1, w, b),
        ),
        Case(
            "LayerNorm",
            "layer_norm_two_dims",
            ((2, 3, 2, 4), (2, 4), (2, 4)),
            lambda x, w, b: F.layer_norm(x, (2, 4), w, b, eps=1e-3),
            lambda x, w, b: layer_norm_ref(x, 2, w, b, eps=1e-3),
        ),
        Case(
            "LayerNorm",
            "layer_norm_weight_only",
            ((4, 6), (6,)),
            lambda x, w: F.layer_norm(x, [6], w),
            lambda x, w: layer_norm_ref(x, 1, w),
        ),
        Case(
            "LayerNorm",
            "layer_norm_no_affine",
            ((2, 2, 3),),
            lambda x: F.layer_norm(x, (2, 3)),
            lambda x: layer_norm_ref(x, 2),
        ),
    ]
