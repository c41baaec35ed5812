"""More linear algebra and layout ops: diagonal, trace, unfold, addmm, baddbmm, addcmul,
addcdiv, cross, kron, tensordot, cdist, block_diag, logcumsumexp, cummax and cummin, each
with its backward (NumPy strided views and BLAS; no Python loop over elements)."""

from __future__ import annotations

import numpy as np

from gradviz.autograd.function import Function
from gradviz.autograd.ops.indexing import Where
from gradviz.autograd.ops.linalg import Einsum
from gradviz.autograd.ops.scatter import put_in_zeros


def _diagonal_places(
    shape: tuple[int, ...], offset: int, axis1: int, axis2: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (along ``axis1``, ``axis2``) of the ``offset``-th diagonal."""
    n = max(0, min(shape[axis1] + min(offset, 0), shape[axis2] - max(offset, 0)))
    steps = np.arange(n)
    return steps + max(-offset, 0), steps + max(offset, 0)


def diagonal_view(x: np.ndarray, offset: int, axis1: int, axis2: int) -> np.ndarray:
    """The ``offset``-th diagonal of ``axis1`` and ``axis2`` as a last axis: a view that
    writes into ``x`` (NumPy's own ``diagonal`` is read-only)."""
    moved = np.moveaxis(x, (axis1, axis2), (-2, -1))
    rows, _ = _diagonal_places(x.shape, offset, axis1, axis2)
    start = moved[..., max(-offset, 0) :, max(offset, 0) :]
    strides = (*moved.strides[:-2], moved.strides[-2] + moved.strides[-1])
    return np.lib.stride_tricks.as_strided(
        start, (*moved.shape[:-2], len(rows)), strides, writeable=x.flags.writeable
    )


class Diagonal(Function):
    """``x.diagonal(offset, dim1, dim2)``: the diagonal of the two dims, as a last dim (a
    view, as PyTorch's: writes into it under ``no_grad`` land in the input)."""

    @staticmethod
    def forward(ctx, x, offset, axis1, axis2):
        ctx.shape, ctx.where = x.shape, (offset, axis1, axis2)
        return diagonal_view(x, offset, axis1, axis2)

    @staticmethod
    def backward(ctx, grad):
        offset, axis1, axis2 = ctx.where
        out = np.zeros(ctx.shape, grad.dtype)
        rows, cols = _diagonal_places(ctx.shape, offset, axis1, axis2)
        np.moveaxis(out, (axis1, axis2), (-2, -1))[..., rows, cols] = grad
        return out, None, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        _, axis1, axis2 = ctx.where
        moved = [n for d, n in enumerate(ctx.shape) if d not in (axis1, axis2)]
        moved += [ctx.shape[axis1], ctx.shape[axis2]]
        places = (slice(None),) * (len(moved) - 2) + _diagonal_places(ctx.shape, *ctx.where)
        return put_in_zeros(tuple(moved), places, grad).movedim((-2, -1), (axis1, axis2))


class Trace(Function):
    """``x.trace()``: the sum of a matrix's diagonal."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return np.trace(x)

    @staticmethod
    def backward(ctx, grad):
        return np.eye(*ctx.shape, dtype=grad.dtype) * grad

    @staticmethod
    def backward_graph(ctx, grad, out):
        return grad * np.eye(*ctx.shape, dtype=grad.dtype)


class Unfold(Function):
    """``x.unfold(dimension, size, step)``: every ``size``-long window along ``dimension``
    (``step`` apart) as a new last dim; overlapping windows' gradients add up."""

    @staticmethod
    def forward(ctx, x, axis, size, step):
        ctx.shape, ctx.axis, ctx.size, ctx.step = x.shape, axis, size, step
        windows = np.lib.stride_tricks.sliding_window_view(x, size, axis)
        return windows[(slice(None),) * axis + (slice(None, None, step),)]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, grad.dtype)
        count = grad.shape[ctx.axis]
        places = np.arange(count)[:, None] * ctx.step + np.arange(ctx.size)
        moved = np.moveaxis(grad, (ctx.axis, -1), (0, 1))  # (windows, size, other dims ...)
        np.add.at(np.moveaxis(out, ctx.axis, 0), places, moved)
        return out, None, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        count = grad.shape[ctx.axis]
        places = np.arange(count)[:, None] * ctx.step + np.arange(ctx.size)
        where = (slice(None),) * ctx.axis + (places,)  # (windows, size) in the axis' place
        return put_in_zeros(ctx.shape, where, grad.movedim(-1, ctx.axis + 1)), None, None, None


class Addmm(Function):
    """``addmm(input, mat1, mat2, beta, alpha)``: ``beta * input + alpha * mat1 @ mat2``;
    ``beta=0`` ignores the input (its NaN too), as PyTorch."""

    @staticmethod
    def forward(ctx, x, a, b, beta=1, alpha=1):
        ctx.save_for_backward(a, b)
        ctx.beta, ctx.alpha = beta, alpha
        product = a @ b
        if alpha != 1:
            product = product * alpha
        if beta == 0:
            return np.broadcast_to(product, np.broadcast_shapes(x.shape, product.shape)).copy()
        return product + (x if beta == 1 else beta * x)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        scaled = grad if ctx.alpha == 1 else grad * ctx.alpha
        grad_x = (grad if ctx.beta == 1 else grad * ctx.beta) if needs[0] else None
        grad_a = scaled @ np.swapaxes(b, -1, -2) if needs[1] else None
        grad_b = np.swapaxes(a, -1, -2) @ scaled if needs[2] else None
        return grad_x, grad_a, grad_b, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        _, a, b = ctx.inputs[:3]
        needs = ctx.needs_input_grad
        scaled = grad if ctx.alpha == 1 else grad * ctx.alpha
        grad_x = (grad if ctx.beta == 1 else grad * ctx.beta) if needs[0] else None
        grad_a = scaled @ b.transpose(-1, -2) if needs[1] else None
        grad_b = a.transpose(-1, -2) @ scaled if needs[2] else None
        return grad_x, grad_a, grad_b, None, None


class Baddbmm(Addmm):
    """``baddbmm(input, batch1, batch2, beta, alpha)``: addmm of each batch."""

    backward_graph = staticmethod(Addmm.backward_graph)


class Addcmul(Function):
    """``addcmul(input, tensor1, tensor2, value)``: ``input + value * tensor1 * tensor2``."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, a, b, value=1):
        ctx.save_for_backward(a, b)
        ctx.value = value
        product = a * b
        return x + (product if value == 1 else value * product)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scaled = grad if ctx.value == 1 else grad * ctx.value
        needs = ctx.needs_input_grad
        return grad, (scaled * b if needs[1] else None), (scaled * a if needs[2] else None), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        _, a, b = ctx.inputs[:3]
        scaled = grad if ctx.value == 1 else grad * ctx.value
        needs = ctx.needs_input_grad
        return grad, (scaled * b if needs[1] else None), (scaled * a if needs[2] else None), None


class Addcdiv(Function):
    """``addcdiv(input, tensor1, tensor2, value)``: ``input + value * tensor1 / tensor2``."""

    _rule_reads = "inputs"  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, a, b, value=1):
        ctx.save_for_backward(a, b)
        ctx.value = value
        quotient = a / b
        return x + (quotient if value == 1 else value * quotient)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scaled = (grad if ctx.value == 1 else grad * ctx.value) / b
        needs = ctx.needs_input_grad
        return grad, (scaled if needs[1] else None), (-scaled * a / b if needs[2] else None), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        _, a, b = ctx.inputs[:3]
        scaled = (grad if ctx.value == 1 else grad * ctx.value) / b
        needs = ctx.needs_input_grad
        return grad, (scaled if needs[1] else None), (-scaled * a / b if needs[2] else None), None


class Cross(Function):
    """``cross(input, other, dim)``: the cross product of 3-vectors along ``dim``."""

    @staticmethod
    def forward(ctx, a, b, axis):
        ctx.save_for_backward(a, b)
        ctx.axis = axis
        return np.cross(a, b, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        axis, needs = ctx.axis, ctx.needs_input_grad
        grad_a = np.cross(b, grad, axis=axis) if needs[0] else None
        grad_b = np.cross(grad, a, axis=axis) if needs[1] else None
        return grad_a, grad_b, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs[:2]
        axis, needs = ctx.axis, ctx.needs_input_grad
        grad_a = Cross.apply(b, grad, axis) if needs[0] else None
        return grad_a, (Cross.apply(grad, a, axis) if needs[1] else None), None


class Kron(Function):
    """``kron(a, b)``: the Kronecker product (the smaller rank padded with leading ones)."""

    @staticmethod
    def forward(ctx, a, b):
        ndim = max(a.ndim, b.ndim)
        a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
        b = b.reshape((1,) * (ndim - b.ndim) + b.shape)
        ctx.save_for_backward(a, b)
        return np.kron(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ndim = a.ndim
        pairs = grad.reshape([n for pair in zip(a.shape, b.shape, strict=True) for n in pair])
        letters = "abcdefghijklmnopqrstuvwxyz"
        a_axes, b_axes = letters[:ndim], letters[ndim : 2 * ndim]
        both = "".join(x + y for x, y in zip(a_axes, b_axes, strict=True))
        needs = ctx.needs_input_grad
        grad_a = np.einsum(f"{both},{b_axes}->{a_axes}", pairs, b) if needs[0] else None
        grad_b = np.einsum(f"{both},{a_axes}->{b_axes}", pairs, a) if needs[1] else None
        return grad_a, grad_b

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs
        ndim = max(a.ndim, b.ndim)
        a_shape, b_shape = ((1,) * (ndim - v.ndim) + tuple(v.shape) for v in (a, b))
        pairs = grad.reshape([n for pair in zip(a_shape, b_shape, strict=True) for n in pair])
        letters = "abcdefghijklmnopqrstuvwxyz"
        a_axes, b_axes = letters[:ndim], letters[ndim : 2 * ndim]
        both = "".join(x + y for x, y in zip(a_axes, b_axes, strict=True))
        needs = ctx.needs_input_grad
        grad_a = grad_b = None
        if needs[0]:
            grad_a = Einsum.apply((both, b_axes), a_axes, pairs, b.reshape(b_shape))
        if needs[1]:
            grad_b = Einsum.apply((both, a_axes), b_axes, pairs, a.reshape(a_shape))
        return grad_a, grad_b


class Tensordot(Function):
    """``tensordot(a, b, dims)``: the sum of products over the dims paired in ``dims``
    (``(a_dims, b_dims)``, both lists)."""

    @staticmethod
    def forward(ctx, a, b, a_dims, b_dims):
        ctx.save_for_backward(a, b)
        ctx.dims = a_dims, b_dims
        return np.tensordot(a, b, (a_dims, b_dims))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_dims, b_dims = ctx.dims
        a_free = [d for d in range(a.ndim) if d not in a_dims]
        b_free = [d for d in range(b.ndim) if d not in b_dims]
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # axes: a's free ones, then b's summed ones in b's order
            out = np.tensordot(grad, b, (list(range(len(a_free), grad.ndim)), b_free))
            order = a_free + [a_dims[b_dims.index(d)] for d in sorted(b_dims)]
            grad_a = np.transpose(out, np.argsort(order))
        if ctx.needs_input_grad[1]:  # axes: a's summed ones in a's order, then b's free ones
            out = np.tensordot(a, grad, (a_free, list(range(len(a_free)))))
            order = [b_dims[a_dims.index(d)] for d in sorted(a_dims)] + b_free
            grad_b = np.transpose(out, np.argsort(order))
        return grad_a, grad_b, None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        a, b = ctx.inputs[:2]
        a_dims, b_dims = ctx.dims
        a_free = [d for d in range(a.ndim) if d not in a_dims]
        b_free = [d for d in range(b.ndim) if d not in b_dims]
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            out = Tensordot.apply(grad, b, list(range(len(a_free), grad.ndim)), b_free)
            order = a_free + [a_dims[b_dims.index(d)] for d in sorted(b_dims)]
            grad_a = out.permute(*np.argsort(order).tolist())
        if ctx.needs_input_grad[1]:
            out = Tensordot.apply(a, grad, a_free, list(range(len(a_free))))
            order = [b_dims[a_dims.index(d)] for d in sorted(a_dims)] + b_free
            grad_b = out.permute(*np.argsort(order).tolist())
        return grad_a, grad_b, None, None


class Cdist(Function):
    """``cdist(x1, x2, p)``: the p-norm distance of every row pair (batched); the gradient
    at a zero distance is zero, as PyTorch's."""

    @staticmethod
    def forward(ctx, x1, x2, p=2.0):
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        if p == 0:
            out = (diff != 0).sum(-1).astype(diff.dtype)
        elif np.isinf(p):
            out = np.abs(diff).max(-1, initial=0)
        else:
            out = (np.abs(diff) ** p).sum(-1) ** (1 / p)
        ctx.diff, ctx.out, ctx.p = diff, out, p
        return out

    @staticmethod
    def backward(ctx, grad):
        diff, out, p = ctx.diff, ctx.out[..., None], ctx.p
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                scale = np.zeros_like(diff)
            elif np.isinf(p):
                scale = np.sign(diff) * (np.abs(diff) == out)
            elif p == 1:
                scale = np.sign(diff)
            else:
                scale = np.sign(diff) * np.abs(diff) ** (p - 1) / out ** (p - 1)
        scale = np.where(out == 0, 0, scale) * grad[..., None]
        needs = ctx.needs_input_grad
        grad_1 = scale.sum(-2) if needs[0] else None
        grad_2 = -scale.sum(-3) if needs[1] else None
        return grad_1, grad_2, None


class BlockDiag(Function):
    """``block_diag(*tensors)``: 2-d blocks down the diagonal of a zero matrix (inputs
    already 2-d, in one dtype)."""

    @staticmethod
    def forward(ctx, *blocks):
        rows = np.cumsum([0, *(b.shape[0] for b in blocks)])
        cols = np.cumsum([0, *(b.shape[1] for b in blocks)])
        ctx.places = list(zip(rows[:-1], rows[1:], cols[:-1], cols[1:], strict=True))
        out = np.zeros((rows[-1], cols[-1]), np.result_type(*blocks))
        for block, (r0, r1, c0, c1) in zip(blocks, ctx.places, strict=True):  # one per input
            out[r0:r1, c0:c1] = block
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad[r0:r1, c0:c1] for r0, r1, c0, c1 in ctx.places)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return tuple(grad[r0:r1, c0:c1] for r0, r1, c0, c1 in ctx.places)


