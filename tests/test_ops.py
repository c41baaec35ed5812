"""The op table: every built-in op checked against NumPy (forward) and gradcheck (backward).

Adding an op is one class in a module of ``gradviz/autograd/ops/`` and one row here;
``test_every_builtin_op_has_a_row`` fails until the row exists.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import gradviz
from gradviz import Variable
from gradviz import functional as F
from gradviz.autograd.ops import BUILTIN_OPS


@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from ``[low, high]``, pushed at least ``margin`` away from
    every point of ``avoid`` (kinks of abs, relu, clamp ...)."""

    low: float = -2.0
    high: float = 2.0
    avoid: tuple[float, ...] = ()
    margin: float = 0.1

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = rng.uniform(self.low, self.high, shape)
        for point in self.avoid:
            near = np.abs(x - point) < self.margin
            x = np.where(near, point + np.where(x >= point, self.margin, -self.margin) * 2, x)
        return x


DEFAULT = Uniform()
POSITIVE = Uniform(0.5, 2.0)
AWAY_FROM_ZERO = Uniform(avoid=(0.0,))
PROBABILITY = Uniform(0.05, 0.95)
UNIT = Uniform(0.0, 1.0)


@dataclass(frozen=True)
class Case:
    """One row: ``fn(*variables)`` must equal ``ref(*arrays)`` and pass gradcheck."""

    op: str  # the op class this row covers; it must appear in the recorded graph
    id: str
    shapes: tuple[tuple[int, ...], ...]
    fn: Callable[..., Variable]
    ref: Callable[..., Any]
    ranges: Uniform | tuple[Uniform, ...] = DEFAULT
    rtol: float = 1e-10  # forward
    atol: float = 1e-12
    gradcheck: dict[str, float] = field(default_factory=dict)  # gradcheck tolerances, eps

    def inputs(self) -> list[Variable]:
        rng = np.random.default_rng(_seed(self.id))
        ranges = (
            self.ranges if isinstance(self.ranges, tuple) else (self.ranges,) * len(self.shapes)
        )
        return [
            Variable(r.sample(rng, shape), requires_grad=True)
            for r, shape in zip(ranges, self.shapes, strict=True)
        ]


