"""``.data`` and ``.grad`` are Variables sharing the array, as PyTorch's tensors: the lines
tutorials write by hand (d2l's ``param.grad.zero_()``, makemore's ``p.data += -lr * p.grad``
and its update-to-data ratios, DCGAN's ``m.weight.data.normal_(0.0, 0.02)``) run unchanged
and give PyTorch's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn


def _semantics(lib) -> dict:
    """What a user sees of ``.data`` and ``.grad``, one entry per behaviour, in ``lib``."""
    seen = {}
    w = lib.ones(3, requires_grad=True)
    (w * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
    held = w.grad
    (w * 2).sum().backward()
    seen["accumulates into the held .grad"] = (w.grad is held, held.tolist())
    seen["grad is grad"] = w.grad is w.grad
    seen["grad norm, std"] = (round(w.grad.norm().item(), 5), round(w.grad.std().item(), 5))
    with lib.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    seen["step, zero_"] = (w.tolist(), w.grad.tolist())
    w.data.mul_(2)
    seen["data.mul_"] = w.tolist()
    seen["data flags"] = (w.data.requires_grad, w.data.is_leaf, w.data is w.data)
    w.data -= 0.5 * w.grad + 1
    seen["data -="] = w.tolist()
    view = w.data
    view[0] = 7.0
    seen["data setitem"] = w.tolist()
    w.data = lib.zeros(2)
    seen["data assigned"] = list(w.shape)
    t = lib.ones(2)
    w.grad = t
    seen["grad assigned"] = w.grad is t
    y = w * 3
    y.data.fill_(1.0)
    seen["non-leaf data.fill_"] = y.tolist()
    v = lib.ones(2, requires_grad=True)
    h = v * 2
    h.data.add_(1)
    h.sum().backward()
    seen["backward after a data write"] = v.grad.tolist()
    return seen


def test_data_and_grad_behave_as_pytorch_s():
    torch = pytest.importorskip("torch")
    assert _semantics(gradviz) == _semantics(torch)


def test_grad_is_a_variable_sharing_the_array_backward_fills():
    w = gradviz.ones(3, requires_grad=True)
    (w * w).sum().backward()
    assert isinstance(w.grad, gradviz.Variable)
    assert not w.grad.requires_grad
    assert w.grad.grad_fn is None
    w.grad.zero_()
    assert w.grad.numpy().tolist() == [0.0, 0.0, 0.0]
    held = w.grad
    (w * 2).sum().backward()
    assert w.grad is held
    assert held.tolist() == [2.0, 2.0, 2.0]


def test_d2l_sgd_trains_a_linear_regression():
    """d2l.ai's ``sgd``: ``param -= lr * param.grad / batch_size; param.grad.zero_()``."""

    def sgd(params, lr, batch_size):
        with gradviz.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    gradviz.manual_seed(0)
    X = gradviz.randn(100, 2)
    y = X @ gradviz.tensor([2.0, -3.4]) + 4.2
    w = gradviz.zeros(2, requires_grad=True)
    b = gradviz.zeros(1, requires_grad=True)
    for _ in range(200):
        ((X @ w + b - y) ** 2 / 2).sum().backward()
        sgd([w, b], 0.03, 10)
    np.testing.assert_allclose(w.numpy(), [2.0, -3.4], atol=1e-3)
    np.testing.assert_allclose(b.numpy(), [4.2], atol=1e-3)


def test_makemore_update_to_data_ratios_and_grad_norm_logging_as_pytorch():
    torch = pytest.importorskip("torch")

    def ratios(lib):
        lib.manual_seed(0)
        # (no symmetric data: a constant weight and mirrored inputs make the update's std pure
        # rounding noise, which differs between machines and libraries)
        rng = np.random.default_rng(0)
        x = lib.tensor(rng.standard_normal((8, 3)).astype(np.float32))
        params = [lib.tensor(rng.normal(0, 0.3, (3, 4)).astype(np.float32)),
                  lib.tensor(rng.normal(0, 0.1, 4).astype(np.float32))]  # fmt: skip
        for p in params:
            p.requires_grad = True
        lr = 0.1
        for _ in range(3):
            for p in params:
                p.grad = None
            (x @ params[0] + params[1]).tanh().pow(2).mean().backward()
            for p in params:
                p.data += -lr * p.grad
        with lib.no_grad():
            ud = [((lr * p.grad).std() / p.data.std()).log10().item() for p in params[:1]]
        total = sum(p.grad.data.norm(2).item() ** 2 for p in params) ** 0.5
        return ud, total

    ours, theirs = ratios(gradviz), ratios(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_dcgan_style_init_writes_through_data():
    layer = nn.Linear(4, 3)
    layer.weight.data.normal_(0.0, 0.02)
    layer.bias.data.fill_(0)
    assert layer.weight.requires_grad
    assert layer.weight.is_leaf
    assert abs(float(layer.weight.numpy().std()) - 0.02) < 0.015
    assert layer.bias.numpy().tolist() == [0.0, 0.0, 0.0]


def test_numpy_functions_read_a_variable_as_its_array():
    v = gradviz.tensor([1.0, -2.0, 3.0])
    assert np.mean(v) == pytest.approx(2 / 3)
    assert not np.all(v > 0)
    assert isinstance(np.concatenate([v, v]), np.ndarray)
    np.testing.assert_allclose(np.abs(v), [1.0, 2.0, 3.0])
    assert isinstance(np.zeros(3) + v, gradviz.Variable)  # an operator stays gradviz's


def test_a_gradient_cannot_accumulate_into_a_grad_of_another_shape():
    w = gradviz.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    w.data = gradviz.ones(2)
    with pytest.raises(gradviz.ShapeError, match=r"of shape \(2,\) into \.grad of shape \(3,\)"):
        (w * 2).sum().backward()


def test_grad_assignment_checks_the_shape_and_kind():
    w = gradviz.ones(3, requires_grad=True)
    with pytest.raises(gradviz.ShapeError, match="cannot assign a gradient of shape"):
        w.grad = gradviz.ones(2)
    with pytest.raises(gradviz.OperandError, match=r"cannot assign a list as \.grad"):
        w.grad = [1.0, 2.0, 3.0]
    with pytest.raises(gradviz.OperandError, match="can't assign Variable as its own grad"):
        w.grad = w  # backward would add into its own data
    w.grad = np.ones(3, np.float32)  # an array is taken too
    assert w.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_trace_sees_writes_to_parameters_but_not_through_data():
    """``w -= lr * w.grad`` under no_grad is an in-place event on ``w``; ``p.data += ...``
    writes through a Variable no op used: no event, no record, as autograd does not see it."""
    w = gradviz.ones(3, requires_grad=True)
    p = gradviz.ones(3, requires_grad=True)
    with gradviz.trace(steps="all") as tr:
        for _ in range(2):
            (w * p).sum().backward()
            with gradviz.no_grad():
                w -= 0.1 * w.grad
            p.data += -0.1 * p.grad
            w.grad = p.grad = None
    writes = [e for e in tr._events if e.kind == "inplace"]
    assert [e.op for e in writes] == ["sub_", "sub_"]  # w's two updates; p.data's none


def test_backward_takes_pytorch_s_gradient_keyword():
    x = gradviz.ones(3, requires_grad=True)
    (x * 2).backward(gradient=gradviz.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    (x * 2).backward(grad=np.ones(3, np.float32), retain_graph=True)
    assert x.grad.tolist() == [4.0, 6.0, 8.0]
    with pytest.raises(gradviz.OperandError, match="both 'gradient' and 'grad'"):
        (x * 2).backward(gradient=np.ones(3), grad=np.ones(3))
