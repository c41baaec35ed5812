"""The layers of autoencoders, U-Nets and 1-d CNNs: ``ConvTranspose1d/2d``, 1-d and adaptive
pools, ``Upsample`` and pixel (un)shuffle. Each module against PyTorch with copied parameters
(repr, ``state_dict``, outputs and gradients in train and eval mode), then what a user relies
on beyond PyTorch's numbers: one graph node per layer, errors naming the layer and the shapes,
PyTorch's initialisation bounds, and the per-op gradient check passing on every op."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import GradvizError
from gradviz.autograd.opcheck import check_call
from gradviz.autograd.ops import conv_transpose, pooling, resample

SEQ_SHAPE, IMG_SHAPE = (2, 4, 9), (2, 4, 6, 5)


# ------------------------------------------------------------------------- against PyTorch
def _rows():
    torch_nn = pytest.importorskip("test_differential_nn")
    row, draw = torch_nn.Row, torch_nn.Draw(71)
    seq, img = draw.f(SEQ_SHAPE, "float32"), draw.f(IMG_SHAPE, "float32")
    return [
        row("ConvTranspose2d", (4, 3, 3), inputs=(img,)),
        row("ConvTranspose2d", (4, 6, (3, 2), 2, 1, 1, 2, False), inputs=(img,)),  # by position
        row("ConvTranspose2d", (4, 2, 2), {"dilation": 2, "output_padding": 1}, inputs=(img,)),
        row("ConvTranspose1d", (4, 3, 3), inputs=(seq,)),
        row("ConvTranspose1d", (4, 2, 4), {"stride": 2, "padding": 1}, inputs=(seq,)),
        row("MaxPool1d", (3,), inputs=(seq,)),
        row("MaxPool1d", (2,), {"stride": 1, "padding": 1, "ceil_mode": True}, inputs=(seq,)),
        row("AvgPool1d", (3,), inputs=(seq,)),
        row("AvgPool1d", (4, 2, 2), {"count_include_pad": False}, inputs=(seq,)),
        row("AdaptiveAvgPool1d", (4,), inputs=(seq,)),
        row("AdaptiveMaxPool1d", (4,), inputs=(seq,)),
        row("AdaptiveMaxPool1d", (2, True), inputs=(seq,)),
        row("AdaptiveMaxPool2d", ((3, None),), inputs=(img,)),
        row("AdaptiveMaxPool2d", (2, True), inputs=(img,)),
        row("Upsample", (), {"scale_factor": 2}, inputs=(img,)),
        row("Upsample", ((4, 7),), {"mode": "bilinear", "align_corners": True}, inputs=(img,)),
        row("Upsample", (), {"scale_factor": (1.5, 2), "mode": "bilinear"}, inputs=(img,)),
        row("Upsample", (12,), {"mode": "linear"}, inputs=(seq,)),
        row("UpsamplingNearest2d", (), {"scale_factor": 3}, inputs=(img,)),
        row("UpsamplingBilinear2d", ((7, 3),), inputs=(img,)),
        row("PixelShuffle", (2,), inputs=(img,)),
        row("PixelUnshuffle", (3,), inputs=(draw.f((2, 1, 6, 9), "float32"),)),
    ]


def test_modules_match_torch():
    """Each row through ``test_differential_nn``'s check: repr, state_dict keys and shapes,
    outputs, input and parameter gradients, train/eval."""
    torch_nn = pytest.importorskip("test_differential_nn")
    for row in _rows():
        torch_nn.test_module_matches_torch(row)


@pytest.mark.parametrize("output_size", [(11, 9), [2, 3, 12, 10], (12, 10)])
def test_conv_transpose_output_size_picks_the_output_padding_as_torch(output_size):
    torch = pytest.importorskip("torch")
    ours, theirs = (
        nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
    )
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    out = ours(gradviz.tensor(x), output_size=output_size)
    expected = theirs(torch.from_numpy(x), output_size=output_size).detach().numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_conv_transpose_output_size_out_of_range_names_the_valid_sizes():
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    with pytest.raises(GradvizError, match=r"valid sizes range from \[11, 9\] to \[12, 10\]"):
        layer(gradviz.zeros(2, 3, 6, 5), output_size=(13, 9))


# -------------------------------------------------------------------- what users rely on
@pytest.mark.parametrize(
    ("layer", "shape", "op"),
    [
        (nn.ConvTranspose2d(4, 3, 3, stride=2), IMG_SHAPE, "ConvTranspose2d"),
        (nn.ConvTranspose1d(4, 3, 3), SEQ_SHAPE, "ConvTranspose1d"),
        (nn.MaxPool1d(2), SEQ_SHAPE, "MaxPool1d"),
        (nn.AvgPool1d(2), SEQ_SHAPE, "AvgPool1d"),
        (nn.AdaptiveAvgPool1d(3), SEQ_SHAPE, "AdaptiveAvgPool1d"),
        (nn.AdaptiveMaxPool2d(2), IMG_SHAPE, "AdaptiveMaxPool2d"),
        (nn.Upsample(scale_factor=2), IMG_SHAPE, "UpsampleNearest2d"),
        (nn.Upsample(scale_factor=2), SEQ_SHAPE, "UpsampleNearest1d"),
        (nn.Upsample(scale_factor=2, mode="bilinear"), IMG_SHAPE, "UpsampleBilinear2d"),
        (nn.PixelShuffle(2), IMG_SHAPE, "PixelShuffle"),
        (nn.PixelUnshuffle(1), IMG_SHAPE, "PixelUnshuffle"),
    ],
)
def test_each_layer_is_one_node_of_the_graph(layer, shape, op):
    """A graph shows one named node per layer, its parents the input and the parameters."""
    x = gradviz.randn(*shape, requires_grad=True)
    out = layer(x)
    assert out.op == op
    assert [p.id for p in out.parents] == [x.id] + [p.id for p in layer.parameters()]


def test_conv_transpose_init_is_pytorchs_uniform_bounds():
    """kaiming_uniform_(a=sqrt(5)) on the (in, out/groups, k, k) weight: fan_in is out/groups
    * k * k, so weights and bias lie within 1/sqrt(fan_in), as PyTorch's."""
    gradviz.manual_seed(0)
    layer = nn.ConvTranspose2d(8, 6, 3, groups=2)
    bound = 1 / math.sqrt(3 * 3 * 3)
    assert layer.weight.shape == (8, 3, 3, 3)
    for values in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.8 * bound


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: nn.ConvTranspose2d(4, 3, 3)(gradviz.zeros(2, 5, 6, 6)),
            r"ConvTranspose2d\(4, 3, kernel_size=\(3, 3\).*expected input\[2, 5, 6, 6\] to have "
            r"4 channels, but got 5",
        ),
        (
            lambda: nn.ConvTranspose1d(4, 3, 3)(gradviz.zeros(2, 4, 6, 6)),
            r"ConvTranspose1d\(4, 3.*\(N, C_in, L\) input .*got input of shape \(2, 4, 6, 6\)",
        ),
        (
            lambda: nn.ConvTranspose2d(4, 3, 3, output_padding=1),
            None,
        ),
        (
            lambda: nn.ConvTranspose2d(4, 3, 3, padding_mode="reflect"),
            r'Only "zeros" padding mode is supported for ConvTranspose2d',
        ),
        (
            lambda: nn.MaxPool1d(3)(gradviz.zeros(2, 3, 4, 4)),
            r"^MaxPool1d\(kernel_size=3, .*\): expected a 2-d \(C, L\) or 3-d \(N, C, L\) input, "
            r"got shape \(2, 3, 4, 4\)",
        ),
        (
            lambda: nn.Upsample(scale_factor=2, mode="bilinear")(gradviz.zeros(2, 3, 4)),
            r"Got 3D input, but bilinear mode needs 4D input",
        ),
        (
            lambda: nn.PixelShuffle(2)(gradviz.zeros(2, 6, 3, 3)),
            r"input.size\(-3\)=6 is not divisible by 4",
        ),
        (
            lambda: nn.AdaptiveMaxPool2d(2)(gradviz.zeros(2, 3)),
            r"^AdaptiveMaxPool2d\(output_size=2\): expected a 3-d \(C, H, W\) or 4-d",
        ),
    ],
)
def test_bad_input_raises_a_gradviz_error_naming_layer_and_shapes(call, message):
    if message is None:  # the output padding is checked at the first forward, as PyTorch's
        layer = call()
        with pytest.raises(GradvizError, match="output padding must be smaller than either"):
            layer(gradviz.zeros(1, 4, 3, 3))
        return
    with pytest.raises(GradvizError, match=message):
        call()


