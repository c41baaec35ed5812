"""Pooling over 1, 2 or 3 spatial dims: max, average and adaptive, each on ``conv``'s strided
window views.

Max pooling compares the tap views (one strided view of the padded input per kernel tap, across
all windows) in turn and keeps the index of the winning tap (one byte per output); its gradient
goes back tap by tap. Average pooling sums the windows tap by tap and returns its gradient with
``conv.fold`` (col2im). Adaptive average pooling is one averaging matrix per axis. Adaptive max
pooling gathers every bin at once: PyTorch's bins [floor(i*H/OH), ceil((i+1)*H/OH)) differ in
length by at most one or two, so each is read as the longest bin's number of indices, the last
index repeated (a repeat never changes a maximum nor the place the gradient goes): one
fancy-index gather, one ``argmax`` and, backward, one ``bincount`` scatter. Loops run over
kernel taps or axes, never over positions or bins.

For ``create_graph=True`` (``backward_graph``) the gradients are recorded ops: max pooling's
an ``IndexPut`` of the gradient at the maxima's places, average pooling's a transposed
convolution with a kernel of ones, adaptive average pooling's the transposed matrices.

Arguments arrive checked by ``functional``: kernel, stride and dilation as tuples (one int per
spatial dim), padding as one (before, after) pair per spatial dim.
"""

from __future__ import annotations

import math

import numpy as np

from gradviz.autograd.errors import InputError, ShapeError
from gradviz.autograd.function import Function
from gradviz.autograd.ops.conv import (
    SPATIAL,
    Pairs,
    batch,
    fold,
    out_size,
    pad,
    sliding_windows,
    spans,
    tap_slices,
    unbatch,
    unpad_index,
)
from gradviz.autograd.ops.conv_transpose import TRANSPOSED
from gradviz.autograd.ops.masked import masked
from gradviz.autograd.ops.resample import _Separable, separable_graph
from gradviz.autograd.ops.scatter import put_in_zeros
from gradviz.autograd.variable import from_op


class _MaxPoolNd(Function):
    """Max over each window of (N, C, *spatial) or (C, *spatial); padding counts as -inf. The
    gradient goes to the first maximum of each window in row-major order (PyTorch's choice on
    ties; a NaN counts as the maximum, the last of several)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        xp = pad(batch(ctx, x, len(kernel) + 2), padding, -np.inf)
        taps = tap_slices(
            kernel, stride, dilation, out_size(xp.shape[2:], kernel, stride, dilation)
        )
        out, ctx.argmax = _max_of_taps([xp[tap] for tap in taps], _has_nan(xp))
        ctx.shape, ctx.taps, ctx.padding = xp.shape, taps, padding
        return unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        grad = grad[np.newaxis] if ctx.one_sample else grad
        full = np.zeros(ctx.shape, grad.dtype)
        finite = not (grad.size and np.isnan(grad.min()))  # NaN * 0 would reach the others
        for t, tap in enumerate(ctx.taps):  # each tap passes on the maxima it held
            held = ctx.argmax == t
            full[tap] += grad * held if finite else np.where(held, grad, 0)
        return unbatch(ctx, full[unpad_index(full.shape, ctx.padding)])


def _max_graph(ctx, grad, out):
    """The graph rule of ``MaxPool1d/2d/3d``: ``grad`` added into zeros at the place of each
    window's maximum (one ``IndexPut``; where windows overlap, shares add), the places being
    constants."""
    x, kernel, stride, padding, dilation = ctx.inputs[:5]
    g = grad.unsqueeze(0) if ctx.one_sample else grad
    n, c = ctx.shape[:2]
    sizes = x.shape[x.ndim - len(kernel) :]
    places = _places(ctx.argmax, sizes, kernel, stride, padding, dilation)
    ones = (1,) * len(kernel)
    grid = (np.arange(n).reshape(-1, 1, *ones), np.arange(c).reshape(-1, *ones), places)
    return masked(put_in_zeros((n, c, math.prod(sizes)), grid, g).reshape(x.shape), x, None)


def _adaptive_max_graph(ctx, grad, out):
    """The graph rule of ``AdaptiveMaxPool1d/2d/3d``: ``grad`` added into zeros at each
    bin's maximum (bins may share one), the places being constants."""
    k = ctx.dims
    planes = math.prod(ctx.shape[: len(ctx.shape) - k])
    size = math.prod(ctx.shape[len(ctx.shape) - k :])
    cells = math.prod(grad.shape[grad.ndim - k :])
    places = (np.arange(planes)[:, None], ctx.index.reshape(planes, cells))
    full = put_in_zeros((planes, size), places, grad.reshape(planes, cells))
    return masked(full.reshape(ctx.shape), ctx.inputs[0], None), None