class Logcumsumexp(Function):
    """``x.logcumsumexp(dim)``: ``log(cumsum(exp(x)))`` without overflow."""

    @staticmethod
    def forward(ctx, x, axis):
        out = np.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        # grad_i = sum_{j >= i} grad_j exp(x_i - out_j), in log space by the sign of grad_j
        x, out = ctx.saved_tensors
        axis = ctx.axis
        result = np.zeros_like(grad)
        with np.errstate(divide="ignore"):
            for sign in (1, -1):  # the positive and the negative part
                part = np.log(np.where(sign * grad > 0, sign * grad, 0)) - out
                tail = np.flip(np.logaddexp.accumulate(np.flip(part, axis), axis=axis), axis)
                result += sign * np.exp(x + tail)
        return result, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        # grad_i = sum_{j >= i} grad_j exp(x_i - out_j), each exponent <= 0 where it counts
        axis = ctx.axis
        x, out = ctx.inputs[0].movedim(axis, -1), out.movedim(axis, -1)
        n = x.shape[-1]
        later = np.triu(np.ones((n, n), bool))  # [i, j]: j >= i
        exponent = Where.apply(
            later, x.unsqueeze(-1) - out.unsqueeze(-2), np.array(-np.inf, x.dtype)
        )
        weights = exponent.exp() * grad.movedim(axis, -1).unsqueeze(-2)
        return weights.sum(-1).movedim(-1, axis), None


