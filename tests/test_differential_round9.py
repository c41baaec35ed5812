"""Differential test against PyTorch: what round 9's tutorials reached for and did not find
(the in-place shape methods ``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``,
``swapaxes_``/``swapdims_``, on leaves (refused), on copies made by an op, and bad dims; the
constructors' ``size=`` keyword; ``binary_cross_entropy`` of a target in another dtype).

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def inplace_view_cases() -> Iterable[Case]:
    d = Draw(91)
    x = d.f((2, 1, 3), clone=True)
    yield Case("method", "unsqueeze_", (x, -1))
    yield Case("method", "unsqueeze_", (x, 0))
    yield Case("method", "unsqueeze_", (x, 4))  # out of range
    yield Case("method", "unsqueeze_", (d.f((3,)), 0))  # a leaf that requires grad
    yield Case("method", "unsqueeze_", (d.i((3,)), 1))
    yield Case("method", "squeeze_", (x,))
    yield Case("method", "squeeze_", (x, 1))
    yield Case("method", "squeeze_", (x, 0))  # size 2: stays
    yield Case("method", "squeeze_", (x, (0, 1)))
    yield Case("method", "squeeze_", (x, 3))
    m = d.f((2, 3), clone=True)
    yield Case("method", "t_", (m,))
    yield Case("method", "t_", (d.f((3,), clone=True),))
    yield Case("method", "t_", (x,))  # 3-d: refused
    yield Case("method", "transpose_", (x, 0, 2))
    yield Case("method", "transpose_", (m, -1, -2))
    yield Case("method", "transpose_", (m, 0, 2))
    yield Case("method", "swapaxes_", (x, 0, 1))
    yield Case("method", "swapdims_", (x, 2, 0))


def size_keyword_cases() -> Iterable[Case]:
    for name in ("zeros", "ones"):
        yield Case("top", name, (), {"size": (2, 3)})
        yield Case("top", name, (), {"size": [4]})
        yield Case("top", name, (), {"size": ()})
        yield Case("top", name, (), {"size": 3})  # an int: refused
        yield Case("top", name, (2,), {"size": (3,)})  # twice: refused


def bce_dtype_cases() -> Iterable[Case]:
    """A VAE's BCE on data left float64 by NumPy: PyTorch refuses a target of another dtype."""
    d = Draw(92)
    for x_dtype, t_dtype in (
        ("float32", "float64"),
        ("float64", "float32"),
        ("float32", "float32"),
        ("float64", "float64"),
    ):
        x = d.f((2, 3), x_dtype, low=0.05, high=0.95)
        t = Arr(d.f((2, 3), t_dtype, low=0.0, high=1.0).value, grad=False)
        yield Case("F", "binary_cross_entropy", (x, t), {"reduction": "sum"})


def cat_cases() -> Iterable[Case]:
    """A char-RNN's ``torch.cat((input, hidden), 1)`` with a hidden state of the wrong dims."""
    d = Draw(93)
    yield Case("top", "cat", ((d.f((1, 3)), d.f((1, 4))), 1))
    yield Case("top", "cat", ((d.f((1, 3)), d.f((4,))), 1))  # hidden made without a batch dim
    yield Case("top", "cat", ((d.f((4,)), d.f((1, 3))), 0))
    yield Case("top", "cat", ((d.f((1, 3)), d.f((2, 4))), 1))  # batch sizes differ
    yield Case("top", "cat", ((d.f((2, 3)), d.f((2, 3, 1))), 0))


CASES = all_cases((inplace_view_cases, None), (size_keyword_cases, None), (bce_dtype_cases, None))
GROUPS = by_op(CASES)

#: twins tested elsewhere
NOT_HERE = {
    "set_default_device": "global state: tests/test_hostile_round9.py",
    "get_default_device": "global state: tests/test_hostile_round9.py",
}


@pytest.mark.parametrize("op", GROUPS)
def test_matches_torch(op: str) -> None:
    run_all(GROUPS[op])
