"""nn.LogSoftmax, nn.ReLU6, nn.Hardtanh, nn.Unflatten, nn.ParameterList, nn.ParameterDict and
F.normalize, F.logsigmoid, F.relu6, F.hardtanh, F.softsign, F.glu: values, dtypes, gradients,
parameter names and reprs side by side with torch 2.13.0 (skipped without torch), the
float64 gradient checks, and bad arguments raising a GradvizError naming the op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_more_ops import _both, needs_torch, torch

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

RNG = np.random.default_rng(3)


def _f(name: str, *args: Any, **kwargs: Any) -> Any:
    """``F.name`` of gradviz or of torch, whichever the input is."""

    def call(x: Any) -> Any:
        lib = torch.nn.functional if torch.is_tensor(x) else F
        return getattr(lib, name)(x, *args, **kwargs)

    return call


def _module(name: str, *args: Any) -> Any:
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    return lambda x: (theirs if torch.is_tensor(x) else ours)(x)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functions_match_pytorch(dtype):
    x = (RNG.standard_normal((3, 4)) * 4).astype(dtype)
    x[0, :3] = [0.0, 6.0, -1.0]  # the bounds of relu6 and hardtanh: gradient 0 there
    for name, args, kwargs in [
        ("logsigmoid", (), {}),
        ("relu6", (), {}),
        ("hardtanh", (), {}),
        ("hardtanh", (-2.0, 3.0), {}),
        ("softsign", (), {}),
        ("glu", (), {}),
        ("glu", (), {"dim": 1}),
        ("normalize", (), {}),
        ("normalize", (), {"p": 1.0, "dim": 0}),
        ("normalize", (), {"p": 3, "dim": -1, "eps": 0.5}),
    ]:
        _both(_f(name, *args, **kwargs), x)
    _both(_f("glu", dim=0), RNG.standard_normal((4, 3)).astype(dtype))
    _both(_f("logsigmoid"), np.array([-200.0, -30.0, 0.0, 30.0, 200.0], dtype))


@needs_torch
def test_normalize_of_a_zero_row_matches_pytorch():
    _both(_f("normalize"), np.array([[0.0, 0.0], [3.0, 4.0]]))


@needs_torch
def test_modules_match_pytorch_with_their_reprs():
    x = RNG.standard_normal((2, 6)) * 4
    x[0, :2] = [-1.0, 6.0]
    _both(_module("LogSoftmax", 1), x)
    _both(_module("LogSoftmax", 0), x)
    _both(_module("ReLU6"), x)
    _both(_module("Hardtanh"), x)
    _both(_module("Hardtanh", -2.0, 2.5), x)
    _both(_module("Unflatten", 1, (2, 3)), x)
    _both(_module("Unflatten", -1, (3, -1)), x)
    with pytest.warns(UserWarning, match="Implicit dimension"):  # torch warns, as gradviz
        want = torch.nn.LogSoftmax()(torch.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = nn.LogSoftmax()(Variable(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@needs_torch
def test_parameter_list_and_dict_are_named_and_trained_as_pytorchs():
    w, v = RNG.standard_normal((2, 3)), RNG.standard_normal(2)

    def build(lib: Any) -> Any:
        class Net(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.params = lib.nn.ParameterList([lib.nn.Parameter(lib.tensor(w))])
                self.params.append(lib.tensor(v))  # a tensor becomes a Parameter
                self.extra = lib.nn.ParameterDict({"scale": lib.nn.Parameter(lib.tensor(v))})
                self.extra["shift"] = lib.nn.Parameter(lib.tensor(v))

            def forward(self, x: Any) -> Any:
                h = x @ self.params[0].transpose(0, 1)
                return ((h * self.params[-1]) * self.extra["scale"] + self.extra["shift"]).sum()

        return Net()

    ours, theirs = build(gradviz), build(torch)
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert names == ["params.0", "params.1", "extra.scale", "extra.shift"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = RNG.standard_normal((4, 3))
    ours(Variable(x)).backward()
    theirs(torch.tensor(x)).backward()
    for (_, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert a.requires_grad
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    assert len(ours.params) == 2
    assert "scale" in ours.extra
    assert ours.extra.keys() == ["scale", "shift"]
    assert [p.shape for p in ours.params] == [(2, 3), (2,)]
    ours.extra.pop("shift")
    assert [n for n, _ in ours.named_parameters()] == names[:3]


def test_parameter_list_repr_lists_each_parameter():
    params = nn.ParameterList([nn.Parameter(np.zeros((2, 3), np.float32))])
    assert repr(params) == ("ParameterList(\n  (0): Parameter containing: [float32 of size 2x3]\n)")
    assert repr(nn.ParameterDict()) == "ParameterDict()"


@pytest.mark.parametrize(
    "fn",
    [
        F.logsigmoid,
        F.softsign,
        lambda x: F.glu(x, 0),
        lambda x: F.normalize(x, p=2.0, dim=1),
        lambda x: F.normalize(x, p=1.0, dim=0),
        lambda x: nn.Unflatten(1, (2, 2))(x),
        lambda x: nn.LogSoftmax(1)(x),
    ],
)
def test_functions_pass_the_gradient_check(fn):
    x = Variable(RNG.uniform(0.3, 1.7, (4, 4)) * RNG.choice([-1, 1], (4, 4)), requires_grad=True)
    assert gradviz.gradcheck(fn, (x,))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.glu(Variable(np.ones((2, 3)))), "ShapeError", "Halving dimension must be even"),
        (lambda: F.glu(Variable(np.ones(2)), 1), "IndexRangeError", "Dimension out of range"),
        (lambda: F.hardtanh(Variable(np.ones(2)), 1.0, 0.0), "ArgumentError", "min_val cannot"),
        (lambda: nn.Hardtanh(2.0, 1.0), "ArgumentError", "min_val cannot be greater"),
        (lambda: F.hardtanh(Variable(np.ones(2)), "a"), "OperandError", "'min_val' must be"),
        (lambda: F.normalize(Variable(np.ones(2)), p="fro"), "OperandError", "'p' must be"),
        (lambda: F.normalize(Variable(np.ones(2)), dim=1), "IndexRangeError", "out of range"),
        (lambda: nn.Unflatten(1, 6), "OperandError", "unflattened_size must be a tuple"),
        (lambda: nn.Unflatten(1, (2, 2))(Variable(np.ones((2, 6)))), "ShapeError", "multiply up"),
        (lambda: nn.ParameterList([1.0]), "OperandError", "ParameterList holds"),
        (lambda: nn.ParameterList()[0], "IndexRangeError", "out of range"),
        (lambda: nn.ParameterDict({"a.b": nn.Parameter(np.ones(1))}), "RegistrationError", "."),
    ],
)
def test_bad_arguments_raise_a_gradviz_error(call, error, message):
    with pytest.raises(getattr(gradviz, error), match=message) as raised:
        call()
    assert isinstance(raised.value, gradviz.GradvizError)
