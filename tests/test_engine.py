"""Engine invariants, one small named test each."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradviz
from gradviz import Function, Variable
from gradviz.autograd import hooks


def leaf(values, dtype=np.float64, **kwargs) -> Variable:
    return Variable(np.array(values, dtype=dtype), requires_grad=True, **kwargs)


# ------------------------------------------------------------------------------ accumulation
def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None


def test_x_times_x_counts_both_edges():
    x = leaf([3.0, -2.0])
    y = x * x
    assert len(y.parents) == 2
    assert y.parents[0] is x
    assert y.parents[1] is x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, -4.0])


def test_requires_grad_set_to_a_numpy_bool_records_as_a_bool():
    x = Variable(np.ones(3, dtype=np.float32))
    w = Variable(np.full(3, 2.0, dtype=np.float32), requires_grad=True)
    x.requires_grad = np.False_  # (numpy.bool indexes no tuple)
    assert (x * w).grad_fn is not None
    assert (x * x).grad_fn is None
    assert x.tanh().grad_fn is None
    x.requires_grad = np.True_
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_parents_are_the_variables_among_the_inputs_in_argument_order():
    x = Variable(np.ones(3), requires_grad=True)
    c = Variable(np.ones(3))
    array = np.full(3, 2.0)

    def parents(y: Variable) -> list[int]:
        return [id(p) for p in y.parents]

    assert parents(x * array) == parents(array * x) == parents(x * 2) == [id(x)]
    assert parents(c * x) == [id(c), id(x)]
    assert parents(x * x) == [id(x), id(x)]
    assert parents(x.sum(0)) == [id(x)]
    mask = x > 0
    assert parents(gradviz.where(mask, c, x)) == [id(mask), id(c), id(x)]
    node = (x * array).grad_fn
    node.parents = (c,)
    assert [id(p) for p in node.parents] == [id(c)]


def test_built_in_ops_define_no_constructor():
    """A node is made by calling its op's class with no arguments (the cheapest way):
    a built-in op's ``__init__`` or ``__new__`` would run, or fail, there."""
    seen, stack = set(), [Function]
    while stack:
        for op in stack.pop().__subclasses__():
            if op not in seen:
                seen.add(op)
                stack.append(op)
    built_in = [op for op in seen if op.__module__.startswith("gradviz.")]
    assert len(built_in) > 300
    assert [op for op in built_in if op.__init__ is not object.__init__] == []
    assert [op for op in built_in if op.__new__ is not object.__new__] == []


def test_x_plus_x_gives_two_and_the_grad_is_not_shared():
    x = leaf([1.0, 1.0])
    y = leaf([1.0, 1.0])
    (x + x + y).backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    assert not np.shares_memory(x.grad, y.grad)


def keeper(kept: list) -> type[Function]:
    """A user's op whose backward returns an array it keeps (appended to ``kept``)."""

    class Keep(Function):
        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, grad):
            kept.append(grad * 1)
            return kept[-1]

    return Keep


def test_fan_in_sums_every_share_without_writing_into_an_array_held_elsewhere():
    # y feeds five uses; Add hands the same array to both its inputs; z's retained grad and
    # a user's rule returning an array it keeps must come out unchanged by later shares.
    kept = []
    Keep = keeper(kept)
    x = leaf([1.0, -2.0, 0.5])
    y = x * 2
    z = y + y
    z.retain_grad()
    loss = (z * y + y.exp() + Keep.apply(y)).sum()  # Keep runs first: its share comes first
    loss.backward()
    y_value = 2 * x.numpy()
    np.testing.assert_allclose(z.grad, y_value)
    np.testing.assert_allclose(kept[0], np.ones(3))
    # z = 2y, so L = 2y^2 + exp(y) + y and dL/dy = 4y + exp(y) + 1
    np.testing.assert_allclose(x.grad, 2 * (4 * y_value + 1 + np.exp(y_value)))