def _seed(text: str) -> int:
    """A seed from a row id that does not depend on PYTHONHASHSEED."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))


# ------------------------------------------------------------------------------ references
def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def log_softmax_ref(x, axis=-1):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def softmax_ref(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


_erf = np.vectorize(math.erf)


def gelu_ref(x):
    return x * 0.5 * (1 + _erf(x / math.sqrt(2)))


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def reduce_ref(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


LABELS = np.array([0, 2, 1, 2])  # class indices for (4, 3) logits
MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
SOFT_TARGETS = np.array(
    [[0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]]
)  # class probabilities for (4, 3) logits


def dropout_seeded(x, p):
    """Dropout under a fixed generator state: every call draws the same mask."""
    gradviz.manual_seed(1234)
    return F.dropout(x, p)


def dropout_ref(x, p):
    mask = dropout_seeded(Variable(np.ones_like(x)), p).numpy()
    return x * mask


# -------------------------------------------------------------------------------- the table
def _rows() -> list[Case]:
    rows: list[Case] = []
    add = rows.append

    # arithmetic, with broadcasting and reflected forms
    for a, b in [((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 3, 4), (3, 4)), ((3,), ()), ((), (2, 3))]:
        tag = f"{a}x{b}"
        add(Case("Add", f"add{tag}", (a, b), lambda x, y: x + y, np.add))
        add(Case("Sub", f"sub{tag}", (a, b), lambda x, y: x - y, np.subtract))
        add(Case("Mul", f"mul{tag}", (a, b), lambda x, y: x * y, np.multiply))
        add(
            Case(
                "Div",
                f"div{tag}",
                (a, b),
                lambda x, y: x / y,
                np.divide,
                ranges=(DEFAULT, Uniform(0.5, 2.0)),
            )
        )
    add(Case("Add", "x+scalar", ((3,),), lambda x: x + 1.5, lambda x: x + 1.5))
    add(
        Case(
            "Add", "int_ndarray+x", ((3,),), lambda x: np.arange(3) + x, lambda x: np.arange(3) + x
        )
    )
    add(Case("Sub", "scalar-x", ((3,),), lambda x: 2 - x, lambda x: 2 - x))
    add(Case("Sub", "x-ndarray", ((2, 3),), lambda x: x - np.ones(3), lambda x: x - 1))
    add(Case("Mul", "ndarray*x", ((3,),), lambda x: np.ones(3) * x, lambda x: x))
    add(
        Case(
            "Mul",
            "x*list",
            ((3,),),
            lambda x: x * [1.0, 2.0, 3.0],
            lambda x: x * np.array([1.0, 2.0, 3.0]),
        )
    )
    add(Case("Div", "scalar/x", ((3,),), lambda x: 3 / x, lambda x: 3 / x, ranges=POSITIVE))
    add(Case("Div", "x/scalar", ((3,),), lambda x: x / 4, lambda x: x / 4))
    add(Case("Neg", "neg", ((2, 3),), lambda x: -x, np.negative))
    add(Case("Neg", "neg_twice", ((3,),), lambda x: -((-x) * 2), lambda x: 2 * x))
    add(Case("Clone", "clone", ((2, 3),), lambda x: x.clone() * x, lambda x: x * x))
    floor_ranges = (DEFAULT, POSITIVE)  # a divisor away from 0
    add(
        Case(
            "FloorDivide",
            "x//y",
            ((2, 3), (3,)),
            lambda x, y: x // y,
            np.floor_divide,
            floor_ranges,
        )
    )
    add(Case("FloorDivide", "scalar//x", ((3,),), lambda x: 3 // x, lambda x: 3 // x, POSITIVE))
    add(Case("Remainder", "x%y", ((2, 3), (3,)), lambda x, y: x % y, np.remainder, floor_ranges))
    add(Case("Remainder", "x%scalar", ((4,),), lambda x: x % -0.75, lambda x: x % -0.75))
    add(Case("Pow", "x**2", ((2, 3),), lambda x: x**2, lambda x: x**2))
    add(Case("Pow", "x**3", ((4,),), lambda x: x**3, lambda x: x**3))
    add(Case("Pow", "x**0.5", ((4,),), lambda x: x**0.5, np.sqrt, ranges=POSITIVE))
    add(Case("Pow", "x**-1", ((4,),), lambda x: x**-1, lambda x: 1 / x, ranges=POSITIVE))
    add(Case("Pow", "x**0", ((4,),), lambda x: x**0, np.ones_like))
    add(
        Case(
            "Pow", "x**y", ((2, 3), (2, 3)), lambda x, y: x**y, np.power, ranges=(POSITIVE, DEFAULT)
        )
    )
    add(
        Case(
            "Pow",
            "x**y_broadcast",
            ((3, 1), (4,)),
            lambda x, y: x**y,
            np.power,
            ranges=(POSITIVE, DEFAULT),
        )
    )
    add(Case("Pow", "2**x", ((3,),), lambda x: 2**x, lambda x: 2.0**x))
    add(
        Case(
            "Pow",
            "ndarray**x",
            ((3,),),
            lambda x: np.array([0.5, 1.5, 3.0]) ** x,
            lambda x: np.array([0.5, 1.5, 3.0]) ** x,
        )
    )

    # matrix products
    for a, b in [
        ((4,), (4,)),
        ((3, 4), (4,)),
        ((4,), (4, 2)),
        ((3, 4), (4, 2)),
        ((2, 3, 4), (4, 2)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (2, 4, 3)),
        ((2, 3, 4), (4,)),
    ]:
        add(Case("MatMul", f"matmul{a}@{b}", (a, b), lambda x, y: x @ y, np.matmul))
    add(
        Case(
            "MatMul",
            "ndarray@x",
            ((4, 2),),
            lambda x: np.ones((3, 4)) @ x,
            lambda x: np.ones((3, 4)) @ x,
        )
    )
    for x_shape in [(4,), (3, 4), (2, 3, 4)]:
        add(
            Case(
                "Linear",
                f"linear_bias{x_shape}",
                (x_shape, (5, 4), (5,)),
                F.linear,
                lambda x, w, b: x @ w.T + b,
            )
        )
        add(
            Case(
                "Linear",
                f"linear_nobias{x_shape}",
                (x_shape, (5, 4)),
                F.linear,
                lambda x, w: x @ w.T,
            )
        )

    # reductions
    reductions = [
        ("all", {}, {}),
        ("axis0", {"axis": 0}, {"axis": 0}),
        ("axis-1", {"axis": -1}, {"axis": -1}),
        ("axis(0,2)", {"axis": (0, 2)}, {"axis": (0, 2)}),
        ("axis[0,-1]", {"axis": [0, -1]}, {"axis": (0, -1)}),
        ("axis1_keepdims", {"axis": 1, "keepdims": True}, {"axis": 1, "keepdims": True}),
        ("all_keepdims", {"keepdims": True}, {"keepdims": True}),
        ("dim-2_keepdim", {"dim": -2, "keepdim": True}, {"axis": -2, "keepdims": True}),
        ("dim(1,2)", {"dim": (1, 2)}, {"axis": (1, 2)}),
    ]
    for tag, kwargs, np_kwargs in reductions:
        for method, op, ref in [
            ("sum", "Sum", np.sum),
            ("mean", "Mean", np.mean),
            ("amax", "Amax", np.max),
            ("amin", "Amin", np.min),
        ]:
            add(
                Case(
                    op,
                    f"{method}_{tag}",
                    ((2, 3, 4),),
                    lambda x, m=method, k=kwargs: getattr(x, m)(**k),
                    lambda x, r=ref, k=np_kwargs: r(x, **k),
                )
            )
    add(
        Case(
            "Sum",
            "sum_positional",
            ((2, 3),),
            lambda x: x.sum(1, True),
            lambda x: x.sum(1, keepdims=True),
        )
    )
    add(Case("Max", "max_no_dim", ((3, 4),), lambda x: x.max(), np.max))
    add(Case("Min", "min_no_dim", ((3, 4),), lambda x: x.min(), np.min))
    for tag, kwargs, axis, keep in [
        ("dim1", {"dim": 1}, 1, False),
        ("dim-1_keepdim", {"dim": -1, "keepdim": True}, -1, True),
        ("axis0", {"axis": 0}, 0, False),
    ]:
        add(
            Case(
                "Max",
                f"max_{tag}",
                ((3, 4),),
                lambda x, k=kwargs: x.max(**k).values,
                lambda x, a=axis, kd=keep: np.max(x, axis=a, keepdims=kd),
            )
        )
        add(
            Case(
                "Min",
                f"min_{tag}",
                ((3, 4),),
                lambda x, k=kwargs: x.min(**k).values,
                lambda x, a=axis, kd=keep: np.min(x, axis=a, keepdims=kd),
            )
        )
    add(
        Case(
            "Max",
            "max_positional_unpacked",
            ((2, 3, 4),),
            lambda x: x.max(1)[0],
            lambda x: x.max(axis=1),
        )
    )

    # shapes
    add(Case("Reshape", "reshape-1", ((2, 3),), lambda x: x.reshape(-1), np.ravel))
    add(
        Case(
            "Reshape",
            "reshape_tuple",
            ((2, 3, 4),),
            lambda x: x.reshape((4, 6)),
            lambda x: x.reshape(4, 6),
        )
    )
    add(Case("Reshape", "view", ((2, 3, 4),), lambda x: x.view(3, -1), lambda x: x.reshape(3, 8)))
    add(
        Case(
            "Reshape", "flatten1", ((2, 3, 4),), lambda x: x.flatten(1), lambda x: x.reshape(2, 12)
        )
    )
    add(
        Case(
            "Reshape",
            "unsqueeze_squeeze",
            ((3, 4),),
            lambda x: x.unsqueeze(1).squeeze(1) * x.unsqueeze(-1).squeeze(),
            lambda x: x * x,
        )
    )
    add(
        Case(
            "Transpose",
            "transpose_default",
            ((2, 3, 4),),
            lambda x: x.transpose(),
            lambda x: np.swapaxes(x, -1, -2),
        )
    )
    add(
        Case(
            "Transpose",
            "transpose0_2",
            ((2, 3, 4),),
            lambda x: x.transpose(0, 2),
            lambda x: np.swapaxes(x, 0, 2),
        )
    )
    add(
        Case(
            "Permute",
            "permute_args",
            ((2, 3, 4),),
            lambda x: x.permute(2, 0, 1),
            lambda x: np.transpose(x, (2, 0, 1)),
        )
    )
    add(
        Case(
            "Permute",
            "permute_tuple_negative",
            ((2, 3, 4),),
            lambda x: x.permute((-2, 0, -1)),
            lambda x: np.transpose(x, (1, 0, 2)),
        )
    )
    add(Case("Permute", "T_2d", ((3, 4),), lambda x: x.T, lambda x: x.T))
    add(Case("Permute", "T_3d", ((2, 3, 4),), lambda x: x.T, lambda x: x.T))
    indices = [
        ("slices", lambda x: x[1:, ::2]),
        ("int", lambda x: x[1]),
        ("negative_ints", lambda x: x[-1, 2]),
        ("ellipsis_newaxis", lambda x: x[..., None, 1]),
        ("int_array_repeats", lambda x: x[np.array([0, 2, 0, 0])]),
        ("list_repeats", lambda x: x[[1, 1, 2]]),
        ("tuple_with_list_repeats", lambda x: x[[0, 0, 2], 1]),
        ("two_int_arrays", lambda x: x[np.array([0, 0, 2]), np.array([1, 1, 3])]),
        ("int_array_and_slice", lambda x: x[np.array([2, 2]), 1:3]),
        ("bool_mask", lambda x: x[MASK]),
        ("bool_rows", lambda x: x[np.array([True, False, True])]),
    ]
    for tag, index in indices:
        add(Case("Index", f"index_{tag}", ((3, 4),), index, index))
    add(
        Case(
            "Index",
            "index_variable",
            ((3, 4),),
            lambda x: x[Variable(np.array([2, 0, 2]))],
            lambda x: x[np.array([2, 0, 2])],
        )
    )
    add(
        Case(
            "Cat",
            "cat_dim0",
            ((2, 3), (1, 3), (4, 3)),
            lambda *v: gradviz.cat(v, dim=0),
            lambda *a: np.concatenate(a, axis=0),
        )
    )
    add(
        Case(
            "Cat",
            "cat_axis-1",
            ((3, 2), (3, 4)),
            lambda a, b: gradviz.concatenate([a, b], axis=-1),
            lambda a, b: np.concatenate([a, b], axis=-1),
        )
    )
    add(
        Case(
            "Cat",
            "cat_with_ndarray",
            ((2, 3),),
            lambda a: gradviz.cat([np.zeros((1, 3)), a]),
            lambda a: np.concatenate([np.zeros((1, 3)), a]),
        )
    )
    add(
        Case(
            "Stack",
            "stack_dim0",
            ((2, 3), (2, 3)),
            lambda a, b: gradviz.stack([a, b]),
            lambda a, b: np.stack([a, b]),
        )
    )
    add(
        Case(
            "Stack",
            "stack_dim-1",
            ((2, 3), (2, 3), (2, 3)),
            lambda *v: gradviz.stack(v, dim=-1),
            lambda *a: np.stack(a, axis=-1),
        )
    )
    # float64 -> float32 loses precision, so a larger step and tolerance for this row
    add(
        Case(
            "Cast",
            "cast_float32",
            ((3, 2),),
            lambda x: x.float(),
            lambda x: x.astype(np.float32),
            rtol=1e-6,
            atol=1e-7,
            gradcheck={"eps": 1e-3, "atol": 1e-3},
        )
    )
    add(
        Case(
            "Cast",
            "cast_astype_float64",
            ((3,),),
            lambda x: x.astype(np.float64) * 2,
            lambda x: x * 2,
        )
    )

    # elementwise
    add(Case("Exp", "exp", ((2, 3),), lambda x: x.exp(), np.exp))
    add(Case("Log", "log", ((2, 3),), lambda x: x.log(), np.log, ranges=POSITIVE))
    add(Case("Sqrt", "sqrt", ((2, 3),), lambda x: x.sqrt(), np.sqrt, ranges=POSITIVE))
    add(Case("Abs", "abs", ((2, 3),), lambda x: x.abs(), np.abs, ranges=AWAY_FROM_ZERO))
    add(
        Case(
            "Clamp",
            "clamp_both",
            ((3, 4),),
            lambda x: x.clamp(-0.5, 0.5),
            lambda x: np.clip(x, -0.5, 0.5),
            ranges=Uniform(avoid=(-0.5, 0.5)),
        )
    )
    add(
        Case(
            "Clamp",
            "clamp_min",
            ((3, 4),),
            lambda x: x.clamp(min=0.2),
            lambda x: np.maximum(x, 0.2),
            ranges=Uniform(avoid=(0.2,)),
        )
    )
    add(
        Case(
            "Clamp",
            "clip_max",
            ((3, 4),),
            lambda x: x.clip(max=-0.3),
            lambda x: np.minimum(x, -0.3),
            ranges=Uniform(avoid=(-0.3,)),
        )
    )
    add(Case("Relu", "relu", ((3, 4),), F.relu, lambda x: np.maximum(x, 0), ranges=AWAY_FROM_ZERO))
    add(
        Case(
            "Relu",
            "relu_method",
            ((5,),),
            lambda x: x.relu(),
            lambda x: np.maximum(x, 0),
            ranges=AWAY_FROM_ZERO,
        )
    )
    add(
        Case(
            "LeakyRelu",
            "leaky_relu",
            ((3, 4),),
            F.leaky_relu,
            lambda x: np.where(x > 0, x, 0.01 * x),
            ranges=AWAY_FROM_ZERO,
        )
    )
    add(
        Case(
            "LeakyRelu",
            "leaky_relu_0.2",
            ((3, 4),),
            lambda x: F.leaky_relu(x, 0.2),
            lambda x: np.where(x > 0, x, 0.2 * x),
            ranges=AWAY_FROM_ZERO,
        )
    )
    add(Case("Sigmoid", "sigmoid", ((3, 4),), F.sigmoid, sigmoid_ref, ranges=Uniform(-6, 6)))
    add(Case("Sigmoid", "sigmoid_method", ((3,),), lambda x: x.sigmoid(), sigmoid_ref))
    add(Case("Tanh", "tanh", ((3, 4),), F.tanh, np.tanh))
    add(Case("Tanh", "tanh_method", ((3,),), lambda x: x.tanh(), np.tanh))
    add(Case("Gelu", "gelu_exact", ((3, 4),), F.gelu, gelu_ref, ranges=Uniform(-4, 4)))
    add(
        Case(
            "Gelu",
            "gelu_tanh",
            ((3, 4),),
            lambda x: F.gelu(x, approximate="tanh"),
            gelu_tanh_ref,
            ranges=Uniform(-4, 4),
        )
    )
    add(
        Case(
            "Dropout",
            "dropout_0.3",
            ((4, 5),),
            lambda x: dropout_seeded(x, 0.3),
            lambda x: dropout_ref(x, 0.3),
        )
    )
    add(
        Case(
            "Dropout",
            "dropout_0.5_then_sum",
            ((6,),),
            lambda x: dropout_seeded(x, 0.5).sum(),
            lambda x: dropout_ref(x, 0.5).sum(),
        )
    )

    # fused functional ops
    for dim in (-1, 0, 1):
        add(
            Case(
                "Softmax",
                f"softmax_dim{dim}",
                ((3, 4),),
                lambda x, d=dim: F.softmax(x, dim=d),
                lambda x, d=dim: softmax_ref(x, d),
            )
        )
        add(
            Case(
                "LogSoftmax",
                f"log_softmax_dim{dim}",
                ((3, 4),),
                lambda x, d=dim: F.log_softmax(x, dim=d),
                lambda x, d=dim: log_softmax_ref(x, d),
            )
        )
    add(Case("Softmax", "softmax_axis_1d", ((5,),), lambda x: F.softmax(x, 0), softmax_ref))
    add(
        Case(
            "LogSoftmax",
            "log_softmax_3d",
            ((2, 3, 4),),
            lambda x: F.log_softmax(x, dim=1),
            lambda x: log_softmax_ref(x, 1),
        )
    )
    rows_idx = np.arange(4)
    for red in ("mean", "sum", "none"):
        add(
            Case(
                "NllLoss",
                f"nll_loss_{red}",
                ((4, 3),),
                lambda x, r=red: F.nll_loss(x, LABELS, reduction=r),
                lambda x, r=red: reduce_ref(-x[rows_idx, LABELS], r),
            )
        )
        add(
            Case(
                "CrossEntropy",
                f"cross_entropy_labels_{red}",
                ((4, 3),),
                lambda x, r=red: F.cross_entropy(x, LABELS, reduction=r),
                lambda x, r=red: reduce_ref(-log_softmax_ref(x)[rows_idx, LABELS], r),
            )
        )
        add(
            Case(
                "LogSoftmax",
                f"cross_entropy_probs_{red}",
                ((4, 3),),
                lambda x, r=red: F.cross_entropy(x, SOFT_TARGETS, reduction=r),
                lambda x, r=red: reduce_ref(-(log_softmax_ref(x) * SOFT_TARGETS).sum(1), r),
            )
        )
        add(
            Case(
                "MseLoss",
                f"mse_loss_{red}",
                ((3, 4), (3, 4)),
                lambda x, t, r=red: F.mse_loss(x, t, reduction=r),
                lambda x, t, r=red: reduce_ref((x - t) ** 2, r),
            )
        )
        add(
            Case(
                "BinaryCrossEntropy",
                f"bce_{red}",
                ((3, 4), (3, 4)),
                lambda p, t, r=red: F.binary_cross_entropy(p, t, reduction=r),
                lambda p, t, r=red: reduce_ref(-(t * np.log(p) + (1 - t) * np.log(1 - p)), r),
                ranges=(PROBABILITY, UNIT),
            )
        )
        add(
            Case(
                "BinaryCrossEntropyWithLogits",
                f"bce_logits_{red}",
                ((3, 4), (3, 4)),
                lambda x, t, r=red: F.binary_cross_entropy_with_logits(x, t, reduction=r),
                lambda x, t, r=red: reduce_ref(
                    -(t * np.log(sigmoid_ref(x)) + (1 - t) * np.log(1 - sigmoid_ref(x))), r
                ),
                ranges=(Uniform(-5, 5), UNIT),
            )
        )
    add(
        Case(
            "CrossEntropy",
            "cross_entropy_1d",
            ((3,),),
            lambda x: F.cross_entropy(x, np.array(2)),
            lambda x: -log_softmax_ref(x)[2],
        )
    )
    add(
        Case(
            "NllLoss", "nll_loss_1d", ((3,),), lambda x: F.nll_loss(x, np.array(1)), lambda x: -x[1]
        )
    )
    return rows


# ------------------------------------------------ convolution, pooling, activations, losses
def conv2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Direct convolution: one dot product per output position and group."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    n, o, (kh, kw) = x.shape[0], w.shape[0], w.shape[2:]
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cg, og = w.shape[1], o // groups
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = i * stride[0] + dilation[0] * np.arange(kh)
            cols = j * stride[1] + dilation[1] * np.arange(kw)
            patch = xp[:, :, rows][:, :, :, cols]  # (N, C, KH, KW)
            for g in range(groups):
                part = patch[:, g * cg : (g + 1) * cg]
                out[:, g * og : (g + 1) * og, i, j] = np.einsum(
                    "nckl,ockl->no", part, w[g * og : (g + 1) * og]
                )
    return out if b is None else out + b[:, None, None]


def pool_ref(x, kernel, stride, padding, fill, reduce):
    """``reduce`` (max or mean) over each window, padding filled with ``fill``."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2), constant_values=fill)
    oh = (xp.shape[2] - kernel) // stride + 1
    ow = (xp.shape[3] - kernel) // stride + 1
    out = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def adaptive_avg_ref(x, out_h, out_w):
    h, w = x.shape[-2:]
    out = np.zeros((*x.shape[:-2], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * h // out_h, -(-(i + 1) * h // out_h))
            cols = slice(j * w // out_w, -(-(j + 1) * w // out_w))
            out[..., i, j] = x[..., rows, cols].mean(axis=(-2, -1))
    return out


def softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _conv_rows() -> list[Case]:
    rows: list[Case] = []
    add = rows.append
    for tag, w_shape, kw in [
        ("", (3, 4, 3, 3), {}),
        ("_stride_pad", (3, 4, 3, 2), {"stride": (2, 1), "padding": (1, 2)}),
        ("_dilation", (3, 4, 2, 2), {"dilation": (2, 1), "padding": 1}),
        ("_groups", (4, 2, 3, 3), {"groups": 2, "stride": 2, "padding": 1}),
    ]:
        add(
            Case(
                "Conv2d",
                f"conv2d{tag}",
                ((2, 4, 6, 5), w_shape, (w_shape[0],)),
                lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw),
                lambda x, w, b, kw=kw: conv2d_ref(
                    x,
                    w,
                    b,
                    **{
                        k: (v, v) if isinstance(v, int) and k != "groups" else v
                        for k, v in kw.items()
                    },
                ),
            )
        )
    add(
        Case(
            "Conv2d",
            "conv2d_same_no_bias",
            ((1, 2, 5, 5), (3, 2, 3, 3)),
            lambda x, w: F.conv2d(x, w, padding="same"),
            lambda x, w: conv2d_ref(x, w, padding=(1, 1)),
        )
    )
    add(
        Case(
            "Conv1d",
            "conv1d",
            ((2, 4, 9), (6, 2, 3), (6,)),
            lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
            lambda x, w, b: conv2d_ref(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), groups=2)[
                :, :, 0
            ],
        )
    )
    add(
        Case(
            "MaxPool2d",
            "max_pool2d",
            ((2, 3, 6, 7),),
            lambda x: F.max_pool2d(x, 3, 2, padding=1),
            lambda x: pool_ref(x, 3, 2, 1, -np.inf, np.max),
        )
    )
    add(
        Case(
            "AvgPool2d",
            "avg_pool2d",
            ((2, 3, 6, 7),),
            lambda x: F.avg_pool2d(x, 3, 2, padding=1),
            lambda x: pool_ref(x, 3, 2, 1, 0.0, np.mean),
        )
    )
    add(
        Case(
            "AdaptiveAvgPool2d",
            "adaptive_avg_pool2d",
            ((2, 3, 7, 5),),
            lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
            lambda x: adaptive_avg_ref(x, 3, 4),
        )
    )
    add(
        Case(
            "ConstantPadNd",
            "pad_constant",
            ((2, 3, 4),),
            lambda x: F.pad(x, (1, 2, -1, 1), value=0.5),
            lambda x: np.pad(x[:, 1:], ((0, 0), (0, 1), (1, 2)), constant_values=0.5),
        )
    )
    for op, mode, numpy_mode in (
        ("ReflectionPadNd", "reflect", "reflect"),
        ("ReplicationPadNd", "replicate", "edge"),
        ("CircularPadNd", "circular", "wrap"),
    ):
        add(
            Case(
                op,
                f"pad_{mode}",
                ((2, 3, 4, 5),),
                lambda x, mode=mode: F.pad(x, (1, 2, 3, 0), mode=mode),
                lambda x, m=numpy_mode: np.pad(x, ((0, 0), (0, 0), (3, 0), (1, 2)), mode=m),
            )
        )
    add(Case("Silu", "silu", ((3, 4),), F.silu, lambda x: x * sigmoid_ref(x)))
    add(Case("Mish", "mish", ((3, 4),), F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))))
    add(
        Case(
            "Elu",
            "elu",
            ((3, 4),),
            lambda x: F.elu(x, 0.7),
            lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)),
            ranges=AWAY_FROM_ZERO,
        )
    )
    add(
        Case(
            "Softplus",
            "softplus",
            ((3, 4),),
            lambda x: F.softplus(x, 2.0, 1.5),
            lambda x: softplus_ref(x, 2.0, 1.5),
            ranges=Uniform(avoid=(0.75,)),
        )
    )
    for red in ("mean", "sum", "none"):
        add(
            Case(
                "L1Loss",
                f"l1_loss_{red}",
                ((3, 4), (3, 4)),
                lambda x, t, r=red: F.l1_loss(x, t, reduction=r),
                lambda x, t, r=red: reduce_ref(np.abs(x - t), r),
            )
        )
    add(
        Case(
            "SmoothL1Loss",
            "smooth_l1_loss",
            ((3, 4), (3, 4)),
            lambda x, t: F.smooth_l1_loss(x, t, beta=0.8),
            lambda x, t: np.mean(
                np.where(abs(x - t) < 0.8, 0.5 * (x - t) ** 2 / 0.8, abs(x - t) - 0.4)
            ),
        )
    )
    add(
        Case(
            "HuberLoss",
            "huber_loss",
            ((3, 4), (3, 4)),
            lambda x, t: F.huber_loss(x, t, reduction="sum", delta=0.8),
            lambda x, t: np.sum(
                np.where(abs(x - t) < 0.8, 0.5 * (x - t) ** 2, 0.8 * (abs(x - t) - 0.4))
            ),
        )
    )
    for red, log_target in (("batchmean", False), ("sum", True)):
        add(
            Case(
                "KlDiv",
                f"kl_div_{red}",
                ((3, 4), (3, 4)),
                lambda x, t, r=red, lt=log_target: F.kl_div(x, t, r, lt),
                lambda x, t, r=red, lt=log_target: (
                    (np.exp(t) * (t - x) if lt else t * (np.log(t) - x)).sum()
                    / (3 if r == "batchmean" else 1)
                ),
                ranges=(DEFAULT, POSITIVE),
            )
        )
    add(
        Case(
            "CosineSimilarity",
            "cosine_similarity",
            ((3, 4), (3, 4)),
            lambda a, b: F.cosine_similarity(a, b, dim=1),
            lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1),
        )
    )
    return rows


