"""The tensor API probed as a PyTorch user would, each case against torch 2.13.0: values, dtypes,
shapes and gradients the same, or a ``GradvizError`` in PyTorch's words.

Each test names the break it guards (what gradviz did before).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradviz
from gradviz import Variable

torch = pytest.importorskip("torch")


def _same(ours: Variable, theirs: torch.Tensor) -> None:
    """Same dtype, shape and values (NaN where PyTorch has NaN)."""
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, equal_nan=True)


# ----------------------------------------------------------------------------- dtype promotion
I64 = [-3, 2, 5]
F64 = [0.5, -1.5, 2.0]


def _g(values, dtype):
    return Variable(np.array(values, dtype=dtype))


def _t(values, dtype):
    return torch.tensor(values, dtype=getattr(torch, dtype))


PROMOTIONS = [  # (id, gradviz expression, torch expression, what gradviz gave before)
    ("int_plus_python_float", lambda: _g(I64, "int64") + 1.5, lambda: _t(I64, "int64") + 1.5),
    ("python_float_times_int", lambda: 0.5 * _g(I64, "int64"), lambda: 0.5 * _t(I64, "int64")),
    (
        "int64_minus_float32",
        lambda: _g(I64, "int64") - _g(F64, "float32"),
        lambda: _t(I64, "int64") - _t(F64, "float32"),
    ),
    (
        "float32_plus_0d_float64",
        lambda: _g(F64, "float32") + _g(2.5, "float64"),
        lambda: _t(F64, "float32") + _t(2.5, "float64"),
    ),
    (
        "0d_float64_times_float32",
        lambda: _g(2.5, "float64") * _g(F64, "float32"),
        lambda: _t(2.5, "float64") * _t(F64, "float32"),
    ),
    (
        "int32_plus_0d_int64",
        lambda: _g(I64, "int32") + _g(7, "int64"),
        lambda: _t(I64, "int32") + _t(7, "int64"),
    ),
    ("int8_plus_300_wraps", lambda: _g(I64, "int8") + 300, lambda: _t(I64, "int8") + 300),
    (
        "bool_plus_python_float",
        lambda: _g([True, False], "bool") + 1.5,
        lambda: _t([True, False], "bool") + 1.5,
    ),
    (
        "bool_squared",
        lambda: _g([True, False], "bool") ** 2,
        lambda: _t([True, False], "bool") ** 2,
    ),
    ("int_power_half", lambda: _g([4, 9], "int64") ** 0.5, lambda: _t([4, 9], "int64") ** 0.5),
    ("float_base_int_exponent", lambda: 2.0 ** _g(I64, "int64"), lambda: 2.0 ** _t(I64, "int64")),
    (
        "int_power_negative_int_entries",
        lambda: _g([0, 2, -1, 1, -2], "int64") ** _g([-1, -1, -1, -2, 3], "int64"),
        lambda: _t([0, 2, -1, 1, -2], "int64") ** _t([-1, -1, -1, -2, 3], "int64"),
    ),
    ("python_int_power_int", lambda: 2 ** _g(I64, "int64"), lambda: 2 ** _t(I64, "int64")),
    (
        "int_maximum_float",
        lambda: gradviz.maximum(_g(I64, "int64"), _g(F64, "float32")),
        lambda: torch.maximum(_t(I64, "int64"), _t(F64, "float32")),
    ),
    (
        "where_float32_and_0d_float64",
        lambda: gradviz.where(np.array([True, False, True]), _g(F64, "float32"), _g(0, "float64")),
        lambda: torch.where(
            torch.tensor([True, False, True]), _t(F64, "float32"), _t(0, "float64")
        ),
    ),
    (
        "where_int_and_python_float",
        lambda: gradviz.where(np.array([True, False, True]), _g(I64, "int64"), 0.5),
        lambda: torch.where(torch.tensor([True, False, True]), _t(I64, "int64"), 0.5),
    ),
    (
        "int_clamped_to_floats",
        lambda: _g(I64, "int64").clamp(0.5, 2.5),
        lambda: _t(I64, "int64").clamp(0.5, 2.5),
    ),
    (
        "cat_int_and_float32",
        lambda: gradviz.cat([_g(I64, "int64"), _g(F64, "float32")]),
        lambda: torch.cat([_t(I64, "int64"), _t(F64, "float32")]),
    ),
    (
        "stack_int32_and_float32",
        lambda: gradviz.stack([_g(I64, "int32"), _g(F64, "float32")]),
        lambda: torch.stack([_t(I64, "int32"), _t(F64, "float32")]),
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs"), [p[1:] for p in PROMOTIONS], ids=[p[0] for p in PROMOTIONS]
)
def test_mixed_dtypes_promote_as_in_pytorch(ours, theirs):
    # Was NumPy's promotion: float64 for ints with Python floats or float32, 0-d Variables
    # widening n-d ones, int8 + 300 an OverflowError, negative int powers an error.
    _same(ours(), theirs())


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_float_functions_of_ints_take_the_default_dtype(name, dtype):
    # Was float64 (float16 for bool): NumPy's choice, not PyTorch's default float32.
    values = [1, 0, 1] if dtype == "bool" else [1, 4, 9]
    _same(getattr(_g(values, dtype), name)(), getattr(_t(values, dtype), name)())


def test_an_int_to_a_negative_python_int_power_is_pytorchs_runtime_error():
    with pytest.raises(gradviz.InputError, match="Integers to negative integer powers"):
        _g(I64, "int64") ** -1


# --------------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_mean_of_ints_or_bools_is_pytorchs_error(dtype):
    # Was a float64 mean; PyTorch refuses to guess the output dtype.
    with pytest.raises(gradviz.InputError, match=r"mean\(\): could not infer output dtype"):
        _g([1, 0, 1], dtype).mean()


@pytest.mark.parametrize("dtype", ["uint8", "bool", "int32"])
def test_sums_of_ints_are_int64(dtype):
    # Was uint64 for uint8 (NumPy's sum keeps the sign).
    values = [200, 100, 1] if dtype != "bool" else [1, 1, 0]
    _same(_g(values, dtype).sum(), _t(values, dtype).sum())


@pytest.mark.parametrize(
    ("reduce", "error", "message"),
    [
        (lambda x: x.max(), gradviz.InputError, r"max\(\): Expected reduction dim to be specified"),
        (lambda x: x.amin(), gradviz.InputError, r"amin\(\): Expected reduction dim to be"),
        (lambda x: x.amax(0), gradviz.IndexRangeError, r"amax\(\): Expected reduction dim 0 to"),
        (lambda x: x.amin((1, 0)), gradviz.IndexRangeError, r"amin\(\): Expected reduction dim 0"),
    ],
)
def test_max_of_nothing_says_what_pytorch_says(reduce, error, message):
    # Was a ShapeError in NumPy's words ("zero-size array to reduction operation maximum").
    with pytest.raises(error, match=message):
        reduce(Variable(np.zeros((0, 3))))
    _same(Variable(np.zeros((0, 3))).amax(1), torch.zeros(0, 3, dtype=torch.float64).amax(1))


def test_mean_of_nothing_is_nan_without_numpys_warnings():
    # Was NaN with two RuntimeWarnings ("Mean of empty slice"); PyTorch is silent.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(Variable(np.zeros((0, 3))).mean(0), torch.zeros(0, 3, dtype=torch.float64).mean(0))
        _same(Variable(np.zeros((0, 3))).mean(), torch.zeros(0, 3, dtype=torch.float64).mean())


@pytest.mark.parametrize(
    ("values", "reduce"),
    [
        ([1.0, 2.0, 3.0], lambda x: x.var(correction=5)),
        ([1.0, 2.0, 3.0], lambda x: x.var(correction=3)),
        ([4.0], lambda x: x.std()),
        ([[1.0], [2.0]], lambda x: x.std(1)),
        ([[1.0, 2.0]], lambda x: x.var(dim=(0, 1), correction=2)),
    ],
)
def test_var_and_std_without_degrees_of_freedom_warn_as_pytorch(values, reduce):
    # Was silent; PyTorch gives the same inf/nan with a UserWarning.
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0") as ours:
        out = reduce(gradviz.tensor(values, dtype=np.float64))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        expected = reduce(torch.tensor(values, dtype=torch.float64))
    assert ours[0].filename == __file__  # the warning points at the caller's line
    _same(out, expected)


def test_var_with_degrees_of_freedom_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradviz.tensor([1.0, 2.0]).var()
        gradviz.tensor([[1.0, 2.0]]).std(1)


@pytest.mark.parametrize("p", [0.5, 0.25, -1.0, -2.0])
def test_norm_gradient_at_zero_for_p_below_1_is_pytorchs_zero(p):
    # Was NaN wherever an entry (or the whole norm) was 0: |x|**(p-1) at 0.
    data = np.array([[0.0, -2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    ours = gradviz.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was also "divide by zero encountered in power"
        out = ours.norm(p, 1)
    expected = theirs.norm(p, 1)
    _same(out, expected)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize(
    "after",
    [lambda x: x.softmax(1), lambda x: x.log_softmax(1), lambda x: x.logsumexp(1)],
    ids=["softmax", "log_softmax", "logsumexp"],
)
def test_a_fully_masked_row_gives_zero_gradients_not_nan(after):
    # Was NaN for the whole masked row: masked_fill's backward multiplied NaN by 0.
    mask = np.array([[True, True, True], [False, True, False]])
    data = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -1.0]])
    ours = gradviz.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's inf - inf, on the NaN row
        out = after(ours.masked_fill(mask, float("-inf")))
        out.sum().backward()
    after(theirs.masked_fill(torch.from_numpy(mask), float("-inf"))).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-12)


def test_masked_fill_with_a_variable_value_takes_only_the_filled_gradients():
    value = gradviz.tensor(2.0, dtype=np.float64, requires_grad=True)
    x = gradviz.tensor([1.0, float("inf"), 3.0], dtype=np.float64, requires_grad=True)
    mask = np.array([False, True, False])
    (
        x.masked_fill(mask, value) * gradviz.tensor([1.0, 5.0, 0.0], dtype=np.float64)
    ).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])
    assert value.grad == 5.0


@pytest.mark.parametrize("method", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_argmax_keepdim_and_ties_as_in_pytorch(method, dim):
    # keepdim was a TypeError (an unexpected keyword argument).
    data = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, -1.0]])
    for keepdim in (False, True):
        ours = getattr(gradviz.tensor(data), method)(dim, keepdim=keepdim)
        theirs = getattr(torch.tensor(data), method)(dim, keepdim=keepdim)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_two_variables_is_pytorchs_elementwise_overload(name):
    # Was an OperandError: "dim must be one integer, got Variable(...)".
    a, b = np.array([1.0, 5.0, 2.0]), np.array([3.0, 0.0, 2.0])
    ours_a = gradviz.tensor(a, dtype=np.float64, requires_grad=True)
    theirs_a = torch.tensor(a, requires_grad=True)
    out = getattr(ours_a, name)(gradviz.tensor(b, dtype=np.float64))
    expected = getattr(theirs_a, name)(torch.tensor(b))
    _same(out, expected)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours_a.grad, theirs_a.grad.numpy())


# ----------------------------------------------------------------------- // and % (floor rules)
FLOOR = [  # (id, gradviz/torch expression of x); the same Python expression for both
    ("int_floordiv", lambda x: x // 2),
    ("int_mod", lambda x: x % 3),
    ("int_mod_negative_divisor", lambda x: x % -3),
    ("reflected_floordiv", lambda x: 10 // x),
    ("reflected_mod", lambda x: 7 % x),
    ("float_floordiv", lambda x: x.double() // 2),
    ("float_mod", lambda x: x.double() % -2.5),
    ("int_floordiv_python_float", lambda x: x // 1.5),
]


@pytest.mark.parametrize("expr", [f[1] for f in FLOOR], ids=[f[0] for f in FLOOR])
def test_floor_division_and_remainder_round_as_pytorch(expr):
    # Were a TypeError: Variable had no // or %.
    values = [-7, 7, -1, 5]
    _same(expr(_g(values, "int64")), expr(_t(values, "int64")))


def test_integer_division_by_zero_is_pytorchs_error():
    for compute in (lambda x: x // 0, lambda x: x % 0, lambda x: 1 % x):
        with pytest.raises(gradviz.InputError, match="ZeroDivisionError"):
            compute(_g([3, 0], "int64"))


def test_remainders_gradient_is_pytorchs():
    a, b = np.array([-7.5, 7.5, 3.0]), np.array([2.0, -2.0, 0.5])
    ours = [gradviz.tensor(v, dtype=np.float64, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    (ours[0] % ours[1]).sum().backward()
    (theirs[0] % theirs[1]).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy())


# ------------------------------------------------------------------------- shape and joining
def test_squeeze_and_unsqueeze_take_dim_by_keyword_and_squeeze_a_tuple():
    # Were a TypeError (dim=) and an OperandError (a tuple of dims).
    data = np.zeros((1, 3, 1, 2))
    ours, theirs = gradviz.tensor(data), torch.tensor(data)
    _same(ours.squeeze(dim=0), theirs.squeeze(dim=0))
    _same(ours.squeeze((0, 2)), theirs.squeeze((0, 2)))
    _same(ours.squeeze((1, -2)), theirs.squeeze((1, -2)))  # 3 is not 1: stays
    _same(ours.unsqueeze(dim=-1), theirs.unsqueeze(dim=-1))
    _same(gradviz.squeeze(ours, dim=2), torch.squeeze(theirs, dim=2))


@pytest.mark.parametrize(("chunks", "dim"), [(2, 0), (5, 0), (3, 1)])
def test_chunk_of_an_empty_dim_gives_chunks_empty_pieces(chunks, dim):
    # Was one piece.
    shape = (0, 3) if dim == 0 else (2, 0)
    ours = gradviz.zeros(*shape).chunk(chunks, dim)
    theirs = torch.zeros(*shape).chunk(chunks, dim)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]


def test_cat_skips_a_1d_empty_start_as_pytorch():
    # Was a ShapeError: the `out = tensor([]); out = cat([out, row])` loop of PyTorch code.
    rows = np.arange(6.0).reshape(2, 3)
    ours = gradviz.tensor([])
    theirs = torch.tensor([])
    x = gradviz.tensor(rows, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(rows, requires_grad=True)
    for i in range(2):
        ours = gradviz.cat([ours, x[i : i + 1] * (i + 1)])
        theirs = torch.cat([theirs, tx[i : i + 1] * (i + 1)])
    _same(ours, theirs)
    _same(gradviz.cat([gradviz.tensor([]), x], dim=1), torch.cat([torch.tensor([]), tx], dim=1))
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


@pytest.mark.parametrize(
    ("join", "error", "message"),
    [
        (
            lambda: gradviz.cat([gradviz.tensor(1.0), gradviz.tensor(2.0)]),
            gradviz.ShapeError,
            "zero-dimensional",
        ),
        (lambda: gradviz.cat([[1.0, 2.0], [3.0]]), gradviz.OperandError, "element 0 .* got list"),
        (
            lambda: gradviz.cat([gradviz.tensor([1.0]), 2.0]),
            gradviz.OperandError,
            "element 1 .* got float",
        ),
        (lambda: gradviz.stack([gradviz.tensor([1.0]), None]), gradviz.OperandError, "element 1"),
        (lambda: gradviz.cat([]), gradviz.ShapeError, r"cat\(\): expected a non-empty list"),
        (lambda: gradviz.stack(()), gradviz.ShapeError, r"stack\(\): expected a non-empty list"),
    ],
)
def test_cat_and_stack_of_what_they_cannot_join_say_so(join, error, message):
    # Were a bare IndexError (0-d) and AttributeErrors (lists, numbers).
    with pytest.raises(error, match=message):
        join()


def test_view_of_a_transposed_variable_is_refused_as_pytorch_refuses_and_reshape_copies():
    # Was: view copied, as reshape does, so a script that runs here failed in PyTorch.
    data = np.arange(12.0).reshape(3, 4)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.tensor(data).T.view(12)
    with pytest.raises(gradviz.InputError, match=r"view size is not compatible.*reshape"):
        gradviz.tensor(data).T.view(12)
    with pytest.raises(gradviz.InputError, match="view size is not compatible"):
        gradviz.tensor(data).T.view_as(gradviz.zeros(12))
    _same(gradviz.tensor(data).T.reshape(12), torch.tensor(data).T.reshape(12))
    _same(gradviz.tensor(data).T.contiguous().view(12), torch.tensor(data).T.reshape(12))
    _same(gradviz.tensor(data).T.view(4, 3), torch.tensor(data).T.view(4, 3))


# --------------------------------------------------------------------------- indexing, writing
def test_indexing_with_an_empty_list_gives_an_empty_variable():
    # Was an IndexRangeError: NumPy reads [] as a float array.
    data = np.arange(12.0).reshape(3, 4)
    x = gradviz.tensor(data, requires_grad=True)
    _same(x[[]], torch.tensor(data)[[]])
    _same(x[[], 1], torch.tensor(data)[[], 1])
    (x[[]].sum() + x[0, 0]).backward()
    assert x.grad[0, 0] == 1
    assert x.grad.sum() == 1


@pytest.mark.parametrize("requires_grad", [False, True], ids=["unrecorded", "recorded"])
@pytest.mark.parametrize(
    ("index", "message"),
    [
        (5, "index 5 is out of bounds for dimension 0 with size 3"),
        ((0, -5), "index -5 is out of bounds for dimension 1 with size 4"),
        (np.array([True, False]), r"The shape of the mask \[2\] at index 0 does not match"),
    ],
    ids=["row", "negative", "mask"],
)
def test_writing_out_of_range_is_pytorchs_index_error(requires_grad, index, message):
    # Was NumPy's bare IndexError.
    x = gradviz.tensor(np.zeros((3, 4)), requires_grad=requires_grad)
    y = x * 1
    with pytest.raises(gradviz.IndexRangeError, match=message):
        y[index] = 1.0
    if requires_grad:  # the failed write left the graph as it was
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, np.ones((3, 4)))


def test_comparing_shapes_that_do_not_broadcast_says_so_in_pytorchs_words():
    # Was NumPy's bare ValueError ("operands could not be broadcast together").
    with pytest.raises(
        gradviz.ShapeError,
        match=r"tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 1",
    ):
        _ = gradviz.zeros(2, 3) < gradviz.zeros(4, 1, 2)[0]
    with pytest.raises(gradviz.ShapeError, match="non-singleton dimension 0"):
        _ = gradviz.zeros(3) == np.zeros(2)


# -------------------------------------------------------------------------------- construction
@pytest.mark.parametrize(
    "make",
    [
        lambda dtype: gradviz.tensor([1, 2], dtype=dtype),
        lambda dtype: gradviz.zeros(2, dtype=dtype),
        lambda dtype: gradviz.full((2,), 1.0, dtype=dtype),
        lambda dtype: gradviz.arange(3, dtype=dtype),
        lambda dtype: gradviz.tensor([1.0]).astype(dtype),
    ],
)
@pytest.mark.parametrize("dtype", ["floot", torch.float32, object()])
def test_a_dtype_that_is_no_numpy_dtype_is_a_clear_error(make, dtype):
    # Was NumPy's TypeError ("data type 'floot' not understood", "Cannot interpret ...").
    with pytest.raises(gradviz.OperandError, match="argument 'dtype' must be a NumPy dtype"):
        make(dtype)


@pytest.mark.parametrize("value", [3, -100, True, 2.5, np.int32(4)])
def test_full_takes_the_dtype_of_its_value_as_pytorch(value):
    # Was float32 for every value: an int fill (an ignore index of -100) was no longer an int.
    _same(gradviz.full((2, 2), value), torch.full((2, 2), value))


def test_clamp_bounds_given_as_numpy_scalars_keep_the_variables_dtype():
    # Was float64: NumPy's float64 scalars are not weak; PyTorch reads them as Python floats.
    x = gradviz.tensor([1.0, 2.0, 3.0])
    _same(x.clamp(np.float64(1.5)), torch.tensor([1.0, 2.0, 3.0]).clamp(np.float64(1.5)))
    _same(_g(I64, "int64").clamp(np.float64(0.5)), _t(I64, "int64").clamp(np.float64(0.5)))


def test_an_in_place_int_out_of_the_dtypes_range_is_a_clear_error():
    # Was NumPy's bare OverflowError (PyTorch wraps the value around).
    x = _g([1, 2], "int8")
    with pytest.raises(gradviz.OperandError, match=r"add_: Python integer 300 out of bounds"):
        x += 300
    np.testing.assert_array_equal(x.numpy(), [1, 2])


# ------------------------------------------------------------------ the everyday PyTorch methods
def test_clone_dim_contiguous_abs_and_expand_as_work_as_in_pytorch():
    # Were AttributeErrors (clone, dim, contiguous, expand_as) and a TypeError (abs(x)).
    data = np.array([[-1.0, 2.0, -3.0]])
    x = gradviz.tensor(data, dtype=np.float64, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    ours = abs(x.clone().contiguous() * x).expand_as(gradviz.zeros(2, 3))
    theirs = abs(tx.clone().contiguous() * tx).expand_as(torch.zeros(2, 3))
    _same(ours, theirs)
    assert ours.dim() == theirs.dim() == 2
    assert ours.op == "Expand"
    assert ours.parents[0].parents[0].parents[0].op == "Clone"
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    clone = x.clone()
    clone.numpy()[0, 0] = 100.0  # a copy: the original keeps its data
    assert x.numpy()[0, 0] == -1.0


@pytest.mark.parametrize("like", ["zeros_like", "ones_like"])
def test_zeros_like_takes_a_dtype_as_pytorch(like):
    # Was a TypeError (an unexpected keyword argument 'dtype').
    x = gradviz.tensor([[1.5, 2.0]])
    _same(
        getattr(gradviz, like)(x, dtype=bool),
        getattr(torch, like)(torch.zeros(1, 2), dtype=torch.bool),
    )
    _same(
        getattr(gradviz, like)(x, dtype="int64"),
        getattr(torch, like)(torch.zeros(1, 2), dtype=torch.int64),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([[1, 2], [3]], "expected sequence of length 2 at dim 1 (got length 1)"),
        (
            [[[1, 2], [3]], [[1, 2], [3, 4]]],
            "expected sequence of length 2 at dim 2 (got length 1)",
        ),
        ([1, [2, 3]], "expected sequence of length 2 at dim 1 (got a number)"),
    ],
)
def test_a_ragged_list_says_where_in_pytorchs_words(data, message):
    # Was NumPy's "setting an array element with a sequence ... inhomogeneous shape ...".
    with pytest.raises(gradviz.OperandError, match=re.escape(message)):
        gradviz.tensor(data)
    with pytest.raises((ValueError, TypeError)):
        torch.tensor(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([np.float64(1.0), 2.0]),
        lambda lib: lib.tensor([np.float32(1.0), 2.5, 3]),
        lambda lib: lib.tensor([np.ones(2), np.zeros(2)]),
        lambda lib: lib.tensor([[np.float16(1.0)], [np.float16(2.0)]]),
        lambda lib: lib.tensor([lib.tensor(1.0, dtype=lib.float64), 2.0]),
        lambda lib: lib.tensor([lib.tensor(1), 2.5]),
    ],
)
def test_tensor_of_a_list_infers_the_float_dtype_of_its_elements_as_pytorch(make):
    # Was float32 for every list of floats: NumPy float64 scalars and arrays, and float64
    # Variables in the list lost their precision.
    lib = type("lib", (), {"tensor": staticmethod(gradviz.tensor), "float64": np.float64})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch: a list of ndarrays is slow
        _same(make(lib), make(torch))


@pytest.mark.parametrize(
    ("index", "mask", "dim"),
    [
        (lambda m: m, [True, False], 0),
        (lambda m: m, [[True, False, True]] * 3, 1),
        (lambda m: (slice(None), m), [True, False], 1),
    ],
)
def test_a_mask_of_the_wrong_shape_is_named_as_pytorch_names_it(index, mask, dim):
    # Was NumPy's "boolean index did not match indexed array along axis 0; ...".
    mask = np.array(mask)
    message = f"The shape of the mask {list(mask.shape)} at index"
    with pytest.raises(gradviz.IndexRangeError, match=re.escape(message)):
        gradviz.zeros(3, 4)[index(mask)]
    with pytest.raises(IndexError, match=re.escape(message)):
        torch.zeros(3, 4)[index(torch.from_numpy(mask))]


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((-1, -1), "only one dimension can be inferred"),
        ((5, -1), "shape '[5, -1]' is invalid for input of size 12"),
        ((5, 2), "shape '[5, 2]' is invalid for input of size 12"),
    ],
)
def test_an_impossible_reshape_says_what_pytorch_says(shape, message):
    # Was NumPy's words: "cannot reshape array of size 12 into shape (5,newaxis)".
    for reshape in (lambda x: x.reshape(*shape), lambda x: x.view(shape)):
        with pytest.raises(gradviz.ShapeError, match=re.escape(message)):
            reshape(gradviz.zeros(3, 4))
        with pytest.raises(RuntimeError, match=re.escape(message)):
            reshape(torch.zeros(3, 4))


@pytest.mark.parametrize("method", ["long", "int", "bool", "half", "float", "double"])
def test_dtype_conversion_methods_of_pytorch(method):
    # long, int, bool and half were AttributeErrors (targets.long() is in every training loop).
    data = [1.7, -1.7, 0.0]
    _same(getattr(gradviz.tensor(data), method)(), getattr(torch.tensor(data), method)())


BITWISE = [
    ("invert", lambda m, n: ~m),
    ("and", lambda m, n: m & n),
    ("or", lambda m, n: m | n),
    ("xor", lambda m, n: m ^ n),
    ("and_python_bool", lambda m, n: m & True),
    ("or_reflected", lambda m, n: False | m),
]


@pytest.mark.parametrize("expr", [b[1] for b in BITWISE], ids=[b[0] for b in BITWISE])
@pytest.mark.parametrize("dtype", ["bool", "int64"])
def test_bitwise_ops_of_masks_as_in_pytorch(expr, dtype):
    # Were TypeErrors: a bool Variable had no ~, &, | or ^.
    m, n = [1, 0, 1, 0], [1, 1, 0, 0]
    _same(expr(_g(m, dtype), _g(n, dtype)), expr(_t(m, dtype), _t(n, dtype)))


def test_bitwise_ops_of_floats_are_refused_as_in_pytorch():
    with pytest.raises(gradviz.OperandError, match="bitwise ops take bool or integer"):
        _ = gradviz.tensor([1.0]) & gradviz.tensor([1.0])
    with pytest.raises(gradviz.OperandError, match="bitwise ops take bool or integer"):
        _ = ~gradviz.tensor([1.0])


def test_a_mask_inverted_with_tilde_fills_as_in_pytorch():
    keep = [True, False, True]
    ours = gradviz.tensor([1.0, 2.0, 3.0]).masked_fill(~gradviz.tensor(keep), 0.0)
    _same(ours, torch.tensor([1.0, 2.0, 3.0]).masked_fill(~torch.tensor(keep), 0.0))


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (np.array(0.0), None),
        (None, np.array(1.0)),
        (np.array([0.0, 0.0, 0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0, -1.0, 2.5])),
        (np.array(1.0), np.array(0.0)),  # low > high: every value is high
        (np.array(0.5), np.array(0.5)),
    ],
)
def test_clamp_to_variable_bounds_sends_them_pytorchs_gradients(low, high):
    # Was a BackwardError: Clamp.backward returned one gradient for three inputs.
    data = np.array([-1.0, 0.5, 2.0, 0.0, 3.0])
    ours = [
        gradviz.tensor(v, dtype=np.float64, requires_grad=True)
        for v in (data, low, high)
        if v is not None
    ]
    theirs = [torch.tensor(v, requires_grad=True) for v in (data, low, high) if v is not None]

    def bounds(values):
        rest = iter(values[1:])
        return (next(rest) if low is not None else None), (next(rest) if high is not None else None)

    out = ours[0].clamp(*bounds(ours))
    expected = theirs[0].clamp(*bounds(theirs))
    _same(out, expected)
    (out * gradviz.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float64)).sum().backward()
    (expected * torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda x: x.clamp(),
            gradviz.InputError,
            "At least one of 'min' or 'max' must not be None",
        ),
        (lambda x: x.clamp("a"), gradviz.OperandError, "argument 'min' must be a number"),
        (lambda x: x.clamp(0, [1]), gradviz.OperandError, "argument 'max' must be a number"),
    ],
)
def test_clamp_without_bounds_or_with_text_is_refused_as_in_pytorch(call, error, message):
    # Were a silent copy (no bounds) and NumPy's UFuncTypeError (a text bound).
    with pytest.raises(error, match=re.escape(message)):
        call(gradviz.tensor([1.0, 2.0]))


def test_iterating_a_0d_variable_says_so():
    # Was "len() of a 0-d Variable", from the len() that iteration called.
    with pytest.raises(TypeError, match="iteration over a 0-d Variable"):
        list(gradviz.tensor(1.0))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_sum_and_mean_take_a_dtype_as_pytorch(reduce):
    # Was a TypeError (an unexpected keyword argument 'dtype'): PyTorch's way to average a mask.
    mask = [[True, False, True], [True, True, True]]
    ours = getattr(_g(mask, "bool"), reduce)(1, dtype=np.float32)
    _same(ours, getattr(_t(mask, "bool"), reduce)(1, dtype=torch.float32))
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    getattr(x, reduce)(dtype=np.float64).backward()
    assert x.grad.dtype == np.float32  # the gradient comes back in the input's dtype


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize(
    ("data", "dim", "correction"),
    [
        ([1.0, 2.0, 3.0], None, 5),
        ([1.0, 2.0, 3.0], None, 3),
        ([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]], 1, 5),
        ([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]], 1, 2.5),
        ([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]], (0, 1), 6),
        ([4.0], None, 1),
    ],
)
def test_var_without_degrees_of_freedom_has_pytorchs_gradient(name, data, dim, correction):
    # Was inf with x - mean's sign (over every element) and inf (over a dim) where PyTorch
    # takes the unclamped 2 / (n - correction).
    ours = gradviz.tensor(data, dtype=np.float64, requires_grad=True)
    theirs = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    kwargs = {"correction": correction} if dim is None else {"dim": dim, "correction": correction}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        getattr(ours, name)(**kwargs).sum().backward()
        getattr(theirs, name)(**kwargs).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: lib.where(lib.isnan(x), 0.0, x.abs()),
        lambda lib, x: x.norm(1, 1),
        lambda lib, x: x.norm(float("inf"), 1),
        lambda lib, x: x.norm(float("-inf"), 1),
    ],
    ids=["masked_abs", "norm_1", "norm_inf", "norm_minus_inf"],
)
def test_a_nan_input_gets_pytorchs_zero_sign_gradient(f):
    # Was NaN: np.sign(NaN) is NaN where PyTorch's sign is 0, so masking a NaN out after abs
    # still sent NaN back.
    data = np.array([[float("nan"), -2.0, 1.0], [float("inf"), 0.0, -3.0]])
    ours = gradviz.tensor(data, dtype=np.float64, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    lib = type(
        "lib",
        (),
        {
            "where": staticmethod(gradviz.where),
            "isnan": staticmethod(lambda v: np.isnan(v.numpy())),
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f(lib, ours).sum().backward()
    f(torch, theirs).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize("end", [float("nan"), float("inf"), float("-inf")])
def test_arange_to_a_non_finite_end_is_pytorchs_error(end):
    # Was NumPy's bare ValueError ("cannot compute length", "Maximum allowed size exceeded").
    with pytest.raises(gradviz.InputError, match="arange: unsupported range: 0 -> "):
        gradviz.arange(0, end)
    with pytest.raises(RuntimeError, match="unsupported range"):
        torch.arange(0, end)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gradviz.tensor([1, 2**63]),  # was float32
        lambda: Variable(2**64 - 1),  # was uint64
        lambda: gradviz.tensor([[1], [-(2**64)]]),  # was "data of dtype object"
    ],
)
def test_python_ints_past_int64_are_refused_as_in_pytorch(make):
    # NumPy reads them as float64, uint64 or objects; PyTorch refuses them.
    with pytest.raises(gradviz.OperandError, match="Overflow when unpacking long"):
        make()
    assert gradviz.tensor([2**63 - 1]).dtype == np.int64
