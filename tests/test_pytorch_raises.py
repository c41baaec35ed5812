"""Where PyTorch raises, gradviz raises too: no silent wrong answers.

Each error is a ``GradvizError`` subclass that also inherits the builtin PyTorch raises, and its
message names the op or argument, what was given and what was expected. The values PyTorch
computes instead of raising (0-d reductions, ``dim=()``, ``ignore_index``) are compared against
PyTorch in ``test_torch_oracle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn, optim
from gradviz import functional as F


def var(*shape: int) -> Variable:
    return Variable(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True)


# ---------------------------------------------------------------------------------------- dims

DIM_OUT_OF_RANGE = [
    ("max", lambda v: v.max(dim=5), 5),
    ("min", lambda v: v.min(dim=-3), -3),
    ("sum", lambda v: v.sum(dim=2), 2),
    ("mean", lambda v: v.mean(dim=(0, 2)), 2),
    ("amax", lambda v: v.amax(dim=-3), -3),
    ("amin", lambda v: v.amin(dim=[2]), 2),
    ("argmax", lambda v: v.argmax(dim=2), 2),
    ("argmin", lambda v: v.argmin(dim=-3), -3),
    ("cat", lambda v: gradviz.cat([v, v], dim=5), 5),
    ("softmax", lambda v: F.softmax(v, dim=2), 2),
    ("log_softmax", lambda v: F.log_softmax(v, dim=-3), -3),
    ("transpose", lambda v: v.transpose(0, 2), 2),
    ("permute", lambda v: v.permute(0, 2), 2),
    ("flatten", lambda v: v.flatten(3), 3),
    ("squeeze", lambda v: v.squeeze(2), 2),
]


@pytest.mark.parametrize(
    ("op", "call", "given"), DIM_OUT_OF_RANGE, ids=[c[0] for c in DIM_OUT_OF_RANGE]
)
def test_dim_out_of_range_raises_pytorchs_index_error(op, call, given):
    # Was: max(dim=5) and min(dim=-3) reduced a wrapped axis; cat raised a bare IndexError.
    with pytest.raises(gradviz.IndexRangeError) as info:
        call(var(2, 3))
    assert isinstance(info.value, IndexError)
    message = str(info.value)
    assert message.startswith(f"{op}(): Dimension out of range")
    assert f"expected to be in range of [-2, 1], but got {given})" in message


def test_stack_and_unsqueeze_take_one_more_dim():
    v = var(2, 3)
    assert gradviz.stack([v, v], dim=2).shape == (2, 3, 2)
    assert gradviz.stack([v, v], dim=-3).shape == (2, 2, 3)
    with pytest.raises(gradviz.IndexRangeError, match=r"stack\(\).*\[-3, 2\], but got 3"):
        gradviz.stack([v, v], dim=3)
    with pytest.raises(gradviz.IndexRangeError, match=r"unsqueeze\(\).*\[-3, 2\], but got -4"):
        v.unsqueeze(-4)


def test_a_dim_listed_twice_raises():
    with pytest.raises(gradviz.InputError, match=r"sum\(\): dim 0 appears multiple times") as info:
        var(2, 3).sum(dim=(0, -2))
    assert isinstance(info.value, RuntimeError)


def test_a_dim_must_be_an_integer():
    with pytest.raises(gradviz.OperandError, match=r"sum\(\): dim must be an integer.*1.5"):
        var(2, 3).sum(dim=1.5)


def test_zero_d_variables_take_dim_0_and_minus_1():
    # Was: ZeroDivisionError (sum, amax) or a ShapeError (max); PyTorch returns the value.
    s = Variable(np.array(3.0), requires_grad=True)
    for dim in (0, -1):
        for reduce in (s.sum, s.mean, s.amax, s.amin):
            assert reduce(dim=dim).item() == 3.0
        assert s.max(dim=dim).values.item() == 3.0
        assert s.max(dim=dim).indices == 0
        assert s.argmin(dim=dim) == 0
        assert s.transpose(dim, 0).item() == 3.0
        assert F.softmax(s, dim=dim).item() == 1.0
        assert s.squeeze(dim).shape == ()
    with pytest.raises(gradviz.IndexRangeError, match=r"\[-1, 0\], but got 1"):
        s.sum(dim=1)
    s.sum(dim=0).backward()
    assert s.grad == 1.0


def test_empty_dim_reduces_every_axis():
    # Was: sum(dim=()) returned its input; PyTorch (2.13) reduces all dims.
    v = var(2, 3)
    assert v.sum(dim=()).item() == 21.0
    assert v.sum(axis=[]).item() == 21.0
    assert v.amax(dim=()).item() == 6.0
    assert v.mean(dim=()).shape == ()


# -------------------------------------------------------------------------------------- losses


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("target", [-1, 3])
def test_class_target_out_of_bounds(loss, target):
    # Was: -1 picked the last class silently; 3 raised NumPy's bare IndexError.
    with pytest.raises(gradviz.IndexRangeError, match=f"Target {target} is out of bounds") as info:
        loss(var(2, 3), np.array([0, target]))
    assert isinstance(info.value, IndexError)
    assert "[0, 2]" in str(info.value)


def test_ignored_targets_add_nothing():
    x = var(3, 4)
    kept = F.cross_entropy(x[1:], np.array([1, 3]))
    with_ignored = F.cross_entropy(x, np.array([-100, 1, 3]))
    np.testing.assert_allclose(with_ignored.data, kept.data)
    assert F.nll_loss(x, np.array([0, 1, 2]), ignore_index=1).item() == pytest.approx(-(1 + 11) / 2)
    all_ignored = F.cross_entropy(x, np.full(3, -100))
    assert np.isnan(all_ignored.item())
    all_ignored.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))
    assert np.isnan(nn.CrossEntropyLoss(ignore_index=0)(x, np.zeros(3, dtype=int)).item())


@pytest.mark.parametrize(
    ("probabilities", "target", "name"),
    [
        ([0.5, 0.2], [0.0, 2.0], "target"),
        ([0.5, 0.2], [-0.5, 1.0], "target"),
        ([np.nan, 0.2], [0.0, 1.0], "input"),
        ([1.5, 0.2], [0.0, 1.0], "input"),
        ([0.5, 0.2], [np.nan, 1.0], "target"),
    ],
)
def test_binary_cross_entropy_outside_0_1_raises(probabilities, target, name):
    # Was: targets outside [0, 1] and NaN inputs gave a number silently.
    p = Variable(np.array(probabilities), requires_grad=True)
    with pytest.raises(
        gradviz.InputError, match=f"all elements of {name} should be between 0 and 1"
    ):
        F.binary_cross_entropy(p, np.array(target))
    with pytest.raises(RuntimeError):  # PyTorch raises RuntimeError
        F.binary_cross_entropy(p, np.array(target))


# ----------------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p)])
def test_optimizer_given_one_parameter_says_iterable(make):
    # Was: "can't optimize a non-leaf Variable (output of Index)".
    with pytest.raises(
        gradviz.OperandError, match="iterable of Variables or dicts, but got Parameter"
    ):
        make(nn.Parameter(np.ones(2)))


@pytest.mark.parametrize("optimizer", [optim.SGD, optim.Adam])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gradient_of_the_wrong_shape_is_not_applied(optimizer, momentum):
    # Was: a broadcastable gradient was added to every row silently.
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones((3, 2)))
    opt = (
        optimizer([a, b], lr=0.1, momentum=momentum)
        if optimizer is optim.SGD
        else optimizer([{"params": [a]}, {"params": [b]}], lr=0.1)
    )
    a.grad, b.grad = np.ones(2), np.ones(2)
    with pytest.raises(gradviz.ShapeError, match=r"parameter 1 has shape \(3, 2\).*shape \(2,\)"):
        opt.step()
    np.testing.assert_array_equal(b.data, np.ones((3, 2)))


@pytest.mark.parametrize("betas", [0.9, (0.9,), ("a", 0.999)])
def test_adam_betas_must_be_a_pair(betas):
    with pytest.raises(gradviz.OperandError, match="Invalid betas: expected a pair"):
        optim.Adam([nn.Parameter(np.ones(2))], betas=betas)


# ---------------------------------------------------------------------- inputs of the wrong kind


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("linear", lambda: nn.Linear(3, 2)(None)),
        ("linear", lambda: nn.Linear(3, 2)("abc")),
        ("relu", lambda: F.relu("abc")),
        ("softmax", lambda: F.softmax(None)),
        ("sigmoid", lambda: F.sigmoid({})),
        ("cross_entropy", lambda: F.cross_entropy(None, np.array([0]))),
    ],
)
def test_functional_input_of_the_wrong_kind(op, call):
    # Was: a ShapeError about shape () (Linear), NumPy's UFuncTypeError, an AttributeError.
    with pytest.raises(gradviz.OperandError, match=rf"{op}\(\): argument 'input'.*not "):
        call()


def test_functional_lists_take_the_default_dtype():
    # Was float64 (the README promises float32, the default dtype).
    assert F.relu([1.0, -1.0]).dtype == np.float32
    assert F.softmax([1.0, 2.0]).dtype == np.float32
