"""The new activations, norms, bilinear layer, distance and losses of ``nn`` against PyTorch's
modules built with the same arguments (``repr``, ``state_dict``, train/eval, outputs,
gradients and running statistics: ``test_differential_nn``'s checks), and RReLU in evaluation
(its training draws: ``test_nn_acts_behaviour.py``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import test_differential_nn as module_checks  # noqa: E402
from test_differential import Arr, Draw  # noqa: E402
from test_differential_nn import Row, _build  # noqa: E402

import gradviz  # noqa: E402

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
