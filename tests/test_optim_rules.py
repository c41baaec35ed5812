"""gradviz.optim without PyTorch: hand-computed first steps of AdamW, RMSprop and Adagrad, the
in-place contract (version counter, hook events) of every optimizer, and ``state_dict``'s
layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradviz import nn, optim
from gradviz.autograd import hooks

ALL = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, amsgrad=True),
    lambda ps: optim.AdamW(ps),
    lambda ps: optim.RMSprop(ps, centered=True, momentum=0.5),
    lambda ps: optim.Adagrad(ps, lr_decay=0.1),
]
NAMES = ["SGD", "Adam-amsgrad", "AdamW", "RMSprop", "Adagrad"]


def one_step(optimizer_class, **kwargs) -> float:
    p = nn.Parameter(np.array([1.0]))
    opt = optimizer_class([p], **kwargs)
    p.grad = np.array([2.0])
    opt.step()
    return float(p.numpy()[0])


def test_adamw_decays_the_weight_before_the_adam_step():
    # p = 1 * (1 - lr * wd) = 1 - 1e-3 * 1e-2, then Adam's first step moves it by ~lr.
    expected = (1 - 1e-3 * 1e-2) - 1e-3 * 2 / (2 + 1e-8)
    assert one_step(optim.AdamW) == pytest.approx(expected, rel=1e-15)


def test_adam_with_l2_weight_decay_differs_from_adamw():
    assert one_step(optim.Adam, weight_decay=1e-2) != one_step(optim.AdamW)


def test_rmsprop_first_step():
    # square_avg = 0.01 * 4; p = 1 - 0.01 * 2 / (sqrt(0.04) + 1e-8)
    assert one_step(optim.RMSprop) == pytest.approx(1 - 0.01 * 2 / (0.2 + 1e-8), rel=1e-15)


def test_rmsprop_centered_first_step():
    # grad_avg = 0.01 * 2; avg = sqrt(0.04 - 0.0004)
    expected = 1 - 0.01 * 2 / (math.sqrt(0.04 - 0.0004) + 1e-8)
    assert one_step(optim.RMSprop, centered=True) == pytest.approx(expected, rel=1e-14)


def test_adagrad_first_steps_with_lr_decay():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.Adagrad([p], lr=0.1, lr_decay=0.5, initial_accumulator_value=5.0)
    assert opt.state_dict()["state"][0]["sum"].tolist() == [5.0]  # filled at construction
    p.grad = np.array([2.0])
    opt.step()  # sum = 9, clr = 0.1
    first = 1 - 0.1 * 2 / (3 + 1e-10)  # eps = 1e-10
    assert p.numpy()[0] == pytest.approx(first, rel=1e-15)
    p.grad = np.array([4.0])
    opt.step()  # sum = 25, clr = 0.1 / 1.5
    assert p.numpy()[0] == pytest.approx(first - 0.1 / 1.5 * 4 / (5 + 1e-10), rel=1e-15)


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_every_update_is_an_in_place_write(make):
    p = nn.Parameter(np.ones(3))
    data = p.numpy()
    opt = make([p])
    p.grad = np.full(3, 0.5)
    before = p._version
    opt.step()
    assert p.numpy() is data  # the same array, written in place
    assert p._version > before


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_every_optimizer_tells_the_hooks(make):
    seen = []

    class Recorder(hooks.Hook):
        def optimizer_step(self, optimizer, phase):
            seen.append((type(optimizer).__name__, phase))

    p = nn.Parameter(np.ones(2))
    opt = make([p])
    p.grad = np.ones(2)
    recorder = Recorder()
    hooks.install(recorder)
    try:
        opt.step()
    finally:
        hooks.uninstall(recorder)
    assert seen == [(type(opt).__name__, "begin"), (type(opt).__name__, "end")]


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_float32_stays_float32(make):
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = make([p])
    for _ in range(3):
        p.grad = np.full(3, 0.5, dtype=np.float32)
        opt.step()
    assert p.numpy().dtype == np.float32
    for state in opt.state_dict()["state"].values():
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


def test_state_dict_layout():
    a, b, c = (nn.Parameter(np.ones(n)) for n in (1, 2, 3))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}], amsgrad=True)
    b.grad = np.ones(2)
    opt.step()
    saved = opt.state_dict()
    assert sorted(saved) == ["param_groups", "state"]
    assert list(saved["state"]) == [1]  # only the parameter that has stepped
    assert sorted(saved["state"][1]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert saved["state"][1]["step"] == 1
    assert saved["param_groups"] == [
        {
            "lr": 1e-3,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 0,
            "amsgrad": True,
            "maximize": False,
            "params": [0, 1],
        },
        {
            "lr": 0.1,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 0,
            "amsgrad": True,
            "maximize": False,
            "params": [2],
        },
    ]


def test_load_state_dict_casts_arrays_to_the_parameters_dtype():
    p = nn.Parameter(np.ones(2))
    opt = optim.RMSprop([p], momentum=0.9)
    p.grad = np.ones(2)
    opt.step()
    q = nn.Parameter(np.ones(2, dtype=np.float32))
    other = optim.RMSprop([q], momentum=0.9)
    other.load_state_dict(opt.state_dict())
    state = other.state_dict()["state"][0]
    assert state["square_avg"].dtype == np.float32
    assert state["momentum_buffer"].dtype == np.float32
    assert state["step"] == 1


def test_add_param_group_takes_the_defaults_and_a_single_parameter():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = optim.RMSprop([a], lr=0.5, alpha=0.9)
    opt.add_param_group({"params": b, "lr": 0.1})
    assert opt.param_groups[1]["params"] == [b]
    assert (opt.param_groups[1]["lr"], opt.param_groups[1]["alpha"]) == (0.1, 0.9)


def test_add_param_group_refuses_a_set():
    opt = optim.Adam([nn.Parameter(np.ones(1))])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {nn.Parameter(np.ones(1))}})
