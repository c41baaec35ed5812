"""Indexing and layout ops: expand, repeat, split, gather, masked_fill, where, tril/triu, cumsum.

The functions below the op classes check their arguments with PyTorch's rules (dims through
``dims.dim_index``) and name the op in every error.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from gradviz.autograd import inplace as _inplace
from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import InputError, OperandError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.accumulate import add_at_grid
from gradviz.autograd.ops.promotion import result_type
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.scattered import Scattered
from gradviz.autograd.variable import Variable, as_array


class Expand(Function):
    """``x.expand(*sizes)``: a broadcast view; the engine sums the gradient back."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine un-broadcasts it to the input's shape

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad


class Repeat(Function):
    """``x.repeat(*sizes)``: tile the input; each copy's gradient adds up."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, grad):
        padded = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        interleaved = [n for pair in zip(ctx.reps, padded, strict=True) for n in pair]
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, 2 * len(padded), 2)))
        return summed.reshape(ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad, out):
        padded = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        interleaved = [n for pair in zip(ctx.reps, padded, strict=True) for n in pair]
        summed = grad.reshape(interleaved).sum(dim=tuple(range(0, 2 * len(padded), 2)))
        return summed.reshape(ctx.shape)


class Split(Function):
    """One piece of ``split``/``chunk``: elements ``start:stop`` along ``axis``."""

    @staticmethod
    def forward(ctx, x, axis, start, stop):
        ctx.shape, ctx.where = x.shape, (slice(None),) * axis + (slice(start, stop),)
        return x[ctx.where]

    @staticmethod
    def backward(ctx, grad):
        return Scattered(ctx.shape, ctx.where, grad)  # the pieces add into one gradient

    @staticmethod
    def backward_graph(ctx, grad, out):
        return put_in_zeros(ctx.shape, ctx.where, grad)


class Gather(Function):
    """``x.gather(dim, index)``: ``out[i][j] = x[index[i][j]][j]`` for dim 0; repeats add up."""

    @staticmethod
    def forward(ctx, x, axis, index):
        grid = list(np.indices(index.shape, sparse=True))
        grid[axis] = index
        ctx.shape, ctx.grid = x.shape, tuple(grid)
        return x[ctx.grid]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        add_at_grid(out, ctx.grid, grad)  # an index picked twice gets both gradients
        return out

    @staticmethod
    def backward_graph(ctx, grad, out):
        return put_in_zeros(ctx.shape, ctx.grid, grad)


class MaskedFill(Function):
    """``x.masked_fill(mask, value)``: ``value`` where ``mask`` is true, ``x`` elsewhere."""

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        out = x.copy()  # and a masked copy: np.where of a broadcast mask takes twice as long
        np.copyto(out, value, casting="unsafe", where=mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        # zeros put in (not grad * mask: a NaN gradient of a filled place stays out, PyTorch)
        keep = filled = None
        if ctx.needs_input_grad[0]:  # a masked copy: np.where of a broadcast mask is slower
            keep = grad.copy()
            np.copyto(keep, 0, where=ctx.mask)
        if ctx.needs_input_grad[2]:
            filled = np.where(ctx.mask, grad, np.zeros((), dtype=grad.dtype))
        return keep, None, filled

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs, zero = ctx.needs_input_grad, np.zeros((), dtype=grad.dtype)
        keep = MaskedFill.apply(grad, ctx.mask, zero) if needs[0] else None
        return keep, None, (Where.apply(ctx.mask, grad, zero) if needs[2] else None)


class Where(Function):
    """``where(condition, a, b)``: ``a`` where the condition holds, ``b`` elsewhere."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        out = np.where(condition, a, b)
        if _kept(out, a, b) or _kept(out, b, a):  # an n-d operand's dtype: PyTorch's too
            return out
        dtype = result_type(a, b)  # PyTorch's (NumPy's where widens to float64 more often)
        return out if out.dtype == dtype else out.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        zero = np.zeros((), dtype=grad.dtype)
        a = np.where(ctx.condition, grad, zero) if ctx.needs_input_grad[1] else None
        b = np.where(ctx.condition, zero, grad) if ctx.needs_input_grad[2] else None
        return None, a, b

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs, zero = ctx.needs_input_grad, np.zeros((), dtype=grad.dtype)
        a = Where.apply(ctx.condition, grad, zero) if needs[1] else None
        return None, a, (Where.apply(ctx.condition, zero, grad) if needs[2] else None)


def _kept(out: np.ndarray, a: Any, b: Any) -> bool:
    """True when ``out`` has the dtype of ``a``, an n-d array (or a 0-d one beside no n-d
    ``b``): NumPy's promotion then agrees with PyTorch's."""
    return (
        type(a) is np.ndarray
        and out.dtype is a.dtype
        and (a.ndim > 0 or getattr(b, "ndim", 0) == 0)
    )


