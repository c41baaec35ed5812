"""Differential test against PyTorch: ``concat``, ``empty_like``, ``randint_like``, ``asarray``,
``atleast_*d``, ``broadcast_shapes``, ``can_cast``, ``diag_embed``, ``diagflat``, ``dist``,
``addmv``, ``addr``, ``ger``, ``cumulative_trapezoid``, ``vander``, ``frexp``, ``ldexp``,
``gcd``, ``lcm``, ``unravel_index`` and ``split_with_sizes`` (values, dtypes, gradients and
refusals). ``result_type`` and ``promote_types`` give dtypes, compared by name in
tests/test_api_extra.py.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

NOT_HERE = {
    "result_type": "a dtype (NumPy's, not torch's): tests/test_api_extra.py by name",
    "promote_types": "a dtype (NumPy's, not torch's): tests/test_api_extra.py by name",
}


def shape_cases() -> Iterable[Case]:
    d = Draw(111)
    a, b = d.f((2, 3)), d.f((1, 3))
    yield Case("top", "concat", ([a, b],))
    yield Case("top", "concat", ([a, d.f((2, 2))], 1))
    yield Case("top", "concat", ([a, d.f((2, 2))],))  # sizes differ: refused
    yield Case("top", "concat", ([a, d.f((2, 2))],), {"dim": 1})
    yield Case("top", "empty_like", (a,))
    yield Case("top", "empty_like", (d.i((3,)),), {"dtype": np.dtype(np.float32)})
    yield Case("top", "randint_like", (d.f((2, 3)), 5))
    yield Case("top", "randint_like", (d.i((4,)), 2, 9))
    yield Case("top", "asarray", (d.f((3,)),))
    yield Case("top", "asarray", ([1.0, 2.0],), {"dtype": np.dtype(np.float64)})
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for shape in ((), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)):
            yield Case("top", name, (d.f(shape),))
        yield Case("top", name, (d.f(()), d.f((3,))))
        yield Case("top", name, ([d.f((2,)), d.f((2, 2))],))
    yield Case("top", "broadcast_shapes", ((2, 1), (3,)))
    yield Case("top", "broadcast_shapes", ((5, 1, 4), 4, (1, 3, 1)))
    yield Case("top", "broadcast_shapes", ((2, 3), (4,)))  # refused
    for a_type, b_type in (("float32", "int32"), ("int64", "float16"), ("bool", "int8")):
        yield Case("top", "can_cast", (np.dtype(a_type), np.dtype(b_type)))
        yield Case("top", "can_cast", (np.dtype(b_type), np.dtype(a_type)))
    x = d.f((2, 6))
    yield Case("method", "split_with_sizes", (x, [2, 4], 1))
    yield Case("method", "split_with_sizes", (x, [1, 1]))
    yield Case("top", "split_with_sizes", (x, (3, 3), -1))
    for kind in ("top", "method"):
        yield Case(kind, "unsafe_split", (x, 4, 1))
        yield Case(kind, "unsafe_split_with_sizes", (x, [1, 5], 1))
        yield Case(kind, "unsafe_chunk", (x, 3, -1))
    yield Case("method", "split_with_sizes", (x, [2, 3], 1))  # do not add up: refused
    yield Case("top", "unravel_index", (Arr(np.array([0, 4, 5, 11])), (3, 4)))
    yield Case("top", "unravel_index", (Arr(np.array(7)), (2, 2, 2)))
    yield Case("top", "unravel_index", (Arr(np.array([0, 4, 5, -1, 9])), (2, 3)))  # wraps
    yield Case("top", "unravel_index", (Arr(np.array([1.0])), (2,)))  # floats: refused


def matrix_cases() -> Iterable[Case]:
    d = Draw(112)
    x = d.f((2, 3))
    for offset in (0, 1, -2):
        yield Case("top", "diag_embed", (x, offset))
        yield Case("top", "diagflat", (x, offset))
    yield Case("top", "diag_embed", (d.f((2, 3, 4)), 1, 0, 2))
    yield Case("method", "diag_embed", (x,), {"offset": -2, "dim1": 0, "dim2": 2})
    yield Case("method", "diag_embed", (x, 1, 1, 0))
    yield Case("top", "diag_embed", (x,), {"dim1": 1, "dim2": 1})  # refused
    yield Case("method", "diag_embed", (x,))
    yield Case("method", "diagflat", (d.f((4,)),))
    yield Case("top", "diag_embed", (d.i((2, 3)),))
    a, b = d.f((3, 4)), d.f((4,))
    for p in (2, 1, 3.5, 0, float("inf")):
        yield Case("top", "dist", (a, b, p))
    yield Case("method", "dist", (a, b))
    yield Case("top", "dist", (d.f((3,), "float32"), d.f((3,), "float32")))
    mat, vec, out = d.f((3, 4)), d.f((4,)), d.f((3,))
    yield Case("top", "addmv", (out, mat, vec))
    yield Case("top", "addmv", (d.f((1,)), mat, vec), {"beta": 0.5, "alpha": 2.0})
    yield Case("top", "addmv", (Arr(np.array([np.nan, 1.0, 2.0])), mat, vec), {"beta": 0})
    yield Case("method", "addmv", (out, mat, vec), {"alpha": -1})
    yield Case("top", "addmv", (out, mat, d.f((3,))))  # sizes: refused
    v1, v2 = d.f((3,)), d.f((2,))
    yield Case("top", "addr", (d.f((3, 2)), v1, v2))
    yield Case("top", "addr", (d.f((2,)), v1, v2), {"beta": 2, "alpha": 0.5})
    yield Case("method", "addr", (d.f((3, 2)), v1, v2), {"beta": 0})
    yield Case("top", "addr", (d.f((3, 2)), d.f((3, 1)), v2))  # 2-d: refused
    yield Case("top", "ger", (v1, v2))
    yield Case("method", "ger", (v1, v2))


def numeric_cases() -> Iterable[Case]:
    d = Draw(113)
    y = d.f((3, 5))
    yield Case("top", "cumulative_trapezoid", (y,))
    yield Case("top", "cumulative_trapezoid", (y,), {"dx": 0.5, "dim": 0})
    yield Case("top", "cumulative_trapezoid", (y, d.f((5,))))
    yield Case("top", "cumulative_trapezoid", (y, d.f((3, 5))), {"dim": 1})
    yield Case("top", "cumulative_trapezoid", (d.i((4,)),))
    x = Arr(np.array([0.0, 1.5, -2.0]))
    yield Case("top", "vander", (x,))
    yield Case("top", "vander", (x, 4, True))
    yield Case("top", "vander", (x,), {"N": 1})
    yield Case("top", "vander", (d.i((3,)),))
    yield Case("top", "vander", (d.f((2, 2)),))  # 2-d: refused
    f = Arr(np.array([1.5, -3.0, 0.0, 0.25, 1e-3]))
    yield Case("top", "frexp", (f,))
    yield Case("method", "frexp", (f,))
    yield Case("top", "frexp", (d.f((3,), "float32"),))
    yield Case("top", "frexp", (d.i((3,)),))  # integers: refused
    yield Case("top", "ldexp", (d.f((3,)), Arr(np.array([1, 0, 3]))))
    yield Case("method", "ldexp", (d.f((3,)), Arr(np.array([0, 2, 5]))))
    yield Case("top", "ldexp", (d.f((3,), "float32"), Arr(np.array([1, 2, 3]))))
    yield Case("top", "ldexp", (d.i((3,)), Arr(np.array([1, 2, 3]))))
    i, j = Arr(np.array([4, 6, -9, 0, 7])), Arr(np.array([6, 9, 6, 5, 0]))
    for name in ("gcd", "lcm"):
        yield Case("top", name, (i, j))
        yield Case("method", name, (i, Arr(np.array(3))))
        yield Case("top", name, (d.f((3,)), d.i((3,))))  # floats: refused


CASES = all_cases(
    (shape_cases, None),
    (matrix_cases, None),
    (numeric_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
