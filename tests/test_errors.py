"""Errors name the op and the shapes, and inherit the builtin PyTorch would raise."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Function, Variable
from gradviz import functional as F


def var(*shape: int, requires_grad: bool = True) -> Variable:
    return Variable(np.ones(shape), requires_grad=requires_grad)


def test_error_hierarchy():
    assert issubclass(gradviz.ShapeError, ValueError)
    assert issubclass(gradviz.OperandError, TypeError)
    assert issubclass(gradviz.BackwardError, RuntimeError)
    assert issubclass(gradviz.GradcheckError, RuntimeError)
    for error in (
        gradviz.ShapeError,
        gradviz.OperandError,
        gradviz.BackwardError,
        gradviz.GradcheckError,
    ):
        assert issubclass(error, gradviz.GradvizError)


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(gradviz.ShapeError) as info:
        _ = var(2, 3) @ var(4, 5)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "MatMul" in message
    assert "(2, 3)" in message
    assert "(4, 5)" in message


def test_matmul_of_a_scalar_is_a_shape_error():
    with pytest.raises(gradviz.ShapeError, match="MatMul"):
        _ = var(3) @ Variable(np.array(2.0))


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(gradviz.ShapeError) as info:
        _ = var(2, 3) + var(4)
    message = str(info.value)
    assert "Add" in message
    assert "(2, 3)" in message
    assert "(4,)" in message
    with pytest.raises(ValueError, match="Mul"):
        _ = var(2, 3) * np.ones((3, 2))


def test_linear_shape_mismatch():
    with pytest.raises(gradviz.ShapeError, match=r"Linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(var(2, 3), var(4, 5))


def test_backward_on_non_scalar_without_grad():
    y = var(2, 3) * 2
    with pytest.raises(gradviz.BackwardError) as info:
        y.backward()
    assert "grad can be implicitly created only for scalar outputs" in str(info.value)
    assert "(2, 3)" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_backward_with_grad_of_the_wrong_shape():
    y = var(3) * 2
    with pytest.raises(gradviz.ShapeError, match=r"\(2,\).*\(3,\)"):
        y.backward(np.ones(2))


def test_backward_on_variable_that_does_not_require_grad():
    y = var(3, requires_grad=False) * 2
    with pytest.raises(gradviz.BackwardError, match="does not require grad") as info:
        y.sum().backward()
    assert isinstance(info.value, RuntimeError)


def test_string_operand():
    x = var(3)
    with pytest.raises(gradviz.OperandError, match="str") as info:
        _ = x + "1"
    assert isinstance(info.value, TypeError)
    with pytest.raises(TypeError, match="str"):
        _ = "1" * x
    with pytest.raises(TypeError, match=r"\*\*"):
        _ = x ** {"a": 1}
    with pytest.raises(gradviz.OperandError):
        Variable("abc")
    with pytest.raises(gradviz.OperandError):
        Variable(None)


def test_custom_backward_of_the_wrong_shape_names_op_and_input():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad, np.ones(4)

    with pytest.raises(gradviz.ShapeError) as info:
        BadShape.apply(var(3), var(3)).sum().backward()
    message = str(info.value)
    assert "BadShape" in message
    assert "input 1" in message
    assert "(4,)" in message
    assert "(3,)" in message


def test_custom_backward_with_too_many_gradients():
    class TooMany(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(
        gradviz.BackwardError, match=r"TooMany.*incorrect number of gradients \(expected 1, got 2\)"
    ):
        TooMany.apply(var(3)).sum().backward()


def test_index_out_of_range_names_op_and_shape():
    with pytest.raises(gradviz.IndexRangeError, match=r"Index.*\(2, 3\)"):
        _ = var(2, 3)[5]


def test_permute_needs_a_permutation():
    with pytest.raises(gradviz.ShapeError, match="Permute"):
        var(2, 3).permute(0, 0)


def test_max_dim_must_be_one_integer():
    with pytest.raises(gradviz.OperandError, match="Max"):
        var(2, 3).max(dim=(0, 1))


def test_invalid_options():
    # Bad option values are ValueErrors (as in PyTorch), not TypeErrors.
    with pytest.raises(gradviz.ArgumentError, match="reduction"):
        F.mse_loss(var(3), np.zeros(3), reduction="average")
    with pytest.raises(gradviz.ArgumentError, match="reduction"):
        F.cross_entropy(var(2, 3), np.full((2, 3), 1 / 3), reduction="avg")
    with pytest.raises(gradviz.ArgumentError, match="approximate"):
        F.gelu(var(3), approximate="fast")
    with pytest.raises(gradviz.ArgumentError, match="dropout probability"):
        F.dropout(var(3), p=1.5)
    with pytest.raises(gradviz.ArgumentError, match="dropout probability"):
        gradviz.nn.Dropout(1.5)
    with pytest.raises(gradviz.ArgumentError, match="batch_size"):
        gradviz.data.DataLoader(gradviz.data.TensorDataset(np.ones(3)), batch_size=0)
    with pytest.raises(gradviz.ArgumentError, match="between 0 and 1"):
        F.binary_cross_entropy(Variable(np.array([0.5, 1.5]), requires_grad=True), np.ones(2))


def test_nll_loss_target_errors():
    with pytest.raises(gradviz.OperandError, match="integer"):
        F.nll_loss(var(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(gradviz.ShapeError, match=r"NllLoss.*\(2,\).*\(3,\)"):
        F.nll_loss(var(2, 3), np.array([0, 1, 2]))


def test_item_of_a_non_scalar():
    with pytest.raises(RuntimeError, match="3 elements"):
        var(3).item()


def test_a_custom_function_of_no_arguments_and_of_three_runs():
    class Constant(Function):
        @staticmethod
        def forward(ctx):
            return np.arange(3.0)

        @staticmethod
        def backward(ctx, grad):
            return ()

    class Fma(Function):
        @staticmethod
        def forward(ctx, a, b, c):
            ctx.save_for_backward(a, b)
            return a * b + c

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a, grad

    np.testing.assert_array_equal(Constant.apply().numpy(), [0.0, 1.0, 2.0])
    a, b, c = var(3), var(3), var(3)
    Fma.apply(a, b, c).sum().backward()
    np.testing.assert_allclose(a.grad, b.numpy())
    np.testing.assert_allclose(c.grad, np.ones(3))


def test_a_constant_argument_is_no_parent_whichever_side_it_is_on():
    x, k = var(3), np.full(3, 2.0)
    constant = gradviz.Variable(k)
    assert (x * k)._node.parents == (x,)
    assert (k * x)._node.parents == (x,)
    assert (constant * x)._node.parents == (constant, x)
    assert (x * k)._node.needs_input_grad == (True, False)
    assert (constant * x)._node.needs_input_grad == (False, True)
    with gradviz.no_grad():
        assert (x * k)._node is None
