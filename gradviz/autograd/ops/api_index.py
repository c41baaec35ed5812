"""Top-level functions of the scatter, index and linear-algebra methods (``gradviz.scatter``,
``gradviz.diagonal`` ...), and the ones with no method of their name (``tensordot``,
``cdist``, ``broadcast_tensors``, ``block_diag``, ``as_tensor``, ``tril_indices``,
``logspace``, ``bucketize``, ``searchsorted``, ``isin``), as PyTorch's. The last few give no
gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.creation import tensor
from gradviz.autograd.dtypes import cpu_only
from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.api import _mirror, as_variable
from gradviz.autograd.ops.linalg_checks import block_diag as block_diag
from gradviz.autograd.ops.linalg_checks import cdist as cdist
from gradviz.autograd.ops.linalg_checks import tensordot as tensordot
from gradviz.autograd.torch_types import check_factory
from gradviz.autograd.variable import Variable, as_dtype, get_default_dtype

scatter = _mirror("scatter", "src (or value) written at index along dim.")
scatter_add = _mirror("scatter_add", "src added at index along dim.")
scatter_reduce = _mirror("scatter_reduce", "src reduced (sum, prod, mean, amax, amin) at index.")
index_add = _mirror("index_add", "alpha * source's slices added at index along dim.")
index_fill = _mirror("index_fill", "The slices at index along dim set to value.")
index_copy = _mirror("index_copy", "The slices at index along dim replaced by source's.")
index_put = _mirror("index_put", "input[indices] = values (or +=) on a copy.")
index_put_ = _mirror("index_put_", "input[indices] = values (or +=) in place.")
take = _mirror("take", "Elements of the flattened input at index.")
take_along_dim = _mirror("take_along_dim", "gather along dim after broadcasting.")
diagonal = _mirror("diagonal", "The offset-th diagonal of dim1 and dim2, as the last dim.")
select = _mirror("select", "The slice at index along dim.")
unflatten = _mirror("unflatten", "dim split into sizes.")
addmm = _mirror("addmm", "beta * input + alpha * mat1 @ mat2.")
baddbmm = _mirror("baddbmm", "beta * input + alpha * batch1 @ batch2, by batch.")
addcmul = _mirror("addcmul", "input + value * tensor1 * tensor2.")
addcdiv = _mirror("addcdiv", "input + value * tensor1 / tensor2.")
cross = _mirror("cross", "The cross product along dim (of length 3).")
kron = _mirror("kron", "The Kronecker product.")
inner = _mirror("inner", "The sum of products over the last dims.")
logcumsumexp = _mirror("logcumsumexp", "log(cumsum(exp(input))) along dim.")
cummax = _mirror("cummax", "The running largest values and their indices along dim.")
cummin = _mirror("cummin", "The running smallest values and their indices along dim.")
isclose = _mirror("isclose", "|input - other| <= atol + rtol * |other|, elementwise (bool).")
histc = _mirror("histc", "A histogram of bins equal bins between min and max.")


def broadcast_tensors(*tensors: Any) -> tuple[Variable, ...]:
    """Each input expanded to the shape they broadcast to."""
    found = [as_variable(t, "broadcast_tensors") for t in tensors]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in found))
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in found)
        raise InputError(f"broadcast_tensors(): shapes {shapes} do not broadcast") from None
    return tuple(t if t.shape == shape else t.expand(*shape) for t in found)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Variable:
    """``data`` as a Variable: a Variable of that dtype itself, anything else converted."""
    cpu_only(device, "as_tensor")
    if isinstance(data, Variable) and (dtype is None or as_dtype(dtype, "as_tensor") == data.dtype):
        return data
    if isinstance(data, Variable):
        return data.to(as_dtype(dtype, "as_tensor"))
    return tensor(data, dtype=dtype, device=device)


def _triangle_indices(
    lower: bool, row: int, col: int, offset: int, dtype: Any, requires_grad: bool
) -> Variable:
    for name, n in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise OperandError(f"argument '{name}' must be int, not {type(n).__name__}")
    for name, n in (("row", row), ("col", col)):
        if n < 0:
            raise InputError(f"{name} must be non-negative, got {n}")
    picker = np.tril_indices if lower else np.triu_indices
    rows, cols = picker(row, offset, col)
    indices = np.stack([rows, cols]).astype(as_dtype(dtype, "tril_indices"))
    return Variable(indices, requires_grad=requires_grad)


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = np.int64,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    requires_grad: bool = False,
) -> Variable:
    """The ``(2, N)`` indices of the lower triangle of a ``row`` by ``col`` matrix."""
    check_factory("tril_indices", device, layout, pin_memory)
    return _triangle_indices(True, row, col, offset, dtype, requires_grad)


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: Any = np.int64,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
    requires_grad: bool = False,
) -> Variable:
    """The ``(2, N)`` indices of the upper triangle of a ``row`` by ``col`` matrix."""
    check_factory("triu_indices", device, layout, pin_memory)
    return _triangle_indices(False, row, col, offset, dtype, requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    layout: Any = None,
    pin_memory: bool | None = False,
) -> Variable:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the
    exponent (default dtype)."""
    check_factory("logspace", device, layout, pin_memory)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise InputError(f"logspace(): number of steps must be non-negative, got {steps!r}")
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype, "logspace")
    values = np.float_power(base, np.linspace(float(start), float(end), int(steps)))
    if dtype.kind in "iu":
        values = np.trunc(values)
    return Variable(values.astype(dtype), requires_grad=requires_grad)


