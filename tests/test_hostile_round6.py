"""Hostile input, round 6: what landed with several-output Functions, the new optimizers and
schedulers, weight parametrizations and anomaly mode, used as users break things (an added param
group, a deep copy, ``backward(inputs=...)``, a masked NaN); each case ends in PyTorch's result
or a GradvizError that says what to do."""

from __future__ import annotations

import copy

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


def _weight_normed() -> nn.Module:
    gradviz.manual_seed(0)
    return nn.utils.parametrizations.weight_norm(nn.Linear(3, 4))


def test_removing_the_parametrization_of_a_deep_copy_leaves_the_original_working():
    model = _weight_normed()
    x = gradviz.randn(2, 3)
    before = model(x).numpy()
    exported = copy.deepcopy(model)
    nn.utils.parametrize.remove_parametrizations(exported, "weight")
    np.testing.assert_array_equal(model(x).numpy(), before)  # AttributeError: no 'weight' before
    np.testing.assert_allclose(exported(x).numpy(), before, rtol=1e-6)
    assert type(exported) is nn.Linear
    assert type(model).__name__ == "ParametrizedLinear"


def test_a_parametrization_added_to_a_deep_copy_is_not_added_to_the_original():
    model = _weight_normed()
    twin = copy.deepcopy(model)
    nn.utils.parametrize.register_parametrization(twin, "bias", nn.Identity())
    assert not nn.utils.parametrize.is_parametrized(model, "bias")
    assert model.bias is model._parameters["bias"]  # KeyError 'bias' before
    assert sorted(twin.state_dict()) == [
        "parametrizations.bias.original",
        "parametrizations.weight.original0",
        "parametrizations.weight.original1",
    ]
