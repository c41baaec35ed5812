"""The layers ``EmbeddingBag``, ``LazyLinear``, ``MaxUnpool1d/2d/3d``, ``LPPool1d/2d``,
``ChannelShuffle``, ``AlphaDropout`` and ``FeatureAlphaDropout`` against PyTorch's: reprs,
state_dict keys, outputs and gradients with the same weights, refusals; the random dropouts
by their statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError

torch = pytest.importorskip("torch")

REPRS: dict[str, Callable[[Any], Any]] = {
    "bag": lambda nn: nn.EmbeddingBag(10, 3),
    "bag_max": lambda nn: nn.EmbeddingBag(10, 3, max_norm=1.0, mode="max", padding_idx=2),
    "bag_sum": lambda nn: nn.EmbeddingBag(10, 3, norm_type=1.0, mode="sum"),
    "lazy": lambda nn: nn.LazyLinear(3),
    "lazy_no_bias": lambda nn: nn.LazyLinear(3, bias=False),
    "unpool2d": lambda nn: nn.MaxUnpool2d(2),
    "unpool2d_pairs": lambda nn: nn.MaxUnpool2d((2, 3), (1, 2), (1, 0)),
    "unpool1d": lambda nn: nn.MaxUnpool1d(3, 2, 1),
    "unpool3d": lambda nn: nn.MaxUnpool3d(2),
    "unpool3d_triples": lambda nn: nn.MaxUnpool3d((2, 1, 3), (1, 1, 2), (1, 0, 0)),
    "lp2d": lambda nn: nn.LPPool2d(2, 3),
    "lp1d": lambda nn: nn.LPPool1d(2.0, 3, 2, True),
    "shuffle": lambda nn: nn.ChannelShuffle(2),
    "alpha": lambda nn: nn.AlphaDropout(),
    "feature_alpha": lambda nn: nn.FeatureAlphaDropout(0.2, True),
}


@pytest.mark.parametrize("name", sorted(REPRS))
def test_repr_and_state_dict_as_torch(name: str) -> None:
    ours, theirs = REPRS[name](gradviz.nn), REPRS[name](torch.nn)
    assert repr(ours) == repr(theirs)
    if not name.startswith("lazy"):  # PyTorch lists its uninitialised parameters
        assert list(ours.state_dict()) == list(theirs.state_dict())


def _same_bags(mode: str, **options: Any) -> tuple[Any, Any]:
    ours = gradviz.nn.EmbeddingBag(6, 3, mode=mode, **options)
    theirs = torch.nn.EmbeddingBag(6, 3, mode=mode, **options)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    return ours, theirs


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_layer_as_torch(mode: str) -> None:
    """A text classifier's call: flat token ids cut at offsets; values and weight gradients."""
    ours, theirs = _same_bags(mode, padding_idx=0)
    assert not ours.weight.numpy()[0].any()  # the padding row starts at zero
    text, offsets = [3, 0, 5, 1, 1, 4, 2], [0, 3, 3, 6]
    results = []
    for layer, lib in ((ours, gradviz), (theirs, torch)):
        out = layer(lib.tensor(text), lib.tensor(offsets))
        (out * lib.tensor(np.arange(12.0).reshape(4, 3)).to(out.dtype)).sum().backward()
        results.append((out.detach().numpy(), layer.weight.grad.numpy()))
    for mine, other in zip(*results, strict=True):
        np.testing.assert_allclose(mine, other, rtol=1e-6, atol=1e-6)


def test_embedding_bag_per_sample_weights_and_pretrained_as_torch() -> None:
    table = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    outs = []
    for lib in (gradviz, torch):
        layer = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(table), mode="sum")
        weights = lib.tensor([[0.5, 2.0, 1.0]], requires_grad=True)
        out = layer(lib.tensor([[0, 3, 3]]), per_sample_weights=weights)
        out.sum().backward()
        outs.append((out.detach().numpy(), weights.grad.numpy(), layer.weight.requires_grad))
    (ours, our_grad, our_frozen), (theirs, their_grad, their_frozen) = outs
    np.testing.assert_allclose(ours, theirs)
    np.testing.assert_allclose(our_grad, their_grad)
    assert our_frozen == their_frozen


BAG_REFUSALS: dict[str, Callable[[Any], Any]] = {
    "mode": lambda lib: lib.nn.EmbeddingBag(4, 2, mode="median")(lib.tensor([[0, 1]])),
    "weights dtype": lambda lib: lib.nn.EmbeddingBag(4, 2, mode="sum")(
        lib.tensor([[0, 1]]), per_sample_weights=lib.ones(1, 2, dtype=lib.float64)
    ),
    "padding_idx": lambda lib: lib.nn.EmbeddingBag(4, 2, padding_idx=4),
    "no offsets": lambda lib: lib.nn.EmbeddingBag(4, 2)(lib.tensor([0, 1])),
    "index": lambda lib: lib.nn.EmbeddingBag(4, 2)(lib.tensor([[0, 4]])),
    "weights in mean": lambda lib: lib.nn.EmbeddingBag(4, 2)(
        lib.tensor([[0, 1]]), per_sample_weights=lib.ones(1, 2)
    ),
}