class MaxPool1d(_MaxPoolNd):
    """Max over each window of (N, C, L) or (C, L)."""

    backward_graph = staticmethod(_max_graph)


class MaxPool2d(_MaxPoolNd):
    """Max over each window of (N, C, H, W) or (C, H, W)."""

    backward_graph = staticmethod(_max_graph)


class MaxPool3d(_MaxPoolNd):
    """Max over each window of (N, C, D, H, W) or (C, D, H, W)."""

    backward_graph = staticmethod(_max_graph)


def _has_nan(x: np.ndarray) -> bool:
    return bool(x.size) and bool(np.isnan(x.min()))


def _max_of_taps(taps: list[np.ndarray], has_nan: bool) -> tuple[np.ndarray, np.ndarray]:
    """The elementwise maximum of the tap views (one per kernel tap, each over all windows)
    and the index of the first tap holding it, one pass per tap: a later tap wins only when
    strictly greater (PyTorch's first maximum on ties) or, ``has_nan``, when it is NaN (a NaN
    counts as the maximum; of several, the last, as in PyTorch's kernel). A winning tap's index
    is larger than any before it, so ``maximum`` updates the index without a masked write."""
    index_type = np.min_scalar_type(len(taps) - 1)
    best, index = taps[0].copy(), np.zeros(taps[0].shape, index_type)
    for t, tap in enumerate(taps[1:], start=1):
        better = tap > best
        if has_nan:
            better |= np.isnan(tap)
        np.maximum(best, tap, out=best)  # NaN propagates
        np.maximum(index, better * index_type.type(t), out=index)
    return best, index


def max_pool_indices(x: np.ndarray, kernel, stride, padding: Pairs, dilation) -> np.ndarray:
    """``return_indices``: for each window of (N, C, *spatial) or (C, *spatial), the flat index
    into the spatial dims of the input of the maximum the gradient goes to (int64, as
    PyTorch's)."""
    k = len(kernel)
    xp = pad(x[np.newaxis] if x.ndim == k + 1 else x, padding, -np.inf)
    size = out_size(xp.shape[2:], kernel, stride, dilation)
    taps = tap_slices(kernel, stride, dilation, size)
    tap = _max_of_taps([xp[t] for t in taps], _has_nan(xp))[1]
    index = _places(tap, x.shape[x.ndim - k :], kernel, stride, padding, dilation)
    return index[0] if x.ndim == k + 1 else index


def _places(tap: np.ndarray, sizes, kernel, stride, padding: Pairs, dilation) -> np.ndarray:
    """The flat index into the (unpadded) spatial dims ``sizes`` of the element that kernel
    tap ``tap`` (row-major, one per window of a (N, C, *out) array) reads (int64)."""
    k = len(kernel)
    tap = tap.astype(np.int64)
    index = np.zeros(tap.shape, np.int64)
    places = zip(
        np.unravel_index(tap, kernel), tap.shape[2:], stride, dilation, padding, sizes, strict=True
    )
    for axis, (coord, n, s, d, (before, _), m) in enumerate(places):  # row-major, axis by axis
        start = np.arange(n).reshape(-1, *(1,) * (k - 1 - axis)) * s
        index = index * m + start + coord * d - before
    return index


def _window_sums(win: np.ndarray) -> np.ndarray:
    """The sum of each window of a (N, C, *out, *kernel) view, adding whole (N, C, *out)
    blocks tap by tap (twice as fast as reducing the short inner axes)."""
    k = (win.ndim - 2) // 2
    moved = win.transpose(*range(2 + k, 2 + 2 * k), *range(2 + k))
    return moved.sum(axis=tuple(range(k)))


