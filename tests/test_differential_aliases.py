"""Differential test against PyTorch: PyTorch's other names and small compositions
(``subtract``, ``greater``, ``byte``, ``fliplr``, ``diag_embed``, ``logaddexp``, ``concat``,
``unravel_index``, ``atleast_2d`` ...) and the ``nn.functional`` functions PyTorch also has at
the top level (``torch.conv2d``, ``torch.cosine_similarity`` ...).

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
        yield Case(kind, "absolute", (x,))
        yield Case(kind, "fliplr", (x,))
        yield Case(kind, "flipud", (x,))
        yield Case(kind, "fliplr", (y,))  # 1-d: refused
        yield Case(kind, "flipud", (Arr(np.array(1.0)),))  # 0-d: refused
        yield Case(kind, "diag_embed", (x,))
        yield Case(kind, "diag_embed", (x, 1))
        yield Case(kind, "diag_embed", (x,), {"offset": -2, "dim1": 0, "dim2": 2})
        yield Case(kind, "diag_embed", (x, 1, 1, 0))
        for name in ("logaddexp", "logaddexp2"):
            yield Case(kind, name, (x, y))
            yield Case(kind, name, (d.f((2, 3), "float32"), d.f((2, 3), "float32")))
            yield Case(kind, name, (x, Arr(np.array([-np.inf, 0.0, np.inf, 1.0]), grad=False)))
            yield Case(kind, name, (d.i((3,)), d.i((3,))))  # integers: refused
    for name in ("byte", "char", "short"):
        yield Case("method", name, (d.f((3,), low=0.0, high=100.0),))
        yield Case("method", name, (d.i((3,)),))
    yield Case("method", "broadcast_to", (y, (3, 4)))
    yield Case("method", "broadcast_to", (y, (3, 5)))
    for name in ("clone", "detach", "t"):
        yield Case("top", name, (x,))
    yield Case("top", "t", (y,))
    yield Case("top", "concat", ([x, d.f((2, 4))],))
    yield Case("top", "concat", ([x, d.f((3, 2))],), {"dim": 1})
    yield Case("top", "empty_like", (x,))
    yield Case("top", "randint_like", (x, 5))
    yield Case("top", "randint_like", (d.i((2, 3)), 2, 5))
    yield Case("top", "unravel_index", (Arr(np.array([0, 4, 5, -1, 9])), (2, 3)))
    yield Case("top", "unravel_index", (Arr(np.array(7)), (2, 2, 2)))
    yield Case("top", "unravel_index", (Arr(np.array([1.5])), (2, 3)))  # floats: refused
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for shape in ((), (3,), (2, 3), (2, 3, 4)):
            yield Case("top", name, (d.f(shape),))
        yield Case("top", name, (d.f(()), d.f((2,))))


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


def test_legacy_svd_returns_v_and_reconstructs_as_pytorchs():
    """``torch.svd`` gives ``V`` (not ``Vh``): ``U diag(S) V^T`` is the matrix, and with
    ``compute_uv=False`` U and V are zeros of the full sizes."""
    import gradviz

    a = np.random.default_rng(1).normal(size=(4, 3))
    U, S, V = gradviz.svd(gradviz.tensor(a))
    np.testing.assert_allclose((U @ gradviz.diag(S) @ V.T).numpy(), a, atol=1e-12)
    U, S, V = gradviz.tensor(a).svd(compute_uv=False)
    assert (U.shape, V.shape) == ((4, 4), (3, 3))
    assert not U.numpy().any()


def broadcast_shapes_cases() -> Iterable[Case]:
    yield Case("top", "broadcast_shapes", ((2, 1), (3,)))
    yield Case("top", "broadcast_shapes", (5, (2, 1)))
    yield Case("top", "broadcast_shapes", ((2, 3), (4, 3)))  # refused


def functional_twin_cases() -> Iterable[Case]:
    d = Draw(94)
    x, w = d.f((2, 3, 5, 5)), d.f((4, 3, 3, 3))
    yield Case("top", "conv2d", (x, w, d.f((4,))), {"stride": 2, "padding": 1})
    yield Case("top", "conv1d", (d.f((2, 3, 7)), d.f((4, 3, 3))))
    yield Case("top", "conv3d", (d.f((1, 2, 4, 4, 4)), d.f((3, 2, 2, 2, 2))))
    yield Case("top", "conv_transpose2d", (d.f((2, 4, 3, 3)), d.f((4, 3, 2, 2))), {"stride": 2})
    yield Case("top", "conv_transpose1d", (d.f((2, 4, 5)), d.f((4, 2, 3))))
    yield Case("top", "conv_transpose3d", (d.f((1, 2, 3, 3, 3)), d.f((2, 1, 2, 2, 2))))
    a, b = d.f((4, 6)), d.f((4, 6))
    yield Case("top", "cosine_similarity", (a, b))
    yield Case("top", "cosine_similarity", (a, b, 0))
    yield Case("top", "pairwise_distance", (a, b))
    yield Case("top", "pairwise_distance", (a, b, 1.0, 1e-6, True))
    yield Case("top", "dropout", (a, 0.5, False))
    yield Case("top", "dropout", (a, 0.0, True))
    yield Case("top", "layer_norm", (a, (6,), d.f((6,)), d.f((6,))))
    yield Case("top", "pixel_shuffle", (d.f((1, 8, 2, 3)), 2))
    yield Case("top", "pixel_unshuffle", (d.f((1, 2, 4, 6)), 2))


NOT_HERE = {
    "register_post_accumulate_grad_hook": "tests/test_grad_hooks.py (against PyTorch: an "
    "optimizer step per parameter inside backward)",
}

CASES = all_cases(
    (alias_cases, None),
    (broadcast_shapes_cases, None),
    (functional_twin_cases, None),
    (legacy_linalg_cases, None),
)
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])
