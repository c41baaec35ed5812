"""Module buffers, state_dict / load_state_dict (keys, order, missing and unexpected keys as
PyTorch reports them), apply, requires_grad_, zero_grad and train/eval reaching every child."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, Variable, nn


def build(lib, tensor, model):
    """The same model for either library: buffers (persistent, not, None) at two levels."""
    model.register_buffer("steps", tensor(np.zeros((), np.int64)))
    model.fc = lib.Linear(2, 2)
    model.fc.register_buffer("running_mean", tensor(np.zeros(2, np.float32)))
    model.fc.register_buffer("scratch", tensor(np.ones(2, np.float32)), persistent=False)
    model.fc.register_buffer("empty", None)
    model.blocks = lib.ModuleList([lib.Linear(2, 2), lib.ReLU()])
    model.blocks[1].register_buffer("mask", tensor(np.ones(2, np.float32)))
    return model


def ours():
    return build(nn, Variable, nn.Module())


def theirs():
    torch = pytest.importorskip("torch")
    return build(torch.nn, torch.from_numpy, torch.nn.Module())


# -------------------------------------------------------------------------------- buffers


def test_buffers_are_listed_apart_from_parameters():
    model = ours()
    assert [n for n, _ in model.named_buffers()] == [
        "steps",
        "fc.running_mean",
        "fc.scratch",
        "blocks.1.mask",
    ]
    assert [n for n, _ in model.named_buffers(recurse=False)] == ["steps"]
    assert all(not b.requires_grad for b in model.buffers())
    assert len(list(model.parameters())) == 4
    assert list(model.parameters(recurse=False)) == []
    assert model.fc.empty is None


def test_buffer_names_as_torch():
    assert [n for n, _ in ours().named_buffers()] == [n for n, _ in theirs().named_buffers()]


def test_assigning_a_buffer_name_updates_the_buffer():
    model = ours()
    new = Variable(np.full(2, 5.0, np.float32))
    model.fc.running_mean = new
    assert model.fc._buffers["running_mean"] is new
    assert dict(model.named_buffers())["fc.running_mean"] is new
    model.fc.running_mean = None  # empties the slot, still a buffer
    assert "fc.running_mean" not in model.state_dict()
    model.fc.running_mean = new
    assert "fc.running_mean" in model.state_dict()
    with pytest.raises(TypeError, match="cannot assign 'ndarray' object to buffer 'running_mean'"):
        model.fc.running_mean = np.zeros(2)
    del model.fc.running_mean
    assert "fc.running_mean" not in dict(model.named_buffers())


def test_register_buffer_bad_arguments():
    model = nn.Linear(1, 1)
    with pytest.raises(TypeError, match=r"buffer name should be a string\. Got int"):
        model.register_buffer(1, None)
    with pytest.raises(KeyError, match=r"buffer name can't contain \"\.\""):
        model.register_buffer("a.b", None)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        model.register_buffer("weight", None)
    with pytest.raises(TypeError, match="cannot assign 'list' object to buffer 'x'"):
        model.register_buffer("x", [1.0])
    with pytest.raises(GradvizError):
        model.register_buffer("", None)


def test_the_tracer_names_parameters_by_path_and_not_buffers():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            build(nn, Variable, self)

        def forward(self, x):
            x = self.fc(x) + self.fc.running_mean
            return self.blocks[1](self.blocks[0](x))

    model = Net()
    with gradviz.trace() as tr:
        model(Variable(np.ones((1, 2), np.float32))).sum().backward()
    graph = tr.graph
    params = sorted(a["name"] for _, a in graph.nodes(data=True) if a["kind"] == "param")
    assert params == ["blocks.0.bias", "blocks.0.weight", "fc.bias", "fc.weight"]


# ----------------------------------------------------------------------------- state_dict


def test_state_dict_keys_and_order_as_torch():
    state = ours().state_dict()
    assert list(state) == list(theirs().state_dict())
    assert list(state) == [
        "steps",
        "fc.weight",
        "fc.bias",
        "fc.running_mean",
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.mask",
    ]
    assert state["steps"].dtype == np.int64
    assert isinstance(state, OrderedDict)


def test_state_dict_keep_vars_and_prefix():
    model = ours()
    state = model.state_dict(keep_vars=True, prefix="m.")
    assert state["m.fc.weight"] is model.fc.weight
    assert state["m.fc.running_mean"] is model.fc.running_mean


def test_tied_parameters_appear_under_each_name_as_torch():
    def tied(lib):
        model = lib.Sequential(lib.Linear(2, 2), lib.Linear(2, 2))
        model[1].weight = model[0].weight
        return model

    tnn = pytest.importorskip("torch").nn
    assert list(tied(nn).state_dict()) == list(tied(tnn).state_dict())


def test_load_state_dict_loads_buffers_in_place():
    source, target = ours(), ours()
    source.fc.running_mean.copy_(np.array([1.0, 2.0]))
    source.steps.copy_(np.array(7))
    buffer = target.fc.running_mean
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == []
    assert result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert target.fc.running_mean is buffer
    np.testing.assert_array_equal(buffer.numpy(), [1.0, 2.0])
    assert target.steps.item() == 7
    assert target.steps.dtype == np.int64


def broken_state(lib_state):
    state = OrderedDict(lib_state)
    del state["fc.bias"], state["blocks.1.mask"]
    state["fc.extra"] = state["fc.weight"]
    state["nothere.weight"] = state["fc.weight"]
    state["blocks.0.weight.x"] = state["fc.weight"]
    return state


def test_missing_and_unexpected_keys_as_torch():
    torch_model = theirs()
    expected = torch_model.load_state_dict(broken_state(torch_model.state_dict()), strict=False)
    model = ours()
    result = model.load_state_dict(broken_state(model.state_dict()), strict=False)
    assert result.missing_keys == expected.missing_keys == ["fc.bias", "blocks.1.mask"]
    assert result.unexpected_keys == expected.unexpected_keys
    assert repr(result) == repr(expected)


def test_strict_load_message_as_torch():
    torch_model = theirs()
    with pytest.raises(RuntimeError) as expected:
        torch_model.load_state_dict(broken_state(torch_model.state_dict()))
    model = ours()
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(broken_state(model.state_dict()))
    assert str(error.value) == str(expected.value)
    assert isinstance(error.value, GradvizError)


def test_size_mismatch_reported_even_when_not_strict_and_nothing_loaded():
    model = ours()
    state = model.state_dict()
    state["fc.running_mean"] = np.zeros(3, np.float32)
    state["fc.weight"] = np.full((2, 2), 9.0, np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc\.running_mean.*\(3,\).*\(2,\)\."):
        model.load_state_dict(state, strict=False)
    assert not np.any(model.fc.weight.numpy() == 9.0)


def test_load_state_dict_bad_arguments():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        nn.Linear(1, 1).load_state_dict([])
    with pytest.raises(RuntimeError, match=r'parameter named "weight".*received str'):
        nn.Linear(1, 1).load_state_dict({"weight": "abc", "bias": np.zeros(1)})


# ---------------------------------------------------------------------- apply, modes, grads


def test_apply_visits_children_first_and_returns_self():
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_apply_initialises_like_torch_idiom():
    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)

    model = ours().apply(init)
    assert np.all(model.fc.weight.numpy() == 0.5)
    assert np.all(model.blocks[0].weight.numpy() == 0.5)


def test_requires_grad_freezes_and_unfreezes():
    model = ours()
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert len(list(model.parameters())) == 4  # frozen parameters stay registered
    model.fc.requires_grad_()
    assert [p.requires_grad for p in model.parameters()] == [True, True, False, False]


def test_train_eval_reach_every_child_and_check_the_mode():
    model = ours()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean, got str"):
        model.train("no")


def test_zero_grad_reaches_module_lists():
    model = ours()
    model.blocks[0](Variable(np.ones((1, 2), np.float32))).sum().backward()
    assert model.blocks[0].weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_children_and_get_submodule():
    model = ours()
    assert [n for n, _ in model.named_children()] == ["fc", "blocks"]
    assert model.get_submodule("blocks.1") is model.blocks[1]
    assert model.get_submodule("") is model
    with pytest.raises(AttributeError, match="ModuleList has no attribute `7`"):
        model.get_submodule("blocks.7")


def test_load_state_dict_assign_replaces_the_variables():
    model = ours()
    model.fc.weight.requires_grad_(False)
    old_weight, old_bias = model.fc.weight, model.fc.bias
    state = {k: np.full_like(v, 2) for k, v in model.state_dict().items()}
    model.load_state_dict(state, assign=True)
    assert model.fc.weight is not old_weight
    assert isinstance(model.fc.weight, nn.Parameter)
    assert model.fc.weight.numpy() is state["fc.weight"]  # shared, as PyTorch's assign
    assert not model.fc.weight.requires_grad  # kept from the replaced parameter
    assert model.fc.bias.requires_grad
    assert old_bias.numpy()[0] != 2
    assert dict(model.named_parameters())["fc.weight"] is model.fc.weight
    assert dict(model.named_buffers())["fc.running_mean"].numpy() is state["fc.running_mean"]
    assert [n for n, _ in model.named_parameters()] == [
        "fc.weight",
        "fc.bias",
        "blocks.0.weight",
        "blocks.0.bias",
    ]
