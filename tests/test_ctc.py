"""``ctc_loss`` and ``nn.CTCLoss`` against PyTorch: losses and gradients through
``log_softmax`` (PyTorch's rule for ``log_probs`` itself adds ``exp(log_probs)``, which the
log-softmax cancels; gradviz's is the true derivative, checked by the op table), refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
LOGITS = RNG.normal(size=(7, 3, 5))
PADDED = np.array([[1, 2, 2, 0], [3, 3, 3, 4], [4, 1, 0, 0]])

CALLS: dict[str, tuple[Any, ...]] = {
    # name: (targets, input_lengths, target_lengths, options)
    "padded": (PADDED, (7, 7, 7), (3, 4, 2), {}),
    "repeats_need_blanks": (PADDED, (7, 5, 6), (3, 3, 2), {}),
    "concatenated": (np.array([1, 2, 2, 3, 3, 3, 4, 4, 1]), (7, 6, 5), (3, 4, 2), {}),
    "empty_target": (PADDED, (7, 4, 7), (3, 0, 2), {}),
    "tensor_lengths": (PADDED, np.array([7, 3, 5]), np.array([2, 1, 2]), {}),
    "sum": (PADDED, (7, 6, 7), (3, 4, 2), {"reduction": "sum"}),
    "none": (PADDED, (7, 6, 7), (3, 4, 2), {"reduction": "none"}),
    "blank_4": (PADDED % 4, (7, 7, 7), (3, 4, 2), {"blank": 4}),
    "impossible": (PADDED, (7, 2, 7), (3, 4, 2), {"reduction": "none"}),
    "impossible_zero_infinity": (PADDED, (7, 2, 7), (3, 4, 2), {"zero_infinity": True}),
}


def _run(lib: Any, dtype: str, call: tuple[Any, ...], batched: bool = True) -> tuple:
    targets, lengths, sizes, options = call
    leaf = lib.tensor(LOGITS.astype(dtype), requires_grad=True)
    log_probs = lib.nn.functional.log_softmax(leaf, -1)
    as_tensor = (lambda v: lib.tensor(v)) if isinstance(lengths, np.ndarray) else (lambda v: v)
    if not batched:
        log_probs, lengths, sizes = log_probs[:, 0], lengths[:1], sizes[:1]
        targets = targets[0, : sizes[0]]  # (S,): one target, unpadded
    loss = lib.nn.functional.ctc_loss(
        log_probs, lib.tensor(targets), as_tensor(lengths), as_tensor(sizes), **options
    )
    weights = np.linspace(0.5, 1.5, max(loss.numel(), 1)).reshape(tuple(loss.shape))
    (loss * lib.tensor(weights).to(loss.dtype)).sum().backward()
    return loss.detach().numpy(), str(loss.dtype).split(".")[-1], leaf.grad.numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_ctc_loss_as_torch(name: str, dtype: str) -> None:
    ours, theirs = _run(gradviz, dtype, CALLS[name]), _run(torch, dtype, CALLS[name])
    assert ours[1] == theirs[1] == dtype
    tol = 1e-9 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(ours[0], theirs[0], rtol=tol * 100, atol=tol)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=tol * 100, atol=tol)


def test_unbatched_ctc_loss_as_torch() -> None:
    call = (PADDED, (7, 7, 7), (3, 4, 2), {"reduction": "none"})
    ours, theirs = _run(gradviz, "float64", call, False), _run(torch, "float64", call, False)
    assert ours[0].shape == theirs[0].shape == ()
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[2], theirs[2], atol=1e-12)


def test_ctc_layer_as_torch() -> None:
    outs = []
    for lib in (gradviz, torch):
        layer = lib.nn.CTCLoss(blank=4, zero_infinity=True)
        log_probs = lib.nn.functional.log_softmax(lib.tensor(LOGITS), -1)
        outs.append(layer(log_probs, lib.tensor(PADDED % 4), (7, 7, 7), (3, 4, 2)).item())
        assert repr(layer) == "CTCLoss()"
        assert list(layer.state_dict()) == []
    assert outs[0] == pytest.approx(outs[1], rel=1e-12)


REFUSED: dict[str, Callable[[Any], Any]] = {
    "input longer than log_probs": lambda L: _call(L, (8, 7, 7), (3, 4, 2)),
    "target longer than its row": lambda L: _call(L, (7, 7, 7), (3, 5, 2)),
    "lengths for another batch": lambda L: _call(L, (7, 7), (3, 4, 2)),
    "negative target length": lambda L: _call(L, (7, 7, 7), (3, -1, 2)),
    "blank out of range": lambda L: _call(L, (7, 7, 7), (3, 4, 2), blank=5),
    "reduction": lambda L: _call(L, (7, 7, 7), (3, 4, 2), reduction="average"),
    "concatenated too short": lambda L: L.nn.functional.ctc_loss(
        L.tensor(LOGITS).log_softmax(-1), L.tensor([1, 2, 3]), (7, 7, 7), (3, 4, 2)
    ),
}


def _call(lib: Any, lengths: tuple, sizes: tuple, **options: Any) -> Any:
    log_probs = lib.tensor(LOGITS).log_softmax(-1)
    return lib.nn.functional.ctc_loss(log_probs, lib.tensor(PADDED), lengths, sizes, **options)


def test_a_blank_in_a_target_is_refused() -> None:
    """PyTorch documents that a target index cannot be the blank, and computes something
    undefined for one; gradviz says so (padding past a target's length may be anything)."""
    log_probs = gradviz.tensor(LOGITS).log_softmax(-1)
    with pytest.raises(GradvizError, match="blank index 0"):
        gradviz.nn.functional.ctc_loss(log_probs, PADDED, (7, 7, 7), (4, 4, 2))
    gradviz.nn.functional.ctc_loss(log_probs, PADDED, (7, 7, 7), (3, 4, 2))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_as_torch(name: str) -> None:
    with pytest.raises((RuntimeError, ValueError)):
        REFUSED[name](torch)
    with pytest.raises(GradvizError, match="ctc_loss"):
        REFUSED[name](gradviz)
