"""The new activations, norms, bilinear layer, distance and losses of ``nn`` against PyTorch's
modules built with the same arguments (``repr``, ``state_dict``, train/eval, outputs,
gradients and running statistics: ``test_differential_nn``'s checks), and the behaviour that
has no twin to compare with (RReLU's random slopes, initialisation, errors)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import test_differential_nn as module_checks  # noqa: E402
from test_differential import Arr, Draw  # noqa: E402
from test_differential_nn import Row, _build  # noqa: E402

import gradviz  # noqa: E402
from gradviz import GradvizError  # noqa: E402

d = Draw(51)
X = d.f((4, 5), "float32")
X2 = d.f((4, 5), "float32")
IMG = d.f((2, 3, 6, 5), "float32")
SEQ = d.f((2, 3, 5), "float32")
SIGNS = Arr(np.array([1.0, -1.0, -1.0, 1.0], np.float32), grad=False)
TARGET = Arr(d.rng.uniform(-1, 1, (4, 5)).astype(np.float32), grad=False)
COUNTS = Arr(d.rng.poisson(2.0, (4, 5)).astype(np.float32), grad=False)
BITS = Arr((d.rng.random((4, 5)) < 0.5).astype(np.float32), grad=False)
VAR = Arr(d.rng.uniform(0.1, 2.0, (4, 5)).astype(np.float32))
CLASSES = Arr(np.array([0, 4, 2, 1]))

ROWS = [
    *(
        Row(name, inputs=(X,))
        for name in ("SELU", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Tanhshrink")
    ),
    Row("PReLU", inputs=(X,)),
    Row("PReLU", (5,), inputs=(X,)),
    Row("PReLU", (3, 0.1), inputs=(IMG,)),
    Row("CELU", (0.5,), inputs=(X,)),
    Row("Softmin", (1,), inputs=(X,)),
    Row("Threshold", (0.1, 20.0), inputs=(X,)),
    Row("Hardshrink", inputs=(X,)),
    Row("Softshrink", (0.3,), inputs=(X,)),
    Row("RMSNorm", (5,), inputs=(X,)),
    Row("RMSNorm", ((3, 5),), {"eps": 1e-3, "elementwise_affine": False}, inputs=(SEQ,)),
    Row("InstanceNorm1d", (3,), inputs=(SEQ,)),
    Row("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, inputs=(SEQ,)),
    Row("InstanceNorm1d", (3,), {"track_running_stats": True}, inputs=(d.f((3, 5), "float32"),)),
    Row("InstanceNorm2d", (3,), inputs=(IMG,)),
    Row("InstanceNorm2d", (3, 1e-3, None, True, True), inputs=(IMG,)),
    Row("InstanceNorm2d", (3,), {"affine": True, "bias": False}, inputs=(IMG,)),
    Row("LocalResponseNorm", (2,), inputs=(IMG,)),
    Row("LocalResponseNorm", (3, 0.1, 0.5, 2.0), inputs=(SEQ,)),
    Row("Bilinear", (5, 4, 3), inputs=(X, d.f((4, 4), "float32"))),
    Row("Bilinear", (5, 5, 2, False), inputs=(X, X2)),
    Row("PairwiseDistance", inputs=(X, X2)),
    Row("PairwiseDistance", (1.0, 1e-3, True), inputs=(X, X2)),
]
for _reduction in ("mean", "sum", "none"):
    _r = {"reduction": _reduction}
    ROWS += [
        Row("MarginRankingLoss", (0.2,), _r, inputs=(X, X2, Arr(np.ones((4, 5), np.float32)))),
        Row("CosineEmbeddingLoss", (0.1,), _r, inputs=(X, X2, SIGNS)),
        Row("TripletMarginLoss", (), _r, inputs=(X, X2, d.f((4, 5), "float32"))),
        Row("HingeEmbeddingLoss", (0.5,), _r, inputs=(X, Arr(np.sign(TARGET.value), grad=False))),
        Row("GaussianNLLLoss", (), _r, inputs=(X, TARGET, VAR)),
        Row("PoissonNLLLoss", (), _r, inputs=(X, COUNTS)),
        Row("SoftMarginLoss", (), _r, inputs=(X, Arr(np.sign(TARGET.value), grad=False))),
        Row("MultiLabelSoftMarginLoss", (), _r, inputs=(X, BITS)),
        Row("MultiMarginLoss", (), _r, inputs=(X, CLASSES)),
    ]
ROWS += [
    Row("TripletMarginLoss", (0.5, 1.0, 1e-6, True), inputs=(X, X2, d.f((4, 5), "float32"))),
    Row("GaussianNLLLoss", (), {"full": True, "eps": 0.5}, inputs=(X, TARGET, VAR)),
    Row("PoissonNLLLoss", (False, True), inputs=(Arr(np.abs(X.value) + 0.1), COUNTS)),
    Row("MultiLabelSoftMarginLoss", (), {"weight": "W"}, inputs=(X, BITS)),
    Row("MultiMarginLoss", (2, 0.5), {"weight": "W"}, inputs=(X, CLASSES)),
]

DOUBLE = [r for r in ROWS if r.name in {"PReLU", "RMSNorm", "InstanceNorm1d", "Bilinear"}]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_module_matches_torch(row: Row) -> None:
    module_checks.test_module_matches_torch(row)


@pytest.mark.parametrize("row", DOUBLE, ids=lambda r: r.id)
def test_module_in_float64_matches_torch(row: Row) -> None:
    module_checks.test_module_in_float64_matches_torch(row)


def test_rrelu_in_eval_is_leaky_relu_with_the_mean_slope_as_torch():
    ours, theirs = _build(Row("RReLU", (0.1, 0.3)))
    ours.eval()
    theirs.eval()
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(ours(gradviz.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    np.testing.assert_allclose(ours(gradviz.tensor(x)).numpy(), np.where(x > 0, x, 0.2 * x))


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
        gradviz.nn.functional.soft_margin_loss(X.value, np.ones((4, 5)), reduction="avg")


def test_layer_errors_name_the_layer_and_the_shapes():
    with pytest.raises(GradvizError, match=r"RMSNorm\(\(5,\).*\[\*, 5\].*\[4, 3\]"):
        gradviz.nn.RMSNorm(5)(gradviz.tensor(np.ones((4, 3))))
    with pytest.raises(GradvizError, match=r"InstanceNorm2d\(3, .*1 spatial element"):
        gradviz.nn.InstanceNorm2d(3)(gradviz.tensor(np.ones((2, 3, 1, 1))))