def test_return_indices_point_at_the_maxima():
    x = gradviz.tensor(np.random.default_rng(1).standard_normal((2, 3, 7, 5)))
    out, index = nn.AdaptiveMaxPool2d((3, 2), return_indices=True)(x)
    flat = x.numpy().reshape(2, 3, -1)
    picked = np.take_along_axis(flat, index.numpy().reshape(2, 3, -1), -1)
    np.testing.assert_array_equal(picked.reshape(out.shape), out.numpy())
    seq = gradviz.tensor(np.random.default_rng(2).standard_normal((2, 3, 8)))
    out, index = nn.MaxPool1d(3, 2, return_indices=True)(seq)
    np.testing.assert_array_equal(np.take_along_axis(seq.numpy(), index.numpy(), -1), out.numpy())


def test_adaptive_max_pool_gives_a_tie_to_the_first_maximum_and_nan_wins():
    """PyTorch's choices: of equal maxima the first in row-major order gets the gradient; a
    NaN counts as the maximum."""
    x = gradviz.tensor(np.array([[[1.0, 3.0], [3.0, 0.0]]]), requires_grad=True)
    gradviz.functional.adaptive_max_pool2d(x, 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[0.0, 1.0], [0.0, 0.0]]])
    y = gradviz.tensor(np.array([[[1.0, np.nan], [3.0, 0.0]]]))
    assert np.isnan(gradviz.functional.adaptive_max_pool2d(y, 1).item())


