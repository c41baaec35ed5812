"""Hostile input, round 4: the schedulers a tutorial's training loop reached for and did not
find (``CosineAnnealingWarmRestarts``, ``PolynomialLR``: AttributeError), now with PyTorch's
rates to the last bit (their 100-step rows are in test_lr_scheduler_torch.py's table), stepped
by fractional epoch here."""

from __future__ import annotations

import pytest
from test_lr_scheduler_torch import assert_same_rates, optimizers

import gradviz
from gradviz.optim import lr_scheduler

torch = pytest.importorskip("torch")


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
