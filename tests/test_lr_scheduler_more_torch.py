"""PyTorch as the oracle for ConstantLR, MultiplicativeLR, CyclicLR and ChainedScheduler: the
same rates (and momentum or beta1, for CyclicLR) to the last bit for 100 steps, state dicts
that resume the schedule, and PyTorch's refusals (test_lr_scheduler_torch.py's harness)."""

from __future__ import annotations

import pytest
from test_lr_scheduler_torch import STEPS, assert_same_rates, optimizers
from test_lr_scheduler_torch import test_rates_equal_pytorchs_for_100_steps as rates_equal
from test_lr_scheduler_torch import test_state_dict_resumes_the_schedule as resumes

from gradviz.autograd.errors import OperandError, OptimizerError
from gradviz.optim import lr_scheduler

torch = pytest.importorskip("torch")


class Shrink:
    """A callable object: its ``__dict__`` is saved, as PyTorch saves it."""

    def __init__(self) -> None:
        self.factor = 0.97

    def __call__(self, epoch: int) -> float:
        return self.factor if epoch % 3 else 0.99


def halving(x: float) -> float:
    return 1 / (1.5**x)


#: (scheduler, keyword arguments, optimizer)
CASES = [
    ("ConstantLR", {}, "SGD"),
    ("ConstantLR", {"factor": 0.5, "total_iters": 40}, "SGD"),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95}, "SGD"),
    ("MultiplicativeLR", {"lr_lambda": [Shrink(), lambda e: 1.01]}, "Adam"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 7}, "SGD"),
    (
        "CyclicLR",
        {"base_lr": [0.01, 0.02], "max_lr": 0.3, "step_size_up": 5, "step_size_down": 11},
        "SGD",
    ),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "triangular2"}, "SGD"),
    (
        "CyclicLR",
        {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 6, "mode": "exp_range", "gamma": 0.97},
        "Adam",
    ),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "scale_fn": halving}, "SGD"),
    (
        "CyclicLR",
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "cycle_momentum": False},
        "Adagrad",
    ),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_rates_equal_pytorchs_for_100_steps(name, kwargs, kind):
    """The rates after every step, and the state dict holds the scheduler's own settings
    under PyTorch's names."""
    rates_equal(name, kwargs, kind)
    ours, theirs = optimizers(kind)
    state = getattr(lr_scheduler, name)(ours, **kwargs).state_dict()
    expected = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs).state_dict()
    assert {k for k in expected if not k.startswith("_") or k == "_scale_fn_custom"} <= set(state)


@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=IDS)
def test_state_dict_resumes_the_schedule(name, kwargs, kind):
    resumes(name, kwargs, kind)


def chain(lib, optimizer):
    schedulers = lib.optim.lr_scheduler
    return schedulers.ChainedScheduler(
        [
            schedulers.ConstantLR(optimizer, factor=0.1, total_iters=4),
            schedulers.ExponentialLR(optimizer, gamma=0.9),
            schedulers.CosineAnnealingLR(optimizer, T_max=20),
        ]
    )


def test_chained_scheduler_equals_pytorchs_and_saves_each_scheduler():
    import gradviz

    ours, theirs = optimizers("SGD")
    mine, reference = chain(gradviz, ours), chain(torch, theirs)
    assert mine.get_last_lr() == reference.get_last_lr()
    for _ in range(STEPS):
        ours.step()
        theirs.step()
        mine.step()
        reference.step()
        assert_same_rates(ours, theirs, mine, reference)
    state, expected = mine.state_dict(), reference.state_dict()
    assert sorted(state) == sorted(expected) == ["_last_lr", "_schedulers"]
    assert len(state["_schedulers"]) == 3
    again, _ = optimizers("SGD")
    resumed = chain(gradviz, again)
    again.load_state_dict(ours.state_dict())
    resumed.load_state_dict(state)
    for _ in range(10):
        again.step()
        ours.step()
        resumed.step()
        mine.step()
        assert resumed.get_last_lr() == mine.get_last_lr()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda s, o: s.ConstantLR(o, factor=1.5), OptimizerError, "between 0 and 1"),
        (lambda s, o: s.MultiplicativeLR(o, lr_lambda=0.9), OperandError, "should be a function"),
        (
            lambda s, o: s.MultiplicativeLR(o, lr_lambda=[lambda e: 1.0]),
            OptimizerError,
            "Expected 2 lr_lambdas, but got 1",
        ),
        (lambda s, o: s.CyclicLR(o, 0.1, 1.0, mode="sine"), OptimizerError, "mode is invalid"),
        (lambda s, o: s.ChainedScheduler([]), OptimizerError, "at least one scheduler"),
        (
            lambda s, o: s.ChainedScheduler([s.ReduceLROnPlateau(o)]),
            OptimizerError,
            "does not support `ReduceLROnPlateau`",
        ),
    ],
)
def test_refusals_as_pytorchs(make, error, match):
    ours, theirs = optimizers("SGD")
    with pytest.raises((ValueError, TypeError), match=match):
        make(torch.optim.lr_scheduler, theirs)
    with pytest.raises(error, match=match):
        make(lr_scheduler, ours)


def test_cyclic_lr_refuses_an_optimizer_without_momentum():
    ours, theirs = optimizers("Adagrad")
    with pytest.raises(ValueError, match="must support momentum"):
        torch.optim.lr_scheduler.CyclicLR(theirs, 0.01, 0.1)
    with pytest.raises(OptimizerError, match="must support momentum"):
        lr_scheduler.CyclicLR(ours, 0.01, 0.1)
