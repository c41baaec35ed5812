"""Resampling: ``interpolate``'s nearest, nearest-exact, (bi/tri)linear and bicubic modes,
pixel shuffle and unshuffle.

Resampling is separable: along each spatial axis the output is a fixed (out, in) matrix times
the input, so (bi)linear and bicubic interpolation are one ``matmul`` per axis and their
gradients the transposed matrices' (``A_h.T @ g @ A_w``). Nearest gathers the chosen rows and
columns with ``np.take``; its gradient adds them back through the same one-hot matrices. Source
indices and weights follow PyTorch's CPU kernels, in the input's precision (float32 scales for
nearest).
Pixel (un)shuffle is a reshape and a transpose, each the other's gradient.

For ``create_graph=True`` every resampling's gradient is a recorded ``ResampleBackward``: the
transposed matrices applied to ``grad`` (nearest's one-hot matrices too). Its own gradient is
a ``ResampleBackward`` of the matrices untransposed, so differentiation goes on as far as asked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradviz.autograd.function import Function


def _scale(in_size: int, out_size: int, scale: float | None, dtype) -> np.floating:
    """PyTorch's ``compute_scales_value``: 1 / the given scale factor, else in / out."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(in_size) / dtype.type(out_size)


def nearest_source(in_size: int, out_size: int, scale: float | None) -> np.ndarray:
    """The input index each output index copies: floor(i * scale) in float32, as PyTorch's."""
    if out_size == in_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) >> 1
    step = _scale(in_size, out_size, scale, np.dtype(np.float32))
    index = np.floor(np.arange(out_size, dtype=np.float32) * step).astype(np.int64)
    return np.minimum(index, in_size - 1)


def nearest_exact_source(in_size: int, out_size: int, scale: float | None) -> np.ndarray:
    """The input index each output index copies: floor((i + 0.5) * scale), the product
    rounded to float32 as PyTorch's ``floorf`` does."""
    step = np.float64(_scale(in_size, out_size, scale, np.dtype(np.float32)))
    centre = ((np.arange(out_size) + 0.5) * step).astype(np.float32)
    return np.minimum(np.floor(centre).astype(np.int64), in_size - 1)


def _source_positions(in_size, out_size, align_corners, scale, dtype) -> np.ndarray:
    """Where each output index samples the input (PyTorch's ``area_pixel_compute_source_index``
    before clamping), in ``dtype``."""
    dst = np.arange(out_size, dtype=dtype)
    if align_corners:
        step = dtype.type(in_size - 1) / dtype.type(out_size - 1) if out_size > 1 else 0
        return (dst * step).astype(dtype)
    step = _scale(in_size, out_size, scale, dtype)
    return (step * (dst + dtype.type(0.5)) - dtype.type(0.5)).astype(dtype)


#: PyTorch's cubic convolution coefficient (Keys' ``a``; OpenCV's too).
CUBIC_A = -0.75


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """The weights of the 4 neighbours at offsets -1, 0, 1, 2 of a point ``t`` in [0, 1] past
    the second (PyTorch's ``get_cubic_upsample_coefficients``)."""
    a = t.dtype.type(CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(2 * one - t)]


def cubic_matrix(in_size: int, out_size: int, align_corners: bool, scale, dtype) -> np.ndarray:
    """The (out, in) matrix of cubic convolution: each row weighs its 4 neighbours, indices
    past an edge clamped to it (the edge element takes their weight, as PyTorch's)."""
    dtype = np.dtype(dtype)
    src = _source_positions(in_size, out_size, align_corners, scale, dtype)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    t = np.clip(src - low, 0, 1).astype(dtype)
    matrix = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    for offset, weight in enumerate(_cubic_weights(t), start=-1):
        np.add.at(matrix, (rows, np.clip(low + offset, 0, in_size - 1)), weight)
    return matrix


def linear_matrix(in_size: int, out_size: int, align_corners: bool, scale, dtype) -> np.ndarray:
    """The (out, in) matrix of linear interpolation: each row weighs its two neighbours."""
    dtype = np.dtype(dtype)
    matrix = np.zeros((out_size, in_size), dtype)
    if out_size == in_size:
        np.fill_diagonal(matrix, 1)
        return matrix
    src = _source_positions(in_size, out_size, align_corners, scale, dtype)
    src = src if align_corners else np.maximum(src, 0).astype(dtype)  # (not for cubic)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    weight = np.clip(src - low, 0, 1).astype(dtype)
    high = low + (low < in_size - 1)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, low), 1 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix


