"""``F.gumbel_softmax``: PyTorch's formula on its own noise, a hard sample that is one-hot with
the soft sample's gradient, and draws distributed as the logits say (the Gumbel-max trick)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
import gradviz.nn.functional as F
from gradviz import Variable


def _logits(dtype=np.float64) -> Variable:
    return Variable(
        np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.0, -2.0]], dtype), requires_grad=True
    )


def _weights() -> np.ndarray:
    return np.arange(8.0).reshape(2, 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_it_is_pytorchs_formula_on_the_noise_it_draws(dtype):
    x = _logits(dtype)
    gradviz.manual_seed(3)
    y = F.gumbel_softmax(x, tau=0.5)
    (y * _weights()).sum().backward()
    gradviz.manual_seed(3)
    noise = Variable(np.empty((2, 4), dtype)).exponential_()
    z = Variable(x.numpy().copy(), requires_grad=True)
    expected = ((z - noise.log()) / 0.5).softmax(-1)
    (expected * _weights()).sum().backward()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), z.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_a_hard_sample_is_one_hot_with_the_soft_samples_gradient():
    x, soft_x = _logits(), _logits()
    gradviz.manual_seed(7)
    hard = F.gumbel_softmax(x, hard=True, dim=1)
    gradviz.manual_seed(7)
    soft = F.gumbel_softmax(soft_x, dim=1)
    assert set(np.unique(hard.numpy())) == {0.0, 1.0}
    np.testing.assert_array_equal(hard.numpy().sum(1), 1.0)
    np.testing.assert_array_equal(hard.numpy().argmax(1), soft.numpy().argmax(1))
    (hard * _weights()).sum().backward()
    (soft * _weights()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), soft_x.grad.numpy())  # straight through


def test_hard_samples_follow_the_softmax_of_the_logits():
    gradviz.manual_seed(0)
    logits = gradviz.tensor([1.0, 0.0, -1.0, 2.0], dtype=gradviz.float64)
    draws = F.gumbel_softmax(logits.expand(20000, 4), tau=0.1, hard=True)
    frequencies = draws.numpy().mean(0)
    np.testing.assert_allclose(frequencies, logits.softmax(0).numpy(), atol=0.015)


def test_pytorch_gives_the_same_kind_of_sample():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[1.0, 0.0, -1.0, 2.0]])
    theirs, ours = (
        torch.nn.functional.gumbel_softmax(x, hard=True),
        F.gumbel_softmax(gradviz.tensor(x.numpy()), hard=True),
    )
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == np.float32
    assert ours.numpy().sum() == theirs.sum().item() == 1.0
    with pytest.raises(gradviz.GradvizError, match="tau"):
        F.gumbel_softmax(gradviz.tensor(x.numpy()), tau="1")
