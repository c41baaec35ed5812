"""Second derivatives (``create_graph=True``) through each op that has a graph rule: the first
gradient and the gradient of the first gradient, by finite differences at float64 (always)
and against PyTorch (when installed); ``.grad`` with its graph, a third derivative, refusals.

Models (a gradient penalty, a PINN) and ``autograd.functional``: test_second_derivatives_models;
the layers (convolution, pooling, normalisation, losses, attention ...):
test_second_derivatives_layers; the demos that need them (a convolutional WGAN-GP, MAML, a
transformer's gradient penalty): test_second_derivatives_demos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError


@dataclass(frozen=True)
class Op:
    """A function of inputs drawn in ``ranges`` (shape, low, high), written once for both
    libraries: ``fn(lib, F, *xs)`` with ``lib`` gradviz or torch, ``F`` its functional.
    Each is nonlinear in every input, so the first gradient depends on the inputs."""

    id: str
    fn: Callable[..., Any]
    ranges: tuple[tuple[tuple[int, ...], float, float], ...]
    float32: bool = False  # computes in float32 on the way: no finite differences, rtol 1e-6

    def arrays(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.uniform(low, high, shape) for shape, low, high in self.ranges]


A = ((3, 4), -2.0, 2.0)
B = ((4,), -2.0, 2.0)
P = ((3, 4), 0.5, 2.0)  # positive: log, sqrt, pow with a tensor exponent, div
AWAY = ((3, 4), 0.2, 2.0)  # kinks (relu, abs) at 0: both signs, never near it
SIGNED = ((3, 4), -2.0, -0.2)

CASES = [
    Op("add", lambda lib, F, x, y: (x + y) ** 2, (A, B)),
    Op("sub", lambda lib, F, x, y: (x - y) ** 3, (A, B)),
    Op("mul", lambda lib, F, x, y: x * y * x, (A, B)),
    Op("div", lambda lib, F, x, y: x / y + 1 / y, (A, P)),
    Op("neg", lambda lib, F, x: -(x * x * x), (A,)),
    Op("pow_scalar", lambda lib, F, x: x**3 + x**0.5 * x**-1, (P,)),
    Op("pow_tensor", lambda lib, F, x, y: x**y, (P, A)),
    Op("pow_number_base", lambda lib, F, y: 2.0**y, (A,)),
    Op("exp", lambda lib, F, x: x.exp(), (A,)),
    Op("log", lambda lib, F, x: x.log(), (P,)),
    Op("sqrt", lambda lib, F, x: x.sqrt(), (P,)),
    Op("tanh", lambda lib, F, x: lib.tanh(x), (A,)),
    Op("sigmoid", lambda lib, F, x: x.sigmoid(), (A,)),
    Op("relu", lambda lib, F, x, s: F.relu(x) * x + F.relu(s) * s, (AWAY, SIGNED)),
    Op(
        "leaky_relu",
        lambda lib, F, x, s: F.leaky_relu(x, 0.1) * x + F.leaky_relu(s) * s,
        (AWAY, SIGNED),
    ),
    Op("sin", lambda lib, F, x: x.sin(), (A,)),
    Op("cos", lambda lib, F, x: lib.cos(x), (A,)),
    Op("abs", lambda lib, F, x, s: x.abs() * x + s.abs() ** 3, (AWAY, SIGNED)),
    Op("square", lambda lib, F, x: x.square() * x, (A,)),
    Op("reciprocal_rsqrt", lambda lib, F, x: x.reciprocal() + x.rsqrt(), (P,)),
    Op("sum_dim", lambda lib, F, x: x.sum(dim=1) ** 2, (A,)),
    Op("sum_keepdim", lambda lib, F, x: x.sum(0, keepdim=True) ** 2 * x, (A,)),
    Op("sum_all", lambda lib, F, x: x.sum() ** 2, (A,)),
    Op("mean_dims", lambda lib, F, x: x.reshape(3, 2, 2).mean((0, 2)) ** 3, (A,)),
    Op("mean_all", lambda lib, F, x: x.mean() ** 2 * x, (A,)),
    Op("matmul", lambda lib, F, x, y: (x @ y.T).tanh(), (A, A)),
    Op("matmul_vector", lambda lib, F, x, v: (x @ v) ** 2 + (v @ v) * (v @ x.T), (A, B)),
    Op("matmul_batched", lambda lib, F, x, y: (x @ y) ** 2, (((2, 3, 4), -1, 1), ((4, 5), -1, 1))),
    Op(
        "linear",
        lambda lib, F, x, w, b: F.linear(x, w, b).tanh(),
        (A, ((5, 4), -1, 1), ((5,), -1, 1)),
    ),
    Op(
        "linear_3d_no_bias",
        lambda lib, F, x, w: F.linear(x, w).tanh(),
        (((2, 3, 4), -1, 1), ((5, 4), -1, 1)),
    ),
    Op("reshape_view", lambda lib, F, x: x.reshape(12).tanh() * x.view(4, 3).reshape(12), (A,)),
    Op("transpose_t", lambda lib, F, x: x.T @ x.tanh() + x.t() @ x.transpose(0, 1).T ** 3, (A,)),
    Op("permute", lambda lib, F, x: x.reshape(3, 2, 2).permute(2, 0, 1) ** 3, (A,)),
    Op("expand_broadcast", lambda lib, F, x, v: x.expand(3, 4) ** 3 * v, (((1, 4), -1, 1), A)),
    Op("unsqueeze_flatten", lambda lib, F, x: x.unsqueeze(0).squeeze(0).flatten() ** 3, (A,)),
    Op(
        "index_slices",
        lambda lib, F, x: (x[:, 1:3] ** 3).sum() + x[1] ** 2 * x[-1, ::2].sum(),
        (A,),
    ),
    Op("index_repeated", lambda lib, F, x: x[[0, 0, 2]] ** 3, (A,)),
    Op("softplus", lambda lib, F, x: F.softplus(x * 5, beta=2.0, threshold=3.0) * x, (A,)),
    Op("norm_dim", lambda lib, F, x: x.norm(2, dim=1) ** 2 * x.norm(dim=1), (A,)),
    Op(
        "norm_all",
        lambda lib, F, x: x.norm() ** 3 + lib.linalg.vector_norm(x, 1, dim=0).sum() ** 2,
        (A,),
    ),
    Op(
        "mse_loss",
        lambda lib, F, x, y: (
            F.mse_loss(x, y) ** 2
            + F.mse_loss(x, y, reduction="sum") * F.mse_loss(x, y, reduction="none").sum()
        ),
        (A, P),
    ),
    Op(
        "stack_cat",
        lambda lib, F, x, y: lib.stack([x, y], 1) ** 3 + lib.cat([x, y], 0).sum() ** 2,
        (A, P),
    ),
    Op("where_clone", lambda lib, F, x, y: lib.where(x > 0, x, y).clone() ** 3, (A, P)),
    Op("cast", lambda lib, F, x: (x.float() ** 3).double() * x, (A,), float32=True),
    Op(
        "tanh_mlp",
        lambda lib, F, x, w: (F.linear(F.linear(x, w).tanh(), w.T)).sigmoid(),
        (A, ((5, 4), -1, 1)),
    ),
]


def variables(op: Op, seed: int = 0) -> list[gradviz.Variable]:
    return [gradviz.tensor(a, requires_grad=True) for a in op.arrays(seed)]


def first(op: Op, xs: list) -> tuple:
    """The first gradient, with its graph."""
    return grad(op.fn(gradviz, gradviz.nn.functional, *xs).sum(), xs, create_graph=True)


def weighted(grads: tuple, weights: list[np.ndarray]) -> Any:
    """sum_i <weights[i], grads[i]>: random weights, so that no error cancels in a sum."""
    return sum((g * gradviz.tensor(w)).sum() for g, w in zip(grads, weights, strict=True))


def check_by_finite_differences(op: Op) -> None:
    """d/dx_j <w, grad f(x)>, from a backward pass through the first gradient's graph, equals
    the central difference of <w, grad f(x)> computed by plain first-order backward."""
    xs = variables(op)
    ws = op.arrays(1)
    analytic = grad(weighted(first(op, xs), ws), xs, allow_unused=True)

    def probe(arrays: list[np.ndarray]) -> float:
        ys = [gradviz.tensor(a, requires_grad=True) for a in arrays]
        gs = grad(op.fn(gradviz, gradviz.nn.functional, *ys).sum(), ys)
        return float(sum((g.numpy() * w).sum() for g, w in zip(gs, ws, strict=True)))

    eps = 1e-6
    for i, x in enumerate(xs):
        numeric = np.zeros(x.shape)
        for j in np.ndindex(x.shape):
            plus = [x.numpy().copy() for x in xs]
            minus = [x.numpy().copy() for x in xs]
            plus[i][j] += eps
            minus[i][j] -= eps
            numeric[j] = (probe(plus) - probe(minus)) / (2 * eps)
        got = np.zeros(x.shape) if analytic[i] is None else analytic[i].numpy()
        np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6, err_msg=f"input {i}")


def check_against_pytorch(op: Op) -> None:
    """The value, the first gradient (with ``requires_grad`` as PyTorch's) and the gradient of
    the first gradient equal PyTorch's (its attention on the math kernel, the one with double
    backward)."""
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    arrays, ws = op.arrays(), op.arrays(1)
    rtol = 1e-6 if op.float32 else 1e-10
    xs = [gradviz.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = op.fn(gradviz, gradviz.nn.functional, *xs)
    with sdpa_kernel([SDPBackend.MATH]):
        yt = op.fn(torch, torch.nn.functional, *ts)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    gs = grad(y.sum(), xs, create_graph=True)
    gts = torch.autograd.grad(yt.sum(), ts, create_graph=True)
    for g, gt in zip(gs, gts, strict=True):
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=rtol, atol=1e-12)
        assert g.requires_grad == gt.requires_grad
    hs = grad(weighted(gs, ws), xs, allow_unused=True)
    hts = torch.autograd.grad(
        sum((g * torch.tensor(w)).sum() for g, w in zip(gts, ws, strict=True)), ts,
        allow_unused=True,
    )  # fmt: skip
    for h, ht in zip(hs, hts, strict=True):
        assert (h is None) == (ht is None)
        if h is not None:
            np.testing.assert_allclose(h.numpy(), ht.numpy(force=True), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("op", [op for op in CASES if not op.float32], ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


def test_third_derivative_by_create_graph_twice():
    x = gradviz.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (d1,) = grad((x**4).sum(), x, create_graph=True)
    (d2,) = grad(d1.sum(), x, create_graph=True)
    (d3,) = grad(d2.sum(), x, create_graph=True)
    (d4,) = grad(d3.sum(), x)
    np.testing.assert_allclose(d1.numpy(), 4 * x.numpy() ** 3)
    np.testing.assert_allclose(d2.numpy(), 12 * x.numpy() ** 2)
    np.testing.assert_allclose(d3.numpy(), 24 * x.numpy())
    np.testing.assert_allclose(d4.numpy(), np.full(3, 24.0))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph_gives_grad_a_graph_and_accumulates_as_pytorch():
    torch = pytest.importorskip("torch")
    data = np.array([0.5, -1.0, 2.0])
    ours, theirs = gradviz.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    for lib, x in ((gradviz, ours), (torch, theirs)):
        (x**3).sum().backward(create_graph=True)
        assert x.grad.grad_fn is not None
        assert x.grad.requires_grad
        (x.sin() * x).sum().backward(create_graph=True)  # grad + new: a new Variable
        lib.autograd.backward(x.grad.sum(), inputs=[x])  # the graph was kept (retain_graph)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.detach().numpy(), rtol=1e-12)


def test_grad_outputs_weights_and_leaves_every_grad_alone():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    w = gradviz.tensor([3.0, 4.0], requires_grad=True)
    x.grad = gradviz.tensor([7.0, 7.0])
    y = x**2 * w
    (gx,) = grad(y, x, grad_outputs=gradviz.tensor([1.0, 10.0]), create_graph=True)
    np.testing.assert_allclose(gx.numpy(), [6.0, 160.0])  # 2 x w * weight
    (gw,) = grad(gx.sum(), w)
    np.testing.assert_allclose(gw.numpy(), [2.0, 40.0])  # 2 x * weight
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])
    assert w.grad is None


def test_unused_inputs_materialized_and_inputs_of_backward():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    other = gradviz.tensor([1.0], requires_grad=True)
    y = (x**3).sum() * other
    with pytest.raises(BackwardError, match="not have been used in the graph"):
        grad((x**2).sum(), [x, other], create_graph=True)
    assert grad((x**2).sum(), [x, other], create_graph=True, allow_unused=True)[1] is None
    zeros = grad((x**2).sum(), [x, other], create_graph=True, materialize_grads=True)[1]
    np.testing.assert_array_equal(zeros.numpy(), [0.0])
    y.backward(create_graph=True, inputs=[x])
    assert other.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


def test_float32_stays_float32_and_broadcasts_are_undone():
    x = gradviz.tensor(np.ones((3, 1), np.float32), requires_grad=True)
    b = gradviz.tensor(np.full(4, 2.0, np.float32), requires_grad=True)
    (gx, gb) = grad(((x * b) ** 2).sum(), [x, b], create_graph=True)
    assert (gx.shape, gb.shape, gx.dtype, gb.dtype) == ((3, 1), (4,), np.float32, np.float32)
    np.testing.assert_allclose(gx.numpy(), np.full((3, 1), 32.0))
    (hb,) = grad(gx.sum(), b)
    np.testing.assert_allclose(hb.numpy(), np.full(4, 24.0))  # d/db_j sum_i 4 x_i b_j^2


def test_hooks_see_the_gradient_with_its_graph_and_may_replace_it():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    h = x**2
    seen = []
    h.register_hook(lambda g: seen.append(g) or g * h)  # a replacement with a graph of its own
    (gx,) = grad(h.sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), [2.0, 16.0])  # h * 2x
    assert seen[0].shape == (2,)
    (gg,) = grad(gx.sum(), x)  # the hook runs again on h's gradient here, as PyTorch's:
    np.testing.assert_allclose(gg.numpy(), [6.0, 72.0])  # 2x*h*2x (through h) + 2h: 4x^4 + 2x^2


def test_an_op_without_a_graph_rule_is_refused_by_name_before_any_grad_changes():
    x = gradviz.randn(1, 1, 5, requires_grad=True)
    w = gradviz.randn(1, 1, 3, requires_grad=True)
    x.grad = gradviz.zeros(1, 1, 5)
    far = gradviz.cdist(x.reshape(5, 1), x.reshape(5, 1) * 2)
    loss = (far.tanh() * w.sum() + x.sum()).sum()
    with pytest.raises(BackwardError, match=r"through Cdist are not supported; supported ops: "):
        loss.backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 1, 5)))
    assert w.grad is None
    loss.backward()  # first derivatives as ever
    (gx,) = grad((x**2).sum(), x, create_graph=True)  # a graph without it is fine
    assert gx.grad_fn is not None


def test_an_op_off_the_path_to_the_inputs_needs_no_rule():
    """Only ops between the outputs and the inputs asked for run their graph rule."""
    x = gradviz.randn(3, requires_grad=True)
    w = gradviz.randn(1, 1, 2, requires_grad=True)
    side = (w.cummax(-1).values ** 2).sum()
    (gx,) = grad((x**2).sum() * side, x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() * side.item(), rtol=1e-6)


def test_refusals_of_rules_with_limits_and_of_freed_or_written_graphs():
    x = gradviz.randn(3, 2, requires_grad=True)
    with pytest.raises(BackwardError, match="of a 3-norm are not supported"):
        grad(x.norm(3, dim=1).sum(), x, create_graph=True)
    (g,) = grad((x**3).sum(), x, create_graph=True, retain_graph=False)
    grad(g.sum(), x)  # its graph does not pass through the freed Pow, as in PyTorch
    (g,) = grad(x.tanh().sum(), x, create_graph=True, retain_graph=False)
    with pytest.raises(BackwardError, match="backward through the graph a second time"):
        grad(g.sum(), x)  # 1 - tanh(x)^2 reads tanh(x), whose node was freed
    h = x * 1.0
    z = (h * h).sum()
    with gradviz.no_grad():
        h.add_(1.0)  # written after Mul read it
    with pytest.raises(BackwardError, match="modified by an inplace operation"):
        grad(z, x, create_graph=True)
    u = gradviz.randn(3, requires_grad=True)
    with pytest.raises(BackwardError, match="does not require grad"):
        grad(gradviz.randn(3).sum(), u, create_graph=True)
    with pytest.raises(BackwardError, match="only for scalar outputs"):
        (u * u).backward(create_graph=True)


def test_a_user_function_may_bring_its_own_graph_rule():
    class Cube(gradviz.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

        @staticmethod
        def backward_graph(ctx, grad, out):
            (x,) = ctx.inputs
            return grad * 3 * x**2

    x = gradviz.tensor([1.0, -2.0], requires_grad=True)
    (g,) = grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())

    class Plain(Cube):  # a rule counts only on the class that defines it
        pass

    with pytest.raises(BackwardError, match="through Plain are not supported"):
        grad(Plain.apply(x).sum(), x, create_graph=True)


def test_retained_and_chosen_non_leaf_grads_carry_their_graph():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    (h**3).sum().backward(create_graph=True)
    np.testing.assert_allclose(h.grad.numpy(), [3.0, 48.0])  # 3 h^2
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 192.0])  # 3 h^2 * 2x
    (hx,) = grad(h.grad.sum(), x)
    np.testing.assert_allclose(hx.numpy(), [12.0, 96.0])  # d/dx 3 x^4
    x.grad = None
    s = x.sin()
    (s**2).sum().backward(create_graph=True, inputs=[s])
    assert x.grad is None
    assert s.grad.grad_fn is not None
    np.testing.assert_allclose(s.grad.numpy(), 2 * np.sin([1.0, 2.0]))
