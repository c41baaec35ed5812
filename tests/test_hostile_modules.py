"""A PyTorch user's habits with modules and data loading, checked against PyTorch's behaviour
(torch is the oracle where installed; every case here once broke or differed)."""

import numpy as np
import pytest

from gradviz import Variable, nn
from gradviz.autograd.errors import GradvizError

torch = pytest.importorskip("torch")
tnn = torch.nn


def names(module):
    return [name for name, _ in module.named_parameters()]


# ------------------------------------------------------------------------------ registration


@pytest.mark.parametrize(
    "value", [np.ones((2, 2)), Variable(np.ones((2, 2), np.float32)), nn.Linear(2, 2)]
)
def test_a_registered_parameter_takes_only_a_parameter_or_none(value):
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError) as caught:
        layer.weight = value
    assert isinstance(caught.value, GradvizError)
    assert "as parameter 'weight' (Parameter or None expected)" in str(caught.value)
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        tnn.Linear(2, 2).weight = torch.ones(2, 2)
    assert names(layer) == ["weight", "bias"]  # nothing changed


def test_a_registered_child_module_takes_only_a_module_or_none():
    model = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="as child module '0' \\(Module or None expected\\)"):
        model.__setattr__("0", 3)
    with pytest.raises(TypeError, match="as child module '0'"):
        tnn.Sequential(tnn.Linear(1, 1)).__setattr__("0", 3)


def test_none_keeps_the_slot_and_its_place_as_torch():
    ours, theirs = nn.Linear(2, 2), tnn.Linear(2, 2)
    ours.weight = theirs.weight = None
    ours.weight = nn.Parameter(np.ones((2, 2), np.float32))
    theirs.weight = tnn.Parameter(torch.ones(2, 2))
    assert names(ours) == [name for name, _ in theirs.named_parameters()] == ["weight", "bias"]
    model = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    model.__setattr__("0", None)
    assert list(model._modules) == ["0", "1"]
    assert repr(model) == "Sequential(\n  (0): None\n  (1): ReLU()\n)"


# ------------------------------------------------------------------------------ lookups


def test_get_parameter_and_get_buffer_as_torch():
    ours = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(2))
    theirs = tnn.Sequential(tnn.Linear(1, 1), tnn.BatchNorm1d(2))
    assert ours.get_parameter("0.weight") is ours[0].weight
    assert ours.get_buffer("1.running_mean") is ours[1].running_mean
    for target, getter in [
        ("0.nope", "get_parameter"),
        ("0.in_features", "get_parameter"),
        ("0", "get_parameter"),
        ("0.weight", "get_buffer"),
        ("0.weight.x", "get_parameter"),
    ]:
        with pytest.raises(AttributeError) as expected:
            getattr(theirs, getter)(target)
        with pytest.raises(AttributeError) as caught:
            getattr(ours, getter)(target)
        assert str(caught.value) == str(expected.value)


def test_get_submodule_of_a_parameter_says_it_is_no_module():
    with pytest.raises(AttributeError, match=r"`weight` is not an nn\.Module"):
        nn.Sequential(nn.Linear(1, 1)).get_submodule("0.weight")


# ------------------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(
    ("cast", "dtype"),
    [
        (lambda m: m.double(), np.float64),
        (lambda m: m.float(), np.float32),
        (lambda m: m.half(), np.float16),
        (lambda m: m.to(np.float64), np.float64),
        (lambda m: m.to("cpu", dtype=np.float64), np.float64),
        (lambda m: m.to(Variable(np.zeros(1))), np.float64),
        (lambda m: m.cpu(), np.float32),
    ],
)
def test_module_casts_float_parameters_and_buffers_in_place(cast, dtype):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    assert cast(model) is model
    assert model[0].weight is weight
    assert isinstance(weight, nn.Parameter)
    assert weight.requires_grad
    assert weight.dtype == dtype
    assert model[1].running_var.dtype == dtype
    assert model[1].num_batches_tracked.dtype == np.int64  # integers stay, as in PyTorch


def test_a_double_model_trains_in_float64():
    model = nn.Linear(2, 1).double()
    model(Variable(np.ones((3, 2)))).sum().backward()
    assert model.weight.grad.dtype == np.float64


def test_module_to_refuses_integer_dtypes_and_other_devices():
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        nn.Linear(1, 1).to(np.int64)
    with pytest.raises(RuntimeError, match=r"CPU only.*'cuda'"):
        nn.Linear(1, 1).to("cuda")