class Tril(Function):
    """``x.tril(diagonal)``: the lower triangle of the last two axes, zeros above."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.diagonal = diagonal
        return np.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return np.tril(grad, ctx.diagonal)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Tril.apply(grad, ctx.diagonal)


class Triu(Function):
    """``x.triu(diagonal)``: the upper triangle of the last two axes, zeros below."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.diagonal = diagonal
        return np.triu(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return np.triu(grad, ctx.diagonal)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Triu.apply(grad, ctx.diagonal)


class Cumsum(Function):
    """``x.cumsum(dim)``: running sums; the gradient is the reversed running sum."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        flipped = np.flip(grad, ctx.axis)
        return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis)


# ------------------------------------------------------------------------- checked entry points
def _sizes(sizes: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
        return tuple(sizes[0])
    return tuple(sizes)


def _integers(values: tuple[Any, ...], op: str, what: str) -> tuple[int, ...]:
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        raise OperandError(f"{op}(): {what} must be integers, got {values!r}")
    return tuple(int(v) for v in values)


def expand(x: Variable, *sizes: Any) -> Variable:
    """``x.expand(*sizes)``: -1 keeps a size; new axes go in front; only size-1 axes grow."""
    sizes = _integers(_sizes(sizes), "expand", "sizes")
    extra = len(sizes) - x.ndim
    if extra < 0:
        raise InputError(
            f"expand(): the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the input ({x.ndim}), got sizes {sizes}"
        )
    shape = []
    for i, size in enumerate(sizes):
        old = x.shape[i - extra] if i >= extra else None
        if size == -1 and old is None:
            raise InputError(f"expand(): -1 is not allowed in a leading, new dimension ({sizes})")
        new = old if size == -1 else size
        if new < 0 or (old is not None and old not in (1, new)):
            raise InputError(
                f"expand(): the expanded size of the input ({new}) must match the existing size "
                f"({old}) at non-singleton dimension {i}; input shape {x.shape}, sizes {sizes}"
            )
        shape.append(new)
    return Expand.apply(x, tuple(shape))


def repeat(x: Variable, *sizes: Any) -> Variable:
    """``x.repeat(*sizes)``: tile ``sizes[i]`` times along axis ``i`` (new axes in front)."""
    sizes = _integers(_sizes(sizes), "repeat", "sizes")
    if len(sizes) < x.ndim:
        raise InputError(
            f"repeat(): number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
            f"than the number of dimensions of the input ({x.ndim})"
        )
    if any(n < 0 for n in sizes):
        raise InputError(f"repeat(): repeats must be non-negative, got {sizes}")
    return Repeat.apply(x, sizes)


def split(x: Variable, split_size_or_sections: Any, dim: int = 0) -> tuple[Variable, ...]:
    """``x.split(size)`` (equal pieces, the last smaller) or ``x.split([sizes])``."""
    if not x.ndim:
        raise InputError("split(): expected a Variable with at least one dimension, got 0-d")
    axis = dim_index(dim, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, tuple | list):
        sections = _integers(tuple(split_size_or_sections), "split", "split sizes")
        if sum(sections) != length or any(n < 0 for n in sections):
            raise InputError(
                f"split(): split sizes {list(sections)} must be non-negative and sum to the size "
                f"of dimension {axis}, {length}"
            )
    else:
        (size,) = _integers((split_size_or_sections,), "split", "split_size")
        if size < 0 or (size == 0 and length):
            raise InputError(
                f"split(): split_size must be positive (0 only for a dimension of size 0), got "
                f"{size} for dimension {axis} of size {length}"
            )
        sections = (size,) * (length // size) + ((length % size,) if length % size else ())
        sections = sections or (0,)
    bounds = np.cumsum((0, *sections)).tolist()
    return tuple(
        _inplace.view_of(x, Split.apply(x, axis, start, stop))
        for start, stop in itertools.pairwise(bounds)
    )


def chunk(x: Variable, chunks: int, dim: int = 0) -> tuple[Variable, ...]:
    """``x.chunk(chunks)``: at most ``chunks`` equal pieces of ``ceil(size / chunks)``."""
    (chunks,) = _integers((chunks,), "chunk", "chunks")
    if chunks <= 0:
        raise InputError(f"chunk(): chunks must be greater than 0, got {chunks}")
    if not x.ndim:
        raise InputError("chunk(): expected a Variable with at least one dimension, got 0-d")
    length = x.shape[dim_index(dim, x.ndim, "chunk")]
    if not length:  # PyTorch: `chunks` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, math.ceil(length / chunks), dim)


def index_array(index: Any, op: str) -> np.ndarray:
    """An integer index (a Variable, an ndarray or a list), as PyTorch's gather takes."""
    array = as_array(index)
    if array.dtype.kind not in "iu":
        raise InputError(f"{op}(): expected an integer (int64) index, got dtype {array.dtype}")
    return array


def gather(x: Variable, dim: int, index: Any) -> Variable:
    """``x.gather(dim, index)``: values along ``dim`` at ``index``."""
    index = index_array(index, "gather")
    axis = dim_index(dim, x.ndim, "gather")
    if max(index.ndim, 1) != max(x.ndim, 1):
        raise InputError(
            f"gather(): index must have the same number of dimensions as input, got index "
            f"shape {index.shape} for input shape {x.shape}"
        )
    shape = x.shape or (1,)
    for d, n in enumerate(index.shape):
        if d != axis and n > shape[d]:
            raise InputError(
                f"gather(): size of index ({index.shape}) must not exceed the input's "
                f"({x.shape}) except at dimension {axis}"
            )
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):
        bad = index.min() if index.min() < 0 else index.max()
        raise InputError(
            f"gather(): index {bad} is out of bounds for dimension {axis} with size {shape[axis]}"
        )
    if not x.ndim:
        return Gather.apply(x.reshape(1), 0, index.reshape(1)).reshape(index.shape)
    return Gather.apply(x, axis, index)


