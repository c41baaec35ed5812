"""A layer does not promote: a float64 input into float32 weights raises, as in PyTorch, with a
message naming the layer and the conversion to make (NumPy data is float64, the classic first
error of a PyTorch script); the same input into the layer made float64 runs."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn

#: (layer name in the error, factory taking the nn namespace, input shape)
LAYERS = [
    ("Linear", lambda m: m.Linear(3, 2), (4, 3)),
    ("Conv1d", lambda m: m.Conv1d(4, 2, 1), (1, 4, 3)),
    ("Conv2d", lambda m: m.Conv2d(2, 2, 1), (1, 2, 3, 3)),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(2, 2, 1), (1, 2, 3, 3)),
    ("BatchNorm", lambda m: m.BatchNorm1d(3), (4, 3)),
    ("LayerNorm", lambda m: m.LayerNorm(3), (4, 3)),
    ("GroupNorm", lambda m: m.GroupNorm(1, 4), (2, 4, 3)),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(4, affine=True), (2, 4, 3)),
    ("prelu", lambda m: m.PReLU(), (4, 3)),
    ("GRU", lambda m: m.GRU(3, 2), (5, 1, 3)),
    ("Linear", lambda m: m.MultiheadAttention(3, 1), (1, 2, 3)),
]
IDS = [*(row[0] for row in LAYERS[:-1]), "MultiheadAttention"]


def _run(layer, x):
    if type(layer).__name__ == "MultiheadAttention":
        return layer(x, x, x)[0]
    out = layer(x)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize(("name", "make", "shape"), LAYERS, ids=IDS)
def test_a_float64_input_into_a_float32_layer_is_refused_as_pytorch_refuses(name, make, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    layer = make(nn)
    with pytest.raises(gradviz.InputError, match=rf"{name}.*float64.*float32.*torch\.float32"):
        _run(layer, gradviz.tensor(x))
    assert _run(layer, gradviz.tensor(x, dtype=gradviz.float32)).dtype == np.float32
    assert _run(layer.double(), gradviz.tensor(x)).dtype == np.float64


@pytest.mark.parametrize(("name", "make", "shape"), LAYERS, ids=IDS)
def test_pytorch_refuses_the_same_inputs(name, make, shape):
    torch = pytest.importorskip("torch")
    layer = make(torch.nn)
    with pytest.raises((RuntimeError, ValueError)):
        _run(layer, torch.randn(shape, dtype=torch.float64))


def test_einsum_of_two_float_dtypes_is_refused_and_mixed_arithmetic_still_promotes():
    a64, b32 = gradviz.randn(2, 3, dtype=gradviz.float64), gradviz.randn(3, 2)
    with pytest.raises(gradviz.InputError, match="einsum"):
        gradviz.einsum("ij,jk->ik", a64, b32)
    assert (a64[:, :2] * b32.T[:, :2]).dtype == np.float64  # elementwise ops promote, as PyTorch's
    assert nn.RMSNorm(3)(a64).dtype == np.float64  # (PyTorch's RMSNorm promotes too)
