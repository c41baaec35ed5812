"""The checked entry points of the scatter and index ops (``ops.scatter``): arguments refused
as PyTorch refuses them, in its words, each error naming the op, the shapes and dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import IndexRangeError, InputError, OperandError, ShapeError
from gradviz.autograd.ops import scatter as _scatter
from gradviz.autograd.variable import Variable, as_array

#: the reductions of ``scatter_reduce`` by name ("max" and "min" too, as PyTorch reads them)
REDUCTIONS = {
    "sum": "sum", "prod": "prod", "mean": "mean", "amax": "amax", "amin": "amin", "max": "amax",
    "min": "amin",
}  # fmt: skip


def reduction(reduce: Any) -> str:
    """``scatter_reduce``'s reduction, by its name or PyTorch's alias."""
    if not isinstance(reduce, str) or reduce not in REDUCTIONS:
        raise InputError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    return REDUCTIONS[reduce]


def integer_index(index: Any, op: str) -> np.ndarray:
    """``index`` (a Variable, an array or a list) as an integer array; floats are refused."""
    array = as_array(index)
    if array.dtype.kind not in "iu":
        raise InputError(f"{op}(): Expected dtype int64 for index, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def _in_bounds(
    index: np.ndarray, size: int, axis: int, op: str, low: int = 0, error: type = InputError
) -> None:
    """Every index in ``[low, size)``: a place along ``axis`` (``low=-size``: negatives count
    back), else ``error`` (PyTorch's RuntimeError or IndexError, by op)."""
    if index.size and (index.min() < low or index.max() >= size):
        bad = index.min() if index.min() < low else index.max()
        raise error(f"{op}(): index {bad} is out of bounds for dimension {axis} with size {size}")


def _same_dtype(x: Variable, other: Any, op: str, what: str) -> None:
    if other.dtype != x.dtype:
        raise InputError(
            f"{op}(): Expected self.dtype to be equal to {what}.dtype, got {x.dtype} and "
            f"{other.dtype}"
        )


def _scatter_shapes(
    x: Variable, axis: int, index: np.ndarray, src_shape: tuple[int, ...] | None, op: str
) -> None:
    """PyTorch's rules for scatter's index: as many dims as self (and src, unless a number),
    no larger than src anywhere nor than self apart from ``dim``, every value a place along
    ``dim``."""
    if not index.size:
        return
    shape = x.shape or (1,)
    if max(index.ndim, 1) != len(shape):
        raise InputError(
            f"{op}(): Index tensor must have the same number of dimensions as self tensor, got "
            f"index shape {index.shape} for self shape {x.shape}"
        )
    if src_shape is not None and len(src_shape or (1,)) != len(shape):
        raise InputError(
            f"{op}(): Index tensor must have the same number of dimensions as src tensor, got "
            f"index shape {index.shape} for src shape {src_shape}"
        )
    index_shape = index.shape or (1,)
    too_large = any(
        (n > shape[d] and d != axis) or (src_shape is not None and n > (src_shape or (1,))[d])
        for d, n in enumerate(index_shape)
    )
    if too_large:
        raise InputError(
            f"{op}(): Expected index {list(index.shape)} to be smaller than self "
            f"{list(x.shape)} apart from dimension {axis} and to be smaller size than src "
            f"{list(src_shape or ())}"
        )
    _in_bounds(index, shape[axis], axis, op)


def _on_1d(x: Variable, args: tuple[Any, ...]) -> tuple[Variable, tuple[Any, ...]]:
    """A 0-d input (and its 0-d operands) as 1-d: NumPy's fancy writes need an axis."""
    if x.ndim:
        return x, args
    reshaped = tuple(a.reshape(1) if isinstance(a, np.ndarray | Variable) else a for a in args)
    return x.reshape(1), reshaped


def _applied(op: Any, x: Variable, axis: int, *args: Any) -> Variable:
    flat, args = _on_1d(x, args)
    out = op.apply(flat, axis, *args)
    return out if x.ndim else out.reshape(())


def scatter_arguments(x: Variable, dim: Any, index: Any, src: Any, op: str) -> tuple[Any, ...]:
    """``(axis, index, src)`` checked for ``op`` (scatter, scatter_add, scatter_reduce):
    ``src`` a Variable of x's dtype, or (for scatter) a number."""
    axis = dim_index(dim, x.ndim, op)
    index = integer_index(index, op)
    if isinstance(src, bool | int | float | np.number):
        if op != "scatter":
            raise OperandError(f"{op}(): argument 'src' must be a Variable, not a number")
        if isinstance(src, float) and x.dtype.kind in "biu":
            src = int(src)
    else:
        if not isinstance(src, Variable):
            src = Variable(as_array(src))
        _same_dtype(x, src, op, "src")
    _scatter_shapes(x, axis, index, src.shape if isinstance(src, Variable) else None, op)
    return axis, index, src


def scatter(
    x: Variable, dim: Any, index: Any, src: Any = None, value: Any = None, reduce: Any = None
) -> Variable:
    """``x.scatter(dim, index, src)`` or ``x.scatter(dim, index, value=v)``; ``reduce``
    ("add" or "multiply") is ``scatter_reduce``'s sum or prod, with its gradient (where
    PyTorch has none)."""
    if (src is None) == (value is None):
        raise OperandError("scatter(): expected exactly one of 'src' and 'value'")
    axis, index, src = scatter_arguments(x, dim, index, value if src is None else src, "scatter")
    if reduce is None:
        return _applied(_scatter.Scatter, x, axis, index, src)
    return _applied(_scatter.ScatterReduce, x, axis, index, *reduced(x, index, src, reduce))


def reduced(x: Variable, index: np.ndarray, src: Any, reduce: Any) -> tuple[Any, str, bool]:
    """``(src, reduction, include_self)`` of scatter's ``reduce``: a number as an array."""
    if reduce not in ("add", "multiply"):
        raise InputError("reduce argument must be either add or multiply.")
    if not isinstance(src, Variable):
        src = np.full(index.shape, src, x.dtype)
    return src, "sum" if reduce == "add" else "prod", True


def scatter_add(x: Variable, dim: Any, index: Any, src: Any) -> Variable:
    """``x.scatter_add(dim, index, src)``: ``src``'s values added at ``index`` along ``dim``."""
    axis, index, src = scatter_arguments(x, dim, index, src, "scatter_add")
    return _applied(_scatter.ScatterAdd, x, axis, index, src)


def scatter_reduce(
    x: Variable, dim: Any, index: Any, src: Any, reduce: str, *, include_self: bool = True
) -> Variable:
    """``x.scatter_reduce(dim, index, src, reduce, include_self=True)``; ``reduce`` one of
    sum, prod, mean, amax, amin."""
    reduce = reduction(reduce)
    axis, index, src = scatter_arguments(x, dim, index, src, "scatter_reduce")
    return _applied(_scatter.ScatterReduce, x, axis, index, src, reduce, bool(include_self))


def _vector_index(index: Any, op: str, dtypes: str = "int64") -> np.ndarray:
    array = as_array(index)
    allowed = ("int32", "int64") if dtypes == "int32/int64" else ("int64",)
    if str(array.dtype) not in allowed:
        raise InputError(f"{op}(): Expected dtype {dtypes} for index, got {array.dtype}")
    if array.ndim > 1:
        raise InputError(f"{op}(): Index is supposed to be a vector, got shape {array.shape}")
    vector = array if array.ndim == 1 else array.reshape(-1)  # (itself: a trace knows it)
    return vector.astype(np.int64, copy=False)


def _slices_match(x: Variable, axis: int, index: np.ndarray, source: Variable, op: str) -> None:
    """``source`` has x's shape but ``len(index)`` at ``axis`` (0-d as 1-d)."""
    shape = list(x.shape or (1,))
    shape[axis] = len(index)
    if tuple(source.shape or (1,)) != tuple(shape):
        raise InputError(
            f"{op}(): source of shape {source.shape} must have the input's shape {x.shape} "
            f"with {len(index)} (the number of indices) at dimension {axis}"
        )


def index_source(
    x: Variable, dim: Any, index: Any, source: Any, op: str
) -> tuple[int, np.ndarray, Variable]:
    """``(axis, index, source)`` checked for ``index_add``/``index_copy``."""
    axis = dim_index(dim, x.ndim, op)
    index = _vector_index(index, op, "int32/int64")
    source = source if isinstance(source, Variable) else Variable(as_array(source))
    if source.dtype != x.dtype:
        raise InputError(
            f"{op}(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type"
        )
    _slices_match(x, axis, index, source, op)
    error = IndexRangeError if op == "index_copy" else InputError
    _in_bounds(index, (x.shape or (1,))[axis], axis, op, error=error)
    return axis, index, source


def index_add(x: Variable, dim: Any, index: Any, source: Any, *, alpha: Any = 1) -> Variable:
    """``x.index_add(dim, index, source, alpha=1)``: ``alpha * source``'s slices added to the
    slices of x that ``index`` names along ``dim``."""
    axis, index, source = index_source(x, dim, index, source, "index_add")
    if isinstance(alpha, float) and x.dtype.kind in "biu":
        raise OperandError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    return _applied(_scatter.IndexAdd, x, axis, index, source, alpha)


def index_copy(x: Variable, dim: Any, index: Any, source: Any) -> Variable:
    """``x.index_copy(dim, index, source)``: the named slices replaced by source's."""
    axis, index, source = index_source(x, dim, index, source, "index_copy")
    return _applied(_scatter.IndexCopy, x, axis, index, source)


def index_fill_arguments(x: Variable, dim: Any, index: Any, value: Any) -> tuple[Any, ...]:
    """``(axis, index, value)`` checked for ``index_fill``; negative indices count back."""
    axis = dim_index(dim, x.ndim, "index_fill")
    index = _vector_index(index, "index_fill")
    if isinstance(value, Variable | np.ndarray):
        if np.ndim(value):
            raise InputError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{np.ndim(value)} dimension(s)."
            )
        if not isinstance(value, Variable):
            value = value.item()
    elif not isinstance(value, bool | int | float | np.number):
        raise OperandError(
            f"index_fill(): argument 'value' must be a Number, not {type(value).__name__}"
        )
    size = (x.shape or (1,))[axis]
    _in_bounds(index, size, axis, "index_fill", -size, IndexRangeError)
    return axis, index % max(size, 1), value