def test_slices_add_into_one_gradient_but_never_into_an_array_held_elsewhere():
    # split's and x[a:b]'s rules give only their slice: pieces arriving after a full share add
    # into it in place, except into an array a user's rule still holds.
    kept = []
    Keep = keeper(kept)
    x = leaf(np.arange(12.0).reshape(3, 4))
    y = x * 1
    q, k = y.split(2, dim=1)
    loss = (q * 2).sum() + (k * 3).sum() + (y[1:, 1] * 5).sum() + Keep.apply(y).sum()
    loss.backward()
    np.testing.assert_array_equal(kept[0], np.ones((3, 4)))
    expected = np.array([[3.0, 3, 4, 4], [3, 8, 4, 4], [3, 8, 4, 4]])
    np.testing.assert_array_equal(x.grad, expected)
    q, k = (x * 1).split(2, dim=1)  # pieces alone: the first gives the zero-padded array
    (k * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, expected + [[0, 0, 3, 3]] * 3)


def test_a_hook_holding_a_gradient_never_sees_it_change():
    class Holder(hooks.Hook):
        def __init__(self):
            self.held = []

        def backward_step(self, variable, grad, accumulated):
            self.held.append((grad, grad.copy()))

    holder = Holder()
    x = leaf([1.0, 2.0])
    hooks.install(holder)
    try:
        h = x * 3
        a = h + h  # Add passes one array to both inputs
        (a * h + a + h).sum().backward()
    finally:
        hooks.uninstall(holder)
    for held, then in holder.held:
        np.testing.assert_array_equal(held, then)


def test_diamond_graph_gives_exact_gradients():
    # x -> a = 2x, b = x**2 -> c = a * b = 2x**3: dc/dx = 6 x**2
    x = leaf(1.5)
    a = x * 2
    b = x**2
    c = a * b
    c.backward()
    assert x.grad == 6 * 1.5**2


def test_leaf_grads_never_share_memory():
    x1 = leaf(np.ones((2, 3)))
    x2 = leaf(np.ones((2, 3)))
    y = x1.reshape(6) + x2.reshape(6)
    y.backward(np.ones(6))
    assert not np.shares_memory(x1.grad, x2.grad)
    x1.grad *= 0.5  # an in-place update (gradient clipping) touches one leaf only
    np.testing.assert_array_equal(x2.grad, np.ones((2, 3)))


def test_backward_does_not_keep_the_callers_grad_array():
    x = leaf([1.0, 2.0])
    g = np.array([1.0, 1.0])
    (x + 0).backward(g)
    g[:] = 5.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    y = leaf([1.0, 2.0])
    y.backward(g)
    g[:] = 7.0
    np.testing.assert_array_equal(y.grad, [5.0, 5.0])


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * 3
    z.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Variable is being accessed"):
        assert y.grad is None  # PyTorch's warning: a learner's "why is h.grad None?"
    with pytest.warns(UserWarning, match="use .retain_grad"):
        assert z.grad is None
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])

    x.zero_grad()
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    z = (y * 3).sum()
    z.backward()
    np.testing.assert_array_equal(y.grad, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_retained_grads_own_their_memory():
    # PyTorch's retain_grad clones: y.grad must not be a read-only view of a broadcast or the
    # very array that w.grad (or the backward pass itself) uses.
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    w = y + 0.0
    w.retain_grad()
    w.sum().backward()
    assert y.grad.numpy().flags.writeable
    assert not np.shares_memory(y.grad, w.grad)
    y.grad += 1  # in place, as users of PyTorch do
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_retain_grad_requires_grad():
    with pytest.raises(gradviz.OperandError):
        Variable(np.ones(2)).retain_grad()


# ---------------------------------------------------------------------------------- graph life
def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    z.backward()
    with pytest.raises(gradviz.BackwardError, match="retain_graph") as info:
        z.backward()
    assert isinstance(info.value, RuntimeError)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # unchanged by the failed call


def test_backward_through_a_freed_interior_node_raises():
    x = leaf([1.0, 2.0])
    y = x * x
    y.sum().backward()
    with pytest.raises(gradviz.BackwardError, match="retain_graph"):
        (y * 2).sum().backward()


# ----------------------------------------------------------------------------------- no_grad
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with gradviz.no_grad():
        assert not gradviz.is_grad_enabled()
        y = (x * 2).exp().sum()
    assert gradviz.is_grad_enabled()
    assert y.requires_grad is False
    assert y.op is None
    assert y.is_leaf
    assert y.parents == ()
    np.testing.assert_allclose(y.numpy(), np.exp(2.0) + np.exp(4.0))
    with pytest.raises(gradviz.BackwardError):
        y.backward()


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = leaf([1.0, 2.0])

    @gradviz.no_grad()
    def double(v):
        assert not gradviz.is_grad_enabled()
        with gradviz.enable_grad():
            inner = v * 1
        return v * 2, inner

    out, inner = double(x)
    assert gradviz.is_grad_enabled()
    assert out.requires_grad is False
    assert inner.requires_grad is True
    assert double.__name__ == "double"


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), gradviz.no_grad():
        _ = 1 / 0
    assert gradviz.is_grad_enabled()


