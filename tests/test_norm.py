"""Batch and layer normalisation without PyTorch: one node per call, running statistics,
modes, buffers and state dicts, and the errors that name the layer and the shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F
from gradviz.autograd.errors import ArgumentError, GradvizError, InputError, ShapeError


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_each_normalisation_is_one_node():
    x = Variable(normal(4, 3, 2), requires_grad=True)
    y = nn.BatchNorm1d(3)(x)
    assert y.op == "BatchNorm"
    assert {p.op for p in y.parents} == {None}
    z = nn.LayerNorm(2)(x)
    assert z.op == "LayerNorm"
    assert {p.op for p in z.parents} == {None}


def test_training_normalises_with_batch_statistics_and_moves_running_stats():
    layer = nn.BatchNorm2d(2, momentum=0.25)
    x = normal(8, 2, 3, 3) * 3 + 1
    y = layer(Variable(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    axes = (0, 2, 3)
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.25 * x.mean(axis=axes), rtol=1e-5)
    expected_var = 0.75 + 0.25 * x.var(axis=axes, ddof=1)
    np.testing.assert_allclose(layer.running_var.numpy(), expected_var, rtol=1e-5)
    assert layer.num_batches_tracked.item() == 1
    assert layer.running_mean._version == 2  # the reset, then one write per training step


def test_momentum_none_is_the_cumulative_average():
    layer = nn.BatchNorm1d(3, momentum=None)
    batches = [normal(5, 3, seed=s) + s for s in range(3)]
    for batch in batches:
        layer(Variable(batch))
    means = [b.mean(axis=0) for b in batches]
    np.testing.assert_allclose(layer.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-5)
    assert layer.num_batches_tracked.item() == 3


def test_evaluation_uses_running_stats_and_leaves_them():
    layer = nn.BatchNorm1d(3)
    layer(Variable(normal(6, 3)))
    layer.eval()
    mean, var = layer.running_mean.numpy().copy(), layer.running_var.numpy().copy()
    x = normal(1, 3, seed=1)  # a batch of one is fine outside training
    y = layer(Variable(x)).numpy()
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5)
    np.testing.assert_array_equal(layer.running_mean.numpy(), mean)
    assert layer.num_batches_tracked.item() == 1


def test_without_running_stats_evaluation_uses_the_batch():
    layer = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert layer.running_mean is None
    assert layer.num_batches_tracked is None
    y = layer(Variable(normal(6, 3))).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-6)


def test_buffers_are_in_the_state_dict_not_in_parameters():
    layer = nn.BatchNorm2d(4)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    keys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(layer.state_dict()) == keys
    layer(Variable(normal(2, 4, 3, 3)))
    other = nn.BatchNorm2d(4)
    other.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(other.running_var.numpy(), layer.running_var.numpy())
    assert other.num_batches_tracked.item() == 1


def test_default_dtype_and_float32_outputs():
    layer, norm = nn.BatchNorm1d(3), nn.LayerNorm(3)
    assert layer.weight.dtype == np.float32
    assert layer.running_mean.dtype == np.float32
    assert layer.num_batches_tracked.dtype == np.int64
    x = Variable(normal(4, 3).astype(np.float32), requires_grad=True)
    assert layer(x).dtype == np.float32
    out = norm(x)
    out.sum().backward()
    assert out.dtype == np.float32
    assert x.grad.dtype == np.float32


def test_layer_norm_parameters():
    layer = nn.LayerNorm([2, 3])
    assert layer.normalized_shape == (2, 3)
    assert layer.weight.shape == (2, 3)
    assert layer.bias.shape == (2, 3)
    assert nn.LayerNorm(3, bias=False).bias is None
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: nn.BatchNorm1d(3)(Variable(normal(1, 3))),
            ArgumentError,
            ["BatchNorm1d(3", "Expected more than 1 value per channel when training", "(1, 3)"],
        ),
        (
            lambda: nn.BatchNorm2d(3)(Variable(normal(1, 3, 1, 1))),
            ArgumentError,
            ["Expected more than 1 value per channel when training"],
        ),
        (
            lambda: nn.BatchNorm2d(3)(Variable(normal(2, 4, 2, 2))),
            InputError,
            ["BatchNorm2d(3", "running_mean should contain 4 elements not 3", "(2, 4, 2, 2)"],
        ),
        (
            lambda: nn.BatchNorm1d(3)(Variable(normal(2, 3, 2, 2))),
            ShapeError,
            ["BatchNorm1d(3", "expected 2D or 3D input (got 4D input", "(2, 3, 2, 2)"],
        ),
        (
            lambda: nn.BatchNorm2d(3)(Variable(normal(2, 3, 2))),
            ShapeError,
            ["expected 4D input (got 3D input"],
        ),
        (
            lambda: F.batch_norm(Variable(normal(2, 3)), None, None),
            InputError,
            ["batch_norm", "running_mean must be defined in evaluation mode"],
        ),
        (
            lambda: F.batch_norm(
                Variable(normal(2, 3)), None, None, Variable(np.ones(4)), None, True
            ),
            InputError,
            ["batch_norm", "weight should contain 3 elements not 4"],
        ),
        (
            lambda: F.batch_norm(Variable(normal(3)), None, None, training=True),
            ShapeError,
            ["batch_norm", "at least 2 dims", "(3,)"],
        ),
        (
            lambda: nn.LayerNorm(3)(Variable(normal(2, 4))),
            InputError,
            ["LayerNorm((3,)", "Given normalized_shape=[3]", "[*, 3]", "size[2, 4]"],
        ),
        (
            lambda: F.layer_norm(Variable(normal(2, 3)), (3,), Variable(np.ones(4))),
            InputError,
            ["layer_norm", "weight of shape [4] and normalized_shape = [3]"],
        ),
        (
            lambda: F.layer_norm(Variable(normal(2, 3)), "3"),
            ArgumentError,
            ["layer_norm", "normalized_shape"],
        ),
    ],
)
def test_bad_arguments_name_the_layer_and_shapes(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, GradvizError)
    for word in words:
        assert word in str(info.value)


def test_errors_are_what_pytorch_raises():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(2)(Variable(normal(1, 2)))
    with pytest.raises(RuntimeError, match="running_mean should contain"):
        nn.BatchNorm1d(2)(Variable(normal(3, 5)))
    with pytest.raises(RuntimeError, match="Given normalized_shape"):
        F.layer_norm(Variable(normal(2, 3)), 4)


def test_gradcheck_through_the_layers():
    gradviz.set_default_dtype(np.float64)
    try:
        bn, ln = nn.BatchNorm2d(2), nn.LayerNorm((2, 3))
    finally:
        gradviz.set_default_dtype(np.float32)
    x = Variable(normal(3, 2, 2, 3), requires_grad=True)
    assert gradviz.gradcheck(lambda x: ln(bn(x)) * Variable(normal(3, 2, 2, 3, seed=1)), [x])


def test_an_empty_batch_in_training_is_an_empty_output_and_leaves_the_statistics():
    bn = nn.BatchNorm1d(3)
    bn.running_mean.numpy()[:] = 1.0
    x = gradviz.randn(0, 3, requires_grad=True)
    out = bn(x)
    out.sum().backward()
    assert out.shape == (0, 3)
    assert x.grad.shape == (0, 3)
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert int(bn.num_batches_tracked.numpy()) == 1  # counted, as in PyTorch
    np.testing.assert_array_equal(bn.weight.grad, np.zeros(3))
    assert nn.BatchNorm2d(3)(gradviz.randn(0, 3, 4, 4)).shape == (0, 3, 4, 4)


def test_layer_norm_over_no_element_is_empty_without_warnings():
    x = gradviz.randn(2, 0, requires_grad=True)
    norm = nn.LayerNorm(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's divide-by-zero warnings were printed
        out = norm(x)
        out.sum().backward()
    assert out.shape == (2, 0)
    assert x.grad.shape == (2, 0)
