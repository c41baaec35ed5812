"""gradviz.optim: SGD and Adam against hand-computed steps of PyTorch's update rules.

Each optimizer minimises ``f(p) = (p - c)**2`` for a scalar ``p`` starting at 1, so the gradient
``2 * (p - c)`` is easy to follow by hand; it is set directly on ``p.grad`` so these tests check
the optimizers alone, not the engine.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim
from gradviz.autograd.errors import OptimizerError


def run(make_optimizer, steps: int = 3, c: float = 0.0, start: float = 1.0) -> list[float]:
    """Parameter values after each step of minimising (p - c)**2 from ``start``."""
    p = nn.Parameter(np.array([start]))  # float64, so the numbers below are exact to ~1e-15
    optimizer = make_optimizer([p])
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        p.grad = 2 * (p.numpy() - c)
        optimizer.step()
        values.append(float(p.numpy()[0]))
    return values


# ------------------------------------------------------------------------------------ SGD


def test_sgd_plain():
    # p <- p - lr * 2p = 0.8 p
    assert run(lambda ps: optim.SGD(ps, lr=0.1)) == pytest.approx([0.8, 0.64, 0.512])


def test_sgd_momentum():
    # buf = g on the first step, then buf = 0.9 buf + g; p <- p - 0.1 buf
    # g=2    buf=2                p=0.8
    # g=1.6  buf=1.8+1.6=3.4      p=0.8-0.34=0.46
    # g=0.92 buf=3.06+0.92=3.98   p=0.46-0.398=0.062
    values = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    assert values == pytest.approx([0.8, 0.46, 0.062])


def test_sgd_dampening_is_not_applied_on_the_first_step():
    # buf = g first, then buf = 0.9 buf + (1 - 0.5) g
    # g=2    buf=2                    p=0.8
    # g=1.6  buf=1.8+0.8=2.6          p=0.54
    # g=1.08 buf=2.34+0.54=2.88       p=0.252
    values = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5))
    assert values == pytest.approx([0.8, 0.54, 0.252])


def test_sgd_nesterov():
    # buf as for momentum; the step uses g + 0.9 buf
    # g=2      buf=2       d=2+1.8=3.8             p=1-0.38=0.62
    # g=1.24   buf=3.04    d=1.24+2.736=3.976      p=0.62-0.3976=0.2224
    # g=0.4448 buf=3.1808  d=0.4448+2.86272=3.30752 p=0.2224-0.330752=-0.108352
    values = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True))
    assert values == pytest.approx([0.62, 0.2224, -0.108352])


def test_sgd_weight_decay():
    # g + 0.1 p = 2.1 p, so p <- p - 0.1 * 2.1 p = 0.79 p
    values = run(lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.1))
    assert values == pytest.approx([0.79, 0.79**2, 0.79**3])


def test_sgd_weight_decay_enters_the_momentum_buffer():
    # d = 2.1 p;  d=2.1 buf=2.1 p=0.79;  d=1.659 buf=1.89+1.659=3.549 p=0.79-0.3549=0.4351
    values = run(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), steps=2)
    assert values == pytest.approx([0.79, 0.4351])


def test_sgd_keeps_the_momentum_buffer_in_state():
    p = nn.Parameter(np.array([1.0]))
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([2.0])
    optimizer.step()
    p.grad = np.array([1.0])
    optimizer.step()
    (state,) = optimizer.state.values()
    np.testing.assert_allclose(state["momentum_buffer"], [2.8])


# ----------------------------------------------------------------------------------- Adam


def test_adam_first_step_moves_by_lr_whatever_the_gradient_scale():
    # m_hat = g and v_hat = g**2 after one step, so the update is lr * g / (|g| + eps)
    p = nn.Parameter(np.array([1.0, 1.0, 1.0, 1.0]))
    optimizer = optim.Adam([p], lr=0.1)
    p.grad = np.array([1e-3, -2.0, 50.0, 0.0])
    optimizer.step()
    np.testing.assert_allclose(p.numpy(), [0.9, 1.1, 0.9, 1.0], rtol=1e-5)


def test_adam_three_steps():
    # c=3: g = 2(p - 3), lr=0.1, betas=(0.9, 0.999)
    # step 1: g=-4,   m=-0.4,  v=0.016;          m_hat=-4,      v_hat=16      p=1.1
    # step 2: g=-3.8, m=-0.74, v=0.030424;       m_hat=-0.74/0.19=-3.8947368,
    #         v_hat=0.030424/0.001999=15.2196098  p=1.1+0.1*3.8947368/3.9012318=1.1998335
    # step 3: the same rule once more
    values = run(lambda ps: optim.Adam(ps, lr=0.1), c=3.0)
    assert values == pytest.approx([1.09999999975, 1.1998335138842988, 1.2993766079535347])


def test_adam_weight_decay_is_added_to_the_gradient():
    # g = 2(p - 3) + 0.5 p (L2 penalty, not AdamW's decoupled decay)
    # step 1: g=-3.5,  m=-0.35, v=0.01225;        p=1.1
    # step 2: g=-3.25, m=-0.64, v=0.02280025;     m_hat=-3.3684211, v_hat=11.4058279
    #         p=1.1+0.1*3.3684211/3.3772516=1.1997385
    values = run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5), c=3.0)
    assert values == pytest.approx([1.0999999997142857, 1.1997385300028527, 1.2990099745363854])


def test_adam_custom_betas_and_eps():
    # betas=(0.5, 0.5), eps=1: step 1 update = lr * g / (|g| + 1) = 0.1 * 2 / 3
    values = run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.5, 0.5), eps=1.0), steps=1)
    assert values == pytest.approx([1 - 0.2 / 3])


def test_adam_state():
    p = nn.Parameter(np.array([1.0]))
    optimizer = optim.Adam([p])
    for _ in range(2):
        p.grad = np.array([2.0])
        optimizer.step()
    (state,) = optimizer.state.values()
    assert state["step"] == 2
    np.testing.assert_allclose(state["exp_avg"], [0.1 * 2 * 0.9 + 0.1 * 2])
    np.testing.assert_allclose(state["exp_avg_sq"], [0.001 * 4 * 0.999 + 0.001 * 4])


# ----------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.01),
    ],
    ids=["SGD", "Adam"],
)
def test_float32_parameters_stay_float32(make):
    model = nn.Linear(3, 2)
    optimizer = make(model.parameters())
    for _ in range(2):
        optimizer.zero_grad()
        model(Variable(np.ones((4, 3), np.float32))).sum().backward()
        optimizer.step()
    for p in model.parameters():
        assert p.dtype == np.float32
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


def test_step_updates_in_place():
    p = nn.Parameter(np.array([1.0]))
    data = p.numpy()
    optimizer = optim.SGD([p], lr=0.5)
    p.grad = np.array([1.0])
    optimizer.step()
    assert p.numpy() is data
    assert data[0] == 0.5


@pytest.mark.parametrize(
    "layout", ["contiguous", "transposed", "float64_grad"], ids=lambda layout: layout
)
def test_sgd_update_of_a_large_parameter(layout):
    """Large parameters (more than 65,536 elements) are updated block by block: same numbers."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(300, 400)).astype(np.float32)
    grad = rng.normal(size=(300, 400)).astype(np.float32)
    data = start.copy()
    if layout == "transposed":  # a non-contiguous parameter (a transposed view)
        start, grad, data = start.T, grad.T.copy(), data.T
        assert not data.flags.c_contiguous
    p = nn.Parameter(data)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = grad.astype(np.float64) if layout == "float64_grad" else grad
    optimizer.step()
    p.grad = 2 * p.grad
    optimizer.step()
    # buf = g, then 0.9 g + 2 g = 2.9 g: p = start - 0.1 g - 0.29 g
    np.testing.assert_allclose(p.numpy(), start - 0.39 * grad, rtol=1e-5, atol=1e-6)
    assert p.dtype == np.float32
    assert p.shape == start.shape


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1), optim.Adam])
def test_zero_grad_sets_grads_to_none(make):
    params = [nn.Parameter([1.0]), nn.Parameter([2.0])]
    for p in params:
        p.grad = np.ones(1, np.float32)
    optimizer = make(params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_set_to_none_false_keeps_zero_arrays():
    p = nn.Parameter([1.0, 2.0])
    p.grad = np.ones(2, np.float32)
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


@pytest.mark.parametrize(
    "make",
    [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), optim.Adam],
    ids=["SGD", "Adam"],
)
def test_parameters_without_grad_are_skipped(make):
    used, unused = nn.Parameter([1.0]), nn.Parameter([5.0])
    optimizer = make([used, unused])
    used.grad = np.ones(1, np.float32)
    optimizer.step()
    assert used.numpy()[0] != 1.0
    assert unused.numpy()[0] == 5.0  # not even weight decay touches it
    assert len(optimizer.state) == 1  # no momentum or moments for the skipped one


