"""``gradviz.autograd.grad`` (PyTorch's ``torch.autograd.grad``): gradients returned, not
accumulated; every ``.grad`` left as it was."""

import numpy as np
import pytest

import gradviz
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError


def _graph(lib, x0, w0):
    x = lib.tensor(x0, requires_grad=True)
    w = lib.tensor(w0, requires_grad=True)
    h = (x @ w).tanh()
    return x, w, h, (h**2).sum(), h.mean()


def test_grad_matches_pytorch_and_touches_no_grad():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    x, w, h, loss, mean = _graph(gradviz, x0, w0)
    tx, tw, th, tloss, tmean = _graph(torch, x0, w0)
    w.grad = np.ones((3, 2))  # an earlier gradient stays as it is
    gw, gh = grad(loss, [w, h], retain_graph=True)
    tgw, tgh = torch.autograd.grad(tloss, [tw, th], retain_graph=True)
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gh.numpy(), tgh.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((3, 2)))
    assert x.grad is None
    both = grad([loss, mean], x)[0]  # two outputs: the sum of their gradients
    np.testing.assert_allclose(both.numpy(), torch.autograd.grad([tloss, tmean], tx)[0].numpy())


def test_weighted_outputs_unused_inputs_and_errors():
    x = gradviz.randn(3, requires_grad=True)
    unused = gradviz.randn(2, requires_grad=True)
    y = x * 3
    (gx,) = grad(y, x, grad_outputs=gradviz.ones(3) * 2, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), np.full(3, 6.0))
    assert grad(y.sum(), [x, unused], allow_unused=True, retain_graph=True)[1] is None
    zeros = grad(y.sum(), [x, unused], materialize_grads=True, retain_graph=True)[1]
    np.testing.assert_array_equal(zeros.numpy(), np.zeros(2))
    with pytest.raises(BackwardError, match="not have been used in the graph"):
        grad(y.sum(), [x, unused], retain_graph=True)
    with pytest.raises(BackwardError, match=r"through Cdist are not supported; supported ops"):
        grad(gradviz.cdist(x.reshape(3, 1), x.reshape(3, 1) * 2).sum(), x, create_graph=True)
    with pytest.raises(BackwardError, match="does not require grad"):
        grad(y.sum(), gradviz.randn(3))
