"""Shape and indexing: reshape, transpose, permute, indexing, cat, stack and casts."""

from __future__ import annotations

import itertools
import os
import re
import sys
import warnings
from typing import Any

import numpy as np

from gradviz.autograd.dims import dim_index
from gradviz.autograd.errors import IndexRangeError, OperandError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.accumulate import add_rows
from gradviz.autograd.ops.promotion import result_type
from gradviz.autograd.ops.scatter import IndexPut
from gradviz.autograd.scattered import Scattered
from gradviz.autograd.variable import Variable, from_op


class Reshape(Function):
    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, shape):
        for index, size in enumerate(shape):  # NumPy reads any negative size as -1
            if isinstance(size, bool) or not isinstance(size, int | np.integer):
                raise OperandError(f"reshape(): shape must be integers, got {tuple(shape)}")
            if size < -1:
                raise ShapeError(
                    f"reshape(): invalid shape dimension {size} at index {index} of shape "
                    f"{tuple(shape)}"
                )
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:  # NumPy's words ("into shape (5,newaxis)"); PyTorch's here
            wanted = list(shape)
            if wanted.count(-1) > 1:
                raise ShapeError(
                    f"reshape(): only one dimension can be inferred, got {wanted}"
                ) from None
            raise ShapeError(
                f"reshape(): shape '{wanted}' is invalid for input of size {x.size}"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = dim0, dim1
        return np.swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return np.swapaxes(grad, *ctx.dims)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad.transpose(*ctx.dims)


class Permute(Function):
    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, dims):
        if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
            raise ShapeError(f"Permute: dims {dims} are not a permutation of {x.ndim} axes")
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort([d % grad.ndim for d in ctx.dims]))

    @staticmethod
    def backward_graph(ctx, grad, out):
        return Permute.apply(grad, tuple(np.argsort([d % grad.ndim for d in ctx.dims]).tolist()))


def normalize_index(index: Any) -> Any:
    """Replace Variables inside an index by their arrays (indices carry no gradient)."""
    if isinstance(index, Variable | np.ndarray):
        return _mask_if_bytes(index)
    if isinstance(index, tuple):  # lists inside become arrays, so repeats accumulate
        return tuple(
            _mask_if_bytes(i)
            if isinstance(i, Variable | np.ndarray)
            else _index_array(i)
            if isinstance(i, list)
            else i
            for i in index
        )
    if isinstance(index, list):
        return _index_array(index)
    return index


