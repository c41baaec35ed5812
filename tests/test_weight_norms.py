"""``nn.utils.parametrizations.weight_norm`` and ``spectral_norm``, ``nn.utils.parametrize``
and the older ``nn.utils.weight_norm`` and ``spectral_norm`` against PyTorch's: state dict
keys and reprs, outputs and gradients (PyTorch's state loaded, so the power iterations start
from the same vectors), the buffers the power iteration moves, and the weight drawn as ops."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import GradvizError
from gradviz.nn.utils import parametrizations, parametrize

torch = pytest.importorskip("torch")
P = torch.nn.utils.parametrizations

LAYERS = [
    ("Linear", (3, 4)),
    ("Conv2d", (2, 3, 2)),
    ("ConvTranspose2d", (2, 3, 2)),
]
INPUTS = {"Linear": (5, 3), "Conv2d": (2, 2, 4, 4), "ConvTranspose2d": (2, 2, 3, 3)}


def twins(name, args):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args).double()
    ours = getattr(nn, name)(*args).double()
    return ours, theirs


def load(ours, theirs):
    ours.load_state_dict(
        {k: gradviz.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )


def run_both(ours, theirs, name, seed=0):
    data = np.random.default_rng(seed).standard_normal(INPUTS[name])
    y, u = ours(gradviz.tensor(data)), theirs(torch.tensor(data))
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-12)
    weight = np.random.default_rng(seed + 1).standard_normal(tuple(u.shape))
    (y * gradviz.tensor(weight)).sum().backward()
    (u * torch.tensor(weight)).sum().backward()
    grads = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), grads[key].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=key
        )
        p.grad = None
        grads[key].grad = None


def same_state(ours, theirs):
    expected = theirs.state_dict()
    assert list(ours.state_dict()) == list(expected)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), expected[key].numpy(), rtol=1e-10, atol=1e-12)


def leaves(out):
    """The names of the leaf Variables ``out`` was computed from (by identity)."""
    found, stack, seen = [], [out], set()
    while stack:
        v = stack.pop()
        if id(v) in seen or not isinstance(v, gradviz.Variable):
            continue
        seen.add(id(v))
        if v._node is None:
            found.append(v)
        else:
            stack.extend(v._node.inputs)
    return found


def ops_of(out):
    names, stack, seen = set(), [out], set()
    while stack:
        v = stack.pop()
        if id(v) in seen or not isinstance(v, gradviz.Variable) or v._node is None:
            continue
        seen.add(id(v))
        names.add(v.op)
        stack.extend(v._node.inputs)
    return names


@pytest.mark.parametrize(("name", "args"), LAYERS)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_equals_pytorchs(name, args, dim):
    ours, theirs = twins(name, args)
    parametrizations.weight_norm(ours, dim=dim)
    P.weight_norm(theirs, dim=dim)
    assert repr(ours) == repr(theirs)
    assert type(ours).__name__ == f"Parametrized{name}"
    load(ours, theirs)
    same_state(ours, theirs)
    run_both(ours, theirs, name)
    g = ours.parametrizations.weight.original0
    assert g.shape == tuple(theirs.parametrizations.weight.original0.shape)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(("name", "args"), LAYERS)
def test_parametrized_spectral_norm_equals_pytorchs_step_by_step(name, args):
    ours, theirs = twins(name, args)
    parametrizations.spectral_norm(ours)
    P.spectral_norm(theirs)
    assert repr(ours) == repr(theirs)
    load(ours, theirs)  # the same starting vectors: PyTorch's random ones
    for step in range(3):  # each training forward moves _u and _v one power step
        run_both(ours, theirs, name, step)
        same_state(ours, theirs)
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, name, 5)
    same_state(ours, theirs)
    top = np.linalg.svd(_matrix(ours.weight.numpy(), name), compute_uv=False)[0]
    np.testing.assert_allclose(top, 1.0, rtol=1e-3)  # the weight's spectral norm is ~1


def _matrix(weight, name):
    dim = 1 if name == "ConvTranspose2d" else 0
    return np.moveaxis(weight, dim, 0).reshape(weight.shape[dim], -1)


@pytest.mark.parametrize(("name", "args"), LAYERS)
def test_old_weight_norm_equals_pytorchs_and_removes(name, args):
    ours, theirs = twins(name, args)
    with pytest.warns(FutureWarning, match="deprecated"):
        nn.utils.weight_norm(ours)
    with pytest.warns(FutureWarning, match="deprecated"):
        torch.nn.utils.weight_norm(theirs)
    assert repr(ours) == repr(theirs)
    load(ours, theirs)
    same_state(ours, theirs)
    run_both(ours, theirs, name)
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    same_state(ours, theirs)
    assert isinstance(ours.weight, nn.Parameter)


@pytest.mark.parametrize(("name", "args"), LAYERS)
def test_old_spectral_norm_equals_pytorchs_step_by_step_and_removes(name, args):
    ours, theirs = twins(name, args)
    nn.utils.spectral_norm(ours)
    torch.nn.utils.spectral_norm(theirs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    load(ours, theirs)
    for step in range(3):
        run_both(ours, theirs, name, step)
        same_state(ours, theirs)
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, name, 5)
    nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    same_state(ours, theirs)


def test_the_weight_is_drawn_as_ops_from_its_parameters():
    layer = parametrizations.weight_norm(nn.Linear(3, 4))
    out = layer(gradviz.ones(2, 3))
    chain = layer.parametrizations.weight
    found = leaves(out)
    assert any(v is chain.original0 for v in found)
    assert any(v is chain.original1 for v in found)
    assert {"Norm", "Div", "Mul"} <= ops_of(out)
    old = nn.utils.spectral_norm(nn.Linear(3, 4))
    out = old(gradviz.ones(2, 3))
    assert any(v is old.weight_orig for v in leaves(out))
    assert "Div" in ops_of(out)


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)


class TorchSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)


def test_register_parametrization_of_a_custom_module_and_remove():
    ours, theirs = twins("Linear", (3, 3))
    parametrize.register_parametrization(ours, "weight", Symmetric())
    torch.nn.utils.parametrize.register_parametrization(theirs, "weight", TorchSymmetric())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    load(ours, theirs)
    np.testing.assert_allclose(ours.weight.numpy(), ours.weight.numpy().T)
    run_both(ours, theirs, "Linear")
    original = ours.parametrizations.weight.original
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours) is nn.Linear
    assert ours.weight is original  # the same Parameter, now holding the symmetric weight
    same_state(ours, theirs)


def test_refusals():
    layer = nn.Linear(3, 4)
    with pytest.raises(GradvizError, match="does not have a parameter"):
        parametrize.register_parametrization(layer, "nothing", Symmetric())
    with pytest.raises(GradvizError, match="n_power_iterations"):
        parametrizations.spectral_norm(nn.Linear(3, 4), n_power_iterations=0)
    nn.utils.spectral_norm(layer)
    with pytest.raises(GradvizError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(layer)
    with pytest.raises(GradvizError, match="not found"):
        nn.utils.remove_weight_norm(layer)


class First(nn.Module):
    def forward(self, x):
        return x[0]


def test_a_parametrization_that_changes_the_shape_needs_unsafe():
    layer = nn.Linear(3, 4)
    with pytest.raises(GradvizError, match="may not change the shape"):
        parametrize.register_parametrization(layer, "weight", First())
    assert type(layer) is nn.Linear  # refused before anything changed
    assert "weight" in dict(layer.named_parameters())
    parametrize.register_parametrization(layer, "weight", First(), unsafe=True)
    assert layer.weight.shape == (3,)
    with pytest.raises(GradvizError, match="may not change the shape"):
        parametrize.register_parametrization(layer, "weight", First())
