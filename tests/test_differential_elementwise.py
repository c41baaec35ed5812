"""Differential test against PyTorch: ``erfc``, ``sinc``, ``i0``, ``xlogy``, ``fmax``/``fmin``,
``heaviside``, ``float_power``, ``deg2rad``/``rad2deg``, ``signbit``,
``isposinf``/``isneginf``/``isreal``, ``positive``, ``hardshrink``/``prelu`` as methods, and
the in-place forms (``tan_``, ``sin_``, ``subtract_`` ...), as functions and methods (values,
dtypes, gradients and refusals). ``tan``, ``asinh`` ... are test_differential_trig's cases,
the aliases (``subtract``, ``greater``, ``fliplr``, ``logaddexp`` ...)
test_differential_aliases's.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

#: one-input functions and the range their inputs are drawn from
UNARY = {
    "erfc": (-2.0, 2.0), "sinc": (-2.0, 2.0), "i0": (-2.0, 2.0), "deg2rad": (-200.0, 200.0),
    "rad2deg": (-4.0, 4.0), "positive": (-2.0, 2.0), "signbit": (-2.0, 2.0),
    "isposinf": (-2.0, 2.0), "isneginf": (-2.0, 2.0), "isreal": (-2.0, 2.0),
}  # fmt: skip

#: in-place methods and their input range
INPLACE = {
    "tan_": (-1.2, 1.2), "asinh_": (-2.0, 2.0), "acosh_": (1.1, 3.0), "atanh_": (-0.9, 0.9),
    "arcsinh_": (-2.0, 2.0), "arccosh_": (1.1, 3.0), "arctanh_": (-0.9, 0.9),
    "erfc_": (-2.0, 2.0), "sinc_": (-2.0, 2.0), "i0_": (-2.0, 2.0), "sin_": (-2.0, 2.0),
    "cos_": (-2.0, 2.0), "sinh_": (-2.0, 2.0), "cosh_": (-2.0, 2.0), "asin_": (-0.9, 0.9),
    "acos_": (-0.9, 0.9), "atan_": (-2.0, 2.0), "arcsin_": (-0.9, 0.9), "arccos_": (-0.9, 0.9),
    "arctan_": (-2.0, 2.0), "log1p_": (-0.5, 2.0), "expm1_": (-2.0, 2.0), "erf_": (-2.0, 2.0),
    "erfinv_": (-0.9, 0.9), "rsqrt_": (0.5, 2.0), "reciprocal_": (0.5, 2.0),
    "absolute_": (-2.0, 2.0), "negative_": (-2.0, 2.0),
}  # fmt: skip

BINARY = ("fmax", "fmin")


def unary_cases() -> Iterable[Case]:
    d = Draw(101)
    for name, (low, high) in UNARY.items():
        x = d.f((3, 4), low=low, high=high)
        yield Case("top", name, (x,))
        yield Case("method", name, (x,))
        yield Case("top", name, (d.f((5,), "float32", low=low, high=high),))
        yield Case("top", name, (d.i((2, 3), 1, 3),))  # integers
    special = Arr(np.array([-0.0, 0.0, -1.5, np.inf, -np.inf, np.nan, 2.0]))
    for name in ("signbit", "isposinf", "isneginf", "isreal", "sinc", "i0", "erfc"):
        yield Case("top", name, (special,))
    yield Case("top", "positive", (d.b((3,)),))  # bools: refused
    yield Case("top", "signbit", (d.b((3,)),))
    yield Case("top", "deg2rad", (d.b((3,)),))


def binary_cases() -> Iterable[Case]:
    d = Draw(102)
    a, b = d.f((3, 4)), d.f((4,))
    nan = Arr(np.array([1.0, np.nan, np.nan, 2.0, 0.5]))
    other = Arr(np.array([np.nan, 3.0, np.nan, 2.0, -1.0]))
    for name in BINARY:
        yield Case("top", name, (a, b))
        yield Case("method", name, (a, b))
        yield Case("top", name, (nan, other))
        yield Case("top", name, (d.f((3, 1), "float32"), d.f((2,))))  # float32 with float64
        yield Case("top", name, (a, 1.0))  # a number: refused
        yield Case("top", name, (d.f((3,)), d.f((4,))))  # shapes that do not broadcast
        yield Case("top", name, (d.i((3, 4)), d.i((4,))))
        yield Case("top", name, (d.i((3,)), d.f((3,))))  # int with float: the float
        tie = Arr(np.array([1.0, 2.0, 3.0]))
        yield Case("top", name, (tie, Arr(np.array([1.0, 0.0, 3.0]))))  # ties: input's
    x, y = d.f((3, 4), low=0.1), d.f((4,), low=0.1)
    yield Case("top", "xlogy", (x, y))
    yield Case("method", "xlogy", (d.f((3, 4)), y))
    yield Case("top", "xlogy", (2.0, y))
    yield Case("top", "xlogy", (x, 3))
    yield Case("top", "xlogy", (Arr(np.array([0.0, 0.0, 1.0])), Arr(np.array([0.0, np.nan, 0.0]))))
    for values in (Arr(np.array(0.5)), d.f((4,))):
        step = Arr(np.array([[-1.0, 0.0, 2.0, 0.0]] * 2))
        yield Case("top", "heaviside", (step, values))
        yield Case("method", "heaviside", (step, values))
    yield Case("top", "heaviside", (d.i((3,)), Arr(np.array(7))))
    yield Case("top", "heaviside", (d.f((3,)), Arr(np.array(1.0, dtype=np.float32))))  # refused
    yield Case("top", "heaviside", (d.f((3,)), 0.5))  # a number: refused


def power_cases() -> Iterable[Case]:
    d = Draw(103)
    base, exponent = d.f((3, 4), low=0.2, high=2.0), d.f((4,))
    yield Case("top", "float_power", (base, exponent))
    yield Case("method", "float_power", (base, exponent))
    yield Case("top", "float_power", (d.f((3,), "float32", low=0.2), 2))
    yield Case("top", "float_power", (d.i((3,)), 2))
    yield Case("top", "float_power", (2, d.f((3,), "float32")))
    yield Case("top", "float_power", (base, 0.5))
    yield Case("top", "float_power", (d.f((3,), low=-2.0, high=-0.5), 0.5))  # NaN
    yield Case("top", "float_power", (d.f((3,)), d.i((3,), 0, 3)))


def alias_cases() -> Iterable[Case]:
    d = Draw(104)
    a, b = d.f((3, 4)), d.f((4,))
    yield Case("method", "subtract_", (Arr(a.value, clone=True), b))
    yield Case("method", "multiply_", (Arr(a.value, clone=True), b))
    yield Case("method", "divide_", (Arr(a.value, clone=True), b))
    yield Case("method", "hardshrink", (a,))
    yield Case("method", "hardshrink", (a, 1.0))
    yield Case("method", "prelu", (d.f((2, 3, 4)), d.f((3,))))
    yield Case("method", "prelu", (d.f((2, 3, 4)), d.f((4,))))  # 4 slopes for 3 channels


def inplace_cases() -> Iterable[Case]:
    d = Draw(105)
    for name, (low, high) in INPLACE.items():
        x = d.f((3, 4), low=low, high=high)
        yield Case("method", name, (Arr(x.value, clone=True),))
        yield Case("method", name, (Arr(x.value, grad=False),))
        yield Case("method", name, (x,))  # a leaf that requires grad: refused


CASES = all_cases(
    (unary_cases, None),
    (binary_cases, None),
    (power_cases, None),
    (alias_cases, None),
    (inplace_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
