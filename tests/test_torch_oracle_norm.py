"""PyTorch as the oracle for batch and layer normalisation: values, input/weight/bias
gradients, running statistics over several training steps, evaluation outputs and state dict
keys, in float64 (skipped unless torch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(autouse=True)
def float64_defaults():
    """New parameters and buffers in float64 in both libraries (restored afterwards)."""
    previous, previous_torch = gradviz.get_default_dtype(), torch.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    torch.set_default_dtype(torch.float64)
    yield
    gradviz.set_default_dtype(previous)
    torch.set_default_dtype(previous_torch)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def run_both(ours, theirs, *arrays, seed=0):
    """``ours`` and ``theirs`` on the same float64 arrays with the same upstream gradient: the
    outputs and every input gradient must agree."""
    xs = [Variable(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
def test_batch_norm_training_matches_torch(shape):
    x, w, b = normal(*shape), normal(3, seed=1), normal(3, seed=2)
    run_both(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True, eps=1e-3),
        x,
        w,
        b,
    )


def test_batch_norm_evaluation_matches_torch():
    mean, var = normal(3, seed=3), np.abs(normal(3, seed=4)) + 0.5
    x, w, b = normal(4, 3, 5), normal(3, seed=1), normal(3, seed=2)
    run_both(
        lambda x, w, b: F.batch_norm(x, Variable(mean), Variable(var), w, b),
        lambda x, w, b: TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b),
        x,
        w,
        b,
    )


def test_batch_norm_without_affine_matches_torch():
    run_both(
        lambda x: F.batch_norm(x, None, None, training=True),
        lambda x: TF.batch_norm(x, None, None, training=True),
        normal(6, 3, 2),
    )


def test_functional_running_stats_match_torch():
    ours = [Variable(np.zeros(3)), Variable(np.ones(3))]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    for step in range(3):
        x = normal(4, 3, 2, seed=step) * (step + 1)
        F.batch_norm(Variable(x), *ours, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), *theirs, training=True, momentum=0.3)
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=RTOL, atol=ATOL)


def _copy_params(ours, theirs, seed=7):
    with torch.no_grad():
        for i, (name, p) in enumerate(theirs.named_parameters()):
            value = normal(*p.shape, seed=seed + i)
            p.copy_(torch.tensor(value))
            getattr(ours, name).numpy()[...] = value


@pytest.mark.parametrize(
    ("layer", "shape", "kwargs"),
    [
        ("BatchNorm1d", (6, 3), {}),
        ("BatchNorm1d", (4, 3, 5), {"momentum": None}),
        ("BatchNorm2d", (2, 3, 4, 4), {"eps": 1e-3, "momentum": 0.5}),
        ("BatchNorm2d", (3, 3, 2, 2), {"affine": False}),
        ("BatchNorm1d", (5, 3), {"track_running_stats": False}),
        ("BatchNorm2d", (2, 3, 2, 3), {"bias": False}),
    ],
)
def test_batch_norm_layer_trains_and_evaluates_as_torch(layer, shape, kwargs):
    theirs = getattr(torch.nn, layer)(3, **kwargs)
    ours = getattr(nn, layer)(3, **kwargs)
    _copy_params(ours, theirs)
    for step in range(4):
        x = normal(*shape, seed=step) * (step + 1) + step
        run_both(ours, theirs, x, seed=step)
        for p, t in zip(ours.parameters(), theirs.parameters(), strict=True):
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)
            p.grad, t.grad = None, None
    expected = theirs.state_dict()
    state = ours.state_dict()
    assert list(state) == list(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(state[key], value.numpy(), rtol=RTOL, atol=ATOL)
    ours.eval()
    theirs.eval()
    run_both(ours, theirs, normal(*shape, seed=9), seed=9)


def test_state_dict_keys_and_num_batches_tracked_match_torch():
    ours, theirs = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.state_dict()["num_batches_tracked"].dtype == np.int64
    assert ours.state_dict()["num_batches_tracked"].shape == ()
    assert list(nn.BatchNorm1d(2, affine=False).state_dict()) == list(
        torch.nn.BatchNorm1d(2, affine=False).state_dict()
    )
    assert list(nn.BatchNorm1d(2, track_running_stats=False).state_dict()) == list(
        torch.nn.BatchNorm1d(2, track_running_stats=False).state_dict()
    )
    assert list(nn.LayerNorm((2, 3)).state_dict()) == list(torch.nn.LayerNorm((2, 3)).state_dict())
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == list(
        torch.nn.LayerNorm(3, bias=False).state_dict()
    )


@pytest.mark.parametrize(
    ("shape", "normalized"), [((4, 5), 5), ((2, 3, 4), (3, 4)), ((2, 3, 4), [4])]
)
def test_layer_norm_matches_torch(shape, normalized):
    dims = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    x, w, b = normal(*shape), normal(*dims, seed=1), normal(*dims, seed=2)
    run_both(
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-4),
        lambda x, w, b: TF.layer_norm(x, dims, w, b, eps=1e-4),
        x,
        w,
        b,
    )
    run_both(
        lambda x: F.layer_norm(x, normalized), lambda x: TF.layer_norm(x, dims), normal(*shape)
    )


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False}])
def test_layer_norm_layer_matches_torch(kwargs):
    theirs = torch.nn.LayerNorm((3, 4), **kwargs)
    ours = nn.LayerNorm((3, 4), **kwargs)
    _copy_params(ours, theirs)
    run_both(ours, theirs, normal(2, 3, 4))
    for p, t in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_reprs_match_torch():
    assert repr(nn.LayerNorm((3, 4))) == repr(torch.nn.LayerNorm((3, 4)))
    assert repr(nn.LayerNorm(5, eps=1e-6)) == repr(torch.nn.LayerNorm(5, eps=1e-6))
    assert repr(nn.LayerNorm(5, bias=False)) == repr(torch.nn.LayerNorm(5, bias=False))
    for kwargs in [{}, {"momentum": None, "affine": False}, {"bias": False, "eps": 1e-3}]:
        assert repr(nn.BatchNorm1d(3, **kwargs)) == repr(torch.nn.BatchNorm1d(3, **kwargs))
        assert repr(nn.BatchNorm2d(3, **kwargs)) == repr(torch.nn.BatchNorm2d(3, **kwargs))
