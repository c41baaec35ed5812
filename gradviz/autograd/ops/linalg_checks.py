"""The checked entry points of ``ops.linalg_more`` (diagonal, trace, select, unflatten,
unfold, addmm, baddbmm, addcmul, addcdiv, cross, kron, inner, tensordot, cdist, block_diag,
logcumsumexp, cummax, cummin): arguments refused as PyTorch refuses them, in its words."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from gradviz.autograd import inplace as _inplace
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import IndexRangeError, InputError, OperandError, ShapeError
from gradviz.autograd.ops import linalg_more as _ops
from gradviz.autograd.ops import nodiff
from gradviz.autograd.ops.promotion import result_type
from gradviz.autograd.variable import Variable, as_array


class CumulativeExtreme(NamedTuple):
    """``(values, indices)`` returned by ``cummax`` and ``cummin``, as in PyTorch."""

    values: Variable
    indices: Variable


def variable(x: Any) -> Variable:
    """``x`` as a Variable (arrays and numbers become one)."""
    return x if isinstance(x, Variable) else Variable(as_array(x))


def _int(value: Any, op: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OperandError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    return int(value)


def promoted(op: str, *values: Any) -> list[Variable]:
    """The operands as Variables of their promoted dtype (PyTorch's type promotion)."""
    found = [variable(v) for v in values]
    dtype = result_type(*(v._data for v in found))
    return [v if v.dtype == dtype else v.to(dtype) for v in found]


def diagonal(x: Variable, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Variable:
    """The ``offset``-th diagonal of dims ``dim1`` and ``dim2``, as the last dim."""
    offset = _int(offset, "diagonal", "offset")
    if x.ndim < 2:
        raise IndexRangeError(
            f"diagonal(): Dimension out of range: the input of shape {x.shape} has fewer than "
            "2 dimensions"
        )
    axis1, axis2 = dim_index(dim1, x.ndim, "diagonal"), dim_index(dim2, x.ndim, "diagonal")
    if axis1 == axis2:
        raise InputError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _inplace.view_of(x, _ops.Diagonal.apply(x, offset, axis1, axis2))


def trace(x: Variable) -> Variable:
    """The sum of a matrix's diagonal (integers give int64)."""
    if x.ndim != 2:
        raise InputError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    if x.dtype.kind in "biu":
        x = x.to(np.int64)
    return _ops.Trace.apply(x)


def select(x: Variable, dim: int, index: int) -> Variable:
    """The slice at ``index`` along ``dim`` (that dim removed), a view."""
    if not x.ndim:
        raise IndexRangeError("select() cannot be applied to a 0-dim tensor.")
    axis = dim_index(dim, x.ndim, "select")
    index = _int(index, "select", "index")
    size = x.shape[axis]
    if not -size <= index < size:
        raise IndexRangeError(
            f"select(): index {index} out of range for tensor of size {list(x.shape)} at "
            f"dimension {axis}"
        )
    return x[(slice(None),) * axis + (index,)]


def unflatten(x: Variable, dim: int, sizes: Any) -> Variable:
    """``dim`` split into ``sizes`` (one of them may be -1)."""
    axis = dim_index(dim, x.ndim, "unflatten")
    sizes = tuple(_int(n, "unflatten", "sizes") for n in sizes)
    if not sizes:
        raise InputError("unflatten: sizes must be non-empty")
    size = (x.shape or (1,))[axis]
    known = int(np.prod([n for n in sizes if n != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != size) or (known and size % known):
        raise InputError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({size}) in the input tensor"
        )
    return x.reshape(*x.shape[:axis], *sizes, *x.shape[axis + 1 :])


def unfold(x: Variable, dimension: int, size: int, step: int) -> Variable:
    """Every ``size``-long window along ``dimension``, ``step`` apart, as a new last dim."""
    axis = dim_index(dimension, x.ndim, "unfold")
    size, step = _int(size, "unfold", "size"), _int(step, "unfold", "step")
    length = (x.shape or (1,))[axis]
    if size < 0:
        raise InputError(f"size is {size} but must be >= 0")
    if size > length:
        raise InputError(
            f"maximum size for tensor at dimension {axis} is {length} but size is {size}"
        )
    if step <= 0:
        raise InputError(f"step is {step} but must be > 0")
    if not x.ndim:
        return _ops.Unfold.apply(x.reshape(1), 0, size, step).reshape(size)
    return _inplace.view_of(x, _ops.Unfold.apply(x, axis, size, step))


def _matrices(op: str, ndim: int, *named: tuple[str, Variable]) -> None:
    for name, m in named:
        if m.ndim != ndim:
            what = "a matrix" if ndim == 2 else "a 3D tensor"
            raise InputError(f"{op}(): {name} must be {what}, got {m.ndim}-D tensor")


def _one_dtype(op: str, *values: Variable) -> None:
    if len({v.dtype for v in values}) > 1:
        raise InputError(
            f"{op}(): expected the operands to have one dtype, got "
            f"{', '.join(str(v.dtype) for v in values)}"
        )


def addmm(x: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
    """``beta * input + alpha * mat1 @ mat2`` (input broadcast to the product's shape)."""
    x, a, b = variable(x), variable(mat1), variable(mat2)
    _matrices("addmm", 2, ("mat1", a), ("mat2", b))
    if a.shape[1] != b.shape[0]:
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})"
        )
    return _product(_ops.Addmm, "addmm", x, a, b, beta, alpha, (a.shape[0], b.shape[1]))


def baddbmm(x: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Variable:
    """``beta * input + alpha * batch1 @ batch2``, batch by batch."""
    x, a, b = variable(x), variable(batch1), variable(batch2)
    _matrices("baddbmm", 3, ("batch1", a), ("batch2", b))
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise ShapeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    shape = (a.shape[0], a.shape[1], b.shape[2])
    return _product(_ops.Baddbmm, "baddbmm", x, a, b, beta, alpha, shape)


def _product(
    op: Any,
    name: str,
    x: Variable,
    a: Variable,
    b: Variable,
    beta: Any,
    alpha: Any,
    shape: tuple[int, ...],
) -> Variable:
    """``op`` (addmm or baddbmm) once the input broadcasts to the product's ``shape``."""
    _one_dtype(name, x, a, b)
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ShapeError(
            f"{name}(): the input of shape {x.shape} does not broadcast to the product's "
            f"shape {shape}"
        ) from None
    if np.broadcast_shapes(x.shape, shape) != shape:
        raise ShapeError(f"{name}(): the input of shape {x.shape} is larger than {shape}")
    for number in (beta, alpha):
        if isinstance(number, float) and x.dtype.kind in "biu":
            raise OperandError(
                "For integral input tensors, argument alpha must not be a floating point number."
            )
    return op.apply(x, a, b, beta, alpha)


def pointwise(op: Any, name: str, x: Any, tensor1: Any, tensor2: Any, value: Any) -> Variable:
    """``addcmul``/``addcdiv`` of broadcastable operands in their promoted dtype."""
    return op.apply(*pointwise_operands(name, x, tensor1, tensor2, value))


def pointwise_operands(name: str, x: Any, tensor1: Any, tensor2: Any, value: Any) -> list[Any]:
    """The operands of ``addcmul``/``addcdiv``, checked, in their promoted dtype, and the
    value (an integer result takes its integer part, as in PyTorch)."""
    x, a, b = promoted(name, x, tensor1, tensor2)
    if name == "addcdiv" and all(variable(t).dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise InputError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2."
        )
    try:
        np.broadcast_shapes(x.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{name}(): shapes {x.shape}, {a.shape} and {b.shape} do not broadcast"
        ) from None
    return [x, a, b, int(value) if x.dtype.kind in "biu" else value]


def cross(x: Any, other: Any, dim: Any = None) -> Variable:
    """The cross product along ``dim`` (of length 3); without ``dim``, the first dim of
    length 3 (with PyTorch's warning)."""
    a, b = variable(x), variable(other)
    _one_dtype("linalg.cross", a, b)
    if a.ndim != b.ndim:
        raise InputError(
            f"linalg.cross: inputs must have the same number of dimensions, got {a.ndim} and "
            f"{b.ndim}"
        )
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"linalg.cross: shapes {a.shape} and {b.shape} do not broadcast") from None
    if dim is None:
        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated.",
            UserWarning,
            stacklevel=3,
        )
        axis = next((d for d, n in enumerate(shape) if n == 3), None)
        if axis is None:
            raise InputError("no dimension of size 3 in input")
    else:
        axis = dim_index(dim, a.ndim, "linalg.cross")
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise InputError(
            f"linalg.cross: inputs dimension {axis} must have length 3. Got "
            f"{a.shape[axis]} and {b.shape[axis]}"
        )
    return _ops.Cross.apply(a, b, axis)