def _table_rows() -> list[Case]:
    """The rows of every ``op_table_*.py`` module beside this file (each a ``rows(Case,
    Uniform)``), in file-name order: a new table is a new file."""
    here = Path(__file__).parent
    names = sorted(path.stem for path in here.glob("op_table_*.py"))
    return [row for name in names for row in importlib.import_module(name).rows(Case, Uniform)]


CASES = _rows() + _conv_rows() + _table_rows()


def _ops_in_graph(out: Variable) -> set[str]:
    seen: set[int] = set()
    names: set[str] = set()
    stack = [out]
    while stack:
        v = stack.pop()
        if v.id in seen:
            continue
        seen.add(v.id)
        if v.op is not None:
            names.add(v.op)
        stack.extend(v.parents)
    return names


def _nodes_storing_attributes_undeclared(out: Variable) -> list[str]:
    """The ops in ``out``'s graph that stored attributes on ctx though their class says they
    store none (the engine then leaves those attributes until the node dies)."""
    found, seen, stack = [], set(), [out]
    while stack:
        v = stack.pop()
        node = v.grad_fn
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if not node._stores_attributes and vars(node):
            found.append(f"{v.op}: {sorted(vars(node))}")
        stack.extend(v.parents)
    return found


def test_every_builtin_op_has_a_row():
    builtin = {cls.__name__ for cls in BUILTIN_OPS}
    covered = {case.op for case in CASES}
    assert builtin - covered == set(), f"ops without a row in the op table: {builtin - covered}"
    assert covered - builtin == set(), f"rows for unknown ops: {covered - builtin}"


