"""Comparisons give bool Variables outside the graph, as PyTorch's give bool tensors without a
``grad_fn``: the idioms a PyTorch user writes with them (accuracy, masks, ``where``,
``masked_fill``, ``if loss < tol``) run, and match torch 2.13.0 side by side where it is
installed (those tests skip without it).
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

import gradviz
from gradviz import Variable


@pytest.fixture
def torch():
    """torch, or skip: the side-by-side cases need the pinned CPU build (torch==2.13.0)."""
    return pytest.importorskip("torch")


def _outside_the_graph(v: Variable) -> None:
    assert isinstance(v, Variable)
    assert not v.requires_grad
    assert v.grad_fn is None
    assert v.is_leaf


def _same(ours: Variable, theirs) -> None:
    """Same dtype, shape and values; both without a gradient or an op."""
    _outside_the_graph(ours)
    assert not theirs.requires_grad
    assert theirs.grad_fn is None
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# --------------------------------------------------------------------- what a user relies on
X = [-2.0, -0.5, 0.0, 0.5, 3.0]
OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@pytest.mark.parametrize("symbol", OPERATORS)
def test_each_comparison_is_a_bool_variable_outside_the_graph(symbol):
    x = Variable(np.array(X), requires_grad=True)
    compare = OPERATORS[symbol]
    for other in (0.0, 0, np.zeros(5), Variable(np.zeros(5)), [0.0] * 5, np.float64(0.0)):
        got = compare(x, other)
        _outside_the_graph(got)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), compare(np.array(X), 0.0))


def test_accuracy_expression_gives_the_fraction_right():
    logits = Variable(np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]]))
    y = Variable(np.array([0, 1, 1, 1]))
    accuracy = (logits.argmax(1) == y).float().mean()
    assert accuracy.dtype == np.float32
    assert accuracy.item() == pytest.approx(0.75)


def test_count_of_a_mask_is_an_int():
    x = Variable(np.array(X, np.float32), requires_grad=True)
    count = (x > 0).sum()
    assert count.dtype == np.int64
    assert count.item() == 2
    assert isinstance(count.item(), int)


def test_masks_feed_where_masked_fill_and_indexing_with_gradients():
    x = Variable(np.array(X), requires_grad=True)
    mask = x > 0
    loss = gradviz.where(mask, x, 0).sum() + x[mask].sum() + x.masked_fill(x < 0, 0).sum()
    loss += (x * (x >= 0).float()).sum()
    assert loss.item() == pytest.approx(4 * 3.5)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 2, 4, 4])


def test_a_mask_selects_and_writes_in_place():
    x = Variable(np.array(X))
    x[x < 0] = 0.0
    np.testing.assert_array_equal(x.numpy(), [0, 0, 0, 0.5, 3])


def test_numpy_takes_a_mask_variable_as_it_takes_a_tensor():
    x = Variable(np.array(X), requires_grad=True)
    values = np.arange(5.0)
    np.testing.assert_array_equal(values[x > 0], [3.0, 4.0])
    np.testing.assert_array_equal(np.where(x > 0, values, -1.0), [-1, -1, -1, 3, 4])
    values[x < 0] = 0.0
    np.testing.assert_array_equal(values, [0, 0, 2, 3, 4])
    mask = np.asarray(x >= 0)
    assert mask.dtype == np.bool_
    assert np.asarray(x, dtype=np.float32).dtype == np.float32


def test_if_on_a_comparison_of_a_0d_variable():
    x = Variable(np.array(X), requires_grad=True)
    loss = (x * x).mean()
    taken = "small" if loss < 1e-3 else "large"
    assert taken == "large"
    assert x.sum() > 0
    assert not (x.sum() < 0)
    with pytest.raises(gradviz.InputError, match="more than one value is ambiguous"):
        bool(x > 0)


def test_masks_combine_with_bitwise_ops_and_reduce_with_all_and_any():
    x = Variable(np.array(X))
    inside = (x > 0) & (x < 1)
    np.testing.assert_array_equal(inside.numpy(), [False, False, False, True, False])
    np.testing.assert_array_equal((~(x > 0)).numpy(), [True, True, True, False, False])
    assert (x > 0).any()
    assert not (x > 0).all()
    assert (x == x.clone()).all()
    assert (x > -5).all().dtype == np.bool_


def test_nothing_compares_equal_to_none():
    x = Variable(np.array(X))
    assert (x == None) is False  # noqa: E711 (the operator itself is under test)
    assert (x != None) is True  # noqa: E711
    assert x not in [None, "a"]


def test_an_array_on_the_left_gives_a_variable():
    x = Variable(np.array(X))
    for got in (np.zeros(5) == x, np.zeros(5) < x, 0 < x, 0.0 >= x, np.float64(0) < x):
        _outside_the_graph(got)
    np.testing.assert_array_equal((np.zeros(5) < x).numpy(), np.array(X) > 0)


def test_shapes_that_do_not_broadcast_are_a_shape_error():
    with pytest.raises(gradviz.ShapeError, match=r"size of tensor a \(5\) must match"):
        _ = Variable(np.array(X)) < np.zeros(3)


def test_comparing_with_text_is_an_operand_error():
    with pytest.raises(gradviz.OperandError, match="unsupported operand for <"):
        _ = Variable(np.array(X)) < "0"


def test_method_and_top_level_forms():
    x = Variable(np.array(X))
    for name, compare in zip(["eq", "ne", "lt", "le", "gt", "ge"], OPERATORS.values(), strict=True):
        expected = compare(np.array(X), 0.5)
        np.testing.assert_array_equal(getattr(x, name)(0.5).numpy(), expected)
        np.testing.assert_array_equal(getattr(gradviz, name)(x, 0.5).numpy(), expected)
    assert gradviz.all(np.ones(3)).item() is True
    assert gradviz.any(x > 5).item() is False


def test_isnan_isinf_isfinite():
    x = Variable(np.array([1.0, np.nan, np.inf, -np.inf]))
    np.testing.assert_array_equal(x.isnan().numpy(), [False, True, False, False])
    np.testing.assert_array_equal(gradviz.isinf(x).numpy(), [False, False, True, True])
    np.testing.assert_array_equal(x.isfinite().numpy(), [True, False, False, False])
    assert not x.isfinite().all()


def test_a_trace_sees_comparisons_and_argmax_that_have_no_grad_fn():
    x = Variable(np.array(X), requires_grad=True)
    with gradviz.trace() as tr:
        mask = x > 0
        picked = x.argmax()
        loss = (x * mask.float()).sum()
        loss.backward()
    assert mask.grad_fn is None
    assert picked.grad_fn is None
    ops = {d["op"]: d for _, d in tr.graph.nodes(data=True) if d["kind"] == "op"}
    assert list(ops) == ["Gt", "Cast", "Mul", "Sum"]  # where the mask came from is drawn
    assert not ops["Gt"]["requires_grad"]


# ------------------------------------------------------------------------ side by side with torch
def _pair(torch, values, dtype):
    return Variable(np.array(values, dtype=dtype)), torch.tensor(
        values, dtype=getattr(torch, dtype)
    )


OTHERS = {  # (gradviz operand, torch operand) of X's shape, from each kind of source
    "python_float": (lambda t: 0.5, lambda t: 0.5),
    "python_int": (lambda t: 0, lambda t: 0),
    "variable": (
        lambda t: Variable(np.array(X[::-1], np.float32)),
        lambda t: t.tensor(X[::-1], dtype=t.float32),
    ),
    "ndarray": (lambda t: np.array(X[::-1]), lambda t: t.tensor(X[::-1], dtype=t.float64)),
    "list": (lambda t: X[::-1], lambda t: t.tensor(X[::-1])),
    "0d_float64": (
        lambda t: Variable(np.float64(0.5)),
        lambda t: t.tensor(0.5, dtype=t.float64),
    ),
}


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("other", OTHERS)
def test_operators_match_torch(torch, symbol, other):
    ours, theirs = _pair(torch, X, "float32")
    compare = OPERATORS[symbol]
    mine, torchs = OTHERS[other]
    _same(compare(ours, mine(torch)), compare(theirs, torchs(torch)))
    if other != "list":  # reflected: the operand on the left (a list there is Python's)
        _same(compare(mine(torch), ours), compare(torchs(torch), theirs))


@pytest.mark.parametrize(
    ("dtype", "values", "other"),
    [
        ("float64", [0.1, 0.2], 0.1),  # 0.1 taken as float64, not float32
        ("float32", [0.1, 0.2], 0.1),
        ("int64", [2, 3], 2.5),
        ("int64", [2, 3], 3),
        ("int32", [2, 3], 3),
        ("float16", [0.1, 0.2], 0.1),
        ("int64", [2**24 + 1, 3], float(2**24 + 1)),  # compared in float32, as PyTorch
        ("int8", [1, 100], 300),  # 300 wraps to int8, as PyTorch
        ("bool", [True, False], 1),
        ("uint8", [0, 255], -1),
    ],
)
def test_promotion_with_a_python_number_matches_torch(torch, dtype, values, other):
    ours, theirs = _pair(torch, values, dtype)
    for compare in OPERATORS.values():
        _same(compare(ours, other), compare(theirs, other))


def test_a_float32_variable_against_a_0d_float64_compares_in_float32(torch):
    ours, theirs = _pair(torch, [0.1], "float32")
    _same(ours == Variable(np.float64(0.1)), theirs == torch.tensor(0.1, dtype=torch.float64))


def test_nan_compares_as_in_torch(torch):
    ours, theirs = _pair(torch, [np.nan, 1.0], "float32")
    for compare in OPERATORS.values():
        _same(compare(ours, ours), compare(theirs, theirs))


def test_user_idioms_match_torch(torch):
    ours, theirs = _pair(torch, X, "float32")
    labels = [0, 1, 1, 1]
    logits = [[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]]
    g_logits, t_logits = _pair(torch, logits, "float32")
    g_y, t_y = _pair(torch, labels, "int64")
    g_acc = (g_logits.argmax(1) == g_y).float().mean()
    t_acc = (t_logits.argmax(1) == t_y).float().mean()
    assert str(g_acc.dtype) == "float32"
    assert g_acc.item() == t_acc.item()
    assert (ours > 0).sum().item() == (theirs > 0).sum().item()
    np.testing.assert_array_equal(ours[ours > 0].numpy(), theirs[theirs > 0].numpy())
    np.testing.assert_array_equal(
        gradviz.where(ours > 0, ours, 0).numpy(), torch.where(theirs > 0, theirs, 0).numpy()
    )
    np.testing.assert_array_equal(
        ours.masked_fill(ours < 0, 0).numpy(), theirs.masked_fill(theirs < 0, 0).numpy()
    )
    _same(~(ours > 0), ~(theirs > 0))
    _same((ours > 0) & (ours < 1), (theirs > 0) & (theirs < 1))
    _same((ours == ours).all(), (theirs == theirs).all())
    _same((ours > 0).any(), (theirs > 0).any())
    assert bool(ours.mean() < 1e-3) == bool(theirs.mean() < 1e-3)


def test_numpy_indexing_with_a_mask_matches_torch(torch):
    ours, theirs = _pair(torch, X, "float32")
    values = np.arange(5.0)
    np.testing.assert_array_equal(values[ours > 0], values[theirs > 0])
    np.testing.assert_array_equal(np.asarray(ours < 0), np.asarray(theirs < 0))


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_method_and_top_level_forms_match_torch(torch, name):
    ours, theirs = _pair(torch, X, "float32")
    _same(getattr(ours, name)(0.5), getattr(theirs, name)(0.5))
    _same(getattr(gradviz, name)(ours, ours), getattr(torch, name)(theirs, theirs))


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_value_tests_match_torch(torch, name, dtype):
    values = [1.0, np.nan, np.inf, -np.inf, 0.0] if dtype.startswith("float") else [1, 0, 1]
    ours, theirs = _pair(torch, values, dtype)
    _same(getattr(ours, name)(), getattr(theirs, name)())
    _same(getattr(gradviz, name)(ours), getattr(torch, name)(theirs))


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dtype", ["bool", "float32", "int64", "uint8"])
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True), (-1, False)])
def test_all_and_any_match_torch(torch, name, dtype, dim, keepdim):
    values = [[1, 0, 2], [3, 4, 5]]
    ours, theirs = _pair(torch, values, dtype)
    if dim is None:
        _same(getattr(ours, name)(), getattr(theirs, name)())
    else:
        _same(getattr(ours, name)(dim, keepdim), getattr(theirs, name)(dim, keepdim))


@pytest.mark.parametrize("method", ["bool", "long", "int", "float", "double"])
def test_conversions_of_a_mask_match_torch(torch, method):
    ours, theirs = _pair(torch, X, "float32")
    converted = getattr(ours > 0, method)()
    expected = getattr(theirs > 0, method)()
    assert str(converted.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(converted.numpy(), expected.numpy())


def test_shape_error_uses_torch_words(torch):
    ours, theirs = _pair(torch, X, "float32")
    with pytest.raises(RuntimeError) as expected:
        _ = theirs < torch.zeros(3)
    with pytest.raises(gradviz.ShapeError) as got:
        _ = ours < np.zeros(3)
    assert str(expected.value) in str(got.value)
