"""``nn.utils.prune`` side by side with PyTorch's (the pruning tutorial): the parameters,
buffers and pre-hooks it leaves, the masks of the deterministic methods, iterative and global
pruning, ``remove`` and the gradients that reach ``weight_orig``."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
import gradviz.nn.utils.prune as prune
from gradviz import nn

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


class _LeNet:
    """The same small net in each library, PyTorch's weights copied into gradviz's."""

    def __init__(self, lib):
        self.conv1 = lib.nn.Conv2d(1, 4, 3)
        self.fc1 = lib.nn.Linear(36, 10)
        self.fc2 = lib.nn.Linear(10, 3)

    def forward(self, lib, x):
        x = lib.nn.functional.max_pool2d(lib.nn.functional.relu(self.conv1(x)), 2)
        return self.fc2(lib.nn.functional.relu(self.fc1(x.reshape(x.shape[0], -1))))


def _pair():
    torch.manual_seed(0)
    theirs, ours = _LeNet(torch), _LeNet(gradviz)
    for name in ("conv1", "fc1", "fc2"):
        t, g = getattr(theirs, name), getattr(ours, name)
        g.load_state_dict(
            {k: gradviz.tensor(v.detach().numpy()) for k, v in t.state_dict().items()}
        )
    return theirs, ours


def _same(g, t):
    np.testing.assert_allclose(
        np.asarray(g.detach().numpy(), float), t.detach().numpy(), rtol=1e-6, atol=1e-7
    )


def test_pruning_leaves_what_pytorchs_does_and_trains_the_original():
    """Was: no `gradviz.nn.utils.prune` (ModuleNotFoundError)."""
    theirs, ours = _pair()
    for lib, net in ((tprune, theirs), (prune, ours)):
        lib.l1_unstructured(net.conv1, name="weight", amount=0.3)
        lib.l1_unstructured(net.conv1, name="bias", amount=1)
        lib.ln_structured(net.conv1, name="weight", amount=0.5, n=2, dim=0)  # iterative
        lib.global_unstructured(
            ((net.fc1, "weight"), (net.fc2, "weight")),
            pruning_method=lib.L1Unstructured,
            amount=0.4,
        )
    for module in ("conv1", "fc1", "fc2"):
        t, g = getattr(theirs, module), getattr(ours, module)
        assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
        assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
        for name, buffer in t.named_buffers():
            _same(dict(g.named_buffers())[name], buffer)
        _same(g.weight, t.weight)
    hooks = list(ours.conv1._forward_pre_hooks.values())
    assert {h._tensor_name for h in hooks} == {"weight", "bias"}
    (container,) = (h for h in hooks if h._tensor_name == "weight")
    assert [type(m).__name__ for m in container] == ["L1Unstructured", "LnStructured"]
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    out_t, out_g = theirs.forward(torch, torch.tensor(x)), ours.forward(gradviz, gradviz.tensor(x))
    _same(out_g, out_t)
    out_t.sum().backward()
    out_g.sum().backward()
    _same(ours.fc1.weight_orig.grad, theirs.fc1.weight_orig.grad)  # zeros where pruned
    assert prune.is_pruned(ours.conv1)
    prune.remove(ours.conv1, "weight")
    tprune.remove(theirs.conv1, "weight")
    assert [n for n, _ in ours.conv1.named_parameters()] == ["bias_orig", "weight"]
    assert isinstance(ours.conv1.weight, nn.Parameter)
    _same(ours.conv1.weight, theirs.conv1.weight)


def test_pruning_refuses_what_pytorch_refuses():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(layer, "weight", amount=1.5)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(layer, "weight", amount=7)
    with pytest.raises(ValueError, match="Structured pruning can only be applied"):
        prune.ln_structured(layer, "bias", amount=1, n=1, dim=0)
    with pytest.raises(ValueError, match="has to be pruned before"):
        prune.remove(layer, "weight")
    prune.random_unstructured(layer, "weight", amount=2)
    assert int((layer.weight == 0).sum().item()) == 2
