"""floor, ceil, trunc, frac, reciprocal, rsqrt, neg, log1p, expm1, exp2, erf, erfinv, sinh,
cosh, asin, acos, atan, atan2, hypot, fmod, remainder, nan_to_num and logit (methods and
top-level), and the in-place relu_, sigmoid_, tanh_, exp_, log_, sqrt_, abs_: values, dtypes
and gradients side by side with torch 2.13.0 (skipped without torch); the float64 gradient
checks are rows of the op table (``op_table_special.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_more_ops import _both, _same, needs_torch, torch

import gradviz
from gradviz import Variable
from gradviz.autograd.ops import api_more

RNG = np.random.default_rng(11)

UNARY = {
    "floor": (-3, 3),
    "ceil": (-3, 3),
    "trunc": (-3, 3),
    "frac": (-3, 3),
    "reciprocal": (0.5, 2),
    "rsqrt": (0.5, 2),
    "neg": (-2, 2),
    "log1p": (-0.5, 2),
    "expm1": (-2, 2),
    "exp2": (-2, 2),
    "erf": (-3, 3),
    "erfinv": (-0.99, 0.99),
    "sinh": (-2, 2),
    "cosh": (-2, 2),
    "asin": (-0.95, 0.95),
    "acos": (-0.95, 0.95),
    "atan": (-3, 3),
    "logit": (0.02, 0.98),
    "nan_to_num": (-2, 2),
}


def _method(name: str, *args: Any, **kwargs: Any) -> Any:
    return lambda v, *more: getattr(v, name)(*more, *args, **kwargs)


def _top_level(name: str, *args: Any, **kwargs: Any) -> Any:
    def call(*values: Any) -> Any:
        lib = torch if torch.is_tensor(values[0]) else gradviz
        return getattr(lib, name)(*values, *args, **kwargs)

    return call


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unary_ops_match_pytorch(name, dtype):
    low, high = UNARY[name]
    x = RNG.uniform(low, high, (3, 4)).astype(dtype)
    _both(_method(name), x)
    _both(_top_level(name), x)


@needs_torch
@pytest.mark.parametrize("name", sorted(set(UNARY) - {"frac"}))
def test_unary_ops_of_integers_take_pytorchs_dtype(name):
    _both(_method(name), np.array([[0, 1], [-1, 3]]), grad=False)


@needs_torch
def test_special_values_match_pytorch():
    edges = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    for name in ("erfinv", "asin", "acos", "logit", "rsqrt", "reciprocal", "log1p"):
        _both(_method(name), edges, grad=False)
    _both(_method("logit", eps=0.25), edges)
    _both(_method("logit", 0.1), RNG.uniform(0, 1, 6).astype(np.float32))
    odd = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0])
    for dtype in (np.float64, np.float32):
        _both(_method("nan_to_num"), odd.astype(dtype), grad=False)  # (sums overflow)
        _both(_method("nan_to_num", nan=1.0, posinf=9.0, neginf=-9.0), odd.astype(dtype))
        _both(_method("nan_to_num", posinf=3, neginf=-3), odd.astype(dtype))
    _both(_method("nan_to_num"), np.array([1, 2]), grad=False)


@needs_torch
@pytest.mark.parametrize("name", ["atan2", "hypot", "fmod", "remainder"])
def test_binary_ops_match_pytorch_with_broadcasting(name):
    a, b = RNG.uniform(-3, 3, (2, 3)), RNG.uniform(0.5, 2, 3) * RNG.choice([-1, 1], 3)
    _both(_method(name), a, b)
    _both(_top_level(name), a, b)
    _both(_method(name), a.astype(np.float32), b.astype(np.float32)[:1])


@needs_torch
def test_fmod_and_remainder_take_numbers_and_integers():
    a = np.array([-7, -3, 3, 7])
    for name in ("fmod", "remainder"):
        _both(_method(name, 3), a, grad=False)
        _both(_method(name, -2.5), a, grad=False)
        _both(_method(name, 1.5), RNG.uniform(-4, 4, 5))
        _both(_method(name), a, np.array([2, -3, 5, -2]), grad=False)
    _same(
        gradviz.remainder(7, Variable(np.array([2, -3]))), torch.remainder(7, torch.tensor([2, -3]))
    )
    _both(_method("atan2"), a, np.array([1, -1, 2, 0]), grad=False)  # ints: the default dtype


@needs_torch
@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_", "abs_"])
def test_in_place_functions_match_pytorch(name):
    x = RNG.uniform(0.2, 2, (2, 3)) * RNG.choice([-1, 1], (2, 3))
    if name in ("log_", "sqrt_"):
        x = np.abs(x)

    def recorded(v: Any) -> Any:  # through a non-leaf: recorded, the gradient flows back
        out = v * 1.5
        assert getattr(out, name)() is out
        return out

    _both(recorded, x)
    for lib, leaf in (
        (torch, torch.tensor(x, requires_grad=True)),
        (gradviz, Variable(x, requires_grad=True)),
    ):
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(leaf, name)()
        with lib.no_grad():
            getattr(leaf, name)()
        assert leaf._version == 1
        assert leaf.is_leaf
        assert leaf.requires_grad
    ours, theirs = Variable(x.copy()), torch.tensor(x)
    getattr(ours, name)()
    getattr(theirs, name)()
    _same(ours, theirs)


@needs_torch
def test_in_place_functions_of_integers_as_pytorch():
    ours, theirs = Variable(np.array([-1, 2])), torch.tensor([-1, 2])
    for name in ("relu_", "abs_"):
        _same(getattr(ours, name)(), getattr(theirs, name)())
    for name in ("exp_", "sigmoid_", "sqrt_"):
        with pytest.raises(gradviz.OperandError, match="can't be cast to the desired output type"):
            getattr(ours, name)()
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            getattr(theirs, name)()


@needs_torch
def test_a_saved_output_overwritten_in_place_is_pytorchs_error():
    for lib in (torch, gradviz):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        y = (x * 2).exp_()
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_writing_the_output_in_place_is_an_error_exactly_when_in_pytorch(name):
    low, high = UNARY[name]
    x = RNG.uniform(low, high, 5)
    raised = []
    for lib in (torch, gradviz):
        v = lib.tensor(x, requires_grad=True)
        out = getattr(v * 1, name)()
        out.add_(1)
        try:
            out.sum().backward()
        except RuntimeError as error:
            raised.append((lib.__name__, "modified by an inplace operation" in str(error)))
    assert raised in ([], [("torch", True), ("gradviz", True)])


def test_rounding_has_a_zero_gradient_and_frac_a_unit_one():
    x = Variable(np.array([-1.5, 0.25, 2.75]), requires_grad=True)
    (x.floor() + x.ceil() + x.trunc() + x.frac()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_in_place_functions_are_recorded_under_their_names():
    x = Variable(np.array([0.5, -1.0]), requires_grad=True)
    y = x * 1
    for name in ("relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_", "abs_"):
        getattr(y, name)()
        assert y.op == name.capitalize()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gradviz.atan2(np.ones(2), 2.0), "OperandError", "atan2\\(\\): argument 'other'"),
        (lambda: gradviz.hypot(np.ones(2), "a"), "OperandError", "hypot\\(\\): argument 'other'"),
        (lambda: gradviz.fmod(np.ones(2), "a"), "OperandError", "fmod\\(\\): argument 'other'"),
        (lambda: gradviz.hypot(np.ones(2, int), np.ones(2, int)), "InputError", "hypot_cpu"),
        (lambda: gradviz.frac(np.ones(2, int)), "InputError", "frac_cpu"),
        (lambda: gradviz.floor(np.ones(2, bool)), "InputError", "floor_vml_cpu"),
        (lambda: Variable(np.ones(2, bool)).trunc(), "InputError", "not implemented for 'Bool'"),
        (lambda: gradviz.fmod(np.ones(2, int), 0), "InputError", "division or modulo by zero"),
        (lambda: gradviz.logit(np.ones(2), eps="a"), "OperandError", "'eps' must be float"),
        (lambda: gradviz.nan_to_num(np.ones(2), posinf="a"), "OperandError", "'posinf' must"),
    ],
)
def test_bad_arguments_raise_a_gradviz_error_naming_the_op(call, error, message):
    with pytest.raises(getattr(gradviz, error), match=message) as raised:
        call()
    assert isinstance(raised.value, gradviz.GradvizError)


@pytest.mark.parametrize("name", api_more.NAMES)
def test_every_new_top_level_function_is_exported_and_documented(name):
    function = getattr(gradviz, name)
    assert function is getattr(gradviz.autograd, name)
    assert name in gradviz.__all__
    assert function.__doc__
    if name in api_more.MIRRORED:
        assert function.__name__ == name
        assert f"input.{name}(" in function.__doc__
