"""Differential test against PyTorch: the 3-d layers (convolution, transposed convolution,
pooling, batch and instance norm) and interpolate's bicubic and nearest-exact modes (values,
dtypes, gradients and refusals), as functions and as ``nn`` modules.

The harnesses are test_differential.py's (``run_case``) and test_differential_nn.py's (a
module built with PyTorch's parameters copied in: repr, state_dict, outputs, gradients).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable

import numpy as np
import pytest
import test_differential_nn as modules
import torch
from test_differential import Case, Draw, all_cases, by_op, run_all  # skips without torch
from test_differential_nn import Row

import gradviz


def conv3d_cases() -> Iterable[Case]:
    d = Draw(71)
    x, w, b = d.f((2, 4, 5, 4, 6)), d.f((6, 4, 3, 2, 3)), d.f((6,))
    yield Case("F", "conv3d", (x, w))
    yield Case("F", "conv3d", (x, w, b))
    for options in (
        {"stride": 2},
        {"stride": (1, 2, 3), "padding": (1, 0, 2)},
        {"dilation": (2, 1, 1), "padding": 1},
        {"padding": "same"},
        {"padding": "same", "dilation": 2},
        {"padding": "valid"},
        {"padding": "same", "stride": 2},  # refused: "same" only with stride 1
        {"padding": "full"},
        {"stride": 0},
        {"padding": (1, 1)},  # two ints for three dims
        {"dilation": 3},  # the kernel's span over the input: refused
    ):
        yield Case("F", "conv3d", (x, w, b), options)
    grouped = d.f((6, 2, 2, 2, 2))
    yield Case("F", "conv3d", (x, grouped, b), {"groups": 2})
    yield Case("F", "conv3d", (x, grouped), {"groups": 3})  # 4 channels in 3 groups
    yield Case("F", "conv3d", (d.f((4, 5, 4, 6)), w))  # one sample
    yield Case("F", "conv3d", (d.f((2, 4, 5, 4, 6), "float32"), d.f((6, 4, 3, 2, 3), "float32")))
    yield Case("F", "conv3d", (d.f((2, 3, 5, 4, 6)), w))  # 3 channels for 4
    yield Case("F", "conv3d", (d.f((2, 4, 4, 6)), w))  # a 4-d input is one sample of 2 channels
    yield Case("F", "conv3d", (d.f((2, 4, 2, 4, 6)), w))  # the kernel deeper than the input
    yield Case("F", "conv3d", (x, d.f((6, 4, 3, 3))))  # a 2-d weight
    yield Case("F", "conv3d", (x, w, d.f((4,))))  # a bias for 4 channels, not 6
    yield Case("F", "conv3d", (d.f((0, 4, 5, 4, 6)), w, b))  # an empty batch


def conv_transpose3d_cases() -> Iterable[Case]:
    d = Draw(72)
    x, w, b = d.f((2, 4, 3, 4, 2)), d.f((4, 3, 2, 3, 2)), d.f((3,))
    yield Case("F", "conv_transpose3d", (x, w))
    yield Case("F", "conv_transpose3d", (x, w, b))
    for options in (
        {"stride": 2},
        {"stride": (2, 1, 3), "padding": 1, "output_padding": (1, 0, 2)},
        {"dilation": (1, 2, 2), "padding": (0, 1, 1)},
        {"dilation": 2, "output_padding": 1},  # output padding under the dilation
        {"output_padding": 1},  # not under stride nor dilation: refused
        {"stride": 0},
        {"padding": -1},
        {"padding": 4},  # an empty output: refused
    ):
        yield Case("F", "conv_transpose3d", (x, w, b), options)
    grouped = d.f((4, 2, 2, 2, 2))
    yield Case("F", "conv_transpose3d", (x, grouped, d.f((4,))), {"groups": 2, "stride": 2})
    yield Case("F", "conv_transpose3d", (d.f((4, 3, 4, 2)), w))  # one sample
    yield Case(
        "F", "conv_transpose3d", (d.f((2, 4, 3, 4, 2), "float32"), d.f((4, 3, 2, 3, 2), "float32"))
    )
    yield Case("F", "conv_transpose3d", (d.f((2, 3, 3, 4, 2)), w))  # 3 channels for 4
    yield Case("F", "conv_transpose3d", (d.f((4, 3, 4)), w))  # a 3-d input


def pool3d_cases() -> Iterable[Case]:
    d = Draw(73)
    vol = d.f((2, 3, 5, 6, 7))
    for options in (
        {},
        {"stride": 1},
        {"stride": 2, "padding": 1},
        {"stride": (1, 2, 3), "padding": (1, 0, 1)},
        {"stride": 2, "ceil_mode": True},
        {"stride": 2, "padding": 1, "ceil_mode": True},
        {"padding": 2},  # over half the kernel: refused
        {"stride": 0},
    ):
        yield Case("F", "max_pool3d", (vol, 3), options)
        yield Case("F", "avg_pool3d", (vol, 3), options)
    yield Case("F", "max_pool3d", (vol, 2), {"dilation": (2, 1, 2)})
    yield Case("F", "max_pool3d", (vol, (2, 3, 2)), {"return_indices": True})
    yield Case("F", "max_pool3d", (vol, 3, 2, 1), {"ceil_mode": True, "return_indices": True})
    yield Case("F", "max_pool3d", (d.f((3, 5, 6, 7), "float32"), 2))  # one sample
    yield Case("F", "max_pool3d", (vol, 6))  # the kernel deeper than the input: refused
    yield Case("F", "max_pool3d", (d.f((2, 3, 4)), 2))  # a 3-d input: refused
    yield Case("F", "max_pool3d", (d.f((0, 3, 5, 6, 7)), 2))
    yield Case("F", "avg_pool3d", (vol, 3, 2, 1), {"count_include_pad": False})
    yield Case("F", "avg_pool3d", (vol, 3, 2, 1, True, False))  # by position
    yield Case("F", "avg_pool3d", (vol, 2), {"divisor_override": 3})
    yield Case("F", "avg_pool3d", (vol, 2), {"divisor_override": 0})
    yield Case("F", "avg_pool3d", (d.f((3, 4, 4, 4), "float32"), (2, 1, 2)))
    yield Case("F", "avg_pool3d", (d.f((2, 3, 4)), 2))  # a 3-d input: refused
    for size in (1, 2, (2, 3, 4), (None, 2, None), (5, 6, 7), (7, 8, 9)):
        yield Case("F", "adaptive_avg_pool3d", (vol, size))
        yield Case("F", "adaptive_max_pool3d", (vol, size))
    yield Case("F", "adaptive_max_pool3d", (vol, (3, 2, 4)), {"return_indices": True})
    yield Case("F", "adaptive_avg_pool3d", (d.f((3, 5, 4, 6), "float32"), 2))
    yield Case("F", "adaptive_max_pool3d", (d.f((3, 5, 4, 6), "float32"), 2, True))
    yield Case("F", "adaptive_avg_pool3d", (d.f((3, 5, 4)), 2))  # a 3-d input: refused
    yield Case("F", "adaptive_max_pool3d", (vol, (2, 3)))  # two sizes for three dims


def interpolate_cases() -> Iterable[Case]:
    d = Draw(74)
    img = d.f((2, 3, 4, 5))
    for align in (None, False, True):
        for scale in (
            {"scale_factor": 2},
            {"scale_factor": 0.7},
            {"scale_factor": (1.5, 2.5)},
            {"size": 6},
            {"size": (3, 9)},
            {"size": 1},
            {"size": (4, 5)},
        ):
            yield Case(
                "F", "interpolate", (img,), {"mode": "bicubic", "align_corners": align, **scale}
            )
    yield Case(
        "F",
        "interpolate",
        (img,),
        {"mode": "bicubic", "scale_factor": 2.3, "recompute_scale_factor": True},
    )
    yield Case(
        "F",
        "interpolate",
        (d.f((2, 3, 4, 5), "float32"),),
        {"mode": "bicubic", "scale_factor": 1.5},
    )
    seq, vol = d.f((2, 3, 5)), d.f((1, 2, 3, 4, 5))
    for x in (seq, img, vol):
        rank = len(x.value.shape) - 2
        for options in (
            {"scale_factor": 2},
            {"scale_factor": 1.5},
            {"scale_factor": 0.6},
            {"scale_factor": 3.3},
            {"scale_factor": 1.7, "recompute_scale_factor": True},
            {"size": 3},
            {"size": 7},
            {"size": (6,) * rank},
        ):
            yield Case("F", "interpolate", (x,), {"mode": "nearest-exact", **options})
    yield Case(
        "F",
        "interpolate",
        (d.f((2, 3, 4, 5), "float32"),),
        {"mode": "nearest-exact", "size": (7, 3)},
    )
    yield Case("F", "interpolate", (vol,), {"mode": "area", "size": (2, 3, 2)})
    # refused: bicubic of another rank or of integers, align_corners with nearest-exact
    yield Case("F", "interpolate", (seq,), {"mode": "bicubic", "scale_factor": 2})
    yield Case("F", "interpolate", (vol,), {"mode": "bicubic", "scale_factor": 2})
    yield Case("F", "interpolate", (d.i((2, 3, 4, 4)),), {"mode": "bicubic", "scale_factor": 2})
    yield Case(
        "F",
        "interpolate",
        (img,),
        {"mode": "nearest-exact", "scale_factor": 2, "align_corners": True},
    )
    yield Case("F", "interpolate", (img,), {"mode": "nearest-exact", "size": (2, 3, 4)})


CASES = all_cases(
    (conv3d_cases, None),
    (conv_transpose3d_cases, None),
    (pool3d_cases, None),
    (interpolate_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])


d = Draw(75)
VOL = d.f((2, 4, 5, 4, 6), "float32")
ROWS = [
    Row("Conv3d", (4, 6, 3), inputs=(VOL,)),
    Row("Conv3d", (4, 6, (3, 2, 1)), {"stride": 2, "padding": 1, "bias": False}, inputs=(VOL,)),
    Row(
        "Conv3d", (4, 6, 3), {"padding": "same", "groups": 2, "dilation": (1, 2, 1)}, inputs=(VOL,)
    ),
    *(
        Row("Conv3d", (4, 2, 3), {"padding": 1, "padding_mode": mode}, inputs=(VOL,))
        for mode in ("reflect", "replicate", "circular")
    ),
    Row("ConvTranspose3d", (4, 3, 3), inputs=(VOL,)),
    Row(
        "ConvTranspose3d",
        (4, 6, 2),
        {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
        inputs=(VOL,),
    ),
    Row("MaxPool3d", (2,), inputs=(VOL,)),
    Row("MaxPool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, inputs=(VOL,)),
    Row("MaxPool3d", (2,), {"return_indices": True}, inputs=(VOL,)),
    Row("AvgPool3d", (2,), inputs=(VOL,)),
    Row("AvgPool3d", (3,), {"stride": 1, "padding": 1, "count_include_pad": False}, inputs=(VOL,)),
    Row("AvgPool3d", (2,), {"divisor_override": 3}, inputs=(VOL,)),
    Row("AdaptiveAvgPool3d", ((2, None, 3),), inputs=(VOL,)),
    Row("AdaptiveMaxPool3d", (2,), inputs=(VOL,)),
    Row("AdaptiveMaxPool3d", ((3, 2, 4), True), inputs=(VOL,)),
    Row("BatchNorm3d", (4,), inputs=(VOL,)),
    Row("BatchNorm3d", (4,), {"affine": False, "momentum": None}, inputs=(VOL,)),
    Row("InstanceNorm3d", (4,), inputs=(VOL,)),
    Row("InstanceNorm3d", (4,), {"affine": True, "track_running_stats": True}, inputs=(VOL,)),
    Row("InstanceNorm3d", (4,), inputs=(d.f((4, 5, 4, 6), "float32"),)),  # one sample
    Row(
        "Upsample",
        (),
        {"scale_factor": 2, "mode": "bicubic"},
        inputs=(d.f((2, 3, 4, 5), "float32"),),
    ),
    Row(
        "Upsample",
        (),
        {"size": (3, 7), "mode": "bicubic", "align_corners": True},
        inputs=(d.f((2, 3, 4, 5), "float32"),),
    ),
    Row("Upsample", (), {"scale_factor": 1.5, "mode": "nearest-exact"}, inputs=(VOL,)),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_module_matches_torch(row: Row) -> None:
    modules.test_module_matches_torch(row)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "wrong"),
    [
        ("Conv3d", (4, 6, 3), {}, (2, 3, 5, 4, 6)),  # 3 channels for 4
        ("Conv3d", (4, 6, 3), {}, (2, 4, 2, 4, 6)),  # the kernel deeper than the input
        ("ConvTranspose3d", (4, 6, 3), {}, (2, 3, 5, 4, 6)),
        ("MaxPool3d", (3,), {}, (2, 4, 2, 6, 6)),
        ("AvgPool3d", (2,), {}, (2, 4)),
        ("BatchNorm3d", (4,), {}, (2, 4, 5, 6)),  # a 4-d input to a 3-d layer
        ("BatchNorm3d", (4,), {}, (2, 3, 5, 4, 6)),
        ("InstanceNorm3d", (4,), {"affine": True}, (2, 4, 5)),
    ],
)
def test_refusals_are_gradviz_errors_naming_the_layer_and_the_shape(name, args, kwargs, wrong):
    """Where PyTorch's module raises, gradviz's raises a GradvizError of the same builtin
    class, naming the layer and the shape it was given."""
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises((TypeError, ValueError, RuntimeError)) as caught:
        theirs(torch.zeros(wrong))
    builtin = next(c for c in (TypeError, ValueError, RuntimeError) if isinstance(caught.value, c))
    ours = getattr(gradviz.nn, name)(*args, **kwargs)
    with pytest.raises(gradviz.GradvizError) as raised:
        ours(gradviz.zeros(*wrong))
    assert isinstance(raised.value, builtin)
    message = str(raised.value)
    assert message.startswith(f"{name}("), message  # the layer, as its repr
    shape = ", ".join(map(str, wrong))
    assert shape in message.replace("[", "(").replace("]", ")"), message


@pytest.mark.parametrize(
    ("name", "args"),
    [("Conv3d", (4, 6, (3, 2, 2))), ("ConvTranspose3d", (4, 6, (3, 2, 2))), ("Conv3d", (6, 4, 3))],
)
def test_init_draws_from_pytorchs_bounds(name, args):
    """kaiming_uniform_(a=sqrt(5)) weights and a bias in ±1/sqrt(fan_in), as PyTorch's: both
    libraries' parameters lie within the same bound, the weights reaching near it."""
    gradviz.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = getattr(gradviz.nn, name)(*args), getattr(torch.nn, name)(*args)
    for key, value in theirs.state_dict().items():
        mine = ours.state_dict()[key].numpy()
        assert mine.shape == tuple(value.shape)
        assert mine.dtype == np.float32
        fan_in = math.prod(theirs.weight.shape[1:])
        bound = 1 / math.sqrt(fan_in)
        for array in (mine, value.numpy()):
            assert np.abs(array).max() <= bound
            assert key == "bias" or np.abs(array).max() > 0.8 * bound


