"""Second derivatives at work: a WGAN-GP gradient penalty trained for 3 SGD steps, a
physics-informed MLP (u_x and u_xx by ``grad(create_graph=True)``), ``hessian``, ``vhp``,
``hvp`` and ``create_graph=True`` in ``autograd.functional``: against PyTorch when installed,
by finite differences at float64 always."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd import functional as AF
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError


def critic(lib, seed: int = 0):
    """A small float64 critic; gradviz's weights drawn, PyTorch's (if ``lib`` is torch)
    copied from the gradviz twin built with the same seed."""
    gradviz.manual_seed(seed)
    ours = nn.Sequential(
        nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 1)
    )
    ours = ours.double()
    if lib is gradviz:
        return ours
    tnn = lib.nn
    theirs = tnn.Sequential(
        tnn.Linear(2, 8), tnn.Tanh(), tnn.Linear(8, 8), tnn.Softplus(), tnn.Linear(8, 1)
    ).double()
    with lib.no_grad():
        for (_, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            q.copy_(lib.from_numpy(p.numpy().copy()))
    return theirs


def batches(steps: int = 3):
    rng = np.random.default_rng(1)
    return [
        (rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) + 2, rng.uniform(size=(6, 1)))
        for _ in range(steps)
    ]


def train_with_penalty(lib, model, steps: int = 3) -> list[float]:
    """WGAN-GP's critic loss: Wasserstein estimate + 10 * (|grad critic(mixed)| - 1)^2."""
    opt = lib.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for real, fake, eps in batches(steps):
        real, fake, eps = (lib.tensor(a) for a in (real, fake, eps))
        mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = lib.autograd.grad(model(mixed).sum(), mixed, create_graph=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
        loss = model(fake).mean() - model(real).mean() + 10 * penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_gradient_penalty_trains_as_pytorch_over_three_steps():
    torch = pytest.importorskip("torch")
    ours, theirs = critic(gradviz), critic(torch)
    np.testing.assert_allclose(
        train_with_penalty(gradviz, ours), train_with_penalty(torch, theirs), rtol=1e-12
    )
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-11, atol=1e-13)


def penalty_loss(model, mixed_data: np.ndarray):
    mixed = gradviz.tensor(mixed_data, requires_grad=True)
    (g,) = grad(model(mixed).sum(), mixed, create_graph=True)
    return ((g.norm(2, dim=1) - 1) ** 2).mean()


def test_gradient_penalty_parameter_gradients_by_finite_differences():
    """The input gradient with its graph is the plain one; the parameters' gradients of the
    penalty (a backward pass through that graph) are its finite differences."""
    model = critic(gradviz)
    data = batches(1)[0][0]
    mixed = gradviz.tensor(data, requires_grad=True)
    (g,) = grad(model(mixed).sum(), mixed, create_graph=True)
    np.testing.assert_allclose(g.numpy(), grad(model(mixed).sum(), mixed)[0].numpy(), rtol=1e-13)
    penalty_loss(model, data).backward()
    eps = 1e-6
    for name, p in model.named_parameters():
        flat = p.numpy().reshape(-1)
        for j in range(0, flat.size, 3):  # every third weight of each tensor
            original = flat[j]
            flat[j] = original + eps
            plus = penalty_loss(model, data).item()
            flat[j] = original - eps
            minus = penalty_loss(model, data).item()
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            got = 0.0 if p.grad is None else p.grad.numpy().reshape(-1)[j]  # (the last bias)
            assert got == pytest.approx(numeric, rel=1e-5, abs=1e-8), f"{name}[{j}]"


def pinn(lib, model, x_data: np.ndarray):
    """u(x) a tanh MLP; u_x and u_xx by grad(create_graph=True); the residual of
    u'' = -pi^2 sin(pi x) and the boundary values u(0) = u(1) = 0."""
    x = lib.tensor(x_data, requires_grad=True)
    u = model(x)
    (u_x,) = lib.autograd.grad(u, x, lib.ones_like(u), create_graph=True)
    (u_xx,) = lib.autograd.grad(u_x, x, lib.ones_like(u_x), create_graph=True)
    residual = u_xx + math.pi**2 * lib.sin(math.pi * x)
    ends = model(lib.tensor(np.array([[0.0], [1.0]])))
    return u, u_x, u_xx, (residual**2).mean() + (ends**2).mean()


