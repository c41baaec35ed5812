"""Differential test against PyTorch: ``nn.functional`` (losses with every reduction, norms,
softmax along each dim, activations, convolution and pooling).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

REDUCTIONS = ("mean", "sum", "none", "batchmean", "average")


def _pairs(d: Draw, low: float = -2.0, high: float = 2.0) -> Iterable[tuple[Arr, Arr]]:
    """(input, target) pairs: matrices in both dtypes, 0-d, size-0, transposed, broadcasting."""
    for dtype in ("float64", "float32"):
        yield d.f((3, 4), dtype, low, high), d.f((3, 4), dtype, low, high, grad=False)
    yield d.f((), "float64", low, high), d.f((), "float64", low, high)
    yield d.f((0, 4), "float64", low, high), d.f((0, 4), "float64", low, high)
    yield d.f((4, 3), "float64", low, high, nc=True), d.f((3, 4), "float64", low, high)
    yield d.f((3, 4), "float64", low, high), d.f((4,), "float64", low, high)  # broadcasts
    yield d.f((3, 4), "float64", low, high), d.f((2, 4), "float64", low, high)


def regression_cases() -> Iterable[Case]:
    d = Draw(21)
    for x, y in _pairs(d):
        for reduction in REDUCTIONS:
            for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
                yield Case("F", name, (x, y), {"reduction": reduction})
    x, y = d.f((3, 4)), d.f((3, 4))
    for beta in (0.5, 0.0, 2.0):
        yield Case("F", "smooth_l1_loss", (x, y), {"beta": beta})
        yield Case("F", "huber_loss", (x, y), {"delta": beta or 0.1})
    yield Case("F", "mse_loss", (x, d.f((3, 4), "float32")))


def binary_cases() -> Iterable[Case]:
    d = Draw(22)
    for x, y in _pairs(d, 0.05, 0.95):
        for reduction in REDUCTIONS:
            yield Case("F", "binary_cross_entropy", (x, y), {"reduction": reduction})
            yield Case("F", "binary_cross_entropy_with_logits", (x, y), {"reduction": reduction})
    yield Case("F", "binary_cross_entropy", (d.f((3,), low=1.0, high=2.0), d.f((3,), grad=False)))
    edges = Arr(np.array([0.0, 1.0, 0.5, 1.0]))
    yield Case("F", "binary_cross_entropy", (edges, Arr(np.array([0.0, 1.0, 1.0, 0.0]))))
    logits = d.f((3, 4), low=-30, high=30)
    yield Case("F", "binary_cross_entropy_with_logits", (logits, d.b((3, 4))))


def _targets(d: Draw) -> Iterable[tuple[Arr, Arr]]:
    """(logits, class indices or probabilities) pairs."""
    for dtype in ("float64", "float32"):
        yield d.f((4, 5), dtype), d.i((4,), 0, 5)
    yield d.f((5,)), Arr(np.array(2))  # one sample, no batch dim
    yield d.f((2, 5, 3)), d.i((2, 3), 0, 5)  # (N, C, d1)
    yield d.f((4, 5)), Arr(np.array([0, -100, 4, -100]))  # ignored targets
    yield d.f((4, 5)), Arr(np.array([-100, -100, -100, -100]))  # all ignored
    yield d.f((4, 5)), Arr(np.array([0, 5, 1, 2]))  # a class out of range
    yield d.f((4, 5)), Arr(np.array([0.0, 1.0, 1.0, 2.0]))  # float indices: refused
    yield d.f((4, 5)), Arr(d.rng.dirichlet(np.ones(5), 4))  # probabilities
    yield d.f((0, 5)), d.i((0,), 0, 5)
    yield d.f((4, 5)), d.i((3,), 0, 5)  # batch sizes differ


def classification_cases() -> Iterable[Case]:
    d = Draw(23)
    for x, y in _targets(d):
        for reduction in REDUCTIONS:
            yield Case("F", "cross_entropy", (x, y), {"reduction": reduction})
            yield Case("F", "nll_loss", (x, y), {"reduction": reduction})
    x, y = d.f((4, 5)), Arr(np.array([0, 2, 4, 2]))
    yield Case("F", "cross_entropy", (x, y), {"ignore_index": 2})
    yield Case("F", "nll_loss", (x, y), {"ignore_index": 2})
    yield from _weighted_cases(d)
    for reduction in REDUCTIONS:
        for log_target in (False, True):
            target = d.f((3, 4), low=0.05, high=1.0, grad=False)
            kwargs = {"reduction": reduction, "log_target": log_target}
            yield Case("F", "kl_div", (d.f((3, 4), low=-3, high=0), target), kwargs)
    for classes in (-1, 5, 3):
        yield Case("F", "one_hot", (Arr(np.array([0, 3, 1])), classes))
    yield Case("F", "one_hot", (Arr(np.array([[0, 2], [1, 1]])),))
    yield Case("F", "one_hot", (Arr(np.array([0, -1])),))


def _weighted_cases(d: Draw) -> Iterable[Case]:
    """Class weights, label smoothing and pos_weight, with every reduction."""
    weight = d.f((5,), low=0.1, high=2.0, grad=False)
    pairs = [
        (d.f((4, 5)), Arr(np.array([0, 2, 4, -100]))),
        (d.f((4, 5), "float32"), Arr(np.array([1, 1, 3, 0]))),
        (d.f((2, 5, 3)), d.i((2, 3), 0, 5)),
        (d.f((5,)), Arr(np.array(3))),
        (d.f((4, 5)), Arr(d.rng.dirichlet(np.ones(5), 4))),
    ]
    for x, y in pairs:
        w = Arr(weight.value.astype(x.value.dtype), grad=False)
        for reduction in ("mean", "sum", "none"):
            for options in (
                {"weight": w},
                {"label_smoothing": 0.2},
                {"weight": w, "label_smoothing": 0.1},
            ):
                yield Case("F", "cross_entropy", (x, y), {"reduction": reduction, **options})
            yield Case("F", "nll_loss", (x, y), {"weight": w, "reduction": reduction})
    x, y = d.f((4, 5)), Arr(np.array([0, 2, 4, 2]))
    yield Case("F", "cross_entropy", (x, y), {"weight": d.f((4,), grad=False)})  # one short
    yield Case("F", "cross_entropy", (x, y), {"label_smoothing": 1.5})
    yield Case("F", "nll_loss", (x, y), {"weight": weight, "ignore_index": 2})
    p, t = d.f((3, 4), low=0.05, high=0.95), d.f((3, 4), low=0.0, high=1.0, grad=False)
    for reduction in ("mean", "sum", "none"):
        for options in ({"weight": d.f((4,), grad=False)}, {"weight": d.f((3, 4), grad=False)}):
            yield Case("F", "binary_cross_entropy", (p, t), {"reduction": reduction, **options})
        for options in (
            {"pos_weight": d.f((4,), low=0.5, high=3.0, grad=False)},
            {"weight": d.f((3, 1), grad=False), "pos_weight": d.f((4,), grad=False)},
            {"weight": d.f((4,), grad=False)},
        ):
            kwargs = {"reduction": reduction, **options}
            yield Case(
                "F", "binary_cross_entropy_with_logits", (d.f((3, 4), low=-20, high=20), t), kwargs
            )


def norm_cases() -> Iterable[Case]:
    d = Draw(24)
    for x in (d.f((2, 3, 4)), d.f((2, 3, 4), "float32"), d.f((4, 3), nc=True), d.f(())):
        for dim in (0, 1, -1, 2, -4):
            yield Case("F", "softmax", (x, dim))
            yield Case("F", "log_softmax", (x, dim))
            yield Case("F", "normalize", (x,), {"dim": dim})
            yield Case("F", "glu", (x, dim))
        for p in (1, 2, 3.0):
            yield Case("F", "normalize", (x,), {"p": p, "dim": -1})
    zero = Arr(np.zeros((2, 3)))
    yield Case("F", "normalize", (zero,))
    a, b = d.f((3, 4)), d.f((3, 4))
    for dim in (0, 1, -1, 2):
        yield Case("F", "cosine_similarity", (a, b), {"dim": dim})
    yield Case("F", "cosine_similarity", (a, d.f((4,))))
    yield Case("F", "cosine_similarity", (a, zero))
    x = d.f((2, 3, 4))
    for shape, weight in (((4,), True), ((3, 4), True), ((4,), False), ((3,), False)):
        args = (x, shape)
        if weight:
            args = (*args, d.f(shape), d.f(shape))
        yield Case("F", "layer_norm", args)
    yield Case("F", "layer_norm", (d.f((2, 4), "float32"), (4,)), {"eps": 1e-3})
    for shape in ((4, 6), (2, 6, 5), (2, 6, 2, 3)):
        yield Case("F", "group_norm", (d.f(shape), 3, d.f((6,)), d.f((6,))))
    yield Case("F", "group_norm", (d.f((2, 6, 3), "float32"), 2), {"eps": 1e-3})
    yield Case("F", "group_norm", (d.f((2, 6)), 4))  # channels not divisible: both refuse
    for shape in ((4, 3), (4, 3, 5), (2, 3, 2, 2)):
        mean, var = d.f((3,), grad=False), d.f((3,), low=0.5, high=2.0, grad=False)
        for training in (False, True):
            args = (d.f(shape), mean, var, d.f((3,)), d.f((3,)))
            yield Case("F", "batch_norm", args, {"training": training})
    yield Case("F", "batch_norm", (d.f((1, 3)), None, None), {"training": True})
    for shape, groups in (((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((2, 4), 4), ((2, 6, 3), 4)):
        channels = shape[1]
        yield Case("F", "group_norm", (d.f(shape), groups))
        yield Case("F", "group_norm", (d.f(shape, "float32"), groups, d.f((channels,), "float32")))
        yield Case("F", "group_norm", (d.f(shape), groups, d.f((channels,)), d.f((channels,))))


ACTIVATIONS = {
    "relu": {},
    "relu6": {},
    "sigmoid": {},
    "tanh": {},
    "silu": {},
    "mish": {},
    "softsign": {},
    "logsigmoid": {},
    "elu": {"alpha": 0.5},
    "gelu": {"approximate": "tanh"},
    "hardtanh": {"min_val": -0.5, "max_val": 0.7},
    "leaky_relu": {"negative_slope": 0.2},
    "softplus": {"beta": 2.0, "threshold": 1.0},
}


def activation_cases() -> Iterable[Case]:
    d = Draw(25)
    inputs = [
        d.f((3, 4), low=-3, high=3),
        d.f((3, 4), "float32", low=-3, high=3),
        d.f(()),
        d.f((0, 2)),
        d.f((4, 3), nc=True),
        Arr(np.array([-1.0, 0.0, 1.0, 6.0, -0.5, 0.7, 30.0, -30.0])),  # kinks and tails
    ]
    for name, options in ACTIVATIONS.items():
        for x in inputs:
            yield Case("F", name, (x,))
            if options:
                yield Case("F", name, (x,), options)
        yield Case("F", name, (d.i((2, 3)),))
    yield Case("F", "gelu", (inputs[0],), {"approximate": "sigmoid"})
    yield Case("F", "dropout", (inputs[0],), {"p": 0.3, "training": False})
    yield Case("F", "dropout", (inputs[0],), {"p": 0.0})
    yield Case("F", "dropout", (inputs[0],), {"p": 1.5})


def layer_cases() -> Iterable[Case]:
    d = Draw(26)
    x, w = d.f((3, 4)), d.f((2, 4))
    yield Case("F", "linear", (x, w))
    yield Case("F", "linear", (x, w, d.f((2,))))
    yield Case("F", "linear", (d.f((5, 3, 4), "float32"), d.f((2, 4), "float32")))
    yield Case("F", "linear", (d.f((4,)), w))
    yield Case("F", "linear", (x, d.f((2, 3))))
    yield Case("F", "linear", (x, d.f((2, 4), "float32")))  # dtypes differ
    yield Case("F", "linear", (x, w, d.f((3,))))  # a bias of the wrong size
    yield Case("F", "conv1d", (d.f((2, 3, 7)), d.f((4, 3, 3), "float32")))
    yield Case("F", "layer_norm", (d.f((2, 4)), (4,), d.f((4,))))  # a weight, no bias
    yield Case("F", "embedding", (Arr(np.array([0, 3])), d.f((5, 3))), {"max_norm": 1.0})
    yield Case("F", "embedding", (Arr(np.array([[0.0, 1.0]])), d.f((5, 3))))  # float indices
    index = Arr(np.array([[0, 2], [4, 2]]))
    yield Case("F", "embedding", (index, d.f((5, 3))))
    yield Case("F", "embedding", (index, d.f((5, 3))), {"padding_idx": 2})
    yield Case("F", "embedding", (Arr(np.array([5])), d.f((5, 3))))
    for options in ({}, {"stride": 2}, {"padding": 1}, {"dilation": 2}, {"padding": "same"}):
        yield Case("F", "conv1d", (d.f((2, 3, 7)), d.f((4, 3, 3)), d.f((4,))), options)
        yield Case("F", "conv2d", (d.f((2, 3, 6, 5)), d.f((4, 3, 3, 2)), d.f((4,))), options)
    yield Case("F", "conv2d", (d.f((2, 4, 5, 5)), d.f((6, 2, 3, 3))), {"groups": 2})
    yield Case("F", "conv2d", (d.f((2, 3, 5, 5)), d.f((6, 2, 3, 3))))
    yield Case("F", "conv2d", (d.f((3, 5, 5)), d.f((2, 3, 3, 3))))  # no batch dim
    img = d.f((2, 3, 6, 5))
    for options in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        yield Case("F", "max_pool2d", (img,), options)
        yield Case("F", "avg_pool2d", (img,), options)
    yield Case("F", "max_pool2d", (img, 2), {"ceil_mode": True})
    yield Case("F", "avg_pool2d", (img, 3), {"padding": 1, "count_include_pad": False})
    yield Case("F", "max_pool2d", (img, 2), {"return_indices": True})
    for size in ((1, 1), (2, 3), 3, (None, 2)):
        yield Case("F", "adaptive_avg_pool2d", (img, size))
    for pad, mode in (((1, 2), "constant"), ((1, 1, 2, 0), "constant"), ((1, 1), "reflect")):
        yield Case("F", "pad", (img, pad), {"mode": mode})
    yield Case("F", "pad", (d.f((2, 3)), (1, -1)), {"value": 2.0})
    q, k, v = d.f((2, 3, 4)), d.f((2, 5, 4)), d.f((2, 5, 6))
    yield Case("F", "scaled_dot_product_attention", (q, k, v))
    yield Case("F", "scaled_dot_product_attention", (q, k, v), {"scale": 0.3})
    causal = (q, d.f((2, 3, 4)), d.f((2, 3, 6)))
    yield Case("F", "scaled_dot_product_attention", causal, {"is_causal": True})
    yield Case("F", "scaled_dot_product_attention", (q, k, v), {"attn_mask": d.b((3, 5))})
    yield Case("F", "scaled_dot_product_attention", (q, k, v), {"attn_mask": d.f((3, 5))})


CASES = all_cases(
    (regression_cases, None),
    (binary_cases, None),
    (classification_cases, None),
    (norm_cases, None),
    (activation_cases, None),
    (layer_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
