"""The checker itself: it passes correct gradients and catches wrong ones."""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pytest

import gradviz
from gradviz import Function, Variable
from gradviz import functional as F


def make_scaled_square(factor: float, element: tuple[int, ...] | None = None) -> type[Function]:
    """``a * b**2`` whose gradient for ``b`` is off by ``factor`` (at one element, or all)."""

    class ScaledSquare(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b**2

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            grad_b = grad * 2 * a * b
            error = np.ones_like(grad_b)
            if element is None:
                error[...] = factor
            else:
                error[element] = factor
            return grad * b**2, grad_b * error

    return ScaledSquare


def inputs(rng):
    return [
        Variable(rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True),
        Variable(rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True),
    ]


def test_gradcheck_returns_true_for_correct_gradients(rng):
    exact = make_scaled_square(1.0)
    assert gradviz.gradcheck(exact.apply, inputs(rng)) is True
    assert gradviz.gradcheck(lambda a, b: (a @ b.T).tanh().sum(), inputs(rng)) is True
    assert gradviz.gradcheck(lambda x: F.softmax(x * 3, dim=0), inputs(rng)[0]) is True


def test_gradcheck_catches_a_0_1_percent_error_and_names_input_and_element(rng):
    wrong = make_scaled_square(1.001, element=(1, 2))
    with pytest.raises(gradviz.GradcheckError) as info:
        gradviz.gradcheck(wrong.apply, inputs(rng), rtol=1e-4)
    message = str(info.value)
    assert "input 1" in message
    assert "element (1, 2)" in message
    assert "(2, 3)" in message  # the input's shape
    assert isinstance(info.value, RuntimeError)
    analytic, numeric = map(float, re.search(r"analytic (\S+) vs numeric (\S+)", message).groups())
    assert analytic == pytest.approx(numeric * 1.001, rel=1e-6)


def test_default_tolerance_passes_0_1_percent_by_construction(rng):
    # |analytic - numeric| <= atol + rtol * |numeric| with rtol = 1e-3 admits a 0.1% error:
    # that is the PyTorch-style criterion, so tighter checks must pass rtol explicitly.
    wrong = make_scaled_square(1.0009)
    assert gradviz.gradcheck(wrong.apply, inputs(rng)) is True


def test_default_tolerance_catches_a_1_percent_error(rng):
    wrong = make_scaled_square(1.01, element=(0, 1))
    with pytest.raises(gradviz.GradcheckError, match=r"input 1 .*element \(0, 1\)"):
        gradviz.gradcheck(wrong.apply, inputs(rng))


def test_gradcheck_catches_a_missing_gradient(rng):
    class ForgetsB(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            (b,) = ctx.saved_tensors
            return grad * b, None

    with pytest.raises(gradviz.GradcheckError, match="input 1"):
        gradviz.gradcheck(ForgetsB.apply, inputs(rng))


def test_gradcheck_checks_every_output_element(rng):
    class CrossTalk(Function):
        """Output 1 depends on input 0, but backward only routes each output to its own input."""

        @staticmethod
        def forward(ctx, x):
            return x + x[::-1] * np.array([0.0, 1.0])

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    expected = r"input 0 .*element \(0,\), output element \(1,\)"
    with pytest.raises(gradviz.GradcheckError, match=expected):
        gradviz.gradcheck(CrossTalk.apply, [x])


class Swish(Function):
    """x * sigmoid(beta * x), with beta an optional second Variable."""

    needs_seen: ClassVar[list[tuple[bool, ...]]] = []  # what backward saw, for the test

    @staticmethod
    def forward(ctx, x, beta):
        s = 1 / (1 + np.exp(-beta * x))
        ctx.save_for_backward(x, beta, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, beta, s = ctx.saved_tensors
        Swish.needs_seen.append(ctx.needs_input_grad)
        ds = s * (1 - s)
        grad_x = grad * (s + x * beta * ds) if ctx.needs_input_grad[0] else None
        grad_beta = grad * x * x * ds if ctx.needs_input_grad[1] else None
        return grad_x, grad_beta


def test_custom_function_via_apply(rng):
    x = Variable(rng.normal(size=(3, 4)), requires_grad=True)
    beta = Variable(np.array(1.5), requires_grad=True)
    y = Swish.apply(x, beta)
    assert y.op == "Swish"
    assert y.grad_fn.name() == "Swish"
    assert y.parents[0] is x
    assert y.parents[1] is beta
    np.testing.assert_allclose(y.numpy(), x.numpy() / (1 + np.exp(-1.5 * x.numpy())))
    assert gradviz.gradcheck(Swish.apply, [x, beta]) is True


def test_custom_function_sees_needs_input_grad(rng):
    x = Variable(rng.normal(size=(4,)), requires_grad=True)
    Swish.needs_seen.clear()
    Swish.apply(x, 1.0).sum().backward()  # a Python float: no gradient wanted
    Swish.apply(x, Variable(np.array(2.0))).sum().backward()
    assert Swish.needs_seen == [(True, False), (True, False)]
    s = 1 / (1 + np.exp(-x.numpy()))
    s2 = 1 / (1 + np.exp(-2 * x.numpy()))
    expected = (s + x.numpy() * s * (1 - s)) + (s2 + x.numpy() * 2 * s2 * (1 - s2))
    np.testing.assert_allclose(x.grad, expected)


def test_gradcheck_leaves_inputs_untouched_and_upcasts_float32(rng):
    x = Variable(rng.uniform(0.5, 2.0, (3,)).astype(np.float32), requires_grad=True, name="x")
    w = Variable(rng.normal(size=(3,)), requires_grad=True)
    constant = rng.normal(size=(3,)).astype(np.float32)
    before = x.numpy().copy(), w.numpy().copy(), constant.copy()
    seen_dtypes = []

    def fn(a, b, c):
        seen_dtypes.append((a.dtype, c.dtype))
        return (a.log() * b + c).sum()

    assert gradviz.gradcheck(fn, [x, w, constant]) is True
    assert set(seen_dtypes) == {(np.dtype(np.float64), np.dtype(np.float64))}
    assert x.dtype == np.float32
    assert constant.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), before[0])
    np.testing.assert_array_equal(w.numpy(), before[1])
    np.testing.assert_array_equal(constant, before[2])
    assert x.grad is None
    assert w.grad is None


def test_gradcheck_skips_inputs_without_requires_grad_and_needs_one():
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    labels = np.array([1])
    assert gradviz.gradcheck(lambda v, t: F.cross_entropy(v.reshape(1, 2), t), [x, labels])
    with pytest.raises(gradviz.OperandError, match="no input requires grad"):
        gradviz.gradcheck(lambda v: v * 2, [Variable(np.ones(2))])


def test_gradcheck_requires_fn_to_return_a_variable():
    x = Variable(np.ones(2), requires_grad=True)
    with pytest.raises(gradviz.OperandError, match="must return a Variable"):
        gradviz.gradcheck(lambda v: v.numpy() * 2, [x])


@pytest.mark.parametrize(
    "layout",
    [
        lambda a: a.T,  # Fortran order
        lambda a: a[:, ::2],  # strided view
        lambda a: np.asfortranarray(a.astype(np.float32)),  # float32 in Fortran order
    ],
    ids=["transposed", "strided", "float32_fortran"],
)
def test_gradcheck_works_on_non_contiguous_inputs(rng, layout):
    data = layout(rng.normal(size=(4, 6)))
    x = Variable(data, requires_grad=True)
    before = data.copy()
    assert gradviz.gradcheck(lambda v: (v * v * np.arange(v.shape[-1])).sum(), [x]) is True
    np.testing.assert_array_equal(x.numpy(), before)


class _SquareWrongSecond(gradviz.Function):
    """x**2 whose graph rule has the right value but no derivative (a detached input): only
    gradgradcheck can tell."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 * ctx.inputs[0]._data

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * 2 * ctx.inputs[0].detach()


def test_gradgradcheck_checks_second_derivatives_as_pytorchs():
    """`torch.autograd.gradgradcheck` (the custom-Function tutorials' second check)."""
    x = gradviz.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
    w = gradviz.tensor(np.ones((4, 2)), requires_grad=True)
    assert gradviz.autograd.gradgradcheck(lambda a, b: (a.tanh() @ b).sin(), (x, w))
    assert gradviz.autograd.gradgradcheck(lambda a: a.exp(), x, gradviz.ones(4, dtype=np.float64))
    assert gradviz.autograd.gradcheck(_SquareWrongSecond.apply, (x,))
    with pytest.raises(gradviz.GradcheckError, match="Jacobian mismatch"):
        gradviz.autograd.gradgradcheck(_SquareWrongSecond.apply, (x,))
    assert not gradviz.autograd.gradgradcheck(_SquareWrongSecond.apply, x, raise_exception=False)


def test_gradcheck_takes_pytorchs_options_and_tuple_outputs():
    """`gradcheck(f, inputs, eps=1e-6, atol=1e-4, raise_exception=False, fast_mode=True)`, and
    a function of several outputs, as PyTorch's gradcheck takes them."""
    x = gradviz.tensor(np.linspace(0.1, 1.0, 3), requires_grad=True)
    assert gradviz.autograd.gradcheck(
        lambda a: (a.exp(), a * 2), (x,), eps=1e-6, atol=1e-4, fast_mode=True, nondet_tol=0.0
    )
    assert not gradviz.autograd.gradcheck(_Off.apply, (x,), raise_exception=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'quick'"):
        gradviz.autograd.gradcheck(lambda a: a.exp(), (x,), quick=True)


class _Off(gradviz.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        return grad * 3.3
