"""``api_extra``: the dtype rules against PyTorch's by name, and gradients by finite
differences at float64 for the compositions (``vander`` at a zero, where PyTorch's own
backward fails; ``ldexp`` with a negative exponent)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradviz

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


def test_promote_types_and_can_cast_are_pytorchs_for_every_pair():
    torch = pytest.importorskip("torch")
    for a, b in itertools.product(DTYPES, repeat=2):
        ours = gradviz.promote_types(np.dtype(a), np.dtype(b))
        theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert str(ours) == str(theirs).removeprefix("torch."), (a, b)
        assert gradviz.can_cast(np.dtype(a), np.dtype(b)) == torch.can_cast(
            getattr(torch, a), getattr(torch, b)
        ), (a, b)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([1, 2], 1.0),
        ([1.0], np.int64(2)),
        ([True], 3),
        ([1], np.array([1.0], dtype=np.float32)),
        (np.array(1.0), np.array([1, 2], dtype=np.int32)),
        ([1.0], [2.0]),
    ],
)
def test_result_type_is_pytorchs(first, second):
    torch = pytest.importorskip("torch")

    def make(lib, value):
        if isinstance(value, list):
            return lib.tensor(value)
        if isinstance(value, np.ndarray):
            return lib.tensor(value) if lib is gradviz else torch.from_numpy(value)
        return value.item() if isinstance(value, np.generic) else value

    ours = gradviz.result_type(make(gradviz, first), make(gradviz, second))
    theirs = torch.result_type(make(torch, first), make(torch, second))
    assert str(ours) == str(theirs).removeprefix("torch.")


def _leaf(*shape: int, low: float = -2.0, high: float = 2.0) -> gradviz.Variable:
    rng = np.random.default_rng(sum(shape) + 7)
    return gradviz.tensor(rng.uniform(low, high, shape), requires_grad=True)


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x: gradviz.diag_embed(x, 1, 0, 2), [(2, 3)]),
        (lambda x: gradviz.diagflat(x, -1), [(2, 2)]),
        (lambda x: gradviz.vander(x * gradviz.tensor([0.0, 1.0, 1.0]), 4), [(3,)]),
        (lambda y: gradviz.cumulative_trapezoid(y, dx=0.3, dim=0), [(4, 2)]),
        (lambda y, x: gradviz.cumulative_trapezoid(y, x), [(2, 4), (4,)]),
        (lambda a, m, v: gradviz.addmv(a, m, v, beta=0.5, alpha=2), [(3,), (3, 2), (2,)]),
        (lambda a, u, v: a.addr(u, v, beta=0), [(3, 2), (3,), (2,)]),
        (lambda a, b: gradviz.dist(a, b, 3), [(3, 2), (2,)]),
        (lambda x: gradviz.frexp(x)[0], [(4,)]),
        (lambda x: gradviz.ldexp(x, gradviz.tensor([-2, 0, 3])), [(3,)]),
        (lambda x: gradviz.atleast_3d(x) * 2, [(3,)]),
    ],
)
def test_compositions_pass_gradcheck(fn, shapes):
    assert gradviz.gradcheck(fn, [_leaf(*s) for s in shapes])


def test_addmv_with_beta_zero_ignores_the_inputs_nans_and_gives_it_a_zero_gradient():
    a = gradviz.tensor([np.nan, 1.0], dtype=gradviz.float64, requires_grad=True)
    out = gradviz.addmv(
        a, gradviz.ones(2, 3, dtype=gradviz.float64), gradviz.ones(3, dtype=gradviz.float64), beta=0
    )
    np.testing.assert_array_equal(out.numpy(), [3.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])


def test_gcd_and_frexp_exponents_carry_no_gradient():
    x = gradviz.tensor([1.5, -3.0], requires_grad=True)
    mantissa, exponent = gradviz.frexp(x)
    assert mantissa.requires_grad
    assert not exponent.requires_grad
    assert exponent.dtype == np.int32
    assert not gradviz.gcd(gradviz.tensor([4]), gradviz.tensor([6])).requires_grad
