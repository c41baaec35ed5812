"""matmul/mm/bmm/mv/dot, reshape_as, mT, new_*, flip, roll, narrow, masked_select, argsort,
cumprod, diff, median, where, logical ops, layout (is_contiguous, stride, element_size,
nbytes, itemsize), allclose/equal as methods, and the top-level tile, repeat_interleave,
hstack, vstack, meshgrid, broadcast_to, mul, div(rounding_mode), softplus: values, dtypes and
gradients side by side with torch 2.13.0 (skipped without torch); the float64 gradient checks
of the new ops are rows of the op table (``op_table_special.py``), and below for composed ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_more_ops import _both, _same, needs_torch, torch

import gradviz
from gradviz import Variable

RNG = np.random.default_rng(5)


def _lib(value: Any) -> Any:
    return torch if torch is not None and torch.is_tensor(value) else gradviz


@needs_torch
def test_products_as_methods_match_pytorch():
    a, b, v = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)), RNG.standard_normal(4)
    _both(lambda x, y: x.matmul(y), a, b)
    _both(lambda x, y: x.mm(y), a, b)
    _both(lambda x, y: x.bmm(y), RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 2)))
    _both(lambda x, y: x.mv(y), a, v)
    _both(lambda x, y: _lib(x).mv(x, y), a, v)
    _both(lambda x, y: x.dot(y), v, RNG.standard_normal(4))
    _both(lambda x, y: _lib(x).dot(x, y), v, RNG.standard_normal(4))
    _both(lambda x, y: x.dot(y), np.arange(3), np.arange(3), grad=False)


@needs_torch
def test_mul_and_div_with_rounding_modes_match_pytorch():
    a, b = RNG.uniform(-5, 5, (2, 3)), RNG.uniform(0.5, 2, 3) * RNG.choice([-1, 1], 3)
    _both(lambda x, y: _lib(x).mul(x, y), a, b)
    _both(lambda x, y: x.mul(y), a, b)
    for mode in (None, "trunc", "floor"):
        _both(lambda x, y, m=mode: x.div(y, rounding_mode=m), a, b)
        _both(lambda x, y, m=mode: _lib(x).div(x, y, rounding_mode=m), a, b)
        ints = np.array([-7, -6, 5, 7]), np.array([2, -4, 3, -2])
        _both(lambda x, y, m=mode: x.div(y, rounding_mode=m), *ints, grad=False)
        _both(lambda x, m=mode: x.div(2, rounding_mode=m), ints[0], grad=False)
        _both(lambda x, m=mode: x.div(2.5, rounding_mode=m), ints[0], grad=False)


@needs_torch
def test_reshape_as_and_mT_match_pytorch():
    _both(lambda x, y: x.reshape_as(y), RNG.standard_normal((2, 6)), RNG.standard_normal((3, 4)))
    _both(lambda x: x.mT, RNG.standard_normal((2, 3, 4)))


@needs_torch
@pytest.mark.parametrize("dtype", [None, np.int32, np.float64])
def test_new_constructors_match_pytorch(dtype):
    for base in (np.ones((2, 2), np.float32), np.ones(3, np.int64)):
        ours, theirs = Variable(base), torch.tensor(base)
        t_dtype = None if dtype is None else getattr(torch, np.dtype(dtype).name)
        for name, args in (("new_zeros", ((2, 3),)), ("new_ones", (2, 3)), ("new_empty", ((4,),))):
            got = getattr(ours, name)(*args, dtype=dtype)
            want = getattr(theirs, name)(*args, dtype=t_dtype)
            assert got.shape == tuple(want.shape)
            assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
            if name != "new_empty":
                _same(got, want)
        _same(ours.new_full((2,), 7, dtype=dtype), theirs.new_full((2,), 7, dtype=t_dtype))
        _same(ours.new_tensor([1.5, 2]), theirs.new_tensor([1.5, 2]))
    leaf = Variable(np.ones(2)).new_zeros(2, requires_grad=True)
    assert leaf.requires_grad
    assert leaf.is_leaf


@needs_torch
def test_flip_roll_narrow_match_pytorch():
    x = RNG.standard_normal((3, 4, 2))
    _both(lambda v: v.flip(0), x)
    _both(lambda v: v.flip(0, 2), x)
    _both(lambda v: v.flip([-1, 1]), x)
    _both(lambda v: _lib(v).flip(v, (1,)), x)
    _both(lambda v: v.roll(2), x)
    _both(lambda v: v.roll(-1, 1), x)
    _both(lambda v: v.roll((1, 3), (0, 1)), x)
    _both(lambda v: _lib(v).roll(v, shifts=1, dims=2), x)
    _both(lambda v: v.narrow(1, 1, 2), x)
    _both(lambda v: v.narrow(0, -2, 2), x)
    _both(lambda v: _lib(v).narrow(v, 2, 0, 1), x)


def test_flip_is_a_copy_and_narrow_a_view():
    x = Variable(np.arange(4.0))
    flipped, narrowed = x.flip(0), x.narrow(0, 1, 2)
    with gradviz.no_grad():
        flipped += 10
        narrowed += 100
    np.testing.assert_array_equal(x.numpy(), [0.0, 101.0, 102.0, 3.0])


@needs_torch
def test_masked_select_argsort_where_match_pytorch():
    x = RNG.standard_normal((3, 4))
    mask = RNG.uniform(size=(3, 4)) > 0.5
    _both(lambda v, m: v.masked_select(m), x, mask)
    _both(lambda v, m: v.masked_select(m), x[0], mask)  # broadcast
    _both(lambda v, m: _lib(v).masked_select(v, m), x, mask[:1])
    _both(lambda v: v.argsort(), x, grad=False)
    _both(lambda v: v.argsort(dim=0, descending=True), x, grad=False)
    _both(lambda v: _lib(v).argsort(v, 1), x, grad=False)
    _both(lambda v, c, y: v.where(c, y), x, mask, RNG.standard_normal(4))


@needs_torch
def test_cumprod_matches_pytorch_with_zeros():
    x = RNG.uniform(0.5, 2, (3, 5)) * RNG.choice([-1, 1], (3, 5))
    x[0, 1] = 0
    x[1, 2] = x[1, 4] = 0
    _both(lambda v: v.cumprod(1), x)
    _both(lambda v: v.cumprod(dim=0), x)
    _both(lambda v: _lib(v).cumprod(v, -1), x)
    _both(lambda v: v.cumprod(0), np.array([[1, 2], [3, 4]], np.int32), grad=False)
    _both(lambda v: v.cumprod(0), np.array([True, False]), grad=False)


def test_cumprod_gradient_check_with_zeros():
    x = Variable(np.array([[0.5, 0.0, 2.0, 1.5], [0.0, 1.2, 0.0, -0.7]]), requires_grad=True)
    assert gradviz.gradcheck(lambda v: v.cumprod(1), (x,))


@needs_torch
def test_diff_matches_pytorch():
    x = RNG.standard_normal((3, 5))
    _both(lambda v: v.diff(), x)
    _both(lambda v: v.diff(n=2, dim=0), x)
    _both(lambda v: v.diff(n=3), x)
    _both(lambda v, p, a: v.diff(dim=1, prepend=p, append=a), x, x[:, :2], x[:, :1])
    _both(lambda v: v.diff(), np.array([1, 4, 2]), grad=False)
    _both(lambda v: v.diff(), np.array([True, False, False]), grad=False)


@needs_torch
def test_median_matches_pytorch():
    x = RNG.standard_normal((4, 5))
    _both(lambda v: v.median(), x)
    _both(lambda v: _lib(v).median(v), x[:, :4])  # an even count: the lower of the two
    _both(lambda v: v.median(1), x, grad=False)
    _both(lambda v: v.median(1).values, x)
    _both(lambda v: v.median(dim=0, keepdim=True), x, grad=False)
    _both(lambda v: v.median(dim=0, keepdim=True)[0], x)
    _both(lambda v: _lib(v).median(v, -1).values, x[:, :4])
    ties = np.array([[1.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    _both(lambda v: v.median(), ties)  # the gradient shared by the elements equal to it
    with_nan = np.array([[1.0, np.nan, 2.0], [0.5, 0.1, 3.0]])
    _both(lambda v: v.median(), with_nan, grad=False)
    _both(lambda v: v.median(1), with_nan, grad=False)
    _both(lambda v: v.median(0), np.array([[3, 1], [2, 5], [1, 4]]), grad=False)
    result = gradviz.median(Variable(x), 1)
    assert result.values is result[0]
    assert result.indices.dtype == np.int64


@needs_torch
def test_logical_ops_match_pytorch():
    a, b = np.array([0.0, 1.5, -2.0, 0.0]), np.array([1, 0, 3, 0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        _both(lambda x, y, n=name: getattr(x, n)(y), a, b, grad=False)
        _both(lambda x, y, n=name: getattr(_lib(x), n)(x, y), a, b, grad=False)
    _both(lambda x: x.logical_not(), a, grad=False)
    _both(lambda x: _lib(x).logical_not(x), b, grad=False)


@needs_torch
def test_layout_matches_pytorch():
    for array in (np.zeros((2, 3, 4), np.float32), np.zeros((5,), np.int64)):
        ours, theirs = Variable(array), torch.tensor(array)
        for view in (lambda v: v, lambda v: v.transpose(0, -1), lambda v: v[::2]):
            o, t = view(ours), view(theirs)
            assert o.is_contiguous() == t.is_contiguous()
            assert o.stride() == t.stride()
            assert o.stride(0) == t.stride(0)
        assert ours.element_size() == theirs.element_size()
        assert ours.itemsize == theirs.itemsize
        assert ours.nbytes == theirs.nbytes
    assert Variable(np.zeros(3)).expand(2, 3).stride() == torch.zeros(3).expand(2, 3).stride()


@needs_torch
def test_allclose_and_equal_as_methods_match_pytorch():
    a = np.array([1.0, 2.0])
    for b in (a + 1e-9, a + 1e-3, np.array([1.0, np.nan])):
        assert Variable(a).allclose(Variable(b)) == torch.tensor(a).allclose(torch.tensor(b))
        assert Variable(a).equal(Variable(b)) == torch.tensor(a).equal(torch.tensor(b))
    nan = np.array([np.nan])
    assert Variable(nan).allclose(Variable(nan), equal_nan=True)


@needs_torch
def test_tile_repeat_interleave_broadcast_to_match_pytorch():
    x = RNG.standard_normal((2, 3))
    _both(lambda v: _lib(v).tile(v, (2,)), x)
    _both(lambda v: _lib(v).tile(v, (2, 1, 2)), x)
    _both(lambda v: _lib(v).repeat_interleave(v, 2), x)
    _both(lambda v: _lib(v).repeat_interleave(v, 3, dim=1), x)
    _both(lambda v, r: _lib(v).repeat_interleave(v, r, dim=0), x, np.array([1, 3]))
    _both(lambda v: v.repeat_interleave(2, dim=0), x)
    _both(lambda v: _lib(v).broadcast_to(v, (4, 2, 3)), x)
    _both(lambda v: _lib(v).broadcast_to(v, (2, -1)), x[:1])


@needs_torch
def test_hstack_vstack_meshgrid_match_pytorch():
    a, b = RNG.standard_normal(3), RNG.standard_normal(2)
    m = RNG.standard_normal((2, 3))
    _both(lambda x, y: _lib(x).hstack([x, y]), a, b)
    _both(lambda x, y: _lib(x).hstack((x, y)), m, m[:, :1])
    _both(lambda x, y: _lib(x).vstack([x, y]), a, m)
    _both(lambda x, y: _lib(x).vstack([x, y]), m, m)
    for indexing in ("ij", "xy"):
        _both(lambda x, y, i=indexing: _lib(x).meshgrid(x, y, indexing=i), a, b, grad=False)
        _both(lambda x, y, i=indexing: sum(_lib(x).meshgrid(x, y, indexing=i)), a, b)
        _both(
            lambda x, y, z, i=indexing: _lib(x).meshgrid([x, y, z], indexing=i), a, b, a, grad=False
        )
    with pytest.warns(UserWarning, match="indexing"):
        grid = gradviz.meshgrid(Variable(a), Variable(b))
    assert grid[0].shape == (3, 2)


@needs_torch
def test_top_level_softplus_matches_pytorch():
    x = RNG.standard_normal((2, 3)) * 10
    _both(
        lambda v: (
            gradviz.softplus(v) if isinstance(v, Variable) else torch.nn.functional.softplus(v)
        ),
        x,
    )
    _both(
        lambda v: (
            gradviz.softplus(v, beta=2, threshold=5)
            if isinstance(v, Variable)
            else torch.nn.functional.softplus(v, beta=2, threshold=5)
        ),
        x,
    )


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x: x.narrow(1, 1, 2), [(3, 4)]),
        (lambda x, m: x.masked_select(m > 1), [(3, 4), (4,)]),
        (lambda x: x.diff(n=2, dim=0), [(4, 3)]),
        (lambda x: x.median(1).values, [(3, 5)]),
        (lambda x: x.repeat_interleave(2, dim=1), [(2, 3)]),
        (lambda x: gradviz.tile(x, (2, 1, 2)), [(2, 3)]),
        (lambda x, y: gradviz.hstack([x, y]), [(2, 3), (2, 1)]),
        (lambda x, y: gradviz.vstack([x, y]), [(3,), (2, 3)]),
        (lambda x, y: gradviz.meshgrid(x, y, indexing="xy")[0] * 2, [(3,), (2,)]),
        (lambda x, y: x.dot(y), [(4,), (4,)]),
        (lambda x, y: gradviz.mv(x, y), [(3, 4), (4,)]),
        (lambda x, y: x.div(y), [(2, 3), (3,)]),
        (lambda x: gradviz.softplus(x, beta=2), [(2, 3)]),
    ],
)
def test_composed_ops_pass_the_gradient_check(fn, shapes):
    inputs = [Variable(RNG.uniform(0.3, 1.7, s), requires_grad=True) for s in shapes]
    assert gradviz.gradcheck(fn, tuple(inputs))


X = np.ones((2, 3))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gradviz.dot(np.ones(2), np.ones((2, 2))), "ShapeError", "1D tensors expected"),
        (lambda: gradviz.dot(np.ones(2), np.ones(3)), "ShapeError", "inconsistent tensor size"),
        (lambda: gradviz.dot(np.ones(2, np.float32), np.ones(2)), "OperandError", "same dtype"),
        (lambda: gradviz.mv(np.ones(2), np.ones(2)), "ShapeError", "mv\\(\\): expected a 2-d"),
        (lambda: gradviz.div(X, 2, rounding_mode="round"), "ArgumentError", "rounding_mode"),
        (lambda: gradviz.div(np.ones(2, int), 0, rounding_mode="trunc"), "InputError", "zero"),
        (lambda: Variable(np.ones(2)).mT, "ShapeError", "mT is only supported on matrices"),
        (lambda: Variable(X).new_zeros(2, -1), "InputError", "negative dimension"),
        (lambda: Variable(X).new_ones((2, 1.5)), "OperandError", "'size' must be a tuple"),
        (lambda: gradviz.flip(X, (0, 0)), "InputError", "appears multiple times"),
        (lambda: gradviz.flip(X, 2), "IndexRangeError", "Dimension out of range"),
        (lambda: gradviz.roll(X, (1, 2), 0), "InputError", "shifts and dimensions must align"),
        (lambda: gradviz.roll(X, 1.5), "OperandError", "'shifts' must be an int"),
        (lambda: gradviz.narrow(X, 1, 2, 2), "InputError", "exceeds dimension size"),
        (lambda: gradviz.narrow(X, 1, 5, 0), "InputError", "out of bounds"),
        (lambda: gradviz.masked_select(X, np.ones(3)), "OperandError", "expected BoolTensor"),
        (lambda: gradviz.cumprod(X, 2), "IndexRangeError", "Dimension out of range"),
        (lambda: Variable(X).diff(n=-1), "InputError", "order must be non-negative"),
        (lambda: Variable(X).diff(prepend=np.ones(2)), "ShapeError", "same dimension"),
        (lambda: gradviz.median(np.ones((2, 0)), 1), "InputError", "non-zero size"),
        (lambda: gradviz.repeat_interleave(X, np.ones(2)), "InputError", "repeats must be"),
        (lambda: gradviz.repeat_interleave(X, [1, 2], 1), "InputError", "same size as input"),
        (lambda: gradviz.meshgrid(X, indexing="ij"), "ShapeError", "Expected 0D or 1D"),
        (lambda: gradviz.meshgrid(np.ones(2), indexing="yx"), "OperandError", "indexing"),
        (lambda: gradviz.hstack(X), "OperandError", "'tensors' must be a tuple or list"),
        (lambda: Variable(X).stride(3), "IndexRangeError", "Dimension out of range"),
    ],
)
def test_bad_arguments_raise_a_gradviz_error_naming_the_op(call, error, message):
    with pytest.raises(getattr(gradviz, error), match=message) as raised:
        call()
    assert isinstance(raised.value, gradviz.GradvizError)


S, A, F32, INTS = (
    np.array(2.0),
    np.array([1.0, 2.0, 3.0]),
    np.array([1.0, 2.0], np.float32),
    np.arange(1, 4),
)


@needs_torch
@pytest.mark.parametrize(
    ("fn", "arrays"),
    [
        (lambda x, y: _lib(x).meshgrid(x, y, indexing="ij"), (S, A)),
        (lambda x, y: _lib(x).hstack([x, y]), (S, A)),
        (lambda x: _lib(x).vstack([x, x]), (S,)),
        (lambda x: _lib(x).tile(x, (2, 3)), (S,)),
        (lambda x: _lib(x).roll(x, 1), (S,)),
        (lambda x: _lib(x).flip(x, (0,)), (S,)),
        (lambda x, m: _lib(x).masked_select(x, m), (S, np.array([True, False]))),
        (lambda x, r: _lib(x).repeat_interleave(x, r), (A, INTS)),
        (lambda x: x.cumprod(0, dtype=_lib(x).float64), (F32,)),
        (lambda x: _lib(x).median(x), (INTS,)),
        (lambda x: _lib(x).median(x), (np.zeros(0),)),
        (lambda x: x.diff(n=0), (A,)),
        (lambda x: x.diff(n=5), (A,)),
        (lambda x: _lib(x).div(x, 2), (INTS,)),
        (lambda x: x.new_tensor([1.7]), (INTS,)),
        (lambda x: _lib(x).dot(x, x), (INTS,)),
        (lambda x: x.argsort(descending=True, stable=True), (np.array([1.0, 3, 3, 1]),)),
        (lambda x, y: _lib(x).atan2(x, y), (F32, S)),
        (lambda x, y: _lib(x).hypot(x, y), (F32, np.array([1.0, 2.0]))),
    ],
)
def test_edge_cases_match_pytorch(fn, arrays):
    _both(fn, *arrays, grad=False)


def test_methods_of_a_parameter_make_plain_variables_as_pytorchs():
    """Was: ``weight.new_zeros(...)`` (the word-language-model's ``init_hidden``) made a
    Parameter, drawn as a parameter; ``weight.argmax()``, ``isclose``, ``logical_not`` and
    ``logical_and`` raised "only floating point Variables can require gradients"."""
    w = gradviz.nn.Parameter(gradviz.tensor([[1.0, -2.0], [3.0, 0.5]]))
    v = gradviz.ones(2, 2)
    made = {
        "new_zeros": w.new_zeros(2, 3),
        "new_ones": w.new_ones(2),
        "new_full": w.new_full((2,), 7.0),
        "new_empty": w.new_empty(1),
        "new_tensor": w.new_tensor([1.0]),
        "argmax": w.argmax(),
        "argmin": w.argmin(dim=1),
        "isclose": w.isclose(v),
        "logical_not": w.logical_not(),
        "logical_and": w.logical_and(v),
        "histc": w.histc(bins=2),
    }
    for name, value in made.items():
        assert type(value) is Variable, name
        assert not value.requires_grad, name
    assert w.argmax().item() == 2
    assert w.new_zeros(2, 3).shape == (2, 3)
