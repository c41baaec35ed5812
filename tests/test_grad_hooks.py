"""``Variable.register_hook``: PyTorch's gradient hooks, on ndarray gradients."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz.autograd import engine


def leaf(values) -> Variable:
    return Variable(np.array(values, dtype=np.float64), requires_grad=True)


def run(lib, x0, *, retain: bool):
    """y = 2x, hooks on y (observe, scale by 10) and on x (add 1), loss sum(y * y); returns
    (x.grad, y's retained grad, what the observing hook saw), as ndarrays."""
    x = lib.tensor(x0, requires_grad=True) if lib is not gradviz else leaf(x0)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(np.array(g.tolist())))
    y.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    if retain:
        y.retain_grad()
    (y * y).sum().backward()
    grad_y = None if not retain else np.asarray(y.grad)
    return np.asarray(x.grad), grad_y, seen


def test_hooks_run_in_order_replace_the_gradient_and_retain_grad_keeps_the_result():
    x_grad, y_grad, seen = run(gradviz, [1.0, 2.0, 3.0], retain=True)
    np.testing.assert_array_equal(seen[0], [4.0, 8.0, 12.0])  # dL/dy = 2y, before the scaling
    np.testing.assert_array_equal(y_grad, [40.0, 80.0, 120.0])
    np.testing.assert_array_equal(x_grad, [81.0, 161.0, 241.0])  # 2 * 40 + 1 ...


def test_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = run(gradviz, [1.0, -2.0, 0.5], retain=True)
    theirs = run(torch, [1.0, -2.0, 0.5], retain=True)
    for got, want in zip(ours[:2], theirs[:2], strict=True):
        np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(ours[2][0], theirs[2][0])


def test_a_leaf_hook_sees_each_new_gradient_before_it_accumulates():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(seen[1], [2.0, 4.0])  # not the accumulated [5, 7]
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_a_hook_gets_a_variable_and_may_return_one_as_torch():
    x = leaf([0.5, 3.0])
    given = []
    x.register_hook(lambda g: given.append(g) or g.clamp(-1, 1))
    (x * x).sum().backward()
    assert isinstance(given[0], gradviz.Variable)
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])  # 2x clamped: [1, 6] -> [1, 1]