class _AvgPoolNd(Function):
    """Mean over each window; with ``count_include_pad`` the padding counts in the divisor.

    ``padding`` is symmetric but for the extra end padding of ``ceil_mode`` windows, which
    never counts (PyTorch clips windows to the padded input)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, count_include_pad=True, divisor_override=None):
        x = batch(ctx, x, len(kernel) + 2)
        ones = (1,) * len(kernel)
        if divisor_override:
            divisor = np.asarray(divisor_override, x.dtype)
        elif all(a == b for a, b in padding) and (
            count_include_pad or not any(a for a, _ in padding)
        ):
            divisor = np.asarray(math.prod(kernel), x.dtype)
        else:  # the elements of each window that count: real ones (and padding if included)
            counted = np.ones((1, 1, *x.shape[2:]), x.dtype)
            if count_include_pad:
                counted = pad(counted, tuple((a, a) for a, _ in padding), 1.0)
                counted = pad(counted, tuple((0, b - a) for a, b in padding))
            else:
                counted = pad(counted, padding)
            divisor = _window_sums(sliding_windows(counted, kernel, stride, ones))
        xp = pad(x, padding)
        ctx.divisor, ctx.shape, ctx.options = divisor, xp.shape, (kernel, stride, padding)
        out = _window_sums(sliding_windows(xp, kernel, stride, ones)) / divisor
        if x.dtype.kind in "iu":  # integers stay integers, the mean truncated (PyTorch's)
            out = np.trunc(out).astype(x.dtype)
        return unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        kernel, stride, padding = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        values = np.broadcast_to(grad / ctx.divisor, (*kernel, *grad.shape))
        full = fold(values, ctx.shape[2:], stride, (1,) * len(kernel))
        return unbatch(ctx, full[unpad_index(full.shape, padding)])


def _avg_graph(ctx, grad, out):
    """The graph rule of ``AvgPool1d/2d/3d``: ``grad / divisor`` spread over each window, as
    a transposed convolution of each channel with a kernel of ones, the padding cut off."""
    kernel, stride, padding = ctx.options
    k = len(kernel)
    g = grad.unsqueeze(0) if ctx.one_sample else grad
    n, c, *size = g.shape
    padded = ctx.shape[2:]
    extra = tuple(
        p - ((o - 1) * s + w) for p, o, s, w in zip(padded, size, stride, kernel, strict=True)
    )
    ones = np.ones((1, 1, *kernel), grad.dtype)
    spread = TRANSPOSED[k].apply(
        (g / ctx.divisor).reshape(n * c, 1, *size),
        from_op(ones, None),
        None,
        stride,
        (0,) * k,
        extra,
        1,
        (1,) * k,
    )
    full = spread.reshape(n, c, *padded)
    if any(a or b for a, b in padding):
        full = full[unpad_index(full.shape, padding)]
    return full.reshape(ctx.inputs[0].shape)


class AvgPool1d(_AvgPoolNd):
    """Mean over each window of (N, C, L) or (C, L)."""

    backward_graph = staticmethod(_avg_graph)


class AvgPool2d(_AvgPoolNd):
    """Mean over each window of (N, C, H, W) or (C, H, W)."""

    backward_graph = staticmethod(_avg_graph)


class AvgPool3d(_AvgPoolNd):
    """Mean over each window of (N, C, D, H, W) or (C, D, H, W)."""

    backward_graph = staticmethod(_avg_graph)


def _bins(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) averaging matrix of PyTorch's adaptive bins [floor(i*size/out),
    ceil((i+1)*size/out))."""
    i = np.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None].astype(dtype)).astype(dtype, copy=False)


class _AdaptiveAvgPoolNd(_Separable):
    """Mean over PyTorch's adaptive bins of the last ``len(output_size)`` axes, as one
    averaging matrix per axis: ``A_h @ x @ A_w.T`` in 2-d."""

    @classmethod
    def matrices(cls, x, output_size):
        sizes = x.shape[x.ndim - len(output_size) :]
        return [_bins(n, o, x.dtype) for n, o in zip(sizes, output_size, strict=True)]


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Mean over PyTorch's adaptive bins of (N, C, L) or (C, L)."""

    backward_graph = staticmethod(separable_graph)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Mean over PyTorch's adaptive bins of (N, C, H, W) or (C, H, W)."""

    backward_graph = staticmethod(separable_graph)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean over PyTorch's adaptive bins of (N, C, D, H, W) or (C, D, H, W)."""

    backward_graph = staticmethod(separable_graph)


def _bin_taps(size: int, out: int) -> np.ndarray:
    """(out, K) indices of the elements of each adaptive bin, the last one repeated to fill the
    longest bin's K."""
    i = np.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    longest = int((end - start).max()) if out else 0
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


def _bin_places(sizes, output_size) -> np.ndarray:
    """(*output_size, taps): the flat index into ``sizes`` each tap of each bin reads."""
    k = len(sizes)
    places = np.zeros((1,) * (2 * k), np.int64)
    for axis, (n, o) in enumerate(zip(sizes, output_size, strict=True)):  # row-major
        taps = _bin_taps(n, o)
        shape = [1] * (2 * k)
        shape[axis], shape[k + axis] = taps.shape
        places = places * n + taps.reshape(shape)
    return places.reshape(*places.shape[:k], math.prod(places.shape[k:]))


