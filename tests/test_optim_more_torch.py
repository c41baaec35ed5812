"""PyTorch as the oracle for NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD and LBFGS: 100 steps
on the same weights and gradients (test_optim_torch.py's harness), their state dicts, and
LBFGS's closure-driven iterations with and without the strong Wolfe line search."""

from __future__ import annotations

import numpy as np
import pytest
from test_optim_torch import assert_close, make_pair, noise, starting_arrays, step_both
from test_optim_torch import test_matches_pytorch_for_100_steps_in_float32 as steps_in_float32
from test_optim_torch import test_matches_pytorch_for_100_steps_in_float64 as steps_in_float64
from test_optim_torch import test_state_dict_round_trip_resumes_exactly as round_trip

import gradviz
from gradviz import nn, optim
from gradviz.autograd.errors import OperandError, OptimizerError

torch = pytest.importorskip("torch")

CASES = [
    ("NAdam", {}, {"lr": 1e-2}),
    ("NAdam", {"weight_decay": 0.1, "momentum_decay": 0.01}, {"betas": (0.8, 0.99)}),
    ("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"lr": 1e-2}),
    ("RAdam", {}, {"lr": 1e-2}),
    ("RAdam", {"weight_decay": 0.1, "betas": (0.5, 0.9)}, {"eps": 1e-4}),
    ("RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, {}),
    ("Adamax", {}, {"lr": 1e-2}),
    ("Adamax", {"weight_decay": 0.1, "betas": (0.8, 0.9)}, {"eps": 1e-4}),
    ("Adadelta", {}, {"lr": 0.5}),
    ("Adadelta", {"rho": 0.5, "weight_decay": 0.1}, {"eps": 1e-4}),
    ("Rprop", {}, {"lr": 0.05}),
    ("Rprop", {"etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)}, {"lr": 0.2}),
    ("ASGD", {}, {"lr": 0.05}),
    ("ASGD", {"lambd": 1e-2, "alpha": 0.5, "t0": 20, "weight_decay": 0.1}, {"lr": 0.02}),
]
CASES += [
    (name, {"maximize": True}, {})
    for name in ["NAdam", "RAdam", "Adamax", "Adadelta", "Rprop", "ASGD"]
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_matches_pytorch_for_100_steps_in_float64(name, kwargs, second):
    """Values after every step, the state dict (keys and values) and the param groups."""
    steps_in_float64(name, kwargs, second)
    mine = make_pair(name, kwargs, second, np.float64)[2]
    assert repr(mine).startswith(f"{name}(lr=")


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_matches_pytorch_for_100_steps_in_float32(name, kwargs, second):
    steps_in_float32(name, kwargs, second)


@pytest.mark.parametrize(("name", "kwargs", "second"), CASES, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(name, kwargs, second):
    round_trip(name, kwargs, second)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("NAdam", {"lr": -1}, "Invalid learning rate: -1"),
        ("NAdam", {"momentum_decay": -1}, "Invalid momentum_decay value: -1"),
        ("RAdam", {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0"),
        ("Adamax", {"eps": -1}, "Invalid epsilon value: -1"),
        ("Adadelta", {"rho": 1.5}, "Invalid rho value: 1.5"),
        ("Rprop", {"etas": (1.5, 1.2)}, "Invalid eta values: 1.5, 1.2"),
        ("ASGD", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
        ("LBFGS", {"lr": -1}, "Invalid learning rate: -1"),
    ],
)
def test_bad_settings_are_refused_as_pytorch_refuses_them(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(torch.optim, name)([torch.ones(1, requires_grad=True)], **kwargs)
    with pytest.raises(OptimizerError, match=match):
        getattr(optim, name)([nn.Parameter(np.ones(1))], **kwargs)


def test_settings_that_are_not_numbers_are_refused():
    with pytest.raises(OperandError, match="lr must be a number"):
        optim.NAdam([nn.Parameter(np.ones(1))], lr="0.1")


def objective(x, dtype):
    """A smooth convex loss (least squares plus a quartic): its minimum is one point, so both
    libraries' iterations stay together rather than amplifying rounding."""
    lib = torch if isinstance(x, torch.Tensor) else gradviz
    a = np.random.default_rng(0).normal(size=(6, 4)).astype(dtype)
    b = np.random.default_rng(1).normal(size=6).astype(dtype)
    r = lib.tensor(a) @ x - lib.tensor(b)
    return (r * r).sum() * 0.5 + (x**4).sum() * 0.1


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_matches_pytorch_step_by_step(line_search_fn, dtype):
    start = np.array([-1.2, 1.0, 0.5, -0.3], dtype=dtype)
    ours = nn.Parameter(start.copy())
    theirs = torch.tensor(start.copy(), requires_grad=True)
    kwargs = {"lr": 0.3 if line_search_fn is None else 1, "history_size": 3, "max_iter": 5}
    mine = optim.LBFGS([ours], line_search_fn=line_search_fn, **kwargs)
    reference = torch.optim.LBFGS([theirs], line_search_fn=line_search_fn, **kwargs)

    def closure(opt, x):
        def run():
            opt.zero_grad()
            loss = objective(x, dtype)
            loss.backward()
            return loss

        return run

    # float32: the first step to rounding; later, near the minimum, a rounding may decide a
    # stopping test differently, so only the point reached is compared.
    steps, tol = (8, 1e-12) if dtype == np.float64 else (1, 1e-5)
    for _ in range(steps):
        got = mine.step(closure(mine, ours))
        want = reference.step(closure(reference, theirs))
        np.testing.assert_allclose(got.item(), want.item(), rtol=tol, atol=tol)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)
        assert ours.numpy().dtype == dtype
    state, expected = mine.state_dict()["state"][0], reference.state_dict()["state"][0]
    assert sorted(state) == sorted(expected)
    for key in ("func_evals", "n_iter"):
        assert state[key] == expected[key], key
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(state[key].numpy(), expected[key].numpy(), rtol=tol, atol=tol)
    assert len(state["old_dirs"]) == len(expected["old_dirs"])
    for _ in range(8):
        mine.step(closure(mine, ours))
        reference.step(closure(reference, theirs))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-3, atol=1e-3)


def test_lbfgs_refusals():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    with pytest.raises(OptimizerError, match="per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(OptimizerError, match="needs a closure"):
        optim.LBFGS([a]).step()
    opt = optim.LBFGS([a], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with pytest.raises(OptimizerError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


def test_lbfgs_stops_at_once_when_the_gradient_is_zero():
    p = nn.Parameter(np.zeros(3))
    opt = optim.LBFGS([p])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0
    assert calls == [1]
    np.testing.assert_array_equal(p.numpy(), 0)


def test_new_optimizers_start_from_pytorch_defaults():
    arrays = starting_arrays(np.float64)
    for name in ["NAdam", "RAdam", "Adamax", "Adadelta", "Rprop", "ASGD", "LBFGS"]:
        mine = getattr(optim, name)([nn.Parameter(a) for a in arrays])
        theirs = getattr(torch.optim, name)([torch.tensor(a, requires_grad=True) for a in arrays])
        for key, value in mine.defaults.items():
            assert theirs.defaults[key] == value, (name, key)


@pytest.mark.parametrize("name", ["NAdam", "ASGD", "Rprop", "Adamax"])
def test_pytorch_state_dict_loads_and_training_goes_on_equal(name):
    kwargs = {"t0": 5} if name == "ASGD" else {}
    ours, theirs, mine, reference = make_pair(name, kwargs, {"lr": 1e-2}, np.float64)
    grads = noise(np.float64)
    for _ in range(20):
        step_both(ours, theirs, mine, reference, next(grads))
    saved = reference.state_dict()
    converted = {
        "state": {
            i: {k: v.numpy().copy() for k, v in s.items()} for i, s in saved["state"].items()
        },
        "param_groups": [dict(g) for g in saved["param_groups"]],
    }
    fresh = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:]}], **kwargs)
    fresh.load_state_dict(converted)
    for _ in range(20):
        step_both(ours, theirs, fresh, reference, next(grads))
        assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


def test_lbfgs_state_dict_round_trip_resumes_exactly():
    def run(opt, params, steps):
        a, b = params

        def closure():
            opt.zero_grad()
            loss = ((a - 1.5) ** 4).sum() + ((b * b).sum() - 1) ** 2
            loss.backward()
            return loss

        for _ in range(steps):
            opt.step(closure)

    params = [nn.Parameter(np.array([1.0, 2.0, 3.0])), nn.Parameter(np.ones((2, 2)))]
    opt = optim.LBFGS(params, history_size=3, max_iter=4)
    run(opt, params, 2)
    copies = [nn.Parameter(p.numpy().copy()) for p in params]
    resumed = optim.LBFGS(copies, history_size=3, max_iter=4)
    resumed.load_state_dict(opt.state_dict())
    run(opt, params, 2)
    run(resumed, copies, 2)
    for p, q in zip(params, copies, strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