@pytest.mark.parametrize(
    ("name", "shapes", "options"),
    [
        ("conv3d", ((3, 4, 5, 4, 6), (6, 2, 3, 2, 3), (6,)), {"stride": (1, 2, 1), "groups": 2}),
        ("conv_transpose3d", ((3, 4, 3, 2, 3), (4, 3, 2, 3, 2), (3,)), {"stride": 2, "padding": 1}),
    ],
)
def test_in_chunks_of_one_sample_as_torch(monkeypatch, name, shapes, options):
    """A batch run in chunks of one sample (one column buffer reused from chunk to chunk)
    gives PyTorch's values and gradients."""
    monkeypatch.setattr(importlib.import_module("gradviz.autograd.ops.conv"), "_CHUNK_BYTES", 1)
    d = Draw(76)
    run_all([Case("F", name, tuple(d.f(shape) for shape in shapes), options)])


@pytest.mark.parametrize(
    ("mode", "align_corners"), [("bicubic", False), ("bicubic", True), ("bilinear", False)]
)
def test_float16_interpolates_in_float32_as_torch(mode, align_corners):
    """PyTorch weighs and sums float16 in float32 and rounds once: the results agree to an ulp
    (weights in float16 were 15 ulps off)."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float16)
    options = {"scale_factor": 1.5, "mode": mode, "align_corners": align_corners}
    theirs = torch.nn.functional.interpolate(torch.tensor(x), **options)
    ours = gradviz.functional.interpolate(gradviz.tensor(x), **options)
    assert ours.dtype == np.float16
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3, atol=1e-3)