def adaptive_max(x: np.ndarray, output_size) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each adaptive bin of the last ``len(output_size)`` axes of ``x`` and its
    flat index into those axes (int64): the first maximum in row-major order (PyTorch's on
    ties), or the last NaN (a NaN counts as the maximum, as in PyTorch's kernel)."""
    k = len(output_size)
    sizes = x.shape[x.ndim - k :]
    places = _bin_places(sizes, output_size)
    flat = x.reshape(*x.shape[: x.ndim - k], math.prod(sizes))[..., places]
    if not flat.size:  # an empty batch or output
        return np.zeros(flat.shape[:-1], x.dtype), np.zeros(flat.shape[:-1], np.int64)
    tap = np.argmax(flat, axis=-1)
    nan = np.isnan(flat)
    if nan.any():
        last = flat.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        tap = np.where(nan.any(axis=-1), last, tap)
    out = np.take_along_axis(flat, tap[..., None], axis=-1)[..., 0]
    index = np.take_along_axis(np.broadcast_to(places, flat.shape), tap[..., None], axis=-1)
    return out, index[..., 0].astype(np.int64)


class _AdaptiveMaxPoolNd(Function):
    """Max over PyTorch's adaptive bins of the last ``len(output_size)`` axes; the gradient
    goes to the place of each maximum."""

    @staticmethod
    def forward(ctx, x, output_size):
        out, ctx.index = adaptive_max(x, output_size)
        ctx.shape, ctx.dims = x.shape, len(output_size)
        return out

    @staticmethod
    def backward(ctx, grad):
        k = ctx.dims
        planes = math.prod(ctx.shape[: len(ctx.shape) - k])
        size = math.prod(ctx.shape[len(ctx.shape) - k :])
        cells = math.prod(grad.shape[grad.ndim - k :])
        index = ctx.index.reshape(planes, cells)
        offsets = np.arange(planes)[:, None] * size
        full = np.bincount(
            (index + offsets).ravel(), grad.reshape(planes, cells).ravel(), planes * size
        )
        return full.astype(grad.dtype, copy=False).reshape(ctx.shape)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive bins of (N, C, L) or (C, L)."""

    backward_graph = staticmethod(_adaptive_max_graph)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive bins of (N, C, H, W) or (C, H, W)."""

    backward_graph = staticmethod(_adaptive_max_graph)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive bins of (N, C, D, H, W) or (C, D, H, W)."""

    backward_graph = staticmethod(_adaptive_max_graph)


# ----------------------------------------------------------------- checking the arguments
def _pool_out_size(size: int, span: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: rounded up with ``ceil_mode``, but without a last window
    that would start in the end padding."""
    if not ceil_mode:
        return (size + 2 * pad - span) // stride + 1
    out = -(-(size + 2 * pad - span) // stride) + 1
    return out - 1 if (out - 1) * stride >= size + pad else out


def check_pool(layer: str, x_shape, kernel, stride, padding, dilation, ceil_mode=False) -> None:
    """Raise for a pooling whose input is not (N, C, *spatial) / (C, *spatial), whose padding
    is over half the kernel, or whose output would be empty. The message shows the sizes as
    given: ints for a 1-d pool."""
    dims = len(kernel)
    if len(x_shape) not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{layer}: expected a {dims + 1}-d (C, {SPATIAL[dims]}) or {dims + 2}-d (N, C, "
            f"{SPATIAL[dims]}) "
            f"input, got shape {tuple(x_shape)}"
        )
    shown = (lambda sizes: sizes[0]) if dims == 1 else tuple
    pads = tuple(p for p, _ in padding)
    span = spans(kernel, dilation)
    if any(2 * p > k for p, k in zip(pads, kernel, strict=True)):  # not the span
        what = "effective kernel size" if span == kernel else "kernel size (not its dilated span)"
        raise InputError(  # a RuntimeError, as PyTorch's
            f"{layer}: pad should be at most half of {what}, but got pad={shown(pads)}, "
            f"kernel_size={shown(kernel)} and dilation={shown(dilation)}"
        )
    out = tuple(
        _pool_out_size(size, k, s, a, ceil_mode)
        for size, a, k, s in zip(x_shape[-dims:], pads, span, stride, strict=True)
    )
    if any(o < 1 for o in out):
        raise ShapeError(
            f"{layer}: Given input size {tuple(x_shape)}, calculated output size "
            f"{(*x_shape[:-dims], *out)} is too small (kernel {shown(kernel)}, stride "
            f"{shown(stride)}, padding {shown(pads)})"
        )


def ceil_mode_padding(size, kernel, stride, padding: Pairs, dilation) -> Pairs:
    """Padding with the extra end padding that ``ceil_mode`` windows read: PyTorch rounds the
    output size up, but drops a last window that would start in the end padding."""
    pairs = []
    for n, span, s, (p, _) in zip(size, spans(kernel, dilation), stride, padding, strict=True):
        out = _pool_out_size(n, span, s, p, ceil_mode=True)
        pairs.append((p, p + max((out - 1) * s + span - (n + 2 * p), 0)))
    return tuple(pairs)
