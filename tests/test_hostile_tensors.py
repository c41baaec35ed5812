"""The tensor API probed as a PyTorch user would, each case against torch 2.13.0: values, dtypes,
shapes and gradients the same, or a ``GradvizError`` in PyTorch's words.

Each test names the break it guards (what gradviz did before).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable

torch = pytest.importorskip("torch")


def _same(ours: Variable, theirs: torch.Tensor) -> None:
    """Same dtype, shape and values (NaN where PyTorch has NaN)."""
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6, equal_nan=True)


def _array(values: list, dtype: str) -> tuple[Variable, torch.Tensor]:
    data = np.array(values, dtype=dtype)
    return Variable(data), torch.from_numpy(data.copy())


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