def test_param_groups_with_their_own_settings():
    a, b = nn.Parameter(np.array([1.0])), nn.Parameter(np.array([1.0]))
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
    assert optimizer.param_groups[1]["momentum"] == 0.9  # defaults fill the rest
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    optimizer.step()
    assert a.numpy()[0] == pytest.approx(0.9)
    assert b.numpy()[0] == pytest.approx(0.5)


def test_changing_a_group_lr_takes_effect():
    """The idiom learning-rate schedules use: edit ``param_groups`` between steps."""
    p = nn.Parameter(np.array([1.0]))
    optimizer = optim.SGD([p], lr=0.1)
    optimizer.param_groups[0]["lr"] = 0.01
    p.grad = np.array([1.0])
    optimizer.step()
    assert p.numpy()[0] == pytest.approx(0.99)


def test_optimizer_accepts_a_generator_of_parameters():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    assert len(optimizer.param_groups[0]["params"]) == 4


def test_repr():
    p = nn.Parameter([1.0])
    assert repr(optim.SGD([p], lr=0.1)) == (
        "SGD(lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)"
    )
    assert repr(optim.Adam([p])).startswith("Adam(lr=0.001, betas=(0.9, 0.999)")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: optim.SGD([p * 2], lr=0.1), "non-leaf"),
        (lambda p: optim.SGD([p, p], lr=0.1), "more than once"),
        (lambda p: optim.SGD([p], lr=-1.0), "Invalid learning rate"),
        (lambda p: optim.SGD([p], lr=0.1, momentum=-0.1), "Invalid momentum"),
        (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.Adam([p], betas=(1.0, 0.999)), "beta parameter at index 0"),
        (lambda p: optim.Adam([p], eps=-1.0), "epsilon"),
        (lambda p: optim.Adam([p], weight_decay=-1.0), "weight_decay"),
    ],
)
def test_bad_settings_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make(nn.Parameter([1.0]))


