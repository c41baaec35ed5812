"""The classic second-order demos beyond MLPs, against PyTorch (when installed) and by finite
differences (always): a WGAN-GP step with a convolutional critic (and with the DCGAN one, its
LeakyReLUs in place), MAML on a small classifier (an inner SGD step with ``create_graph=True``,
the outer loss through the adapted weights), and a transformer layer trained with a gradient
penalty."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import gradviz
from gradviz.autograd import grad


def twin(ours, theirs):
    """``theirs`` (a PyTorch module, float64) with the weights of ``ours``."""
    import torch

    theirs = theirs.double()
    with torch.no_grad():
        for (name, p), (other, q) in zip(
            ours.named_parameters(), theirs.named_parameters(), strict=True
        ):
            assert name == other
            q.copy_(torch.from_numpy(p.numpy().copy()))
    return theirs


def math_attention(lib):
    """PyTorch's attention on the math kernel (the one with a double backward)."""
    if lib is gradviz:
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.MATH])


def assert_same_run(ours, theirs, runs, rtol):
    """Equal losses along the run and equal parameters at its end."""
    np.testing.assert_allclose(runs[0], runs[1], rtol=rtol)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=rtol, atol=1e-13)


# ------------------------------------------------------------- WGAN-GP, convolutional critic
def conv_critic(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3, padding=1),
        lib.nn.LeakyReLU(0.2),
        lib.nn.Conv2d(4, 8, 4, stride=2, padding=1),
        lib.nn.LeakyReLU(0.2),
        lib.nn.Flatten(),
        lib.nn.Linear(8 * 4 * 4, 1),
    )


def dcgan_critic(lib):
    """The DCGAN tutorial's discriminator without batch norm (a WGAN-GP critic has none):
    strided convolutions, each followed by ``LeakyReLU(0.2, inplace=True)`` (the in-place
    ops' graph rules)."""
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 4, stride=2, padding=1),
        lib.nn.LeakyReLU(0.2, inplace=True),
        lib.nn.Conv2d(4, 8, 4, stride=2, padding=1),
        lib.nn.LeakyReLU(0.2, inplace=True),
        lib.nn.Flatten(),
        lib.nn.Linear(8 * 2 * 2, 1),
    )


CRITICS = pytest.mark.parametrize(
    "make", [conv_critic, dcgan_critic], ids=["conv", "dcgan_inplace"]
)


def images(steps: int = 3):
    rng = np.random.default_rng(1)
    return [
        (
            rng.standard_normal((4, 1, 8, 8)),
            rng.standard_normal((4, 1, 8, 8)) + 1,
            rng.uniform(size=(4, 1, 1, 1)),
        )
        for _ in range(steps)
    ]


def critic_loss(lib, critic, real, fake, eps, create_graph: bool = True):
    """Wasserstein estimate + 10 * (|grad critic(mixed)| - 1)^2, the gradient with its graph
    (or, for the finite differences, without: the same value from first derivatives only)."""
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = lib.autograd.grad(critic(mixed).sum(), mixed, create_graph=create_graph)
    penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + 10 * penalty


