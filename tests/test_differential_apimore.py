"""Differential test against PyTorch: bags of embeddings, max unpooling, power-average
pooling, channel shuffle and the CTC loss (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def embedding_bag_cases() -> Iterable[Case]:
    d = Draw(71)
    w = d.f((6, 3))
    flat, offsets = Arr(np.array([0, 2, 1, 5, 5, 4, 0])), Arr(np.array([0, 2, 2, 5]))
    for mode in ("sum", "mean", "max"):
        yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": mode})
        yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": mode, "padding_idx": 5})
        yield Case(
            "F", "embedding_bag", (Arr(np.array([[0, 3], [5, 5], [1, 1]])), w), {"mode": mode}
        )
    yield Case("F", "embedding_bag", (Arr(np.array([[0, 3], [5, 5]])), w), {"padding_idx": -1})
    weights = d.f((7,))
    yield Case(
        "F", "embedding_bag", (flat, w, offsets), {"mode": "sum", "per_sample_weights": weights}
    )
    yield Case(
        "F",
        "embedding_bag",
        (flat, w, Arr(np.array([0, 2, 7]))),
        {"mode": "sum", "include_last_offset": True},
    )
    yield Case("F", "embedding_bag", (flat, d.f((6, 3), "float32"), offsets))
    yield Case("F", "embedding_bag", (Arr(np.array([], dtype=np.int64)), w, Arr(np.array([0, 0]))))
    yield Case("F", "embedding_bag", (flat, w, Arr(np.array([0, 8]))))  # past the end
    yield Case("F", "embedding_bag", (flat, w, Arr(np.array([1, 3]))))  # not from 0
    yield Case("F", "embedding_bag", (flat, w, offsets), {"mode": "median"})
    yield Case("F", "embedding_bag", (flat, w))  # 1-d input without offsets
    yield Case("F", "embedding_bag", (Arr(np.array([[0, 3]])), w, offsets))  # 2-d with offsets
    yield Case("F", "embedding_bag", (Arr(np.array([0, 9])), w, Arr(np.array([0]))))
    yield Case("F", "embedding_bag", (Arr(np.array([0.0, 1.0])), w, Arr(np.array([0]))))
    yield Case("F", "embedding_bag", (flat, d.f((6,)), offsets))  # a 1-d weight
    yield Case(
        "F", "embedding_bag", (flat, w, offsets), {"mode": "mean", "per_sample_weights": weights}
    )
    yield Case("F", "embedding_bag", (flat, w, offsets), {"per_sample_weights": d.f((6,))})


def _pooled(d: Draw, shape: tuple[int, ...], kernel: int) -> tuple[Arr, Arr]:
    """A max pool's output and indices (by NumPy: the first maximum of each window of the
    last axis, or of each 2-d window), the arguments of an unpool."""
    x = d.rng.normal(size=shape)
    if len(shape) == 3:
        windows = x.reshape(*shape[:2], -1, kernel)
        where = windows.argmax(-1)
        places = where + np.arange(windows.shape[2]) * kernel
        return Arr(windows.max(-1)), Arr(places.astype(np.int64))
    h, w = shape[-2:]
    blocks = x.reshape(*shape[:-2], h // kernel, kernel, w // kernel, kernel).swapaxes(-2, -3)
    flat = blocks.reshape(*blocks.shape[:-2], -1)
    at = flat.argmax(-1)
    rows = np.arange(h // kernel)[:, None] * kernel + at // kernel
    cols = np.arange(w // kernel)[None, :] * kernel + at % kernel
    return Arr(flat.max(-1)), Arr((rows * w + cols).astype(np.int64))


def unpool_cases() -> Iterable[Case]:
    d = Draw(72)
    x, i = _pooled(d, (2, 3, 4, 6), 2)
    yield Case("F", "max_unpool2d", (x, i, 2))
    yield Case("F", "max_unpool2d", (x, i, 2), {"output_size": (5, 7)})
    yield Case("F", "max_unpool2d", (x, i, 2), {"output_size": (2, 3, 4, 7)})
    yield Case("F", "max_unpool2d", (x, i, 2), {"output_size": (8, 7)})  # beyond a stride
    yield Case("F", "max_unpool2d", (x, i, 2), {"output_size": (4,)})
    yield Case("F", "max_unpool2d", (x, i, (2, 2), (2, 2), 0))
    yield Case("F", "max_unpool2d", (x, i, 3), {"stride": 2, "padding": 1})
    yield Case("F", "max_unpool2d", (x, i, 1))  # indices past the 2x3 output: refused
    yield Case("F", "max_unpool2d", (x, Arr(np.zeros((2, 3, 2, 2), np.int64)), 2))
    one, places = _pooled(d, (1, 4, 6), 2)
    yield Case("F", "max_unpool2d", (Arr(one.value[0]), Arr(places.value[0]), 2))  # unbatched
    yield Case("F", "max_unpool2d", (d.f((2, 3, 2, 3), "float32"), i, 2))
    seq, at = _pooled(d, (2, 3, 8), 2)
    yield Case("F", "max_unpool1d", (seq, at, 2))
    yield Case("F", "max_unpool1d", (seq, at, 2), {"output_size": (9,)})
    yield Case("F", "max_unpool1d", (seq, at, 3, 2, 1))
    yield Case("F", "max_unpool1d", (Arr(seq.value[0]), Arr(at.value[0]), 2))
    yield Case("F", "max_unpool1d", (d.f((2, 3, 2, 4)), at, 2))  # 4-d: refused
    vol = d.f((2, 2, 2, 2, 3))
    deep = Arr(np.broadcast_to(np.arange(12).reshape(2, 2, 3) * 7 + 3, (2, 2, 2, 2, 3)).copy())
    yield Case("F", "max_unpool3d", (vol, deep, 2))
    yield Case("F", "max_unpool3d", (vol, deep, 2), {"output_size": (4, 5, 7)})
    yield Case("F", "max_unpool3d", (Arr(vol.value[0]), Arr(deep.value[0]), 2))  # unbatched
    yield Case("F", "max_unpool3d", (vol, deep, (2, 2, 2), 2, 1))  # index 80 past 2x2x4: refused
    yield Case("F", "max_unpool3d", (d.f((2, 3, 4)), deep, 2))  # 3-d: refused


def lp_pool_cases() -> Iterable[Case]:
    d = Draw(73)
    positive = d.f((2, 3, 6, 7), low=0.1, high=2.0)
    for options in ({}, {"stride": 1}, {"stride": 2, "ceil_mode": True}):
        yield Case("F", "lp_pool2d", (positive, 2, 3), options)
        yield Case("F", "lp_pool2d", (positive, 1.5, (2, 3)), options)
    yield Case("F", "lp_pool2d", (d.f((3, 4, 4), "float32", low=0.1), 3, 2))
    yield Case("F", "lp_pool2d", (positive, 2, 8))  # the kernel over the height
    seq = d.f((2, 3, 9), low=0.1, high=2.0)
    yield Case("F", "lp_pool1d", (seq, 2, 3))
    yield Case("F", "lp_pool1d", (seq, 1.0, 2, 1))
    yield Case("F", "lp_pool1d", (seq, 4.0, 4, 2, True))
    yield Case("F", "lp_pool1d", (d.f((3, 9), low=0.1), 2, 3))


def shuffle_cases() -> Iterable[Case]:
    d = Draw(74)
    for shape in ((2, 6, 3), (1, 6, 2, 2), (6, 2, 1, 1, 2)):
        yield Case("F", "channel_shuffle", (d.f(shape), 3))
    yield Case("F", "channel_shuffle", (d.f((2, 6, 3), "float32"), 2))
    yield Case("F", "channel_shuffle", (d.f((2, 5, 3)), 2))
    yield Case("F", "channel_shuffle", (d.f((2, 6)), 2))
    yield Case("F", "channel_shuffle", (d.f((2, 6, 3)), 0))
    yield Case("F", "channel_shuffle", (d.i((2, 6, 3)), 3))


def alpha_dropout_cases() -> Iterable[Case]:
    """The deterministic calls: evaluation, p=0, p=1 in training, and the refusals (the
    random ones are tested by their statistics in test_nn_apimore.py)."""
    d = Draw(75)
    x = d.f((4, 3, 2))
    for name in ("alpha_dropout", "feature_alpha_dropout"):
        yield Case("F", name, (x,))
        yield Case("F", name, (x, 0.3, False))
        yield Case("F", name, (x,), {"p": 0.0, "training": True})
        yield Case("F", name, (x,), {"p": 1.0, "training": True})
        yield Case("F", name, (x,), {"p": 1.5})
        yield Case("F", name, (d.f((4, 3), "float32"),), {"p": 1.0, "training": True})
    yield Case("F", "feature_alpha_dropout", (d.f((5,)),), {"p": 0.5, "training": True})


NOT_HERE = {
    "gumbel_softmax": "tests/test_gumbel_softmax.py (its values are a random draw: the formula "
    "on the same noise, and the Gumbel-max frequencies)",
    "ctc_loss": "compared through log_softmax in tests/test_ctc.py (PyTorch's gradient in "
    "log_probs adds exp(log_probs), which the log-softmax in front cancels)",
}

CASES = all_cases(
    (embedding_bag_cases, None),
    (unpool_cases, None),
    (lp_pool_cases, None),
    (shuffle_cases, None),
    (alpha_dropout_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
