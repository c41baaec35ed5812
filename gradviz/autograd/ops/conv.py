"""Convolution and constant padding over 1, 2 or 3 spatial dims, on strided window views and
BLAS.

Each window of the (padded) input is a view (``sliding_window_view``), gathered once per
layer into an im2col matrix per sample and multiplied with the weights by one batched
``matmul`` whose output is already (N, O, *out). The input gradient is the transposed
convolution: ``weight.T @ grad`` per window, added back tap by tap, each kernel tap one strided
view of the input across all windows (col2im, ``_fold``), which also returns the pooling
gradients to their windows (``pooling``). Loops run over kernel taps, never over positions.

Spatial arguments (stride, dilation) arrive as tuples, one int per spatial dim, and padding as
one (before, after) pair per spatial dim: ``functional`` checks and normalises them and names
the layer in its errors.

For ``create_graph=True`` (``backward_graph``) the gradients are themselves convolutions, as
recorded ops: the input's a transposed convolution of the output gradient with the weight
(``conv_transpose.input_grad``), the weight's a convolution of the input with the output
gradient (``weight_grad``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.promotion import same_float_dtype
from gradviz.autograd.variable import Variable

Pairs = tuple[tuple[int, int], ...]
SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def spans(kernel, dilation) -> tuple[int, ...]:
    """The extent of each dilated kernel dim: ``d * (k - 1) + 1``."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))


