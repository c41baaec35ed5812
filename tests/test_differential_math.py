"""Differential test against PyTorch: elementwise ops (unary, binary with type promotion and
broadcasting), reductions over every kind of dim, scans, sorting and dtype conversions.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz

torch = pytest.importorskip("torch")

DTYPES = ("float32", "float64")
#: shapes every elementwise op meets: a matrix, 0-d, size-0, 3-d
SHAPES = ((3, 4), (), (0, 3), (2, 3, 4))


def _unary_inputs(d: Draw, low: float, high: float) -> Iterable[Arr]:
    for dtype in DTYPES:
        for shape in SHAPES:
            yield d.f(shape, dtype, low, high)
        yield d.f((4, 3), dtype, low, high, nc=True)


#: unary op -> input range (PyTorch's domain; kinks like 0 are reached by rounding below)
UNARY = {
    "abs": (-2, 2),
    "acos": (-0.9, 0.9),
    "arccos": (-0.9, 0.9),
    "arcsin": (-0.9, 0.9),
    "arctan": (-2, 2),
    "asin": (-0.9, 0.9),
    "atan": (-2, 2),
    "ceil": (-2, 2),
    "cos": (-2, 2),
    "cosh": (-2, 2),
    "erf": (-2, 2),
    "erfinv": (-0.9, 0.9),
    "exp": (-2, 2),
    "exp2": (-2, 2),
    "expm1": (-2, 2),
    "fix": (-2, 2),
    "floor": (-2, 2),
    "frac": (-2, 2),
    "isfinite": (-2, 2),
    "isinf": (-2, 2),
    "isnan": (-2, 2),
    "log": (0.1, 3),
    "log10": (0.1, 3),
    "log1p": (-0.5, 3),
    "log2": (0.1, 3),
    "logical_not": (-2, 2),
    "logit": (0.05, 0.95),
    "nan_to_num": (-2, 2),
    "neg": (-2, 2),
    "negative": (-2, 2),
    "reciprocal": (0.2, 3),
    "relu": (-2, 2),
    "round": (-2, 2),
    "rsqrt": (0.2, 3),
    "sigmoid": (-3, 3),
    "sign": (-2, 2),
    "sin": (-2, 2),
    "sinh": (-2, 2),
    "sqrt": (0.1, 3),
    "square": (-2, 2),
    "tanh": (-2, 2),
    "trunc": (-2, 2),
    "__abs__": (-2, 2),
    "__neg__": (-2, 2),
    "__pos__": (-2, 2),
}


def unary_cases() -> Iterable[Case]:
    d = Draw(1)
    for name, (low, high) in UNARY.items():
        for x in _unary_inputs(d, low, high):
            yield Case("method", name, (x,))
            if not name.startswith("_") and hasattr(gradviz, name) and hasattr(torch, name):
                yield Case("top", name, (x,))
        # integer and bool inputs: PyTorch keeps some ops integral and promotes others
        yield Case("method", name, (d.i((2, 3), 1, 4),))
        yield Case("method", name, (d.b((2, 3)),))
    # kinks: relu and abs at 0, rounding halves
    kinks = Arr(np.array([-1.5, -0.5, 0.0, 0.5, 1.5, 2.5]))
    for name in ("abs", "relu", "round", "sign", "floor", "ceil", "trunc", "frac"):
        yield Case("method", name, (kinks,))
    yield Case("method", "round", (d.f((3, 4), low=-20, high=20),), {"decimals": 1})
    special = Arr(np.array([np.nan, np.inf, -np.inf, 1.0]))
    for name in ("nan_to_num", "isfinite", "isinf", "isnan"):
        yield Case("method", name, (special,))
    yield Case("method", "nan_to_num", (special,), {"nan": 1.0, "posinf": 2.0, "neginf": -3.0})
    yield Case("method", "logit", (d.f((3,), low=0.0, high=1.0),), {"eps": 0.1})


def _operands(d: Draw) -> Iterable[tuple[Any, Any]]:
    """Pairs that broadcast, promote or fail to broadcast."""
    for dtype in DTYPES:
        yield d.f((3, 4), dtype), d.f((3, 4), dtype)
        yield d.f((3, 1), dtype), d.f((4,), dtype)
        yield d.f((2, 1, 4), dtype), d.f((3, 1), dtype)
        yield d.f((0, 4), dtype), d.f((4,), dtype)
        yield d.f((4, 3), dtype, nc=True), d.f((3,), dtype)
        yield d.f((), dtype), d.f((2, 3), dtype)
        yield d.f((3, 4), dtype), d.f((2, 4), dtype)  # does not broadcast
    yield d.f((3, 4), "float32"), d.f((), "float64")  # 0-d does not promote a category
    yield d.f((3, 4), "float32"), d.f((4,), "float64")
    yield d.i((3, 4)), d.f((4,), "float32")
    yield d.i((3, 4)), d.i((4,), dtype="int32")
    yield d.b((3, 4)), d.i((4,))
    yield d.b((3, 4)), d.b((4,))
    yield d.i((3, 4)), d.f((), "float64")
    yield d.b((2, 3)), d.f((), "float32")
    for scalar in (2, 2.5, True, -1):
        yield d.f((2, 3), "float32"), scalar
        yield d.i((2, 3)), scalar
        yield d.b((2, 3)), scalar
        yield d.f((), "float64"), scalar


BINARY = (
    "add",
    "sub",
    "mul",
    "div",
    "divide",
    "multiply",
    "atan2",
    "arctan2",
    "hypot",
    "fmod",
    "remainder",
    "maximum",
    "minimum",
    "pow",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_and",
    "logical_or",
    "logical_xor",
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__floordiv__",
    "__rfloordiv__",
    "__mod__",
    "__rmod__",
    "__pow__",
    "__rpow__",
    "__and__",
    "__or__",
    "__xor__",
    "__rand__",
    "__ror__",
    "__rxor__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
)


def _positive(arg: Any) -> Any:
    """``arg`` moved away from 0 (pow's base, a divisor), keeping its dtype and shape."""
    if isinstance(arg, Arr) and arg.value.dtype.kind == "f":
        return Arr(np.abs(arg.value) + 0.5, arg.grad, arg.nc)
    if isinstance(arg, Arr) and arg.value.dtype.kind in "iu":
        return Arr(np.abs(arg.value) + 1)
    return arg


def binary_cases() -> Iterable[Case]:
    d = Draw(2)
    pairs = list(_operands(d))
    for name in BINARY:
        for a, b in pairs:
            if not isinstance(a, Arr):
                continue
            if name in ("pow", "__pow__", "__rpow__", "fmod", "remainder") or "div" in name:
                a, b = _positive(a), _positive(b)
            if isinstance(b, bool) and ("div" in name or name == "__rpow__"):
                continue  # (PyTorch's __rpow__ of True fails an internal assert)
            if name.startswith("__r") and isinstance(b, Arr):
                continue  # Python calls a reflected operator with a number only
            yield Case("method", name, (a, b))
            if not name.startswith("_") and isinstance(b, Arr) and hasattr(gradviz, name):
                yield Case("top", name, (a, b))
    x, y = d.f((3, 4)), d.f((4,))
    yield Case("method", "add", (x, y), {"alpha": 2})
    yield Case("method", "sub", (x, y), {"alpha": 0.5})
    yield Case("top", "add", (x, 3), {"alpha": 2})
    for mode in ("floor", "trunc", None):
        yield Case("method", "div", (x, _positive(y)), {"rounding_mode": mode})
        yield Case("method", "div", (d.i((3, 4)), _positive(d.i((4,)))), {"rounding_mode": mode})
        yield Case("top", "divide", (x, _positive(y)), {"rounding_mode": mode})
    yield Case("method", "lerp", (x, d.f((3, 4)), 0.3))
    yield Case("method", "lerp", (x, d.f((3, 4)), d.f((4,))))
    yield Case("top", "lerp", (d.f((3, 1)), d.f((4,)), 0.7))
    for low, high in ((-0.5, 0.5), (None, 0.2), (-0.1, None)):
        for spec in (d.f((3, 4)), d.i((3, 4)), d.f((), "float32")):
            yield Case("method", "clamp", (spec, low, high))
            yield Case("top", "clip", (spec, low, high))
    yield Case("method", "clamp", (x, d.f((4,)), d.f((3, 1))))
    yield Case("method", "clamp", (x,))  # neither bound: PyTorch refuses
    ints = Arr(np.array([[-7, 7], [5, -5]]))
    divisors = Arr(np.array([[2, -2], [-3, 3]]))
    for name in ("fmod", "remainder", "__floordiv__", "__mod__"):
        yield Case("method", name, (ints, divisors))
        yield Case("method", name, (ints, 0))  # integer division by zero raises
    yield Case("method", "pow", (d.i((2, 3), 0, 4), 2))
    yield Case("method", "pow", (d.i((2, 3), 1, 4), -1))  # integers to negative powers raise
    yield Case("method", "pow", (d.i((2, 3), 1, 4), 0.5))
    yield Case("method", "__rpow__", (d.f((2, 3)), 2))
    yield Case("method", "__rpow__", (d.i((2, 3), 0, 4), 2))


#: reductions with a dim (PyTorch takes a tuple of dims in some: gradviz refuses it in the others)
REDUCTIONS = (
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "max",
    "min",
    "argmax",
    "argmin",
    "std",
    "var",
    "logsumexp",
    "norm",
    "median",
    "all",
    "any",
    "count_nonzero",
)
DIMS: tuple[Any, ...] = (0, 1, -1, -3, 3, (0, -1), (1,), (), (0, 0))


def reduction_cases() -> Iterable[Case]:
    d = Draw(3)
    inputs = [
        d.f((2, 3, 4)),
        d.f((2, 3, 4), "float32"),
        d.f((4, 3), nc=True),
        d.f((), "float32"),
        d.f((0, 3)),
        d.i((2, 3)),
        d.b((2, 3)),
    ]
    ties = Arr(np.array([[3.0, 1.0, 3.0], [2.0, 2.0, -1.0]]))
    yield from _dim_cases([*inputs, ties])
    yield from _scan_cases([*inputs, ties])
    for name in ("std", "var"):
        for correction in (0, 1, 2):
            yield Case("method", name, (inputs[0],), {"dim": 1, "correction": correction})
        yield Case("method", name, (inputs[0], 1), {"unbiased": False})
        yield Case("method", name, (d.f((1, 3)),), {"dim": 0})  # one sample: NaN
    for p in (1, 2, 3, float("inf"), 0, "fro"):
        yield Case("method", "norm", (inputs[0],), {"p": p, "dim": -1})
        yield Case("method", "norm", (inputs[2],), {"p": p})
    for dtype in ("float64", "float32", "int64"):
        yield Case("method", "sum", (inputs[0],), {"dtype": getattr(gradviz, dtype)})
    for k, dim, largest in ((2, -1, True), (1, 0, False), (3, 1, True), (5, -1, True)):
        yield Case("method", "topk", (inputs[0], k), {"dim": dim, "largest": largest})
    yield Case("top", "topk", (inputs[0], 2))
    yield Case("top", "sort", (inputs[0],), {"dim": 1})
    yield Case("top", "argsort", (inputs[0],), {"descending": True})


def _dim_cases(inputs: list[Arr]) -> Iterable[Case]:
    """Every reduction over every kind of ``dim``, with and without ``keepdim``."""
    for name in REDUCTIONS:
        kinds = ("method", "top") if hasattr(gradviz, name) else ("method",)
        for x in inputs:
            for kind in kinds:
                yield Case(kind, name, (x,))
                for dim in DIMS:
                    for keepdim in (False, True):
                        yield Case(kind, name, (x,), {"dim": dim, "keepdim": keepdim})


def _scan_cases(inputs: list[Arr]) -> Iterable[Case]:
    """Scans, softmax and sorting along each dim."""
    for name in ("cumsum", "cumprod", "softmax", "log_softmax"):
        for x in inputs:
            for dim in (0, 1, -1, 2, -3):
                yield Case("method", name, (x, dim))
            yield Case("top", name, (x, -1))
    for name in ("sort", "argsort"):
        for x in (inputs[-1], inputs[0], inputs[2], inputs[5]):
            for dim in (0, -1):
                for descending in (False, True):
                    yield Case("method", name, (x,), {"dim": dim, "descending": descending})


def dtype_cases() -> Iterable[Case]:
    d = Draw(4)
    for x in (d.f((2, 3)), d.f((2, 3), "float32"), d.i((2, 3)), d.b((2, 3))):
        for name in ("float", "double", "long", "int", "bool", "clone", "contiguous", "detach"):
            yield Case("method", name, (x,))
        for name in ("numel", "nelement", "dim", "element_size", "tolist", "is_contiguous"):
            yield Case("method", name, (x,))
        yield Case("method", "type_as", (x, d.f((1,), "float32")))
        yield Case("method", "to", (x, gradviz.float64))
    yield Case("method", "item", (d.f((), "float32"),))
    yield Case("method", "item", (d.f((1, 1)),))
    yield Case("method", "item", (d.f((2,)),))  # more than one element
    yield Case("method", "is_contiguous", (d.f((4, 3), nc=True),))


CASES = all_cases(
    (unary_cases, None), (binary_cases, None), (reduction_cases, None), (dtype_cases, None)
)


GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
