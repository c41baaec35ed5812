"""``nn.ReLU(inplace=True)`` and its kind, as torchvision-style models write them: the same
values and gradients as PyTorch's, PyTorch's reprs, and the write seen in the graph."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn


def _model(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3, padding=1),
        lib.nn.ReLU(inplace=True),
        lib.nn.Conv2d(4, 4, 3),
        lib.nn.ELU(alpha=0.5, inplace=True),
        lib.nn.Flatten(),
        lib.nn.Linear(4 * 4 * 4, 8),
        lib.nn.LeakyReLU(0.1, inplace=True),
        lib.nn.Linear(8, 8),
        lib.nn.SiLU(inplace=True),
        lib.nn.Linear(8, 8),
        lib.nn.Mish(inplace=True),
        lib.nn.Linear(8, 3),
    )


def test_inplace_activations_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _model(gradviz), _model(torch)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((5, 1, 6, 6)).astype(np.float32)
    out_g, out_t = ours(gradviz.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    out_g.square().sum().backward()
    out_t.square().sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name
        )


def test_the_write_is_drawn_as_the_in_place_op():
    model = _model(gradviz)
    with gradviz.trace() as tr:
        model(gradviz.randn(2, 1, 6, 6)).sum().backward()
    ops = {attrs["op"] for _, attrs in tr.graph.nodes(data=True)}
    assert {"Relu_", "Elu_", "LeakyRelu_", "Silu_", "Mish_"} <= ops
    assert not tr.check().errors


def test_defaults_are_out_of_place_and_reprs_stay_short():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.SiLU(inplace=True)) == "SiLU(inplace=True)"
    assert repr(nn.Hardswish(inplace=True)) == "Hardswish()"  # PyTorch leaves it out
    x = gradviz.randn(3, requires_grad=True) * 1
    y = nn.ReLU()(x)
    assert y is not x
    assert nn.ReLU(inplace=True)(x) is x
