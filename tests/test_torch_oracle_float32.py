"""PyTorch as the oracle for the float32 kernels of the transformer ops (GELU, LayerNorm,
softmax, masked_fill, embedding, AdamW): their blocked, in-place or matrix-product forms must
give PyTorch's values and gradients, also on inputs larger than one block and on
non-contiguous inputs (skipped unless torch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

from gradviz import Variable
from gradviz import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def normal(*shape, seed=0, scale=1.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def test_gelu_over_several_blocks_of_a_non_contiguous_input_matches_torch_float64():
    # (96, 1100) transposed: 105,600 elements, four blocks and a partial one, every sign
    x = normal(96, 1100, scale=3.0).T
    ours = Variable(x, requires_grad=True)
    theirs = torch.tensor(x.astype(np.float64), requires_grad=True)
    out, expected = F.gelu(ours), TF.gelu(theirs)
    assert out.dtype == np.float32
    assert out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=2e-6, atol=5e-7)
    upstream = normal(*x.shape, seed=1)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.astype(np.float64)))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=2e-6, atol=1e-6)


def test_gelu_of_zero_subnormals_and_far_tails():
    x = np.array([0.0, -0.0, -40.0, 40.0, -1e-30, 1e-30, -1e-40, 1e-40], dtype=np.float32)
    ours = Variable(x, requires_grad=True)
    out = F.gelu(ours)
    out.sum().backward()
    expected = [0, 0, 0, 40, -5e-31, 5e-31, -5e-41, 5e-41]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-45)
    np.testing.assert_allclose(ours.grad, [0.5, 0.5, 0, 1, 0.5, 0.5, 0.5, 0.5], atol=1e-7)


@pytest.mark.parametrize("normalized", [(64,), (4, 16)])
@pytest.mark.parametrize("affine", [True, False])
def test_float32_layer_norm_of_a_non_contiguous_input_matches_torch(normalized, affine):
    x = np.ascontiguousarray(normal(64, 8, 3, scale=2.0) + 1.5).transpose(1, 2, 0)
    x = x.reshape(8, 3, *normalized) if len(normalized) == 2 else x  # (8, 3, 64)
    w = normal(*normalized, seed=2) if affine else None
    b = normal(*normalized, seed=3) if affine else None
    upstream = normal(*x.shape, seed=4)
    ours = [Variable(a, requires_grad=True) for a in (x, w, b) if a is not None]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    out = F.layer_norm(ours[0], normalized, *ours[1:])
    expected = TF.layer_norm(theirs[0], normalized, *theirs[1:])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for v, t in zip(ours, theirs, strict=True):
        assert v.grad.dtype == np.float32
        assert v.grad.shape == v.shape
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_over_a_group_matches_torch_when_a_gradient_is_missing_and_state_is_reloaded(name):
    # the group's parameters share flat state arrays; a step without one parameter's gradient
    # and a state_dict round trip remake them, and the values must not notice
    from gradviz import optim

    shapes = [(3, 4), (4,), (2, 3), ()]
    arrays = [normal(*shape, seed=i) for i, shape in enumerate(shapes)]
    ours = [Variable(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    settings = {"lr": 1e-2, "weight_decay": 0.1}
    opt = getattr(optim, name)(ours, **settings)
    topt = getattr(torch.optim, name)(theirs, **settings)
    for step in range(12):
        for i, (v, t) in enumerate(zip(ours, theirs, strict=True)):
            missing = step in (6, 7) and i == 1
            g = normal(*shapes[i], seed=100 + 10 * step + i)
            v.grad = None if missing else g
            t.grad = None if missing else torch.tensor(g)
        opt.step()
        topt.step()
        if step == 1:
            saved = opt.state_dict()
            opt = getattr(optim, name)(ours, **settings)
            opt.load_state_dict(saved)
        for v, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(v.numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("rows", [10, 5000])  # a one-hot product, and sorted runs of indices
@pytest.mark.parametrize("infinite", [False, True])
def test_embedding_gradient_sums_repeated_rows_as_torch(rows, infinite):
    indices = np.random.default_rng(5).integers(0, rows, (6, 30))
    indices[0, :4] = 3  # one row picked many times
    table = normal(rows, 8)
    upstream = normal(6, 30, 8, seed=6)
    if infinite:  # an infinite gradient reaches its own row only, not every row
        upstream[1, 2, 5] = np.inf
    ours = Variable(table, requires_grad=True)
    theirs = torch.tensor(table, requires_grad=True)
    F.embedding(indices, ours).backward(upstream)
    TF.embedding(torch.tensor(indices), theirs).backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-5)
