"""``grad_fn._saved_*``: what a node saved for backward, under PyTorch's names and values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import FREED, assert_saved_like_torch, saved_names

import gradviz
import gradviz.nn.functional as F
from gradviz.autograd.errors import BackwardError


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x": rng.uniform(0.5, 2.0, (2, 3)),
        "y": rng.uniform(0.5, 2.0, (2, 3)),
        "w": rng.uniform(-1.0, 1.0, (4, 3)),
        "b": rng.uniform(-1.0, 1.0, (4,)),
    }


#: Each case: a name and one expression, written once for a module of either library.
CASES: list[tuple[str, Callable[[Any, Any, dict[str, Any]], Any]]] = [
    ("mul", lambda t, f, v: v["x"] * v["y"]),
    ("mul_number", lambda t, f, v: v["x"] * 2),
    ("number_mul", lambda t, f, v: 2 * v["x"]),
    ("div", lambda t, f, v: v["x"] / v["y"]),
    ("div_number", lambda t, f, v: v["x"] / 2),
    ("add", lambda t, f, v: v["x"] + v["y"]),
    ("add_number", lambda t, f, v: v["x"] + 2),
    ("sub", lambda t, f, v: v["x"] - v["y"]),
    ("pow_number", lambda t, f, v: v["x"] ** 2),
    ("pow_float", lambda t, f, v: v["x"] ** 2.5),
    ("pow_tensor", lambda t, f, v: v["x"] ** v["y"]),
    ("pow_constant_tensor", lambda t, f, v: v["x"] ** v["y"].detach()),
    ("number_pow", lambda t, f, v: 2 ** v["x"]),
    ("exp", lambda t, f, v: v["x"].exp()),
    ("log", lambda t, f, v: v["x"].log()),
    ("tanh", lambda t, f, v: v["x"].tanh()),
    ("sigmoid", lambda t, f, v: v["x"].sigmoid()),
    ("relu", lambda t, f, v: f.relu(v["x"] - 1)),
    ("sum", lambda t, f, v: v["x"].sum()),
    ("sum_dim", lambda t, f, v: v["x"].sum(1)),
    ("sum_dims_keepdim", lambda t, f, v: v["x"].sum((0, 1), keepdim=True)),
    ("mean", lambda t, f, v: v["x"].mean()),
    ("mean_dim_keepdim", lambda t, f, v: v["x"].mean(0, keepdim=True)),
    ("sqrt", lambda t, f, v: v["x"].sqrt()),
    ("abs", lambda t, f, v: v["x"].abs()),
    ("sin", lambda t, f, v: v["x"].sin()),
    ("cos", lambda t, f, v: v["x"].cos()),
    ("neg", lambda t, f, v: -v["x"]),
    ("softmax", lambda t, f, v: f.softmax(v["x"], 1)),
    ("log_softmax", lambda t, f, v: f.log_softmax(v["x"], dim=0)),
    ("transpose", lambda t, f, v: v["x"].transpose(1, 0)),
    ("mm", lambda t, f, v: v["x"] @ v["w"].T),
    ("linear", lambda t, f, v: f.linear(v["x"], v["w"], v["b"])),
    ("reshape", lambda t, f, v: v["x"].reshape(3, 2)),
    ("view", lambda t, f, v: v["x"].view(6)),
]


def _build(lib: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The inputs as leaves of ``lib`` (torch or gradviz) that require grad."""
    return {k: lib.tensor(a, requires_grad=True) for k, a in arrays.items()}