def test_row_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_forward_matches_numpy(case: Case):
    inputs = case.inputs()
    arrays = [v.numpy().copy() for v in inputs]
    out = case.fn(*inputs)
    assert isinstance(out, Variable)
    assert case.op in _ops_in_graph(out), f"{case.op} not in the graph of row {case.id}"
    assert _nodes_storing_attributes_undeclared(out) == []
    expected = np.asarray(case.ref(*arrays))
    assert out.shape == expected.shape
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=case.rtol, atol=case.atol)
    for v, a in zip(inputs, arrays, strict=True):  # inputs are not modified by ops
        np.testing.assert_array_equal(v.numpy(), a)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_gradient_matches_gradcheck(case: Case):
    inputs = case.inputs()
    assert gradviz.gradcheck(case.fn, inputs, **case.gradcheck) is True
    # a backward pass through the original inputs gives each input a gradient of its shape
    out = case.fn(*inputs)
    out.backward(np.ones(out.shape))
    for v in inputs:
        assert v.grad is not None
        assert v.grad.shape == v.shape
        assert v.grad.dtype == v.dtype


# Rows whose float64 ndarray constants promote a float32 input's output (an int64 ndarray does
# not: int with float32 is float32, PyTorch's rule).
PROMOTED_BY_FLOAT64_CONSTANTS = {
    "x-ndarray",
    "ndarray*x",
    "ndarray**x",
    "ndarray@x",
    "cat_with_ndarray",
    "cast_astype_float64",
    "cross_entropy_probs_mean",
    "cross_entropy_probs_sum",
    "cross_entropy_probs_none",
}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_float32_inputs_give_float32_outputs_and_gradients(case: Case):
    inputs = [Variable(v.numpy().astype(np.float32), requires_grad=True) for v in case.inputs()]
    out = case.fn(*inputs)
    expected = np.float64 if case.id in PROMOTED_BY_FLOAT64_CONSTANTS else np.float32
    assert out.dtype == expected
    out.backward(np.ones(out.shape))
    for v in inputs:
        assert v.grad.dtype == np.float32