def test_non_variable_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)


@pytest.mark.parametrize(
    "make",
    [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.05)],
    ids=["SGD", "Adam"],
)
def test_training_loop_converges(make):
    """zero_grad, backward, step: a linear model fits y = 3x - 1."""
    model = nn.Linear(1, 1)
    optimizer = make(model.parameters())
    x = Variable(np.linspace(-1, 1, 16, dtype=np.float32).reshape(-1, 1))
    y = Variable(3 * x.numpy() - 1)
    for _ in range(300):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 1e-3
    assert model.weight.numpy()[0, 0] == pytest.approx(3.0, abs=0.05)
    assert model.bias.numpy()[0] == pytest.approx(-1.0, abs=0.05)


def test_loading_a_state_of_the_wrong_shape_is_refused_at_load():
    w = Variable(np.ones((2, 3)), requires_grad=True)
    opt = optim.Adam([w])
    w.grad = np.ones((2, 3))
    opt.step()
    state = opt.state_dict()
    state["state"][0]["exp_avg"] = np.zeros((3, 2))
    with pytest.raises(OptimizerError, match=r"'exp_avg' of parameter 0 has shape \(3, 2\)"):
        optim.Adam([w]).load_state_dict(state)


def test_optimizer_state_dict_holds_variables_sharing_the_optimizer_state():
    # as PyTorch's tensors: `opt.state_dict()["state"][0]["exp_avg"].norm()` works, and the
    # values follow training (shared, not copied) until copy.deepcopy snapshots them
    import copy

    gradviz.manual_seed(0)
    model = gradviz.nn.Linear(3, 2)
    opt = gradviz.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        model(gradviz.randn(4, 3)).sum().backward()
        opt.step()
    saved = opt.state_dict()
    moment = saved["state"][0]["exp_avg"]
    assert isinstance(moment, gradviz.Variable)
    assert not moment.requires_grad
    assert moment.shape == (2, 3)
    assert float(moment.norm()) > 0
    snapshot = copy.deepcopy(saved)
    opt.zero_grad()
    model(gradviz.randn(4, 3)).sum().backward()
    opt.step()
    assert not np.array_equal(moment.numpy(), snapshot["state"][0]["exp_avg"].numpy())
    fresh = gradviz.optim.Adam(model.parameters(), lr=0.1)
    fresh.load_state_dict(snapshot)  # Variables load as arrays do
    np.testing.assert_array_equal(
        fresh.state_dict()["state"][0]["exp_avg"].numpy(), snapshot["state"][0]["exp_avg"].numpy()
    )
