"""Hostile use of ``Variable.register_hook`` and of assigning ``.grad``, against PyTorch's rules."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz.autograd import engine


def leaf(values, dtype=np.float64) -> Variable:
    return Variable(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------------- hooks
def test_a_leaf_grad_is_not_the_array_a_hook_kept():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(seen.append)
    (x * 3).sum().backward()
    x.grad += 1  # as an optimizer's in-place step would
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])  # PyTorch: the kept gradient is cloned


def test_a_leaf_grad_is_not_the_array_a_hook_returned():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: x.numpy())  # e.g. a hook returning a parameter's own values
    (x * 3).sum().backward()
    x.grad *= 0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128])
def test_a_hook_that_changes_the_kind_of_value_is_named(dtype):
    x = leaf([1.0, 2.0])

    def to_other(g):
        return g.astype(dtype)

    x.register_hook(to_other)
    with pytest.raises(gradviz.BackwardError, match="hook 'to_other' has changed the type"):
        (x * 3).sum().backward()


def test_a_hook_returning_another_float_precision_is_cast_back():
    x = leaf([1.0, 2.0], np.float32)
    x.register_hook(lambda g: g * np.float64(2))  # NumPy 2 widens float32 * float64 scalar
    (x * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_a_hook_returning_what_is_not_a_gradient_is_named():
    x = leaf([1.0, 2.0])

    def text(g):
        return "grad"

    x.register_hook(text)
    with pytest.raises(gradviz.BackwardError, match="hook 'text' returned a str"):
        (x * 3).sum().backward()


def test_registering_and_removing_in_a_loop_leaves_nothing_behind():
    x = leaf([1.0])
    before = len(weakref.finalize._registry)
    for _ in range(20):
        x.register_hook(lambda g: g).remove()
    assert len(weakref.finalize._registry) == before
    assert x._id not in engine._GRAD_HOOKS
    x.register_hook(lambda g: g * 2)  # still goes with its Variable once registered again
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])
    key = x._id
    del x
    assert key not in engine._GRAD_HOOKS


# ------------------------------------------------------------------------------ .grad
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128, object, str])
def test_a_grad_that_is_not_floating_point_is_refused(dtype):
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    with pytest.raises(gradviz.OperandError, match="floating point"):
        p.grad = np.ones(2).astype(dtype)


def test_a_grad_of_another_float_precision_is_kept_and_steps():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    p.grad = np.ones(2)  # float64 onto float32: refused by PyTorch, kept here (updates cast)
    gradviz.optim.SGD([p], lr=0.5).step()
    assert p.numpy().dtype == np.float32
    np.testing.assert_array_equal(p.numpy(), [0.5, 0.5])


def test_a_numpy_scalar_grad_of_a_0d_parameter_is_an_array_clipped_in_place():
    p = nn.Parameter(np.array(2.0))
    p.grad = np.float64(3.0)
    assert type(p.grad.numpy()) is np.ndarray
    assert p.grad.shape == ()
    nn.utils.clip_grad_norm_([p], 1.0)
    np.testing.assert_allclose(p.grad, 1.0, rtol=1e-5)  # max_norm / (norm + 1e-6)
    p.grad[...] = 0
    gradviz.optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad == 0


def test_del_grad_sets_it_to_none():
    p = nn.Parameter(np.ones(2))
    (p * 2).sum().backward()
    del p.grad  # PyTorch: del t.grad
    assert p.grad is None


# ---------------------------------------------------------------------------- copies
def test_a_deepcopied_module_is_a_second_set_of_parameters_in_backward():
    m = nn.Linear(2, 1, bias=False)
    twin = copy.deepcopy(m)
    x = Variable(np.ones((1, 2), dtype=np.float32))
    (m(x).sum() + 3 * twin(x).sum()).backward()
    np.testing.assert_array_equal(m.weight.grad, [[1.0, 1.0]])
    np.testing.assert_array_equal(twin.weight.grad, [[3.0, 3.0]])


def test_copies_and_unpickled_variables_have_their_own_hooks_and_optimizer_state():
    p = nn.Parameter(np.ones(2))
    calls = []
    p.register_hook(calls.append)
    for twin in (copy.copy(p), copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        (twin * 2).sum().backward()  # PyTorch's copies do not run the original's hooks
        np.testing.assert_array_equal(twin.grad, [2.0, 2.0])
    assert calls == []
    p.grad = np.ones(2)
    twin = copy.deepcopy(p)
    opt = gradviz.optim.SGD([p, twin], lr=1.0, momentum=0.5)
    opt.step()
    assert len(opt.state) == 2


class Scaled(nn.Module):
    """A module whose parameter's hook is one of its own methods (a reference cycle)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.lin.weight.register_hook(self.halve)

    def halve(self, g: np.ndarray) -> np.ndarray:
        return g / 2


