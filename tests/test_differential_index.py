"""Differential test against PyTorch: scatter and index ops, the linear-algebra and layout
methods (diagonal, unfold, addmm, cross, tensordot, cdist ...), and the functions without a
gradient (bucketize, searchsorted, histc, isclose, tril_indices, logspace ...).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def _ix(values) -> Arr:
    return Arr(np.array(values, dtype=np.int64))


def scatter_cases() -> Iterable[Case]:
    d = Draw(71)
    index = _ix([[0, 2, 1, 0], [2, 2, 0, 1]])
    for x in (d.f((3, 4)), d.f((3, 4), "float32"), d.f((3, 4), clone=True), d.i((3, 4))):
        src = d.like(x, str(x.value.dtype))
        src = Arr(src.value[:2])
        yield Case("method", "scatter_add", (x, 0, index, src))
        yield Case("method", "scatter", (x, 0, _ix([[0, 2, 1, 0]]), Arr(src.value[:1])))
        yield Case("method", "scatter", (x, 1, _ix([[3, 0], [1, 2]]), 2))
        yield Case("method", "scatter", (x, 1, _ix([[3, 0], [1, 2]])), {"value": 2})
        for reduce in ("sum", "prod", "mean", "amax", "amin"):
            for include_self in (True, False):
                yield Case(
                    "method",
                    "scatter_reduce",
                    (x, 0, index, src, reduce),
                    {"include_self": include_self},
                )
        yield Case("top", "scatter_add", (x, -2, index, src))
    x, src = d.f((3, 4)), d.f((2, 4))
    yield Case("top", "scatter", (x, 0, _ix([[0, 2, 1, 0]]), d.f((1, 4))))
    # a src larger than the index: its leading block is read (PyTorch's backward then fails)
    no_grad, values = d.f((3, 4), grad=False), d.f((2, 4), grad=False)
    yield Case("top", "scatter", (no_grad, 0, _ix([[1]]), values))
    yield Case("top", "scatter_reduce", (x, 1, _ix([[0, 0], [3, 3]]), d.f((2, 2)), "amax"))
    for reduce in ("add", "multiply", "max"):  # PyTorch has no derivative: values only
        yield Case("method", "scatter", (no_grad, 0, index, values), {"reduce": reduce})
        yield Case("method", "scatter", (no_grad, 0, index, 1.5), {"reduce": reduce})
    # refused: float index, dims, sizes, out of range, dtypes, an unknown reduction
    yield Case("method", "scatter_add", (x, 0, Arr(np.zeros((2, 4))), src))
    yield Case("method", "scatter_add", (x, 0, _ix([0, 1]), src))
    yield Case("method", "scatter_add", (x, 0, _ix([[0] * 5]), src))
    yield Case("method", "scatter_add", (x, 0, _ix([[3, 0, 0, 0]]), src))
    yield Case("method", "scatter_add", (x, 0, _ix([[-1, 0, 0, 0]]), src))
    yield Case("method", "scatter_add", (x, 0, index, d.f((2, 4), "float32")))
    yield Case("method", "scatter_add", (x, 2, index, src))
    yield Case("method", "scatter_reduce", (no_grad, 0, index, values, "max"))  # (no gradient)
    yield Case("method", "scatter_reduce", (x, 0, index, src, "add"))
    yield Case("method", "scatter_add", (d.f(()), 0, _ix(0), d.f(())))
    yield Case("method", "scatter_add", (x, 0, _ix([[0]]), d.f(())))
    yield Case("method", "scatter_add", (x, 0, Arr(np.zeros((0, 4), np.int64)), d.f((0, 4))))


def scatter_inplace_cases() -> Iterable[Case]:
    d = Draw(72)
    index = _ix([[0, 2, 1, 0], [2, 2, 0, 1]])
    for x in (d.f((3, 4), clone=True), d.f((3, 4)), d.f((3, 4), grad=False), d.i((3, 4))):
        dtype = str(x.value.dtype)
        src = Arr(d.like(x, dtype).value[:2])
        yield Case("method", "scatter_", (x, 0, _ix([[0, 2, 1, 0]]), Arr(src.value[:1])))
        yield Case("method", "scatter_", (x, 1, _ix([[3], [1]]), 5))
        yield Case("method", "scatter_add_", (x, 0, index, src))
        yield Case("method", "scatter_reduce_", (x, 0, index, src, "amin"))
        yield Case("method", "scatter_reduce_", (x, 0, index, src, "mean"), {"include_self": False})
        source = d.like(Arr(np.zeros((3, 4))), dtype)
        yield Case("method", "index_add_", (x, 0, _ix([2, 0, 2]), source))
        yield Case("method", "index_copy_", (x, 1, _ix([3, 0]), Arr(source.value[:, :2])))
        yield Case("method", "index_fill_", (x, 1, _ix([1, -1]), -1))
        places, three = (_ix([0, 2, 0]), _ix([1, 1, 1])), Arr(source.value[0, :3])
        yield Case("method", "index_put_", (x, places, three), {"accumulate": True})
        yield Case("method", "index_put_", (x, (_ix([0, 2]),), Arr(source.value[0])))
    yield Case("top", "index_put_", (d.f((3, 4), clone=True), (_ix([1]),), d.f((4,))))
    zero_d = d.f((), clone=True)
    yield Case("method", "scatter_add_", (zero_d, 0, _ix(0), d.f(())))
    yield Case("method", "scatter_reduce_", (zero_d, 0, _ix([0]), d.f((1,)), "amin"))
    yield Case("method", "index_fill_", (zero_d, 0, _ix([0]), 1.5))
    yield Case("method", "index_add_", (d.f((), grad=False), 0, _ix([0]), d.f(())))


def index_cases() -> Iterable[Case]:
    d = Draw(73)
    for x in (d.f((3, 4)), d.f((3, 4), "float32"), d.f((4, 3), nc=True), d.i((3, 4))):
        dtype = str(x.value.dtype)
        rows = d.like(Arr(np.zeros((3, 4))), dtype)
        cols = d.like(Arr(np.zeros((3, 2))), dtype)
        yield Case("method", "index_add", (x, 0, _ix([2, 0, 2]), rows))
        yield Case("method", "index_add", (x, 1, _ix([3, 3]), cols), {"alpha": 2})
        yield Case("method", "index_add", (x, 1, Arr(np.array([0, 1], np.int32)), cols))
        yield Case("method", "index_copy", (x, 1, _ix([3, 0]), cols))
        yield Case("method", "index_fill", (x, 0, _ix([0, -1]), 2))
        yield Case("method", "index_fill", (x, 1, _ix([1]), d.f((), grad=False)))
        yield Case("method", "take", (x, _ix([[0, -1], [5, 5]])))
        yield Case("method", "take_along_dim", (x, _ix([[0, 2, 1, 0]]), 0))
        yield Case("method", "take_along_dim", (x, _ix([[1], [0], [2]]), 1))
        if not x.nc:  # (PyTorch's flattening view of a transposed input fails)
            yield Case("method", "take_along_dim", (x, _ix([11, 0, 3])))
        places, three = (_ix([0, 2, 0]), _ix([1, 1, 1])), Arr(rows.value[0, :3])
        yield Case("method", "index_put", (x, places, three), {"accumulate": True})
        mask = (Arr(np.array([True, False, True])),)
        yield Case("method", "index_put", (x, mask, Arr(rows.value[0])))
    x = d.f((3, 4))
    yield Case("method", "index_fill", (x, 1, _ix([1]), d.f(())))  # a value that requires grad
    yield Case("top", "index_add", (x, 0, _ix([1]), d.f((1, 4))))
    yield Case("top", "index_copy", (x, 0, _ix([1]), d.f((1, 4))))
    yield Case("top", "index_fill", (x, 0, _ix([1]), 0.5))
    yield Case("top", "index_put", (x, (_ix([1]),), d.f((4,))))
    yield Case("top", "take", (x, _ix([1, 2])))
    yield Case("top", "take_along_dim", (x, _ix([[0], [1], [3]]), -1))
    # refused
    yield Case("method", "index_add", (x, 0, _ix([3]), d.f((1, 4))))
    yield Case("method", "index_add", (x, 0, _ix([0]), d.f((1, 4), "float32")))
    yield Case("method", "index_add", (x, 0, _ix([0, 1]), d.f((1, 4))))
    yield Case("method", "index_add", (x, 0, Arr(np.zeros(1)), d.f((1, 4))))
    yield Case("method", "index_copy", (x, 0, _ix([-1]), d.f((1, 4))))
    yield Case("method", "index_fill", (x, 0, _ix([3]), 1.0))
    yield Case("method", "index_fill", (x, 0, _ix([0]), d.f((2,))))
    yield Case("method", "take", (x, _ix([12])))
    yield Case("method", "take", (x, Arr(np.array([1], np.int32))))
    yield Case("method", "take_along_dim", (x, _ix([0]), 0))
    yield Case("method", "index_put", (x, (_ix([5]),), d.f((4,))))
    yield Case("method", "index_put", (x, (_ix([0]),), d.f((4,), "float32")))


def layout_cases() -> Iterable[Case]:
    d = Draw(74)
    for x in (d.f((2, 3, 4)), d.f((2, 3, 4), "float32"), d.i((2, 3, 4))):
        for args in ((), (1,), (-1, 1, 2), (0, 0, 2), (5, 1, 2), (0, 1, 1), (0, 0, 3)):
            yield Case("method", "diagonal", (x, *args))
        for dim, index in ((0, 1), (1, -1), (2, 3), (0, 2), (3, 0)):
            yield Case("method", "select", (x, dim, index))
        for dim, sizes in ((2, (2, 2)), (-1, (2, -1)), (1, (3, 1)), (0, (1, 2)), (2, (3, 2))):
            yield Case("method", "unflatten", (x, dim, sizes))
        for dim, size, step in ((2, 2, 1), (2, 3, 2), (0, 2, 1), (1, 0, 1), (2, 5, 1), (2, 2, 0)):
            yield Case("method", "unfold", (x, dim, size, step))
        yield Case("method", "ndimension", (x,))
        yield Case("method", "trace", (Arr(x.value[0]),))
        yield Case("method", "trace", (x,))
        yield Case("method", "logcumsumexp", (x, 1))
        yield Case("method", "cummax", (x, 2))
        yield Case("method", "cummin", (x, 0))
    nan = np.array([1.0, 3.0, 3.0, np.nan, 5.0, np.nan, 0.0])
    yield Case("method", "cummax", (Arr(nan), 0))
    yield Case("method", "cummin", (Arr(-nan), 0))
    yield Case("method", "cummax", (Arr(np.array([2.0, 2.0, 1.0, 2.0])), 0))
    yield Case("method", "logcumsumexp", (d.f((3, 4), low=-50, high=50), -1))
    yield Case("method", "diagonal", (d.f((4, 3), nc=True), -1))
    yield Case("method", "unfold", (d.f((4, 3), nc=True), 1, 2, 1))
    yield Case("method", "unfold", (d.f((4, 3), nc=True), -2, 2, 2))
    yield Case("method", "logcumsumexp", (d.f((4, 3), nc=True), 0))
    yield Case("method", "cummax", (d.f((4, 3), nc=True), 1))
    yield Case("method", "unfold", (d.f(()), 0, 1, 1))
    yield Case("method", "select", (d.f(()), 0, 0))
    yield Case("top", "diagonal", (d.f((3, 3)),), {"offset": 1})
    yield Case("top", "select", (d.f((3, 3)), 1, 0))
    yield Case("top", "unflatten", (d.f((6,)), 0, (2, 3)))
    yield Case("top", "logcumsumexp", (d.f((4,)), 0))
    yield Case("top", "cummax", (d.f((4,)), 0))
    yield Case("top", "cummin", (d.f(()), 0))


def algebra_cases() -> Iterable[Case]:
    d = Draw(75)
    for dtype in ("float64", "float32"):
        a, b = d.f((2, 4), dtype), d.f((4, 3), dtype)
        for x in (d.f((2, 3), dtype), d.f((3,), dtype), d.f((), dtype), d.f((2, 1), dtype)):
            yield Case("method", "addmm", (x, a, b))
            yield Case("method", "addmm", (x, a, b), {"beta": 0.5, "alpha": -2})
            yield Case("top", "addmm", (x, a, b), {"beta": 0})
        b1, b2 = d.f((2, 3, 4), dtype), d.f((2, 4, 5), dtype)
        yield Case("method", "baddbmm", (d.f((2, 3, 5), dtype), b1, b2), {"alpha": 3})
        yield Case("top", "baddbmm", (d.f((5,), dtype), b1, b2))
        x, t1, t2 = d.f((3, 4), dtype), d.f((4,), dtype), d.f((3, 1), dtype, low=0.5)
        yield Case("method", "addcmul", (x, t1, t2), {"value": 0.5})
        yield Case("method", "addcdiv", (x, t1, t2), {"value": -2})
        yield Case("top", "addcmul", (x, t1, t2))
        yield Case("top", "addcdiv", (x, t1, t2))
        u, v = d.f((4, 3), dtype), d.f((4, 3), dtype)
        yield Case("method", "cross", (u, v), {"dim": 1})
        yield Case("method", "cross", (u, v, -1))
        yield Case("top", "cross", (d.f((3, 2), dtype), d.f((3, 2), dtype)), {"dim": 0})
        yield Case("method", "kron", (d.f((2, 3), dtype), d.f((2, 2), dtype)))
        yield Case("top", "kron", (d.f((3,), dtype), d.f((2, 2), dtype)))
        yield Case("method", "inner", (d.f((2, 3), dtype), d.f((4, 3), dtype)))
        yield Case("top", "inner", (d.f((), dtype), d.f((4, 3), dtype)))
        yield Case("top", "tensordot", (d.f((2, 3, 4), dtype), d.f((3, 4, 5), dtype)))
        pair = (d.f((2, 3, 4), dtype), d.f((4, 3, 2), dtype))
        yield Case("top", "tensordot", pair, {"dims": ([1, 2], [1, 0])})
        yield Case("top", "tensordot", (d.f((2, 3), dtype), d.f((3, 2), dtype)), {"dims": 1})
        yield Case("top", "tensordot", (d.f((2, 3), dtype), d.f((4,), dtype)), {"dims": 0})
        for p in (2.0, 1.0, 3.0, 0.0, float("inf")):
            yield Case("top", "cdist", (d.f((3, 2), dtype), d.f((4, 2), dtype)), {"p": p})
        yield Case("top", "cdist", (d.f((2, 3, 2), dtype), d.f((4, 2), dtype)))
        yield Case("top", "cdist", (d.f((2, 1, 3, 2), dtype), d.f((3, 4, 2), dtype)))
        yield Case("top", "kron", (d.f((2, 1, 2), dtype), d.f((3, 2), dtype)))
        yield Case("top", "cross", (d.f((2, 1, 3), dtype), d.f((4, 3), dtype)), {"dim": -1})
    for lerp_weight in (0.25, d.f((4,))):
        yield Case("method", "lerp_", (d.f((3, 4), clone=True), d.f((4,)), lerp_weight))
    yield Case("method", "lerp_", (d.f((3, 4)), d.f((4,)), 0.5))
    yield Case("method", "lerp_", (d.f((4,), clone=True), d.f((3, 4)), 0.5))
    for name in ("addcmul_", "addcdiv_"):
        x = d.f((3, 4), clone=True)
        yield Case("method", name, (x, d.f((4,)), d.f((3, 1), low=0.5)), {"value": 2})
        yield Case("method", name, (d.f((3, 4)), d.f((4,)), d.f((3, 1), low=0.5)))
        yield Case("method", name, (d.f((3, 4), grad=False), d.f((4,)), d.f((3, 1), low=0.5)))
    # mixed dtypes and integers: promoted, or refused, as PyTorch does
    f32, i64 = d.f((2, 3), "float32"), d.i((2, 3))
    for name in ("kron", "inner", "cross", "isclose"):
        yield Case("method", name, (d.f((2, 3)), f32), {"dim": 1} if name == "cross" else {})
        yield Case("method", name, (i64, d.i((2, 3))), {"dim": 1} if name == "cross" else {})
    yield Case("top", "tensordot", (d.f((2, 3)), d.f((3, 2), "float32")), {"dims": 1})
    yield Case("top", "tensordot", (i64, d.i((3, 2))), {"dims": 1})
    yield Case("method", "addcmul", (f32, d.f((2, 3)), d.f((3,), "float32")))
    yield Case("method", "addcmul", (i64, d.i((3,)), d.i((2, 1))), {"value": 2})
    yield Case("method", "addcmul", (i64, d.i((3,)), d.i((2, 1))), {"value": 0.5})
    yield Case("method", "addcdiv", (f32, i64, d.i((2, 3), 1, 3)))
    yield Case("method", "addmm", (d.i((2, 2)), d.i((2, 3)), d.i((3, 2))))
    yield Case("top", "cdist", (d.i((3, 2)), d.i((2, 2))))
    yield Case("top", "cdist", (d.f((3, 2)), d.f((2, 2), "float32")))
    # refused: shapes, dtypes, dims
    yield Case("method", "addmm", (d.f((2, 3)), d.f((2, 4)), d.f((5, 3))))
    yield Case("method", "addmm", (d.f((2, 3)), d.f((4,)), d.f((4, 3))))
    yield Case("method", "addmm", (d.f((4, 3)), d.f((2, 4)), d.f((4, 3))))
    yield Case("method", "addmm", (d.f((2, 3)), d.f((2, 4), "float32"), d.f((4, 3))))
    yield Case("method", "baddbmm", (d.f((2, 3, 5)), d.f((2, 3, 4)), d.f((3, 4, 5))))
    yield Case("method", "addcdiv", (d.i((3,)), d.i((3,)), d.i((3,))))
    yield Case("method", "cross", (d.f((4, 2)), d.f((4, 2))))
    yield Case("method", "cross", (d.f((4, 3)), d.f((4, 3)), 0))
    yield Case("method", "inner", (d.f((2, 3)), d.f((3, 2))))
    yield Case("top", "tensordot", (d.f((2, 3)), d.f((2, 3))), {"dims": 1})
    yield Case("top", "cdist", (d.f((3,)), d.f((4, 3))))
    yield Case("top", "cdist", (d.f((3, 2)), d.f((4, 3))))
    yield Case("top", "cdist", (d.f((3, 2)), d.f((4, 2))), {"p": -1.0})


def joined_cases() -> Iterable[Case]:
    d = Draw(76)
    yield Case("top", "broadcast_tensors", (d.f((3, 1)), d.f((4,)), d.f(())))
    yield Case("top", "broadcast_tensors", (d.f((3, 1)), d.f((2,))))
    yield Case("top", "block_diag", (d.f((2, 3)), d.f((3,)), d.f(())))
    yield Case("top", "block_diag", (d.i((2, 2)), d.f((1, 2), "float32")))
    yield Case("top", "block_diag", (d.f((2, 2, 2)),))
    for data in ([1, 2.0], [[1, 2], [3, 4]], d.f((2, 3), grad=False), True):
        yield Case("top", "as_tensor", (data,))
    yield Case("top", "as_tensor", ([1, 2],), {"dtype": np.dtype("float64")})
    yield Case("top", "as_tensor", (d.i((3,)),), {"dtype": np.dtype("float32")})
    yield Case("method", "multinomial", (d.f((2, 5), low=0, high=1, grad=False), 3))
    yield Case("method", "multinomial", (d.f((4,), low=0, high=1, grad=False), 6, True))


def random_fill_cases() -> Iterable[Case]:
    """Refusals only (the values are random: their distributions are tested below)."""
    d = Draw(78)
    for name, args in (("bernoulli_", (0.5,)), ("exponential_", ()), ("random_", (4,))):
        yield Case("method", name, (d.f((3,)), *args))  # a leaf that requires grad
    yield Case("method", "bernoulli_", (d.f((3,), grad=False), 1.5))
    yield Case("method", "exponential_", (d.f((3,), grad=False), -1.0))
    yield Case("method", "random_", (d.f((3,), grad=False), 3, 1))


def values_cases() -> Iterable[Case]:
    d = Draw(77)
    for row, col, offset in ((3, 4, 0), (4, 3, 1), (3, 3, -1), (0, 3, 0), (3, 4, 10), (-1, 3, 0)):
        yield Case("top", "tril_indices", (row, col, offset))
        yield Case("top", "triu_indices", (row, col, offset))
    for args in ((0, 2, 3), (0, 2, 3, 2), (-1, 1, 5), (1, 0, 1), (0, 3, 0), (0, 1, -1)):
        yield Case("top", "logspace", args)
    yield Case("top", "logspace", (0, 3, 4), {"dtype": np.dtype("float64")})
    yield Case("top", "logspace", (0, 2, 3), {"dtype": np.dtype("int64")})
    yield Case("top", "logspace", (0, 2, 3), {"base": 2.0, "dtype": np.dtype("float64")})
    bounds = Arr(np.array([1.0, 3.0, 5.0]))
    values = Arr(np.array([[0.0, 1.0, 3.0], [4.0, 5.0, 6.0]]))
    for right in (False, True):
        yield Case("top", "bucketize", (values, bounds), {"right": right})
        yield Case("top", "searchsorted", (bounds, values), {"right": right})
        yield Case("top", "bucketize", (Arr(np.array([1, 5, 9])), bounds), {"out_int32": True})
    rows = Arr(np.array([[1.0, 3.0, 5.0], [0.0, 2.0, 2.0]]))
    yield Case("top", "searchsorted", (rows, values))
    yield Case("top", "searchsorted", (rows, values), {"side": "right"})
    yield Case("top", "searchsorted", (bounds, values), {"side": "left", "right": True})
    yield Case("top", "searchsorted", (rows, Arr(values.value[:1])))
    yield Case("top", "bucketize", (values, rows))
    unsorted = Arr(np.array([5.0, 1.0, 3.0]))
    yield Case("top", "searchsorted", (unsorted, values), {"sorter": _ix([1, 2, 0])})
    yield Case("top", "bucketize", (3.0, bounds))
    for options in ({}, {"invert": True}, {"assume_unique": True}):
        yield Case("top", "isin", (values, bounds), options)
    yield Case("top", "isin", (Arr(np.array([[1, 2], [3, 4]])), Arr(np.array([2, 3]))))
    yield Case("top", "isin", (values, 3.0))
    yield Case("top", "isin", (5.0, bounds))
    yield Case("top", "isin", (1, 2))  # two numbers: refused by both
    for x in (d.f((20,)), d.f((3, 5), "float32"), d.i((5,))):
        yield Case("method", "histc", (x,))
        yield Case("method", "histc", (x, 4, -1, 1))
        yield Case("top", "histc", (x,), {"bins": 3})
    yield Case("method", "histc", (d.f((5,)), 0))
    yield Case("method", "histc", (d.f((5,)), 4, 2, 1))
    a = d.f((3, 4))
    close = Arr(a.value + np.array([0.0, 1e-9, 1e-3, np.nan]))
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0, "atol": 1e-2}):
        yield Case("method", "isclose", (a, close), kwargs)
        yield Case("top", "isclose", (Arr(close.value), Arr(close.value)), kwargs)
    yield Case("method", "isclose", (a, d.f((4,), "float32")))
    yield Case("method", "isclose", (d.i((3,)), d.i((3,))))


CASES = all_cases(
    (scatter_cases, None),
    (scatter_inplace_cases, None),
    (index_cases, None),
    (layout_cases, None),
    (algebra_cases, None),
    (joined_cases, None),
    (random_fill_cases, None),
    (values_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])


def _filled(method: str, *args, dtype=gradviz.float64):
    gradviz.manual_seed(0)
    x = gradviz.zeros(20000, dtype=dtype)
    assert getattr(x, method)(*args) is x
    return x.numpy()


def test_bernoulli_fills_with_zeros_and_ones_at_the_rate_p():
    values = _filled("bernoulli_", 0.3)
    assert set(np.unique(values)) == {0.0, 1.0}
    assert abs(values.mean() - 0.3) < 0.02
    rates = gradviz.tensor([0.0, 1.0]).expand(10000, 2).contiguous()
    filled = gradviz.zeros(10000, 2).bernoulli_(rates).numpy()
    assert (filled[:, 0] == 0).all()
    assert (filled[:, 1] == 1).all()


def test_exponential_fills_with_positive_draws_of_mean_one_over_lambda():
    values = _filled("exponential_", 4.0)
    assert (values >= 0).all()
    assert abs(values.mean() - 0.25) < 0.01
    with pytest.raises(gradviz.GradvizError, match="lambda"):
        gradviz.zeros(3).exponential_(0.0)


def test_random_fills_with_integers_in_the_range_in_the_dtype():
    assert set(np.unique(_filled("random_", 5))) == {0, 1, 2, 3, 4}
    assert set(np.unique(_filled("random_", -2, 1, dtype=gradviz.int32))) == {-2, -1, 0}
    whole = _filled("random_", dtype=gradviz.float32)
    assert whole.dtype == np.float32
    assert (whole == np.round(whole)).all()
    assert 2**20 < whole.max() <= 2**24
    assert whole.min() >= 0
    with pytest.raises(gradviz.GradvizError, match="less than"):
        gradviz.zeros(3).random_(3, 1)


def test_random_fills_are_seeded_and_refuse_a_leaf_that_requires_grad():
    assert (_filled("bernoulli_") == _filled("bernoulli_")).all()
    with pytest.raises(gradviz.InplaceError):
        gradviz.zeros(3, requires_grad=True).exponential_()
    x = gradviz.zeros(3, requires_grad=True).clone()
    x.random_(4).sum().backward()  # the old values no longer matter: a zero gradient