def train_critic(lib, critic) -> list[float]:
    opt = lib.optim.SGD(critic.parameters(), lr=0.05)
    losses = []
    for batch in images():
        loss = critic_loss(lib, critic, *(lib.tensor(a) for a in batch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@CRITICS
def test_wgan_gp_with_a_conv_critic_trains_as_pytorch_over_three_steps(make):
    """Both critics: LeakyReLU as a layer, and in place as the DCGAN tutorial writes it."""
    torch = pytest.importorskip("torch")
    gradviz.manual_seed(0)
    ours = make(gradviz).double()
    theirs = twin(ours, make(torch))
    runs = [train_critic(gradviz, ours), train_critic(torch, theirs)]
    assert_same_run(ours, theirs, runs, rtol=1e-11)


@CRITICS
def test_wgan_gp_conv_critic_gradients_by_finite_differences(make):
    gradviz.manual_seed(0)
    critic = make(gradviz).double()
    batch = [gradviz.tensor(a) for a in images(1)[0]]
    critic_loss(gradviz, critic, *batch).backward()
    eps = 1e-6
    for name, p in critic.named_parameters():
        flat = p.numpy().reshape(-1)
        for j in range(0, flat.size, 7):
            original = flat[j]
            flat[j] = original + eps
            plus = critic_loss(gradviz, critic, *batch, create_graph=False).item()
            flat[j] = original - eps
            minus = critic_loss(gradviz, critic, *batch, create_graph=False).item()
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            got = p.grad.numpy().reshape(-1)[j]
            assert got == pytest.approx(numeric, rel=1e-5, abs=1e-7), f"{name}[{j}]"


# ------------------------------------------------------------------------- MAML, classifier
def classifier(lib, x, params):
    """A functional forward (no module state): Linear, ReLU, Linear."""
    F = lib.nn.functional
    return F.linear(F.relu(F.linear(x, params[0], params[1])), params[2], params[3])


def tasks(count: int = 2):
    rng = np.random.default_rng(2)
    return [
        (
            rng.standard_normal((6, 3)),
            rng.integers(0, 4, 6),
            rng.standard_normal((5, 3)),
            rng.integers(0, 4, 5),
        )
        for _ in range(count)
    ]


def meta_loss(lib, params, inner_lr: float = 0.5, create_graph: bool = True):
    """MAML's outer loss: per task, one SGD step on the support set (its gradient with a graph),
    then cross-entropy of the query set through the adapted weights."""
    F = lib.nn.functional
    total = 0
    for xs, ys, xq, yq in tasks():
        xs, ys, xq, yq = (lib.tensor(a) for a in (xs, ys, xq, yq))
        inner = F.cross_entropy(classifier(lib, xs, params), ys)
        grads = lib.autograd.grad(inner, params, create_graph=create_graph)
        fast = [p - inner_lr * g for p, g in zip(params, grads, strict=True)]
        total = total + F.cross_entropy(classifier(lib, xq, fast), yq)
    return total / len(tasks())


def initial_params():
    rng = np.random.default_rng(3)
    return [rng.uniform(-0.8, 0.8, s) for s in ((8, 3), (8,), (4, 8), (4,))]


def test_maml_outer_steps_match_pytorch():
    torch = pytest.importorskip("torch")
    runs, finals = [], []
    for lib in (gradviz, torch):
        params = [lib.tensor(a, requires_grad=True) for a in initial_params()]
        opt = lib.optim.SGD(params, lr=0.3)
        losses = []
        for _ in range(3):
            loss = meta_loss(lib, params)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
        finals.append([p.detach().numpy() for p in params])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12)
    for p, q in zip(*finals, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-13)


def test_maml_meta_gradient_by_finite_differences_is_not_first_order():
    """The meta-gradient (through the inner gradient's graph) is the finite difference of the
    meta-loss; first-order MAML (no graph) differs from it."""
    arrays = initial_params()
    params = [gradviz.tensor(a, requires_grad=True) for a in arrays]
    meta = grad(meta_loss(gradviz, params), params)
    detached = [gradviz.tensor(a, requires_grad=True) for a in arrays]
    first_order = grad(meta_loss(gradviz, detached, create_graph=False), detached)
    eps = 1e-6
    for i, array in enumerate(arrays):
        numeric = np.zeros(array.shape)
        for j in np.ndindex(array.shape):
            values = []
            for step in (eps, -eps):
                moved = [a.copy() for a in arrays]
                moved[i][j] += step
                ps = [gradviz.tensor(a, requires_grad=True) for a in moved]
                values.append(meta_loss(gradviz, ps, create_graph=False).item())
            numeric[j] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(meta[i].numpy(), numeric, rtol=1e-5, atol=1e-8)
    assert not np.allclose(meta[0].numpy(), first_order[0].numpy(), rtol=1e-3)


# ------------------------------------------------------------- a transformer's gradient penalty
def transformer(lib):
    """A pre-norm transformer layer (causal self-attention, a GELU MLP) and a scoring head."""
    return lib.nn.ModuleDict(
        {
            "layer": lib.nn.TransformerEncoderLayer(
                8, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            ),
            "head": lib.nn.Linear(8, 1),
        }
    )


CAUSAL = np.triu(np.ones((5, 5), dtype=bool), 1)  # True: may not attend (the future)


def penalised(lib, model, x_data, create_graph: bool = True):
    """The scores' mean plus 10 * (|d scores / d x| - 1)^2, the gradient with its graph (or,
    for the finite differences, without)."""
    x = lib.tensor(x_data, requires_grad=True)
    with math_attention(lib):
        hidden = model["layer"](x, src_mask=lib.tensor(CAUSAL))
        score = model["head"](hidden.mean(1))
        (g,) = lib.autograd.grad(score.sum(), x, create_graph=create_graph)
    return score.mean() + 10 * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def sequences(steps: int = 3):
    rng = np.random.default_rng(4)
    return [rng.standard_normal((3, 5, 8)) for _ in range(steps)]


def test_transformer_gradient_penalty_trains_as_pytorch():
    torch = pytest.importorskip("torch")
    gradviz.manual_seed(0)
    ours = transformer(gradviz).double()
    theirs = twin(ours, transformer(torch))
    runs = []
    for lib, model in ((gradviz, ours), (torch, theirs)):
        opt = lib.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for x in sequences():
            loss = penalised(lib, model, x)
            opt.zero_grad()
            with math_attention(lib):
                loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
    assert_same_run(ours, theirs, runs, rtol=1e-10)


def test_transformer_gradient_penalty_by_finite_differences():
    gradviz.manual_seed(0)
    model = transformer(gradviz).double()
    x = sequences(1)[0]
    penalised(gradviz, model, x).backward()
    eps = 1e-6
    for name, p in model.named_parameters():
        flat = p.numpy().reshape(-1)
        for j in range(0, flat.size, 13):
            original = flat[j]
            flat[j] = original + eps
            plus = penalised(gradviz, model, x, create_graph=False).item()
            flat[j] = original - eps
            minus = penalised(gradviz, model, x, create_graph=False).item()
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            got = p.grad.numpy().reshape(-1)[j]
            assert got == pytest.approx(numeric, rel=1e-5, abs=1e-7), f"{name}[{j}]"
