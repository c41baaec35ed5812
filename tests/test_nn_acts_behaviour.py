"""What the new activations, norms, layers and losses do that needs no PyTorch to check:
RReLU's random slopes, initialisation, numerical edges and the errors bad arguments raise
(each a ``GradvizError`` naming the layer and the shapes)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError

F = gradviz.nn.functional
X = np.random.default_rng(52).normal(size=(4, 5))


def test_rrelu_in_training_draws_one_slope_per_negative_element_within_the_bounds():
    gradviz.manual_seed(0)
    x = gradviz.tensor(np.full((100, 50), -2.0), requires_grad=True)
    out = gradviz.nn.RReLU(0.1, 0.3)(x)
    slopes = out.numpy() / -2.0
    assert slopes.min() >= 0.1
    assert slopes.max() <= 0.3
    assert len(np.unique(slopes)) > 1000  # one draw per element
    assert 0.19 < slopes.mean() < 0.21
    out.sum().backward()
    np.testing.assert_allclose(x.grad, slopes)  # the gradient is the slope drawn
    positive = gradviz.tensor(np.arange(1.0, 5.0))
    np.testing.assert_array_equal(gradviz.nn.RReLU()(positive).numpy(), positive.numpy())


def test_rrelu_draws_are_reproducible_with_manual_seed():
    x = gradviz.tensor(-np.ones(20))
    draws = []
    for _ in range(2):
        gradviz.manual_seed(3)
        draws.append(gradviz.nn.functional.rrelu(x, training=True).numpy())
    np.testing.assert_array_equal(*draws)


def test_prelu_starts_at_init_and_learns_one_slope_per_channel():
    prelu = gradviz.nn.PReLU(3, init=0.1)
    np.testing.assert_array_equal(prelu.weight.numpy(), np.full(3, 0.1, np.float32))
    x = gradviz.tensor(-np.ones((2, 3, 4), np.float32))
    prelu(x).sum().backward()
    np.testing.assert_array_equal(prelu.weight.grad, np.full(3, -8.0, np.float32))
    with pytest.raises(GradvizError, match=r"PReLU\(num_parameters=3\): .*channel size = 5"):
        prelu(gradviz.tensor(np.ones((2, 5))))


def test_bilinear_is_initialised_uniform_within_one_over_sqrt_in1_features():
    layer = gradviz.nn.Bilinear(16, 3, 200)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.numpy()).max() <= 0.25
        assert np.abs(p.numpy()).max() > 0.2
    assert layer.weight.shape == (200, 16, 3)
    with pytest.raises(GradvizError, match="in1_features must be > 0"):
        gradviz.nn.Bilinear(0, 3, 2)
    with pytest.raises(GradvizError, match=r"Bilinear\(in1_features=16, .*input2 \(4, 2\)"):
        layer(gradviz.tensor(np.ones((4, 16))), gradviz.tensor(np.ones((4, 2))))


def test_logsigmoid_is_finite_for_large_inputs():
    x = gradviz.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]), requires_grad=True)
    out = gradviz.nn.LogSigmoid()(x)
    np.testing.assert_allclose(out.numpy(), [-1000.0, -50.0, -np.log(2), -np.exp(-50.0), 0.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0, 0.5, np.exp(-50.0), 0.0], atol=1e-300)


def test_rms_norm_eps_none_is_the_input_dtypes_machine_epsilon():
    x = np.zeros((2, 4))  # the root mean square is 0: only eps is left under the root
    for dtype in (np.float32, np.float64):
        out = gradviz.nn.functional.rms_norm(gradviz.tensor(x.astype(dtype) + 1), (4,))
        np.testing.assert_allclose(out.numpy(), 1 / np.sqrt(1 + np.finfo(dtype).eps))
        assert out.dtype == dtype


def test_instance_norm_checks_num_features_as_torch():
    x = gradviz.tensor(np.ones((2, 4, 5)))
    with pytest.warns(UserWarning, match="does not match num_features"):
        gradviz.nn.InstanceNorm1d(3)(x)
    with pytest.raises(ValueError, match="to match num_features"):
        gradviz.nn.InstanceNorm1d(3, affine=True)(x)
    with pytest.raises(GradvizError, match="2D or 3D"):
        gradviz.nn.InstanceNorm1d(4)(gradviz.tensor(np.ones((1, 4, 2, 2))))


def test_loss_options_are_checked_at_construction_as_torch():
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        gradviz.nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        gradviz.nn.MultiMarginLoss(p=3)
    with pytest.raises(GradvizError, match="size_average and reduce are not supported"):
        gradviz.nn.SoftMarginLoss(size_average=True)
    with pytest.raises(GradvizError, match="reduction must be"):
        gradviz.nn.functional.soft_margin_loss(X, np.ones((4, 5)), reduction="avg")


def test_layer_errors_name_the_layer_and_the_shapes():
    with pytest.raises(GradvizError, match=r"RMSNorm\(\(5,\).*\[\*, 5\].*\[4, 3\]"):
        gradviz.nn.RMSNorm(5)(gradviz.tensor(np.ones((4, 3))))
    with pytest.raises(GradvizError, match=r"InstanceNorm2d\(3, .*1 spatial element"):
        gradviz.nn.InstanceNorm2d(3)(gradviz.tensor(np.ones((2, 3, 1, 1))))


@pytest.mark.parametrize(
    "call",
    [
        lambda: F.rms_norm(gradviz.tensor(X), (5,), eps=-1.0),
        lambda: F.soft_margin_loss(gradviz.tensor(X), X, reduction=np.ones(2)),
        lambda: F.triplet_margin_loss(gradviz.tensor(X), X, X, margin="a"),
        lambda: gradviz.nn.TripletMarginLoss(margin="a"),
        lambda: F.bilinear(gradviz.tensor(np.ones(3)), gradviz.tensor(1.0), np.ones((2, 3, 3))),
        lambda: F.celu(gradviz.tensor(X), "a"),
        lambda: F.multi_margin_loss(gradviz.tensor(X), np.array([0, 1, 5, 2])),
        lambda: F.gaussian_nll_loss(gradviz.tensor(X), X, np.ones((4, 2))),
        lambda: F.local_response_norm(gradviz.tensor(X), 2),
        lambda: gradviz.nn.PReLU("a"),
    ],
)
def test_bad_arguments_raise_a_gradviz_error(call):
    with pytest.raises(GradvizError):
        call()


@pytest.mark.parametrize(
    ("name", "args"),
    [("SELU", ()), ("Hardswish", ()), ("ReLU6", ()), ("Threshold", (0.1, 0.0)), ("CELU", (0.5,))],
)
def test_inplace_activations_write_into_their_input_and_keep_its_gradient(name, args):
    layer = getattr(gradviz.nn, name)
    x = gradviz.tensor(X, requires_grad=True)
    with pytest.raises(GradvizError, match="leaf Variable that requires grad"):
        layer(*args, inplace=True)(x)
    h = x * 1.0
    out = layer(*args, inplace=True)(h)
    assert out is h
    out.sum().backward()
    plain = gradviz.tensor(X, requires_grad=True)
    layer(*args)(plain).sum().backward()
    np.testing.assert_allclose(x.grad, plain.grad)
