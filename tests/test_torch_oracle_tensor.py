"""The tensor ops against PyTorch (float64): values and every input's gradient, including the
points where tie and zero choices matter (maximum ties, a zero norm, a zero std, inf-norm ties)."""

from __future__ import annotations

import numpy as np
import pytest
from test_torch_oracle import Oracle, _check

import gradviz
from gradviz import functional as F

torch = pytest.importorskip("torch")

MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
INDEX = np.array([[0, 0, 2], [3, 1, 1], [2, 2, 0]])
TIES_A = np.array([[1.0, 2.0, 3.0, 0.0], [2.0, -1.0, 5.0, 5.0]])
TIES_B = np.array([[1.0, 0.0, 3.0, 1.0], [2.0, 4.0, -5.0, 5.0]])
WITH_ZERO_ROW = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [1.0, -1.0, 1.0]])
CONSTANT_ROW = np.array([[2.0, 2.0, 2.0], [1.0, 0.5, -3.0]])


def _mask():
    return torch.from_numpy(MASK)


def _index():
    return torch.from_numpy(INDEX)


CASES = [
    # layout
    Oracle("expand", ((3, 1),), lambda x: x.expand(2, -1, 4), lambda x: x.expand(2, -1, 4)),
    Oracle("repeat", ((2, 3),), lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3)),
    Oracle(
        "split_sections",
        ((2, 6),),
        lambda x: gradviz.cat([p * (i + 1) for i, p in enumerate(x.split([1, 3, 2], 1))], 1),
        lambda x: torch.cat([p * (i + 1) for i, p in enumerate(x.split([1, 3, 2], 1))], 1),
    ),
    Oracle(
        "chunk",
        ((7, 2),),
        lambda x: gradviz.cat([p * (i + 1) for i, p in enumerate(x.chunk(3))]),
        lambda x: torch.cat([p * (i + 1) for i, p in enumerate(x.chunk(3))]),
    ),
    Oracle("gather", ((3, 4),), lambda x: x.gather(1, INDEX), lambda x: x.gather(1, _index())),
    Oracle(
        "gather_dim0",
        ((4, 3),),
        lambda x: x.gather(0, INDEX[:2]),
        lambda x: x.gather(0, _index()[:2]),
    ),
    Oracle(
        "masked_fill",
        ((3, 4),),
        lambda x: x.masked_fill(MASK, float("-inf")).softmax(-1),
        lambda x: x.masked_fill(_mask(), float("-inf")).softmax(-1),
    ),
    Oracle(
        "masked_fill_tensor_value",
        ((3, 4), ()),
        lambda x, v: x.masked_fill(MASK, v),
        lambda x, v: x.masked_fill(_mask(), v),
    ),
    Oracle(
        "where",
        ((3, 4), (3, 1)),
        lambda a, b: gradviz.where(MASK, a, b),
        lambda a, b: torch.where(_mask(), a, b),
    ),
    Oracle(
        "where_scalar",
        ((3, 4),),
        lambda a: gradviz.where(MASK, 0.0, a),
        lambda a: torch.where(_mask(), 0.0, a),
    ),
    Oracle("tril", ((2, 3, 4),), lambda x: x.tril(1), lambda x: x.tril(1)),
    Oracle("triu", ((4, 3),), lambda x: gradviz.triu(x, -1), lambda x: torch.triu(x, -1)),
    Oracle("cumsum", ((3, 4),), lambda x: x.cumsum(-1), lambda x: x.cumsum(-1)),
    # pointwise
    Oracle("sin_cos", ((2, 3),), lambda x: x.sin() * gradviz.cos(x), lambda x: x.sin() * x.cos()),
    Oracle("square", ((2, 3),), lambda x: gradviz.square(x), lambda x: torch.square(x)),
    Oracle("maximum_ties", (TIES_A, TIES_B), lambda a, b: a.maximum(b), torch.maximum),
    Oracle("minimum_ties", (TIES_A, TIES_B), gradviz.minimum, torch.minimum),
    Oracle("maximum_broadcast", ((3, 1), (4,)), gradviz.maximum, torch.maximum),
    # reductions with a formula
    Oracle("logsumexp", ((3, 4),), lambda x: x.logsumexp(1), lambda x: x.logsumexp(1)),
    Oracle(
        "logsumexp_masked",
        ((3, 4),),
        lambda x: x.masked_fill(MASK, float("-inf")).logsumexp(-1, keepdim=True),
        lambda x: x.masked_fill(_mask(), float("-inf")).logsumexp(-1, keepdim=True),
    ),
    Oracle("var", ((3, 4),), lambda x: x.var(1), lambda x: x.var(1)),
    Oracle(
        "var_correction",
        ((3, 4),),
        lambda x: x.var(0, correction=0, keepdim=True),
        lambda x: x.var(0, correction=0, keepdim=True),
    ),
    Oracle("var_unbiased", ((5,),), lambda x: x.var(False), lambda x: x.var(False)),
    Oracle("std", ((3, 4),), lambda x: x.std(), lambda x: x.std()),
    Oracle("std_zero", (CONSTANT_ROW,), lambda x: x.std(dim=1), lambda x: x.std(dim=1)),
    Oracle("norm_2_zero", (WITH_ZERO_ROW,), lambda x: x.norm(dim=1), lambda x: x.norm(dim=1)),
    Oracle("norm_all", ((3, 4),), lambda x: x.norm(), lambda x: x.norm()),
    Oracle("norm_1", (WITH_ZERO_ROW,), lambda x: x.norm(1, 0), lambda x: x.norm(1, 0)),
    Oracle(
        "norm_inf_ties",
        (CONSTANT_ROW,),
        lambda x: x.norm(float("inf"), 1),
        lambda x: x.norm(float("inf"), 1),
    ),
    Oracle("repeat_zero", ((2, 3),), lambda x: x.repeat(0, 2), lambda x: x.repeat(0, 2)),
    Oracle("norm_3", ((2, 3),), lambda x: gradviz.norm(x, 3, 1), lambda x: x.norm(3, 1)),
    # einsum
    Oracle(
        "einsum_attention",
        ((2, 2, 3, 4), (2, 2, 5, 4)),
        lambda q, k: gradviz.einsum("bhqd,bhkd->bhqk", q, k),
        lambda q, k: torch.einsum("bhqd,bhkd->bhqk", q, k),
    ),
    Oracle(
        "einsum_bilinear",
        ((3, 4), (2, 4, 5), (3, 5)),
        lambda a, w, b: gradviz.einsum("bi,oij,bj->bo", a, w, b),
        lambda a, w, b: torch.einsum("bi,oij,bj->bo", a, w, b),
    ),
    Oracle(
        "einsum_list_implicit",
        ((2, 3), (3, 4)),
        lambda a, b: gradviz.einsum("ij,jk", [a, b]),
        lambda a, b: torch.einsum("ij,jk", [a, b]),
    ),
    Oracle(
        "einsum_reduce",
        ((3, 4), (3,)),
        lambda a, b: gradviz.einsum("ij,i->", a, b),
        lambda a, b: torch.einsum("ij,i->", a, b),
    ),
    # mirrored top-level functions
    Oracle(
        "toplevel",
        ((3, 4),),
        lambda x: gradviz.log_softmax(gradviz.tanh(x), 1) + gradviz.softmax(x, 0),
        lambda x: torch.log_softmax(torch.tanh(x), 1) + torch.softmax(x, 0),
    ),
    Oracle(
        "toplevel_matmul_clamp",
        ((3, 4), (4, 2)),
        lambda a, b: gradviz.clamp(gradviz.matmul(a, b), -1, 1),
        lambda a, b: torch.clamp(torch.matmul(a, b), -1, 1),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_pytorch(case: Oracle):
    _check(case)


def test_one_hot_matches_pytorch():
    labels = np.array([[0, 3], [2, 1]])
    ours = F.one_hot(labels)
    theirs = torch.nn.functional.one_hot(torch.from_numpy(labels))
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    wide = F.one_hot(gradviz.tensor([1, 0]), num_classes=5)
    np.testing.assert_array_equal(
        wide.numpy(), torch.nn.functional.one_hot(torch.tensor([1, 0]), 5).numpy()
    )


@pytest.mark.parametrize(
    ("data", "dtype"),
    [([1.0, 2.0], None), ([1, 2], None), ([True, False], None), (np.arange(3.0), None)],
)
def test_tensor_dtypes_match_pytorch(data, dtype):
    ours = gradviz.tensor(data, dtype=dtype)
    theirs = torch.tensor(data)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_split_and_chunk_piece_shapes_match_pytorch():
    x = np.zeros((7, 5))
    for ours, theirs in [
        (gradviz.tensor(x).split(3), torch.tensor(x).split(3)),
        (gradviz.tensor(x).split(2, dim=1), torch.tensor(x).split(2, dim=1)),
        (gradviz.tensor(x).chunk(3), torch.tensor(x).chunk(3)),
        (gradviz.tensor(x).chunk(4, 1), torch.tensor(x).chunk(4, 1)),
        (gradviz.tensor(x[:6]).chunk(4), torch.tensor(x[:6]).chunk(4)),
    ]:
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]


def test_norm_0_counts_nonzeros_and_has_a_zero_gradient():
    # PyTorch counts the same; its gradient there is None (no input gets one), ours is zeros.
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [1.0, -1.0, 1.0]])
    ours = gradviz.tensor(x, requires_grad=True)
    out = ours.norm(0, 1)
    np.testing.assert_array_equal(out.numpy(), torch.tensor(x).norm(0, 1).numpy())
    out.sum().backward()
    np.testing.assert_array_equal(ours.grad, np.zeros_like(x))
