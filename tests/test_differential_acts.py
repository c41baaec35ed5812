"""Differential test against PyTorch: the activations, norms, bilinear map, distances and
losses of ``functional_acts`` and ``functional_losses_more``.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

REDUCTIONS = ("mean", "sum", "none", "average")

ACTIVATIONS = {
    "selu": {},
    "celu": {"alpha": 0.5},
    "hardswish": {},
    "hardsigmoid": {},
    "hardshrink": {"lambd": 0.3},
    "softshrink": {"lambd": 0.3},
    "tanhshrink": {},
    "rrelu": {"lower": 0.1, "upper": 0.2},
}


def activation_cases() -> Iterable[Case]:
    d = Draw(41)
    inputs = [
        d.f((3, 4), low=-4, high=4),
        d.f((3, 4), "float32", low=-4, high=4),
        d.f(()),
        d.f((0, 2)),
        d.f((4, 3), nc=True),
        Arr(np.array([-3.0, -0.5, 0.0, 0.3, 0.5, 3.0, 30.0, -30.0])),  # kinks and tails
    ]
    for name, options in ACTIVATIONS.items():
        for x in inputs:
            yield Case("F", name, (x,))
            if options:
                yield Case("F", name, (x,), options)
        yield Case("F", name, (d.i((2, 3)),))
    for x in inputs:
        yield Case("F", "threshold", (x, 0.3, -1.5))
        yield Case("F", "softmin", (x,), {"dim": -1})
    yield Case("F", "threshold", (d.i((2, 3)), 1, 7))
    yield Case("F", "threshold", (inputs[-1], 0.0, 0.0))
    yield Case("F", "softmin", (inputs[0],))  # the legacy dim, with the warning
    yield Case("F", "softmin", (d.f((2, 3, 4)),))
    yield Case("F", "softmin", (inputs[0], 0), {"dtype": np.dtype("float32")})
    yield Case("F", "softmin", (inputs[0], 2))
    yield Case("F", "softshrink", (inputs[0], -0.5))
    yield Case("F", "celu", (inputs[0],), {"alpha": 2.0})
    yield Case("F", "rrelu", (inputs[0],), {"lower": 0.4, "upper": 0.2})
    copy = d.f((3, 4), low=-4, high=4, clone=True)
    for name in ("selu", "celu", "hardswish", "hardsigmoid", "rrelu"):
        yield Case("F", name, (copy,), {"inplace": True})
    yield Case("F", "threshold", (copy, 0.3, -1.5), {"inplace": True})
    yield Case("F", "hardtanh", (copy, -0.5, 0.7), {"inplace": True})
    yield Case("F", "relu6", (copy,), {"inplace": True})
    yield Case("F", "selu", (inputs[0],), {"inplace": True})  # a leaf that requires grad
    for x, w in (
        (d.f((2, 3, 4)), d.f((3,))),
        (d.f((2, 3, 4), "float32"), d.f((1,), "float32")),
        (d.f((5,)), d.f((1,))),
        (d.f(()), d.f((1,))),
        (d.f((4, 3), nc=True), d.f((3,))),
        (d.f((2, 3)), d.f((2,))),  # a slope per channel of the wrong count
        (d.f((5,)), d.f((5,))),  # a 1-d input has one channel
    ):
        yield Case("F", "prelu", (x, w))


def norm_cases() -> Iterable[Case]:
    d = Draw(42)
    x = d.f((2, 3, 4))
    for shape in ((4,), (3, 4), [4], 4):
        yield Case("F", "rms_norm", (x, shape))
        yield Case("F", "rms_norm", (x, shape, d.f(np.shape(np.empty(shape)))))
    yield Case("F", "rms_norm", (d.f((2, 3, 4), "float32"), (4,), d.f((4,), "float32")))
    yield Case("F", "rms_norm", (x, (4,)), {"eps": 1e-2})
    yield Case("F", "rms_norm", (x, (3,)))  # not the trailing shape
    yield Case("F", "rms_norm", (x, (4,), d.f((3,))))  # a weight of another shape
    yield Case("F", "rms_norm", (d.f((0, 4)), (4,)))
    img = d.f((2, 3, 5, 4))
    for y in (x, img, d.f((2, 3, 5), "float32")):
        yield Case("F", "instance_norm", (y,))
        channels, dtype = y.value.shape[1], str(y.value.dtype)
        w, b = d.f((channels,), dtype), d.f((channels,), dtype)
        yield Case("F", "instance_norm", (y,), {"weight": w, "bias": b})
        stats = Arr(np.zeros(channels), grad=False), Arr(np.ones(channels), grad=False)
        yield Case("F", "instance_norm", (y, *stats), {"use_input_stats": False})
        yield Case("F", "instance_norm", (y,), {"use_input_stats": False})
    yield Case("F", "instance_norm", (d.f((2, 3, 1)),))  # one position per channel
    yield Case("F", "instance_norm", (x,), {"weight": d.f((4,))})
    for size in (1, 2, 3, 5):
        yield Case("F", "local_response_norm", (img, size))
        yield Case("F", "local_response_norm", (x, size), {"alpha": 0.5, "beta": 0.5, "k": 2.0})
    yield Case("F", "local_response_norm", (d.f((2, 6, 3, 2, 2), "float32"), 3))
    yield Case("F", "local_response_norm", (d.f((2, 3)), 2))


def layer_cases() -> Iterable[Case]:
    d = Draw(43)
    a, b, w = d.f((5, 3)), d.f((5, 4)), d.f((2, 3, 4))
    yield Case("F", "bilinear", (a, b, w))
    yield Case("F", "bilinear", (a, b, w, d.f((2,))))
    yield Case("F", "bilinear", (d.f((2, 5, 3)), d.f((2, 5, 4)), w, d.f((2,))))
    yield Case("F", "bilinear", (d.f((3,)), d.f((4,)), w))
    yield Case(
        "F", "bilinear", (d.f((5, 3), "float32"), d.f((5, 4), "float32"), d.f((2, 3, 4), "float32"))
    )
    yield Case("F", "bilinear", (a, d.f((4, 4)), w))  # batch sizes differ
    yield Case("F", "bilinear", (a, b, d.f((2, 4, 3))))  # the weight transposed
    yield Case("F", "bilinear", (a, b, w, d.f((3,))))
    for p in (2.0, 1.0, 3.0, float("inf")):
        yield Case("F", "pairwise_distance", (d.f((4, 5)), d.f((4, 5))), {"p": p})
    yield Case("F", "pairwise_distance", (d.f((4, 5)), d.f((5,))), {"keepdim": True})
    yield Case("F", "pairwise_distance", (d.f((5,)), d.f((5,))))
    yield Case("F", "pairwise_distance", (d.f((2, 4, 5), "float32"), d.f((2, 4, 5), "float32")))
    yield Case("F", "pairwise_distance", (d.f((4, 5)), d.f((4, 5))), {"eps": 0.0})


def _signs(d: Draw, shape: tuple[int, ...]) -> Arr:
    return Arr(np.where(d.rng.random(shape) < 0.5, -1.0, 1.0), grad=False)


def pair_loss_cases() -> Iterable[Case]:
    d = Draw(44)
    for reduction in REDUCTIONS:
        options = {"reduction": reduction}
        x1, x2, y = d.f((6,)), d.f((6,)), _signs(d, (6,))
        yield Case("F", "margin_ranking_loss", (x1, x2, y), options)
        yield Case("F", "margin_ranking_loss", (x1, x2, y), {"margin": 0.5, **options})
        yield Case("F", "hinge_embedding_loss", (d.f((3, 4)), _signs(d, (3, 4))), options)
        yield Case("F", "soft_margin_loss", (d.f((3, 4)), _signs(d, (3, 4))), options)
        e1, e2 = d.f((4, 5)), d.f((4, 5))
        yield Case("F", "cosine_embedding_loss", (e1, e2, _signs(d, (4,))), options)
        a, p, n = d.f((4, 5)), d.f((4, 5)), d.f((4, 5))
        yield Case("F", "triplet_margin_loss", (a, p, n), options)
    yield Case(
        "F", "margin_ranking_loss", (d.f((6,), "float32"), d.f((6,), "float32"), _signs(d, (6,)))
    )
    yield Case("F", "margin_ranking_loss", (d.f((6,)), d.f((6,)), _signs(d, (2, 3))))
    yield Case("F", "hinge_embedding_loss", (d.f((3, 4)), _signs(d, (3, 4))), {"margin": 0.3})
    yield Case("F", "hinge_embedding_loss", (d.f((3, 4)), Arr(np.zeros((3, 4)))))
    yield Case("F", "soft_margin_loss", (d.f((3, 4), "float32"), _signs(d, (3, 4))))
    e1, e2 = d.f((5,)), d.f((5,))
    yield Case("F", "cosine_embedding_loss", (e1, e2, Arr(np.array(-1.0))), {"margin": 0.2})
    yield Case("F", "cosine_embedding_loss", (e1, e2, Arr(np.array(1.0))))
    yield Case("F", "cosine_embedding_loss", (d.f((4, 5)), d.f((4, 5)), _signs(d, (4, 1))))
    yield Case("F", "cosine_embedding_loss", (d.f((4, 5)), d.f((4, 5)), _signs(d, ())))
    a, p, n = d.f((4, 5)), d.f((4, 5)), d.f((4, 5))
    yield Case("F", "triplet_margin_loss", (a, p, n), {"swap": True, "p": 1.0, "margin": 0.5})
    yield Case("F", "triplet_margin_loss", (a, p, n), {"margin": 0.0})
    yield Case("F", "triplet_margin_loss", (a, p, d.f((5,))))
    yield Case("F", "triplet_margin_loss", (d.f((5,)), d.f((5,)), d.f((5,))), {"eps": 0.1})
    for options in ({}, {"swap": True, "margin": 0.5, "reduction": "sum"}, {"reduction": "none"}):
        yield Case("F", "triplet_margin_with_distance_loss", (a, p, n), options)
    yield Case("F", "triplet_margin_with_distance_loss", (a, p, n), {"margin": 0.0})
    yield Case("F", "triplet_margin_with_distance_loss", (a, p, d.f((5,))))
    yield Case("F", "triplet_margin_with_distance_loss", (a, p, n), {"reduction": "avg"})


def likelihood_cases() -> Iterable[Case]:
    d = Draw(45)
    for reduction in REDUCTIONS:
        options = {"reduction": reduction}
        x, t = d.f((3, 4)), d.f((3, 4), grad=False)
        yield Case("F", "gaussian_nll_loss", (x, t, d.f((3, 4), low=0.1, high=2.0)), options)
        yield Case("F", "poisson_nll_loss", (x, Arr(d.rng.poisson(2.0, (3, 4)) * 1.0)), options)
        bits = Arr((d.rng.random((3, 4)) < 0.5) * 1.0)
        yield Case("F", "multilabel_soft_margin_loss", (x, bits), options)
    x, t = d.f((3, 4)), d.f((3, 4), grad=False)
    for var in (d.f((3, 1), low=0.1), d.f((3,), low=0.1), 0.5, d.f((1, 4), low=0.1), d.f((2, 4))):
        yield Case("F", "gaussian_nll_loss", (x, t, var))
    yield Case("F", "gaussian_nll_loss", (x, t, Arr(np.full((3, 4), 1e-9))), {"full": True})
    yield Case("F", "gaussian_nll_loss", (x, t, d.f((3, 4), low=-1.0, high=-0.1)))
    yield Case("F", "gaussian_nll_loss", (x, t, -1.0))
    yield Case("F", "gaussian_nll_loss", (x, t, d.f((3, 4), low=0.1)), {"eps": 0.5})
    yield Case(
        "F", "gaussian_nll_loss", (d.f((3, 4), "float32"), t, d.f((3, 4), "float32", low=0.1))
    )
    counts = Arr(d.rng.poisson(2.0, (3, 4)) * 1.0)
    positive = d.f((3, 4), low=0.1, high=3.0)
    yield Case("F", "poisson_nll_loss", (x, counts), {"full": True})
    yield Case("F", "poisson_nll_loss", (positive, counts), {"log_input": False})
    yield Case(
        "F", "poisson_nll_loss", (positive, counts), {"log_input": False, "full": True, "eps": 0.1}
    )
    yield Case("F", "poisson_nll_loss", (d.f((3, 4), "float32"), Arr(np.ones((3, 4), np.float32))))
    bits = Arr((d.rng.random((3, 4)) < 0.5) * 1.0)
    yield Case("F", "multilabel_soft_margin_loss", (x, bits), {"weight": d.f((4,), grad=False)})
    yield Case("F", "multilabel_soft_margin_loss", (d.f((4,)), Arr(np.array([1.0, 0.0, 0.0, 1.0]))))
    yield Case(
        "F",
        "multilabel_soft_margin_loss",
        (d.f((2, 3, 4), "float32"), Arr(np.ones((2, 3, 4), np.float32))),
    )


def multi_margin_cases() -> Iterable[Case]:
    d = Draw(46)
    x, y = d.f((4, 5)), Arr(np.array([0, 4, 2, 2]))
    for reduction in REDUCTIONS:
        yield Case("F", "multi_margin_loss", (x, y), {"reduction": reduction})
        yield Case(
            "F", "multi_margin_loss", (x, y), {"p": 2, "margin": 0.5, "reduction": reduction}
        )
    weight = d.f((5,), low=0.5, grad=False)
    yield Case("F", "multi_margin_loss", (x, y), {"weight": weight})
    yield Case("F", "multi_margin_loss", (x, y), {"weight": d.f((4,), grad=False)})
    yield Case("F", "multi_margin_loss", (x, y), {"p": 3})
    yield Case("F", "multi_margin_loss", (x, Arr(np.array([0, 5, 1, 1]))))  # out of range
    yield Case("F", "multi_margin_loss", (x, Arr(np.array([0, 1, 1]))))
    yield Case("F", "multi_margin_loss", (d.f((5,)), Arr(np.array(3))), {"reduction": "none"})
    yield Case("F", "multi_margin_loss", (d.f((5,)), Arr(np.array([3]))), {"reduction": "none"})
    yield Case("F", "multi_margin_loss", (d.f((4, 5), "float32"), y), {"margin": 2.0})
    yield Case("F", "multi_margin_loss", (d.f((2, 3, 4)), y))


CASES = all_cases(
    (activation_cases, None),
    (norm_cases, None),
    (layer_cases, None),
    (pair_loss_cases, None),
    (likelihood_cases, None),
    (multi_margin_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
