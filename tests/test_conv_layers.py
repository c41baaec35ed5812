"""Convolution and pooling layers: PyTorch's signatures, parameters and init, one graph node
per call, and errors that name the layer and the shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F
from gradviz.autograd.errors import ArgumentError, GradvizError, ShapeError


def test_conv2d_parameters_have_pytorch_names_shapes_and_init_bounds():
    gradviz.manual_seed(0)
    layer = nn.Conv2d(8, 16, 3, padding=1, groups=2)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (16, 4, 3, 3)
    assert layer.bias.shape == (16,)
    bound = 1 / math.sqrt(4 * 9)  # kaiming_uniform_(a=sqrt(5)) and the bias bound agree
    for p in (layer.weight, layer.bias):
        assert np.abs(p.numpy()).max() <= bound
        assert np.abs(p.numpy()).max() > 0.8 * bound
    assert layer.weight.dtype == gradviz.get_default_dtype()
    assert (layer.stride, layer.padding, layer.dilation) == ((1, 1), (1, 1), (1, 1))


def test_conv1d_without_bias_and_string_padding():
    layer = nn.Conv1d(4, 6, 5, bias=False, padding="same")
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (6, 4, 5)
    assert layer(Variable(np.ones((2, 4, 11), np.float32))).shape == (2, 6, 11)
    assert repr(layer) == "Conv1d(4, 6, kernel_size=(5,), stride=(1,), padding=same, bias=False)"


def test_each_call_is_one_node_in_the_graph():
    x = Variable(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32))
    x.requires_grad_()
    for layer, op in [
        (nn.Conv2d(3, 4, 3), "Conv2d"),
        (nn.MaxPool2d(2), "MaxPool2d"),
        (nn.AvgPool2d(3, 1, 1), "AvgPool2d"),
        (nn.AdaptiveAvgPool2d((3, 5)), "AdaptiveAvgPool2d"),
        (nn.SiLU(), "Silu"),
        (nn.ELU(), "Elu"),
        (nn.Softplus(), "Softplus"),
        (nn.Mish(), "Mish"),
    ]:
        out = layer(x)
        assert out.op == op
        assert out.parents[0] is x
    assert F.pad(x, (1, 1)).op == "ConstantPadNd"


def test_each_3d_layer_is_one_node_in_the_graph():
    x = Variable(np.random.default_rng(0).standard_normal((2, 3, 4, 6, 6)).astype(np.float32))
    x.requires_grad_()
    for layer, op in [
        (nn.Conv3d(3, 4, 3, padding=1), "Conv3d"),
        (nn.ConvTranspose3d(3, 4, 2, stride=2), "ConvTranspose3d"),
        (nn.MaxPool3d(2), "MaxPool3d"),
        (nn.AvgPool3d(3, 1, 1), "AvgPool3d"),
        (nn.AdaptiveAvgPool3d((2, 3, 5)), "AdaptiveAvgPool3d"),
        (nn.AdaptiveMaxPool3d(2), "AdaptiveMaxPool3d"),
        (nn.Upsample(scale_factor=2, mode="nearest-exact"), "UpsampleNearestExact3d"),
    ]:
        out = layer(x)
        assert out.op == op
        assert out.parents[0] is x
    out = nn.Upsample(size=(5, 7), mode="bicubic")(x[:, :, 0])
    assert (out.op, out.shape) == ("UpsampleBicubic2d", (2, 3, 5, 7))


def test_pool_output_shapes_and_default_stride():
    x = Variable(np.zeros((2, 3, 9, 7)))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 3)
    assert nn.MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 5, 4)
    assert nn.AvgPool2d((2, 3))(x).shape == (2, 3, 4, 2)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (2, 3, 9, 2)
    assert nn.MaxPool2d(2)(Variable(np.zeros((3, 4, 4)))).shape == (3, 2, 2)  # unbatched


def test_wrong_channel_count_names_the_layer_and_the_shapes():
    layer = nn.Conv2d(8, 16, 3, padding=1)
    with pytest.raises(ShapeError) as info:
        layer(Variable(np.zeros((2, 3, 14, 14), np.float32)))
    message = str(info.value)
    assert message.startswith("Conv2d(8, 16, kernel_size=(3, 3)")
    for part in ("[16, 8, 3, 3]", "[2, 3, 14, 14]", "8 channels", "(N, 8, ...)"):
        assert part in message


def test_kernel_larger_than_the_padded_input_is_an_error():
    layer = nn.Conv2d(2, 4, 5, padding=1)
    with pytest.raises(ShapeError, match=r"Conv2d\(2, 4.*padded input size per channel: \(4, 4\)"):
        layer(Variable(np.zeros((1, 2, 2, 2))))
    with pytest.raises(ShapeError, match="Kernel size: \\(5,\\)"):
        F.conv1d(Variable(np.zeros((1, 2, 3))), Variable(np.zeros((4, 2, 5))), padding=0)


def test_groups_must_divide_the_channels():
    with pytest.raises(ArgumentError, match=r"Conv2d: in_channels \(6\) .* groups \(4\)"):
        nn.Conv2d(6, 8, 3, groups=4)
    with pytest.raises(ShapeError, match=r"conv2d: out_channels 6 \(weight \(6, 2, 3, 3\)\)"):
        F.conv2d(Variable(np.zeros((1, 8, 5, 5))), Variable(np.zeros((6, 2, 3, 3))), groups=4)


def test_other_bad_arguments():
    x, w = Variable(np.zeros((1, 2, 5, 5))), Variable(np.zeros((3, 2, 3, 3)))
    with pytest.raises(ArgumentError, match="not supported for strided"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ArgumentError, match="Invalid padding string"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ShapeError, match=r"expected a 4-d input \(N, C, H, W\)"):
        F.conv2d(Variable(np.zeros((5, 5))), w)
    with pytest.raises(ShapeError, match=r"expected bias of shape \(3,\)"):
        F.conv2d(x, w, Variable(np.zeros(2)))
    with pytest.raises(ArgumentError, match="stride must be >= 1"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ArgumentError, match="at most half of effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ShapeError, match=r"max_pool2d: Given input size .* too small"):
        F.max_pool2d(Variable(np.zeros((1, 1, 2, 2))), 3)
    with pytest.raises(ArgumentError, match="pad: Padding length"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(GradvizError):
        F.adaptive_avg_pool2d(Variable(np.zeros((4, 4))), 2)


def test_max_pool_gives_the_gradient_to_the_first_maximum():
    x = Variable(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_accumulate_their_gradients():
    x = Variable(
        np.array([[[[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True
    )
    F.max_pool2d(x, 2, stride=1).sum().backward()
    assert x.grad[0, 0, 1, 1] == 4


def test_kl_div_takes_a_list_target_and_counts_zero_probabilities_as_zero():
    log_p = Variable(np.log(np.array([[0.5, 0.25, 0.25]])), requires_grad=True)
    loss = F.kl_div(log_p, [[1.0, 0.0, 0.0]], reduction="batchmean")
    np.testing.assert_allclose(loss.numpy(), -np.log(0.5))
    loss.backward()
    np.testing.assert_allclose(log_p.grad, [[-1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("layer", "shape", "out_shape"),
    [
        (lambda: nn.Conv2d(3, 1, 3), (0, 3, 5, 5), (0, 1, 3, 3)),
        (lambda: nn.Conv1d(3, 2, 3), (0, 3, 5), (0, 2, 3)),
        (lambda: nn.MaxPool2d(2), (0, 1, 4, 4), (0, 1, 2, 2)),
        (lambda: nn.AvgPool2d(2), (0, 1, 4, 4), (0, 1, 2, 2)),
    ],
)
def test_an_empty_batch_gives_empty_outputs_and_gradients_as_pytorch(layer, shape, out_shape):
    module = layer()
    x = gradviz.randn(*shape, requires_grad=True)
    out = module(x)
    assert out.shape == out_shape
    out.sum().backward()
    assert x.grad.shape == shape
    for p in module.parameters():
        np.testing.assert_array_equal(p.grad, np.zeros_like(p.numpy()))


@pytest.mark.parametrize(
    "make", [lambda: nn.Conv2d(2, 2, 2.5), lambda: nn.MaxPool2d(2.5)(gradviz.randn(1, 1, 4, 4))]
)
def test_a_fractional_kernel_size_names_the_argument(make):
    with pytest.raises(ArgumentError, match=r"kernel_size must be an int or 2 ints, got 2\.5"):
        make()
