"""PyTorch as the oracle for ``gradviz.optim.lr_scheduler``: the same rates, to the last bit.

Each scheduler drives an optimizer with two parameter groups (rates 0.1 and 0.05) in both
libraries for 100 steps; ``get_last_lr()`` and the groups' rates (and momentum or beta1, for
OneCycleLR) must be equal floats after every step. Skipped unless torch is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import nn, optim
from gradviz.autograd.errors import OperandError, OptimizerError
from gradviz.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 100


def warmup(epoch):
    return min(1.0, (epoch + 1) / 10) * 0.97**epoch


#: (scheduler, keyword arguments, optimizer)
CASES = [
    ("StepLR", {"step_size": 7}, "SGD"),
    ("StepLR", {"step_size": 3, "gamma": 0.7}, "SGD"),
    ("MultiStepLR", {"milestones": [10, 30, 30, 75], "gamma": 0.5}, "SGD"),
    ("ExponentialLR", {"gamma": 0.97}, "SGD"),
    ("CosineAnnealingLR", {"T_max": 30}, "SGD"),  # runs past T_max: back up and down again
    ("CosineAnnealingLR", {"T_max": 100, "eta_min": 1e-3}, "SGD"),
    ("LinearLR", {}, "SGD"),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.5, "total_iters": 40}, "SGD"),
    ("LambdaLR", {"lr_lambda": warmup}, "SGD"),
    ("LambdaLR", {"lr_lambda": [warmup, lambda e: 1 / (1 + e)]}, "SGD"),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": STEPS}, "SGD"),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "epochs": 10, "steps_per_epoch": 10}, "Adam"),
    (
        "OneCycleLR",
        {"max_lr": 0.3, "total_steps": STEPS, "three_phase": True, "anneal_strategy": "linear"},
        "SGD",
    ),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": STEPS, "cycle_momentum": False}, "Adagrad"),
    ("CosineAnnealingWarmRestarts", {"T_0": 10}, "SGD"),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 1e-3}, "SGD"),
    ("PolynomialLR", {}, "SGD"),
    ("PolynomialLR", {"total_iters": 40, "power": 2.0}, "SGD"),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


def optimizers(kind: str):
    """The same two-group optimizer in both libraries."""
    extra = {"momentum": 0.9} if kind == "SGD" else {}
    ours = getattr(optim, kind)(
        [
            {"params": [nn.Parameter(np.ones(2))]},
            {"params": [nn.Parameter(np.ones(3))], "lr": 0.05},
        ],
        lr=0.1,
        **extra,
    )
    theirs = getattr(torch.optim, kind)(
        [
            {"params": [torch.ones(2, requires_grad=True)]},
            {"params": [torch.ones(3, requires_grad=True)], "lr": 0.05},
        ],
        lr=0.1,
        **extra,
    )
    return ours, theirs


def assert_same_rates(ours, theirs, mine, reference):
    assert mine.get_last_lr() == reference.get_last_lr()
    for group, their_group in zip(ours.param_groups, theirs.param_groups, strict=True):
        assert group["lr"] == their_group["lr"]
        for key in ("momentum", "betas"):
            if key in group:
                assert tuple(np.atleast_1d(group[key])) == tuple(np.atleast_1d(their_group[key]))


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_rates_equal_pytorchs_for_100_steps(name, kwargs, kind):
    ours, theirs = optimizers(kind)
    mine = getattr(lr_scheduler, name)(ours, **kwargs)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    assert_same_rates(ours, theirs, mine, reference)
    for _ in range(STEPS):
        ours.step()
        theirs.step()
        mine.step()
        reference.step()
        assert_same_rates(ours, theirs, mine, reference)
    state, expected = mine.state_dict(), reference.state_dict()
    for key in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert state[key] == expected[key], key


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_state_dict_resumes_the_schedule(name, kwargs, kind):
    ours, _ = optimizers(kind)
    mine = getattr(lr_scheduler, name)(ours, **kwargs)
    for _ in range(40):
        ours.step()
        mine.step()
    saved_optimizer, saved = ours.state_dict(), mine.state_dict()
    rates = []
    for _ in range(20):
        ours.step()
        mine.step()
        rates.append(mine.get_last_lr())
    # PyTorch's order: make the scheduler, then load the optimizer (its rates), then the scheduler.
    again, _ = optimizers(kind)
    resumed = getattr(lr_scheduler, name)(again, **kwargs)
    again.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    for expected in rates:
        again.step()
        resumed.step()
        assert resumed.get_last_lr() == expected


METRICS = [1.0, 0.9, 0.9, 0.95, 0.92, 0.91, 0.9, 0.9, 0.9, 0.89999, 0.5] * 9 + [0.5] * 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"patience": 2},
        {"mode": "max", "patience": 1, "factor": 0.5, "threshold_mode": "abs"},
        {"patience": 0, "cooldown": 2, "min_lr": [0.02, 0.001]},
        {"patience": 1, "threshold": 0.05, "min_lr": 0.01, "eps": 1e-3},
    ],
)
def test_reduce_lr_on_plateau_equals_pytorchs(kwargs):
    ours, theirs = optimizers("SGD")
    mine = lr_scheduler.ReduceLROnPlateau(ours, **kwargs)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    assert mine.get_last_lr() == reference.get_last_lr()
    for metric in METRICS:
        mine.step(metric)
        reference.step(metric)
        assert mine.get_last_lr() == reference.get_last_lr()
        assert (mine.best, mine.num_bad_epochs, mine.cooldown_counter) == (
            reference.best,
            reference.num_bad_epochs,
            reference.cooldown_counter,
        )
    assert mine.get_last_lr() != [0.1, 0.05]  # the schedule did reduce


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("StepLR", {"step_size": 10, "gamma": 0.5}),
        ("MultiStepLR", {"milestones": [3, 20, 20]}),
        ("ExponentialLR", {"gamma": 0.9}),
        ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
        ("LinearLR", {"total_iters": 40}),
    ],
)
def test_step_with_an_epoch_uses_the_closed_form_and_warns_as_pytorch(name, kwargs):
    ours, theirs = optimizers("SGD")
    mine = getattr(lr_scheduler, name)(ours, **kwargs)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    ours.step()
    theirs.step()
    for epoch in (25, 5, 30):
        with pytest.warns(UserWarning, match="epoch parameter") as ours_warned:
            mine.step(epoch)
        with pytest.warns(UserWarning, match="epoch parameter") as theirs_warned:
            reference.step(epoch)
        assert str(ours_warned[0].message) == str(theirs_warned[0].message)
        assert mine.get_last_lr() == reference.get_last_lr()


def test_scheduler_stepped_before_the_optimizer_warns_as_pytorch():
    ours, theirs = optimizers("SGD")
    mine = lr_scheduler.StepLR(ours, step_size=2)
    reference = torch.optim.lr_scheduler.StepLR(theirs, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`") as ours_warned:
        mine.step()
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`") as theirs_warned:
        reference.step()
    assert str(ours_warned[0].message) == str(theirs_warned[0].message)


def test_lr_scheduler_is_one_module_under_every_name():
    import gradviz.optim.lr_scheduler as by_path

    assert by_path is gradviz.optim.lr_scheduler is lr_scheduler
    assert lr_scheduler.StepLR is gradviz.autograd.optim.lr_scheduler.StepLR


def test_scheduler_needs_an_optimizer():
    with pytest.raises(OperandError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), "start_factor=0"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), "end_factor=1.5"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor=1.0"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="low"), "mode low is unknown"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), "total_steps"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=0), "got 0"),
        (lambda o: lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=1.5), "got 1.5"),
        (lambda o: lr_scheduler.LambdaLR(o, [math.exp]), "Expected 2 lr_lambdas, but got 1"),
    ],
)
def test_bad_arguments_name_the_value(make, message):
    ours, _ = optimizers("SGD")
    with pytest.raises(OptimizerError, match=message):
        make(ours)


def test_one_cycle_refuses_a_step_past_the_end():
    ours, _ = optimizers("SGD")
    scheduler = lr_scheduler.OneCycleLR(ours, max_lr=1.0, total_steps=3)
    ours.step()
    for _ in range(3):
        scheduler.step()
    with pytest.raises(OptimizerError, match="Tried to step 4 times"):
        scheduler.step()


def _sequential(lib, optimizer):
    """A linear warm-up of 5 steps, then cosine decay, then a step decay (``lib``'s)."""
    s = lib.lr_scheduler if lib is optim else torch.optim.lr_scheduler
    return s.SequentialLR(
        optimizer,
        [
            s.LinearLR(optimizer, start_factor=0.1, total_iters=5),
            s.CosineAnnealingLR(optimizer, T_max=20, eta_min=0.001),
            s.StepLR(optimizer, step_size=7, gamma=0.5),
        ],
        milestones=[5, 30],
    )


def test_sequential_lr_equals_pytorchs_and_resumes():
    ours, theirs = optimizers("SGD")
    mine, reference = _sequential(optim, ours), _sequential(torch.optim, theirs)
    assert_same_rates(ours, theirs, mine, reference)
    for step in range(60):
        ours.step()
        theirs.step()
        mine.step()
        reference.step()
        assert_same_rates(ours, theirs, mine, reference)
        if step == 20:  # (inside the cosine phase)
            saved_optimizer, saved = ours.state_dict(), mine.state_dict()
    again, _ = optimizers("SGD")
    resumed = _sequential(optim, again)
    again.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    replay, _ = optimizers("SGD")
    fresh = _sequential(optim, replay)
    for _ in range(21):
        replay.step()
        fresh.step()
    for _ in range(30):
        again.step()
        resumed.step()
        replay.step()
        fresh.step()
        assert resumed.get_last_lr() == fresh.get_last_lr()


def test_sequential_lr_checks_its_arguments():
    ours, _ = optimizers("SGD")
    other, _ = optimizers("SGD")
    warm = lr_scheduler.LinearLR(ours, total_iters=3)
    with pytest.raises(OptimizerError, match="one more than the number of milestone"):
        lr_scheduler.SequentialLR(ours, [warm], milestones=[3])
    with pytest.raises(OptimizerError, match="same optimizer"):
        lr_scheduler.SequentialLR(ours, [warm, lr_scheduler.StepLR(other, 2)], milestones=[3])
    plateau = lr_scheduler.ReduceLROnPlateau(ours)
    with pytest.raises(OptimizerError, match="ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(ours, [warm, plateau], milestones=[3])