@pytest.mark.parametrize("name", sorted(BAG_REFUSALS))
def test_embedding_bag_refusals_as_torch(name: str) -> None:
    with pytest.raises(Exception) as theirs:  # noqa: PT011 (whichever PyTorch raises)
        BAG_REFUSALS[name](torch)
    with pytest.raises(GradvizError) as ours:
        BAG_REFUSALS[name](gradviz)
    assert theirs.value is not None
    assert "EmbeddingBag" in str(ours.value)


def test_lazy_linear_creates_its_parameters_at_the_first_call() -> None:
    """No parameters before the call; after it, a Linear initialised as one (the same draws
    as ``Linear(4, 3)`` from the same seed), which an optimizer built then trains."""
    layer = gradviz.nn.LazyLinear(3)
    assert list(layer.parameters()) == []
    assert layer.has_uninitialized_params()
    gradviz.manual_seed(5)
    out = layer(gradviz.ones(2, 4))
    gradviz.manual_seed(5)
    reference = gradviz.nn.Linear(4, 3)
    assert type(layer) is gradviz.nn.Linear
    assert (layer.in_features, out.shape) == (4, (2, 3))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.numpy(), reference.weight.numpy())
    np.testing.assert_array_equal(layer.bias.numpy(), reference.bias.numpy())
    optimizer = gradviz.optim.SGD(layer.parameters(), lr=0.1)
    layer(gradviz.ones(2, 4)).sum().backward()
    optimizer.step()
    assert not np.array_equal(layer.weight.numpy(), reference.weight.numpy())


def test_lazy_linear_in_a_sequential_without_bias() -> None:
    model = gradviz.nn.Sequential(gradviz.nn.LazyLinear(5, bias=False), gradviz.nn.ReLU())
    model(gradviz.ones(3, 7))
    assert [name for name, _ in model.named_parameters()] == ["0.weight"]
    assert repr(model[0]) == "Linear(in_features=7, out_features=5, bias=False)"
    with pytest.raises(GradvizError, match="out_features"):
        gradviz.nn.LazyLinear(-1)


def test_unpool_undoes_the_pool_at_the_maxima() -> None:
    """``MaxUnpool2d(MaxPool2d(return_indices=True)(x))`` keeps each window's maximum in its
    place and zeros elsewhere, as PyTorch's; the gradient flows to the pooled values."""
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 6))
    outs = []
    for lib in (gradviz, torch):
        leaf = lib.tensor(x, requires_grad=True)
        pooled, indices = lib.nn.MaxPool2d(2, return_indices=True)(leaf)
        back = lib.nn.MaxUnpool2d(2)(pooled, indices)
        (back * lib.tensor(x)).sum().backward()
        outs.append((back.detach().numpy(), leaf.grad.numpy()))
    for mine, other in zip(*outs, strict=True):
        np.testing.assert_allclose(mine, other)
    assert (outs[0][0] != 0).sum() == 2 * 3 * 2 * 3


def test_lp_pool_of_norm_one_is_a_sum_pool() -> None:
    x = gradviz.rand(1, 2, 4, 4) + 0.1
    summed = gradviz.nn.LPPool2d(1, 2)(x)
    expected = x.numpy().reshape(1, 2, 2, 2, 2, 2).sum(axis=(3, 5))
    np.testing.assert_allclose(summed.numpy(), expected, rtol=1e-5)


def test_channel_shuffle_interleaves_the_groups() -> None:
    x = gradviz.arange(6.0).reshape(1, 6, 1)
    out = gradviz.nn.ChannelShuffle(2)(x)
    assert out.reshape(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


@pytest.mark.parametrize("layer", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_keeps_mean_and_variance(layer: str) -> None:
    """On standard normal inputs the output keeps mean 0 and variance 1 (SELU's fixed point);
    dropped units all take one value; eval mode is the identity; the gradient is the kept
    units' scale."""
    gradviz.manual_seed(0)
    module = getattr(gradviz.nn, layer)(0.2)
    x = gradviz.randn(400, 50, 4, requires_grad=True)
    out = module(x)
    values = out.detach().numpy()
    assert abs(values.mean()) < 0.05
    assert abs(values.var() - 1) < 0.05
    p, alpha = 0.2, 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    dropped = np.isclose(values, -alpha * a + alpha * a * p)
    assert abs(dropped.mean() - p) < 0.02
    out.sum().backward()
    np.testing.assert_allclose(np.unique(x.grad.numpy()), sorted({0.0, a}), rtol=1e-6)
    if layer == "FeatureAlphaDropout":  # whole channels
        assert (dropped.all(axis=2) | ~dropped.any(axis=2)).all()
    module.eval()
    assert module(x) is x
