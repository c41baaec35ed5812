"""The norms of ``gradviz.linalg`` (``vector_norm``, ``matrix_norm``, ``norm``) and the checks
its functions share. A vector norm is the ``Norm`` op; matrix norms are compositions of
existing ops (abs, sum, amax/amin, and the singular values for ``2``, ``-2`` and ``"nuc"``),
as PyTorch composes them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index, reduce_dims
from gradviz.autograd.dtypes import as_dtype
from gradviz.autograd.errors import InputError, OperandError, ShapeError
from gradviz.autograd.ops import linalg_decomp as _ops
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.ops.statistics import Norm
from gradviz.autograd.variable import Variable
from gradviz.autograd.variable_methods import _TENSOR_TYPES


def torch_name(dtype: Any) -> str:
    """PyTorch's name of a dtype in its messages (``Long``, ``Float`` ...)."""
    return _TENSOR_TYPES.get(str(dtype), str(dtype))


def _floating(x: Variable, op: str) -> None:
    if x.dtype.kind != "f":
        raise InputError(
            f"{op}: Expected a floating point or complex tensor as input. Got {torch_name(x.dtype)}"
        )


def matrices(A: Any, op: str, square: bool = True, floating: bool = True) -> Variable:
    """``A`` as a Variable of (a batch of) matrices, refused as PyTorch refuses it."""
    x = as_variable(A, op)
    if floating:
        _floating(x, op)
        if x.dtype == np.float16 and op != "linalg.matrix_norm":  # (NumPy's linalg has none)
            _low_precision(op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(
            f"{op}: A must be batches of square matrices, but they are {x.shape[-2]} by "
            f"{x.shape[-1]} matrices"
        )
    return x


def _low_precision(op: str) -> None:
    raise InputError(f"{op}: Low precision dtypes not supported. Got Half")


def _cast(x: Variable, dtype: Any, op: str) -> Variable:
    """``x`` in ``dtype`` (None: as it is); a narrowing cast is refused, as PyTorch's."""
    _floating(x, op)
    if dtype is None:
        return x
    target = as_dtype(dtype, op)
    if target.kind != "f" or target.itemsize < x.dtype.itemsize:
        raise InputError(
            f"{op}: the dtype of the input ({torch_name(x.dtype)}) should be convertible "
            f"without narrowing to the specified dtype ({torch_name(target)})"
        )
    return x.to(target)


def _order(ord: Any, op: str) -> float:
    if isinstance(ord, bool) or not isinstance(ord, int | float | np.number):
        raise OperandError(f"{op}(): argument 'ord' must be Number, not {type(ord).__name__}")
    return float(ord)


def vector_norm(
    x: Any, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Variable:
    """``(sum |x|**ord) ** (1 / ord)`` over ``dim`` (every element when None); ``ord`` also
    inf, -inf or 0; ``dtype`` casts the input first (one op, ``Norm``)."""
    p = _order(ord, "linalg_vector_norm")
    v = _cast(as_variable(x, "linalg.vector_norm"), dtype, "linalg.vector_norm")
    axis = reduce_dims(dim, v.ndim, "linalg.vector_norm")
    axes = range(v.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    if (p < 0 or p == math.inf) and 0 in (v.shape[a] for a in axes):
        raise InputError(
            f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
            "operation does not have an identity"
        )
    return Norm.apply(v, p, axis, bool(keepdim))


def _two_dims(dim: Any, ndim: int) -> tuple[int, int]:
    if not isinstance(dim, list | tuple):
        raise OperandError(
            f"linalg_matrix_norm(): argument 'dim' must be tuple of ints, not {type(dim).__name__}"
        )
    if len(dim) != 2:
        raise InputError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {len(dim)}")
    first, second = (dim_index(d, ndim, "linalg.matrix_norm") for d in dim)
    if first == second:
        raise InputError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return first, second


def _restore(out: Variable, shape: tuple[int, ...], dims: tuple[int, int], keepdim: bool):
    """A norm reduced over ``dims`` in the shape PyTorch returns (``keepdim``: size 1)."""
    kept = [1 if i in dims else n for i, n in enumerate(shape)]
    return (
        out.reshape(*kept)
        if keepdim
        else out.reshape(*(n for i, n in enumerate(shape) if i not in dims))
    )


def matrix_norm(
    A: Any,
    ord: Any = "fro",
    dim: Any = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Variable:
    """A matrix norm over the two ``dim``: "fro", "nuc", 2 or -2 (largest, smallest singular
    value), 1 or -1 (largest, smallest column sum of |A|), inf or -inf (of row sums)."""
    x = matrices(A, "linalg.matrix_norm", square=False)
    dims = _two_dims(dim, x.ndim)
    x = _cast(x, dtype, "linalg.matrix_norm")
    if ord == "fro":
        return Norm.apply(x, 2.0, dims, bool(keepdim))
    if ord not in ("nuc", 1, -1, 2, -2, math.inf, -math.inf) or isinstance(ord, bool):
        raise InputError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord in ("nuc", 2, -2):
        if x.dtype == np.float16:
            _low_precision("linalg.matrix_norm")
        rest = [i for i in range(x.ndim) if i not in dims]
        values = _ops.LinalgSvd.apply(x.permute(*rest, *dims), False)[1]
        out = values.sum(-1) if ord == "nuc" else values.amax(-1) if ord == 2 else values.amin(-1)
        return _restore(out, x.shape, dims, bool(keepdim))
    summed, extreme = (dims[0], dims[1]) if abs(ord) == 1 else (dims[1], dims[0])
    sums = x.abs().sum(summed, keepdim=True)
    out = sums.amax(extreme, keepdim=True) if ord > 0 else sums.amin(extreme, keepdim=True)
    return _restore(out, x.shape, dims, bool(keepdim))


def norm(
    A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Variable:
    """PyTorch's ``linalg.norm``: a vector norm over one dim (or, with neither ``ord`` nor
    ``dim``, over every element), a matrix norm over two; with ``ord`` and no ``dim``, the
    input's own kind (1-d: vector, 2-d: matrix)."""
    x = as_variable(A, "linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(x, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(x, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise InputError(
            f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}"
        )
    if ord is None:
        return vector_norm(x, 2, None, keepdim, dtype=dtype)
    if x.ndim == 1:
        return vector_norm(x, ord, None, keepdim, dtype=dtype)
    if x.ndim == 2:
        return matrix_norm(x, ord, (0, 1), keepdim, dtype=dtype)
    raise InputError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
        f"{x.ndim}D."
    )
