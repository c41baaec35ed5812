"""Hostile input, round 5: the newest layers and the many-steps commands as a new user runs
them (mixed precision, notebooks, pooling in one dimension); each case ends in PyTorch's result
or a GradvizError that says what was wrong and what is expected."""

from __future__ import annotations

import pytest

import gradviz
from gradviz import nn, optim
from gradviz.autograd.errors import GradvizError


def _scaled_step(scaler: gradviz.amp.GradScaler, call: str) -> None:
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(gradviz.ones(1, 2)).sum().backward()  # the loss was not scaled: scaler.scale forgotten
    if call == "unscale_":
        scaler.unscale_(opt)
    elif call == "step":
        scaler.step(opt)
    else:
        scaler.update()


@pytest.mark.parametrize("call", ["unscale_", "step", "update"])
def test_a_scaler_used_before_it_scaled_anything_says_scale_was_forgotten(call):
    # PyTorch: "Attempted step but _scale is None. This may indicate your script did not use
    # scaler.scale(loss or outputs) earlier in the iteration." (an AssertionError); stepping
    # silently divides the unscaled gradients by 65536 instead
    scaler = gradviz.amp.GradScaler("cpu")
    with pytest.raises(GradvizError, match=f"Attempted {call} but _scale is None") as info:
        _scaled_step(scaler, call)
    assert isinstance(info.value, AssertionError)
    assert "scaler.scale(loss" in str(info.value)


def test_a_scaler_that_scaled_once_steps_as_before():
    scaler = gradviz.amp.GradScaler("cpu", init_scale=4.0)
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler.scale(model(gradviz.ones(1, 2)).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 4.0
    assert scaler.state_dict()["_growth_tracker"] == 1
