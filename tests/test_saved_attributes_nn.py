"""``grad_fn._saved_*`` of the layers' ops (convolution, losses, layer norm, embedding, GELU):
PyTorch's names and values on the same inputs and weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import FREED, assert_saved_like_torch, saved_names

import gradviz
import gradviz.nn.functional as F
from gradviz.autograd.errors import BackwardError, InplaceError


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "x": rng.normal(size=(2, 3, 5, 5)),
        "w": rng.normal(size=(4, 3, 3, 3)),
        "b": rng.normal(size=(4,)),
        "w1": rng.normal(size=(4, 3, 3)),
        "s": rng.normal(size=(4, 5)),
        "y": rng.normal(size=(4, 5)),
        "h": rng.normal(size=(2, 3, 4)),
        "lw": rng.normal(size=(4,)),
        "lb": rng.normal(size=(4,)),
        "e": rng.normal(size=(10, 4)),
        "c": rng.normal(size=(3,)),
    }


_T = np.array([1, 0, 4, 2])
_IDX = np.array([[1, 2], [3, 1]])
_ZEROS, _ONES = np.zeros(3), np.ones(3)

#: Each case: a name and one call, written once for either library (``i``: integer tensors).
CASES: list[tuple[str, Callable[[Any, Any, dict[str, Any]], Any]]] = [
    ("conv2d", lambda f, i, v: f.conv2d(v["x"], v["w"], v["b"], stride=2, padding=1)),
    ("conv2d_no_bias", lambda f, i, v: f.conv2d(v["x"], v["w"], None, dilation=2)),
    ("conv2d_same_even", lambda f, i, v: f.conv2d(v["x"], v["w"][:, :, :2], padding="same")),
    ("conv1d_groups", lambda f, i, v: f.conv1d(v["x"][:, :, 0], v["w1"][:2], groups=1)),
    ("cross_entropy", lambda f, i, v: f.cross_entropy(v["s"], i(_T))),
    (
        "cross_entropy_sum_ignore",
        lambda f, i, v: f.cross_entropy(v["s"], i(_T), reduction="sum", ignore_index=2),
    ),
    ("cross_entropy_none", lambda f, i, v: f.cross_entropy(v["s"], i(_T), reduction="none")),
    ("nll_loss", lambda f, i, v: f.nll_loss(v["s"], i(_T))),
    ("nll_loss_ignore", lambda f, i, v: f.nll_loss(v["s"], i(_T), ignore_index=0)),
    ("mse_loss", lambda f, i, v: f.mse_loss(v["s"], v["y"])),
    ("mse_loss_sum", lambda f, i, v: f.mse_loss(v["s"], v["y"], reduction="sum")),
    ("layer_norm", lambda f, i, v: f.layer_norm(v["h"], (4,), v["lw"], v["lb"])),
    ("layer_norm_2d_plain", lambda f, i, v: f.layer_norm(v["h"], (3, 4))),
    ("embedding", lambda f, i, v: f.embedding(i(_IDX), v["e"])),
    ("embedding_padding", lambda f, i, v: f.embedding(i(_IDX), v["e"], padding_idx=2)),
    ("max_pool2d", lambda f, i, v: f.max_pool2d(v["x"], 2)),
    ("max_pool2d_padded", lambda f, i, v: f.max_pool2d(v["x"], 3, 2, 1, dilation=1)),
    ("max_pool2d_dilated", lambda f, i, v: f.max_pool2d(v["x"], 2, 1, 0, dilation=2)),
    ("max_pool2d_unbatched", lambda f, i, v: f.max_pool2d(v["x"][0], 2)),
    ("batch_norm", lambda f, i, v: f.batch_norm(v["x"], i(_ZEROS), i(_ONES), training=True)),
    (
        "batch_norm_eval_affine",
        lambda f, i, v: f.batch_norm(v["x"], i(_ZEROS), i(_ONES), v["c"], v["c"], eps=0.1),
    ),
    ("batch_norm_plain", lambda f, i, v: f.batch_norm(v["h"], None, None, training=True)),
    ("gelu", lambda f, i, v: f.gelu(v["s"])),
    ("gelu_tanh", lambda f, i, v: f.gelu(v["s"], approximate="tanh")),
]


#: Names left out: a max pool's node holds the stride and padding it used, not whether the
#: stride was given (PyTorch saves ``()`` when not) nor ``ceil_mode`` (folded into the padding).
SKIPPED = {"max_pool": {"_saved_stride", "_saved_ceil_mode"}}


def test_skipped_names_are_absent() -> None:
    node = F.max_pool2d(gradviz.randn(1, 2, 4, 4, requires_grad=True), 2).grad_fn
    assert node._saved_kernel_size == (2, 2)
    assert not hasattr(node, "_saved_stride")
    assert not hasattr(node, "_saved_ceil_mode")


def _run(lib: Any, functional: Any, expr: Callable[..., Any]) -> Any:
    leaves = {k: lib.tensor(a, requires_grad=True) for k, a in _arrays().items()}
    return expr(functional, lambda a: lib.tensor(a), leaves)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # (PyTorch's)
@pytest.mark.parametrize(("name", "expr"), CASES, ids=[c[0] for c in CASES])
def test_names_and_values_match_torch(name: str, expr: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    theirs = _run(torch, torch.nn.functional, expr).grad_fn
    ours = _run(gradviz, F, expr).grad_fn
    expected = {a for a in dir(theirs) if a.startswith("_saved_")} - SKIPPED.get(name[:8], set())
    assert saved_names(ours) == expected
    assert_saved_like_torch(ours, theirs, expected)


def test_saved_inputs_are_the_variables_themselves() -> None:
    x = gradviz.randn(2, 3, 5, 5, requires_grad=True)
    w = gradviz.randn(4, 3, 3, 3, requires_grad=True)
    node = F.conv2d(x, w).grad_fn
    assert node._saved_input is x
    assert node._saved_weight is w
    h = gradviz.randn(2, 4, requires_grad=True)
    lw = gradviz.randn(4, requires_grad=True)
    node = F.layer_norm(h, (4,), lw).grad_fn
    assert node._saved_input is h
    assert node._saved_weight is lw
    assert node._saved_bias is None


def test_saved_tensors_are_freed_by_backward_and_options_stay() -> None:
    x = gradviz.randn(2, 3, 5, 5, requires_grad=True)
    w = gradviz.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=2)
    scores = gradviz.randn(4, 5, requires_grad=True)
    loss = F.cross_entropy(scores, gradviz.tensor(_T))
    h = F.layer_norm(gradviz.randn(2, 3, 4, requires_grad=True), (3, 4))
    e = F.embedding(gradviz.tensor(_IDX), gradviz.randn(10, 4, requires_grad=True), 2)
    p = F.max_pool2d(x, 3, 2, 1)
    (y.sum() + loss + h.sum() + e.sum() + p.sum()).backward()
    assert h.grad_fn._saved_normalized_shape == (3, 4)
    assert e.grad_fn._saved_padding_idx == 2
    assert e.grad_fn._saved_weight_sym_argsize_0 == 10
    assert (p.grad_fn._saved_kernel_size, p.grad_fn._saved_padding) == ((3, 3), (1, 1))
    for node, attr in (
        (h.grad_fn, "_saved_result1"),
        (e.grad_fn, "_saved_indices"),
        (p.grad_fn, "_saved_result1"),
    ):
        with pytest.raises(BackwardError, match=FREED):
            getattr(node, attr)
    for node, attr in (
        (y.grad_fn, "_saved_input"),
        (y.grad_fn, "_saved_weight"),
        (loss.grad_fn, "_saved_self"),
        (loss.grad_fn, "_saved_target"),
    ):
        with pytest.raises(BackwardError, match=FREED):
            getattr(node, attr)
    assert y.grad_fn._saved_stride == (2, 2)
    assert y.grad_fn._saved_groups == 1
    assert loss.grad_fn._saved_reduction == 1


def test_computed_saved_arrays_cannot_be_written_behind_backward() -> None:
    """Layer norm's mean and 1/std and cross-entropy's log-softmax are new read-only views:
    an in-place write is refused, and backward's result is unchanged."""
    data = np.random.default_rng(2).normal(size=(3, 4))
    h = gradviz.Variable(data.copy(), requires_grad=True)
    out = F.layer_norm(h, (4,))
    for attr in ("_saved_result1", "_saved_result2"):
        with pytest.raises(InplaceError, match="read-only"):
            getattr(out.grad_fn, attr).mul_(0)
    scores = gradviz.Variable(data.copy(), requires_grad=True)
    loss = F.cross_entropy(scores, gradviz.tensor(np.array([0, 3, 1])))
    with pytest.raises(InplaceError, match="read-only"):
        loss.grad_fn._saved_self.add_(1)
    loss.backward()
    e = np.exp(data - data.max(1, keepdims=True))
    want = e / e.sum(1, keepdims=True)
    want[[0, 1, 2], [0, 3, 1]] -= 1
    np.testing.assert_allclose(scores.grad.numpy(), want / 3, rtol=1e-12)


def test_dropout_saves_its_scaled_mask_as_torch_does() -> None:
    """Training-mode dropout is PyTorch's ``MulBackward0``: no ``self``, ``other`` the mask
    scaled by ``1 / (1 - p)`` (random: compared by what it is, not value by value)."""
    torch = pytest.importorskip("torch")
    x = gradviz.randn(50, requires_grad=True)
    y = F.dropout(x, 0.5)
    theirs = torch.nn.functional.dropout(torch.randn(50, requires_grad=True), 0.5).grad_fn
    assert saved_names(y.grad_fn) == {a for a in dir(theirs) if a.startswith("_saved_")}
    assert y.grad_fn._saved_self is None
    mask = y.grad_fn._saved_other
    assert set(np.unique(mask.numpy())) <= {0.0, 2.0}
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy() * mask.numpy())
    with pytest.raises(InplaceError, match="read-only"):
        mask.mul_(0)
    y.sum().backward()
    with pytest.raises(BackwardError, match=FREED):
        _ = y.grad_fn._saved_other
