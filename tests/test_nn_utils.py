"""nn.utils: clip_grad_norm_ / clip_grad_value_ (total norm and clipped gradients as PyTorch's),
parameters_to_vector / vector_to_parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, Variable, nn
from gradviz.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def grads(dtype=np.float32, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(dtype) for shape in [(3, 4), (4,), (2,)]]


def params_with(arrays, missing=()):
    params = [Variable(np.zeros_like(a), requires_grad=True) for a in arrays]
    for index, (param, grad) in enumerate(zip(params, arrays, strict=True)):
        param.grad = None if index in missing else grad.copy()
    return params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf", 0.5, 0, -math.inf, -1.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_like_torch(dtype, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    arrays = grads(dtype)
    ours = params_with(arrays, missing=(2,))
    theirs = [
        torch.zeros(a.shape, dtype=torch.from_numpy(a).dtype, requires_grad=True) for a in arrays
    ]
    for param, grad in zip(theirs[:2], arrays[:2], strict=True):
        param.grad = torch.from_numpy(grad.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert isinstance(total, Variable)
    assert total.shape == ()
    assert total.dtype == dtype
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=rtol)
    for param, ref in zip(ours[:2], theirs[:2], strict=True):
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad, ref.grad.numpy(), rtol=rtol)
    assert ours[2].grad is None


def test_clip_grad_norm_scales_in_place_and_takes_a_module_generator():
    model = nn.Linear(3, 2)
    model(Variable(np.full((4, 3), 10.0, np.float32))).sum().backward()
    grad = model.weight.grad
    total = clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert model.weight.grad is grad  # the same array, scaled in place
    flat = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    assert total.item() > 1.0
    np.testing.assert_allclose(np.linalg.norm(flat), 1.0, rtol=1e-5)


def test_clip_grad_norm_single_variable_and_no_grads():
    param = Variable(np.zeros(2, np.float32), requires_grad=True)
    param.grad = np.array([3.0, 4.0], np.float32)
    assert clip_grad_norm_(param, 10.0).item() == pytest.approx(5.0)
    np.testing.assert_array_equal(param.grad, [3.0, 4.0])
    empty = clip_grad_norm_([Variable(np.zeros(2), requires_grad=True)], 1.0)
    assert empty.item() == 0.0
    assert empty.dtype == gradviz.get_default_dtype()


def test_clip_grad_norm_nonfinite():
    param = Variable(np.zeros(2, np.float32), requires_grad=True)
    param.grad = np.array([np.inf, 1.0], np.float32)
    with pytest.raises(RuntimeError, match=r"The total norm of order 2\.0 .* is non-finite"):
        clip_grad_norm_([param], 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_([param], 1.0).item())


def test_clip_grad_norm_bad_arguments():
    param = Variable(np.zeros(2, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="parameters must be a Variable or an iterable"):
        clip_grad_norm_(3, 1.0)
    with pytest.raises(TypeError, match=r"parameters\[1\] must be a Variable, got ndarray"):
        clip_grad_norm_([param, np.zeros(2)], 1.0)
    with pytest.raises(TypeError, match="max_norm must be a number, got NoneType"):
        clip_grad_norm_([param], None)
    with pytest.raises(ValueError, match="norm_type must be a number, got 'two'"):
        clip_grad_norm_([param], 1.0, norm_type="two")
    with pytest.raises(GradvizError):
        clip_grad_value_([param], "x")


def test_clip_grad_value_like_torch():
    torch = pytest.importorskip("torch")
    arrays = grads()
    ours = params_with(arrays)
    theirs = [torch.zeros(a.shape, requires_grad=True) for a in arrays]
    for param, grad in zip(theirs, arrays, strict=True):
        param.grad = torch.from_numpy(grad.copy())
    held = ours[0].grad
    assert clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    assert ours[0].grad is held
    for param, ref in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(param.grad, ref.grad.numpy())


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (13,)
    np.testing.assert_array_equal(
        vec.numpy(), np.concatenate([p.numpy().ravel() for p in model.parameters()])
    )
    (vec * 2).sum().backward()  # differentiable, as PyTorch's torch.cat of views
    np.testing.assert_array_equal(model[0].weight.grad, np.full((3, 2), 2.0))
    new = Variable(np.arange(13, dtype=np.float32))
    vector_to_parameters(new, model.parameters())
    np.testing.assert_array_equal(model[0].weight.numpy(), np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(model[1].bias.numpy(), [12.0])
    assert model[1].weight.shape == (1, 3)


def test_vector_to_parameters_bad_arguments():
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="expected a Variable, but got: ndarray"):
        vector_to_parameters(np.zeros(3), model.parameters())
    with pytest.raises(ValueError, match=r"at least 3 elements .* got shape \(2,\)"):
        vector_to_parameters(Variable(np.zeros(2)), model.parameters())
    with pytest.raises(ValueError, match="non-empty"):
        parameters_to_vector([])


def test_clip_grad_norm_mixed_dtypes_like_torch():
    """float32 and float64 gradients: the total norm in float64, each gradient keeps its dtype."""
    torch = pytest.importorskip("torch")
    arrays = [grads(np.float32)[0], grads(np.float64, seed=1)[1]]
    ours = params_with(arrays)
    theirs = []
    for grad in arrays:
        param = torch.zeros(grad.shape, dtype=torch.from_numpy(grad).dtype, requires_grad=True)
        param.grad = torch.from_numpy(grad.copy())
        theirs.append(param)
    total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == np.float64
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-12)
    for param, ref in zip(ours, theirs, strict=True):
        assert param.grad.dtype == ref.grad.numpy().dtype
        np.testing.assert_allclose(param.grad, ref.grad.numpy(), rtol=1e-6)
