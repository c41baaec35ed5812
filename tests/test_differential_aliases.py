"""Differential test against PyTorch: PyTorch's other names and small compositions
(``subtract``, ``greater``, ``byte``, ``fliplr``, ``logaddexp``, ``clone``, ``t`` ...) and the
older ``svd``, ``qr`` and ``cholesky``. ``concat``, ``unravel_index``, ``atleast_2d``,
``diag_embed`` ... are test_differential_extra's cases, the ``nn.functional`` functions
PyTorch also has at the top level (``torch.conv2d`` ...) test_differential_toplevel's.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch


def alias_cases() -> Iterable[Case]:
    d = Draw(93)
    x, y = d.f((3, 4)), d.f((4,))
    for kind in ("method", "top"):
        yield Case(kind, "subtract", (x, y))
        yield Case(kind, "subtract", (x, y), {"alpha": 2})
        for name in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
            yield Case(kind, name, (x, y))
            yield Case(kind, name, (x, 0.5))
            yield Case(kind, name, (d.i((3,)), 1.5))
        yield Case(kind, "absolute", (x,))
        yield Case(kind, "fliplr", (x,))
        yield Case(kind, "flipud", (x,))
        yield Case(kind, "fliplr", (y,))  # 1-d: refused
        yield Case(kind, "fliplr", (d.f((2, 3, 4)),))
        yield Case(kind, "flipud", (Arr(np.array(1.0)),))  # 0-d: refused
        for name in ("logaddexp", "logaddexp2"):
            yield Case(kind, name, (x, y))
            yield Case(kind, name, (d.f((2, 3), "float32"), d.f((2, 3), "float32")))
            yield Case(kind, name, (x, Arr(np.array([-np.inf, 0.0, np.inf, 1.0]), grad=False)))
            yield Case(kind, name, (d.i((3,)), d.i((3,))))  # integers: refused
            yield Case(kind, name, (Arr(np.array([1.0, np.nan])), Arr(np.array([np.nan, 2.0]))))
            yield Case(kind, name, (x, d.f((3,))))  # shapes that do not broadcast: refused
            yield Case(kind, name, (x, 1.0))  # a number: refused
            big = (Arr(np.array([1000.0, -1000.0])), Arr(np.array([999.0, -999.0])))
            yield Case(kind, name, big)  # no overflow
    for name in ("byte", "char", "short"):
        yield Case("method", name, (d.f((3,), low=0.0, high=100.0),))
        yield Case("method", name, (d.i((3,)),))
    yield Case("method", "broadcast_to", (y, (3, 4)))
    yield Case("method", "broadcast_to", (y, (3, 5)))
    for name in ("clone", "detach", "t"):
        yield Case("top", name, (x,))
    yield Case("top", "t", (y,))
    yield Case("top", "t", (d.f((2, 3, 4)),))  # 3-d: refused


def legacy_linalg_cases() -> Iterable[Case]:
    d = Draw(97)
    x = d.f((4, 3))
    spd = Arr(x.value.T @ x.value + np.eye(3))
    for kind in ("top", "method"):
        yield Case(kind, "svd", (x,))
        yield Case(kind, "svd", (x,), {"some": False})
        yield Case(kind, "svd", (x,), {"compute_uv": False})
        yield Case(kind, "qr", (x,))
        yield Case(kind, "qr", (x, False))
        yield Case(kind, "cholesky", (spd,))
        yield Case(kind, "cholesky", (spd,), {"upper": True})
    yield Case("top", "cholesky", (Arr(-np.eye(3)),))  # not positive-definite: refused


NOT_HERE = {
    "register_post_accumulate_grad_hook": "tests/test_grad_hooks.py (against PyTorch: an "
    "optimizer step per parameter inside backward)",
}

CASES = all_cases(
    (alias_cases, None),
    (legacy_linalg_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
