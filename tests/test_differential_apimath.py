"""Differential test against PyTorch: ``gradviz.linalg`` and the tensor math a ported script
reaches for (values, dtypes, gradients and refusals).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def _spd(d: Draw, shape: tuple[int, ...], dtype: str = "float64") -> Arr:
    a = d.f(shape).value
    return Arr((a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])).astype(dtype))


def _sym(d: Draw, shape: tuple[int, ...]) -> Arr:
    a = d.f(shape).value
    return Arr(a + np.swapaxes(a, -1, -2))


def norm_cases() -> Iterable[Case]:
    d = Draw(81)
    x, m, b = d.f((3, 4)), d.f((4, 3)), d.f((2, 3, 4))
    for ord in (2, 1, 0, 3, 0.5, -1, math.inf, -math.inf):
        yield Case("linalg", "vector_norm", (x, ord))
        yield Case("linalg", "vector_norm", (b, ord), {"dim": (0, 2), "keepdim": True})
    yield Case("linalg", "vector_norm", (x,), {"dim": 1})
    yield Case("linalg", "vector_norm", (x,), {"dim": -1, "keepdim": True})
    yield Case("linalg", "vector_norm", (d.f((3, 4), "float32"),), {"dtype": np.dtype("float64")})
    yield Case("linalg", "vector_norm", (d.f((3, 4), "float32"),))
    yield Case("linalg", "vector_norm", (Arr(np.zeros((2, 3))),))  # a zero norm: gradient 0
    # refused: integers, a narrowing dtype, a string order, inf of nothing
    yield Case("linalg", "vector_norm", (d.i((3, 4)),))
    yield Case("linalg", "vector_norm", (x,), {"dtype": np.dtype("float32")})
    yield Case("linalg", "vector_norm", (x, "fro"))
    yield Case("linalg", "vector_norm", (Arr(np.zeros((0,))), math.inf))
    yield Case("linalg", "vector_norm", (Arr(np.zeros((0, 3))), math.inf), {"dim": 1})
    yield Case("linalg", "vector_norm", (x,), {"dim": 2})
    for ord in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf):
        yield Case("linalg", "matrix_norm", (m, ord))
        yield Case("linalg", "matrix_norm", (b, ord), {"dim": (2, 0), "keepdim": True})
        yield Case("linalg", "matrix_norm", (b,), {"ord": ord, "dim": (-1, 1)})
    yield Case("linalg", "matrix_norm", (d.f((3, 3), "float32"), "nuc"))
    for bad in ({"ord": 3}, {"dim": (0, 0)}, {"dim": (0, 1, 2)}, {"dim": 0}, {"ord": "x"}):
        yield Case("linalg", "matrix_norm", (b,), bad)
    yield Case("linalg", "matrix_norm", (d.f((3,)),))
    yield Case("linalg", "matrix_norm", (d.i((3, 3)),))
    for args, kwargs in (
        ((x,), {}),
        ((b,), {}),
        ((x, 2), {}),
        ((x, "fro"), {}),
        ((x, "nuc"), {}),
        ((x, math.inf), {}),
        ((d.f((5,)), 1), {}),
        ((d.f((5,)), math.inf), {}),
        ((b,), {"dim": 1}),
        ((b, 3), {"dim": (2,)}),
        ((b,), {"dim": (0, 2)}),
        ((b, -2), {"dim": (1, 2), "keepdim": True}),
        ((b, 2), {}),  # an order and no dim for a 3-d input: refused
        ((b,), {"dim": (0, 1, 2)}),
        ((x,), {"dtype": np.dtype("float64")}),
    ):
        yield Case("linalg", "norm", args, kwargs)


def matrix_cases() -> Iterable[Case]:
    d = Draw(82)
    a, batch, f32 = d.f((3, 3)), d.f((2, 3, 3)), d.f((3, 3), "float32")
    for name in ("inv", "det", "slogdet"):
        for x in (a, batch, f32, d.f((0, 2, 2)), Arr(a.value, nc=True)):
            yield Case("linalg", name, (x,))
        yield Case("linalg", name, (d.f((3, 4)),))  # not square
        yield Case("linalg", name, (d.f((3,)),))
        yield Case("linalg", name, (d.i((3, 3)),))
    singular = Arr(np.array([[1.0, 2.0], [2.0, 4.0]]))
    yield Case("linalg", "inv", (singular,))
    yield Case("linalg", "det", (singular,))  # its gradient: the cofactors
    yield Case("linalg", "det", (Arr(np.zeros((3, 3))),))
    spd = _spd(d, (3, 3))
    for x in (spd, _spd(d, (2, 4, 4)), _spd(d, (3, 3), "float32")):
        yield Case("linalg", "cholesky", (x,))
        yield Case("linalg", "cholesky", (x,), {"upper": True})
    yield Case("linalg", "cholesky", (Arr(-np.eye(3)),))
    yield Case("linalg", "cholesky", (d.f((3, 4)),))
    yield Case("linalg", "cholesky", (d.i((3, 3)),))
    well = Arr(a.value + 4 * np.eye(3))
    for other in (d.f((3, 2)), d.f((3,)), d.f((2, 3)), d.f((4, 3, 2)), d.f((2, 3, 3))):
        yield Case("linalg", "solve", (well, other))
    yield Case("linalg", "solve", (Arr(batch.value + 4 * np.eye(3)), d.f((2, 3))))
    yield Case("linalg", "solve", (well, d.f((2, 3))), {"left": False})
    yield Case("linalg", "solve", (well, d.f((4, 2))))
    yield Case("linalg", "solve", (well, d.f((3, 2), "float32")))
    yield Case("linalg", "solve", (singular, d.f((2,))))
    for x in (d.f((4, 3)), d.f((2, 3, 5)), d.f((3, 3), "float32")):
        yield Case("linalg", "pinv", (x,))
    yield Case("linalg", "pinv", (_sym(d, (3, 3)),), {"hermitian": True})
    yield Case("linalg", "pinv", (Arr(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])),))
    yield Case("linalg", "pinv", (d.f((4, 3)),), {"rtol": 0.5})
    yield Case("linalg", "pinv", (d.f((4, 3)),), {"atol": 1.0})
    yield Case("linalg", "pinv", (d.f((3,)),))
    yield Case("linalg", "pinv", (d.i((3, 3)),))
    for n in (0, 1, 2, 3, 6, -1, -3):
        yield Case("linalg", "matrix_power", (well, n))
    yield Case("linalg", "matrix_power", (batch, 3))
    yield Case("linalg", "matrix_power", (d.i((3, 3)), 3))  # integers, n >= 0
    yield Case("linalg", "matrix_power", (d.i((3, 3)), -1))
    yield Case("linalg", "matrix_power", (d.f((2, 3)), 2))
    yield Case("linalg", "matrix_power", (d.f((3,)), 2))
    yield Case("linalg", "matrix_power", (well, 1.5))
    v, p, q = d.f((4,)), d.f((4, 3)), d.f((3, 5))
    for chain in ([p, q], [v, p, q], [v, p, q, d.f((5,))], [p, q, d.f((5, 2)), d.f((2, 6))]):
        yield Case("linalg", "multi_dot", (chain,))
    yield Case("linalg", "multi_dot", ([v, v],))
    yield Case("linalg", "multi_dot", ([p],))
    yield Case("linalg", "multi_dot", ([p, p],))
    yield Case("linalg", "multi_dot", ([d.f((2, 4, 3)), q],))
    yield Case("linalg", "multi_dot", ([p, d.f((3, 5), "float32")],))


def decomposition_cases() -> Iterable[Case]:
    d = Draw(83)
    half = Arr(np.eye(3, dtype="float16"))  # NumPy's linalg has no float16: refused, as PyTorch
    for name in ("inv", "det", "slogdet", "cholesky", "eigh", "svd", "svdvals", "qr", "pinv"):
        yield Case("linalg", name, (half,))
    yield Case("linalg", "solve", (half, half))
    for ord in ("fro", "nuc", 2):
        yield Case("linalg", "matrix_norm", (half, ord))
    yield Case("linalg", "vector_norm", (half,))
    yield Case("top", "quantile", (Arr(np.ones(3, "float16")), 0.5))
    for x in (_sym(d, (4, 4)), _sym(d, (2, 3, 3)), Arr(_sym(d, (3, 3)).value.astype("float32"))):
        yield Case("linalg", "eigh", (x,))
        yield Case("linalg", "eigvalsh", (x,))
    yield Case("linalg", "eigh", (_sym(d, (3, 3)),), {"UPLO": "U"})
    yield Case("linalg", "eigh", (d.f((3, 3)),))  # read from the lower triangle
    yield Case("linalg", "eigh", (d.f((3, 4)),))
    yield Case("linalg", "eigh", (_sym(d, (3, 3)),), {"UPLO": "X"})
    for x in (d.f((4, 3)), d.f((3, 5)), d.f((2, 3, 3)), d.f((4, 2), "float32")):
        yield Case("linalg", "svd", (x,), {"full_matrices": False})
        yield Case("linalg", "svdvals", (x,))
        for mode in ("reduced", "complete", "r"):
            yield Case("linalg", "qr", (x,), {"mode": mode})
    yield Case("linalg", "svd", (d.f((3, 3)),))
    yield Case("linalg", "svd", (d.f((4, 2)),))  # full U: the gradient of its first columns
    yield Case("linalg", "svd", (d.i((3, 3)),))
    yield Case("linalg", "svdvals", (d.f((3,)),))
    yield Case("linalg", "qr", (d.f((3, 3)),), {"mode": "x"})


def top_cases() -> Iterable[Case]:
    d = Draw(84)
    a, batch = Arr(d.f((3, 3)).value + 3 * np.eye(3)), d.f((2, 3, 3))
    for kind in ("top", "method"):
        for x in (a, batch, d.f((3, 3), "float32")):
            yield Case(kind, "det", (x,))
            yield Case(kind, "inverse", (x,))
            yield Case(kind, "slogdet", (x,))
            yield Case(kind, "logdet", (x,))
            yield Case(kind, "pinverse", (x,))
            yield Case(kind, "matrix_power", (x, 3))
        yield Case(kind, "logdet", (Arr(-np.eye(3)),))  # a negative determinant: NaN
        yield Case(kind, "pinverse", (d.f((4, 3)), 0.5))
        yield Case(kind, "inverse", (d.f((2, 3)),))
        yield Case(kind, "vdot", (d.f((4,)), d.f((4,))))
        yield Case(kind, "vdot", (d.i((4,)), d.i((4,))))
        yield Case(kind, "vdot", (d.f((4,)), d.f((3,))))
        yield Case(kind, "vdot", (d.f((4, 1)), d.f((4,))))
        yield Case(kind, "vdot", (d.f((4,)), d.f((4,), "float32")))
    p, q = d.f((4, 3)), d.f((3, 5))
    yield Case("top", "chain_matmul", (p, q, d.f((5, 2))))
    yield Case("top", "chain_matmul", (p,))
    yield Case("top", "chain_matmul", ())
    yield Case("top", "chain_matmul", (d.f((3,)), d.f((3,))))


def shape_cases() -> Iterable[Case]:
    d = Draw(85)
    x, v, m = d.f((2, 3, 4)), d.f((5,)), d.f((4, 6))
    for kind in ("top", "method"):
        for name in ("movedim", "moveaxis"):
            for src, dst in ((0, 2), (-1, 0), ((0, 1), (2, 0)), ([2, 0], [0, 1]), (1, 1)):
                yield Case(kind, name, (x, src, dst))
            yield Case(kind, name, (x, (0, 1), (0,)))
            yield Case(kind, name, (x, (0, 0), (1, 2)))
            yield Case(kind, name, (x, 3, 0))
            yield Case(kind, name, (d.f(()), 0, 0))
        for name in ("swapaxes", "swapdims"):
            yield Case(kind, name, (x, 0, 2))
            yield Case(kind, name, (x, -1, 1))
            yield Case(kind, name, (x, 0, 3))
        yield Case(kind, "ravel", (x,))
        yield Case(kind, "ravel", (Arr(m.value, nc=True),))
        yield Case(kind, "ravel", (d.f(()),))
        for arg in (3, 1, 7, [1, 3], (2, -1), [4, 1], [0, 9], Arr(np.array([1, 2]))):
            yield Case(kind, "tensor_split", (v, arg))
            yield Case(kind, "tensor_split", (m, arg), {"dim": 1})
        yield Case(kind, "tensor_split", (v, 0))
        yield Case(kind, "tensor_split", (d.f(()), 2))
        yield Case(kind, "tensor_split", (m, 2, 2))
        for name, y in (("hsplit", m), ("hsplit", v), ("vsplit", m), ("dsplit", x)):
            for arg in (2, [1, 3], 4, 0):
                yield Case(kind, name, (y, arg))
        yield Case(kind, "vsplit", (v, 1))
        yield Case(kind, "dsplit", (m, 1))
        for k in (1, 2, 3, 4, -1, 5):
            yield Case(kind, "rot90", (m, k))
            yield Case(kind, "rot90", (x, k, [2, 0]))
        yield Case(kind, "rot90", (m,))
        yield Case(kind, "rot90", (v, 1))
        yield Case(kind, "rot90", (x, 1, [0, 0]))
        yield Case(kind, "rot90", (x, 1, [0, 1, 2]))
        yield Case(kind, "argwhere", (d.i((3, 4), -1, 2),))
        yield Case(kind, "argwhere", (d.b((5,)),))
        yield Case(kind, "argwhere", (d.f(()),))
        for y in (x, d.i((3, 4)), d.f((4,), "float32")):
            yield Case(kind, "aminmax", (y,))
            yield Case(kind, "aminmax", (y,), {"dim": 0})
            yield Case(kind, "aminmax", (y,), {"dim": -1, "keepdim": True})
        yield Case(kind, "aminmax", (x,), {"keepdim": True})
        yield Case(kind, "aminmax", (Arr(np.array([1.0, 3.0, 3.0, 1.0])),))  # ties
        yield Case(kind, "aminmax", (d.f(()),))
        yield Case(kind, "aminmax", (d.f((0, 3)),))
        yield Case(kind, "aminmax", (d.f((0, 3)),), {"dim": 1})
        yield Case(kind, "msort", (x,))
        yield Case(kind, "msort", (d.i((5, 2)),))
        yield Case(kind, "msort", (d.f(()),))
    yield Case("method", "tile", (x, 2))
    yield Case("method", "tile", (x, (2, 1)))
    yield Case("method", "tile", (x, 1, 2, 1, 3))
    yield Case("method", "tile", (m, (2, 1, 2)))
    for name in ("dstack", "column_stack", "row_stack"):
        for parts in ([v, v], [m, m], [x, x], [d.f(()), d.f(())], [d.f((4, 1)), d.f((4,))]):
            yield Case("top", name, (parts,))
        yield Case("top", name, ([m, d.f((3, 6))],))
        yield Case("top", name, ([m, d.f((4, 6), "float32")],))
        yield Case("top", name, (m,))


def stats_cases() -> Iterable[Case]:
    d = Draw(86)
    x, v = d.f((3, 4)), d.f((6,))
    holes = Arr(
        np.array(
            [[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, np.nan, np.nan], [0.5, 4.0, np.nan, -1.0]]
        )
    )
    for kind in ("top", "method"):
        for name in ("nansum", "nanmean"):
            for y in (x, holes, d.f((4,), "float32")):
                yield Case(kind, name, (y,))
                yield Case(kind, name, (y, 0))
                yield Case(kind, name, (y,), {"dim": -1, "keepdim": True})
            yield Case(kind, name, (d.i((3, 4)),))
            yield Case(kind, name, (holes,), {"dtype": np.dtype("float32")})
        for name in ("quantile", "nanquantile"):
            for interpolation in ("linear", "lower", "higher", "midpoint", "nearest"):
                yield Case(kind, name, (x, 0.3), {"interpolation": interpolation})
                yield Case(
                    kind,
                    name,
                    (x, Arr(np.array([0.0, 0.25, 0.5, 0.9, 1.0]), grad=False), 1),
                    {"interpolation": interpolation},
                )
                yield Case(kind, name, (holes, 0.6, 1), {"interpolation": interpolation})
            yield Case(kind, name, (x, 0.5, 0, True))
            yield Case(kind, name, (x, Arr(np.array([0.2, 0.7]), grad=False)), {"keepdim": True})
            yield Case(kind, name, (d.f((5,), "float32"), 0.4))
            yield Case(kind, name, (d.f(()), 0.4))
            yield Case(kind, name, (x, 1.5))
            yield Case(kind, name, (x, 0.5), {"interpolation": "cubic"})
            yield Case(kind, name, (d.i((3, 4)), 0.5))
            yield Case(kind, name, (d.f((0,)), 0.5))
            yield Case(kind, name, (x, Arr(np.array([0.2], "float32"), grad=False)))
        yield Case(kind, "cov", (x,))
        yield Case(kind, "cov", (v,))
        yield Case(kind, "cov", (x,), {"correction": 0})
        yield Case(kind, "cov", (d.i((2, 5)),))
        yield Case(kind, "cov", (x,), {"fweights": d.i((4,), 0, 3), "aweights": d.f((4,), low=0.1)})
        yield Case(kind, "cov", (x,), {"fweights": d.i((4,), 1, 3)})
        yield Case(kind, "cov", (x,), {"aweights": d.f((4,), low=0.1)})
        yield Case(kind, "cov", (x,), {"fweights": d.f((4,))})
        yield Case(kind, "cov", (x,), {"fweights": d.i((3,), 1, 3)})
        yield Case(kind, "cov", (d.f((2, 3, 4)),))
        yield Case(kind, "cov", (d.f((3, 1)),))
        yield Case(kind, "corrcoef", (x,))
        yield Case(kind, "corrcoef", (v,))
        yield Case(kind, "corrcoef", (d.i((2, 5)),))
        distinct = Arr(np.random.default_rng(5).permutation(15).reshape(3, 5))  # (ties: any index)
        for y in (x, distinct, Arr(np.array([3.0, 1.0, 3.0, 1.0, 2.0]))):
            yield Case(kind, "kthvalue", (y, 2))
            yield Case(kind, "kthvalue", (y, 1, 0, True))
            yield Case(kind, "kthvalue", (y, 3), {"dim": -1, "keepdim": True})
        yield Case(kind, "kthvalue", (x, 5))
        yield Case(kind, "kthvalue", (x, 0))
        yield Case(kind, "kthvalue", (d.f(()), 1))
        rows = Arr(np.array([[1.0, 2, 2, 3, 3, 1], [5, 5, 4, 4, 1, 0]]))
        for y in (rows, d.i((4, 6), 0, 3), Arr(np.array([3, 1, 3, 1, 2]))):
            yield Case(kind, "mode", (y,))
            yield Case(kind, "mode", (y, 0))
            yield Case(kind, "mode", (y, -1, True))
        yield Case(kind, "mode", (d.f(()),))
        yield Case(kind, "mode", (d.f((2, 0)),))
        runs = Arr(np.array([1.0, 1.0, 2.0, 2.0, 3.0, 1.0]), grad=False)
        for y in (runs, Arr(np.array([[1, 1], [1, 1], [2, 3]])), d.i((3, 4), 0, 2)):
            yield Case(kind, "unique_consecutive", (y,))
            yield Case(kind, "unique_consecutive", (y, True, True))
            yield Case(kind, "unique_consecutive", (y,), {"dim": 0, "return_counts": True})
            yield Case(kind, "unique_consecutive", (y,), {"dim": -1, "return_inverse": True})
    yield Case("top", "unique_consecutive", (Arr(np.zeros((0,), "int64")),))
    for name in ("std_mean", "var_mean"):
        for args, kwargs in (
            ((x,), {}),
            ((x, 0), {}),
            ((x, 1, True), {}),
            ((x, (0, 1), False, True), {}),
            ((x, False), {}),
            ((x,), {"dim": 1, "correction": 0, "keepdim": True}),
            ((d.f((5,), "float32"),), {}),
            ((d.i((3, 4)),), {}),
        ):
            yield Case("top", name, args, kwargs)
    for name in ("trapezoid", "trapz"):
        yield Case("top", name, (x,))
        yield Case("top", name, (x, d.f((4,))))
        yield Case("top", name, (x, d.f((3, 4))))
        yield Case("top", name, (x,), {"dim": 0})
        yield Case("top", name, (x, d.f((3,))), {"dim": 0})
        yield Case("top", name, (d.i((3, 4)),))
        yield Case("top", name, (x, d.f((5,))))
        yield Case("top", name, (d.f((3, 1)),))
    yield Case("top", "trapezoid", (x,), {"dx": 0.5})
    yield Case("top", "trapz", (x,), {"dx": 2})
    for parts in ([v], [v, d.f((3,))], [d.f((2,)), d.f((3,)), d.f((2,))], [d.i((3,)), d.i((2,))]):
        yield Case("top", "cartesian_prod", tuple(parts))
    yield Case("top", "cartesian_prod", (x, v))
    for r, repeat in ((2, False), (3, False), (2, True), (0, False), (7, False), (1, True)):
        yield Case("top", "combinations", (v, r, repeat))
    yield Case("top", "combinations", (d.i((4,)),))
    yield Case("top", "combinations", (x,))
    yield Case("top", "combinations", (v, -1))


def pointwise_cases() -> Iterable[Case]:
    d = Draw(87)
    x, y, n, m = d.f((3, 4)), d.f((4,)), d.i((3, 4), -5, 6), d.i((4,), 1, 4)
    for kind in ("top", "method"):
        for name in ("clamp_min", "clamp_max"):
            yield Case(kind, name, (x, 0.3))
            yield Case(kind, name, (n, 2))
            yield Case(kind, name, (n, 2.5))
            yield Case(kind, name, (x, y))
            yield Case(kind, name, (d.f((3,), "float32"), 0.0))
        for name in ("floor_divide", "true_divide"):
            yield Case(kind, name, (x, y))
            yield Case(kind, name, (n, m))
            yield Case(kind, name, (x, 2))
            yield Case(kind, name, (n, 2))
            yield Case(kind, name, (d.f((4,), "float32"), 0.5))
        for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
            yield Case(kind, name, (n, m))
            yield Case(kind, name, (d.b((3, 4)), d.b((4,))))
            yield Case(kind, name, (n, 3))
            yield Case(kind, name, (x, y))
        yield Case(kind, "bitwise_not", (n,))
        yield Case(kind, "bitwise_not", (d.b((4,)),))
        yield Case(kind, "bitwise_not", (x,))
        for z in (x, n, d.b((4,)), Arr(np.array([0.0, -0.0, 2.0, -3.0]))):
            yield Case(kind, "sgn", (z,))
        yield Case(kind, "copysign", (x, y))
        yield Case(kind, "copysign", (x, Arr(np.array([0.0, -0.0, 1.0, -1.0]))))
        yield Case(kind, "copysign", (Arr(np.array([0.0, 1.0, -2.0, 3.0])), -1.0))
        yield Case(kind, "copysign", (n, m))
        yield Case(kind, "copysign", (n, -0.0))
        yield Case(kind, "copysign", (d.f((4,), "float32"), y))


def special_cases() -> Iterable[Case]:
    d = Draw(88)
    x, p = d.f((3, 4)), d.f((3, 4), low=0.05, high=0.95)
    edges = Arr(np.array([-1.5, -0.0, 0.0, 0.5, 1.0, 3.0, np.inf, -np.inf, np.nan]))
    for name in ("expit", "erf", "erfc", "sinc", "i0", "i0e", "i1", "i1e", "exp2", "expm1"):
        for y in (x, d.f((4,), "float32"), d.i((3,)), edges, d.f((2,), low=-30, high=30)):
            yield Case("special", name, (y,))
    for y in (p, d.f((4,), "float32", low=0.1, high=0.9), Arr(np.array([0.0, 0.5, 1.0]))):
        yield Case("special", "logit", (y,))
        yield Case("special", "logit", (y, 0.1))
        yield Case("special", "erfinv", (y,))
    yield Case("special", "erfinv", (d.f((3,), low=-0.9, high=0.9),))
    for y in (p, d.f((4,), "float32", low=0.1, high=2), d.i((3,), 0, 3), edges, Arr(np.zeros(2))):
        yield Case("special", "entr", (y,))
        yield Case("special", "log1p", (y,))
    zeros = Arr(np.array([[0.0, 1.0, -2.0, 0.0], [0.5, 0.0, 3.0, 1.5]]))
    for a, b in (
        (x, p),
        (zeros, d.f((4,), low=0.1)),
        (zeros, Arr(np.array([np.nan, 0.0, 2.0, 1.0]))),
        (zeros, Arr(np.array([0.0, 2.0, -1.0, 0.0]))),  # x = 0 with y <= 0: gradient 0
        (d.f((4,), "float32"), d.f((4,), "float32", low=0.1)),
        (d.i((4,), 0, 3), d.i((4,), 1, 4)),
        (x, 2.0),
        (3, p),
        (d.f((4,)), d.f((3,))),
    ):
        yield Case("special", "xlogy", (a, b))
    for name in ("softmax", "log_softmax"):
        yield Case("special", name, (x, 1))
        yield Case("special", name, (x, 0), {"dtype": np.dtype("float32")})
        yield Case("special", name, (x, 2))
    yield Case("special", "logsumexp", (x, 1))
    yield Case("special", "logsumexp", (x, (0, 1), True))
    yield Case("special", "round", (x,))
    yield Case("special", "round", (x, 1))  # decimals by keyword only
    yield Case("special", "round", (x,), {"decimals": 1})
    yield Case("special", "ndtr", (x,))
    yield Case("special", "ndtr", (d.f((4,), "float32"),))


def random_cases() -> Iterable[Case]:
    d = Draw(89)
    mean, std = d.f((3, 4)), d.f((4,), low=0.1)
    yield Case("top", "normal", (mean, std))
    yield Case("top", "normal", (mean, 0.5))
    yield Case("top", "normal", (mean,))
    yield Case("top", "normal", (2.0, std))
    yield Case("top", "normal", (Arr(mean.value.astype("float32")), std))
    yield Case("top", "normal", (0.0, 1.0, (2, 3)))
    yield Case("top", "normal", (1, 2, (4,)), {"dtype": np.dtype("float64")})
    yield Case("top", "normal", (0.0, -1.0, (2, 3)))
    yield Case("top", "normal", (mean, -1.0))
    yield Case("top", "normal", (mean, Arr(np.array([1.0, -1.0, 1.0, 1.0]))))
    yield Case("top", "normal", (d.i((3,)), 1.0))
    yield Case("top", "normal", (mean, 1.0, (3, 4)))
    chances = d.f((3, 4), low=0.0, high=1.0)
    for kind in ("top", "method"):
        yield Case(kind, "bernoulli", (chances,))
        yield Case(kind, "bernoulli", (chances, 0.3))
        yield Case(kind, "bernoulli", (Arr(chances.value.astype("float32"), grad=False),))
        yield Case(kind, "bernoulli", (chances, 1.3))
        yield Case(kind, "bernoulli", (d.f((3,), low=0.5, high=1.5),))
        yield Case(kind, "bernoulli", (d.i((3,), 0, 2),))
    for rates in (d.f((3, 4), low=0.0, high=5.0), d.f((4,), "float32", low=0.0), d.f((2,), low=-1)):
        yield Case("top", "poisson", (rates,))
    yield Case("top", "poisson", (d.i((3,), 0, 4),))


def more_linalg_cases() -> Iterable[Case]:
    d = Draw(90)
    a, batch, wide = Arr(d.f((3, 3)).value + 3 * np.eye(3)), d.f((2, 3, 3)), d.f((3, 4))
    singular = Arr(np.array([[1.0, 2.0], [2.0, 4.0]]))
    for p in (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf):
        yield Case("linalg", "cond", (a, p))
        yield Case("linalg", "cond", (batch,), {"p": p})
    yield Case("linalg", "cond", (wide,))
    yield Case("linalg", "cond", (wide, -2))
    yield Case("linalg", "cond", (wide, "fro"))
    yield Case("linalg", "cond", (a, 3))
    yield Case("linalg", "cond", (Arr(singular.value, grad=False), 1))
    yield Case("linalg", "cond", (Arr(np.zeros((2, 2)), grad=False),))
    yield Case("linalg", "cond", (Arr(np.stack([singular.value, np.eye(2)]), grad=False), "fro"))
    yield Case("linalg", "cond", (d.f((3, 3), "float32"),))
    for x in (a, wide, batch, singular, Arr(np.zeros((3, 3))), d.f((2, 4, 2), "float32")):
        yield Case("linalg", "matrix_rank", (x,))
    yield Case("linalg", "matrix_rank", (a,), {"atol": 3.5})
    yield Case("linalg", "matrix_rank", (a,), {"rtol": 0.5})
    yield Case("linalg", "matrix_rank", (_sym(d, (3, 3)),), {"hermitian": True})
    yield Case("linalg", "matrix_rank", (d.i((3, 3)),))
    yield Case("linalg", "matrix_rank", (d.f((3,)),))
    yield Case("linalg", "vecdot", (d.f((3, 4)), d.f((4,))))
    yield Case("linalg", "vecdot", (d.f((3, 4)), d.f((2, 1, 4))))
    yield Case("linalg", "vecdot", (d.f((3, 4)), d.f((3, 1))), {"dim": 0})
    yield Case("linalg", "vecdot", (d.f((3, 4)), d.f((4,), "float32")))
    yield Case("linalg", "vecdot", (d.i((3, 4)), d.i((4,))))
    yield Case("linalg", "cross", (d.f((2, 3)), d.f((2, 3))))
    yield Case("linalg", "cross", (d.f((3, 2)), d.f((3, 2))), {"dim": 0})
    yield Case("linalg", "cross", (d.f((2, 3)), d.f((3,))))
    yield Case("linalg", "cross", (d.f((2, 4)), d.f((2, 4))))
    yield Case("linalg", "diagonal", (batch,))
    yield Case("linalg", "diagonal", (batch,), {"offset": 1})
    yield Case("linalg", "diagonal", (batch,), {"dim1": 0, "dim2": 2})
    yield Case("linalg", "diagonal", (d.f((3,)),))
    tri = Arr(d.f((3, 3)).value + 3 * np.eye(3))
    for upper in (True, False):
        for other, left in ((d.f((3, 2)), True), (d.f((2, 3)), False), (d.f((4, 3, 2)), True)):
            yield Case("linalg", "solve_triangular", (tri, other), {"upper": upper, "left": left})
        yield Case(
            "linalg",
            "solve_triangular",
            (tri, d.f((3, 2))),
            {"upper": upper, "unitriangular": True},
        )
    yield Case("linalg", "solve_triangular", (tri, d.f((3,))), {"upper": True})
    yield Case("linalg", "solve_triangular", (tri, d.f((3, 2))))
    yield Case("linalg", "solve_triangular", (tri, d.f((2, 2))), {"upper": True})
    yield Case("linalg", "solve_triangular", (tri, d.f((3, 2), "float32")), {"upper": True})
    yield Case("linalg", "solve_triangular", (tri, d.i((3, 2))), {"upper": True})
    yield Case("linalg", "matmul", (batch, wide))
    yield Case("linalg", "matmul", (wide, d.f((4,))))
    yield Case("linalg", "matmul", (wide, d.f((3,))))


#: twins tested elsewhere (name -> where)
NOT_HERE = {"set_printoptions": "test_apimath_types.py (what a Variable's repr shows)"}


CASES = all_cases(
    (norm_cases, None),
    (matrix_cases, None),
    (decomposition_cases, None),
    (top_cases, None),
    (shape_cases, None),
    (stats_cases, None),
    (pointwise_cases, None),
    (special_cases, None),
    (random_cases, None),
    (more_linalg_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])


def _fixed_signs(lib, factor, rows: bool = False):
    """``factor`` with each vector's sign set so its largest entry is positive (columns, or
    rows for ``Vh``): a sign-free reading both libraries agree on; the sign is a constant."""
    data = factor.detach().numpy()
    axis = -1 if rows else -2
    top = np.take_along_axis(data, np.expand_dims(np.abs(data).argmax(axis), axis), axis)
    return factor * lib.tensor(np.sign(top))


@pytest.mark.parametrize(
    ("name", "shape"),
    [("eigh", (4, 4)), ("eigh", (2, 3, 3)), ("svd", (4, 3)), ("svd", (3, 5)), ("svd", (2, 3, 3))],
)
def test_sign_free_decompositions_match_torch(name: str, shape: tuple[int, ...]) -> None:
    """eigh's and svd's vectors, signs fixed the same way in both libraries: values and the
    gradient of a weighted sum of every output."""
    import torch

    rng = np.random.default_rng(len(shape) + shape[-1])
    value = rng.uniform(-2, 2, shape)
    if name == "eigh":
        value = value + np.swapaxes(value, -1, -2)
    results = []
    for lib in (gradviz, torch):
        a = lib.tensor(value, requires_grad=True)
        if name == "eigh":
            w, v = lib.linalg.eigh(a)
            outs = [w, _fixed_signs(lib, v)]
        else:
            u, s, vh = lib.linalg.svd(a, full_matrices=False)
            outs = [_fixed_signs(lib, u), s, _fixed_signs(lib, vh, rows=True)]
        weights = [
            np.random.default_rng(i).uniform(-1, 1, tuple(o.shape)) for i, o in enumerate(outs)
        ]
        sum(((o * lib.tensor(w)).sum() for o, w in zip(outs, weights, strict=True)), 0).backward()
        results.append(([o.detach().numpy() for o in outs], a.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, atol=1e-9)
