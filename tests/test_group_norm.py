"""``nn.GroupNorm`` and ``F.group_norm``: PyTorch's values and gradients (skipped without torch),
float64 finite differences, and PyTorch's errors."""

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import GradvizError
from gradviz.nn import functional as F


@pytest.mark.parametrize("shape", [(4, 6), (2, 6, 5), (2, 6, 3, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_pytorch(shape, affine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    ours, theirs = (
        nn.GroupNorm(3, 6, affine=affine).double(),
        torch.nn.GroupNorm(3, 6, affine=affine).double(),
    )
    if affine:
        w, b = rng.standard_normal(6), rng.standard_normal(6)
        ours.weight.data.copy_(w)
        ours.bias.data.copy_(b)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
            theirs.bias.copy_(torch.from_numpy(b))
    v, t = gradviz.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(v), theirs(t)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
    weight = rng.standard_normal(shape)
    (out * weight).sum().backward()
    (tout * torch.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), t.grad.numpy(), atol=1e-10)
    if affine:
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), atol=1e-10)
    assert repr(ours) == repr(theirs)


def test_group_norm_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x = gradviz.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = gradviz.tensor(rng.standard_normal(4), requires_grad=True)
    b = gradviz.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradviz.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nn.GroupNorm(4, 6), "divisible by num_groups"),
        (lambda: F.group_norm(gradviz.zeros(2, 6), 4), "divisible by num_groups"),
        (lambda: F.group_norm(gradviz.zeros(6), 3), "at least 2 dimensions"),
        (lambda: F.group_norm(gradviz.zeros(2, 6), 3, gradviz.ones(4)), r"weight of shape \(6,\)"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(GradvizError, match=message):
        call()