# ------------------------------------------------------------------------- specific behaviour
def test_comparisons_return_bool_variables_outside_the_graph():
    x = Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = Variable(np.array([3.0, 2.0, 1.0]))
    results = {
        "<": (x < 2, [True, False, False]),
        "<=": (x <= 2, [True, True, False]),
        ">": (x > y, [False, False, True]),
        ">=": (x >= np.array([1.0, 3.0, 3.0]), [True, False, True]),
        "==": (x == y, [False, True, False]),
        "!=": (x != 2.0, [True, False, True]),
    }
    for symbol, (got, expected) in results.items():
        assert isinstance(got, Variable), symbol
        assert got.dtype == np.bool_, symbol
        assert not got.requires_grad, symbol
        assert got.grad_fn is None, symbol
        np.testing.assert_array_equal(got.numpy(), expected, err_msg=symbol)


def test_max_with_dim_returns_named_values_and_indices():
    x = Variable(np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]]), requires_grad=True)
    result = x.max(dim=1)
    values, indices = result
    assert values is result.values
    assert indices is result.indices
    assert isinstance(values, Variable)
    assert values.op == "Max"
    assert isinstance(indices, Variable)  # an int64 Variable without gradient, as PyTorch's
    assert indices.dtype == np.int64
    assert not indices.requires_grad
    assert indices.grad_fn is None
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])

    low = x.min(0, keepdim=True)
    np.testing.assert_array_equal(low.values.numpy(), [[1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(low.indices.numpy(), [[0, 1, 1]])


def test_max_along_dim_gives_the_whole_gradient_to_the_returned_index_on_ties():
    x = Variable(np.array([[2.0, 2.0, 1.0]]), requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [0]  # the first maximum, as NumPy's argmax
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("method", ["amax", "amin", "max", "min"])
def test_full_reductions_share_the_gradient_evenly_between_ties(method):
    x = Variable(np.array([[3.0, -1.0, 3.0], [-1.0, 0.0, 3.0]]), requires_grad=True)
    out = getattr(x, method)()
    out.backward()
    extreme = 3.0 if method in ("amax", "max") else -1.0
    ties = x.numpy() == extreme
    np.testing.assert_allclose(x.grad, ties / ties.sum())


def test_amax_along_axis_shares_ties_per_row():
    x = Variable(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]), requires_grad=True)
    x.amax(dim=1).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [[0.5, 0.5, 0.0], [0.0, 5.0, 5.0]])


def test_index_with_repeated_integers_accumulates():
    x = Variable(np.arange(6.0).reshape(3, 2), requires_grad=True)
    x[[0, 0, 2], 1].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 2], [0, 0], [0, 1]])
    x.grad = None
    x[np.array([1, 1, 1])].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0], [3, 3], [0, 0]])


