"""Differential test against PyTorch: ``nn`` modules built with the same arguments.

Each row builds a gradviz module and its PyTorch twin (defaults and a few non-defaults), copies
PyTorch's parameters and buffers into gradviz's, and compares what a user sees: ``repr``,
``state_dict()`` keys and shapes, ``training`` through ``train()``/``eval()``, the outputs in
both modes, the gradient of the input and of every parameter, and the buffers a forward updates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from test_differential import Arr, Draw, Lib, compare_outputs  # skips without torch

import gradviz
from gradviz import functional as GF

F = torch.nn.functional


@dataclass(frozen=True)
class Row:
    """A module: its class name, constructor arguments and the inputs of a forward."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[Any, ...] = ()

    @property
    def id(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(options)})"


d = Draw(31)
X = d.f((4, 5), "float32")  # (batch, features)
PROB = Arr(d.rng.uniform(0.05, 0.95, (4, 5)).astype(np.float32), grad=False)
CLASSES = Arr(np.array([0, 4, 2, 1]))
IMG = d.f((2, 3, 6, 5), "float32")
SEQ = d.f((3, 2, 5), "float32")  # (time, batch, features)

ROWS = [
    Row("Identity", inputs=(X,)),
    Row("Linear", (5, 3), inputs=(X,)),
    Row("Linear", (5, 3), {"bias": False}, inputs=(d.f((2, 4, 5), "float32"),)),
    Row("Flatten", inputs=(IMG,)),
    Row("Flatten", (0, 2), inputs=(IMG,)),
    Row("Unflatten", (1, (5, 1)), inputs=(X,)),
    *(Row(name, inputs=(X,)) for name in ("ReLU", "ReLU6", "Sigmoid", "Tanh", "SiLU", "Mish")),
    Row("GELU", inputs=(X,)),
    Row("GELU", (), {"approximate": "tanh"}, inputs=(X,)),
    Row("ELU", (), {"alpha": 0.5}, inputs=(X,)),
    Row("LeakyReLU", (0.2,), inputs=(X,)),
    Row("Hardtanh", (-0.5, 0.5), inputs=(X,)),
    Row("Softplus", (), {"beta": 2.0, "threshold": 1.0}, inputs=(X,)),
    Row("Softmax", (1,), inputs=(X,)),
    Row("LogSoftmax", (0,), inputs=(X,)),
    Row("Dropout", inputs=(X,)),
    Row("Dropout", (0.0,), inputs=(X,)),
    Row("Dropout1d", (0.3,), inputs=(d.f((2, 3, 5), "float32"),)),
    Row("Dropout2d", (0.3,), inputs=(IMG,)),
    Row("Dropout3d", (0.3,), inputs=(d.f((2, 3, 2, 2, 2), "float32"),)),
    Row("LayerNorm", (5,), inputs=(X,)),
    Row("LayerNorm", ((3, 5),), {"elementwise_affine": False}, inputs=(d.f((2, 3, 5), "float32"),)),
    Row("BatchNorm1d", (5,), inputs=(X,)),
    Row("BatchNorm1d", (5,), {"affine": False, "momentum": 0.3}, inputs=(X,)),
    Row("BatchNorm2d", (3,), inputs=(IMG,)),
    Row("GroupNorm", (3, 6), inputs=(d.f((2, 6, 4), "float32"),)),
    Row("GroupNorm", (1, 3), {"affine": False, "eps": 1e-3}, inputs=(IMG,)),
    Row("BatchNorm2d", (3,), {"track_running_stats": False}, inputs=(IMG,)),
    Row("Conv1d", (3, 4, 3), inputs=(d.f((2, 3, 7), "float32"),)),
    Row(
        "Conv1d",
        (3, 4, 3),
        {"stride": 2, "padding": 1, "bias": False},
        inputs=(d.f((2, 3, 7), "float32"),),
    ),
    Row("Conv2d", (3, 4, 3), inputs=(IMG,)),
    Row("Conv2d", (3, 6, (3, 1)), {"padding": "same", "groups": 3}, inputs=(IMG,)),
    Row("MaxPool2d", (2,), inputs=(IMG,)),
    Row("MaxPool2d", (3,), {"stride": 1, "padding": 1}, inputs=(IMG,)),
    Row("AvgPool2d", (2,), inputs=(IMG,)),
    Row("AvgPool2d", (3,), {"padding": 1, "count_include_pad": False}, inputs=(IMG,)),
    Row("AdaptiveAvgPool2d", ((2, 3),), inputs=(IMG,)),
    Row("Embedding", (6, 3), inputs=(Arr(np.array([[0, 5], [2, 2]])),)),
    Row("Embedding", (6, 3), {"padding_idx": 2}, inputs=(Arr(np.array([[0, 5], [2, 2]])),)),
    Row("CosineSimilarity", inputs=(X, d.f((4, 5), "float32"))),
    Row("CosineSimilarity", (0,), inputs=(X, d.f((4, 5), "float32"))),
    Row("RNNCell", (5, 4), inputs=(X,)),
    Row("LSTMCell", (5, 4), inputs=(X,)),
    Row("GRUCell", (5, 4), {"bias": False}, inputs=(X,)),
    Row("RNN", (5, 4), inputs=(SEQ,)),
    Row("RNN", (5, 4, 2), {"nonlinearity": "relu", "batch_first": True}, inputs=(SEQ,)),
    Row("LSTM", (5, 4), inputs=(SEQ,)),
    Row("LSTM", (5, 4, 2), {"bidirectional": True}, inputs=(SEQ,)),
    Row("GRU", (5, 4), inputs=(SEQ,)),
    Row("LSTM", (5, 4, 1, False, False, 0.0, True), inputs=(SEQ,)),  # by position
    Row("BatchNorm1d", (5, 1e-3, 0.2, False), inputs=(X,)),
    Row("LayerNorm", (5, 1e-3, True, False), inputs=(X,)),
    Row("Conv2d", (3, 4, 3, 2, 1, 1, 1, False), inputs=(IMG,)),
    Row("Embedding", (6, 3, 1), inputs=(Arr(np.array([[0, 1], [2, 1]])),)),
    Row("Dropout", (0.5, False), inputs=(X,)),
    Row("MultiheadAttention", (6, 2), inputs=(d.f((3, 2, 6), "float32"),) * 3),
    Row(
        "MultiheadAttention",
        (6, 3),
        {"batch_first": True, "bias": False},
        inputs=(d.f((2, 3, 6), "float32"),) * 3,
    ),
]
for _reduction in ("mean", "sum", "none"):
    ROWS += [
        Row("MSELoss", (), {"reduction": _reduction}, inputs=(X, PROB)),
        Row("L1Loss", (), {"reduction": _reduction}, inputs=(X, PROB)),
        Row("SmoothL1Loss", (), {"reduction": _reduction, "beta": 0.5}, inputs=(X, PROB)),
        Row("HuberLoss", (), {"reduction": _reduction, "delta": 0.5}, inputs=(X, PROB)),
        Row("BCELoss", (), {"reduction": _reduction}, inputs=(Arr(PROB.value), PROB)),
        Row("BCEWithLogitsLoss", (), {"reduction": _reduction}, inputs=(X, PROB)),
        Row("CrossEntropyLoss", (), {"reduction": _reduction}, inputs=(X, CLASSES)),
        Row("NLLLoss", (), {"reduction": _reduction}, inputs=(X, CLASSES)),
        Row("KLDivLoss", (), {"reduction": _reduction}, inputs=(X, PROB)),
    ]
