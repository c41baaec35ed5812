"""Differential test against PyTorch: the older linear algebra (``cholesky_solve``,
``cholesky_inverse``, ``triangular_solve``; ``svd``, ``qr`` and ``cholesky`` are
test_differential_aliases's cases), the view scatters, ``masked_scatter``, ``put``,
``histogram`` and the top-level ``ctc_loss`` (values, dtypes, gradients and refusals).
``torch.svd``'s singular vectors have free signs: it is checked below by its reconstruction
and singular values.

The harness (``run_case``: values, dtype, shape, gradients, errors) is test_differential.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from test_differential import Arr, Case, Draw, all_cases, by_op, run_all  # skips without torch

import gradviz


def _spd(d: Draw, n: int) -> np.ndarray:
    m = d.rng.uniform(-1, 1, (n, n))
    return m @ m.T + n * np.eye(n)


def linalg_cases() -> Iterable[Case]:
    d = Draw(161)
    low = Arr(np.linalg.cholesky(_spd(d, 3)))
    b = d.f((3, 2))
    for kind in ("top", "method"):
        yield Case(kind, "cholesky_solve", (b, low))
        yield Case(kind, "cholesky_inverse", (low,))
        yield Case(kind, "triangular_solve", (b, Arr(low.value.T.copy())))
    yield Case("top", "cholesky_solve", (b, Arr(low.value.T.copy()), True))
    yield Case("top", "cholesky_inverse", (Arr(low.value.T.copy()), True))
    yield Case("top", "triangular_solve", (b, low, False))
    yield Case("top", "triangular_solve", (b, low, False, True))
    yield Case("top", "triangular_solve", (b, low), {"upper": False, "unitriangular": True})


def scatter_cases() -> Iterable[Case]:
    d = Draw(162)
    x = d.f((3, 4))
    for kind in ("top", "method"):
        yield Case(kind, "slice_scatter", (x, d.f((3, 2)), 1, 0, 4, 2))
        yield Case(kind, "select_scatter", (x, d.f((4,)), 0, 1))
        yield Case(kind, "diagonal_scatter", (x, d.f((3,))))
        mask = Arr(d.rng.random((3, 4)) < 0.5)
        yield Case(kind, "masked_scatter", (x, mask, d.f((12,))))
        yield Case(kind, "put", (x, Arr(np.array([0, 5, -1])), d.f((3,))))
    yield Case("top", "slice_scatter", (x, d.f((1, 4))), {"start": 2})
    yield Case("top", "select_scatter", (x, d.f((3,)), -1, 2))
    yield Case("top", "diagonal_scatter", (x, d.f((2,)), 2))
    yield Case("top", "diagonal_scatter", (d.f((2, 3, 3)), d.f((2, 2)), -1, 1, 2))
    yield Case("top", "diagonal_scatter", (x, d.f((2,))))  # the wrong length: refused
    yield Case("top", "masked_scatter", (x, Arr(np.array([True, False, True, True])), d.f((9,))))
    yield Case("top", "masked_scatter", (x, Arr(np.ones((3, 4), bool)), d.f((5,))))  # refused
    yield Case("top", "put", (x, Arr(np.array([1, 1, 2])), d.f((3,)), True))
    yield Case("method", "put_", (Arr(x.value, clone=True), Arr(np.array([0, 2])), d.f((2,))))
    yield Case(
        "method", "masked_scatter_", (Arr(x.value, clone=True), Arr(x.value > 0), d.f((12,)))
    )
    yield Case("top", "put", (x, Arr(np.array([12])), d.f((1,))))  # out of range: refused


def other_cases() -> Iterable[Case]:
    d = Draw(163)
    v = d.f((20,), grad=False)
    yield Case("top", "histogram", (v,))
    yield Case("top", "histogram", (v, 5))
    yield Case("method", "histogram", (v, 4), {"range": (-1.0, 1.0)})
    yield Case("top", "histogram", (v, Arr(np.array([-2.0, 0.0, 0.5, 2.0]), False)))
    yield Case("top", "histogram", (v, 3), {"weight": d.f((20,), grad=False), "density": True})
    yield Case("top", "histogram", (d.i((5,)), 3))  # integers: refused
    t, n, c = 6, 2, 4
    log_probs = Arr(np.log(d.rng.dirichlet(np.ones(c), (t, n))), grad=False)
    targets, lengths = Arr(np.array([[1, 2], [3, 3]])), Arr(np.array([6, 5]))
    for reduction in (0, 1, 2):
        yield Case("top", "ctc_loss", (log_probs, targets, lengths, Arr(np.array([2, 2]))),
                   {"reduction": reduction})  # fmt: skip
    yield Case("top", "ctc_loss", (log_probs, targets, lengths, Arr(np.array([2, 1]))))


CASES = all_cases((linalg_cases, None), (scatter_cases, None), (other_cases, None))
GROUPS = by_op(CASES)


@pytest.mark.parametrize("op", sorted(GROUPS))
def test_as_torch(op: str) -> None:
    run_all(GROUPS[op])


@pytest.mark.parametrize(("some", "shape"), [(True, (4, 3)), (False, (4, 3)), (True, (3, 5))])
def test_svd_is_pytorchs_up_to_signs(some, shape):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).uniform(-1, 1, shape)
    u, s, v = gradviz.svd(gradviz.tensor(a), some)
    tu, ts, tv = torch.svd(torch.tensor(a), some)
    assert u.shape == tuple(tu.shape)
    assert v.shape == tuple(tv.shape)
    np.testing.assert_allclose(s.numpy(), ts.numpy(), rtol=1e-10)
    k = s.shape[0]
    np.testing.assert_allclose((u[:, :k] * s) @ v[:, :k].mT, a, atol=1e-12)
    x = gradviz.tensor(a, requires_grad=True)
    u0, s0, v0 = gradviz.svd(x, compute_uv=False)
    assert not np.any(u0.numpy())
    assert (u0.shape, v0.shape) == ((shape[0], shape[0]), (shape[1], shape[1]))
    s0.sum().backward()  # S keeps its gradient without U and V, as PyTorch's
    ta = torch.tensor(a, requires_grad=True)
    torch.svd(ta, compute_uv=False)[1].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ta.grad.numpy(), atol=1e-10)


def test_compositions_pass_gradcheck():
    rng = np.random.default_rng(4)
    m = rng.uniform(-1, 1, (3, 3))
    low = gradviz.tensor(np.linalg.cholesky(m @ m.T + 3 * np.eye(3)), requires_grad=True)
    b = gradviz.tensor(rng.uniform(-1, 1, (3, 2)), requires_grad=True)
    x = gradviz.tensor(rng.uniform(-1, 1, (3, 4)), requires_grad=True)
    src = gradviz.tensor(rng.uniform(-1, 1, (3,)), requires_grad=True)
    assert gradviz.gradcheck(lambda low, b: gradviz.cholesky_solve(b, low), [low, b])
    assert gradviz.gradcheck(lambda x, s: gradviz.diagonal_scatter(x, s) * x, [x, src])
    assert gradviz.gradcheck(
        lambda x, s: gradviz.put(x, gradviz.tensor([0, 5, 5]), s, True), [x, src]
    )
