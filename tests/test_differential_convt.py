"""Differential test against PyTorch: transposed convolutions, 1-d and adaptive pooling,
``interpolate`` and pixel (un)shuffle (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from test_differential import Case, Draw, all_cases, by_op, run_all  # skips without torch


def conv_transpose_cases() -> Iterable[Case]:
    d = Draw(61)
    x, w, b = d.f((2, 4, 3, 5)), d.f((4, 3, 3, 2)), d.f((3,))
    yield Case("F", "conv_transpose2d", (x, w))
    yield Case("F", "conv_transpose2d", (x, w, b))
    for options in (
        {"stride": 2},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": (2, 3), "output_padding": (1, 2)},
        {"dilation": 2, "padding": (1, 0)},
        {"dilation": 2, "output_padding": 1},  # output padding under the dilation
        {"padding": 2},
        {"output_padding": 1},  # not under stride nor dilation: refused
        {"stride": 0},
        {"padding": -1},
        {"padding": 5},  # an empty output: refused
    ):
        yield Case("F", "conv_transpose2d", (x, w, b), options)
    grouped = d.f((4, 2, 2, 3))
    yield Case("F", "conv_transpose2d", (x, grouped, d.f((4,))), {"groups": 2, "stride": 2})
    yield Case("F", "conv_transpose2d", (x, grouped), {"groups": 3})  # 4 channels in 3 groups
    yield Case("F", "conv_transpose2d", (d.f((4, 3, 5)), w))  # one sample
    yield Case(
        "F", "conv_transpose2d", (d.f((2, 4, 3, 5), "float32"), d.f((4, 3, 3, 2), "float32"))
    )
    yield Case("F", "conv_transpose2d", (d.f((2, 3, 3, 5)), w))  # 3 channels for 4
    yield Case("F", "conv_transpose2d", (x, w, d.f((4,))))  # a bias for 4 channels, not 3
    yield Case("F", "conv_transpose2d", (d.f((4, 3, 5, 1, 1)), w))
    yield Case("F", "conv_transpose2d", (d.f((0, 4, 3, 5)), w, b))  # an empty batch
    yield Case("F", "conv_transpose2d", (x, grouped), {"groups": 0})
    yield Case("F", "conv_transpose2d", (d.i((2, 4, 3, 5)), d.i((4, 3, 3, 2))))  # integers
    seq, kernel = d.f((2, 4, 6)), d.f((4, 2, 3))
    yield Case("F", "conv_transpose1d", (seq, kernel))
    yield Case("F", "conv_transpose1d", (seq, kernel, d.f((2,))), {"stride": 3, "padding": 1})
    yield Case("F", "conv_transpose1d", (seq, kernel), {"stride": 2, "output_padding": 1})
    yield Case("F", "conv_transpose1d", (seq, kernel, d.f((4,))), {"groups": 2, "dilation": 2})
    yield Case("F", "conv_transpose1d", (d.f((4, 6)), kernel))  # one sample
    yield Case("F", "conv_transpose1d", (seq, d.f((4, 2, 3, 3))))  # a 2-d weight


def pool_cases() -> Iterable[Case]:
    d = Draw(62)
    seq = d.f((2, 3, 9))
    for options in (
        {},
        {"stride": 1},
        {"stride": 2, "padding": 1},
        {"dilation": 2},
        {"stride": 2, "ceil_mode": True},
        {"padding": 2},  # over half the kernel: refused
    ):
        yield Case("F", "max_pool1d", (seq, 3), options)
        yield Case(
            "F", "avg_pool1d", (seq, 3), {k: v for k, v in options.items() if k != "dilation"}
        )
    yield Case("F", "max_pool1d", (seq, 2), {"return_indices": True})
    yield Case("F", "max_pool1d", (d.f((3, 9), "float32"), 4))  # one sample
    yield Case("F", "max_pool1d", (seq, 10))  # the kernel over the length: refused
    yield Case("F", "max_pool1d", (d.f((2, 3, 4, 4)), 2))
    yield Case("F", "max_pool1d", (seq, 0))
    yield Case("F", "max_pool1d", (d.f((0, 3, 9)), 2))
    yield Case("F", "avg_pool1d", (d.i((2, 3, 9)), 2))  # integers: the mean truncated
    yield Case("F", "adaptive_avg_pool1d", (d.i((2, 3, 9)), 2))  # integers: refused
    yield Case("F", "avg_pool1d", (seq, 4), {"padding": 2, "count_include_pad": False})
    yield Case("F", "avg_pool1d", (seq, 4, 3, 1, True, False))  # by position
    for size in (1, 3, 4, 9, 12, (2,), None):
        yield Case("F", "adaptive_avg_pool1d", (seq, size))
    yield Case("F", "adaptive_avg_pool1d", (d.f((3, 5), "float32"), 2))
    for size in (1, 3, 4, 9, 12, (2,), None):
        yield Case("F", "adaptive_max_pool1d", (seq, size))
    yield Case("F", "adaptive_max_pool1d", (seq, 4), {"return_indices": True})
    yield Case("F", "adaptive_max_pool1d", (d.f((3, 5), "float32"), 2, True))
    img = d.f((2, 3, 7, 5))
    for size in (1, 2, (3, 4), (None, 2), (7, 5), (9, 6)):
        yield Case("F", "adaptive_max_pool2d", (img, size))
    yield Case("F", "adaptive_max_pool2d", (img, (3, 2)), {"return_indices": True})
    yield Case("F", "adaptive_max_pool2d", (d.f((3, 6, 6), "float32"), 4))
    yield Case("F", "adaptive_max_pool2d", (d.f((3, 6)), 2))
    yield Case("F", "adaptive_max_pool2d", (d.f((0, 3, 7, 5)), 2))


def interpolate_cases() -> Iterable[Case]:
    d = Draw(63)
    seq, img, vol = d.f((2, 3, 5)), d.f((2, 3, 4, 5)), d.f((1, 2, 3, 2, 4))
    for x in (seq, img, vol):
        rank = len(x.value.shape) - 2
        for options in (
            {"scale_factor": 2},
            {"scale_factor": 1.5},
            {"scale_factor": 0.6},
            {"scale_factor": 1.7, "recompute_scale_factor": True},
            {"size": 3},
            {"size": 7},
            {"size": (6,) * rank},
        ):
            yield Case("F", "interpolate", (x,), options)
    for mode, x in (("linear", seq), ("bilinear", img), ("trilinear", vol)):
        for align in (None, False, True):
            for scale in ({"scale_factor": 2}, {"scale_factor": 0.7}, {"size": 6}, {"size": 1}):
                yield Case(
                    "F", "interpolate", (x,), {"mode": mode, "align_corners": align, **scale}
                )
        yield Case(
            "F",
            "interpolate",
            (x,),
            {"mode": mode, "scale_factor": 2.3, "recompute_scale_factor": True},
        )
    yield Case(
        "F",
        "interpolate",
        (d.f((2, 3, 4, 5), "float32"),),
        {"scale_factor": 1.5, "mode": "bilinear"},
    )
    yield Case("F", "interpolate", (d.f((2, 3, 4, 5), "float32"),), {"size": (7, 3)})
    yield Case("F", "interpolate", (img,), {"scale_factor": (2, 0.5), "mode": "bilinear"})
    yield Case("F", "interpolate", (img,), {"size": (2, 3), "mode": "area"})
    yield Case("F", "interpolate", (seq,), {"size": 3, "mode": "area"})
    # refused: both or neither size, a mode for another rank, align_corners for nearest ...
    yield Case("F", "interpolate", (img,), {"size": 4, "scale_factor": 2})
    yield Case("F", "interpolate", (img,))
    yield Case("F", "interpolate", (seq,), {"scale_factor": 2, "mode": "bilinear"})
    yield Case("F", "interpolate", (img,), {"scale_factor": 2, "mode": "linear"})
    yield Case("F", "interpolate", (img,), {"scale_factor": 2, "align_corners": True})
    yield Case("F", "interpolate", (img,), {"size": (2, 3, 4)})
    yield Case("F", "interpolate", (img,), {"scale_factor": 0.1})
    yield Case("F", "interpolate", (d.f((2, 3)),), {"scale_factor": 2})
    yield Case("F", "interpolate", (d.i((2, 3, 4, 4)),), {"scale_factor": 2, "mode": "bilinear"})
    yield Case("F", "interpolate", (d.f((0, 3, 4, 4)),), {"scale_factor": 2})
    yield Case("F", "interpolate", (img,), {"size": (2.5, 3)})
    yield Case("F", "interpolate", (img,), {"size": 4, "recompute_scale_factor": True})


def shuffle_cases() -> Iterable[Case]:
    d = Draw(64)
    x = d.f((2, 8, 3, 2))
    yield Case("F", "pixel_shuffle", (x, 2))
    yield Case("F", "pixel_shuffle", (x, 1))
    yield Case("F", "pixel_shuffle", (d.f((9, 2, 2), "float32"), 3))
    yield Case("F", "pixel_shuffle", (d.f((2, 1, 4, 3, 2)), 2))  # more batch dims
    yield Case("F", "pixel_shuffle", (x, 3))  # 8 channels are no multiple of 9
    yield Case("F", "pixel_shuffle", (d.f((4, 2)), 2))
    y = d.f((2, 2, 4, 6))
    yield Case("F", "pixel_unshuffle", (y, 2))
    yield Case("F", "pixel_unshuffle", (d.f((3, 6, 6), "float32"), 3))
    yield Case("F", "pixel_unshuffle", (y, 4))  # 6 is no multiple of 4
    yield Case("F", "pixel_unshuffle", (y, 0))


CASES = all_cases(
    (conv_transpose_cases, None),
    (pool_cases, None),
    (interpolate_cases, None),
    (shuffle_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
