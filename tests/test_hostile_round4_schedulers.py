"""Hostile input, round 4: the schedulers a tutorial's training loop reached for and did not
find (``CosineAnnealingWarmRestarts``, ``PolynomialLR``: AttributeError), now with PyTorch's
rates to the last bit, stepped by count and by fractional epoch."""

from __future__ import annotations

import pytest
from test_lr_scheduler_torch import STEPS, assert_same_rates, optimizers

import gradviz
from gradviz.optim import lr_scheduler

torch = pytest.importorskip("torch")

CASES = [
    ("CosineAnnealingWarmRestarts", {"T_0": 10}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 1e-3}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 40, "power": 2.0}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_rates_equal_pytorchs_for_100_steps(name, kwargs):
    ours, theirs = optimizers("SGD")
    mine = getattr(lr_scheduler, name)(ours, **kwargs)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    assert_same_rates(ours, theirs, mine, reference)
    for _ in range(STEPS):
        ours.step()
        theirs.step()
        mine.step()
        reference.step()
        assert_same_rates(ours, theirs, mine, reference)
    assert mine.state_dict()["last_epoch"] == reference.state_dict()["last_epoch"]


@pytest.mark.parametrize("t_mult", [1, 2])
def test_warm_restarts_take_fractional_epochs_as_pytorchs(t_mult):
    """The documented loop: ``scheduler.step(epoch + i / iters)`` inside each epoch."""
    ours, theirs = optimizers("SGD")
    mine = lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=2, T_mult=t_mult)
    reference = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, T_0=2, T_mult=t_mult)
    for epoch in range(9):
        for i in range(4):
            ours.step()
            theirs.step()
            mine.step(epoch + i / 4)
            reference.step(epoch + i / 4)
            assert_same_rates(ours, theirs, mine, reference)


def test_warm_restarts_refuse_what_pytorch_refuses():
    ours, _ = optimizers("SGD")
    for bad in ({"T_0": 0}, {"T_0": 2.5}, {"T_0": 2, "T_mult": 0}, {"T_0": 2, "eta_min": "0"}):
        with pytest.raises(gradviz.ArgumentError, match="Expected"):
            lr_scheduler.CosineAnnealingWarmRestarts(ours, **bad)
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=2)
    with pytest.raises(gradviz.ArgumentError, match="non-negative epoch"):
        scheduler.step(-1)
