"""PyTorch as the oracle for convolution, pooling, padding, smooth activations and the
regression losses: values and gradients in float64 (skipped unless torch is installed)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12

# torch warns that its own "same" padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def run_both(ours, theirs, *arrays, seed=0):
    """``ours`` and ``theirs`` on the same float64 arrays, with the same upstream gradient:
    the outputs and every input gradient must agree."""
    xs = [Variable(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CONV2D = [
    ((2, 4, 9, 8), (6, 4, 3, 3), {}),
    ((2, 4, 9, 8), (6, 4, 3, 2), {"stride": 2}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"stride": (2, 3), "padding": (1, 2)}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"dilation": 2, "padding": 1}),
    ((2, 4, 9, 8), (6, 2, 3, 3), {"groups": 2}),
    ((2, 4, 9, 8), (4, 1, 3, 3), {"groups": 4, "stride": 2, "padding": 1}),  # depthwise
    (
        (2, 6, 11, 10),
        (6, 2, 3, 2),
        {"stride": (3, 2), "padding": 2, "dilation": (2, 1), "groups": 3},
    ),
    ((2, 4, 9, 8), (6, 4, 4, 3), {"padding": "same", "dilation": (1, 2)}),  # odd total
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": "valid"}),
    ((4, 7, 6), (3, 4, 3, 3), {"padding": 1}),  # unbatched
]


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(x_shape, w_shape, kwargs, bias):
    arrays = [normal(*x_shape), normal(*w_shape, seed=1)]
    if bias:
        arrays.append(normal(w_shape[0], seed=2))
    run_both(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs), *arrays)


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), CONV2D[:7])
def test_conv2d_in_chunks_of_one_sample_matches_torch(monkeypatch, x_shape, w_shape, kwargs):
    # the batch runs in chunks, through one column buffer reused from chunk to chunk
    monkeypatch.setattr(importlib.import_module("gradviz.autograd.ops.conv"), "_CHUNK_BYTES", 1)
    arrays = (normal(3, *x_shape[1:]), normal(*w_shape, seed=1), normal(w_shape[0], seed=2))
    run_both(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs), *arrays)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2}, {"padding": "same"}],
)
def test_conv1d_matches_torch(kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = normal(3, 4, 12), normal(6, 4 // groups, 3, seed=1), normal(6, seed=2)
    run_both(lambda *a: F.conv1d(*a, **kwargs), lambda *a: TF.conv1d(*a, **kwargs), x, w, b)


def test_unbatched_inputs_match_torch_and_stay_one_node():
    x3, x2 = normal(3, 7, 6), normal(3, 9)
    w2, w1 = normal(4, 3, 3, 2, seed=1), normal(4, 3, 3, seed=1)
    for ours, theirs, arrays in [
        (F.conv2d, TF.conv2d, (x3, w2)),
        (F.conv1d, TF.conv1d, (x2, w1)),
        (lambda a: F.max_pool2d(a, 2, 1), lambda a: TF.max_pool2d(a, 2, 1), (x3,)),
        (lambda a: F.avg_pool2d(a, 3, 2, 1), lambda a: TF.avg_pool2d(a, 3, 2, 1), (x3,)),
    ]:
        run_both(ours, theirs, *arrays)
        out = ours(*[Variable(a, requires_grad=True) for a in arrays])
        assert all(p.op is None for p in out.parents)


def test_conv1d_is_one_node():
    x = Variable(normal(1, 2, 5), requires_grad=True)
    out = F.conv1d(x, Variable(normal(3, 2, 2), requires_grad=True))
    assert out.op == "Conv1d"
    assert all(p.op is None for p in out.parents)


def test_conv_layers_match_torch_with_copied_parameters():
    for ours, theirs, shape in [
        (
            nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
            torch.nn.Conv2d(4, 6, 3, 2, 1, groups=2),
            (2, 4, 7, 7),
        ),
        (
            nn.Conv1d(4, 6, 5, bias=False, padding="same"),
            torch.nn.Conv1d(4, 6, 5, bias=False, padding="same"),
            (2, 4, 9),
        ),
    ]:
        theirs = theirs.double()
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        with torch.no_grad():
            for (_, p), (_, q) in zip(
                ours.named_parameters(), theirs.named_parameters(), strict=True
            ):
                assert p.shape == tuple(q.shape)
                p.data = p.numpy().astype(np.float64)
                q.copy_(torch.from_numpy(p.numpy()))
        x = normal(*shape)
        run_both(ours, theirs, x)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1},
        {"kernel_size": (3, 2), "stride": (2, 1), "padding": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},
        {"kernel_size": 2, "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": (2, 3), "stride": (3, 2), "padding": (1, 0), "ceil_mode": True},
    ],
)
def test_max_pool2d_matches_torch_with_ties(kwargs):
    x = np.random.default_rng(3).integers(0, 3, (2, 3, 7, 8)).astype(np.float64)  # many ties
    run_both(lambda a: F.max_pool2d(a, **kwargs), lambda a: TF.max_pool2d(a, **kwargs), x)
    run_both(lambda a: F.max_pool2d(a, **kwargs), lambda a: TF.max_pool2d(a, **kwargs), -x)


@pytest.mark.parametrize(
    "kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}]
)
def test_max_pool2d_nan_wins_and_nan_gradients_stay_in_their_window(kwargs):
    x = np.random.default_rng(4).integers(0, 3, (2, 2, 6, 6)).astype(np.float64)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[1, 1, 3, 3] = np.nan  # two NaNs share a window
    xs, ts = Variable(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = F.max_pool2d(xs, **kwargs), TF.max_pool2d(ts, **kwargs)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    upstream = np.ones(out.shape)
    upstream[1, 0, 1, 1] = np.nan  # an upstream NaN reaches its window's maximum only
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(xs.grad, ts.grad.numpy())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0), "divisor_override": 5},
        {"kernel_size": 2, "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
        {"kernel_size": (2, 3), "stride": (3, 2), "padding": (1, 0), "ceil_mode": True},
        {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True, "divisor_override": 3},
    ],
)
def test_avg_pool2d_matches_torch(kwargs):
    run_both(
        lambda a: F.avg_pool2d(a, **kwargs),
        lambda a: TF.avg_pool2d(a, **kwargs),
        normal(2, 3, 7, 8),
    )


@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 7, 9), (3, 4)), ((2, 3, 5, 5), 1), ((3, 10, 7), (4, None)), ((1, 2, 3, 4), (5, 7))],
)
def test_adaptive_avg_pool2d_matches_torch_on_non_divisible_sizes(shape, size):
    run_both(
        lambda a: F.adaptive_avg_pool2d(a, size),
        lambda a: TF.adaptive_avg_pool2d(a, size),
        normal(*shape),
    )


@pytest.mark.parametrize(
    ("pad", "value"),
    [((1, 2), 0.0), ((1, 0, 2, 3), 1.5), ((0, 1, 1, 0, 2, 2), None), ((-1, 2, 1, -2), 0.0)],
)
def test_pad_matches_torch(pad, value):
    run_both(
        lambda a: F.pad(a, pad, value=value),
        lambda a: TF.pad(a, pad, value=value),
        normal(2, 3, 4, 5),
    )


ACTIVATIONS = [
    (F.silu, TF.silu, {}),
    (F.elu, TF.elu, {}),
    (F.elu, TF.elu, {"alpha": 0.5}),
    (F.softplus, TF.softplus, {}),
    (F.softplus, TF.softplus, {"beta": 2.0, "threshold": 3.0}),
    (F.mish, TF.mish, {}),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), ACTIVATIONS)
def test_activations_match_torch(ours, theirs, kwargs):
    x = np.concatenate([normal(50) * 4, [0.0, -30.0, 30.0, 1.4, 1.6]])
    run_both(lambda a: ours(a, **kwargs), lambda a: theirs(a, **kwargs), x)


def test_activation_layers_match_torch():
    x = normal(3, 4)
    for ours, theirs in [
        (nn.SiLU(), torch.nn.SiLU()),
        (nn.ELU(0.3), torch.nn.ELU(0.3)),
        (nn.Softplus(0.5, 4.0), torch.nn.Softplus(0.5, 4.0)),
        (nn.Mish(), torch.nn.Mish()),
    ]:
        run_both(ours, theirs, x)


LOSSES = [
    (F.l1_loss, TF.l1_loss, {}),
    (F.smooth_l1_loss, TF.smooth_l1_loss, {}),
    (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.3}),
    (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    (F.huber_loss, TF.huber_loss, {}),
    (F.huber_loss, TF.huber_loss, {"delta": 0.4}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("ours", "theirs", "kwargs"), LOSSES)
def test_regression_losses_match_torch(ours, theirs, kwargs, reduction):
    x, t = normal(4, 5), normal(4, 5, seed=1)
    run_both(
        lambda a, b: ours(a, b, reduction=reduction, **kwargs),
        lambda a, b: theirs(a, b, reduction=reduction, **kwargs),
        x,
        t,
    )


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    log_p = np.log(np.random.default_rng(0).dirichlet(np.ones(5), 4))
    q = np.random.default_rng(1).dirichlet(np.ones(5), 4)
    target = np.log(q) if log_target else q
    run_both(
        lambda a, b: F.kl_div(a, b, reduction, log_target),
        lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
        log_p,
        target,
    )


@pytest.mark.parametrize(
    ("dim", "shapes"), [(1, ((4, 5), (4, 5))), (-1, ((3, 2, 6), (2, 6))), (0, ((5,), (5,)))]
)
def test_cosine_similarity_matches_torch(dim, shapes):
    a, b = normal(*shapes[0]), normal(*shapes[1], seed=1)
    run_both(
        lambda x, y: F.cosine_similarity(x, y, dim),
        lambda x, y: TF.cosine_similarity(x, y, dim),
        a,
        b,
    )


def test_cosine_similarity_of_a_tiny_vector_matches_torch():
    a, b = np.array([[1e-10, -2e-10, 0.0]]), normal(1, 3)
    run_both(F.cosine_similarity, TF.cosine_similarity, a, b)


def test_loss_layers_match_torch():
    x, t = normal(4, 5), normal(4, 5, seed=1)
    for ours, theirs in [
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum")),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5)),
        (nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0)),
    ]:
        run_both(ours, theirs, x, t)
    log_p = np.log(np.random.default_rng(0).dirichlet(np.ones(5), 4))
    q = np.random.default_rng(1).dirichlet(np.ones(5), 4)
    kl = nn.KLDivLoss(reduction="batchmean", log_target=False)
    run_both(kl, torch.nn.KLDivLoss(reduction="batchmean"), log_p, q)


def test_float32_conv_and_pools_stay_float32_and_close_to_torch():
    x = normal(2, 3, 8, 8).astype(np.float32)
    w = normal(4, 3, 3, 3, seed=1).astype(np.float32)
    ours = F.max_pool2d(F.conv2d(Variable(x), Variable(w), padding=1), 2)
    theirs = TF.max_pool2d(TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1), 2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    gradviz.manual_seed(0)  # layers created above drew from the default generator


def test_float32_gelu_and_its_gradient_are_closer_to_torch_float64_than_torch_float32():
    # float64 as the reference: PyTorch's float32 GELU is within 1.1e-6 of it on this range
    x = np.concatenate([np.linspace(-12, 12, 2001), [0.0, -1e-8, 1e-8, 30.0, -30.0]])
    x = x.astype(np.float32)
    ours = Variable(x, requires_grad=True)
    theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, expected = F.gelu(ours), TF.gelu(theirs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=2e-6, atol=5e-7)
    out.sum().backward()
    expected.sum().backward()
    assert ours.grad.dtype == np.float32
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=2e-6, atol=5e-7)