def kron(x: Any, other: Any) -> Variable:
    """The Kronecker product."""
    a, b = promoted("kron", x, other)
    return _ops.Kron.apply(a, b)


def tensordot(a: Any, b: Any, dims: Any = 2) -> Variable:
    """The sum of products over ``dims``: an int (a's last dims with b's first) or two lists
    of dims."""
    a, b = variable(a), variable(b)
    _one_dtype("tensordot", a, b)
    if isinstance(dims, int | np.integer) and not isinstance(dims, bool):
        if dims < 0:
            raise InputError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise InputError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        a_dims, b_dims = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, list | tuple) and len(dims) == 2:
        pair = [[d] if isinstance(d, int) else list(d) for d in dims]
        if len(pair[0]) != len(pair[1]):
            raise InputError("both dimension lists should have same length")
        a_dims = [dim_index(d, a.ndim, "tensordot") for d in pair[0]]
        b_dims = [dim_index(d, b.ndim, "tensordot") for d in pair[1]]
    else:
        raise OperandError(f"tensordot(): dims must be an int or two lists of dims, got {dims!r}")
    for da, db in zip(a_dims, b_dims, strict=True):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                f"{da} and second has size {b.shape[db]} in dim {db}"
            )
    return _ops.Tensordot.apply(a, b, a_dims, b_dims)


