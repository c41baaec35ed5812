"""Scatter and index ops: scatter, scatter_add, scatter_reduce, index_add, index_fill,
index_copy, take, index_put, each with its backward (PyTorch's rules, ties included).

Writes go through NumPy's fancy indexing and unbuffered ``ufunc.at`` (an index met twice adds
twice), never a Python loop over elements. The checked entry points are in ``scatter_checks``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.errors import BackwardError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.accumulate import add_at_grid, add_rows
from gradviz.autograd.variable import Variable, from_op


def scatter_grid(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The fancy index of ``out[i][index[i][j]]`` (dim 1): ``index`` along ``axis``, each
    other axis its own position (broadcast, sparse)."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


def _lead(src: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The leading ``shape`` block of ``src`` (PyTorch reads only that much of a larger src)."""
    return src[tuple(slice(0, n) for n in shape)]


def _padded(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``grad`` (an index-shaped block) in the leading corner of zeros of ``shape``."""
    if grad.shape == shape:
        return grad
    out = np.zeros(shape, grad.dtype)
    out[tuple(slice(0, n) for n in grad.shape)] = grad
    return out


def _cleared(grad: np.ndarray, where: Any, axis: int | None = None) -> np.ndarray:
    """A copy of ``grad`` with zeros at ``where`` (along ``axis`` when given): the places a
    write replaced take no gradient from what was there before."""
    out = grad.copy()
    (out if axis is None else _along(out, axis))[where] = 0
    return out


def _cleared_graph(grad: Variable, where: Any) -> Variable:
    """``_cleared`` in recorded ops: zeros put at ``where`` (an ``IndexPut``)."""
    return IndexPut.apply(grad, where, np.zeros((), grad.dtype), False)


def _padded_graph(grad: Variable, shape: tuple[int, ...]) -> Variable:
    """``_padded`` in recorded ops."""
    if grad.shape == shape:
        return grad
    return put_in_zeros(shape, tuple(slice(0, n) for n in grad.shape), grad)


class Scatter(Function):
    """``x.scatter(dim, index, src)``: ``out[index[i][j]][j] = src[i][j]`` (dim 0); ``src``
    may be a number (``value``). The written places take no gradient from ``x``."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis, index, src):
        ctx.grid, ctx.src_shape = scatter_grid(index, axis), np.shape(src)
        out = x.copy()
        out[ctx.grid] = _lead(src, index.shape) if np.ndim(src) else src
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_x = _cleared(grad, ctx.grid) if needs[0] else None
        grad_src = _padded(grad[ctx.grid], ctx.src_shape) if needs[3] else None
        return grad_x, None, None, grad_src

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs = ctx.needs_input_grad
        grad_x = _cleared_graph(grad, ctx.grid) if needs[0] else None
        grad_src = _padded_graph(grad[ctx.grid], ctx.src_shape) if needs[3] else None
        return grad_x, None, None, grad_src


class ScatterAdd(Function):
    """``x.scatter_add(dim, index, src)``: ``out[index[i][j]][j] += src[i][j]``; repeats add."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis, index, src):
        ctx.grid, ctx.src_shape = scatter_grid(index, axis), src.shape
        out = x.copy()
        add_at_grid(out, ctx.grid, _lead(src, index.shape))
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_src = _padded(grad[ctx.grid], ctx.src_shape) if ctx.needs_input_grad[3] else None
        return grad, None, None, grad_src

    @staticmethod
    def backward_graph(ctx, grad, out):
        picked = grad[ctx.grid]
        return (
            grad,
            None,
            None,
            (_padded_graph(picked, ctx.src_shape) if ctx.needs_input_grad[3] else None),
        )


#: the starting value of each reduction where ``include_self=False``, by float or int dtype
_IDENTITY = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}
_UFUNC = {
    "sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum
}  # fmt: skip


def scatter_reduced(
    x: np.ndarray, grid: tuple[np.ndarray, ...], src: np.ndarray, reduce: str, include_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` with ``src`` reduced into the ``grid`` places, and how many values each place
    holds (for ``mean``; 1 where nothing was scattered)."""
    out = x.copy()
    count = np.zeros(x.shape, np.int64)
    np.add.at(count, grid, 1)
    touched = count > 0
    if not include_self:
        start = _IDENTITY[reduce]
        if x.dtype.kind in "iub" and np.isinf(start):
            info = np.iinfo(x.dtype) if x.dtype.kind != "b" else None
            start = (info.min if start < 0 else info.max) if info else start < 0
        out[touched] = start
    _UFUNC[reduce].at(out, grid, src)
    count = np.where(touched, count + include_self, 1)
    if reduce == "mean":
        out = out // count if out.dtype.kind in "iub" else out / count.astype(out.dtype)
    return out.astype(x.dtype, copy=False), count


class ScatterReduce(Function):
    """``x.scatter_reduce(dim, index, src, reduce, include_self=True)``: ``sum``, ``prod``,
    ``mean``, ``amax`` or ``amin`` of the values that land in each place (with ``x``'s own
    unless ``include_self=False``). Ties of amax/amin share the gradient evenly (PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis, index, src, reduce, include_self=True):
        grid, ctx.src_shape, ctx.grid_axis = scatter_grid(index, axis), src.shape, axis
        src = _lead(src, index.shape)
        out, count = scatter_reduced(x, grid, src, reduce, include_self)
        ctx.grid, ctx.reduce, ctx.include_self, ctx.count = grid, reduce, include_self, count
        ctx.x, ctx.src, ctx.out = x, src, out
        ctx._rule_reads = "inputs and output" if reduce == "prod" else ""  # (only prod's
        return out  # graph rule reads them: higher._check_unwritten)

    @staticmethod
    def backward(ctx, grad):
        grid, reduce = ctx.grid, ctx.reduce
        if reduce == "sum":
            grad_x, grad_src = grad.copy(), grad[grid]
        elif reduce == "mean":
            shared = grad / ctx.count.astype(grad.dtype)
            grad_x, grad_src = shared, shared[grid]
        elif reduce == "prod":
            grad_x, grad_src = _prod_grads(ctx, grad)
        else:
            grad_x, grad_src = _extreme_grads(ctx, grad)
        if not ctx.include_self:
            grad_x = _cleared(grad_x, grid)
        return grad_x, None, None, _padded(grad_src, ctx.src_shape), None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        grid, reduce, (need_x, need_src) = ctx.grid, ctx.reduce, ctx.needs_input_grad[::3][:2]
        if reduce == "prod":
            grad_x, grad_src = _prod_graph(ctx, grad, out, need_x, need_src)
        elif reduce in ("amax", "amin"):  # the ties' shares are constants
            self_share, src_share = _extreme_grads(ctx, np.ones_like(grad._data))
            grad_x, grad_src = grad * self_share, grad[grid] * src_share
        else:
            shared = grad if reduce == "sum" else grad / ctx.count.astype(grad.dtype)
            grad_x, grad_src = shared, shared[grid]
        if need_x and not ctx.include_self:
            grad_x = _cleared_graph(grad_x, grid)
        grad_src = _padded_graph(grad_src, ctx.src_shape) if need_src else None
        return (grad_x if need_x else None), None, None, grad_src, None, None


def _extreme_grads(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """amax/amin: each place's gradient split evenly among the values equal to the result."""
    x, src, out, grid = ctx.x, ctx.src, ctx.out, ctx.grid
    self_hit = (x == out).astype(grad.dtype)
    src_hit = (src == out[grid]).astype(grad.dtype)
    shared = self_hit.copy()
    np.add.at(shared, grid, src_hit)
    shared = grad / shared
    return self_hit * shared, src_hit * shared[grid]


def _prod_grads(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """prod: the product of the other values, exact where some values are zero (PyTorch's
    rule: a place with two zeros gives every value there a zero gradient)."""
    x, src, out, grid = ctx.x, ctx.src, ctx.out, ctx.grid
    include = ctx.include_self
    masked_x = np.where(x == 0, 1, x)
    grad_x = grad * scatter_reduced(masked_x, grid, src, "prod", include)[0] / masked_x
    src_zero = src == 0
    zeros = np.zeros(x.shape, np.int64)
    np.add.at(zeros, grid, src_zero)
    single = src_zero & (zeros[grid] == 1)
    others = scatter_reduced(x, grid, np.where(single, 1, src), "prod", include)[0]
    grad_src = np.where(
        single, (grad * others)[grid], (grad * out)[grid] / np.where(src_zero, 1, src)
    )
    return grad_x, grad_src


def _prod_graph(
    ctx: Any, grad: Variable, out: Variable, need_x: bool, need_src: bool
) -> tuple[Any, Any]:
    """``_prod_grads`` in recorded ops (PyTorch's formula): the products of the other values
    are scatter_reduce's of the inputs with their zeros masked. Where two zeros of ``src``
    meet in one place, PyTorch refuses the derivative of the gradient in ``src``: so is it."""
    from gradviz.autograd.ops.indexing import Where  # (it imports this module)

    x, src = ctx.inputs[0], ctx.inputs[3]
    x = x if isinstance(x, Variable) else from_op(np.asarray(x), None)
    src = src if isinstance(src, Variable) else from_op(np.asarray(src), None)
    if src.shape != ctx.src.shape:  # (the block of a larger src that was read)
        src = src[tuple(slice(0, n) for n in ctx.src.shape)]
    grid, one = ctx.grid, np.ones((), grad.dtype)
    grad_x = grad_src = None
    if need_x:
        masked_x = Where.apply(x._data == 0, one, x)
        grad_x = grad * _reduce_again(ctx, masked_x, src) / masked_x
    if need_src:
        src_zero = ctx.src == 0
        zeros = np.zeros(ctx.x.shape, np.int64)
        np.add.at(zeros, grid, src_zero)
        if (zeros > 1).any():
            raise BackwardError(
                "scatter_reduce(): Double backward is unsupported for src when >1 zeros in "
                "src are scattered to the same position in self (reduce='prod')"
            )
        single = src_zero & (zeros[grid] == 1)
        others = _reduce_again(ctx, x, Where.apply(single, one, src))
        grad_src = Where.apply(
            single, (grad * others)[grid], (grad * out)[grid] / Where.apply(src_zero, one, src)
        )
    return grad_x, grad_src


def _reduce_again(ctx: Any, x: Variable, src: Variable) -> Variable:
    """``x.scatter_reduce(...)`` with the op's index and options, recorded."""
    return ScatterReduce.apply(
        x, ctx.grid_axis, ctx.grid[ctx.grid_axis], src, ctx.reduce, ctx.include_self
    )


def _along(array: np.ndarray, axis: int) -> np.ndarray:
    """``array`` with ``axis`` first (a view: writes land in ``array``)."""
    return np.moveaxis(array, axis, 0)


class IndexAdd(Function):
    """``x.index_add(dim, index, source, alpha)``: ``source``'s slices (times ``alpha``) added
    to the slices ``index`` names along ``dim``; a repeated index adds twice."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis, index, source, alpha=1):
        ctx.axis, ctx.index, ctx.alpha = axis, index, alpha
        out = x.copy()
        added = _along(source, axis)
        add_rows(_along(out, axis), index, added if alpha == 1 else added * alpha)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_source = None
        if ctx.needs_input_grad[3]:
            grad_source = np.take(grad, ctx.index, ctx.axis)
            if ctx.alpha != 1:
                grad_source = grad_source * ctx.alpha
        return grad, None, None, grad_source, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        grad_source = None
        if ctx.needs_input_grad[3]:
            grad_source = grad[(slice(None),) * ctx.axis + (ctx.index,)]
            if ctx.alpha != 1:
                grad_source = grad_source * ctx.alpha
        return grad, None, None, grad_source, None


class IndexFill(Function):
    """``x.index_fill(dim, index, value)``: the slices ``index`` names set to ``value`` (a
    number or a 0-d Variable, whose gradient sums those slices' once each)."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis, index, value):
        ctx.axis, ctx.index = axis, index
        out = x.copy()
        _along(out, axis)[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_x = _cleared(grad, ctx.index, ctx.axis) if needs[0] else None
        grad_value = _along(grad, ctx.axis)[np.unique(ctx.index)].sum() if needs[3] else None
        return grad_x, None, None, grad_value

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs, before = ctx.needs_input_grad, (slice(None),) * ctx.axis
        grad_x = _cleared_graph(grad, (*before, ctx.index)) if needs[0] else None
        grad_value = grad[(*before, np.unique(ctx.index))].sum() if needs[3] else None
        return grad_x, None, None, grad_value


class IndexCopy(Function):
    """``x.index_copy(dim, index, source)``: the slices ``index`` names replaced by
    ``source``'s; the replaced places take no gradient from ``x``."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis, index, source):
        ctx.axis, ctx.index = axis, index
        out = x.copy()
        _along(out, axis)[index] = _along(source, axis)
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        grad_x = _cleared(grad, ctx.index, ctx.axis) if needs[0] else None
        grad_source = np.take(grad, ctx.index, ctx.axis) if needs[3] else None
        return grad_x, None, None, grad_source

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs, where = ctx.needs_input_grad, (slice(None),) * ctx.axis + (ctx.index,)
        grad_x = _cleared_graph(grad, where) if needs[0] else None
        return grad_x, None, None, (grad[where] if needs[3] else None)


class Take(Function):
    """``x.take(index)``: the elements of the flattened input at ``index`` (negative counts
    from the end), in ``index``'s shape."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return np.take(x, index)

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(int(np.prod(ctx.shape)), grad.dtype)
        np.add.at(out, ctx.index, grad)
        return out.reshape(ctx.shape), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        return put_in_zeros((int(np.prod(ctx.shape)),), ctx.index, grad).reshape(ctx.shape), None


def put_in_zeros(shape: tuple[int, ...], index: Any, values: Variable) -> Variable:
    """``values`` added into zeros of ``shape`` at ``index`` (a place met twice adds twice) by
    a recorded ``IndexPut``: the gradient of picking elements, for ``create_graph=True``."""
    zeros = from_op(np.zeros(shape, values.dtype), None)
    return IndexPut.apply(zeros, index, values, True)


class IndexPut(Function):
    """``x.index_put(indices, values, accumulate)``: ``x[indices] = values`` (or ``+=``, a
    repeated place adding each value, with ``accumulate=True``) on a copy."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, indices, values, accumulate=False):
        ctx.indices, ctx.accumulate = indices, accumulate
        out = x.copy()
        if accumulate:
            np.add.at(out, indices, values)
        else:
            out[indices] = values
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_x = grad
        if ctx.needs_input_grad[0] and not ctx.accumulate:
            grad_x = _cleared(grad, ctx.indices)
        grad_values = grad[ctx.indices] if ctx.needs_input_grad[2] else None
        return grad_x, None, grad_values, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        needs = ctx.needs_input_grad
        grad_x = None
        if needs[0]:
            kept = 1 if ctx.accumulate else _cleared(np.ones(grad.shape, grad.dtype), ctx.indices)
            grad_x = grad * kept
        return grad_x, None, (grad[ctx.indices] if needs[2] else None), None