def _cumulative_extreme_graph(ctx, grad, out):
    """The graph rule of ``Cummax``/``Cummin``: ``grad`` added into zeros at the places the
    running extremes came from (a constant; PyTorch's ``scatter_add`` into zeros keeps no
    path to the input either)."""
    grid = list(np.indices(grad.shape, sparse=True))
    grid[ctx.axis] = ctx.indices
    return put_in_zeros(grad.shape, tuple(grid), grad), None


class Cummax(Function):
    """``x.cummax(dim)`` values: the running largest; each goes back to where it came from
    (the latest of equal values, a NaN from its place on, as PyTorch)."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, x, axis):
        values = np.maximum.accumulate(x, axis=axis)
        ctx.indices, ctx.axis = running_indices(x, values, axis), axis
        return values

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros_like(grad)
        grid = list(np.indices(grad.shape, sparse=True))
        grid[ctx.axis] = ctx.indices
        np.add.at(out, tuple(grid), grad)
        return out, None

    backward_graph = staticmethod(_cumulative_extreme_graph)


class Cummin(Cummax):
    """``x.cummin(dim)`` values: the running smallest (ties and NaN as cummax)."""

    backward_graph = staticmethod(_cumulative_extreme_graph)

    @staticmethod
    def forward(ctx, x, axis):
        values = np.minimum.accumulate(x, axis=axis)
        ctx.indices, ctx.axis = running_indices(x, values, axis), axis
        return values


def running_indices(x: np.ndarray, values: np.ndarray, axis: int) -> np.ndarray:
    """Where each running extreme came from: the latest place whose value equals it (or is
    NaN), int64."""
    hit = x == values
    if x.dtype.kind == "f":
        hit |= np.isnan(x)
    shape = [1] * x.ndim
    shape[axis] = -1
    places = np.where(hit, np.arange(x.shape[axis]).reshape(shape), 0)
    return np.maximum.accumulate(places, axis=axis).astype(np.int64, copy=False)


#: the ops whose output is a view of their input (in-place writes record only through index
#: views: through these they are refused while recording)
VIEWS = (Diagonal, Unfold)