def along(x: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """``matrices[i] @ x`` along each of the last ``len(matrices)`` axes of ``x``."""
    first = x.ndim - len(matrices)
    for i, matrix in enumerate(matrices):
        moved = np.moveaxis(x, first + i, -1) @ matrix.T
        x = np.moveaxis(moved, -1, first + i)
    return np.ascontiguousarray(x)


class _Nearest(Function):
    """Nearest-neighbour resampling of the last spatial axes to ``output_size``; ``scales``
    (one per axis, or None) are the user's scale factors, which PyTorch uses when given."""

    source: Callable[[int, int, float | None], np.ndarray] = staticmethod(nearest_source)

    @classmethod
    def forward(cls, ctx, x, output_size, scales=None):
        k = len(output_size)
        scales = scales or (None,) * k
        sizes = x.shape[x.ndim - k :]
        ctx.sources = [
            cls.source(n, o, s) for n, o, s in zip(sizes, output_size, scales, strict=True)
        ]
        ctx.sizes = sizes
        for i, source in enumerate(ctx.sources):
            x = np.take(x, source, axis=x.ndim - k + i)
        return x

    @staticmethod
    def backward(ctx, grad):
        one_hot = [
            (np.arange(n) == source[:, None]).T.astype(grad.dtype)
            for source, n in zip(ctx.sources, ctx.sizes, strict=True)
        ]
        return along(grad, one_hot)


class ResampleBackward(Function):
    """The gradient of a resampling by one (out, in) matrix per last axis: ``grad`` times
    each transposed matrix along its axis (``along(grad, [m.T ...])``), recorded for
    ``create_graph=True``. Linear in ``grad``: its gradient is the same op with the matrices
    transposed, the resampling itself. Float16 is weighed and summed in float32."""

    _rule_reads = ""  # (what its graph rule reads: higher._check_unwritten)

    @staticmethod
    def forward(ctx, grad, matrices):
        ctx.matrices = matrices
        back = along(_wide(grad), [m.T for m in matrices])
        return back.astype(grad.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return along(_wide(grad), ctx.matrices).astype(grad.dtype, copy=False), None

    @staticmethod
    def backward_graph(ctx, grad, out):
        return ResampleBackward.apply(grad, [m.T for m in ctx.matrices]), None


def _nearest_graph(ctx, grad, out):
    """The graph rule of nearest resampling: ``ResampleBackward`` through one-hot matrices."""
    one_hot = [
        (source[:, None] == np.arange(n)).astype(_wide(grad._data).dtype)
        for source, n in zip(ctx.sources, ctx.sizes, strict=True)
    ]
    return ResampleBackward.apply(grad, one_hot)


def _separable_graph(ctx, grad, out):
    """The graph rule of linear and cubic resampling: ``ResampleBackward`` of the matrices."""
    return ResampleBackward.apply(grad, ctx.matrices)


class UpsampleNearest1d(_Nearest):
    """``interpolate(mode="nearest")`` of (N, C, L)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


class UpsampleNearest2d(_Nearest):
    """``interpolate(mode="nearest")`` of (N, C, H, W)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


class UpsampleNearest3d(_Nearest):
    """``interpolate(mode="nearest")`` of (N, C, D, H, W)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


class _NearestExact(_Nearest):
    """``_Nearest`` sampling at the centre of each output element (``"nearest-exact"``)."""

    source = staticmethod(nearest_exact_source)


class UpsampleNearestExact1d(_NearestExact):
    """``interpolate(mode="nearest-exact")`` of (N, C, L)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


class UpsampleNearestExact2d(_NearestExact):
    """``interpolate(mode="nearest-exact")`` of (N, C, H, W)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


class UpsampleNearestExact3d(_NearestExact):
    """``interpolate(mode="nearest-exact")`` of (N, C, D, H, W)."""

    backward_graph, _rule_reads = staticmethod(_nearest_graph), ""


def _wide(x: np.ndarray) -> np.ndarray:
    """``x`` in the precision PyTorch computes it in: float16 in float32."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


class _Separable(Function):
    """Resampling by one (out, in) matrix per last axis, made by ``matrices``; the gradient
    goes back through the transposed matrices. Weights and sums of float16 are float32."""

    @classmethod
    def matrices(cls, x: np.ndarray, output_size, *options) -> list[np.ndarray]:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, x, output_size, *options):
        ctx.matrices = cls.matrices(_wide(x), output_size, *options)
        return along(_wide(x), ctx.matrices).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        back = along(_wide(grad), [m.T for m in ctx.matrices])
        return back.astype(grad.dtype, copy=False)


def separable_graph(ctx, grad, out):
    """The graph rule of a resampling by one matrix per axis: ``grad`` times each matrix
    (a constant) along its axis, as recorded ``MatMul``s."""
    first = grad.ndim - len(ctx.matrices)
    for axis, matrix in enumerate(ctx.matrices, start=first):
        grad = (grad.transpose(axis, -1) @ matrix.astype(grad.dtype, copy=False)).transpose(
            axis, -1
        )
    return grad


class _Linear(_Separable):
    """Linear interpolation along the last spatial axes (one matrix per axis)."""

    matrix: Callable[..., np.ndarray] = staticmethod(linear_matrix)

    @classmethod
    def matrices(cls, x, output_size, align_corners=False, scales=None):
        sizes = x.shape[x.ndim - len(output_size) :]
        scales = scales or (None,) * len(output_size)
        return [
            cls.matrix(n, o, align_corners, s, x.dtype)
            for n, o, s in zip(sizes, output_size, scales, strict=True)
        ]


class UpsampleLinear1d(_Linear):
    """``interpolate(mode="linear")`` of (N, C, L)."""

    backward_graph, _rule_reads = staticmethod(_separable_graph), ""


class UpsampleBilinear2d(_Linear):
    """``interpolate(mode="bilinear")`` of (N, C, H, W)."""

    backward_graph, _rule_reads = staticmethod(_separable_graph), ""


class UpsampleTrilinear3d(_Linear):
    """``interpolate(mode="trilinear")`` of (N, C, D, H, W)."""

    backward_graph, _rule_reads = staticmethod(_separable_graph), ""


class UpsampleBicubic2d(_Linear):
    """``interpolate(mode="bicubic")`` of (N, C, H, W): cubic convolution (a = -0.75) along
    each axis, the border elements repeated."""

    matrix = staticmethod(cubic_matrix)
    backward_graph, _rule_reads = staticmethod(_separable_graph), ""


def _shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    *batch, c, h, w = x.shape
    b = len(batch)
    split = x.reshape(*batch, c // (r * r), r, r, h, w)
    return split.transpose(*range(b), b, b + 3, b + 1, b + 4, b + 2).reshape(
        *batch, c // (r * r), h * r, w * r
    )


def _unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    *batch, c, h, w = x.shape
    b = len(batch)
    split = x.reshape(*batch, c, h // r, r, w // r, r)
    return split.transpose(*range(b), b, b + 2, b + 4, b + 1, b + 3).reshape(
        *batch, c * r * r, h // r, w // r
    )


class _Reshuffle(Function):
    """A reshuffle of pixels ``there`` by a factor; its gradient goes ``back``."""

    there: Callable[[np.ndarray, int], np.ndarray]
    back: Callable[[np.ndarray, int], np.ndarray]

    @classmethod
    def forward(cls, ctx, x, factor):
        ctx.factor = factor
        return cls.there(x, factor)

    @classmethod
    def backward(cls, ctx, grad):
        return cls.back(grad, ctx.factor)


class PixelShuffle(_Reshuffle):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): each group of r*r channels becomes an r x r
    block of pixels."""

    there, back = staticmethod(_shuffle), staticmethod(_unshuffle)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return PixelUnshuffle.apply(grad, ctx.factor)


class PixelUnshuffle(_Reshuffle):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of ``PixelShuffle``."""

    there, back = staticmethod(_unshuffle), staticmethod(_shuffle)

    @staticmethod
    def backward_graph(ctx, grad, out):
        return PixelShuffle.apply(grad, ctx.factor)
