"""Hostile input, round 6: what landed with several-output Functions, the new optimizers and
schedulers, weight parametrizations and anomaly mode, used as users break things (an added param
group, a deep copy, ``backward(inputs=...)``, a masked NaN); each case ends in PyTorch's result
or a GradvizError that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import OptimizerError


def _quadratic_closure(opt, *params):
    def closure():
        opt.zero_grad()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        return loss

    return closure


def test_lbfgs_refuses_to_step_with_a_second_param_group_instead_of_ignoring_it():
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    b = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = gradviz.optim.LBFGS([w])
    opt.add_param_group({"params": [b]})  # PyTorch accepts it, and refuses at step
    with pytest.raises(OptimizerError, match="got 2"):
        opt.step(_quadratic_closure(opt, w, b))
    np.testing.assert_array_equal(b.numpy(), 1.0)  # nothing moved half-way