def tanh_mlp(seed: int = 0):
    gradviz.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    )


POINTS = np.linspace(0.05, 0.95, 7).reshape(-1, 1)


def test_pinn_derivatives_by_finite_differences_of_u():
    model = tanh_mlp().double()
    _, u_x, u_xx, _ = pinn(gradviz, model, POINTS)
    h = 1e-4

    def at(x: np.ndarray) -> np.ndarray:
        with gradviz.no_grad():
            return model(gradviz.tensor(x)).numpy()

    np.testing.assert_allclose(u_x.numpy(), (at(POINTS + h) - at(POINTS - h)) / (2 * h), rtol=1e-7)
    second = (at(POINTS + h) - 2 * at(POINTS) + at(POINTS - h)) / h**2
    np.testing.assert_allclose(u_xx.numpy(), second, rtol=1e-4, atol=1e-6)


def test_pinn_loss_gradients_and_two_adam_steps_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = tanh_mlp().double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(1, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 1),
    ).double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            q.copy_(torch.from_numpy(p.numpy().copy()))
    runs = []
    for lib, model in ((gradviz, ours), (torch, theirs)):
        opt = lib.optim.Adam(model.parameters(), lr=1e-2)
        values = []
        for _ in range(2):
            u, u_x, u_xx, loss = pinn(lib, model, POINTS)
            opt.zero_grad()
            loss.backward()
            values.append([t.detach().numpy().copy() for t in (u, u_x, u_xx, loss)])
            values.append([p.grad.numpy().copy() for p in model.parameters()])
            opt.step()
        runs.append(values)
    for ours_values, their_values in zip(*runs, strict=True):
        for a, b in zip(ours_values, their_values, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def quartic(x, y):
    """A scalar function of two inputs with a full, non-constant Hessian."""
    return (x.sin() * y.exp().sum()).sum() + (x**2).sum() * (y**3).sum()


def draw(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def test_hessian_of_two_inputs_by_finite_differences_of_the_gradient():
    a, b = draw(3, 0), draw((2, 2), 1)
    H = AF.hessian(quartic, (gradviz.tensor(a), gradviz.tensor(b)))
    eps = 1e-6

    def gradient(a, b):
        xs = [gradviz.tensor(a, requires_grad=True), gradviz.tensor(b, requires_grad=True)]
        return [g.numpy() for g in grad(quartic(*xs), xs)]

    points = [a, b]
    for j, point in enumerate(points):  # column block j: derivatives along input j
        for index in np.ndindex(point.shape):
            plus = [p.copy() for p in points]
            minus = [p.copy() for p in points]
            plus[j][index] += eps
            minus[j][index] -= eps
            for i, (gp, gm) in enumerate(zip(gradient(*plus), gradient(*minus), strict=True)):
                numeric = (gp - gm) / (2 * eps)
                got = H[i][j].numpy()[(..., *index)]
                np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian_vhp_hvp_match_pytorch_with_their_nesting(create_graph):
    torch = pytest.importorskip("torch")
    taf = torch.autograd.functional
    a, b, va, vb = draw(3, 0), draw((2, 2), 1), draw(3, 2), draw((2, 2), 3)
    ours = (gradviz.tensor(a, requires_grad=True), gradviz.tensor(b, requires_grad=True))
    theirs = (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True))
    got = AF.hessian(quartic, ours, create_graph=create_graph)
    want = taf.hessian(quartic, theirs, create_graph=create_graph)
    for i in range(2):
        for j in range(2):
            assert got[i][j].requires_grad == want[i][j].requires_grad
            np.testing.assert_allclose(got[i][j].numpy(), want[i][j].detach().numpy(), rtol=1e-12)
    single = AF.hessian(lambda x: (x**3).sum() * x.sin().sum(), ours[0])
    single_t = taf.hessian(lambda x: (x**3).sum() * x.sin().sum(), theirs[0])
    np.testing.assert_allclose(single.numpy(), single_t.numpy(), rtol=1e-12)
    for name in ("vhp", "hvp"):
        out, product = getattr(AF, name)(
            quartic, ours, (gradviz.tensor(va), gradviz.tensor(vb)), create_graph
        )
        out_t, product_t = getattr(taf, name)(
            quartic, theirs, (torch.tensor(va), torch.tensor(vb)), create_graph
        )
        assert out.requires_grad == out_t.requires_grad
        np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-12)
        for p, q in zip(product, product_t, strict=True):
            assert p.requires_grad == q.requires_grad
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-12)


