"""Convolution, pooling and constant padding, on strided window views and BLAS.

Each window of the (padded) input is a view (``sliding_window_view``), gathered once per
layer into an im2col matrix per sample and multiplied with the weights by one batched
``matmul`` whose output is already (N, O, OH, OW). The input gradient is the transposed
convolution: ``weight.T @ grad`` per window, added back tap by tap, each kernel tap one strided
view of the input across all windows (col2im, ``_fold``), which also returns the pooling
gradients to their windows. Max pooling compares the tap views in turn and keeps the index of
the winning tap (one byte per output). Loops run over kernel taps, never over positions.

Spatial arguments (stride, dilation) arrive as tuples and padding as ``((top, bottom), (left,
right))``: ``functional`` checks and normalises them and names the layer in its errors.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradviz.autograd.errors import ArgumentError, InputError, ShapeError
from gradviz.autograd.function import Function

Pairs = tuple[tuple[int, int], ...]
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def _windows(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """The view (N, C, OH, OW, KH, KW) of every window of a padded (N, C, H, W) input."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    view = sliding_window_view(x, span, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]


def _tap_slices(kernel, stride, dilation, out_size):
    """For each kernel tap (i, j) in row-major order, the (rows, columns) slices of the padded
    input that tap reads across all output positions: a strided (..., OH, OW) view."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    rows = [slice(i * dh, i * dh + (oh - 1) * sh + 1, sh) for i in range(kh)]
    cols = [slice(j * dw, j * dw + (ow - 1) * sw + 1, sw) for j in range(kw)]
    return [(r, c) for r in rows for c in cols]


def _out_size(padded, kernel, stride, dilation) -> tuple[int, int]:
    return tuple(
        (p - d * (k - 1) - 1) // s + 1
        for p, k, s, d in zip(padded, kernel, stride, dilation, strict=True)
    )


def _pad(x: np.ndarray, padding: Pairs, value: float = 0.0) -> np.ndarray:
    if not any(p for pair in padding for p in pair):
        return x
    (top, bottom), (left, right) = padding
    out = np.empty((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right), x.dtype)
    out[:, :, :top], out[:, :, out.shape[2] - bottom :] = value, value
    out[:, :, :, :left], out[:, :, :, out.shape[3] - right :] = value, value
    out[:, :, top : top + x.shape[2], left : left + x.shape[3]] = x
    return out


#: Bytes of im2col matrix (or of its transpose's shares) made at a time: a convolution runs
#: over its batch in chunks of samples this size, so its working set stays in cache and no
#: layer-sized temporary is made (the backward gathers the columns again instead of keeping
#: them: 9x the input for a 3x3 kernel).
_CHUNK_BYTES = 1 << 19


def _chunks(win: np.ndarray, itemsize: int):
    """The sample slices of the batch of window view ``win`` (N, C, OH, OW, KH, KW), sized so
    each chunk's columns take about ``_CHUNK_BYTES``."""
    n = win.shape[0]
    step = max(1, min(n, _CHUNK_BYTES // max(1, itemsize * int(np.prod(win.shape[1:])))))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _im2col(win: np.ndarray, rows: slice, buffer: np.ndarray, groups: int) -> np.ndarray:
    """The windows of samples ``rows`` gathered into ``buffer`` (reused from chunk to chunk) as
    (B, G, C/G*KH*KW, OH*OW): each sample's matrix ready for one matmul, its innermost run an
    output row."""
    chunk = win[rows]
    b, c, oh, ow, kh, kw = chunk.shape
    cols = buffer[:b]
    np.copyto(cols, chunk.transpose(0, 1, 4, 5, 2, 3))
    return cols.reshape(b, groups, c // groups * kh * kw, oh * ow)


def _column_buffer(win: np.ndarray, chunks: list[slice]) -> np.ndarray | None:
    if not chunks:  # an empty batch: nothing to gather
        return None
    _, c, oh, ow, kh, kw = win.shape
    size = chunks[0].stop - chunks[0].start
    return np.empty((size, c, kh, kw, oh, ow), win.dtype)


def _fold(shares: np.ndarray, padded, stride, dilation, out=None) -> np.ndarray:
    """col2im: add ``shares`` (KH, KW, *batch, OH, OW), one value per window element, into
    ``out`` (*batch, *padded; zeros if not given) at the places those elements were read from:
    one strided ``+=`` per kernel tap (a tap reads each place at most once)."""
    kh, kw, *batch, oh, ow = shares.shape
    out = np.zeros((*batch, *padded), shares.dtype) if out is None else out
    taps = _tap_slices((kh, kw), stride, dilation, (oh, ow))
    for t, (rows, cols) in enumerate(taps):
        out[..., rows, cols] += shares[t // kw, t % kw]
    return out


def _conv_forward(xp: np.ndarray, weight: np.ndarray, stride, dilation, groups) -> np.ndarray:
    """Convolve a padded (N, C, H, W) input with ``weight`` (O, C/G, KH, KW): per chunk of
    samples, one gather and one batched matmul written straight into the (N, O, OH, OW)
    output."""
    o, cg, kh, kw = weight.shape
    win = _windows(xp, (kh, kw), stride, dilation)
    n, _, oh, ow = win.shape[:4]
    out = np.empty((n, o, oh, ow), np.result_type(xp.dtype, weight.dtype))
    w = weight.reshape(groups, o // groups, cg * kh * kw)
    chunks = _chunks(win, xp.itemsize)
    buffer = _column_buffer(win, chunks)
    for rows in chunks:
        target = out[rows].reshape(-1, groups, o // groups, oh * ow)
        np.matmul(w, _im2col(win, rows, buffer, groups), out=target)
    return out


def _conv_backward(g, xp, weight, stride, dilation, groups, needs: tuple[bool, bool]):
    """The gradients of a convolution's padded input and weight from the output gradient ``g``
    laid out (N, G, O/G, OH*OW), chunk by chunk: the weight's ``g @ cols.T`` summed over the
    samples; the input's is the transposed convolution, each window's share ``weight.T @ g``
    folded back onto the input (col2im)."""
    o, cg, kh, kw = weight.shape
    win = _windows(xp, (kh, kw), stride, dilation)
    c, oh, ow = win.shape[1:4]
    w = weight.reshape(groups, o // groups, cg * kh * kw)
    chunks = _chunks(win, xp.itemsize)
    grad_w = np.zeros(w.shape, np.result_type(g.dtype, xp.dtype)) if needs[1] else None
    grad_xp = np.zeros(xp.shape, np.result_type(g.dtype, weight.dtype)) if needs[0] else None
    buffer = _column_buffer(win, chunks) if needs[1] else None
    for rows in chunks:
        if needs[1]:
            cols = _im2col(win, rows, buffer, groups)
            grad_w += np.matmul(g[rows], cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if needs[0]:
            shares = np.matmul(w.transpose(0, 2, 1), g[rows]).reshape(-1, c, kh, kw, oh, ow)
            _fold(shares.transpose(2, 3, 0, 1, 4, 5), xp.shape[2:], stride, dilation, grad_xp[rows])
    return grad_xp, None if grad_w is None else grad_w.reshape(weight.shape)


def _batch(ctx, x: np.ndarray, ndim: int) -> np.ndarray:
    """``x`` with a batch axis: a sample of ``ndim - 1`` dims becomes a batch of one (noted on
    ``ctx`` so ``_unbatch`` drops the axis from the output and the input's gradient)."""
    ctx.one_sample = x.ndim == ndim - 1
    return x[np.newaxis] if ctx.one_sample else x


def _unbatch(ctx, array: np.ndarray | None) -> np.ndarray | None:
    return array[0] if ctx.one_sample and array is not None else array


class Conv2d(Function):
    """2-d convolution (cross-correlation, as PyTorch's) of (N, C, H, W) or (C, H, W) with
    (O, C/g, KH, KW)."""

    @staticmethod
    def forward(
        ctx,
        x,
        weight,
        bias=None,
        stride=(1, 1),
        padding=((0, 0), (0, 0)),
        dilation=(1, 1),
        groups=1,
    ):
        x = _batch(ctx, x, 4)
        xp = _pad(x, padding)
        out = _conv_forward(xp, weight, stride, dilation, groups)
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.save_for_backward(xp, weight)
        ctx.options = (padding, stride, dilation, groups)
        return _unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        xp, weight = ctx.saved_tensors
        padding, stride, dilation, groups = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        n, o = grad.shape[:2]
        g = grad.reshape(
            n, groups, o // groups, grad.shape[2] * grad.shape[3]
        )  # (N, G, O/G, OH*OW)
        needs = ctx.needs_input_grad
        grad_xp, grad_w = _conv_backward(g, xp, weight, stride, dilation, groups, needs[:2])
        grad_x = None if grad_xp is None else _unpad(grad_xp, padding)
        grad_b = grad.sum(axis=(0, 2, 3)) if len(needs) > 2 and needs[2] else None
        return _unbatch(ctx, grad_x), grad_w, grad_b


class Conv1d(Function):
    """1-d convolution of (N, C, L) or (C, L) with (O, C/g, K): the 2-d rules on a unit height
    axis, recorded as one node."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
        ctx.one_sample_1d = x.ndim == 2
        x = x[np.newaxis, :, np.newaxis] if ctx.one_sample_1d else x[:, :, np.newaxis]
        options = ((1, *stride), ((0, 0), *padding), (1, *dilation))
        out = Conv2d.forward(
            ctx, x, weight[:, :, None], bias, options[0], options[1], options[2], groups
        )
        return out[0, :, 0] if ctx.one_sample_1d else out[:, :, 0]

    @staticmethod
    def backward(ctx, grad):
        grad = grad[np.newaxis, :, np.newaxis] if ctx.one_sample_1d else grad[:, :, np.newaxis]
        grad_x, grad_w, grad_b = Conv2d.backward(ctx, grad)
        if grad_x is not None:
            grad_x = grad_x[0, :, 0] if ctx.one_sample_1d else grad_x[:, :, 0]
        return (
            grad_x,
            None if grad_w is None else grad_w[:, :, 0],
            grad_b,
        )


def _unpad(x: np.ndarray, padding: Pairs) -> np.ndarray:
    (top, bottom), (left, right) = padding
    return x[:, :, top : x.shape[2] - bottom, left : x.shape[3] - right]


class MaxPool2d(Function):
    """Max over each window of (N, C, H, W) or (C, H, W); padding counts as -inf. The gradient
    goes to the first maximum of each window in row-major order (PyTorch's choice on ties; a NaN
    counts as the maximum, the last of several)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation=(1, 1)):
        xp = _pad(_batch(ctx, x, 4), padding, -np.inf)
        out_size = _out_size(xp.shape[2:], kernel, stride, dilation)
        taps = _tap_slices(kernel, stride, dilation, out_size)
        views = [xp[..., rows, cols] for rows, cols in taps]
        has_nan = bool(xp.size) and bool(np.isnan(xp.min()))
        out, ctx.argmax = _max_of_taps(views, has_nan)
        ctx.shape, ctx.taps, ctx.padding = xp.shape, taps, padding
        return _unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        grad = grad[np.newaxis] if ctx.one_sample else grad
        full = np.zeros(ctx.shape, grad.dtype)
        finite = not (grad.size and np.isnan(grad.min()))  # NaN * 0 would reach the others
        for t, (rows, cols) in enumerate(ctx.taps):  # each tap passes on the maxima it held
            held = ctx.argmax == t
            full[..., rows, cols] += grad * held if finite else np.where(held, grad, 0)
        return _unbatch(ctx, _unpad(full, ctx.padding))


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
    """``return_indices``: for each window of (N, C, H, W) or (C, H, W), the flat index into
    H * W of the input of the maximum the gradient goes to (int64, as PyTorch's)."""
    xp = _pad(x[np.newaxis] if x.ndim == 3 else x, padding, -np.inf)
    out_size = _out_size(xp.shape[2:], kernel, stride, dilation)
    taps = _tap_slices(kernel, stride, dilation, out_size)
    has_nan = bool(xp.size) and bool(np.isnan(xp.min()))
    tap = _max_of_taps([xp[..., rows, cols] for rows, cols in taps], has_nan)[1].astype(np.int64)
    rows = np.arange(out_size[0])[:, None] * stride[0] + tap // kernel[1] * dilation[0]
    cols = np.arange(out_size[1]) * stride[1] + tap % kernel[1] * dilation[1]
    index = (rows - padding[0][0]) * x.shape[-1] + cols - padding[1][0]
    return index[0] if x.ndim == 3 else index


def _window_sums(win: np.ndarray) -> np.ndarray:
    """The sum of each window of a (N, C, OH, OW, KH, KW) view, adding whole (N, C, OH, OW)
    planes tap by tap (twice as fast as reducing the short inner axes)."""
    return win.transpose(4, 5, 0, 1, 2, 3).sum(axis=(0, 1))


class AvgPool2d(Function):
    """Mean over each window; with ``count_include_pad`` the padding counts in the divisor.

    ``padding`` is symmetric but for the extra end padding of ``ceil_mode`` windows, which
    never counts (PyTorch clips windows to the padded input)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, count_include_pad=True, divisor_override=None):
        x = _batch(ctx, x, 4)
        xp = _pad(x, padding)
        win = _windows(xp, kernel, stride, (1, 1))
        (top, bottom), (left, right) = padding
        symmetric = top == bottom and left == right
        if divisor_override:
            divisor = np.asarray(divisor_override, x.dtype)
        elif symmetric and (count_include_pad or not (top or left)):
            divisor = np.asarray(kernel[0] * kernel[1], x.dtype)
        else:  # the elements of each window that count: real ones (and padding if included)
            counted = np.ones((1, 1, *x.shape[2:]), x.dtype)
            if count_include_pad:
                counted = _pad(counted, ((top, top), (left, left)), 1.0)
                padding_left = ((0, bottom - top), (0, right - left))
            else:
                padding_left = padding
            counted = _pad(counted, padding_left)
            divisor = _window_sums(_windows(counted, kernel, stride, (1, 1)))
        ctx.divisor, ctx.shape, ctx.options = divisor, xp.shape, (kernel, stride, padding)
        out = _window_sums(win) / divisor
        if x.dtype.kind in "iu":  # integers stay integers, the mean truncated (PyTorch's)
            out = np.trunc(out).astype(x.dtype)
        return _unbatch(ctx, out)

    @staticmethod
    def backward(ctx, grad):
        kernel, stride, padding = ctx.options
        grad = grad[np.newaxis] if ctx.one_sample else grad
        values = np.broadcast_to(grad / ctx.divisor, (*kernel, *grad.shape))
        return _unbatch(ctx, _unpad(_fold(values, ctx.shape[2:], stride, (1, 1)), padding))


def _bins(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) averaging matrix of PyTorch's adaptive bins [floor(i*size/out),
    ceil((i+1)*size/out))."""
    i = np.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return inside / (end - start)[:, None].astype(dtype)


class AdaptiveAvgPool2d(Function):
    """Mean over PyTorch's adaptive bins, as two averaging matrices: ``A_h @ x @ A_w.T``."""

    @staticmethod
    def forward(ctx, x, output_size):
        rows = _bins(x.shape[-2], output_size[0], x.dtype).astype(x.dtype, copy=False)
        cols = _bins(x.shape[-1], output_size[1], x.dtype).astype(x.dtype, copy=False)
        ctx.save_for_backward(rows, cols)
        return rows @ x @ cols.T

    @staticmethod
    def backward(ctx, grad):
        rows, cols = ctx.saved_tensors
        return rows.T @ grad @ cols


class ConstantPadNd(Function):
    """Pad with ``value`` (negative amounts crop); ``pairs`` is (before, after) per dim."""

    @staticmethod
    def forward(ctx, x, pairs, value=0.0):
        ctx.pairs = pairs
        return _pad_or_crop(x, pairs, value)

    @staticmethod
    def backward(ctx, grad):
        return _pad_or_crop(grad, tuple((-a, -b) for a, b in ctx.pairs), 0.0)


def _pad_or_crop(x: np.ndarray, pairs, value) -> np.ndarray:
    grow = [(max(a, 0), max(b, 0)) for a, b in pairs]
    out = np.pad(x, grow, constant_values=value) if any(a or b for a, b in grow) else x
    crop = tuple(
        slice(max(-a, 0), size - max(-b, 0)) for (a, b), size in zip(pairs, out.shape, strict=True)
    )
    return out[crop]


# ----------------------------------------------------------------- checking the arguments
def tuple_of(value, n: int, layer: str, name: str, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or n ints) as an n-tuple, each at least ``low``."""
    single = isinstance(value, int | np.integer)
    values = (value,) * n if single else tuple(value) if isinstance(value, tuple | list) else ()
    if len(values) != n or not all(isinstance(v, int | np.integer) for v in values):
        raise ArgumentError(f"{layer}: {name} must be an int or {n} ints, got {value!r}")
    if any(v < low for v in values):
        raise ArgumentError(f"{layer}: {name} must be >= {low}, got {value!r}")
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
            f"{layer}: expected a {dims + 2}-d input (N, C, {_SPATIAL[dims]}) for weight "
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
    span = tuple(d * (k - 1) + 1 for k, d in zip(w_shape[2:], dilation, strict=True))
    if any(p < k for p, k in zip(padded, span, strict=True)):
        raise ShapeError(
            f"{layer}: Calculated padded input size per channel: {padded} (input "
            f"{tuple(x_shape)}). Kernel size: {span} (weight {tuple(w_shape)}, dilation "
            f"{dilation}). Kernel size can't be greater than actual input size"
        )


def _pool_out_size(size: int, span: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: rounded up with ``ceil_mode``, but without a last window
    that would start in the end padding."""
    if not ceil_mode:
        return (size + 2 * pad - span) // stride + 1
    out = -(-(size + 2 * pad - span) // stride) + 1
    return out - 1 if (out - 1) * stride >= size + pad else out


def check_pool(
    layer: str, x_shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False
) -> None:
    """Raise for a pooling whose input is not (N, C, H, W) / (C, H, W) (one spatial dim fewer
    or more for a 1-d or 3-d ``kernel``), whose padding is over half the kernel, or whose
    output would be empty. The message shows the sizes as given: ints for a 1-d pool."""
    dims = len(kernel)
    if len(x_shape) not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{layer}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape "
            f"{tuple(x_shape)}"
        )
    shown = (lambda sizes: sizes[0]) if dims == 1 else tuple
    pads = tuple(p for p, _ in padding)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
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
    for n, k, s, (p, _), d in zip(size, kernel, stride, padding, dilation, strict=True):
        span = d * (k - 1) + 1
        out = _pool_out_size(n, span, s, p, ceil_mode=True)
        pairs.append((p, p + max((out - 1) * s + span - (n + 2 * p), 0)))
    return tuple(pairs)
