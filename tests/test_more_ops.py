"""prod, sign, round, count_nonzero, diag, outer, lerp, add/sub with alpha, bincount, unique,
nonzero and equal: values, dtypes and gradients side by side with torch 2.13.0 (skipped without
torch), the gradient check of each differentiable op at float64 (always), and bad arguments
raising a GradvizError in PyTorch's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz import Variable

try:
    import torch
except ImportError:  # the oracle tests skip; the gradient checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
RNG = np.random.default_rng(7)


def _same(ours: Any, theirs: Any) -> None:
    """Same values, shape and dtype (a tuple compared element by element)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)
        return
    assert isinstance(ours, Variable)
    assert not ours.requires_grad or ours.grad_fn is not None
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert ours.shape == tuple(theirs.shape)


def _both(fn: Callable[..., Any], *arrays: np.ndarray, grad: bool = True) -> None:
    """``fn`` of Variables and of torch tensors of ``arrays``: same result, and (``grad``) the
    same gradient of a random projection of it for every float input."""
    ours = [Variable(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    got, want = fn(*ours), fn(*theirs)
    _same(got, want)
    if not grad:
        return
    w = RNG.standard_normal(got.shape)
    (got * Variable(w.astype(got.dtype))).sum().backward()
    (want * torch.tensor(w.astype(got.dtype))).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-6, atol=1e-7)


def _with_zeros(*shape: int, zeros: int) -> np.ndarray:
    x = RNG.uniform(0.5, 2.0, shape) * RNG.choice([-1, 1], shape)
    x.reshape(-1)[RNG.choice(x.size, zeros, replace=False)] = 0
    return x


# -------------------------------------------------------------------------------- torch oracle
@needs_torch
@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.prod(),
        lambda x: x.prod(1),
        lambda x: x.prod(0, keepdim=True),
        lambda x: x.prod(dim=-1, keepdim=False),
    ],
    ids=["all", "dim1", "dim0_keepdim", "dim-1"],
)
def test_prod_matches_pytorch_with_zeros_in_the_input(fn, zeros):
    _both(fn, _with_zeros(3, 4, zeros=zeros))
    _both(fn, _with_zeros(1, 4, zeros=min(zeros, 1)))  # one row: a zero in the only product


@needs_torch
def test_prod_of_integers_and_bools_is_int64():
    for values in (np.array([[1, 2], [3, 4]], np.int32), np.array([True, False, True])):
        _both(lambda x: x.prod(), values, grad=False)
        _both(lambda x: x.prod(0), values, grad=False)


@needs_torch
@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_sign_and_round_match_pytorch_with_zero_gradients(decimals):
    x = np.array([[2.5, -0.5, 1.25, 0.0], [-1.35, 13.5, 3.14159, np.nan]])
    _both(lambda v: v.sign(), x)
    _both(lambda v: v.round(decimals=decimals), x)
    _both(lambda v: v.round(), np.array([1, -2, 3]), grad=False)
    _both(lambda v: v.sign(), np.array([True, False]), grad=False)


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_count_nonzero_matches_pytorch(dim):
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    _both(lambda v: v.count_nonzero(dim) if dim is not None else v.count_nonzero(), x, grad=False)


@needs_torch
@pytest.mark.parametrize("diagonal", [0, 1, -2, 5])
def test_diag_matches_pytorch_both_ways(diagonal):
    _both(lambda v: v.diag(diagonal), RNG.standard_normal(4))

    def top_level(v: Any) -> Any:  # gradviz.diag beside torch.diag
        return torch.diag(v, diagonal) if torch.is_tensor(v) else gradviz.diag(v, diagonal)

    _both(top_level, RNG.standard_normal((3, 5)))


@needs_torch
def test_outer_matches_pytorch_and_promotes():
    _both(lambda a, b: a.outer(b), RNG.standard_normal(3), RNG.standard_normal(4))
    a, b = np.arange(3), RNG.standard_normal(2).astype(np.float32)
    _same(gradviz.outer(a, b), torch.outer(torch.tensor(a), torch.tensor(b)))