def test_pow_gradient_is_zero_not_nan_for_zero_exponent_at_zero():
    x = Variable(np.array([0.0, 2.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    p = Variable(np.array([0.0, 1.0]), requires_grad=True)
    base = Variable(np.array([0.0, 0.0]), requires_grad=True)
    (base**p).sum().backward()
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])  # d/dp 0**p = 0 for p >= 0 (PyTorch)
    np.testing.assert_array_equal(base.grad, [0.0, 1.0])


@pytest.mark.parametrize(
    ("name", "fn", "x", "expected"),
    [
        ("relu at 0", F.relu, [-1.0, 0.0, 1.0], [0.0, 0.0, 1.0]),
        ("abs at 0", lambda v: v.abs(), [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]),
        ("clamp at bounds", lambda v: v.clamp(-1, 1), [-2.0, -1.0, 1.0, 2.0], [0, 1, 1, 0]),
        ("leaky_relu at 0", lambda v: F.leaky_relu(v, 0.1), [-1.0, 0.0, 1.0], [0.1, 0.1, 1.0]),
    ],
)
def test_subgradient_choices_match_pytorch(name, fn, x, expected):
    v = Variable(np.array(x), requires_grad=True)
    fn(v).sum().backward()
    np.testing.assert_allclose(v.grad, expected, err_msg=name)


def test_dropout_masks_scales_and_is_reproducible():
    x = Variable(np.ones((50, 40)), requires_grad=True)
    gradviz.manual_seed(7)
    y = F.dropout(x, 0.25)
    assert y.op == "Dropout"
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75)  # survivors scaled by 1/(1-p)
    assert 0.2 < 1 - kept.mean() < 0.3  # about p of 2000 elements dropped
    gradviz.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.25).numpy(), y.numpy())  # same seed, same mask
    gradviz.manual_seed(8)
    assert not np.array_equal(F.dropout(x, 0.25).numpy(), y.numpy())