def test_a_module_whose_hook_refers_to_it_is_collected_with_its_hooks():
    gc.collect()
    before = len(engine._GRAD_HOOKS)
    refs = [weakref.ref(Scaled()) for _ in range(3)]
    gc.collect()
    assert [r() for r in refs] == [None, None, None]  # PyTorch collects them too
    assert len(engine._GRAD_HOOKS) == before


def test_a_variable_with_hooks_pickles_without_them():
    p = nn.Parameter(np.ones(2))
    p.register_hook(lambda g: g * 0)  # a lambda: not picklable (PyTorch drops hooks too)
    twin = pickle.loads(pickle.dumps(p))
    (twin * 2).sum().backward()
    np.testing.assert_array_equal(twin.grad, [2.0, 2.0])


def test_a_read_only_grad_is_copied_so_in_place_updates_work():
    p = nn.Parameter(np.ones((2, 2), dtype=np.float32))
    p.grad = np.broadcast_to(np.float32(3), (2, 2))  # read-only: NumPy refused every write
    nn.utils.clip_grad_norm_([p], 1.0)
    np.testing.assert_allclose(p.grad, np.full((2, 2), 0.5), rtol=1e-5)
    p.grad += 1
    gradviz.optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, np.zeros((2, 2)))


# ------------------------------------------------------------- sound, held to PyTorch
def hooked_views(lib):
    """Hooks on a Variable used twice, on views of a leaf and across an in-place write;
    returns (x.grad, the fan-in hook's calls, the in-place hooks' calls) as lists."""
    torch = lib is not gradviz
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) if torch else leaf([1, 2, 3, 4])
    y = x * 1
    fan_in = []
    y.register_hook(lambda g: fan_in.append(np.asarray(g).tolist()))
    v, (a, b), r = x[0:2], x.split(2), x.reshape(2, 2)
    v.register_hook(lambda g: g * 10)
    a.register_hook(lambda g: g * 100)
    r.register_hook(lambda g: g + 1000)
    w = y * 1
    order = []
    w.register_hook(lambda g: order.append(("before", np.asarray(g).tolist())))
    w.mul_(3)
    w.register_hook(lambda g: order.append(("after", np.asarray(g).tolist())))
    loss = (y * y).sum() + y.sum() + v.sum() + a.sum() + b.sum() + r.sum() + (w * w).sum()
    loss.backward()
    return np.asarray(x.grad).tolist(), fan_in, order


def test_fan_in_views_and_in_place_writes_run_hooks_as_pytorch():
    torch = pytest.importorskip("torch")
    assert hooked_views(gradviz) == hooked_views(torch)


def test_a_hook_that_raises_propagates_and_the_next_backward_works():
    x = leaf([1.0, 2.0])
    y = x * 2

    def boom(g):
        raise ValueError("boom")

    handle = y.register_hook(boom)
    with pytest.raises(ValueError, match="boom"), gradviz.trace():
        (y * y).sum().backward()
    handle.remove()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
