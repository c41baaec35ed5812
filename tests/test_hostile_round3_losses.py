"""Hostile input, round 3, continued: the class and binary losses with PyTorch's options
(``weight``, ``label_smoothing``, ``pos_weight``, targets of many dims) against PyTorch, and
losses of an empty batch."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.nn import functional as F


def _both_losses(make_g, make_t, *arrays):
    """(gradviz loss, its input gradients) and PyTorch's, for float inputs ``arrays``."""
    torch = pytest.importorskip("torch")
    g_in = [gradviz.Variable(a.copy(), requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    g_out, t_out = make_g(*g_in), make_t(torch, *t_in)
    seed = np.random.default_rng(1).standard_normal(t_out.shape).astype(np.float32)
    (g_out * gradviz.Variable(seed)).sum().backward()
    (t_out * torch.tensor(seed)).sum().backward()
    return (g_out.numpy(), [v.grad.numpy() for v in g_in]), (
        t_out.detach().numpy(),
        [v.grad.numpy() for v in t_in],
    )


def _assert_same(ours, theirs):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 4)).astype(np.float32)
CLASSES = np.array([0, 3, 1, 1, 2, 3])
WEIGHT = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
MAPS = RNG.standard_normal((2, 4, 3, 5)).astype(np.float32)
MAP_CLASSES = RNG.integers(0, 4, (2, 3, 5))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "options",
    [
        {"weight": True},
        {"weight": True, "ignore_index": 1},
        {"label_smoothing": 0.1},
        {"label_smoothing": 0.2, "weight": True, "ignore_index": 3},
    ],
    ids=["weight", "weight-ignore", "smoothing", "all"],
)
def test_cross_entropy_weight_and_label_smoothing_as_pytorch(reduction, options):
    """Were TypeError: unexpected keyword argument 'weight' / 'label_smoothing'."""
    weighted = options.get("weight")

    def kw(lib):
        out = {k: v for k, v in options.items() if k != "weight"}
        if weighted:
            out["weight"] = lib.tensor(WEIGHT)
        return out

    ours, theirs = _both_losses(
        lambda x: F.cross_entropy(x, CLASSES, reduction=reduction, **kw(gradviz)),
        lambda t, x: t.nn.functional.cross_entropy(
            x, t.tensor(CLASSES), reduction=reduction, **kw(t)
        ),
        LOGITS,
    )
    _assert_same(ours, theirs)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_of_maps_against_class_maps_as_pytorch(reduction):
    """(N, C, H, W) scores against (N, H, W) classes, as segmentation trains: was a
    ShapeError 'expected target of shape (2,)'."""
    ours, theirs = _both_losses(
        lambda x: F.cross_entropy(x, MAP_CLASSES, reduction=reduction, ignore_index=2),
        lambda t, x: t.nn.functional.cross_entropy(
            x, t.tensor(MAP_CLASSES), reduction=reduction, ignore_index=2
        ),
        MAPS,
    )
    _assert_same(ours, theirs)
    ours, theirs = _both_losses(
        lambda x: nn.NLLLoss(WEIGHT)(F.log_softmax(x, dim=1), MAP_CLASSES),
        lambda t, x: t.nn.NLLLoss(t.tensor(WEIGHT))(
            t.nn.functional.log_softmax(x, dim=1), t.tensor(MAP_CLASSES)
        ),
        MAPS,
    )
    _assert_same(ours, theirs)


def test_cross_entropy_of_probabilities_with_weight_and_smoothing_as_pytorch():
    probs = np.abs(LOGITS) / np.abs(LOGITS).sum(1, keepdims=True)
    ours, theirs = _both_losses(
        lambda x: nn.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.3)(x, probs),
        lambda t, x: t.nn.CrossEntropyLoss(weight=t.tensor(WEIGHT), label_smoothing=0.3)(
            x, t.tensor(probs)
        ),
        LOGITS,
    )
    _assert_same(ours, theirs)


def test_binary_losses_weight_and_pos_weight_as_pytorch():
    """Were TypeError: unexpected keyword argument 'weight' / 'pos_weight'."""
    target = (LOGITS > 0.3).astype(np.float32)
    ours, theirs = _both_losses(
        lambda x: nn.BCEWithLogitsLoss(weight=WEIGHT, pos_weight=WEIGHT[::-1].copy())(
            x * 3, target
        ),
        lambda t, x: t.nn.BCEWithLogitsLoss(
            weight=t.tensor(WEIGHT), pos_weight=t.tensor(WEIGHT[::-1].copy())
        )(x * 3, t.tensor(target)),
        LOGITS,
    )
    _assert_same(ours, theirs)
    ours, theirs = _both_losses(
        lambda x: F.binary_cross_entropy(x.sigmoid(), target, weight=WEIGHT, reduction="sum"),
        lambda t, x: t.nn.functional.binary_cross_entropy(
            x.sigmoid(), t.tensor(target), weight=t.tensor(WEIGHT), reduction="sum"
        ),
        LOGITS,
    )
    _assert_same(ours, theirs)


def test_a_class_weight_given_first_is_the_weight_as_in_pytorch():
    """``F.cross_entropy(x, y, w)`` and ``nn.CrossEntropyLoss(w)`` were a ShapeError about
    'the truth value of an array'; a string there is still gradviz's reduction."""
    x = gradviz.tensor(LOGITS)
    weighted = F.cross_entropy(x, CLASSES, weight=WEIGHT).item()
    assert F.cross_entropy(x, CLASSES, gradviz.tensor(WEIGHT)).item() == weighted
    assert nn.CrossEntropyLoss(gradviz.tensor(WEIGHT))(x, CLASSES).item() == weighted
    assert nn.CrossEntropyLoss("sum")(x, CLASSES).item() == pytest.approx(
        F.cross_entropy(x, CLASSES, reduction="sum").item()
    )
    assert "weight" in dict(nn.CrossEntropyLoss(WEIGHT).named_buffers())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: F.cross_entropy(x, CLASSES, weight=WEIGHT[:3]), "weight tensor should be"),
        (lambda x: F.cross_entropy(x, CLASSES, label_smoothing=1.5), "label_smoothing must be"),
        (lambda x: F.cross_entropy(x, CLASSES, reduction="avg"), "reduction must be"),
        (lambda x: F.cross_entropy(x, CLASSES, 3), "reduction must be"),
        (lambda x: F.nll_loss(MAPS, MAP_CLASSES[:, :2]), "expected target size"),
    ],
    ids=["weight-size", "smoothing-range", "reduction", "number", "map-target"],
)
def test_loss_options_pytorch_refuses_are_gradviz_errors(call, message):
    with pytest.raises(gradviz.GradvizError, match=message):
        call(gradviz.tensor(LOGITS))


@pytest.mark.parametrize(
    "loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy"]
)
def test_the_mean_loss_of_an_empty_batch_is_nan_without_numpys_warning(loss):
    """As ``mean()`` of nothing (and PyTorch): NaN, and a zero-size gradient; these losses
    also printed NumPy's 'invalid value encountered in scalar divide'."""
    import warnings

    empty = gradviz.zeros(0, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = getattr(F, loss)(empty.sigmoid(), gradviz.zeros(0, 3))
        value.backward()
    assert np.isnan(value.item())
    assert empty.grad.shape == (0, 3)
