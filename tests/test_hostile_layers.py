"""Hostile but realistic use of the layers, side by side with PyTorch: each case ends in
PyTorch's values and gradients or in a GradvizError saying what PyTorch says."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

torch = pytest.importorskip("torch")


def _random(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _same_as_torch(ours, theirs, arrays, atol: float = 1e-5) -> None:
    """``ours(*Variables)`` and ``theirs(*tensors)`` agree in value and in the gradients of
    every float input for one random upstream gradient."""
    tensors = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    variables = [Variable(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    expected, got = theirs(*tensors), ours(*variables)
    np.testing.assert_allclose(got.data, expected.detach().numpy(), atol=atol, rtol=atol)
    assert got.dtype == expected.detach().numpy().dtype
    upstream = np.random.default_rng(1).standard_normal(got.shape).astype(got.dtype)
    expected.backward(torch.tensor(upstream))
    got.backward(Variable(upstream))
    for tensor, variable in zip(tensors, variables, strict=True):
        if tensor.requires_grad:
            np.testing.assert_allclose(
                variable.grad.data, tensor.grad.numpy(), atol=10 * atol, rtol=10 * atol
            )


def _twins(name: str, *args, **kwargs):
    """The gradviz and the PyTorch module of one name and arguments, with equal parameters."""
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    state = {k: torch.tensor(np.asarray(v.data)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)
    return ours, theirs


# ---------------------------------------------------------------------------- F.pad modes
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("pad", "shape"),
    [
        ((2, 1), (2, 3, 6)),
        ((2, 1), (3, 6)),  # unbatched
        ((1, 2, 3, 0), (2, 3, 5, 6)),
        ((-1, -2, 1, 0), (2, 3, 5, 6)),  # negative amounts crop
        ((1, 0, 2, 1, 1, 1), (1, 2, 3, 4, 5)),
    ],
)
def test_pad_modes_match_pytorch(mode, pad, shape):
    _same_as_torch(  # was: "only mode='constant' is supported"
        lambda x: F.pad(x, pad, mode=mode),
        lambda x: torch.nn.functional.pad(x, pad, mode=mode),
        [_random(*shape)],
    )


def test_pad_modes_refuse_what_pytorch_refuses():
    x = Variable(_random(2, 3, 6))
    with pytest.raises(gradviz.GradvizError, match="Padding size should be less than"):
        F.pad(x, (6, 0), mode="reflect")
    with pytest.raises(gradviz.GradvizError, match="wrapping around more than once"):
        F.pad(x, (7, 0), mode="circular")
    with pytest.raises(gradviz.GradvizError, match="doesn't take in value argument"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(gradviz.GradvizError, match="Padding size 2 is not supported for 4D"):
        F.pad(Variable(_random(2, 3, 4, 5)), (1, 1), mode="replicate")
    with pytest.raises(gradviz.GradvizError, match="Unrecognised padding mode 'bogus'"):
        F.pad(x, (1, 1), mode="bogus")
    assert F.pad(x, (9, 9), mode="replicate").shape == (2, 3, 24)  # no limit, as in PyTorch


# --------------------------------------------------------------------------- convolution
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "options", [{"padding": (2, 1)}, {"padding": "same", "dilation": 2}, {"padding": 1}]
)
def test_conv2d_padding_modes_match_pytorch(mode, options):
    ours, theirs = _twins("Conv2d", 4, 6, 3, padding_mode=mode, **options)
    _same_as_torch(ours, theirs, [_random(2, 4, 7, 9)])  # was: only padding_mode='zeros'
    _same_as_torch(ours, theirs, [_random(4, 7, 9)])  # unbatched
    assert repr(ours) == repr(theirs)


def test_conv1d_padding_mode_and_its_repr():
    ours, theirs = _twins("Conv1d", 4, 6, 3, padding=2, padding_mode="circular")
    _same_as_torch(ours, theirs, [_random(2, 4, 7)])
    assert repr(ours) == repr(theirs)


def test_conv_repr_prints_a_padding_string_as_pytorch():
    for padding in ("same", "valid"):
        ours, theirs = (
            nn.Conv2d(4, 6, 3, padding=padding),
            torch.nn.Conv2d(4, 6, 3, padding=padding),
        )
        assert repr(ours) == repr(theirs)  # was: padding='same'


def test_conv_settings_are_checked_in_pytorch_words():
    with pytest.raises(gradviz.GradvizError, match="padding_mode must be one of"):
        nn.Conv2d(4, 6, 3, padding_mode="bogus")
    with pytest.raises(gradviz.GradvizError, match="groups must be a positive integer"):
        nn.Conv2d(4, 6, 3, groups=0)  # was: "must both be divisible by groups (0)"
    with pytest.raises(gradviz.GradvizError, match="groups must be an integer"):
        nn.Conv2d(4, 6, 3, groups=2.0)