@pytest.mark.parametrize(("name", "expr"), CASES, ids=[c[0] for c in CASES])
def test_names_and_values_match_torch(name: str, expr: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    arrays = _inputs()
    theirs = expr(torch, torch.nn.functional, _build(torch, arrays)).grad_fn
    ours = expr(gradviz, F, _build(gradviz, arrays)).grad_fn
    expected = {a for a in dir(theirs) if a.startswith("_saved_")}
    assert saved_names(ours) == expected
    assert_saved_like_torch(ours, theirs, expected)


def test_saved_input_is_the_variable_itself() -> None:
    x = gradviz.randn(5, requires_grad=True)
    y = x.pow(2)
    assert y.grad_fn._saved_self is x
    assert y.grad_fn._saved_exponent == 2
    w = x * y
    assert w.grad_fn._saved_self is x
    assert w.grad_fn._saved_other is y
    assert x.log().grad_fn._saved_self is x


def test_saved_output_is_a_new_variable_without_grad() -> None:
    x = gradviz.randn(5, requires_grad=True)
    z = x.exp()
    result = z.grad_fn._saved_result
    assert result is not z
    assert isinstance(result, gradviz.Variable)
    assert not result.requires_grad
    np.testing.assert_array_equal(result.numpy(), z.detach().numpy())


def test_names_are_listed_by_dir() -> None:
    x = gradviz.randn(3, requires_grad=True)
    assert {"_saved_self", "_saved_other"} <= set(dir((x * x).grad_fn))
    assert "_saved_result" in dir(x.tanh().grad_fn)
    assert {"_saved_mat1", "_saved_mat2", "_saved_alpha", "_saved_beta"} <= set(
        dir(F.linear(x.reshape(1, 3), gradviz.randn(2, 3), gradviz.randn(2)).grad_fn)
    )


def test_sum_without_dim_has_no_saved_dim() -> None:
    node = gradviz.randn(2, 3, requires_grad=True).sum().grad_fn
    assert node._saved_self_sym_sizes == (2, 3)
    assert not hasattr(node, "_saved_dim")
    assert not hasattr(node, "_saved_keepdim")


def test_pow_to_a_number_has_no_saved_result() -> None:
    node = (gradviz.randn(2, requires_grad=True) ** 3).grad_fn
    assert not hasattr(node, "_saved_result")


def test_reading_saved_tensors_after_backward_raises() -> None:
    x = gradviz.randn(5, requires_grad=True)
    y = x.pow(2)
    z = x.exp()
    (y.sum() + z.sum()).backward()
    for node, attr in ((y.grad_fn, "_saved_self"), (z.grad_fn, "_saved_result")):
        with pytest.raises(BackwardError, match=FREED) as caught:
            getattr(node, attr)
        assert isinstance(caught.value, RuntimeError)
        assert "retain_graph=True" in str(caught.value)
    assert y.grad_fn._saved_exponent == 2  # numbers stay readable, as in PyTorch


def test_saved_numbers_and_sizes_stay_readable_after_backward() -> None:
    x = gradviz.randn(2, 3, requires_grad=True)
    s = x.sum(1)
    a = x + 1
    (s.sum() + a.sum()).backward()
    assert s.grad_fn._saved_self_sym_sizes == (2, 3)
    assert s.grad_fn._saved_dim == (1,)
    assert s.grad_fn._saved_keepdim is False
    assert a.grad_fn._saved_alpha == 1


def test_retain_graph_keeps_saved_tensors() -> None:
    x = gradviz.randn(5, requires_grad=True)
    y = x * x
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved_self is x
    assert y.grad_fn._saved_other is x


def test_freed_error_matches_torch_type() -> None:
    torch = pytest.importorskip("torch")
    x = torch.randn(5, requires_grad=True)
    y = x.pow(2)
    y.sum().backward()
    with pytest.raises(RuntimeError, match=FREED):
        _ = y.grad_fn._saved_self


def test_number_operand_is_saved_as_a_tensor_on_the_right() -> None:
    x = gradviz.randn(3, requires_grad=True)
    for node in ((x * 2).grad_fn, (2 * x).grad_fn):  # 2 * x is PyTorch's x.mul(2)
        assert node._saved_self is None  # x is not needed: the number takes no gradient
        other = node._saved_other
        assert isinstance(other, gradviz.Variable)
        assert other.item() == 2


def test_a_saved_output_or_weight_cannot_be_written_behind_backward():
    """Writing into ``_saved_result`` (or Linear's ``weight.T``) would change what backward
    reads, or the weight itself, unseen: the view is read-only and the write refused."""
    from gradviz.autograd.errors import InplaceError

    x = gradviz.Variable(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = x.tanh()
    with pytest.raises(InplaceError, match="read-only"):
        y.grad_fn._saved_result.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh([0.5, -1.0, 2.0]) ** 2)
    layer = gradviz.nn.Linear(3, 2)
    before = layer.weight.numpy().copy()
    out = layer(gradviz.Variable(np.ones((4, 3), dtype=np.float32)))
    with pytest.raises(InplaceError, match="read-only"):
        out.grad_fn._saved_mat2.mul_(0)
    np.testing.assert_array_equal(layer.weight.numpy(), before)