def test_dropout_backward_is_upstream_gradient_times_mask(rng):
    x = Variable(rng.normal(size=(6, 7)), requires_grad=True)
    gradviz.manual_seed(3)
    y = F.dropout(x, 0.4)
    mask = y.numpy() / x.numpy()  # 0 where dropped, 1/(1-p) where kept
    np.testing.assert_allclose(np.unique(np.round(mask, 12)), [0.0, 1 / 0.6])
    g = rng.normal(size=(6, 7))
    y.backward(g)
    np.testing.assert_allclose(x.grad, g * mask)


def test_dropout_is_identity_in_eval_and_p0_and_zero_for_p1():
    x = Variable(np.arange(1.0, 7.0), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros(6))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(6))


def test_unary_minus_and_plus():
    x = Variable(np.array([1.0, -2.0]), requires_grad=True)
    assert +x is x
    y = -x
    assert y.op == "Neg"
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [-1.0, -10.0])


@pytest.mark.parametrize(
    ("expr", "op", "expected_value", "expected_grad"),
    [
        (lambda x: 2 - x, "Sub", [1.0, -1.0], [-1.0, -1.0]),
        (lambda x: np.ones(2) * x, "Mul", [1.0, 3.0], [1.0, 1.0]),
        (lambda x: 2**x, "Pow", [2.0, 8.0], [2 * math.log(2), 8 * math.log(2)]),
        (lambda x: 6 / x, "Div", [6.0, 2.0], [-6.0, -6 / 9]),
        (lambda x: np.array([1.0, 1.0]) + x, "Add", [2.0, 4.0], [1.0, 1.0]),
        (lambda x: np.array([[1.0, 2.0]]) @ x, "MatMul", [7.0], [1.0, 2.0]),
    ],
    ids=["scalar-x", "ndarray*x", "scalar**x", "scalar/x", "ndarray+x", "ndarray@x"],
)
def test_reflected_operators_return_variables(expr, op, expected_value, expected_grad):
    x = Variable(np.array([1.0, 3.0]), requires_grad=True)
    y = expr(x)
    assert isinstance(y, Variable)
    assert y.op == op
    np.testing.assert_allclose(y.numpy(), expected_value)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, expected_grad)