def _positions(side: str, sequence: np.ndarray, values: np.ndarray, int32: bool) -> np.ndarray:
    if sequence.ndim <= 1:
        found = np.searchsorted(sequence, values, side=side)
    else:  # one sorted row per leading position: count the places before each value
        before = (
            sequence[..., None, :] <= values[..., None]
            if side == "right"
            else (sequence[..., None, :] < values[..., None])
        )
        found = before.sum(-1)
    return np.asarray(found).astype(np.int32 if int32 else np.int64)


def bucketize(
    input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False
) -> Variable:
    """The bucket of each value among 1-d ascending ``boundaries`` (``right``: which side
    of a boundary equal values go)."""
    bounds = as_variable(boundaries, "bucketize")
    if bounds.ndim != 1:
        raise InputError(f"boundaries tensor must be 1 dimension, but got dim({bounds.ndim})")
    values = as_variable(input, "bucketize")
    side = "right" if right else "left"
    found = Variable(_positions(side, bounds._data, values._data, out_int32))
    return nodiff.announce(nodiff.Bucketize, (values, bounds, side), found)


def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Variable:
    """Which of ``elements`` occur in ``test_elements`` (a bool Variable of ``elements``'s
    shape; ``invert``: which do not); either may be a number, not both."""
    if not any(
        isinstance(a, Variable | np.ndarray | list | tuple) for a in (elements, test_elements)
    ):
        raise OperandError("isin(): expected a Variable as elements or test_elements, got numbers")
    values = as_variable(elements, "isin")
    tests = as_variable(test_elements, "isin")
    found = np.isin(
        values._data, tests._data, assume_unique=bool(assume_unique), invert=bool(invert)
    )
    return nodiff.announce(nodiff.Isin, (values, tests), Variable(np.asarray(found)))


def searchsorted(
    sorted_sequence: Any,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Variable:
    """Where each value would go in ``sorted_sequence`` (1-d, or sorted rows matching the
    values' leading dims) to keep it sorted."""
    given = as_variable(sorted_sequence, "searchsorted")
    sequence = given._data
    asked = as_variable(input, "searchsorted")
    values = asked._data
    if side not in (None, "left", "right"):
        raise InputError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side == "left" and right:
        raise InputError(
            "torch.searchsorted(): side and right can't be set to opposites, got side of left "
            "while right was True"
        )
    if sorter is not None:
        sequence = np.take_along_axis(sequence, as_variable(sorter, "searchsorted")._data, -1)
    if sequence.ndim > 1 and sequence.shape[:-1] != values.shape[:-1]:
        raise InputError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(sequence.shape)} and input value tensor "
            f"{list(values.shape)}"
        )
    side = side or ("right" if right else "left")
    found = Variable(_positions(side, sequence, values, out_int32))
    return nodiff.announce(nodiff.Searchsorted, (given, asked, side, sorter), found)


#: every mirrored function of this module, by name
MIRRORED = (
    "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill", "index_copy",
    "index_put", "index_put_", "take", "take_along_dim", "diagonal", "select", "unflatten",
    "addmm", "baddbmm", "addcmul", "addcdiv", "cross", "kron", "inner", "logcumsumexp",
    "cummax", "cummin", "isclose", "histc",
)  # fmt: skip

#: every public function of this module, for the top-level namespaces
NAMES = (
    *MIRRORED, "tensordot", "cdist", "broadcast_tensors", "block_diag", "as_tensor",
    "tril_indices", "triu_indices", "logspace", "bucketize", "searchsorted", "isin",
)  # fmt: skip