def test_a_removed_hook_runs_no_more():
    x = leaf([1.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 1).sum().backward()
    handle.remove()
    handle.remove()  # again: nothing
    (x * 1).sum().backward()
    assert calls == [1]


def test_a_hook_that_changes_the_shape_is_named():
    x = leaf([1.0, 2.0])
    y = x * 1

    def widen(g):
        return np.ones(3)

    y.register_hook(widen)
    with pytest.raises(gradviz.BackwardError, match="hook 'widen' has changed the size"):
        y.sum().backward()


def test_only_a_callable_on_a_variable_that_requires_grad():
    with pytest.raises(gradviz.OperandError, match="does not require grad"):
        Variable(np.ones(2)).register_hook(lambda g: g)
    with pytest.raises(gradviz.OperandError, match="expected a callable"):
        leaf([1.0]).register_hook(3)


def test_hooked_gradients_are_what_the_trace_records():
    x = leaf([1.0, 2.0])
    with gradviz.trace() as tr:
        y = x * 3
        y.register_hook(lambda g: g * 0)
        y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    x_node, y_node = list(tr.graph.nodes(data=True))[:2]  # then the sum
    assert (x_node[1]["grad"]["norm"], y_node[1]["grad"]["norm"]) == (0.0, 0.0)  # as hooked


def test_a_hook_goes_with_its_variable():
    x = leaf([1.0])
    key = x._id
    x.register_hook(lambda g: g)
    assert key in engine._GRAD_HOOKS
    del x
    gc.collect()
    assert key not in engine._GRAD_HOOKS


# ---------------------------------------------------------------------- what check says
def _hooked_step(hook):
    """One traced step of a two-layer net whose last weight has ``hook``; its report."""
    rng = np.random.default_rng(0)
    model = gradviz.nn.Sequential(
        gradviz.nn.Linear(4, 8), gradviz.nn.ReLU(), gradviz.nn.Linear(8, 1)
    )
    model[2].weight.register_hook(hook)
    x = gradviz.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    with gradviz.trace() as tr:
        model(x).pow(2).mean().backward()
    return tr, tr.check()


def zero_every_gradient(g):
    return g * 0


def test_check_blames_a_hook_that_zeroes_a_gradient_not_the_op_below_it():
    tr, report = _hooked_step(zero_every_gradient)
    (found,) = [f for f in report.by_kind("no_gradient") if "2.weight" in f.message]
    assert "gradient hook zero_every_gradient at " in found.message
    assert "test_grad_hooks.py:" in found.message
    assert "Linear" not in found.message  # Linear's backward gave a non-zero gradient
    assert "return None to keep the gradient" in found.advice[0]
    (event,) = [e for e in tr.events if e.kind == "grad_hook"]
    assert event.op == "zero_every_gradient"


def test_check_finds_a_nan_born_in_a_hook():
    _, report = _hooked_step(lambda g: g * np.nan)
    (birth,) = report.by_kind("nan_backward")
    assert birth.message.startswith("the gradient hook <lambda> at ")
    assert "test_grad_hooks.py:" in birth.message
    assert "2.weight" in birth.message
    assert "for a finite gradient" in birth.message


def test_a_hook_that_keeps_the_gradient_finite_and_non_zero_is_no_event():
    tr, report = _hooked_step(lambda g: g * 0.5)
    assert not [e for e in tr.events if e.kind == "grad_hook"]
    assert not [f for f in report.findings if "2.weight" in f.message and "hook" in f.message]


def test_the_hook_event_survives_a_saved_trace(tmp_path):
    tr, _ = _hooked_step(zero_every_gradient)
    tr.save(tmp_path / "t.json")
    loaded = gradviz.load_trace(tmp_path / "t.json")
    (found,) = [f for f in loaded.check().by_kind("no_gradient") if "2.weight" in f.message]
    assert "gradient hook zero_every_gradient" in found.message


def test_post_accumulate_grad_hooks_step_each_parameter_inside_backward_as_pytorchs():
    """Was: no ``Tensor.register_post_accumulate_grad_hook`` (the optimizer-in-backward
    tutorial: one optimizer per parameter, stepped and zeroed by a hook as its .grad is in)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    x = rng.normal(size=(5, 3))

    def run(lib):
        params = [lib.tensor(w, requires_grad=True) for w in (w1, w2)]
        optimizers = {p: lib.optim.SGD([p], lr=0.1, momentum=0.9) for p in params}
        seen = []

        def hook(parameter):
            seen.append(tuple(parameter.shape))
            optimizers[parameter].step()
            optimizers[parameter].zero_grad()

        handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
        for _ in range(3):
            (lib.tensor(x) @ params[0].T).tanh().matmul(params[1].T).pow(2).sum().backward()
        handles[1].remove()
        (lib.tensor(x) @ params[0].T).sum().backward()
        return [p.detach().numpy().copy() for p in params], seen, params[1].grad

    ours, theirs = run(gradviz), run(torch)
    for a, b in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert ours[1] == [tuple(s) for s in theirs[1]]  # the order the leaves were reached
    assert ours[2] is None
    assert theirs[2] is None
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (gradviz.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)


def test_an_optimizer_stepped_inside_backward_is_measured_as_the_steps_update():
    """Was: the optimizer-in-backward recipe trained, but `gradviz check` showed update/weight
    `-` and "no parameter changed between this backward call and the next forward"."""
    gradviz.manual_seed(0)
    model = gradviz.nn.Sequential(
        gradviz.nn.Linear(3, 4), gradviz.nn.Tanh(), gradviz.nn.Linear(4, 1)
    )
    optimizers = {p: gradviz.optim.SGD([p], lr=0.1) for p in model.parameters()}

    def step(parameter):
        optimizers[parameter].step()
        optimizers[parameter].zero_grad()

    for p in model.parameters():
        p.register_post_accumulate_grad_hook(step)
    x = gradviz.randn(8, 3)
    before = model[0].weight.detach().clone()
    with gradviz.trace() as tr:
        model(x).pow(2).mean().backward()
    report = tr.check()
    moved = float(np.linalg.norm(model[0].weight.numpy() - before.numpy()))
    assert moved > 0
    (first,) = [layer for layer in report.layers if layer.module == "0"]
    assert first.update_ratio is not None
    assert first.update_ratio > 0
    assert "no parameter changed" not in str(report)