def inner(x: Any, other: Any) -> Variable:
    """The sum of products over the last dims (a product when either is 0-d)."""
    a, b = variable(x), variable(other)
    if not a.ndim or not b.ndim:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(a.shape)} and {list(b.shape)}"
        )
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: Any = None) -> Variable:
    """The ``p``-norm distance of every row of ``x1`` to every row of ``x2`` (batched)."""
    a, b = variable(x1), variable(x2)
    for name, v in (("X1", a), ("X2", b)):
        if v.ndim < 2:
            raise InputError(f"cdist only supports at least 2D tensors, {name} got: {v.ndim}D")
        if v.dtype.kind != "f":
            raise InputError(f"cdist only supports floating-point dtypes, {name} got: {v.dtype}")
    if a.shape[-1] != b.shape[-1]:
        raise InputError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    if p < 0:
        raise InputError("cdist only supports non-negative p values")
    _one_dtype("cdist", a, b)
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"cdist(): batch shapes {a.shape[:-2]} and {b.shape[:-2]} do not broadcast"
        ) from None
    return _ops.Cdist.apply(a, b, float(p))


def block_diag(*tensors: Any) -> Variable:
    """The inputs (0-d, 1-d as a row, or 2-d) down the diagonal of a zero matrix."""
    blocks = []
    for position, t in enumerate(promoted("block_diag", *tensors) if tensors else []):
        if t.ndim > 2:
            raise InputError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{position} has {t.ndim} dimensions"
            )
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return Variable(np.zeros((1, 0), np.float32))
    return _ops.BlockDiag.apply(*blocks)


def logcumsumexp(x: Variable, dim: int) -> Variable:
    """``log(cumsum(exp(x), dim))``, without overflow (floats only)."""
    axis = dim_index(dim, x.ndim, "logcumsumexp")
    if x.dtype.kind != "f":
        raise InputError(f"\"logcumsumexp_out_cpu\" not implemented for '{x.dtype}'")
    if not x.ndim:
        return _ops.Logcumsumexp.apply(x.reshape(1), 0).reshape(())
    return _ops.Logcumsumexp.apply(x, axis)


def cumulative_extreme(x: Variable, dim: int, largest: bool) -> CumulativeExtreme:
    """``cummax``/``cummin``: the running values and where each came from (int64)."""
    op = _ops.Cummax if largest else _ops.Cummin
    axis = dim_index(dim, x.ndim, op.__name__.lower())
    flat = x.reshape(1) if not x.ndim else x
    values = op.apply(flat, 0 if not x.ndim else axis)
    indices = _ops.running_indices(flat._data, values._data, 0 if not x.ndim else axis)
    if not x.ndim:
        values, indices = values.reshape(()), indices.reshape(())
    found = nodiff.CummaxIndices if largest else nodiff.CumminIndices
    return CumulativeExtreme(values, nodiff.announce(found, (x, dim), Variable(indices)))
