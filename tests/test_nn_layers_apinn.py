"""Padding layers, ``Unfold``/``Fold``, ``GLU`` and ``Softmax2d`` against PyTorch's: values,
input gradients, reprs and refusals; and the graph a padded input draws (one node)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import GradvizError

torch = pytest.importorskip("torch")

LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad1d", ((1, 3),), (3, 5)),
    ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 0, 2, 3),), (3, 4, 5)),
    ("ZeroPad2d", ((-1, 2, 0, 1),), (2, 3, 4, 5)),  # a negative amount crops
    ("ZeroPad3d", ((1, 0, 1, 0, 0, 2),), (1, 2, 3, 4, 5)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 5)),
    ("ConstantPad2d", ((1, 2, 0, 1), -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", (1, 0.5), (2, 3, 3, 4)),
    ("ReflectionPad1d", (3,), (2, 3, 5)),
    ("ReflectionPad1d", ((1, 4),), (3, 5)),
    ("ReflectionPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", ((3, 1),), (2, 3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad3d", ((1, 0, 2, 0, 0, 1),), (1, 2, 3, 4, 5)),
    ("CircularPad1d", ((2, 1),), (2, 3, 5)),
    ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (1, 2, 3, 4, 5)),
    ("Unfold", ((2, 3),), (2, 3, 5, 6)),
    ("Unfold", (3, 1, 1, 2), (3, 5, 5)),
    ("Fold", ((4, 5), 2), (2, 12, 12)),
    ("Fold", ((5, 5), (2, 3), 1, 1, (2, 1)), (1, 12, 15)),
    ("GLU", (), (3, 4)),
    ("GLU", (0,), (4, 2, 3)),
    ("Softmax2d", (), (2, 3, 4, 5)),
    ("Softmax2d", (), (3, 4, 5)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(LAYERS)]


def pair(shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return (
        gradviz.tensor(data.copy(), requires_grad=True),
        torch.tensor(data.copy(), requires_grad=True),
    )


@pytest.mark.parametrize(("name", "args", "shape"), LAYERS, ids=IDS)
def test_layer_matches_pytorch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x, t = pair(shape)
    y, u = ours(x), theirs(t)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-12)
    weight = np.random.default_rng(1).standard_normal(tuple(u.shape))
    (y * gradviz.tensor(weight)).sum().backward()
    (u * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert len(list(ours.parameters())) == 0


@pytest.mark.parametrize(
    ("name", "args", "shape"),
    [
        ("CircularPad1d", (1,), (2, 3, 4, 5)),
        ("CircularPad2d", (1,), (5, 6)),
        ("ReflectionPad1d", (5,), (2, 3, 5)),  # as wide as the dim
        ("ReplicationPad2d", (1,), (5,)),
        ("Softmax2d", (), (4, 5)),
        ("GLU", (), (3, 5)),
        ("Fold", ((4, 5), 2), (2, 12, 11)),
        ("Unfold", (6,), (2, 3, 5, 6)),
    ],
)
def test_layer_refuses_what_pytorch_refuses(name, args, shape):
    x, t = pair(shape)
    with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
        getattr(torch.nn, name)(*args)(t)
    with pytest.raises(GradvizError):
        getattr(nn, name)(*args)(x)


@pytest.mark.parametrize(
    ("layer", "op"),
    [
        (nn.ReflectionPad2d(1), "ReflectionPadNd"),
        (nn.ZeroPad2d(1), "ConstantPadNd"),
        (nn.CircularPad2d(1), "CircularPadNd"),
        (nn.Unfold(2), "Im2Col"),
        (nn.GLU(1), "Glu"),
    ],
)
def test_each_layer_is_one_node_in_the_graph(layer, op):
    x = gradviz.tensor(np.ones((1, 2, 4, 4)), requires_grad=True)
    out = layer(x)
    assert out.op == op
    assert [type(a).__name__ for a in out._node.inputs][:1] == ["Variable"]
    assert out._node.inputs[0] is x


def test_fold_of_unfold_counts_each_place_once_per_block():
    """fold(unfold(x)) is x times the number of blocks covering each place (PyTorch's own
    example of the two being adjoint)."""
    x = gradviz.tensor(np.ones((1, 1, 4, 4)))
    ones = nn.Fold((4, 4), 2)(nn.Unfold(2)(x)).numpy()[0, 0]
    np.testing.assert_array_equal(ones, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_to_empty_gives_fresh_storage_of_the_same_shapes_then_init_fills_it():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    weight = model[0].weight
    before = {k: v.numpy() for k, v in model.state_dict().items()}
    assert model.to_empty(device="cpu") is model
    assert theirs.to_empty(device="cpu") is theirs
    assert model[0].weight is weight  # the same Parameter, as PyTorch's
    state = model.state_dict()
    assert list(state) == list(theirs.state_dict())
    for key, value in state.items():
        assert value.shape == before[key].shape
        assert value.dtype == before[key].dtype
        assert not np.shares_memory(value.numpy(), before[key])
    nn.init.eye_(model[0].weight)
    np.testing.assert_array_equal(model[0].weight.numpy(), np.eye(3, 2))
    with pytest.raises(GradvizError, match="CPU only"):
        model.to_empty(device="cuda")


def test_to_empty_without_recurse_leaves_the_children():
    model = nn.Sequential(nn.Linear(2, 3))
    array = model[0].weight.numpy()
    model.to_empty(device="cpu", recurse=False)
    assert model[0].weight.numpy() is array


def test_share_memory_returns_the_module_unchanged():
    model = nn.Linear(2, 3)
    array = model.weight.numpy()
    assert model.share_memory() is model
    assert model.weight.numpy() is array
