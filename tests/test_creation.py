"""PyTorch-style constructors: shapes, dtypes, seeding, requires_grad."""

import numpy as np
import pytest

import gradviz


@pytest.mark.parametrize("make", [gradviz.zeros, gradviz.ones, gradviz.randn, gradviz.rand])
def test_constructors_take_sizes_like_pytorch(make):
    assert make(2, 3).shape == (2, 3)
    assert make((2, 3)).shape == (2, 3)
    assert make(4).dtype == np.float32
    assert make(2, dtype=np.float64).dtype == np.float64
    assert make(2, requires_grad=True).requires_grad


def test_values():
    np.testing.assert_array_equal(gradviz.zeros(2).numpy(), [0, 0])
    np.testing.assert_array_equal(gradviz.ones(2).numpy(), [1, 1])
    np.testing.assert_array_equal(gradviz.full((2,), 3.5).numpy(), [3.5, 3.5])
    r = gradviz.rand(1000).numpy()
    assert 0 <= r.min()
    assert r.max() < 1


def test_random_constructors_follow_manual_seed():
    gradviz.manual_seed(7)
    first = gradviz.randn(3, 3).numpy().copy()
    gradviz.manual_seed(7)
    np.testing.assert_array_equal(gradviz.randn(3, 3).numpy(), first)


def test_arange_keeps_integers_and_floats_take_the_default_dtype():
    assert gradviz.arange(5).dtype == np.int64
    np.testing.assert_array_equal(gradviz.arange(2, 5).numpy(), [2, 3, 4])
    assert gradviz.arange(0.0, 1.0, 0.25).dtype == np.float32


def test_like_constructors_and_pow():
    x = gradviz.randn(2, 3, requires_grad=True)
    assert gradviz.zeros_like(x).shape == (2, 3)
    assert not gradviz.ones_like(x).requires_grad
    y = x.pow(2)
    assert y.op == "Pow"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.numpy(), rtol=1e-6)


def test_tensor_of_a_tensor_copies_and_warns_as_pytorch_does():
    """``torch.tensor(t)`` warns to use ``t.clone().detach()``; the copy is a new leaf."""
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match=r"sourceTensor\.clone\(\)\.detach\(\)"):
        y = gradviz.tensor(x)
    assert not y.requires_grad
    assert y.grad_fn is None
    y.data[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