@needs_torch
def test_lerp_matches_pytorch_with_number_and_tensor_weights():
    x, end = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    _both(lambda a, b: a.lerp(b, 0.3), x, end)
    _both(lambda a, b, w: a.lerp(b, w), x, end, RNG.uniform(0, 1, (2, 1)))


@needs_torch
def test_add_and_sub_with_alpha_match_pytorch():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    _both(lambda x, y: x.add(y, alpha=2.5), a, b)
    _both(lambda x, y: x.sub(y, alpha=-3), a, b)
    _both(lambda x, y: x.add(y), a, b)
    ints = np.array([1, 2, 3])
    _same(gradviz.add(ints, 2, alpha=3), torch.add(torch.tensor(ints), 2, alpha=3))
    _same(
        gradviz.sub(ints, ints, alpha=2), torch.sub(torch.tensor(ints), torch.tensor(ints), alpha=2)
    )


@needs_torch
def test_bincount_matches_pytorch():
    x = np.array([0, 3, 1, 3, 3])
    _both(lambda v: v.bincount(), x, grad=False)
    _both(lambda v: v.bincount(minlength=7), x, grad=False)
    for w in (np.linspace(0, 1, 5, dtype=np.float32), np.arange(5), np.linspace(0, 1, 5)):
        _same(gradviz.bincount(x, weights=w), torch.bincount(torch.tensor(x), torch.tensor(w)))
    _both(lambda v: v.bincount(), np.array([], np.int64), grad=False)


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_matches_pytorch(dim):
    x = np.array([[3, 1, 3], [2, 1, 2], [3, 1, 3]])
    for inverse in (False, True):
        for counts in (False, True):

            def fn(v, inverse=inverse, counts=counts):
                return v.unique(return_inverse=inverse, return_counts=counts, dim=dim)

            _both(fn, x, grad=False)
    _both(lambda v: v.unique(sorted=False), np.array([3.0, 1.0, 2.0, 1.0]), grad=False)


@needs_torch
def test_unique_keeps_each_nan_as_pytorch():
    _both(lambda v: v.unique(), np.array([1.0, np.nan, np.nan]), grad=False)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 3), (5,), (), (2, 0)])
def test_nonzero_matches_pytorch(shape):
    x = (RNG.uniform(-1, 1, shape) > 0).astype(np.float64) * 2
    _both(lambda v: v.nonzero(), x, grad=False)
    _both(lambda v: v.nonzero(as_tuple=True), x, grad=False)


@needs_torch
def test_equal_matches_pytorch():
    a = np.array([1.0, 2.0])
    pairs = [
        (a, a.copy()),
        (a, np.array([1, 2])),
        (a, np.array([[1.0, 2.0]])),
        (a, np.array([1.0, 3.0])),
        (np.array([np.nan]), np.array([np.nan])),
    ]
    for x, y in pairs:
        assert gradviz.equal(x, y) is torch.equal(torch.tensor(x), torch.tensor(y))


@needs_torch
def test_the_classic_accuracy_line_works_with_max_indices():
    logits, labels = RNG.standard_normal((8, 3)), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    _, predicted = gradviz.max(Variable(logits, requires_grad=True), 1)
    _, want = torch.max(torch.tensor(logits), 1)
    _same(predicted, want)
    assert predicted.grad_fn is None
    correct = (predicted == gradviz.tensor(labels)).sum().item()
    assert correct == (want == torch.tensor(labels)).sum().item()


