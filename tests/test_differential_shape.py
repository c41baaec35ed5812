"""Differential test against PyTorch: shape ops, indexing and the matmul family.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def _x(d: Draw) -> list[Arr]:
    """The inputs every shape op meets: 3-d in both float dtypes, transposed, 0-d, size-0."""
    return [d.f((2, 3, 4)), d.f((2, 3, 4), "float32"), d.f((4, 3), nc=True), d.f(()), d.f((0, 3))]


def view_cases() -> Iterable[Case]:
    d = Draw(11)
    shapes = [(6, 4), (-1,), (4, -1, 2), (2, -1, -1), (5, 5), ((),), (1, -1), (3, 0), (-1, 0)]
    for x in _x(d):
        for name in ("view", "reshape"):
            for shape in shapes:
                yield Case("method", name, (x, *shape))
            yield Case("method", name, (x, (-1,)))
        yield Case("top", "reshape", (x, (-1, 1)))
        yield Case("method", "flatten", (x,))
        for start, end in ((1, -1), (0, 1), (-2, -1), (2, 1), (0, 0), (0, 5)):
            yield Case("method", "flatten", (x, start, end))
        yield Case("method", "view_as", (x, d.f((x.value.size,))))
        yield Case("method", "reshape_as", (x, d.f((1, x.value.size))))
        yield Case("method", "contiguous", (x,))
    yield Case("top", "flatten", (d.f((2, 3, 4)),), {"start_dim": 1})


def transpose_cases() -> Iterable[Case]:
    d = Draw(12)
    for x in _x(d):
        for dims in ((2, 0, 1), (-1, 0, 1), (0, 0, 1), (0, 1), (1, 0), (), (0,)):
            yield Case("method", "permute", (x, *dims))
        yield Case("top", "permute", (x, (1, 0)))
        for a, b in ((0, 1), (-1, -3), (0, 3), (0, -1), (1, 1)):
            yield Case("method", "transpose", (x, a, b))
        yield Case("method", "t", (x,))
    yield Case("method", "t", (d.f((3,)),))
    yield Case("top", "transpose", (d.f((2, 3)), 0, 1))


def broadcast_cases() -> Iterable[Case]:
    d = Draw(13)
    x = d.f((3, 1))
    for size in ((2, 3, 4), (-1, 5), (3, 1), (4, 1), (2, -1, -1), (-1, 2, 3), (3,)):
        yield Case("method", "expand", (x, *size))
    yield Case("method", "expand", (d.f(()), 2, 3))
    yield Case("method", "expand", (d.f((4, 3), "float32", nc=True), 2, 3, 4))
    yield Case("method", "expand_as", (x, d.f((2, 3, 5))))
    yield Case("top", "broadcast_to", (x, (2, 3, 4)))
    yield Case("top", "broadcast_to", (x, (2, 4)))
    y = d.f((1, 3, 1))
    for dim in (None, 0, 1, -1, 2, 3, (0, 2), (0, 1), ()):
        args = (y,) if dim is None else (y, dim)
        yield Case("method", "squeeze", args)
    yield Case("method", "squeeze", (d.f(()), 0))
    yield Case("top", "squeeze", (y, 0))
    for dim in (0, -1, 2, 3, -4, 4):
        yield Case("method", "unsqueeze", (d.f((2, 3)), dim))
    yield Case("method", "unsqueeze", (d.f(()), 0))
    yield Case("top", "unsqueeze", (d.f((2, 3)), 1))
    for reps in ((2, 1), (2, 1, 1), (1,), (0, 2), (2, 3)):
        yield Case("method", "repeat", (d.f((2, 3)), *reps))
        yield Case("top", "tile", (d.f((2, 3)), reps))
    for x in (d.f((2, 3)), d.f((3,)), d.i((2, 2))):
        yield Case("method", "repeat_interleave", (x, 2))
        yield Case("method", "repeat_interleave", (x, 2), {"dim": 0})
    yield Case("method", "repeat_interleave", (d.f((3, 2)), Arr(np.array([1, 0, 2]))), {"dim": 0})


def split_cases() -> Iterable[Case]:
    d = Draw(14)
    x = d.f((4, 6))
    for size, dim in ((2, 1), (4, 1), (5, 0), ([1, 2, 3], 1), ([1, 1], 1), (0, 1), ([4, 0], 0)):
        yield Case("method", "split", (x, size), {"dim": dim})
        yield Case("top", "split", (x, size), {"dim": dim})
    for chunks, dim in ((2, 1), (3, 0), (5, -1), (4, 1), (0, 0), (7, 0)):
        yield Case("method", "chunk", (x, chunks, dim))
        yield Case("top", "chunk", (x, chunks, dim))
    for dim in (0, 1, -1, 2):
        yield Case("method", "unbind", (x, dim))
        yield Case("top", "unbind", (x, dim))
    for dim, start, length in ((0, 1, 2), (1, -2, 2), (1, 0, 7), (-1, 6, 0), (2, 0, 1)):
        yield Case("method", "narrow", (x, dim, start, length))
    yield Case("top", "narrow", (x, 0, 1, 2))


def join_cases() -> Iterable[Case]:
    d = Draw(15)
    a, b = d.f((2, 3)), d.f((2, 3))
    pairs = [
        (a, b),
        (a, d.f((4, 3))),
        (a, d.f((2, 5))),
        (a, d.f((2, 3), "float32")),
        (d.f((2, 3), "float32"), d.i((2, 3))),
        (d.b((2, 3)), d.i((2, 3))),
        (a, d.f((0, 3))),
        (d.f((3, 2), nc=True), b),
        (d.f(()), d.f(())),
    ]
    for x, y in pairs:
        for dim in (0, 1, -1, 2, -3):
            for name in ("cat", "stack", "concatenate"):
                yield Case("top", name, ([x, y], dim))
    yield Case("top", "cat", ([a],))
    yield Case("top", "cat", ([],))
    yield Case("top", "stack", ([a, b, b],), {"dim": 1})
    yield Case("top", "hstack", ([a, b],))
    yield Case("top", "vstack", ([a, b],))
    yield Case("top", "hstack", ([d.f((3,)), d.f((2,))],))
    yield Case("top", "vstack", ([d.f((3,)), d.f((3,))],))


def select_cases() -> Iterable[Case]:
    d = Draw(16)
    x = d.f((3, 4))
    for dim, index in ((1, d.i((3, 2), 0, 4)), (0, d.i((2, 4), 0, 3)), (1, d.i((3, 2), 0, 5))):
        yield Case("method", "gather", (x, dim, index))
        yield Case("top", "gather", (x, dim, index))
    yield Case("method", "gather", (x, -1, d.i((2, 2), 0, 4)))  # a smaller index: fine
    yield Case("method", "gather", (x, 1, d.i((3, 2), 0, 4, dtype="int32")))
    yield Case("method", "gather", (x, 1, d.f((3, 2))))  # float indices: refused
    for dim, index in ((0, [2, 0, 2]), (1, [3]), (-1, []), (0, [3]), (1, [[0, 1]])):
        idx = Arr(np.array(index, dtype=np.int64))
        yield Case("method", "index_select", (x, dim, idx))
        yield Case("top", "index_select", (x, dim, idx))
    for mask in (d.b((3, 4)), d.b((4,)), d.b((3, 1)), d.b((2, 4)), d.i((3, 4), 0, 2)):
        for value in (0.5, -1, Arr(np.array(2.0)), Arr(np.array(3.0), grad=False)):
            yield Case("method", "masked_fill", (x, mask, value))
        yield Case("top", "masked_fill", (x, mask, 1.5))
        yield Case("method", "masked_select", (x, mask))
    yield Case("method", "masked_fill", (d.i((3, 4)), d.b((3, 4)), 2.5))
    yield Case("method", "masked_fill", (x, d.b((3, 4)), Arr(np.ones(2))))
    cond = d.b((3, 4))
    for a, b in ((x, d.f((3, 4))), (x, d.f((4,))), (d.f((3, 1)), d.f((1, 4))), (x, d.i((3, 4)))):
        yield Case("top", "where", (cond, a, b))
        yield Case("method", "where", (a, cond, b))
    yield Case("top", "where", (cond, x, 0.0))
    yield Case("top", "where", (cond, 1.0, x))
    yield Case("top", "where", (d.b((2, 4)), x, x))
    yield Case("top", "where", (d.f((3, 4)), x, x))  # a float condition: refused


def layout_cases() -> Iterable[Case]:
    d = Draw(17)
    for x in (d.f((4, 5)), d.f((2, 3, 3), "float32"), d.f((5,)), d.f((4, 3), nc=True)):
        for diagonal in (0, 1, -1, 7):
            yield Case("method", "tril", (x, diagonal))
            yield Case("method", "triu", (x, diagonal))
        yield Case("top", "tril", (x,))
        for shifts, dims in ((1, None), (-2, 0), ((1, 2), (0, 1)), (1, 5), ((1,), (0, 1))):
            yield Case("method", "roll", (x, shifts, dims))
        yield Case("top", "roll", (x, 2))
        for dims in ((0,), (0, 1), (-1,), (), (0, 0), (3,)):
            yield Case("method", "flip", (x, dims))
        yield Case("top", "flip", (x, (0,)))
        for diagonal in (0, 1, -2):
            yield Case("method", "diag", (x, diagonal))
        yield Case("top", "diag", (x,))
        for n in (1, 2):
            yield Case("method", "diff", (x,), {"n": n})
        yield Case("method", "diff", (x,), {"dim": 0})


def index_cases() -> Iterable[Case]:
    d = Draw(18)
    x = d.f((3, 4, 5))
    keys = [
        0,
        -1,
        3,
        (1, 2),
        (0, -1, 2),
        slice(1, None),
        slice(None, None, 2),
        slice(None, None, -1),
        slice(-2, None),
        slice(5, 9),
        (slice(None), 1),
        (Ellipsis, 0),
        (0, Ellipsis, slice(1, 3)),
        None,
        (None, 0),
        (slice(None), None, 1),
        (Ellipsis, None),
        (0, 1, 2, 3),
        d.b((3,)),
        d.b((3, 4)),
        d.b((4,)),
        (slice(None), d.b((4,))),
        Arr(np.array([0, 2, -1])),
        Arr(np.array([[0, 1], [2, 2]])),
        (Arr(np.array([0, 2])), Arr(np.array([1, 3]))),
        (Arr(np.array([0, 2])), slice(None), Arr(np.array([1, 3]))),
        (slice(None), Arr(np.array([0, 3]))),
        (0, Arr(np.array([0, 3]))),
        Arr(np.array(1)),
        Arr(np.array([3])),
        [0, 2],
        [[0, 1], [1, 2]],
        True,
        Arr(np.array([0.0, 1.0])),
    ]
    for key in keys:
        for source in (x, d.f((4, 3), "float32", nc=True)):
            yield Case("method", "__getitem__", (source, key))
    yield Case("method", "__getitem__", (d.f(()), Ellipsis))
    yield Case("method", "__getitem__", (d.f(()), None))
    yield Case("method", "__getitem__", (d.f(()), 0))
    yield Case("method", "__getitem__", (d.i((3, 4)), (slice(1, None), 0)))


def setitem_cases() -> Iterable[Case]:
    """``x[index] = value`` on a copy made by an op (the gradient reaches both the old values
    and ``value``), on a leaf that requires grad (refused) and on integers."""
    d = Draw(20)
    writes = [
        (0, 1.5),
        ((slice(None), 1), d.f((3,))),
        ((slice(None), 1), d.f((2,))),  # does not fit
        (slice(1, None), d.f((4,))),  # broadcasts
        (d.b((3, 4)), -1.0),
        (d.b((3, 4)), d.f(())),
        (Arr(np.array([0, 2])), d.f((2, 4))),
        ((Arr(np.array([0, 2])), Arr(np.array([1, 1]))), d.f((2,))),  # a repeated index
        ((Ellipsis, -1), d.f((3,), "float32")),
        (5, 0.0),
    ]
    for key, value in writes:
        for target in (d.f((3, 4), clone=True), d.f((3, 4)), d.i((3, 4))):
            yield Case("setitem", "__setitem__", (target, key, value))


def matmul_cases() -> Iterable[Case]:
    d = Draw(19)
    pairs = [
        ((4,), (4,)),
        ((3, 4), (4,)),
        ((4,), (4, 2)),
        ((3, 4), (4, 2)),
        ((2, 3, 4), (4, 2)),
        ((3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((3, 4), (3, 4)),
        ((), (4,)),
        ((0, 4), (4, 2)),
        ((3, 0), (0, 2)),
    ]
    for dtype in ("float64", "float32"):
        for ashape, bshape in pairs:
            a, b = d.f(ashape, dtype), d.f(bshape, dtype)
            for name in ("matmul", "__matmul__", "mm", "bmm", "mv", "dot", "outer"):
                yield Case("method", name, (a, b))
            yield Case("top", "matmul", (a, b))
    a = d.f((3, 4))
    yield Case("method", "matmul", (a, d.f((4, 2), "float32")))  # dtypes differ: refused
    yield Case("method", "matmul", (d.i((3, 4)), d.i((4, 2))))
    yield Case("method", "matmul", (d.f((4, 3), nc=True), d.f((2, 4), nc=True)))
    yield Case("method", "dot", (d.f((4,)), d.f((4,), "float32")))
    yield Case("method", "outer", (d.f((3,)), d.i((2,))))
    yield Case("top", "mm", (a, d.f((4, 2))))
    yield Case("top", "bmm", (d.f((2, 3, 4)), d.f((2, 4, 2))))
    yield Case("top", "bmm", (d.f((2, 3, 4)), d.f((3, 4, 2))))
    yield Case("top", "mv", (a, d.f((4,))))
    yield Case("top", "dot", (d.f((4,)), d.f((4,))))
    yield Case("top", "outer", (d.f((3,)), d.f((2,))))
    for equation, shapes in (
        ("ij,jk->ik", ((3, 4), (4, 2))),
        ("ii->i", ((3, 3),)),
        ("ii", ((3, 3),)),
        ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
        ("i,i->", ((4,), (4,))),
        ("i,j->ij", ((3,), (2,))),
        ("ij->ji", ((3, 4),)),
        ("...ij,...jk", ((2, 3, 4), (4, 5))),
        ("ij,jk->ik", ((3, 4), (5, 2))),
        ("bii->b", ((2, 3, 3),)),  # a trace per sample
        ("iij->j", ((3, 3, 2),)),
        ("iji,j->ij", ((3, 2, 3), (2,))),
        ("iii", ((3, 3, 3),)),
        ("ii->i", ((2, 3),)),  # sizes differ: refused
        ("bii,bij->bj", ((2, 3, 3), (2, 3, 4))),
    ):
        yield Case("top", "einsum", (equation, *(d.f(s) for s in shapes)))
    x, y = d.f((2, 3, 4)), d.f((4, 5))
    yield Case("top", "einsum", (x, [0, 1, 2], x, [0, 1, 2], [0]))  # operands and sublists
    yield Case("top", "einsum", (x, [Ellipsis, 1, 2], y, [2, 3]))
    yield Case("top", "einsum", (x, [0, 1, 2], y, [2, 52]))  # out of range: refused


CASES = all_cases(
    (view_cases, None),
    (transpose_cases, None),
    (broadcast_cases, None),
    (split_cases, None),
    (join_cases, None),
    (select_cases, None),
    (layout_cases, None),
    (index_cases, None),
    (setitem_cases, None),
    (matmul_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
