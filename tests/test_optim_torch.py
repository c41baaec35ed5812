"""PyTorch as the oracle for every optimizer: 100 steps on the same weights and gradients.

Both libraries start from the same arrays in two parameter groups (the second with settings of
its own); each step, both get the same noise plus a term in their own weights as the gradient, so
an error in any step shows in every later one. float64 must agree to 1e-10; float32 looser.
Skipped unless torch is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradviz import nn, optim
from gradviz.autograd.errors import OptimizerError

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 3)]
STEPS = 100

#: (optimizer, keyword arguments, the second group's own settings)
CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, {"lr": 0.01}),
    ("Adam", {}, {"lr": 1e-2}),
    ("Adam", {"amsgrad": True}, {"lr": 1e-2}),
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True, "betas": (0.8, 0.99)}, {}),
    ("AdamW", {}, {"weight_decay": 0.5}),
    ("AdamW", {"lr": 1e-2, "amsgrad": True, "eps": 1e-6}, {"lr": 3e-3}),
    ("RMSprop", {}, {"lr": 1e-3}),
    ("RMSprop", {"momentum": 0.9}, {"alpha": 0.9}),
    ("RMSprop", {"centered": True}, {"eps": 1e-4}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}, {"lr": 1e-3}),
    ("Adagrad", {}, {"lr": 0.1}),
    (
        "Adagrad",
        {"lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1},
        {"eps": 1e-6},
    ),
]
CASES += [(name, {"maximize": True}, {}) for name in ["Adam", "AdamW", "RMSprop", "Adagrad"]]
CASES += [
    ("SGD", {"lr": 0.01, "maximize": True}, {}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}, {}),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


def starting_arrays(dtype) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape).astype(dtype) for shape in SHAPES]


def noise(dtype):
    """The gradient each step: the same noise for both libraries plus 0.3 times the weights."""
    rng = np.random.default_rng(1)
    while True:
        yield [rng.normal(size=shape).astype(dtype) for shape in SHAPES]


def make_pair(name, kwargs, second, dtype):
    arrays = starting_arrays(dtype)
    ours = [nn.Parameter(a.copy()) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    torch_kwargs = {**kwargs, "foreach": False}
    mine = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], **second}], **kwargs)
    reference = getattr(torch.optim, name)(
        [{"params": theirs[:2]}, {"params": theirs[2:], **second}], **torch_kwargs
    )
    return ours, theirs, mine, reference


def step_both(ours, theirs, mine, reference, grads) -> None:
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = g + 0.3 * p.numpy()
        q.grad = torch.from_numpy(g) + 0.3 * q.detach()
    mine.step()
    reference.step()


def assert_close(ours, theirs, rtol, atol):
    for p, q in zip(ours, theirs, strict=True):
        assert p.numpy().dtype == q.detach().numpy().dtype
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_matches_pytorch_for_100_steps_in_float64(name, kwargs, second):
    ours, theirs, mine, reference = make_pair(name, kwargs, second, np.float64)
    grads = noise(np.float64)
    for _ in range(STEPS):
        step_both(ours, theirs, mine, reference, next(grads))
        assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    # The state too, in PyTorch's layout: parameters numbered in group order.
    saved, expected = mine.state_dict(), reference.state_dict()
    assert sorted(saved["state"]) == sorted(expected["state"])
    for index, state in expected["state"].items():
        assert sorted(saved["state"][index]) == sorted(state)
        for key, value in state.items():
            np.testing.assert_allclose(saved["state"][index][key], value, rtol=1e-10, atol=1e-10)
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    for group, their_group in zip(saved["param_groups"], expected["param_groups"], strict=True):
        for key, value in group.items():
            assert their_group[key] == value, key


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_matches_pytorch_for_100_steps_in_float32(name, kwargs, second):
    ours, theirs, mine, reference = make_pair(name, kwargs, second, np.float32)
    grads = noise(np.float32)
    for _ in range(STEPS):
        step_both(ours, theirs, mine, reference, next(grads))
    assert_close(ours, theirs, rtol=1e-5, atol=2e-6)  # a few float32 ulps


def test_pytorch_state_dict_loads_and_training_goes_on_equal():
    ours, theirs, mine, reference = make_pair("Adam", {"amsgrad": True}, {"lr": 1e-2}, np.float64)
    grads = noise(np.float64)
    for _ in range(30):
        step_both(ours, theirs, mine, reference, next(grads))
    # A fresh gradviz optimizer takes PyTorch's state (tensors as arrays, step as a number).
    saved = reference.state_dict()
    converted = {
        "state": {
            i: {k: v.numpy().copy() if k != "step" else int(v.item()) for k, v in s.items()}
            for i, s in saved["state"].items()
        },
        "param_groups": [dict(g) for g in saved["param_groups"]],
    }
    fresh = optim.Adam([{"params": ours[:2]}, {"params": ours[2:]}], amsgrad=True)
    fresh.load_state_dict(converted)
    assert fresh.param_groups[1]["lr"] == 1e-2
    for _ in range(30):
        step_both(ours, theirs, fresh, reference, next(grads))
        assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(name, kwargs, second):
    ours, theirs, mine, reference = make_pair(name, kwargs, second, np.float64)
    grads = noise(np.float64)
    for _ in range(10):
        step_both(ours, theirs, mine, reference, next(grads))
    saved = mine.state_dict()
    copies = [nn.Parameter(p.numpy().copy()) for p in ours]
    resumed = getattr(optim, name)([{"params": copies[:2]}, {"params": copies[2:]}], **kwargs)
    resumed.load_state_dict(saved)
    # Loading copies: the saved arrays are not shared with the new optimizer.
    for index, state in resumed.state_dict()["state"].items():
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                assert value is not saved["state"][index][key]
    for _ in range(10):
        g = next(grads)
        step_both(ours, theirs, mine, reference, g)
        for p, q in zip(copies, g, strict=True):
            p.grad = q + 0.3 * p.numpy()
        resumed.step()
    for p, q in zip(ours, copies, strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_add_param_group_midway_matches_pytorch(name):
    arrays = starting_arrays(np.float64)
    ours = [nn.Parameter(a.copy()) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    kwargs = {"lr": 0.01, "momentum": 0.9} if name == "SGD" else {}
    mine = getattr(optim, name)(ours[:2], **kwargs)
    reference = getattr(torch.optim, name)(theirs[:2], **kwargs, foreach=False)
    grads = noise(np.float64)
    for step in range(40):
        if step == 20:
            mine.add_param_group({"params": ours[2], "lr": 0.02})
            reference.add_param_group({"params": theirs[2], "lr": 0.02})
        g = next(grads)
        count = 2 if step < 20 else 3
        step_both(ours[:count], theirs[:count], mine, reference, g[:count])
    assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    assert mine.param_groups[1]["lr"] == 0.02
    assert sorted(mine.param_groups[1]) == sorted(
        k for k in reference.param_groups[1] if k in mine.param_groups[0]
    )


def test_add_param_group_refuses_a_parameter_already_present():
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p])
    with pytest.raises(OptimizerError, match="more than once"):
        opt.add_param_group({"params": [p]})


def test_load_state_dict_refuses_a_different_layout():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    saved = optim.Adam([a, b]).state_dict()
    with pytest.raises(OptimizerError, match="doesn't match the size"):
        optim.Adam([a]).load_state_dict(saved)
    with pytest.raises(OptimizerError, match="different number of parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(saved)


BAD = [
    ("Adam", {"lr": -1}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"weight_decay": -0.1}),
    ("AdamW", {"lr": -0.5}),
    ("AdamW", {"weight_decay": -1e-2}),
    ("RMSprop", {"lr": -1}),
    ("RMSprop", {"alpha": -0.5}),
    ("RMSprop", {"eps": -1.0}),
    ("RMSprop", {"momentum": -0.9}),
    ("RMSprop", {"weight_decay": -1}),
    ("Adagrad", {"lr": -1}),
    ("Adagrad", {"lr_decay": -0.1}),
    ("Adagrad", {"weight_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}),
    ("Adagrad", {"eps": -1}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD, ids=[f"{n}-{next(iter(k))}" for n, k in BAD])
def test_bad_arguments_raise_pytorchs_message(name, kwargs):
    with pytest.raises(ValueError, match=r"Invalid") as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(OptimizerError) as ours:
        getattr(optim, name)([nn.Parameter(np.zeros(2))], **kwargs)
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, ValueError)  # except clauses written for PyTorch still work


def test_defaults_are_pytorchs():
    p = nn.Parameter(np.zeros(2))
    q = torch.zeros(2, requires_grad=True)
    for name in ["Adam", "AdamW", "RMSprop", "Adagrad"]:
        ours = getattr(optim, name)([p]).defaults
        theirs = getattr(torch.optim, name)([q]).defaults
        for key, value in ours.items():
            assert theirs[key] == value, (name, key)
