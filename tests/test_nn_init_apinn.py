"""``nn.init.eye_``, ``dirac_``, ``orthogonal_`` and ``sparse_``: PyTorch's values where they
are deterministic, PyTorch's properties where they are drawn, seeded by ``manual_seed`` as the
other initialisers are, and PyTorch's refusals."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import ArgumentError

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_equals_pytorchs(shape):
    w = nn.Parameter(np.full(shape, 7.0))
    assert nn.init.eye_(w) is w
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())
    assert w.requires_grad
    assert w.grad is None


@pytest.mark.parametrize(
    ("shape", "groups"),
    [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((3, 5, 2, 2), 1), ((6, 2, 3, 3), 2), ((4, 3, 3, 3, 3), 2)],
)
def test_dirac_equals_pytorchs_and_makes_conv_the_identity(shape, groups):
    w = nn.Parameter(np.full(shape, 7.0))
    nn.init.dirac_(w, groups)
    expected = torch.nn.init.dirac_(torch.empty(shape, dtype=torch.float64), groups).numpy()
    np.testing.assert_array_equal(w.numpy(), expected)
    if len(shape) == 4 and groups == 1 and shape[0] == shape[1]:
        conv = nn.Conv2d(shape[1], shape[0], shape[2], padding=shape[2] // 2, bias=False)
        conv.weight = w
        x = gradviz.tensor(np.random.default_rng(0).standard_normal((1, shape[1], 5, 5)))
        np.testing.assert_allclose(conv(x).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (4, 2, 3, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    gradviz.manual_seed(0)
    w = nn.init.orthogonal_(nn.Parameter(np.zeros(shape)), gain=2.0)
    flat = w.numpy().reshape(shape[0], -1) / 2.0
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    gradviz.manual_seed(0)
    again = nn.init.orthogonal_(nn.Parameter(np.zeros(shape)), gain=2.0)
    np.testing.assert_array_equal(w.numpy(), again.numpy())  # the manual_seed stream
    other = nn.init.orthogonal_(
        nn.Parameter(np.zeros(shape)), generator=gradviz.Generator().manual_seed(0)
    )
    np.testing.assert_allclose(other.numpy() * 2, w.numpy())  # the same seed, either stream


def test_orthogonal_draws_as_pytorch_does_from_the_same_normal_draws():
    """Given the same normal draws, the QR sign fix makes the same matrix as PyTorch's."""
    draws = np.random.default_rng(3).standard_normal((3, 5))
    q, r = np.linalg.qr(draws.T)
    ours = (q * np.sign(np.diag(r))).T
    tq, tr = torch.linalg.qr(torch.tensor(draws.T))
    np.testing.assert_allclose(ours, (tq * torch.diag(tr).sign()).T.numpy(), atol=1e-12)


def test_sparse_zeros_the_same_count_in_every_column():
    gradviz.manual_seed(0)
    w = nn.init.sparse_(nn.Parameter(np.ones((10, 300))), sparsity=0.25, std=0.5)
    zeros = (w.numpy() == 0).sum(0)
    assert (zeros == 3).all()  # ceil(0.25 * 10)
    kept = w.numpy()[w.numpy() != 0]
    assert abs(kept.std() - 0.5) < 0.03
    assert abs(kept.mean()) < 0.03
    patterns = {tuple(np.flatnonzero(col == 0)) for col in w.numpy().T}
    assert len(patterns) > 50  # each column chooses its own places
    t = torch.nn.init.sparse_(torch.ones(10, 300), sparsity=0.25)
    assert ((t == 0).sum(0) == 3).all()


@pytest.mark.parametrize(
    ("name", "shape", "args"),
    [
        ("eye_", (3, 3, 2), ()),
        ("dirac_", (4, 3), ()),
        ("dirac_", (4, 3, 3, 3), (3,)),
        ("orthogonal_", (3,), ()),
        ("sparse_", (3, 3, 3), (0.1,)),
    ],
)
def test_refusals_as_pytorchs(name, shape, args):
    with pytest.raises(ValueError, match=r"supported|divisible") as theirs:
        getattr(torch.nn.init, name)(torch.empty(shape), *args)
    with pytest.raises(ArgumentError, match=str(theirs.value)):
        getattr(nn.init, name)(nn.Parameter(np.zeros(shape)), *args)