def index_fill(x: Variable, dim: Any, index: Any, value: Any) -> Variable:
    """``x.index_fill(dim, index, value)``: the named slices set to ``value``."""
    axis, index, value = index_fill_arguments(x, dim, index, value)
    return _applied(_scatter.IndexFill, x, axis, index, value)


def take(x: Variable, index: Any) -> Variable:
    """``x.take(index)``: elements of the flattened input, in index's shape."""
    index = as_array(index)
    if index.dtype != np.int64:
        raise InputError(f"take(): Expected a long tensor for index, but got {index.dtype}")
    n = x.numel()
    if index.size and (index.min() < -n or index.max() >= n):
        bad = index.min() if index.min() < -n else index.max()
        raise IndexRangeError(
            f"take(): out of range: tried to access index {bad} on a tensor of {n} elements."
        )
    return _scatter.Take.apply(x, index)


def take_along_dim(x: Variable, indices: Any, dim: Any = None) -> Variable:
    """``x.take_along_dim(indices, dim)``: ``gather`` after broadcasting every dim but
    ``dim``; with no ``dim``, over the flattened input."""
    given, indices = indices, as_array(indices)
    if indices.dtype != np.int64:
        raise InputError(
            f"take_along_dim(): dtype of indices should be int64 but got {indices.dtype}"
        )
    if dim is None:
        return x.reshape(-1).gather(0, indices.reshape(-1))
    if x.ndim != indices.ndim:
        raise InputError(
            "take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {x.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
        )
    axis = dim_index(dim, x.ndim, "take_along_dim")
    x_shape, i_shape = list(x.shape), list(indices.shape)
    x_shape[axis] = i_shape[axis] = 1
    try:
        shape = list(np.broadcast_shapes(tuple(x_shape), tuple(i_shape)))
    except ValueError:
        raise ShapeError(
            f"take_along_dim(): shapes {x.shape} and {indices.shape} do not broadcast "
            f"apart from dimension {axis}"
        ) from None
    x_to, i_to = list(shape), list(shape)
    x_to[axis], i_to[axis] = x.shape[axis], indices.shape[axis]
    expanded = x if tuple(x_to) == x.shape else x.expand(*x_to)
    if tuple(i_to) == indices.shape:  # the Variable given: a trace draws where it came from
        return expanded.gather(axis, given)
    return expanded.gather(axis, np.broadcast_to(indices, i_to))