def test_set_grad_enabled():
    gradviz.set_grad_enabled(False)
    try:
        assert (leaf([1.0]) * 2).requires_grad is False
    finally:
        gradviz.set_grad_enabled(True)
    assert (leaf([1.0]) * 2).requires_grad is True


def test_ops_on_constants_record_nothing():
    y = Variable(np.ones(3)) * 2
    assert y.requires_grad is False
    assert y.op is None


# ------------------------------------------------------------------------------------- dtypes
def test_float32_in_gives_float32_out_and_grads():
    x = leaf([1.0, 2.0, 3.0], dtype=np.float32)
    w = leaf(np.ones((3, 2)), dtype=np.float32)
    y = ((x @ w) * 2.5 + 1).exp().mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    assert w.grad.dtype == np.float32


def test_float64_stays_float64():
    x = leaf([1.0, 2.0])
    y = (x * 2.5).sigmoid().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_mixed_float32_param_and_float64_input_gives_float32_grad():
    w = leaf([1.0, 2.0], dtype=np.float32)
    data = np.array([0.1, 0.2], dtype=np.float64)
    y = (w * data).sum()
    assert y.dtype == np.float64  # NumPy promotion
    y.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, data.astype(np.float32))


def test_cast_gradient_comes_back_in_the_input_dtype():
    x = leaf([1.0, 2.0], dtype=np.float32)
    y = x.double()
    assert y.dtype == np.float64
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_variable_dtype_rules():
    f64 = np.array([1.0, 2.0])
    v = Variable(f64)
    assert v.dtype == np.float64
    assert v.numpy() is f64  # ndarrays are not copied
    assert Variable(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert Variable(1.5).dtype == np.float32
    assert Variable([1.0, 2.0]).dtype == np.float32
    assert Variable([[1.0], [2.0]]).dtype == np.float32
    assert Variable(np.float64(1.5)).dtype == np.float64  # NumPy scalars keep their dtype
    assert Variable([1, 2]).dtype.kind == "i"
    assert gradviz.get_default_dtype() == np.float32


@pytest.fixture
def float64_default():
    previous = gradviz.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    yield
    gradviz.set_default_dtype(previous)


@pytest.mark.usefixtures("float64_default")
def test_set_default_dtype_changes_python_floats():
    assert gradviz.get_default_dtype() == np.float64
    assert Variable(1.5).dtype == np.float64
    assert Variable([1.0, 2.0]).dtype == np.float64
    assert Variable(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_set_default_dtype_rejects_integers():
    with pytest.raises(gradviz.OperandError):
        gradviz.set_default_dtype(np.int64)
    assert gradviz.get_default_dtype() == np.float32


def test_requires_grad_on_integer_data_raises():
    with pytest.raises(gradviz.OperandError) as info:
        Variable(np.arange(3), requires_grad=True)
    assert isinstance(info.value, TypeError)
    assert "int64" in str(info.value)
    with pytest.raises(TypeError):
        Variable([1, 2]).requires_grad_()


# ------------------------------------------------------------------------------ graph shapes
def test_a_chain_of_100000_ops_runs_backward():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.numpy() == 100_001.0


def test_each_node_runs_once_after_all_its_gradient_arrived():
    calls: list[tuple[str, float]] = []

    class Tap(gradviz.Function):
        """Identity that records the gradient it receives."""

        @staticmethod
        def forward(ctx, x, label):
            ctx.label = label
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            calls.append((ctx.label, float(grad)))
            return grad, None

    # a is used directly by `out` and again through a 3-op detour: a naive BFS from `out`
    # reaches a before the detour's gradient has arrived.
    x = leaf(2.0)
    a = Tap.apply(x * 1.0, "a")
    detour = Tap.apply(((a * 2.0) * 3.0) * 4.0, "detour")
    out = a + detour
    out.backward()
    assert x.grad == 1 + 24
    assert sorted(calls) == [("a", 25.0), ("detour", 1.0)]
    assert calls[-1] == ("a", 25.0)  # a ran last, with the sum of both paths


class _GradToFirstOnly(gradviz.Function):
    """a + b whose backward gives b no gradient: None, or (``short``) no entry at all."""

    @staticmethod
    def forward(ctx, a, b, short):
        ctx.short = short
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return (grad,) if ctx.short else (grad, None)  # the trailing option may be left out


def test_a_backward_missing_a_gradient_for_a_variable_raises_as_pytorch():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    out = _GradToFirstOnly.apply(x, y, True).sum()
    with pytest.raises(
        gradviz.BackwardError, match=r"incorrect number of gradients \(expected 3, got 1\)"
    ):
        out.backward()
    assert x.grad is None  # nothing half-accumulated


def test_an_input_given_no_gradient_does_not_stall_its_other_consumers():
    short = False
    # a feeds the custom op (which gives it nothing, as PyTorch allows) and `out` directly: the
    # direct share must still reach x, and a node that gets nothing at all must not block x.
    x = leaf([1.0, 2.0])
    a = x * 3
    out = (_GradToFirstOnly.apply(x, a, short) + a).sum()
    out.backward()
    np.testing.assert_array_equal(x.grad, [1 + 3, 1 + 3])

    y = leaf([1.0, 2.0])
    only_none = y * 2  # reaches the root only through the op that gives it nothing
    _GradToFirstOnly.apply(y * 1.0, only_none * 5, short).sum().backward()
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


class _SameWrongGrad(gradviz.Function):
    """a + b whose backward gives b a gradient that does not reduce to b's shape."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, np.ones(5)


def test_a_gradient_of_the_wrong_shape_names_its_input():
    x, y = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    with pytest.raises(gradviz.ShapeError, match=r"shape \(5,\) for input 1 of shape \(3,\)"):
        _SameWrongGrad.apply(x, y).sum().backward()


def test_hooks_see_ops_that_record_nothing():
    seen = []

    class Ops(hooks.Hook):
        def op(self, node, inputs, output):
            seen.append((type(node).__name__, output.requires_grad))

    hook = Ops()
    hooks.install(hook)
    try:
        x = leaf([1.0, 2.0])
        with gradviz.no_grad():
            y = (x * 2).tanh()
        Variable(np.ones(2)) + 1  # constants: no graph either
    finally:
        hooks.uninstall(hook)
    assert seen == [("Mul", False), ("Tanh", False), ("Add", False)]
    assert y.grad_fn is None
    assert not y.requires_grad


def test_broadcast_bias_gradient_is_reduced():
    x = leaf(np.arange(15.0).reshape(5, 3))
    b = leaf([0.1, 0.2, 0.3])
    g = np.arange(15.0).reshape(5, 3)
    (x + b).backward(g)
    assert b.grad.shape == (3,)
    np.testing.assert_array_equal(b.grad, g.sum(axis=0))
    np.testing.assert_array_equal(x.grad, g)


def test_keepdims_style_broadcast_is_reduced():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.ones((1, 4)))
    (a * b).backward(np.ones((3, 4)))
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))


def test_nan_and_inf_flow_through_forward_and_backward_without_warnings():
    # pytest turns warnings into errors here, so any NumPy RuntimeWarning fails the test
    x = leaf([1.0, np.nan, np.inf, -np.inf])
    w = leaf([2.0, 2.0, np.inf, 1.0])
    y = (x * 2).exp() + x.tanh() + x.sigmoid() + x.relu() + x.log()
    z = (x * w).clamp(-1, 1)  # inf is clamped, so backward computes 0 * inf
    out = y.sum() + z.sum() + (w / 2).sum()
    assert np.isnan(out.numpy())
    out.backward()
    np.testing.assert_array_equal(np.isnan(y.numpy()), [False, True, False, True])
    assert np.isfinite(x.grad[0])
    assert np.isnan(x.grad[1])
    assert np.isnan(w.grad[2])  # d(x*w)/dw = x = inf, times the clamp's 0
    m = leaf([1.0, np.nan])
    m.amax().backward()  # no maximum matches NaN: 0/0 in the tie share
    assert np.isnan(m.grad).all()


def test_forward_warns_like_numpy_where_a_nan_is_born_and_backward_is_silent():
    # Deliberate: forward keeps NumPy's RuntimeWarning (the first hint of where a NaN was born,
    # and silencing it would cost an errstate per op); backward runs under errstate(ignore).
    x = leaf([np.inf, 1.0])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        y = x - x
    assert np.isnan(y.numpy()[0])
    (y * x).sum().backward()
    assert np.isnan(x.grad[0])


def test_detach_cuts_the_gradient():
    x = leaf([1.0, 2.0])
    d = (x * 3).detach()
    assert d.is_leaf
    assert d.requires_grad is False
    assert d.op is None
    np.testing.assert_array_equal(d.numpy(), [3.0, 6.0])
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])  # only the direct path


# ---------------------------------------------------------------------------------- metadata
def test_op_parents_is_leaf_name():
    a = leaf([1.0], name="a")
    b = leaf([2.0])
    assert a.name == "a"
    assert b.name is None
    assert a.is_leaf
    assert a.op is None
    assert a.grad_fn is None
    assert a.parents == ()
    y = b - a
    assert y.op == "Sub"
    assert not y.is_leaf
    assert y.name is None
    assert [p.id for p in y.parents] == [b.id, a.id]  # argument order
    assert (a + 1).parents[0] is a
    assert len((a + 1).parents) == 1  # constants are not parents
    z = gradviz.stack([a, b, a])
    assert [p.id for p in z.parents] == [a.id, b.id, a.id]  # duplicates kept
    assert z.grad_fn.name() == "Stack"


def test_ids_are_sequential_and_unique():
    a, b = leaf(1.0), leaf(2.0)
    c = a + b
    assert a.id < b.id < c.id


# ------------------------------------------------------------------------------------- hooks
class Recorder(hooks.Hook):
    def __init__(self):
        self.ops: list[str] = []
        self.steps: list[tuple[Variable, bool]] = []
        self.began = self.ended = 0

    def op(self, node, inputs, output):
        self.ops.append(node.name())

    def backward_begin(self, root, grad):
        self.began += 1

    def backward_step(self, variable, grad, accumulated):
        self.steps.append((variable, accumulated, grad.copy()))

    def backward_end(self, root):
        self.ended += 1


def test_hook_sees_ops_and_backward_steps_in_reverse_topological_order():
    recorder = Recorder()
    x = leaf([1.0, 2.0], name="x")
    w = leaf([3.0, 4.0], name="w")
    hooks.install(recorder)
    try:
        a = x * w  # a feeds b and c: fan-in 2
        b = a.exp()
        c = a * 2
        d = b + c
        e = x * x  # x feeds a and e twice: fan-in 3
        loss = (d + e).sum()
        loss.backward()
    finally:
        hooks.uninstall(recorder)
    assert hooks.ACTIVE == ()
    assert recorder.ops == ["Mul", "Exp", "Mul", "Add", "Mul", "Add", "Sum"]
    assert recorder.began == recorder.ended == 1

    stepped = [v for v, _, _ in recorder.steps]
    ids = [v.id for v in stepped]
    assert len(ids) == len(set(ids)), "a Variable was stepped twice"
    assert {v.id for v in stepped} == {v.id for v in (x, w, a, b, c, d, e, loss)} | {
        loss.parents[0].id
    }
    assert stepped[0] is loss
    position = {v.id: i for i, v in enumerate(stepped)}
    for v in stepped:  # reverse topological: every consumer is stepped before its inputs
        for parent in v.parents:
            if parent.requires_grad:
                assert position[v.id] < position[parent.id]
    accumulated = {v.id for v, acc, _ in recorder.steps if acc}
    assert accumulated == {a.id, x.id}
    x_grad = next(g for v, _, g in recorder.steps if v is x)
    np.testing.assert_allclose(x_grad, x.grad)


def _order_graph(lib, x):
    """``c + b`` with ``b`` made before ``c``: a last-in-first-out order would run ``b``'s
    branch first; PyTorch runs the newest node first."""
    b = x * 2
    c = x.exp()
    d = x.sin()
    return (c + b + d).sum(), {"b": b, "c": c, "d": d}


def test_backward_runs_the_newest_node_first_as_pytorch_does():
    recorder = Recorder()
    x = leaf([0.5, 1.5])
    hooks.install(recorder)
    try:
        loss, named = _order_graph(gradviz, x)
        loss.backward()
    finally:
        hooks.uninstall(recorder)
    ids = {v.id: name for name, v in named.items()}
    order = [ids[v.id] for v, _, _ in recorder.steps if v.id in ids]
    assert order == ["d", "c", "b"]
    torch = pytest.importorskip("torch")
    ran = []
    xt = torch.tensor([0.5, 1.5], requires_grad=True)
    loss_t, named_t = _order_graph(torch, xt)
    for name, t in named_t.items():
        t.register_hook(lambda grad, name=name: ran.append(name))
    loss_t.backward()
    assert ran == order


def _leaves_graph(lib, x, w1, w2):
    """A leaf used by the last op (``w2``) and leaves used by the first (``x``, ``w1``):
    PyTorch accumulates a leaf as soon as its gradient is complete."""
    h = x * w1
    t = h.tanh()
    return (t * w2).sum(), {"h": h, "t": t}


def test_backward_accumulates_a_leaf_as_soon_as_its_gradient_is_complete_as_pytorch():
    recorder = Recorder()
    values = ([0.5, 1.5], [2.0, -1.0], [0.3, 0.7])
    x, w1, w2 = (leaf(v) for v in values)
    hooks.install(recorder)
    try:
        loss, named = _leaves_graph(gradviz, x, w1, w2)
        loss.backward()
    finally:
        hooks.uninstall(recorder)
    names = {x.id: "x", w1.id: "w1", w2.id: "w2"} | {v.id: k for k, v in named.items()}
    order = [names[v.id] for v, _, _ in recorder.steps if v.id in names]
    assert order[:2] == ["w2", "t"]  # w2 complete after the last Mul: before the Tanh
    assert set(order[3:]) == {"x", "w1"}
    torch = pytest.importorskip("torch")
    ran = []
    xt, w1t, w2t = (torch.tensor(v, requires_grad=True) for v in values)
    loss_t, named_t = _leaves_graph(torch, xt, w1t, w2t)
    for name, t in {"x": xt, "w1": w1t, "w2": w2t, **named_t}.items():
        t.register_hook(lambda grad, name=name: ran.append(name))
    loss_t.backward()
    assert ran == order


def test_hook_marks_duplicate_edges_as_accumulated():
    recorder = Recorder()
    x = leaf([3.0])
    hooks.install(recorder)
    try:
        (x * x).sum().backward()
    finally:
        hooks.uninstall(recorder)
    flags = {v.id: acc for v, acc, _ in recorder.steps}
    assert flags[x.id] is True
    assert sum(flags.values()) == 1


def test_install_is_idempotent_and_uninstall_ignores_unknown_hooks():
    recorder = Recorder()
    hooks.install(recorder)
    hooks.install(recorder)
    try:
        assert hooks.ACTIVE == (recorder,)
    finally:
        hooks.uninstall(recorder)
    hooks.uninstall(recorder)
    assert hooks.ACTIVE == ()


# ----------------------------------------------------------------------- import boundaries
FORBIDDEN = ("gradviz.viz", "gradviz.cli", "networkx", "graphviz", "click")


def _modules_after(code: str) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("entry", ["import gradviz.autograd as ag", "import gradviz as ag"])
def test_engine_does_not_import_viz_or_its_dependencies(entry):
    modules = _modules_after(
        f"""
        {entry}
        import numpy as np
        x = ag.Variable(np.ones(3), requires_grad=True)
        (ag.functional.relu(x * 2) ** 2).sum().backward()
        assert x.grad.tolist() == [8.0, 8.0, 8.0]
        """
    )
    assert "gradviz.autograd" in modules
    assert _forbidden(modules) == []


def test_boundary_check_sees_a_viz_import():
    # the check above can fail: importing the visualizer does load the forbidden modules
    modules = _modules_after("import gradviz.autograd, networkx")
    assert "networkx" in _forbidden(modules)


def test_squeeze_and_unsqueeze_accept_a_0d_variable():
    # PyTorch allows dim 0 (and -1) on a 0-d tensor: squeeze is then the identity
    x = leaf(2.0)
    assert x.squeeze(0).shape == ()
    assert x.squeeze(-1).shape == ()
    assert x.unsqueeze(0).shape == (1,)
    x.squeeze(0).backward()
    assert x.grad == 1.0


def test_squeeze_and_unsqueeze_reject_an_axis_out_of_range_like_pytorch():
    x = leaf(np.ones((2, 1)))
    assert x.squeeze(-1).shape == (2,)
    assert x.unsqueeze(2).shape == (2, 1, 1)
    assert x.unsqueeze(-3).shape == (1, 2, 1)
    with pytest.raises(IndexError, match="out of range"):
        x.squeeze(2)
    with pytest.raises(IndexError, match="out of range"):
        x.unsqueeze(3)


class _NoGradient(Function):
    """An op whose backward gives its input nothing (``None``)."""

    @staticmethod
    def forward(ctx, a):
        return a * 1.0

    @staticmethod
    def backward(ctx, grad):
        return None


@pytest.mark.parametrize("listening", [False, True])
def test_a_leaf_also_used_by_a_branch_that_gets_no_gradient_still_gets_its_own(listening):
    recorder = Recorder()
    w = leaf([1.0, 2.0])
    if listening:
        hooks.install(recorder)
    try:
        blocked = _NoGradient.apply((w * 2.0).exp())  # the Mul and Exp get nothing
        (blocked.sum() + (w * 3.0).sum()).backward()
    finally:
        hooks.uninstall(recorder)
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])
    if listening:
        assert sum(v is w for v, _, _ in recorder.steps) == 1


def test_is_inference_mode_enabled_inside_inference_mode_only():
    """`torch.is_inference_mode_enabled()`: True inside `inference_mode()`, False inside
    `no_grad()`, `inference_mode(False)` and after the block, as PyTorch's."""
    assert not gradviz.is_inference_mode_enabled()
    with gradviz.inference_mode():
        assert gradviz.is_inference_mode_enabled()
        assert not gradviz.is_grad_enabled()
        with gradviz.inference_mode(False):
            assert not gradviz.is_inference_mode_enabled()
        assert gradviz.is_inference_mode_enabled()
    with gradviz.no_grad():
        assert not gradviz.is_inference_mode_enabled()

    @gradviz.inference_mode()
    def predict():
        return gradviz.is_inference_mode_enabled()

    assert predict()
    assert not gradviz.is_inference_mode_enabled()


def test_set_grad_enabled_is_a_context_manager_and_decorator_as_pytorchs():
    """Was: TypeError "'NoneType' object does not support the context manager protocol" for
    the transfer-learning tutorial's ``with torch.set_grad_enabled(phase == 'train'):``."""
    x = gradviz.ones(2, requires_grad=True)
    seen = []
    for phase in ("train", "val"):
        with gradviz.set_grad_enabled(phase == "train"):
            seen.append((x * 2).requires_grad)
        seen.append(gradviz.is_grad_enabled())
    assert seen == [True, True, False, True]
    with gradviz.no_grad():
        with gradviz.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not gradviz.is_grad_enabled()

    @gradviz.set_grad_enabled(False)
    def evaluate():
        return (x * 2).requires_grad

    assert gradviz.is_grad_enabled()  # decorating switches nothing
    assert evaluate() is False
    assert gradviz.is_grad_enabled()
