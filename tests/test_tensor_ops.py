"""The tensor ops beyond the op table: PyTorch's errors (naming the op, what was given and what
is expected), the non-differentiable samplers, ``tensor``, and the top-level functions."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import GradvizError, InputError, OperandError, Variable
from gradviz import functional as F
from gradviz.autograd.ops import api

X = Variable(np.zeros((3, 4)))
BOOL = np.zeros((3, 4), dtype=bool)

# (call, builtin PyTorch raises, words the message must hold)
ERRORS = [
    (lambda: X.gather(1, np.array([[5]])), RuntimeError, ["gather", "index 5", "size 4"]),
    (lambda: X.gather(1, np.array([[-1]])), RuntimeError, ["gather", "-1"]),
    (lambda: X.gather(1, np.array([1])), RuntimeError, ["gather", "same number of dimensions"]),
    (lambda: X.gather(1, np.zeros((4, 1), np.int64)), RuntimeError, ["gather", "(4, 1)"]),
    (lambda: X.gather(1, np.zeros((3, 1))), RuntimeError, ["gather", "float64"]),
    (lambda: X.gather(2, np.zeros((3, 1), np.int64)), IndexError, ["gather", "out of range"]),
    (lambda: X.expand(3, 5), RuntimeError, ["expand", "(5)", "(4)"]),
    (lambda: X.expand(4), RuntimeError, ["expand", "number of sizes"]),
    (lambda: X.expand(-1, 3, 4), RuntimeError, ["expand", "-1", "leading"]),
    (lambda: X.expand(3, 4.0), TypeError, ["expand", "integers"]),
    (lambda: X.repeat(2), RuntimeError, ["repeat", "(1)", "(2)"]),
    (lambda: X.repeat(-1, 1), RuntimeError, ["repeat", "non-negative"]),
    (lambda: X.split([1, 1]), RuntimeError, ["split", "sum", "3"]),
    (lambda: X.split(0), RuntimeError, ["split", "positive", "size 3"]),
    (lambda: X.chunk(0), RuntimeError, ["chunk", "greater than 0"]),
    (lambda: X.masked_fill(np.zeros((3, 4)), 1.0), RuntimeError, ["masked_fill", "boolean"]),
    (lambda: X.masked_fill(np.zeros(5, bool), 1.0), RuntimeError, ["masked_fill", "(5,)"]),
    (lambda: X.masked_fill(BOOL, np.zeros(2)), RuntimeError, ["masked_fill", "0-d"]),
    (lambda: gradviz.where(np.zeros((3, 4)), X, X), RuntimeError, ["where", "boolean"]),
    (lambda: gradviz.where(BOOL, X, "a"), TypeError, ["where", "str"]),
    (lambda: Variable(np.zeros(3)).tril(), RuntimeError, ["tril", "at least 2"]),
    (lambda: X.triu(0.5), TypeError, ["triu", "diagonal"]),
    (lambda: X.cumsum(2), IndexError, ["cumsum", "out of range"]),
    (lambda: X.norm("nuc"), ValueError, ["norm", "'nuc'"]),
    (lambda: Variable(np.arange(3)).var(), RuntimeError, ["var", "floating point", "int64"]),
    (lambda: X.std(unbiased=True, correction=0), ValueError, ["std", "not both"]),
    (lambda: X.logsumexp(5), IndexError, ["logsumexp", "out of range"]),
    (lambda: X.maximum(1.0), TypeError, ["maximum", "float"]),
    (lambda: gradviz.einsum("...i...->...", X), RuntimeError, ["einsum", "once per operand"]),
    (lambda: gradviz.einsum("ij,jk->ik", X), RuntimeError, ["einsum", "2 operand", "1 were"]),
    (lambda: gradviz.einsum("ijk->i", X), RuntimeError, ["einsum", "2 dimension", "'ijk'"]),
    (lambda: gradviz.einsum("ij,ij->i", X, np.zeros((3, 5))), RuntimeError, ["'j'", "5", "4"]),
    (lambda: gradviz.einsum("ij->k", X), RuntimeError, ["einsum", "'k'"]),
    (lambda: gradviz.einsum("ii->i", X[:3, :2]), ValueError, ["einsum", "repeated", "sizes"]),
    (lambda: gradviz.einsum(3, X), ValueError, ["einsum", "string"]),
    (lambda: gradviz.randint(5, 5, (2,)), RuntimeError, ["randint", "from=5", "to=5"]),
    (lambda: gradviz.randint(5), TypeError, ["randint", "(high, size)"]),
    (lambda: gradviz.randint(3, (2.5,)), TypeError, ["randint", "integers"]),
    (lambda: gradviz.randperm(-1), RuntimeError, ["randperm", "-1"]),
    (lambda: gradviz.multinomial(np.ones((2, 2, 2)), 1), RuntimeError, ["multinomial", "1 or 2"]),
    (lambda: gradviz.multinomial([-1.0, 1.0], 1), RuntimeError, ["multinomial", "< 0"]),
    (lambda: gradviz.multinomial([0.0, 0.0], 1), RuntimeError, ["multinomial", "sum"]),
    (lambda: gradviz.multinomial([1.0, 1.0], 0), RuntimeError, ["multinomial", "<= 0"]),
    (lambda: gradviz.multinomial([1.0, 1.0], 3), RuntimeError, ["multinomial", "without"]),
    (lambda: F.one_hot(np.array([1], np.int32)), RuntimeError, ["one_hot", "int64", "int32"]),
    (lambda: F.one_hot(np.array([-1])), RuntimeError, ["one_hot", "non-negative"]),
    (lambda: F.one_hot(np.array([3]), 3), RuntimeError, ["one_hot", "smaller", "3"]),
    (lambda: F.one_hot(np.array([], np.int64)), RuntimeError, ["one_hot", "empty"]),
    (lambda: gradviz.exp("x"), TypeError, ["exp", "str"]),
]


@pytest.mark.parametrize(("call", "builtin", "words"), ERRORS)
def test_bad_arguments_raise_pytorchs_error_naming_the_op(call, builtin, words):
    with pytest.raises(GradvizError) as info:
        call()
    assert isinstance(info.value, builtin)
    for word in words:
        assert word in str(info.value)


# ------------------------------------------------------------------------------- samplers
def test_randint_is_int64_in_range_and_seeded():
    gradviz.manual_seed(3)
    a = gradviz.randint(2, 7, (50, 4))
    gradviz.manual_seed(3)
    b = gradviz.randint(2, 7, size=(50, 4))
    assert a.dtype == np.int64
    assert a.shape == (50, 4)
    assert a.numpy().min() >= 2
    assert a.numpy().max() < 7
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert gradviz.randint(3, (5,)).numpy().max() < 3
    assert not a.requires_grad


def test_randperm_is_a_seeded_permutation():
    gradviz.manual_seed(0)
    p = gradviz.randperm(10)
    gradviz.manual_seed(0)
    assert p.dtype == np.int64
    assert sorted(p.tolist()) == list(range(10))
    np.testing.assert_array_equal(p.numpy(), gradviz.randperm(10).numpy())
    assert gradviz.randperm(0).shape == (0,)


def test_multinomial_without_replacement_draws_distinct_categories():
    gradviz.manual_seed(1)
    weights = np.array([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 1.0, 0.0]])
    drawn = gradviz.multinomial(weights, 3)
    assert drawn.dtype == np.int64
    assert drawn.shape == (2, 3)
    assert all(len(set(row)) == 3 for row in drawn.tolist())
    assert set(drawn.tolist()[0]) == {0, 2, 3}  # the zero weight comes last
    assert drawn.tolist()[1][0] == 2


def test_multinomial_with_replacement_follows_the_weights():
    gradviz.manual_seed(2)
    drawn = gradviz.multinomial(Variable(np.array([1.0, 0.0, 3.0])), 20000, replacement=True)
    assert drawn.shape == (20000,)
    counts = np.bincount(drawn.numpy(), minlength=3) / 20000
    assert counts[1] == 0
    np.testing.assert_allclose(counts, [0.25, 0.0, 0.75], atol=0.02)
    gradviz.manual_seed(2)
    again = gradviz.multinomial(np.array([1.0, 0.0, 3.0]), 20000, replacement=True)
    np.testing.assert_array_equal(drawn.numpy(), again.numpy())


# ---------------------------------------------------------------------- tensor and masks
def test_tensor_copies_and_can_require_grad():
    data = np.arange(3.0)
    t = gradviz.tensor(data, requires_grad=True)
    data[0] = 9
    assert t.numpy()[0] == 0
    assert t.requires_grad
    assert t.dtype == np.float64
    assert gradviz.tensor([[1, 2]], dtype=np.float32).dtype == np.float32


def test_causal_mask_with_tril_and_masked_fill():
    scores = Variable(np.random.default_rng(0).normal(size=(2, 4, 4)), requires_grad=True)
    mask = gradviz.tril(gradviz.ones(4, 4)) == 0
    weights = scores.masked_fill(mask, float("-inf")).softmax(-1)
    assert np.all(weights.numpy()[:, mask] == 0)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1)
    weights[:, :, 0].sum().backward()
    assert np.all(scores.grad[:, mask] == 0)


def test_split_returns_a_tuple_of_variables_and_gradients_reach_every_piece():
    x = Variable(np.arange(10.0), requires_grad=True)
    pieces = x.split(4)
    assert isinstance(pieces, tuple)
    assert [p.shape for p in pieces] == [(4,), (4,), (2,)]
    assert [p.op for p in pieces] == ["Split"] * 3
    (pieces[0].sum() + 2 * pieces[2].sum()).backward()
    np.testing.assert_array_equal(x.grad, [1, 1, 1, 1, 0, 0, 0, 0, 2, 2])


def test_expand_sums_the_gradient_back():
    x = Variable(np.ones((3, 1)), requires_grad=True)
    y = x.expand(2, 3, 5)
    assert y.shape == (2, 3, 5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 1), 10.0))


def test_float32_stays_float32_through_where_and_norm():
    x = Variable(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    out = gradviz.where(x.numpy() > 0, x, 0.0).norm() + x.var() + x.logsumexp(1).sum()
    assert out.dtype == np.float32
    out.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", api.MIRRORED)
def test_every_top_level_function_mirrors_its_method(name):
    function = getattr(gradviz, name)
    assert function.__name__ == name
    assert f"input.{name}(" in function.__doc__
    assert (name in gradviz.__all__) != (name in api.BUILTIN_NAMES)


def test_top_level_functions_take_arrays():
    out = gradviz.exp(np.zeros(3))
    assert isinstance(out, Variable)
    np.testing.assert_array_equal(out.numpy(), np.ones(3))
    assert gradviz.sum(np.ones((2, 3)), dim=1).shape == (2,)
    assert isinstance(gradviz.matmul(np.ones((2, 3)), np.ones(3)), Variable)


def test_errors_are_gradviz_errors_of_the_right_kind():
    with pytest.raises(InputError):
        X.gather(1, np.array([[7]]))
    with pytest.raises(OperandError):
        gradviz.maximum(X, 2)


def test_where_of_two_numbers_takes_the_default_dtype():
    out = gradviz.where(np.array([True, False]), 1.0, 0.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0])


# ------------------------------------------------------------------ size() and t(), PyTorch's
def test_size_is_numpys_count_and_called_pytorchs_shape():
    x = Variable(np.zeros((3, 4, 5), np.float32))
    assert x.size == 60  # NumPy's size, an int
    assert x.size() == (3, 4, 5)
    batch, length, _ = x.size()  # nanoGPT's `B, T, C = x.size()`
    assert (batch, length) == (3, 4)
    assert (x.size(0), x.size(-1)) == (3, 5)
    with pytest.raises(gradviz.IndexRangeError, match="Dimension out of range"):
        x.size(3)
    with pytest.raises(gradviz.IndexRangeError, match="0-d"):
        Variable(np.float32(1)).size(0)


def test_t_transposes_a_matrix_and_leaves_vectors_as_they_are():
    m = Variable(np.arange(6.0).reshape(2, 3), requires_grad=True)
    m.t().sum(axis=0).pow(2).sum().backward()
    assert m.t().shape == (3, 2)
    np.testing.assert_array_equal(m.grad, [[6.0, 6.0, 6.0], [24.0, 24.0, 24.0]])
    assert Variable(np.ones(3)).t().shape == (3,)
    with pytest.raises(InputError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        Variable(np.ones((2, 2, 2))).t()


# ------------------------------------------------------------------ sort, topk, to, type_as
def _with_ties_and_nan() -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((3, 6))
    x[0, 2] = x[0, 4]  # a tie: a stable sort keeps the first first
    x[1, 1] = np.nan  # NaN sorts as the largest value
    return x


@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_pytorch_values_indices_and_gradients(descending):
    torch = pytest.importorskip("torch")
    x, w = _with_ties_and_nan(), np.random.default_rng(1).standard_normal((3, 6))
    ours, theirs = Variable(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    values, indices = ours.sort(dim=1, descending=descending, stable=True)
    want_values, want_indices = theirs.sort(dim=1, descending=descending, stable=True)
    assert isinstance(indices, Variable)
    assert indices.dtype == np.int64
    assert not indices.requires_grad
    assert indices.grad_fn is None
    np.testing.assert_array_equal(indices.numpy(), want_indices.numpy())
    np.testing.assert_array_equal(values.numpy(), want_values.detach().numpy())
    (values * w).sum().backward()
    (want_values * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_pytorch(largest):
    torch = pytest.importorskip("torch")
    x = _with_ties_and_nan()
    values, indices = gradviz.topk(Variable(x), 2, dim=0, largest=largest)
    want_values, want_indices = torch.topk(torch.tensor(x), 2, dim=0, largest=largest)
    assert isinstance(indices, Variable)
    assert indices.dtype == np.int64
    assert not indices.requires_grad
    assert indices.grad_fn is None
    np.testing.assert_array_equal(indices.numpy(), want_indices.numpy())
    np.testing.assert_array_equal(values.numpy(), want_values.numpy())


def test_topk_values_pass_the_gradient_check_and_k_is_checked():
    x = Variable(np.random.default_rng(2).standard_normal((4, 5)), requires_grad=True)
    assert gradviz.gradcheck(lambda v: v.topk(3).values, (x,))
    with pytest.raises(gradviz.IndexRangeError, match="k out of range"):
        x.topk(6)


def test_to_and_type_as_convert_dtypes_on_the_cpu():
    ints = gradviz.tensor([1, 2])
    assert ints.to(np.float32).dtype == np.float32
    assert ints.to("cpu", np.float64).dtype == np.float64
    assert ints.type_as(Variable(np.zeros(1, np.float32))).dtype == np.float32
    floats = Variable(np.zeros(2, np.float32))
    assert floats.to("cpu") is floats
    with pytest.raises(InputError, match="CPU only"):
        floats.to("cuda")