def sliding_windows(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """The view (N, C, *out, *kernel) of every window of a padded (N, C, *spatial) input."""
    axes = tuple(range(2, 2 + len(kernel)))
    view = sliding_window_view(x, spans(kernel, dilation), axis=axes)
    steps = (*(slice(None, None, s) for s in stride), *(slice(None, None, d) for d in dilation))
    return view[(slice(None), slice(None), *steps)]


def tap_slices(kernel, stride, dilation, out_size) -> list[tuple]:
    """For each kernel tap in row-major order, the index of the padded input's elements that
    tap reads across all output positions: a strided (..., *out) view of the last axes."""
    per_dim = [
        [slice(i * d, i * d + (o - 1) * s + 1, s) for i in range(k)]
        for k, s, d, o in zip(kernel, stride, dilation, out_size, strict=True)
    ]
    return [(Ellipsis, *tap) for tap in itertools.product(*per_dim)]


def out_size(padded, kernel, stride, dilation) -> tuple[int, ...]:
    """The number of windows along each spatial dim of a padded input."""
    return tuple(
        (p - span) // s + 1
        for p, span, s in zip(padded, spans(kernel, dilation), stride, strict=True)
    )


def pad(x: np.ndarray, padding: Pairs, value: float = 0.0) -> np.ndarray:
    """``x`` padded with ``value`` by ``padding``, one (before, after) pair per last axis (only
    the borders are written)."""
    if not any(p for pair in padding for p in pair):
        return x
    first = x.ndim - len(padding)
    grown = (n + a + b for n, (a, b) in zip(x.shape[first:], padding, strict=True))
    out = np.empty((*x.shape[:first], *grown), x.dtype)
    for axis, (before, after) in enumerate(padding, start=first):
        edge = [slice(None)] * out.ndim
        edge[axis] = slice(0, before)
        out[tuple(edge)] = value
        edge[axis] = slice(out.shape[axis] - after, None)
        out[tuple(edge)] = value
    out[unpad_index(out.shape, padding)] = x
    return out


def unpad_index(shape, padding: Pairs) -> tuple:
    """The index of the unpadded part of an array of ``shape`` padded by ``padding``."""
    first = len(shape) - len(padding)
    inner = (slice(a, n - b) for n, (a, b) in zip(shape[first:], padding, strict=True))
    return (Ellipsis, *inner)


#: Bytes of im2col matrix (or of its transpose's shares) made at a time: a convolution runs
#: over its batch in chunks of samples this size, so its working set stays in cache and no
#: layer-sized temporary is made (the backward gathers the columns again instead of keeping
#: them: 9x the input for a 3x3 kernel).
_CHUNK_BYTES = 1 << 19


def _chunks(win: np.ndarray, itemsize: int):
    """The sample slices of the batch of window view ``win`` (N, C, *out, *kernel), sized so
    each chunk's columns take about ``_CHUNK_BYTES``."""
    n = win.shape[0]
    step = max(1, min(n, _CHUNK_BYTES // max(1, itemsize * math.prod(win.shape[1:]))))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _im2col(win: np.ndarray, rows: slice, buffer: np.ndarray, groups: int) -> np.ndarray:
    """The windows of samples ``rows`` gathered into ``buffer`` (reused from chunk to chunk) as
    (B, G, C/G * taps, positions): each sample's matrix ready for one matmul, its innermost run
    an output row."""
    chunk = win[rows]
    b, c = chunk.shape[:2]
    k = (chunk.ndim - 2) // 2
    cols = buffer[:b]
    np.copyto(cols, chunk.transpose(0, 1, *range(2 + k, 2 + 2 * k), *range(2, 2 + k)))
    taps, positions = math.prod(chunk.shape[2 + k :]), math.prod(chunk.shape[2 : 2 + k])
    return cols.reshape(b, groups, c // groups * taps, positions)


def _column_buffer(win: np.ndarray, chunks: list[slice]) -> np.ndarray | None:
    if not chunks:  # an empty batch: nothing to gather
        return None
    k = (win.ndim - 2) // 2
    size = chunks[0].stop - chunks[0].start
    return np.empty((size, win.shape[1], *win.shape[2 + k :], *win.shape[2 : 2 + k]), win.dtype)


def taps_first(shares: np.ndarray) -> np.ndarray:
    """(B, C, *kernel, *out) shares as (*kernel, B, C, *out), the layout ``fold`` adds."""
    k = (shares.ndim - 2) // 2
    return shares.transpose(*range(2, 2 + k), 0, 1, *range(2 + k, 2 + 2 * k))


def fold(shares: np.ndarray, padded, stride, dilation, out=None) -> np.ndarray:
    """col2im: add ``shares`` (*kernel, *batch, *out), one value per window element, into
    ``out`` (*batch, *padded; zeros if not given) at the places those elements were read from:
    one strided ``+=`` per kernel tap (a tap reads each place at most once)."""
    k = len(padded)
    kernel, batch = shares.shape[:k], shares.shape[k:-k]
    out = np.zeros((*batch, *padded), shares.dtype) if out is None else out
    taps = tap_slices(kernel, stride, dilation, shares.shape[-k:])
    for tap, index in zip(taps, np.ndindex(*kernel), strict=True):
        out[tap] += shares[index]
    return out


def conv_forward(xp: np.ndarray, weight: np.ndarray, stride, dilation, groups) -> np.ndarray:
    """Convolve a padded (N, C, *spatial) input with ``weight`` (O, C/G, *kernel): per chunk of
    samples, one gather and one batched matmul written straight into the (N, O, *out)
    output."""
    o, cg, *kernel = weight.shape
    win = sliding_windows(xp, kernel, stride, dilation)
    size = win.shape[2 : 2 + len(kernel)]
    out = np.empty((win.shape[0], o, *size), np.result_type(xp.dtype, weight.dtype))
    w = weight.reshape(groups, o // groups, cg * math.prod(kernel))
    chunks = _chunks(win, xp.itemsize)
    buffer = _column_buffer(win, chunks)
    for rows in chunks:
        target = out[rows].reshape(-1, groups, o // groups, math.prod(size))
        np.matmul(w, _im2col(win, rows, buffer, groups), out=target)
    return out


def conv_backward(g, xp, weight, stride, dilation, groups, needs: tuple[bool, bool]):
    """The gradients of a convolution's padded input and weight from the output gradient ``g``
    laid out (N, G, O/G, positions), chunk by chunk: the weight's ``g @ cols.T`` summed over
    the samples; the input's is the transposed convolution, each window's share
    ``weight.T @ g`` folded back onto the input (col2im)."""
    o, cg, *kernel = weight.shape
    win = sliding_windows(xp, kernel, stride, dilation)
    c, size = win.shape[1], win.shape[2 : 2 + len(kernel)]
    w = weight.reshape(groups, o // groups, cg * math.prod(kernel))
    chunks = _chunks(win, xp.itemsize)
    grad_w = np.zeros(w.shape, np.result_type(g.dtype, xp.dtype)) if needs[1] else None
    grad_xp = np.zeros(xp.shape, np.result_type(g.dtype, weight.dtype)) if needs[0] else None
    buffer = _column_buffer(win, chunks) if needs[1] else None
    for rows in chunks:
        if needs[1]:
            cols = _im2col(win, rows, buffer, groups)
            grad_w += np.matmul(g[rows], cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if needs[0]:
            shares = np.matmul(w.transpose(0, 2, 1), g[rows]).reshape(-1, c, *kernel, *size)
            fold(taps_first(shares), xp.shape[2:], stride, dilation, grad_xp[rows])
    return grad_xp, None if grad_w is None else grad_w.reshape(weight.shape)


def batch(ctx, x: np.ndarray, ndim: int) -> np.ndarray:
    """``x`` with a batch axis: a sample of ``ndim - 1`` dims becomes a batch of one (noted on
    ``ctx`` so ``unbatch`` drops the axis from the output and the input's gradient)."""
    ctx.one_sample = x.ndim == ndim - 1
    return x[np.newaxis] if ctx.one_sample else x


def unbatch(ctx, array: np.ndarray | None) -> np.ndarray | None:
    return array[0] if ctx.one_sample and array is not None else array


def channel_sums(grad: np.ndarray) -> np.ndarray:
    """A bias's gradient: the (N, C, *spatial) output gradient summed but over the channels."""
    return grad.sum(axis=(0, *range(2, grad.ndim)))


class _ConvNd(Function):
    """Convolution (cross-correlation, as PyTorch's) of (N, C, *spatial) or (C, *spatial) with
    (O, C/g, *kernel) over as many spatial dims as the kernel has."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding: Pairs, dilation, groups):
        same_float_dtype(f"Conv{weight.ndim - 2}d", x, weight)
        x = batch(ctx, x, weight.ndim)
        xp = pad(x, padding)
        out = conv_forward(xp, weight, stride, dilation, groups)
        if bias is not None:
            out += bias.reshape(-1, *(1,) * (weight.ndim - 2))
        ctx.save_for_backward(xp, weight)
        ctx.options = (padding, stride, dilation, groups)
        return unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        xp, weight = ctx.saved_tensors
        padding, stride, dilation, groups = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        n, o = grad.shape[:2]
        g = grad.reshape(n, groups, o // groups, math.prod(grad.shape[2:]))
        needs = ctx.needs_input_grad
        grad_xp, grad_w = conv_backward(g, xp, weight, stride, dilation, groups, needs[:2])
        grad_x = None if grad_xp is None else grad_xp[unpad_index(grad_xp.shape, padding)]
        grad_b = channel_sums(grad) if len(needs) > 2 and needs[2] else None
        return unbatch(ctx, grad_x), grad_w, grad_b


def _conv_graph(ctx, grad, out):
    """The graph rule of ``Conv1d/2d/3d``: the input's gradient a transposed convolution of
    ``grad`` with the weight, the weight's a convolution of the padded input with ``grad``,
    the bias's ``grad`` summed but over the channels."""
    from gradviz.autograd.ops.conv_transpose import input_grad  # (it imports this module)

    x, weight = ctx.inputs[:2]
    padding, stride, dilation, groups = ctx.options
    needs = ctx.needs_input_grad
    if ctx.one_sample:
        x, grad = x.unsqueeze(0), grad.unsqueeze(0)
    grad_x = grad_w = grad_b = None
    if needs[0]:
        grad_x = input_grad(grad, weight, x.shape[2:], padding, stride, dilation, groups)
        grad_x = grad_x.squeeze(0) if ctx.one_sample else grad_x
    if needs[1]:
        xp = ConstantPadNd.apply(x, ((0, 0), (0, 0), *padding)) if _any(padding) else x
        grad_w = weight_grad(xp, grad, weight.shape[2:], stride, dilation, groups)
    if len(needs) > 2 and needs[2]:
        grad_b = grad.sum(dim=(0, *range(2, grad.ndim)))
    return grad_x, grad_w, grad_b


def _any(pairs: Pairs) -> bool:
    return any(a or b for a, b in pairs)


class Conv1d(_ConvNd):
    """1-d convolution of (N, C, L) or (C, L) with (O, C/g, K)."""

    backward_graph = staticmethod(_conv_graph)


class Conv2d(_ConvNd):
    """2-d convolution of (N, C, H, W) or (C, H, W) with (O, C/g, KH, KW)."""

    backward_graph = staticmethod(_conv_graph)


class Conv3d(_ConvNd):
    """3-d convolution of (N, C, D, H, W) or (C, D, H, W) with (O, C/g, KD, KH, KW)."""

    backward_graph = staticmethod(_conv_graph)


CONV = {1: Conv1d, 2: Conv2d, 3: Conv3d}


def weight_grad(xp: Variable, grad: Variable, kernel, stride, dilation, groups: int) -> Variable:
    """The weight gradient (O, C/G, *kernel) of a convolution of the padded input ``xp`` (N, C,
    *padded) whose output has gradient ``grad`` (N, O, *out), as recorded ops: a convolution
    of the input's channels (the samples as channels) with ``grad`` (the samples as channels),
    stride and dilation swapped, a group of samples per group of channels."""
    n, c, *padded = xp.shape
    k = len(kernel)
    if groups == 1:
        channels = xp.transpose(0, 1)
    else:  # (C/G, G * N, *padded): group g's samples are the g-th block of channels
        split = xp.reshape(n, groups, c // groups, *padded)
        channels = split.permute(2, 1, 0, *range(3, 3 + k)).reshape(c // groups, -1, *padded)
    taps = CONV[k].apply(
        channels, grad.transpose(0, 1), None, dilation, ((0, 0),) * k, stride, groups
    )
    if tuple(taps.shape[2:]) != tuple(kernel):  # places past the kernel no window read
        taps = taps[(slice(None), slice(None), *(slice(0, size) for size in kernel))]
    return taps.transpose(0, 1)


class ConstantPadNd(Function):
    """Pad with ``value`` (negative amounts crop); ``pairs`` is (before, after) per dim."""

    @staticmethod
    def forward(ctx, x, pairs, value=0.0):
        ctx.pairs = pairs
        return _pad_or_crop(x, pairs, value)

    @staticmethod
    def backward(ctx, grad):
        return _pad_or_crop(grad, tuple((-a, -b) for a, b in ctx.pairs), 0.0)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return ConstantPadNd.apply(grad, tuple((-a, -b) for a, b in ctx.pairs), 0.0)


def _pad_or_crop(x: np.ndarray, pairs, value) -> np.ndarray:
    grow = [(max(a, 0), max(b, 0)) for a, b in pairs]
    out = np.pad(x, grow, constant_values=value) if any(a or b for a, b in grow) else x
    crop = tuple(
        slice(max(-a, 0), size - max(-b, 0)) for (a, b), size in zip(pairs, out.shape, strict=True)
    )
    return out[crop]


# ----------------------------------------------------------------- checking the arguments
def tuple_of(value, n: int, layer: str, name: str, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or n ints) as an n-tuple, each at least ``low``: an ``ArgumentError``
    for what is no int, an ``InputError`` (also a RuntimeError, as PyTorch's) for a wrong count
    or a value under ``low``."""
    single = isinstance(value, int | np.integer)
    values = (value,) * n if single else tuple(value) if isinstance(value, tuple | list) else ()
    if not all(isinstance(v, int | np.integer) for v in values) or not (single or values):
        raise ArgumentError(f"{layer}: {name} must be an int or {n} ints, got {value!r}")
    if len(values) != n:
        raise InputError(f"{layer}: {name} must be an int or {n} ints, got {value!r}")
    if any(v < low for v in values):
        raise InputError(f"{layer}: {name} must be >= {low}, got {value!r}")
    return tuple(int(v) for v in values)


def conv_padding(padding, kernel, stride, dilation, layer: str) -> Pairs:
    """Padding as (before, after) per spatial dim: ints, ``"valid"`` or ``"same"`` (stride 1;
    an odd total puts the extra element after, as PyTorch does)."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":  # InputError: PyTorch's layers raise ValueError, F RuntimeError
            raise InputError(
                f"{layer}: Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
            )
        if any(s != 1 for s in stride):
            raise InputError(
                f"{layer}: padding='same' is not supported for strided convolutions "
                f"(stride={stride})"
            )
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in tuple_of(padding, len(kernel), layer, "padding", low=0))


def check_conv(layer: str, x_shape, w_shape, b_shape, padding: Pairs, dilation, groups) -> None:
    """Raise ``ShapeError`` naming ``layer`` and the shapes for a convolution that cannot run."""
    dims = len(w_shape) - 2
    if len(x_shape) != dims + 2:
        raise ShapeError(
            f"{layer}: expected a {dims + 2}-d input (N, C, {SPATIAL[dims]}) for weight "
            f"{tuple(w_shape)}, got input of shape {tuple(x_shape)}"
        )
    if w_shape[0] < 1:
        raise ShapeError(
            f"{layer}: Given groups={groups}, expected weight to be at least 1 at dimension 0, "
            f"but got weight of size {list(w_shape)} instead"
        )
    if w_shape[0] % groups:
        raise ShapeError(
            f"{layer}: out_channels {w_shape[0]} (weight {tuple(w_shape)}) must be divisible "
            f"by groups={groups}"
        )
    expected = w_shape[1] * groups
    if x_shape[1] != expected:
        raise ShapeError(
            f"{layer}: Given groups={groups}, weight of size {list(w_shape)}, expected "
            f"input{list(x_shape)} to have {expected} channels, but got {x_shape[1]} channels "
            f"instead (expected input shape (N, {expected}, ...))"
        )
    if b_shape is not None and tuple(b_shape) != (w_shape[0],):
        raise ShapeError(
            f"{layer}: expected bias of shape ({w_shape[0]},) for weight {tuple(w_shape)}, "
            f"got {tuple(b_shape)}"
        )
    padded = tuple(s + a + b for s, (a, b) in zip(x_shape[2:], padding, strict=True))
    span = spans(w_shape[2:], dilation)
    if any(p < k for p, k in zip(padded, span, strict=True)):
        raise ShapeError(
            f"{layer}: Calculated padded input size per channel: {padded} (input "
            f"{tuple(x_shape)}). Kernel size: {span} (weight {tuple(w_shape)}, dilation "
            f"{dilation}). Kernel size can't be greater than actual input size"
        )