def index_put_arguments(x: Variable, indices: Any, values: Any, op: str) -> tuple[Any, ...]:
    """``(indices, values)`` checked for ``index_put``: a tuple of integer or bool arrays,
    values of x's dtype."""
    if not isinstance(indices, tuple | list):
        raise OperandError(
            f"{op}(): argument 'indices' must be a tuple of Variables, not {type(indices).__name__}"
        )
    arrays = tuple(as_array(i) for i in indices)
    for array in arrays:
        if array.dtype.kind not in "iub":
            raise IndexRangeError(
                f"{op}(): tensors used as indices must be long, int, byte or bool tensors, got "
                f"{array.dtype}"
            )
    values = values if isinstance(values, Variable) else Variable(as_array(values))
    if values.dtype != x.dtype:
        raise InputError(
            f"Index put requires the source and destination dtypes match, got {x.dtype} for "
            f"the destination and {values.dtype} for the source."
        )
    try:
        target = x._data[arrays]
        np.broadcast_to(values._data, target.shape)
    except IndexError as error:
        raise IndexRangeError(f"{op}(): {error} (input shape {x.shape})") from None
    except ValueError:
        raise ShapeError(
            f"{op}(): shape mismatch: value tensor of shape {values.shape} cannot be broadcast "
            f"to indexing result of shape {target.shape}"
        ) from None
    return arrays, values


def index_put(x: Variable, indices: Any, values: Any, accumulate: bool = False) -> Variable:
    """``x.index_put(indices, values, accumulate=False)``: ``x[indices] = values`` (or
    ``+=`` with ``accumulate``) on a copy."""
    indices, values = index_put_arguments(x, indices, values, "index_put")
    return _scatter.IndexPut.apply(x, indices, values, bool(accumulate))