def _arrays(*shapes):
    rng = np.random.default_rng(3)
    return [rng.standard_normal(shape) for shape in shapes]


@pytest.mark.parametrize(
    ("op", "args"),
    [
        (
            conv_transpose.ConvTranspose2d,
            (*_arrays((2, 4, 3, 3), (4, 2, 3, 3), (4,)), (2, 2), (1, 1), (1, 1), 2, (1, 1)),
        ),
        (
            conv_transpose.ConvTranspose1d,
            (*_arrays((2, 4, 5), (4, 3, 3)), None, (2,), (0,), (1,), 1, (1,)),
        ),
        (pooling.AdaptiveMaxPool2d, (*_arrays((2, 3, 7, 5)), (3, 2))),
        (pooling.MaxPool1d, (*_arrays((2, 3, 8)), (3,), (2,), ((1, 1),), (1,))),
        (resample.UpsampleBilinear2d, (*_arrays((2, 3, 4, 5)), (7, 3), False, None)),
        (resample.UpsampleNearest2d, (*_arrays((2, 3, 4, 5)), (7, 3), None)),
        (resample.PixelShuffle, (*_arrays((2, 8, 3, 3)), 2)),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_the_per_op_gradient_check_passes(op, args):
    """``gradviz check``'s per-op check: backward against central differences."""
    needs = tuple(isinstance(a, np.ndarray) for a in args)
    assert check_call(op, args, needs, np.random.default_rng(4)).status == "passed"


@pytest.mark.parametrize(
    ("options", "feature"),
    [
        ({"mode": "bilinear", "antialias": True}, "antialias=True is not supported"),
        ({"mode": "lanczos"}, "mode 'lanczos' is not supported"),
    ],
)
def test_interpolate_names_what_it_does_not_support(options, feature):
    with pytest.raises(GradvizError, match=feature):
        gradviz.functional.interpolate(gradviz.zeros(1, 2, 4, 4), scale_factor=2, **options)