WEIGHT = np.linspace(0.5, 2.0, 5).astype(np.float32)
ROWS += [
    Row("CrossEntropyLoss", (), {"ignore_index": 2}, inputs=(X, CLASSES)),
    Row("CrossEntropyLoss", (), {"label_smoothing": 0.1}, inputs=(X, CLASSES)),
    Row("CrossEntropyLoss", (), {"weight": "W", "reduction": "sum"}, inputs=(X, CLASSES)),
    Row("NLLLoss", (), {"weight": "W"}, inputs=(X, CLASSES)),
    Row("BCELoss", (), {"weight": "W"}, inputs=(Arr(PROB.value), PROB)),
    Row("BCEWithLogitsLoss", (), {"pos_weight": "W"}, inputs=(X, PROB)),
    Row("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, inputs=(X, X)),
]


def _build(row: Row) -> tuple[Any, Any]:
    """The gradviz module and its PyTorch twin, with PyTorch's parameters and buffers copied
    into gradviz's."""
    torch.manual_seed(0)
    weights = {k: WEIGHT for k, v in row.kwargs.items() if v == "W"}  # (a class weight)
    kwargs = {**row.kwargs, **{k: torch.from_numpy(v) for k, v in weights.items()}}
    theirs = getattr(torch.nn, row.name)(*row.args, **kwargs)
    kwargs = {**row.kwargs, **{k: gradviz.tensor(v) for k, v in weights.items()}}
    ours = getattr(gradviz.nn, row.name)(*row.args, **kwargs)
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return ours, theirs


def _forward(row: Row, ours: Any, theirs: Any) -> tuple[Any, Any, Lib, Lib]:
    """Both modules' outputs; gradviz warns only where PyTorch warns (KLDivLoss's 'mean')."""
    g, t = Lib(gradviz, GF), Lib(torch, F)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out_t = theirs(*(t.convert(x) for x in row.inputs))
        warned = len(caught)
        out_g = ours(*(g.convert(x) for x in row.inputs))
    assert len(caught) == 2 * warned, [str(w.message) for w in caught]
    return out_g, out_t, g, t


def _shapes(state: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def _grad_check(ours: Any, theirs: Any, out_g: Any, out_t: Any, g: Lib, t: Lib) -> None:
    """The same weighted sum of the outputs backward: input and parameter gradients agree."""
    from test_differential import _flat, _weighted_loss

    pairs = [
        (x, y)
        for x, y in zip(_flat(out_g), _flat(out_t), strict=True)
        if isinstance(y, torch.Tensor) and y.requires_grad
    ]
    weights = [np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(np.float32) for _, y in pairs]
    _weighted_loss([y for _, y in pairs], weights, torch.from_numpy).backward()
    _weighted_loss([x for x, _ in pairs], weights, gradviz.tensor).backward()
    for i, (x, y) in enumerate(zip(g.leaves, t.leaves, strict=True)):
        if y is not None and y.grad is not None:
            np.testing.assert_allclose(x.grad, y.grad.numpy(), 2e-4, 2e-5, err_msg=f"input {i}")
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        if p.grad is not None:
            assert mine[name].grad is not None, f"{name}: no gradient"
            np.testing.assert_allclose(mine[name].grad, p.grad.numpy(), 2e-4, 2e-5, err_msg=name)


#: PyTorch's name of MultiheadAttention's output projection, a Linear subclass that only
#: marks it for quantization; gradviz's is a Linear
REPR_DIFFERENCES = {"NonDynamicallyQuantizableLinear": "Linear"}


def _torch_repr(module: Any) -> str:
    text = repr(module)
    for theirs, ours in REPR_DIFFERENCES.items():
        text = text.replace(theirs, ours)
    reduction = getattr(module, "reduction", "mean")
    if reduction != "mean":  # gradviz's losses name a reduction that is not the default
        text = text.replace("()", f"(reduction={reduction!r})")  # (PyTorch's show no option)
    return text


#: modules whose training-mode output is random: compared in eval mode only
RANDOM_IN_TRAINING = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d"}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_module_matches_torch(row: Row) -> None:
    ours, theirs = _build(row)
    assert repr(ours) == _torch_repr(theirs)
    assert _shapes(ours.state_dict()) == _shapes(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.training is theirs.training is True
    random = row.name in RANDOM_IN_TRAINING and row.args != (0.0,)
    if not random:
        out_g, out_t, g, t = _forward(row, ours, theirs)
        compare_outputs(out_g, out_t)
        _grad_check(ours, theirs, out_g, out_t, g, t)
        for name, value in theirs.state_dict().items():  # running statistics
            np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), 1e-5, 1e-6)
    ours.eval()
    theirs.eval()
    assert ours.training is theirs.training is False
    assert all(not m.training for m in ours.modules())
    out_g, out_t, _, _ = _forward(row, ours, theirs)
    compare_outputs(out_g, out_t)
    ours.train()
    assert all(m.training for m in ours.modules())


def test_dropout_in_training_zeroes_and_scales_as_torch():
    """Dropout's training output is random: the kept elements are scaled by 1 / (1 - p)."""
    x = np.ones((200, 50), np.float32)
    out = gradviz.nn.Dropout(0.25)(gradviz.tensor(x)).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (out == 0).mean() < 0.3


def test_containers_match_torch():
    """Sequential, ModuleList and ModuleDict: repr, state_dict keys and indexing."""
    layers = [("Linear", (3, 4)), ("ReLU", ()), ("Linear", (4, 2))]
    ours = gradviz.nn.Sequential(*(getattr(gradviz.nn, n)(*a) for n, a in layers))
    theirs = torch.nn.Sequential(*(getattr(torch.nn, n)(*a) for n, a in layers))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours[1:]) == repr(theirs[1:])
    listed = [gradviz.nn.ModuleList(list(ours)), torch.nn.ModuleList(list(theirs))]
    assert repr(listed[0]) == repr(listed[1])
    named = [
        gradviz.nn.ModuleDict({"a": gradviz.nn.Tanh()}),
        torch.nn.ModuleDict({"a": torch.nn.Tanh()}),
    ]
    assert repr(named[0]) == repr(named[1])


DOUBLE = [
    r
    for r in ROWS
    if r.name
    in {
        "Linear",
        "Conv2d",
        "LayerNorm",
        "BatchNorm1d",
        "LSTM",
        "GRUCell",
        "Embedding",
        "MultiheadAttention",
    }
]


@pytest.mark.parametrize("row", DOUBLE, ids=lambda r: r.id)
def test_module_in_float64_matches_torch(row: Row) -> None:
    """``double()`` converts parameters and buffers: float64 inputs give float64 outputs."""
    ours, theirs = _build(row)
    ours.double()
    theirs.double()
    assert {k: str(v.dtype) for k, v in ours.state_dict().items()} == {
        k: str(v.dtype).removeprefix("torch.") for k, v in theirs.state_dict().items()
    }
    as64 = Row(row.name, row.args, row.kwargs, tuple(_float64(x) for x in row.inputs))
    out_g, out_t, g, t = _forward(as64, ours, theirs)
    compare_outputs(out_g, out_t)
    _grad_check(ours, theirs, out_g, out_t, g, t)


def _float64(spec: Arr) -> Arr:
    if spec.value.dtype.kind != "f":
        return spec
    return Arr(spec.value.astype(np.float64), spec.grad, spec.nc, spec.clone)
