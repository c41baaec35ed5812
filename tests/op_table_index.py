"""Rows of the op table (``test_ops.py``) for the scatter and index ops and the linear
algebra ones (diagonal, trace, unfold, addmm, cross, kron, tensordot, cdist, block_diag,
logcumsumexp, cummax ...).

``rows(Case, Uniform)`` builds them with the table's own classes (see ``op_table_more``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz

INDEX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])  # into (3, 4) along dim 0: repeats in column 0
ROWS = np.array([2, 0, 2])  # three slices of dim 0 of a (3, 4) input: row 2 twice


def _scatter_add_ref(x, src):
    out = x.copy()
    np.add.at(out, (INDEX, np.arange(4)), src)
    return out


def _scatter_ref(x, src):
    out = x.copy()
    out[INDEX[:1], np.arange(4)] = src[:1]
    return out


def _reduce_ref(ufunc, include_self=True):
    def ref(x, src):
        out = x.copy()
        if not include_self:
            out[INDEX, np.arange(4)] = ufunc.identity if ufunc.identity is not None else -np.inf
        ufunc.at(out, (INDEX, np.arange(4)), src)
        return out

    return ref


def _index_add_ref(x, source):
    out = x.copy()
    np.add.at(out, ROWS, 2 * source)
    return out


def _index_copy_ref(x, source):
    out = x.copy()
    out[[2, 0]] = source
    return out


def _unfold_ref(x):
    return np.stack([x[:, i : i + 2] for i in range(0, 3, 1)], axis=1)


def _logcumsumexp_ref(x):
    return np.log(np.cumsum(np.exp(x), axis=1))


def _cdist_ref(p):
    def ref(a, b):
        diff = np.abs(a[:, None, :] - b[None, :, :])
        return (diff**p).sum(-1) ** (1 / p)

    return ref


def _block_ref(a, b):
    out = np.zeros((5, 5))
    out[:2, :3], out[2:, 3:] = a, b
    return out


def scatter_rows(Case: Any, Uniform: Any) -> list[Any]:
    """scatter, scatter_add, scatter_reduce, index_add/fill/copy, take, index_put."""
    index = gradviz.tensor(INDEX)
    positive = Uniform(0.5, 2.0)
    rows = [
        Case("ScatterAdd", "scatter_add", ((3, 4), (2, 4)), lambda x, s: x.scatter_add(0, index, s),
             _scatter_add_ref),
        Case("Scatter", "scatter_src", ((3, 4), (2, 4)),
             lambda x, s: x.scatter(0, index[:1], s), _scatter_ref),
        Case("Scatter", "scatter_value", ((3, 4),), lambda x: x.scatter(1, index[:, :2], 1.5),
             _scatter_value_ref),
        Case("ScatterReduce", "scatter_reduce_sum", ((3, 4), (2, 4)),
             lambda x, s: x.scatter_reduce(0, index, s, "sum"), _reduce_ref(np.add)),
        Case("ScatterReduce", "scatter_reduce_prod", ((3, 4), (2, 4)),
             lambda x, s: x.scatter_reduce(0, index, s, "prod"), _reduce_ref(np.multiply),
             ranges=positive),
        Case("ScatterReduce", "scatter_reduce_amax_no_self", ((3, 4), (2, 4)),
             lambda x, s: x.scatter_reduce(0, index, s, "amax", include_self=False),
             _reduce_ref(np.maximum, False)),
        Case("ScatterReduce", "scatter_reduce_amin", ((3, 4), (2, 4)),
             lambda x, s: gradviz.scatter_reduce(x, 0, index, s, "amin"), _reduce_ref(np.minimum)),
        Case("ScatterReduce", "scatter_reduce_mean", ((3, 4), (2, 4)),
             lambda x, s: x.scatter_reduce(0, index, s, "mean"), _mean_ref),
        Case("IndexAdd", "index_add_alpha", ((3, 4), (3, 4)),
             lambda x, s: x.index_add(0, gradviz.tensor(ROWS), s, alpha=2), _index_add_ref),
        Case("IndexFill", "index_fill_value_variable", ((3, 4), ()),
             lambda x, v: x.index_fill(1, gradviz.tensor([1, -1]), v),
             _index_fill_ref),
        Case("IndexCopy", "index_copy", ((3, 4), (2, 4)),
             lambda x, s: gradviz.index_copy(x, 0, gradviz.tensor([2, 0]), s), _index_copy_ref),
        Case("Take", "take_repeats", ((3, 4),), lambda x: x.take(gradviz.tensor([[0, -1], [5, 0]])),
             lambda x: np.take(x, [[0, -1], [5, 0]])),
        Case("IndexPut", "index_put_accumulate", ((3, 4), (3,)),
             lambda x, v: x.index_put((gradviz.tensor(ROWS), gradviz.tensor([1, 1, 3])), v, True),
             lambda x, v: _accumulated(x, v)),
        Case("IndexPut", "index_put", ((3, 4), (4,)),
             lambda x, v: x.index_put((gradviz.tensor([0, 2]),), v),
             _index_put_ref),
    ]  # fmt: skip
    return rows


def _scatter_value_ref(x):
    out = x.copy()
    np.put_along_axis(out[:2], INDEX[:, :2], 1.5, 1)
    return out


def _index_fill_ref(x, v):
    out = x.copy()
    out[:, [1, 3]] = v
    return out


def _index_put_ref(x, v):
    out = x.copy()
    out[[0, 2]] = v
    return out


def _accumulated(x, v):
    out = x.copy()
    np.add.at(out, (ROWS, [1, 1, 3]), v)
    return out


def _mean_ref(x, src):
    total = _reduce_ref(np.add)(x, src)
    count = np.ones_like(x)
    np.add.at(count, (INDEX, np.arange(4)), 1)
    return total / count


def linalg_rows(Case: Any, Uniform: Any) -> list[Any]:
    """diagonal, trace, unfold, addmm, baddbmm, addcmul, addcdiv, cross, kron, tensordot,
    cdist, block_diag, logcumsumexp, cummax, cummin."""
    positive = Uniform(0.5, 2.0)
    rows = [
        Case("Diagonal", "diagonal_offset", ((2, 3, 4),), lambda x: x.diagonal(1, 1, 2),
             lambda x: np.diagonal(x, 1, 1, 2)),
        Case("Diagonal", "diagonal_negative", ((4, 3),), lambda x: gradviz.diagonal(x, -1),
             lambda x: np.diagonal(x, -1)),
        Case("Trace", "trace", ((3, 4),), lambda x: x.trace(), np.trace),
        Case("Unfold", "unfold_overlapping", ((2, 4),), lambda x: x.unfold(1, 2, 1), _unfold_ref),
        Case("Unfold", "unfold_step", ((5, 2),), lambda x: x.unfold(0, 2, 2),
             lambda x: np.stack([x[0:2].T, x[2:4].T])),
        Case("Addmm", "addmm", ((3,), (2, 4), (4, 3)),
             lambda x, a, b: x.addmm(a, b, beta=0.5, alpha=2),
             lambda x, a, b: 0.5 * x + 2 * a @ b),
        Case("Baddbmm", "baddbmm", ((2, 3, 2), (2, 3, 4), (2, 4, 2)),
             lambda x, a, b: gradviz.baddbmm(x, a, b), lambda x, a, b: x + a @ b),
        Case("Addcmul", "addcmul", ((3, 4), (4,), (3, 1)),
             lambda x, a, b: x.addcmul(a, b, value=0.5), lambda x, a, b: x + 0.5 * a * b),
        Case("Addcdiv", "addcdiv", ((3, 4), (3, 4), (4,)),
             lambda x, a, b: gradviz.addcdiv(x, a, b, value=-2),
             lambda x, a, b: x - 2 * a / b, ranges=(Uniform(), Uniform(), positive)),
        Case("Cross", "cross", ((2, 3), (2, 3)), lambda a, b: a.cross(b, dim=1),
             lambda a, b: np.cross(a, b)),
        Case("Kron", "kron", ((2, 3), (2, 2)), lambda a, b: a.kron(b), np.kron),
        Case("Kron", "kron_ranks", ((3,), (2, 2)), gradviz.kron, np.kron),
        Case("Tensordot", "tensordot_dims", ((2, 3, 4), (4, 3, 2)),
             lambda a, b: gradviz.tensordot(a, b, ([1, 2], [1, 0])),
             lambda a, b: np.tensordot(a, b, ([1, 2], [1, 0]))),
        Case("Tensordot", "inner", ((2, 3), (4, 3)), lambda a, b: a.inner(b), np.inner),
        Case("Cdist", "cdist_p2", ((3, 2), (4, 2)), gradviz.cdist, _cdist_ref(2)),
        Case("Cdist", "cdist_p3", ((3, 2), (4, 2)), lambda a, b: gradviz.cdist(a, b, p=3),
             _cdist_ref(3)),
        Case("BlockDiag", "block_diag", ((2, 3), (3, 2)), gradviz.block_diag, _block_ref),
        Case("Logcumsumexp", "logcumsumexp", ((3, 4),), lambda x: x.logcumsumexp(1),
             _logcumsumexp_ref),
        Case("Cummax", "cummax", ((3, 4),), lambda x: x.cummax(1).values,
             lambda x: np.maximum.accumulate(x, 1)),
        Case("Cummin", "cummin", ((3, 4),), lambda x: gradviz.cummin(x, 0)[0],
             lambda x: np.minimum.accumulate(x, 0)),
    ]  # fmt: skip
    return rows


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    return scatter_rows(Case, Uniform) + linalg_rows(Case, Uniform)