def test_functional_results_with_create_graph_differentiate_again_as_pytorch():
    torch = pytest.importorskip("torch")
    taf = torch.autograd.functional
    a, v = draw(3, 0), draw(3, 1)
    grads = []
    for lib, fn in ((gradviz, AF), (torch, taf)):
        x = lib.tensor(a, requires_grad=True)
        jac = fn.jacobian(lambda t: t.tanh() * t.sum(), x, create_graph=True)
        _, vjp = fn.vjp(lambda t: t.exp() * t, x, lib.tensor(v), create_graph=True)
        _, jvp = fn.jvp(lambda t: t.sin() * t, x, lib.tensor(v), create_graph=True)
        hess = fn.hessian(lambda t: (t**4).sum(), x, create_graph=True)
        _, hvp = fn.hvp(lambda t: (t.exp() * t).sum(), x, lib.tensor(v), create_graph=True)
        total = (jac**2).sum() + (vjp * jvp).sum() + hess.sum() + (hvp**2).sum()
        grads.append(lib.autograd.grad(total, x)[0].detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-11)


def test_hessian_refusals_as_pytorch():
    x = gradviz.ones(2)
    with pytest.raises(BackwardError, match="should return a single Tensor"):
        AF.hessian(lambda t: (t.sum(), t.sum()), x)
    with pytest.raises(BackwardError, match="should contain a single element"):
        AF.vhp(lambda t: t * 2, x, x)
    with pytest.raises(BackwardError, match="jacobian of the user-provided function with respect"):
        AF.hessian(lambda t: (t * 2).sum(), x, strict=True)  # linear: the Hessian is 0
    np.testing.assert_array_equal(AF.hessian(lambda t: (t * 2).sum(), x).numpy(), np.zeros((2, 2)))
    with pytest.raises(BackwardError, match="v can only be None if the input"):
        AF.hvp(lambda t: t.sum(), x)


RELU_PINN = """
x = torch.linspace(0, 1, 5).reshape(-1, 1).requires_grad_(True)
u = net(x)
(u_x,) = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)
(u_xx,) = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)
((u_xx**2).mean() + (u**2).mean()).backward()
"""


def test_a_pinn_with_relu_gets_a_zero_second_derivative_as_pytorch():
    """A ReLU network is piecewise linear in its input: u_xx is zeros. Before, the second
    ``grad`` refused ("appears to not have been used in the graph"), as u_x had no path back to
    x, where PyTorch gives zeros with a graph and trains on the rest of the loss."""
    gradviz.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1))
    ours = {"torch": gradviz, "net": net}
    exec(RELU_PINN, ours)
    np.testing.assert_array_equal(ours["u_xx"].numpy(), np.zeros((5, 1)))
    assert ours["u_xx"].requires_grad
    assert "ZeroDerivative" in {type(n).__name__ for n in _ops_below(ours["u_xx"])}
    torch = pytest.importorskip("torch")
    twin = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    twin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in net.state_dict().items()})
    exec(RELU_PINN, {"torch": torch, "net": twin})
    for p, q in zip(twin.parameters(), net.parameters(), strict=True):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6, atol=1e-7)


def _ops_below(v: gradviz.Variable) -> list:
    """The op nodes ``v`` was computed from."""
    seen, stack = [], [v]
    while stack:
        node = stack.pop()._node
        if node is not None and node not in seen:
            seen.append(node)
            stack.extend(node.parents)
    return seen