def _mask_if_bytes(index: Variable | np.ndarray) -> np.ndarray:
    """An index array; a uint8 one is a mask, as in PyTorch (the old DQN tutorial's
    ``dtype=torch.uint8`` mask of non-final states), with PyTorch's deprecation warning."""
    array = index._data if isinstance(index, Variable) else index
    if array.dtype != np.uint8:
        return array
    warnings.warn(
        "indexing with dtype uint8 is now deprecated, please use a dtype bool instead "
        "(as PyTorch, gradviz reads a uint8 index as a mask)",
        UserWarning,
        stacklevel=_user_level(),
    )
    return array.astype(bool)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _user_level() -> int:
    """The ``stacklevel`` of the first frame outside gradviz, for a warning about user code."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def _index_array(index: list) -> np.ndarray:
    """A list index as an array; ``ShapeError`` for a ragged one (NumPy's bare ValueError)."""
    try:
        array = np.asarray(index)
    except ValueError:
        raise ShapeError(
            f"Index: an index list must be rectangular (nested lists of equal lengths), "
            f"got {index!r}"
        ) from None
    if not array.size and array.dtype.kind == "f":  # `x[[]]`: no element, as PyTorch
        return array.astype(np.int64)
    return array


_MASK = re.compile(r"along axis (\d+); size of axis is (\d+) but size of corresponding")


def index_message(error: IndexError, index: Any, shape: tuple[int, ...]) -> str:
    """NumPy's IndexError of ``array[index]`` in PyTorch's words where they differ (a mask of
    the wrong shape), with the indexed shape."""
    message = str(error).replace("for axis", "for dimension")
    found = _MASK.search(message)
    masks = [
        p
        for p in (index if isinstance(index, tuple) else (index,))
        if np.ndim(p) and np.asarray(p).dtype == np.bool_
    ]
    if found and masks:
        axis = int(found.group(1))
        message = (
            f"The shape of the mask {list(masks[0].shape)} at index {axis} does not match the "
            f"shape of the indexed tensor {list(shape)} at index {axis}"
        )
    return f"{message} (input shape {shape})"


def _is_basic(index: Any) -> bool:
    """True for indices without integer arrays (no element can be picked twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, np.ndarray) or p.dtype == np.bool_ for p in parts)


class Index(Function):
    """``x[index]`` with slices, integers, integer arrays and boolean masks."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            out = x[index]
            if not isinstance(out, np.ndarray):  # all integers: a 0-d view, as PyTorch's x[0]
                out = x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
            return out
        except IndexError as error:  # an IndexError, as PyTorch raises
            raise IndexRangeError(f"Index: {index_message(error, index, x.shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        if _is_basic(ctx.index):  # no element picked twice
            return Scattered(ctx.shape, ctx.index, grad), None
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        index = ctx.index
        if type(index) is np.ndarray and index.ndim == 1 and index.dtype.kind in "iu":
            add_rows(out, index, grad)  # repeated indices accumulate
        else:
            np.add.at(out, index, grad)
        return out, None

    @staticmethod
    def backward_graph(ctx, grad, out):  # zeros with grad added in at the index
        zeros = from_op(np.zeros(ctx.shape, dtype=grad.dtype), None)
        return IndexPut.apply(zeros, ctx.index, grad, True), None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis, dtype=_joined_dtype(arrays))

    @staticmethod
    def backward(ctx, grad):
        return (None, *np.split(grad, ctx.sizes, axis=ctx.axis))

    @staticmethod
    def backward_graph(ctx, grad, out):
        bounds = [0, *ctx.sizes.tolist(), grad.shape[ctx.axis]]
        before = (slice(None),) * ctx.axis
        return (None, *(grad[(*before, slice(a, b))] for a, b in itertools.pairwise(bounds)))


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        return np.stack(arrays, axis=axis, dtype=_joined_dtype(arrays))

    @staticmethod
    def backward(ctx, grad):
        return (None, *np.moveaxis(grad, ctx.axis, 0))

    @staticmethod
    def backward_graph(ctx, grad, out):
        before = (slice(None),) * ctx.axis
        return (None, *(grad[(*before, i)] for i in range(grad.shape[ctx.axis])))


def _joined_dtype(arrays: tuple[np.ndarray, ...]) -> np.dtype | None:
    """PyTorch's dtype of ``cat``/``stack`` (an int with a float32 gives float32), or None when
    every array has the same dtype (NumPy's then)."""
    first = arrays[0].dtype if arrays else None
    return None if all(a.dtype is first for a in arrays) else result_type(*arrays)


def concatenate(variables: Any, axis: int = 0, *, dim: int | None = None) -> Variable:
    """Join Variables along an existing axis (``torch.cat``). As in PyTorch, 1-d empty ones
    (``tensor([])``, a loop's start) are skipped beside others, and 0-d ones are refused."""
    variables = _joined(variables, "cat")
    for position, v in enumerate(variables):
        if not np.ndim(v):
            raise ShapeError(
                f"cat(): zero-dimensional Variable (at position {position}) cannot be "
                "concatenated; stack them, or unsqueeze them first"
            )
    kept = tuple(v for v in variables if np.shape(v) != (0,))
    if kept and len(kept) < len(variables):
        dtype = result_type(*(v._data if isinstance(v, Variable) else v for v in variables))
        variables = tuple(v if v.dtype == dtype else v.astype(dtype) for v in kept)
    axis = _join_dim(variables, axis, dim, 0, "cat")
    _same_but(variables, axis)
    return Cat.apply(axis, *variables)


def _same_but(variables: tuple, axis: int) -> None:
    """PyTorch's errors of ``cat``: every input has the first's number of dims, and its sizes
    but along ``axis`` (a char-RNN's ``cat((input, hidden), 1)`` of a hidden state made
    without its batch dim is the common case)."""
    shapes = [np.shape(v) for v in variables]
    first = shapes[0]
    listed = ", ".join(str(s) for s in shapes)
    for number, shape in enumerate(shapes[1:], 1):
        if len(shape) != len(first):
            raise ShapeError(
                f"cat(): Tensors must have same number of dimensions: got {len(first)} and "
                f"{len(shape)} (input shapes: {listed}); unsqueeze the one with fewer, or make "
                "it with its batch dim (torch.zeros(1, n_hidden))"
            )
        for d, (want, got) in enumerate(zip(first, shape, strict=True)):
            if d != axis and want != got:
                raise ShapeError(
                    f"cat(): Sizes of tensors must match except in dimension {axis}. Expected "
                    f"size {want} but got size {got} for tensor number {number} in the list "
                    f"(input shapes: {listed})"
                )


def stack(variables: Any, axis: int = 0, *, dim: int | None = None) -> Variable:
    """Join Variables along a new axis (``torch.stack``)."""
    variables = _joined(variables, "stack")
    return Stack.apply(_join_dim(variables, axis, dim, 1, "stack"), *variables)


def _joined(variables: Any, op: str) -> tuple[Any, ...]:
    """The sequence of Variables (or arrays) ``cat``/``stack`` join, checked as PyTorch."""
    if isinstance(variables, Variable | np.ndarray):
        variables = tuple(variables)  # the rows, as NumPy reads an array
    elif not isinstance(variables, list | tuple):
        variables = tuple(variables)
    for position, v in enumerate(variables):
        if not isinstance(v, Variable | np.ndarray):
            raise OperandError(
                f"{op}(): expected a Variable (or an array) as element {position} of the "
                f"sequence, but got {type(v).__name__}"
            )
    if not variables:
        raise ShapeError(f"{op}(): expected a non-empty list of Variables")
    return tuple(variables)


def _join_dim(variables: tuple, axis: int, dim: int | None, extra: int, op: str) -> int:
    """The checked dim of ``cat`` (``extra`` 0) or ``stack`` (``extra`` 1, a new axis)."""
    axis = dim if dim is not None else axis
    first = variables[0]
    ndim = first.ndim if isinstance(first, Variable) else np.ndim(first)
    return dim_index(axis, ndim + extra, op)


class Clone(Function):
    """``x.clone()``: a copy in the graph; the gradient passes through."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine casts it back to the input's dtype

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad


class Diag(Function):
    """``diag(x, diagonal)``: a 1-d input on that diagonal of a square matrix, or a 2-d
    input's diagonal as a 1-d copy; the gradient goes the other way."""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.shape, ctx.diagonal = x.shape, diagonal
        return np.diag(x, diagonal) if x.ndim == 1 else np.diagonal(x, diagonal).copy()

    @staticmethod
    def backward(ctx, grad):
        if len(ctx.shape) == 1:
            return np.diagonal(grad, ctx.diagonal).copy()
        out = np.zeros(ctx.shape, grad.dtype)
        steps = np.arange(grad.shape[0])
        out[steps + max(-ctx.diagonal, 0), steps + max(ctx.diagonal, 0)] = grad
        return out

    @staticmethod
    def backward_graph(ctx, grad, out):
        if len(ctx.shape) == 1:
            return Diag.apply(grad, ctx.diagonal)
        steps = np.arange(grad.shape[0])
        places = (steps + max(-ctx.diagonal, 0), steps + max(ctx.diagonal, 0))
        zeros = from_op(np.zeros(ctx.shape, dtype=grad.dtype), None)
        return IndexPut.apply(zeros, places, grad, True)