# ---------------------------------------------------------------------- gradient checks (float64)
@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x: x.prod(), [(2, 3)]),
        (lambda x: x.prod(1), [(3, 4)]),
        (lambda x: gradviz.prod(x, 0, keepdim=True), [(3, 2)]),
        (lambda x: x.sign() + x, [(5,)]),
        (lambda x: x.round(decimals=1) + x, [(5,)]),
        (lambda x: x.diag(1), [(3,)]),
        (lambda x: x.diag(-1), [(3, 4)]),
        (lambda a, b: gradviz.outer(a, b), [(3,), (2,)]),
        (lambda x, e: x.lerp(e, 0.7), [(2, 3), (3,)]),
        (lambda x, e, w: gradviz.lerp(x, e, w), [(2, 3), (2, 3), (1, 3)]),
        (lambda x, y: x.add(y, alpha=2.0), [(2, 3), (3,)]),
        (lambda x, y: gradviz.sub(x, y, alpha=0.5), [(2, 3), (2, 3)]),
    ],
)
def test_differentiable_ops_pass_the_gradient_check(fn, shapes):
    inputs = [Variable(RNG.uniform(0.3, 1.7, s) * 1.01, requires_grad=True) for s in shapes]
    assert gradviz.gradcheck(fn, tuple(inputs))


def test_prod_gradient_check_with_a_zero():
    x = Variable(np.array([[0.5, 0.0, 2.0], [1.5, -1.0, 0.7]]), requires_grad=True)
    assert gradviz.gradcheck(lambda v: v.prod(1), (x,))
    assert gradviz.gradcheck(lambda v: v.prod(), (x,))


def test_indices_and_counts_carry_no_gradient():
    x = Variable(np.array([[1.0, 0.0], [1.0, 3.0]]), requires_grad=True)
    for result in (x.count_nonzero(), x.nonzero(), x.unique(), x.max(1).indices, x.sort().indices):
        assert not result.requires_grad
        assert result.grad_fn is None


# ---------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gradviz.bincount(np.array([0, -1])), "InputError", "1-d non-negative integral"),
        (lambda: gradviz.bincount(np.array([[0]])), "InputError", "1-d non-negative integral"),
        (lambda: gradviz.bincount(np.array([0.0])), "InputError", "1-d non-negative integral"),
        (lambda: gradviz.bincount(np.array([1]), minlength=-1), "InputError", "minlength"),
        (
            lambda: gradviz.bincount(np.array([1, 2]), weights=np.ones(3)),
            "ShapeError",
            "weights should be 1-d and have the same length as input",
        ),
        (lambda: gradviz.diag(np.zeros((2, 2, 2))), "ShapeError", "Supports 1D or 2D"),
        (lambda: gradviz.diag(np.zeros(2), 1.5), "OperandError", "'diagonal' must be int"),
        (lambda: gradviz.outer(np.ones(2), np.ones((2, 2))), "ShapeError", "1-D argument vec2"),
        (lambda: gradviz.prod(np.ones(2), 5), "IndexRangeError", "Dimension out of range"),
        (lambda: gradviz.prod(np.ones(2), (0,)), "OperandError", "'dim' must be int"),
        (lambda: gradviz.round(np.ones(2), decimals=1.5), "OperandError", "must be int"),
        (lambda: gradviz.round(np.ones(2, np.int64), decimals=1), "InputError", "round_cpu"),
        (
            lambda: gradviz.lerp(np.ones(2, np.float32), np.ones(2), 0.5),
            "InputError",
            "expected dtype float32 for `end` but got dtype float64",
        ),
        (
            lambda: gradviz.lerp(np.ones(2), np.ones(3), 0.5),
            "ShapeError",
            r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton",
        ),
        (
            lambda: gradviz.add(np.ones(2, np.int64), 1, alpha=0.5),
            "OperandError",
            "For integral input tensors, argument alpha must not be a floating point number",
        ),
        (
            lambda: gradviz.sub(np.ones(2), 1, alpha=True),
            "OperandError",
            "Boolean alpha only supported for Boolean results",
        ),
        (lambda: gradviz.unique(np.ones((2, 2)), dim=2), "IndexRangeError", "out of range"),
        (lambda: gradviz.count_nonzero(np.ones(2), 3), "IndexRangeError", "out of range"),
    ],
)
def test_bad_arguments_raise_a_gradviz_error_in_pytorchs_words(call, error, message):
    with pytest.raises(getattr(gradviz, error), match=message) as raised:
        call()
    assert isinstance(raised.value, gradviz.GradvizError)
