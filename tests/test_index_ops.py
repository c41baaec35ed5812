"""The scatter and index methods beyond what the differential cases compare: in-place
semantics (versions, leaves, graphs), repeated indices, views, and the names users meet."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, InplaceError


def test_scatter_add_into_a_saved_input_is_refused_at_backward():
    x = gradviz.randn(3, 4, requires_grad=True)
    y = x.clone()
    z = y.sin()  # keeps y for its backward
    y.scatter_add_(0, gradviz.tensor([[0, 1, 2, 0]]), gradviz.ones(1, 4))
    with pytest.raises(GradvizError, match="modified by an inplace operation"):
        z.sum().backward()


def test_recorded_in_place_scatter_gives_both_operands_their_gradients():
    x = gradviz.randn(3, 4, requires_grad=True)
    src = gradviz.randn(1, 4, requires_grad=True)
    y = x * 1
    out = y.scatter_(0, gradviz.tensor([[2, 0, 2, 1]]), src)
    assert out is y
    assert y.grad_fn.name() == "Scatter_"
    y.sum().backward()
    expected = np.ones((3, 4))
    expected[[2, 0, 2, 1], [0, 1, 2, 3]] = 0  # overwritten places take no gradient
    np.testing.assert_array_equal(x.grad, expected)
    np.testing.assert_array_equal(src.grad, np.ones((1, 4)))


def test_unrecorded_in_place_index_add_counts_a_repeated_index_twice():
    x = gradviz.zeros(3, 2)
    x.index_add_(0, gradviz.tensor([1, 1, 2]), gradviz.ones(3, 2), alpha=2)
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [4, 4], [2, 2]])
    assert x._version == 1


def test_in_place_index_ops_refuse_a_leaf_that_requires_grad():
    x = gradviz.zeros(3, requires_grad=True)
    with pytest.raises(InplaceError, match="leaf"):
        x.index_fill_(0, gradviz.tensor([0]), 1.0)
    with gradviz.no_grad():
        x.index_fill_(0, gradviz.tensor([0]), 1.0)
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_errors_name_the_op_and_the_shapes():
    x = gradviz.zeros(3, 4)
    with pytest.raises(GradvizError, match=r"index_add\(\).*\(2, 4\).*\(3, 4\)"):
        x.index_add(0, gradviz.tensor([0]), gradviz.ones(2, 4))
    with pytest.raises(GradvizError, match=r"scatter_add\(\).*\[1, 5\].*\[3, 4\]"):
        x.scatter_add(0, gradviz.zeros(1, 5, dtype=gradviz.int64), gradviz.ones(1, 5))
    with pytest.raises(GradvizError, match=r"2x4 and 3x4"):
        gradviz.addmm(x[:2, :1], gradviz.ones(2, 4), gradviz.ones(3, 4))


def test_select_and_as_tensor_share_data_as_in_pytorch():
    x = gradviz.arange(6.0).reshape(2, 3)
    row = x.select(0, 1)
    with gradviz.no_grad():
        row[0] = 10
    assert x[1, 0].item() == 10
    assert gradviz.as_tensor(x) is x
    assert x.ndimension() == 2


def test_cummax_indices_point_at_the_latest_equal_value():
    values, indices = gradviz.tensor([1.0, 3.0, 3.0, 2.0]).cummax(0)
    assert values.tolist() == [1.0, 3.0, 3.0, 3.0]
    assert indices.tolist() == [0, 1, 2, 2]
    assert indices.dtype == np.int64


def test_scatter_reduce_amax_shares_the_gradient_of_ties():
    x = gradviz.tensor([1.0, 1.0], requires_grad=True)
    src = gradviz.tensor([1.0, 0.0], requires_grad=True)
    out = x.scatter_reduce(0, gradviz.tensor([0, 1]), src, "amax")
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0])  # place 0: x and src tie
    np.testing.assert_array_equal(src.grad, [0.5, 0.0])


def test_cross_without_dim_takes_the_first_dim_of_length_3_with_a_warning():
    a, b = gradviz.randn(3, 2), gradviz.randn(3, 2)
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = a.cross(b)
    np.testing.assert_allclose(out.numpy(), np.cross(a.numpy(), b.numpy(), axis=0), rtol=1e-6)


def test_diagonal_is_a_view_that_writes_into_its_input():
    x = gradviz.zeros(3, 4)
    x.diagonal(1).fill_(2.0)
    np.testing.assert_array_equal(x.numpy(), 2 * np.eye(3, 4, 1))
    assert x._version == 1
    w = gradviz.ones(3, 3, requires_grad=True)
    h = w * 1
    h.diagonal().zero_()  # recorded: h's diagonal zeroed, as the gradient knows
    h.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 1 - np.eye(3))


def test_bernoulli_refuses_probabilities_that_do_not_broadcast():
    with pytest.raises(gradviz.ShapeError, match=r"\(3,\).*\(3, 4\)"):
        gradviz.zeros(3, 4).bernoulli_(gradviz.rand(3))
