"""Differential test against PyTorch: the top-level in-place twins of Variable methods
(``torch.relu_(x)``, ``torch.sin_(x)`` ..., and ``get_device``; ``torch.log10``, ``clone``,
``t`` ... are test_differential_math's and _aliases's cases) and of ``nn.functional``
with PyTorch's top-level signatures (``torch.dropout(x, p, train)``, ``torch.batch_norm``,
``torch.embedding(weight, indices)``, integer reductions ...).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def method_twin_cases() -> Iterable[Case]:
    d = Draw(91)
    x, pos = d.f((3, 4)), d.f((3, 4), low=0.1, high=3.0)
    yield Case("top", "get_device", (x,))
    for name in ("abs_", "exp_", "neg_", "relu_", "sigmoid_", "tanh_", "zero_"):
        yield Case("top", name, (Arr(x.value, clone=True),))
        yield Case("top", name, (x,))  # a leaf that requires grad: refused
    for name in (
        "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
        "asin_", "asinh_", "atan_", "atanh_", "cos_", "cosh_", "erf_", "erfc_", "expm1_", "i0_",
        "log1p_", "negative_", "reciprocal_", "rsqrt_", "sin_", "sinc_", "sinh_", "tan_",
    ):  # fmt: skip
        low = 1.1 if "cosh" in name else 0.1
        yield Case("top", name, (Arr(d.f((5,), low=low, high=low + 0.8).value, clone=True),))
    yield Case("top", "round_", (Arr(x.value * 3, clone=True),))
    for name in ("floor_", "ceil_", "trunc_", "fix_", "frac_", "exp2_", "deg2rad_", "square_"):
        yield Case("top", name, (Arr(x.value * 3, clone=True),))
        yield Case("method", name, (Arr(x.value * 3, clone=True),))
        yield Case("method", name, (Arr(x.value * 3, grad=False),))
    yield Case("method", "rad2deg_", (Arr(x.value, clone=True),))
    yield Case("top", "rad2deg_", (Arr(x.value, grad=False),))
    yield Case("method", "floor_", (d.i((3,)),))
    yield Case("method", "square_", (d.i((3,)),))
    yield Case("method", "frac_", (d.i((3,)),))  # integers: refused
    for name, bound in (("clamp_min_", -0.5), ("clamp_max_", 0.5)):
        yield Case("top", name, (Arr(x.value, clone=True), bound))
        yield Case("method", name, (Arr(x.value, clone=True), bound))
    exponent = Arr(np.array([1, 0, 2, 3]))
    yield Case("top", "ldexp_", (Arr(x.value, clone=True), exponent))
    yield Case("method", "ldexp_", (Arr(x.value, clone=True), exponent))
    yield Case("top", "log_", (Arr(pos.value, clone=True),))
    yield Case("top", "sqrt_", (Arr(pos.value, clone=True),))
    yield Case("top", "clamp_", (Arr(x.value, clone=True), -0.5, 0.5))
    yield Case("top", "clip_", (Arr(x.value, clone=True),), {"min": 0.0})
    yield Case("top", "fill_", (Arr(x.value, clone=True), 2.5))


def layer_cases() -> Iterable[Case]:
    d = Draw(92)
    img, w2 = d.f((2, 4, 5, 5)), d.f((3, 4, 3, 3))
    yield Case("top", "conv2d", (img, w2, d.f((3,)), 2, 1))
    yield Case("top", "conv2d", (img, w2, d.f((3,))), {"stride": 2, "padding": 1})
    yield Case("top", "conv1d", (d.f((2, 4, 7)), d.f((3, 4, 3))), {"padding": 1})
    yield Case("top", "conv3d", (d.f((1, 2, 4, 4, 4)), d.f((2, 2, 2, 2, 2))))
    yield Case("top", "conv_transpose1d", (d.f((2, 3, 5)), d.f((3, 2, 3))), {"stride": 2})
    yield Case("top", "conv_transpose2d", (img, d.f((4, 2, 2, 2))))
    yield Case("top", "conv_transpose3d", (d.f((1, 2, 3, 3, 3)), d.f((2, 1, 2, 2, 2))))
    yield Case("top", "conv2d", (img, d.f((3, 5, 3, 3))))  # 5 channels for 4: refused
    yield Case("top", "dropout", (img, 0.5, False))
    yield Case("top", "dropout", (img, 0.0, True))
    yield Case("top", "dropout_", (Arr(img.value, clone=True), 0.3, False))
    yield Case("top", "alpha_dropout", (img, 0.5, False))
    yield Case("top", "feature_alpha_dropout", (img, 0.0, True))
    yield Case("top", "alpha_dropout_", (Arr(img.value, clone=True), 0.5, False))
    yield Case("top", "feature_alpha_dropout_", (Arr(img.value, clone=True), 0.0, True))
    yield Case("top", "feature_dropout", (img, 0.0, True))
    yield Case("top", "feature_dropout", (img, 0.5, False))
    yield Case("top", "feature_dropout", (img, 1.0, True))
    yield Case("top", "feature_dropout_", (Arr(img.value, clone=True), 0.3, False))
    yield Case("top", "layer_norm", (img, (5, 5), d.f((5, 5)), d.f((5, 5))))
    yield Case("top", "layer_norm", (img, [5], None, None, 1e-3, False))
    yield Case("top", "group_norm", (img, 2, d.f((4,)), d.f((4,))))
    yield Case("top", "rms_norm", (img, (5,), d.f((5,))))
    mean, var = d.f((4,), grad=False), d.f((4,), low=0.5, high=2.0, grad=False)
    weight, bias = d.f((4,)), d.f((4,))
    yield Case("top", "batch_norm", (img, weight, bias, mean, var, False, 0.1, 1e-5, False))
    yield Case("top", "batch_norm", (img, None, None, None, None, True, 0.1, 1e-5, False))
    yield Case("top", "instance_norm", (img, weight, bias, None, None, True, 0.1, 1e-5, False))
    rows, idx = d.f((6, 3)), Arr(np.array([[0, 5, 2], [2, 2, 1]]))
    yield Case("top", "embedding", (rows, idx))
    yield Case("top", "embedding", (rows, idx, 2))
    yield Case("top", "embedding", (rows, Arr(np.array([0, 6]))))  # out of range: refused
    yield Case("top", "cosine_similarity", (d.f((3, 4)), d.f((3, 4))))
    yield Case("top", "cosine_similarity", (d.f((4, 6)), d.f((4, 6)), 0))
    yield Case("top", "pairwise_distance", (d.f((3, 4)), d.f((3, 4)), 1.0))
    yield Case("top", "pairwise_distance", (d.f((4, 6)), d.f((4, 6)), 1.0, 1e-6, True))
    yield Case("top", "pixel_shuffle", (d.f((1, 8, 2, 3)), 2))
    yield Case("top", "pixel_unshuffle", (d.f((1, 2, 4, 6)), 2))
    yield Case("top", "channel_shuffle", (d.f((1, 6, 2, 2)), 3))
    yield Case("top", "bilinear", (d.f((3, 2)), d.f((3, 4)), d.f((5, 2, 4)), d.f((5,))))
    yield from pool_cases(d)


def pool_cases(d: Draw) -> Iterable[Case]:
    img, seq = d.f((2, 3, 6, 6)), d.f((2, 3, 9))
    yield Case("top", "max_pool2d", (img, 2))
    yield Case("top", "max_pool2d", (img, 3, [], 1, 1, True))
    yield Case("top", "max_pool2d", (img, (2, 3), (1, 2)))
    yield Case("top", "max_pool1d", (seq, 3, 2, 1))
    yield Case("top", "max_pool3d", (d.f((1, 2, 4, 4, 4)), 2))
    yield Case("top", "max_pool1d_with_indices", (seq, 3, 2, 1))
    yield Case("top", "max_pool1d_with_indices", (seq, 2))
    yield Case("top", "avg_pool1d", (seq, 3, [], 1, False, False))
    yield Case("top", "adaptive_avg_pool1d", (seq, 4))
    yield Case("top", "adaptive_max_pool1d", (seq, 4))
    yield Case("top", "constant_pad_nd", (seq, (1, 2), 0.5))
    yield Case("top", "constant_pad_nd", (img, (1, 0, 0, 2)))


def activation_cases() -> Iterable[Case]:
    d = Draw(93)
    x = d.f((3, 4))
    yield Case("top", "hardshrink", (x,))
    yield Case("top", "hardshrink", (x, 1.0))
    yield Case("top", "prelu", (d.f((2, 3, 4)), d.f((3,))))
    yield Case("top", "selu", (x,))
    yield Case("top", "celu", (x, 0.5))
    yield Case("top", "rrelu", (x, 0.1, 0.2))
    yield Case("top", "threshold", (x, 0.1, 20.0))
    yield Case("top", "selu_", (Arr(x.value, clone=True),))
    yield Case("top", "celu_", (Arr(x.value, clone=True), 2.0))
    yield Case("top", "threshold_", (Arr(x.value, clone=True), 0.0, -1.0))
    yield Case("top", "selu_", (x,))  # a leaf that requires grad: refused
    yield Case("top", "rrelu_", (Arr(x.value, clone=True), 0.1, 0.2))


def loss_cases() -> Iterable[Case]:
    d = Draw(94)
    a, b, sign = d.f((4, 3)), d.f((4, 3)), Arr(np.array([1.0, -1.0, 1.0, -1.0]), grad=False)
    prob = d.f((4, 3), low=0.0, high=1.0)
    yield Case("top", "binary_cross_entropy_with_logits", (a, prob))  # default: none
    yield Case("top", "cosine_embedding_loss", (a, b, sign))
    yield Case("top", "hinge_embedding_loss", (a, Arr(np.sign(b.value))))
    yield Case("top", "margin_ranking_loss", (a, b, Arr(np.sign(b.value))))
    yield Case("top", "triplet_margin_loss", (a, b, d.f((4, 3))))
    for reduction in (0, 1, 2):
        yield Case("top", "binary_cross_entropy_with_logits", (a, prob), {"reduction": reduction})
        yield Case("top", "cosine_embedding_loss", (a, b, sign, 0.1, reduction))
        yield Case("top", "hinge_embedding_loss", (a, Arr(np.sign(b.value)), 1.0, reduction))
        yield Case("top", "margin_ranking_loss", (a, b, Arr(np.sign(b.value)), 0.2, reduction))
        yield Case(
            "top", "poisson_nll_loss", (a, d.f((4, 3), low=0.0), True, False, 1e-8, reduction)
        )
        yield Case("top", "triplet_margin_loss", (a, b, d.f((4, 3))), {"reduction": reduction})
    yield Case(
        "top",
        "binary_cross_entropy_with_logits",
        (a, prob, d.f((3,), low=0.0, grad=False), d.f((3,), low=0.5, high=2.0, grad=False), 2),
    )


CASES = all_cases(
    (method_twin_cases, None),
    (layer_cases, None),
    (activation_cases, None),
    (loss_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