def _bool_mask(mask: Any, op: str) -> Any:
    """``mask`` as ``op`` takes it: a bool Variable as it is (a trace then draws where the mask
    came from, ``x < 0``), anything else as a bool array."""
    array = as_array(mask)
    if array.dtype != np.bool_:
        raise InputError(f"{op}(): expected a boolean mask, got one of dtype {array.dtype}")
    return mask if isinstance(mask, Variable) else array


def masked_fill(x: Variable, mask: Any, value: Any) -> Variable:
    """``x.masked_fill(mask, value)``; ``value`` a number or a 0-d Variable."""
    mask = _bool_mask(mask, "masked_fill")
    if not np.ndim(mask) <= x.ndim:
        raise InputError(f"masked_fill(): mask of shape {mask.shape} has more dims than {x.shape}")
    if isinstance(value, Variable | np.ndarray) and np.ndim(value):
        raise InputError(
            f"masked_fill(): value must be a number or a 0-d Variable, got shape {np.shape(value)}"
        )
    if any(m not in (1, n) for m, n in zip(mask.shape[::-1], x.shape[::-1], strict=False)):
        raise InputError(
            f"masked_fill(): mask of shape {mask.shape} does not broadcast to the input's "
            f"shape {x.shape}"
        )
    if not isinstance(value, Variable):
        value = as_array(value).item()
    return MaskedFill.apply(x, mask, value)


def where(condition: Any, a: Any = None, b: Any = None) -> Any:
    """``where(condition, a, b)``; ``a`` and ``b`` Variables, arrays or numbers.
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        mask = condition if isinstance(condition, Variable) else Variable(as_array(condition))
        return mask.nonzero(as_tuple=True)
    condition = _bool_mask(condition, "where")
    operands = []
    for name, value in (("input", a), ("other", b)):
        if isinstance(value, list | tuple):
            value = as_array(value)
        elif not isinstance(value, Variable | np.ndarray | int | float | np.generic):
            raise OperandError(
                f"where(): argument '{name}' must be a Variable, an array or a number, "
                f"not {type(value).__name__}"
            )
        operands.append(value)
    if not any(isinstance(v, Variable | np.ndarray) for v in operands):
        operands = [as_array(v) for v in operands]  # two numbers: floats take the default dtype
    return Where.apply(condition, *operands)


def triangle(x: Variable, op: type[Function], diagonal: int) -> Variable:
    """``tril``/``triu`` of the last two axes (the input needs at least two)."""
    name = op.__name__.lower()
    if x.ndim < 2:
        raise InputError(f"{name}(): input must have at least 2 dimensions, got shape {x.shape}")
    (diagonal,) = _integers((diagonal,), name, "diagonal")
    return op.apply(x, diagonal)


def cumsum(x: Variable, dim: int) -> Variable:
    """``x.cumsum(dim)``; integer and bool inputs give int64, as in PyTorch."""
    axis = dim_index(dim, x.ndim, "cumsum")
    if x.dtype.kind in "biu":
        x = x.astype(np.int64)
    if not x.ndim:
        return Cumsum.apply(x.reshape(1), 0).reshape(())
    return Cumsum.apply(x, axis)
