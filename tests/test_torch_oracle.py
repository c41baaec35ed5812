"""Ops and functional against PyTorch (float64): forward values and every input's gradient.

Runs only when torch is installed (``pip install torch==2.13.0``, the pinned CPU build).
Inputs include the points where subgradient and tie choices matter (relu at 0, abs at 0, clamp
at its bounds, max ties), which gradcheck cannot judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@dataclass(frozen=True)
class Oracle:
    id: str
    inputs: tuple[Any, ...]  # a shape (random values in [low, high]) or an explicit array
    ours: Callable[..., Variable]
    theirs: Callable[..., Any]
    low: float = -2.0
    high: float = 2.0
    constants: tuple[int, ...] = ()  # indices of inputs passed without requires_grad

    def arrays(self) -> list[np.ndarray]:
        rng = np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(self.id)))
        return [
            np.array(spec, dtype=np.float64)
            if isinstance(spec, np.ndarray | list)
            else rng.uniform(self.low, self.high, spec)
            for spec in self.inputs
        ]


LABELS = np.array([0, 2, 1, 2])
SOFT = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
KINKS = [-2.0, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 2.0]
TIES = np.array([[3.0, 1.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [0.0, 5.0, -4.0, 5.0]])


def _labels():
    return torch.from_numpy(LABELS)


def _soft():
    return torch.from_numpy(SOFT)


CASES = [
    # arithmetic and broadcasting
    Oracle("add_broadcast", ((3, 1), (4,)), lambda a, b: a + b, lambda a, b: a + b),
    Oracle("sub_broadcast", ((2, 3, 4), (3, 4)), lambda a, b: a - b, lambda a, b: a - b),
    Oracle("mul_broadcast", ((2, 1, 4), (3, 1)), lambda a, b: a * b, lambda a, b: a * b),
    Oracle("div_broadcast", ((3, 4), (4,)), lambda a, b: a / b, lambda a, b: a / b),
    Oracle(
        "reflected",
        ((3,),),
        lambda x: (2 - x) * 3 / (1 + x * x) - 2**x,
        lambda x: (2 - x) * 3 / (1 + x * x) - 2**x,
    ),
    Oracle("neg", ((2, 3),), lambda x: -x, lambda x: -x),
    Oracle("pow_scalar", ((2, 3),), lambda x: x**3, lambda x: x**3),
    Oracle("pow_zero_at_zero", ([0.0, 1.0, -2.0],), lambda x: x**0, lambda x: x**0),
    Oracle("pow_tensor", ((3, 1), (4,)), lambda a, b: a**b, lambda a, b: a**b, 0.5, 2.0),
    # products
    Oracle("mm", ((3, 4), (4, 2)), lambda a, b: a @ b, lambda a, b: a @ b),
    Oracle("dot", ((4,), (4,)), lambda a, b: a @ b, lambda a, b: a @ b),
    Oracle("mv", ((3, 4), (4,)), lambda a, b: a @ b, lambda a, b: a @ b),
    Oracle("vm", ((4,), (4, 2)), lambda a, b: a @ b, lambda a, b: a @ b),
    Oracle("bmm_broadcast", ((2, 1, 3, 4), (5, 4, 2)), lambda a, b: a @ b, lambda a, b: a @ b),
    Oracle("linear_3d", ((2, 3, 4), (5, 4), (5,)), F.linear, TF.linear),
    Oracle("linear_nobias", ((3, 4), (5, 4)), F.linear, TF.linear),
    # reductions
    Oracle("sum_dims", ((2, 3, 4),), lambda x: x.sum(dim=(0, 2)), lambda x: x.sum(dim=(0, 2))),
    Oracle(
        "mean_keepdim",
        ((2, 3, 4),),
        lambda x: x.mean(dim=-1, keepdim=True),
        lambda x: x.mean(dim=-1, keepdim=True),
    ),
    Oracle("amax_ties", (TIES,), lambda x: x.amax(dim=1), lambda x: x.amax(dim=1)),
    Oracle("amin_ties_all", (TIES,), lambda x: x.amin(), lambda x: x.amin()),
    Oracle("max_full_ties", (TIES,), lambda x: x.max(), lambda x: x.max()),
    Oracle("max_dim", ((3, 4),), lambda x: x.max(dim=1).values, lambda x: x.max(dim=1).values),
    Oracle(
        "min_dim_keepdim",
        ((3, 4),),
        lambda x: x.min(dim=0, keepdim=True).values,
        lambda x: x.min(dim=0, keepdim=True).values,
    ),
    # shapes
    Oracle(
        "reshape_transpose",
        ((2, 3, 4),),
        lambda x: x.reshape(6, 4).transpose(0, 1),
        lambda x: x.reshape(6, 4).transpose(0, 1),
    ),
    Oracle("permute", ((2, 3, 4),), lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    Oracle("T_2d", ((3, 4),), lambda x: x.T, lambda x: x.T),
    Oracle(
        "flatten_unsqueeze",
        ((2, 3, 4),),
        lambda x: x.flatten(1).unsqueeze(0),
        lambda x: x.flatten(1).unsqueeze(0),
    ),
    Oracle("index_repeats", ((4, 3),), lambda x: x[[0, 0, 3], 1:], lambda x: x[[0, 0, 3], 1:]),
    Oracle("index_mask", ((3, 4),), lambda x: x[TIES > 1], lambda x: x[torch.from_numpy(TIES > 1)]),
    Oracle(
        "cat",
        ((2, 3), (2, 1)),
        lambda a, b: gradviz.cat([a, b, a], dim=1),
        lambda a, b: torch.cat([a, b, a], dim=1),
    ),
    Oracle(
        "stack",
        ((2, 3), (2, 3)),
        lambda a, b: gradviz.stack([a, b], dim=1),
        lambda a, b: torch.stack([a, b], dim=1),
    ),
    # elementwise, including the kinks
    Oracle(
        "exp_log_sqrt",
        ((2, 3),),
        lambda x: x.exp() + x.log() * x.sqrt(),
        lambda x: x.exp() + x.log() * x.sqrt(),
        0.5,
        2.0,
    ),
    Oracle("abs_kinks", (KINKS,), lambda x: x.abs(), lambda x: x.abs()),
    Oracle("clamp_kinks", (KINKS,), lambda x: x.clamp(-1, 0.5), lambda x: x.clamp(-1, 0.5)),
    Oracle("relu_kinks", (KINKS,), F.relu, TF.relu),
    Oracle(
        "leaky_relu_kinks",
        (KINKS,),
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: TF.leaky_relu(x, 0.2),
    ),
    Oracle("sigmoid", ((3, 4),), F.sigmoid, torch.sigmoid, -8.0, 8.0),
    Oracle("sigmoid_extreme", ([-800.0, -40.0, 0.0, 40.0, 800.0],), F.sigmoid, torch.sigmoid),
    Oracle("tanh", ((3, 4),), F.tanh, torch.tanh),
    Oracle("gelu", ((3, 4),), F.gelu, TF.gelu, -4.0, 4.0),
    Oracle(
        "gelu_tanh",
        ((3, 4),),
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: TF.gelu(x, approximate="tanh"),
        -4.0,
        4.0,
    ),
    # fused functional ops and losses
    Oracle("softmax", ((3, 4),), lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0)),
    Oracle(
        "log_softmax",
        ((2, 3, 4),),
        lambda x: F.log_softmax(x, dim=1),
        lambda x: TF.log_softmax(x, dim=1),
    ),
    Oracle(
        "log_softmax_large",
        ([[1000.0, 0.0, -1000.0]],),
        lambda x: F.log_softmax(x, dim=1),
        lambda x: TF.log_softmax(x, dim=1),
    ),
    Oracle("mse_broadcast_free", ((3, 4), (3, 4)), F.mse_loss, TF.mse_loss),
    Oracle(
        "bce_logits_extreme",
        ([[-60.0, -3.0, 0.0, 3.0, 60.0]], [[1.0, 0.0, 0.5, 1.0, 0.0]]),
        F.binary_cross_entropy_with_logits,
        TF.binary_cross_entropy_with_logits,
    ),
    Oracle(
        "bce_edges",
        ([[0.0, 0.3, 0.7, 1.0]], [[0.0, 1.0, 0.2, 1.0]]),
        F.binary_cross_entropy,
        TF.binary_cross_entropy,
        constants=(1,),
    ),
]
for reduction in ("mean", "sum", "none"):
    CASES += [
        Oracle(
            f"cross_entropy_labels_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.cross_entropy(x, LABELS, reduction=r),
            lambda x, r=reduction: TF.cross_entropy(x, _labels(), reduction=r),
        ),
        Oracle(
            f"cross_entropy_probs_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.cross_entropy(x, SOFT, reduction=r),
            lambda x, r=reduction: TF.cross_entropy(x, _soft(), reduction=r),
        ),
        Oracle(
            f"nll_loss_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.nll_loss(F.log_softmax(x, dim=1), LABELS, reduction=r),
            lambda x, r=reduction: TF.nll_loss(TF.log_softmax(x, dim=1), _labels(), reduction=r),
        ),
        Oracle(
            f"mse_loss_{reduction}",
            ((3, 4), (3, 4)),
            lambda x, t, r=reduction: F.mse_loss(x, t, reduction=r),
            lambda x, t, r=reduction: TF.mse_loss(x, t, reduction=r),
        ),
        Oracle(
            f"bce_{reduction}",
            ((3, 4), (3, 4)),
            lambda p, t, r=reduction: F.binary_cross_entropy(p, t, reduction=r),
            lambda p, t, r=reduction: TF.binary_cross_entropy(p, t, reduction=r),
            0.05,
            0.95,
        ),
        Oracle(
            f"bce_logits_{reduction}",
            ((3, 4), (3, 4)),
            lambda x, t, r=reduction: F.binary_cross_entropy_with_logits(x, t, reduction=r),
            lambda x, t, r=reduction: TF.binary_cross_entropy_with_logits(x, t, reduction=r),
            0.0,
            1.0,
        ),
    ]


# Where gradviz used to answer differently (or raise) and PyTorch (2.13) answers.
NANS = np.array([[1.0, np.nan, 3.0, np.nan], [np.nan, 2.0, np.nan, 0.0], [3.0, 1.0, 3.0, 0.0]])
IGNORED = np.array([-100, 2, -100, 0])
CASES += [
    # NaN: max()/min() send the gradient to the NaNs (shared); amax/amin give NaN gradients
    Oracle("max_full_nan", ([1.0, np.nan, 3.0],), lambda x: x.max(), lambda x: x.max()),
    Oracle("min_full_nans", (NANS,), lambda x: x.min(), lambda x: x.min()),
    Oracle("amax_full_nan", (NANS,), lambda x: x.amax(), lambda x: x.amax()),
    Oracle("amin_dim_nan", (NANS,), lambda x: x.amin(dim=1), lambda x: x.amin(dim=1)),
    Oracle("max_dim_nan", (NANS,), lambda x: x.max(dim=1).values, lambda x: x.max(dim=1).values),
    Oracle("min_dim_nan", (NANS,), lambda x: x.min(dim=0).values, lambda x: x.min(dim=0).values),
    Oracle("relu_nan", ([np.nan, -1.0, 0.0, 2.0],), F.relu, torch.relu),
    # dim=() reduces every axis; 0-d inputs take dim 0 and -1
    Oracle("sum_dim_empty", ((2, 3),), lambda x: x.sum(dim=()), lambda x: x.sum(dim=())),
    Oracle("amax_dim_empty", (TIES,), lambda x: x.amax(dim=()), lambda x: x.amax(dim=())),
    Oracle("sum_0d_dim0", (np.array(2.5),), lambda x: x.sum(dim=0), lambda x: x.sum(dim=0)),
    Oracle("amax_0d_dim-1", (np.array(2.5),), lambda x: x.amax(dim=-1), lambda x: x.amax(dim=-1)),
    Oracle(
        "max_0d_dim0",
        (np.array(2.5),),
        lambda x: x.max(dim=0, keepdim=True).values,
        lambda x: x.max(dim=0, keepdim=True).values,
    ),
    Oracle("softmax_0d", (np.array(2.5),), lambda x: F.softmax(x, dim=0), lambda x: x.softmax(0)),
]
for reduction in ("mean", "sum", "none"):
    CASES += [
        Oracle(
            f"cross_entropy_ignore_index_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.cross_entropy(x, IGNORED, reduction=r),
            lambda x, r=reduction: TF.cross_entropy(x, torch.from_numpy(IGNORED), reduction=r),
        ),
        Oracle(
            f"nll_loss_ignore_index_1_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.nll_loss(x, LABELS, reduction=r, ignore_index=1),
            lambda x, r=reduction: TF.nll_loss(x, _labels(), reduction=r, ignore_index=1),
        ),
        Oracle(
            f"cross_entropy_all_ignored_{reduction}",
            ((4, 3),),
            lambda x, r=reduction: F.cross_entropy(x, np.full(4, -100), reduction=r),
            lambda x, r=reduction: TF.cross_entropy(x, torch.full((4,), -100), reduction=r),
        ),
    ]


def _run_ours(case: Oracle, arrays: list[np.ndarray], upstream_seed: int):
    variables = [
        Variable(a.copy(), requires_grad=i not in case.constants) for i, a in enumerate(arrays)
    ]
    out = case.ours(*variables)
    upstream = np.random.default_rng(upstream_seed).normal(size=out.shape)
    out.backward(upstream)
    return out.numpy(), [v.grad for v in variables], upstream


def _run_theirs(case: Oracle, arrays: list[np.ndarray], upstream: np.ndarray):
    tensors = [
        torch.tensor(a, dtype=torch.float64, requires_grad=i not in case.constants)
        for i, a in enumerate(arrays)
    ]
    out = case.theirs(*tensors)
    out.backward(torch.from_numpy(np.asarray(upstream, dtype=np.float64)))
    return out.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in tensors]


def _check(case: Oracle) -> None:
    arrays = case.arrays()
    value, grads, upstream = _run_ours(case, arrays, upstream_seed=len(case.id))
    expected_value, expected_grads = _run_theirs(case, arrays, upstream)
    assert value.shape == expected_value.shape
    np.testing.assert_allclose(value, expected_value, rtol=1e-10, atol=1e-12)
    for index, (grad, expected) in enumerate(zip(grads, expected_grads, strict=True)):
        if index in case.constants:
            assert grad is None
            assert expected is None
            continue
        assert grad is not None, f"input {index} got no gradient"
        assert expected is not None, f"PyTorch gave input {index} no gradient"
        assert grad.shape == expected.shape
        np.testing.assert_allclose(
            grad, expected, rtol=1e-9, atol=1e-12, err_msg=f"gradient of input {index}"
        )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_pytorch(case: Oracle):
    _check(case)


def test_bce_target_gradient_at_probability_edges_is_the_clamped_derivative():
    # Deliberate: both logs are clamped at -100 in forward, and the target gradient is exactly
    # the derivative of that clamped forward (+-100 * grad), where PyTorch gives +-inf.
    p = Variable(np.array([[0.0, 0.3, 1.0]]))
    t = Variable(np.array([[0.0, 1.0, 1.0]]), requires_grad=True)
    F.binary_cross_entropy(p, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad, [[100.0, np.log(0.7) - np.log(0.3), -100.0]])


def test_max_dim_indices_match_pytorch():
    x = np.array([[1.0, 4.0, 2.0], [9.0, -1.0, 3.0]])
    ours = Variable(x).max(dim=1)
    theirs = torch.from_numpy(x).max(dim=1)
    np.testing.assert_array_equal(ours.indices, theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


@pytest.mark.parametrize(
    "expression",
    [
        "x * np.sqrt(2.0)",
        "np.float64(2.0) - x",
        "x ** np.int64(2)",
        "i / i",
        "i / 2",
        "i / np.float64(2.5)",
    ],
)
def test_result_dtype_matches_pytorch(expression):
    # Not compared: a 0-d ndarray, which PyTorch turns into a float64 tensor that widens; gradviz
    # reads it as a number (PyTorch's rule for 0-d tensors), see test_pytorch_raises.py.
    x, i = np.ones(3, dtype=np.float32), np.array([1, 2, 3])
    ours = eval(expression, {"np": np, "x": Variable(x), "i": Variable(i)})
    theirs = eval(expression, {"np": np, "x": torch.from_numpy(x), "i": torch.from_numpy(i)})
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_negative_seed_and_unbatched_loader_are_accepted_as_by_pytorch():
    torch.manual_seed(-1)  # PyTorch accepts it: so does gradviz
    gradviz.manual_seed(-1)
    data = np.arange(3.0)
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(data))))
    ours = list(gradviz.data.DataLoader(gradviz.data.TensorDataset(data)))
    assert len(ours) == len(theirs)
    unbatched_theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(data)), batch_size=None
    )
    unbatched_ours = gradviz.data.DataLoader(gradviz.data.TensorDataset(data), batch_size=None)
    for (a,), (b,) in zip(unbatched_ours, unbatched_theirs, strict=True):
        assert a.shape == tuple(b.shape) == ()
        assert a.item() == b.item()