def test_mse_loss_warns_when_target_would_broadcast():
    x = Variable(np.zeros((3, 1)), requires_grad=True)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, np.zeros(3))


# ------------------------------------------------------------------- broadcasting as property
def _sum_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """NumPy reference for un-broadcasting: sum the axes along which ``shape`` was stretched."""
    lead = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(lead))) if lead else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b))),
    "-": (lambda a, b: a - b, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b))),
    "*": (lambda a, b: a * b, lambda a, b: (b + 0 * a, a + 0 * b)),
    "/": (lambda a, b: a / b, lambda a, b: (1 / b + 0 * a, -a / b**2)),
    "**": (lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * np.log(a))),
}


@given(
    symbol=st.sampled_from(sorted(BINARY)),
    shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_op_gradients_are_unbroadcast_like_numpy(symbol, shapes, seed):
    (shape_a, shape_b), result_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_data = rng.uniform(0.5, 2.0, shape_a)  # positive: valid as base of ** and divisor of /
    b_data = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1, 1], shape_b)
    if symbol != "/":
        b_data = rng.uniform(-2.0, 2.0, shape_b)
    a = Variable(a_data, requires_grad=True)
    b = Variable(b_data, requires_grad=True)
    forward, local = BINARY[symbol]
    out = forward(a, b)
    np.testing.assert_allclose(out.numpy(), forward(a_data, b_data), rtol=1e-12)
    assert out.shape == result_shape
    upstream = rng.normal(size=result_shape)
    out.backward(upstream)
    da, db = local(np.broadcast_to(a_data, result_shape), np.broadcast_to(b_data, result_shape))
    assert a.grad.shape == shape_a
    assert b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad, _sum_to(upstream * da, shape_a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad, _sum_to(upstream * db, shape_b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "shape",
    [
        (512, 64),
        (2048, 32),
        (70000, 10),
        (4096, 128),
        (600, 3000),
        (3, 700, 5),
        (64, 10),
        (32, 10),
        (2, 3, 7),
        (8, 5000),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_row_max_is_numpy_max_over_the_last_axis_for_every_row_length(shape, dtype):
    # softmax, log_softmax and cross_entropy shift each row by its max, found by chunked
    # transposed copies for short rows and by NumPy for long ones: the same value either way
    from gradviz.autograd.ops.elementwise import row_max

    x = (np.random.default_rng(0).standard_normal(shape) * 100).astype(dtype)
    if dtype != np.int64:
        x.reshape(-1)[[5, 17]] = [np.nan, -np.inf]
    want = x.max(axis=-1, keepdims=True)
    np.testing.assert_array_equal(row_max(x, -1), want)
    assert row_max(x, -1).dtype == dtype


@pytest.mark.parametrize("shape", [(32, 10), (1, 10), (7,), (2, 3, 5), (0, 4), (4, 0), (300, 70)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
def test_row_sum_is_numpy_sum_over_the_last_axis(shape, dtype):
    # softmax, log_softmax, cross_entropy and the norms sum rows as a product with ones
    from gradviz.autograd.ops.elementwise import row_sum

    x = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    want = x.sum(axis=-1, keepdims=True)
    got = row_sum(x, -1)
    assert got.shape == want.shape
    assert got.dtype == dtype
    # as exact as any order of additions: within a few roundings of the sum of |x|
    eps = np.finfo(dtype).eps if dtype != np.int64 else 0
    tolerance = 4 * eps * np.abs(x.astype(np.float64)).sum(axis=-1, keepdims=True)
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - want), tolerance + 1e-300)


def _softmax_per_row(x: np.ndarray) -> np.ndarray:
    shifted = x.astype(np.float64) - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


SOFTMAX_CASES = ["attention", "rows far apart", "row far below", "+inf", "nan", "all -inf row"]


def _short_rows(case: str, dtype: type) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 32)).astype(dtype) * 3
    if case == "attention":  # a causal mask's -inf above the diagonal
        x[:, ~np.tril(np.ones((32, 32), dtype=bool))] = -np.inf
    elif case == "rows far apart":  # row maxima spread over 30: within the shared shift's reach
        x += rng.uniform(-30, 0, (64, 32, 1)).astype(dtype)
    elif case == "row far below":  # one row's exponentials would all underflow
        x[3, 7] -= 5000
    elif case == "+inf":
        x[5, 2, 9] = np.inf
    elif case == "nan":
        x[1, 1, 1] = np.nan
    else:
        x[2, 4] = -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SOFTMAX_CASES)
def test_softmax_of_many_short_rows_is_exact_whatever_the_rows_scales(case, dtype):
    # many short rows are shifted by the array's largest element, not each row's: rows far
    # below it, infinities and NaN must still give each row's own softmax
    x = _short_rows(case, dtype)
    with np.errstate(all="ignore"):
        want = _softmax_per_row(x)
    got = gradviz.tensor(x).softmax(-1).numpy()
    assert got.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SOFTMAX_CASES)
def test_softmax_of_many_short_rows_matches_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    x = _short_rows(case, dtype)
    v = gradviz.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    grad = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    (v.softmax(-1) * grad).sum().backward()
    (t.softmax(-1) * torch.from_numpy(grad)).sum().backward()
    tol = 1e-6 if dtype == np.float32 else 1e-13
    want = t.softmax(-1).detach().numpy()
    np.testing.assert_allclose(v.softmax(-1).numpy(), want, rtol=tol, atol=tol)
    np.testing.assert_allclose(v.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
